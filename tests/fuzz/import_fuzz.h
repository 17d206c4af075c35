/* What the import reader fuzz targets share: one input fed to a reader of
 * one format under each of the file names given (so every role of the
 * format's files sees it), with a sink that keeps nothing. Included by
 * <format>_import_fuzz.c. */
#ifndef LOUPE_TESTS_IMPORT_FUZZ_H
#define LOUPE_TESTS_IMPORT_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/formats/import.h"

static int fz_cls(void *ud, const lp_imp_class *c, lp_error *err)
{
    (void)ud;
    (void)err;
    return c->name ? 0 : -1;
}

static int fz_item(void *ud, const lp_imp_item *it, lp_error *err)
{
    (void)ud;
    (void)err;
    size_t n = 0;
    for (size_t i = 0; i < it->nanns; i++) /* touch what was yielded */
        n += it->anns[i].type >= 0 && it->ann_where[i] != NULL;
    return it->name && it->path && n == it->nanns ? 0 : -1;
}

static int fz_problem(void *ud, const lp_imp_problem *p, lp_error *err)
{
    (void)ud;
    (void)err;
    return p->message ? 0 : -1;
}

/* Every item exists, 640 × 480 (so that YOLO's labels are read). */
static int fz_image(void *ud, const char *path, const char *stem, lp_arena *a, const char **name, int64_t *width,
                    int64_t *height, lp_error *err)
{
    (void)ud;
    (void)path;
    (void)err;
    *name = lp_arena_printf(a, "%s.jpg", stem);
    *width = 640;
    *height = 480;
    return *name ? 1 : -1;
}

/* Every item has a volume slot of 8 × 6 × 4 voxels, stored L→R (so label
 * maps are read, reoriented and compared). */
static int fz_volume(void *ud, const char *path, const char *stem, lp_arena *a, const char **name, const char **slot,
                     const char **metadata, lp_error *err)
{
    (void)ud;
    (void)path;
    (void)err;
    *name = lp_arena_printf(a, "%s.nii.gz", stem);
    *slot = "0";
    *metadata = "{\"media\":{\"shape\":[8,6,4],\"affine\":[[2,0,0,-7],[0,1,0,0],[0,0,3,0],[0,0,0,1]],"
                "\"original_affine\":[[-2,0,0,7],[0,1,0,0],[0,0,3,0],[0,0,0,1]]}}";
    return *name ? 1 : -1;
}

static void fuzz_reader(const char *format, const char *const *names, const uint8_t *data, size_t size)
{
    static const lp_ann_limits lim = {
        .geom = {.max_points = 1000, .max_paths = 100, .max_pixels = 1u << 22}, .max_frame = 100000, .max_string = 1000};
    lp_imp_options opt = {.lim = &lim, .max_items = 1000, .image = fz_image, .volume = fz_volume};
    lp_imp_sink sink = {fz_cls, fz_item, fz_problem, NULL};
    lp_error err;
    lp_error_clear(&err);
    lp_imp_reader *r = lp_imp_reader_new(format, &opt, &sink, &err);
    lp_arena *a = lp_arena_new(0, 0);
    char *copy = malloc(size + 1); /* exactly size bytes readable, plus a NUL the reader must not need */
    if (!r || !a || !copy)
        abort();
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (size_t i = 0; names[i]; i++) {
        lp_error_clear(&err);
        if (lp_imp_reader_file(r, names[i], copy, size, a, &err) != 0 && err.code != LP_E_NOMEM &&
            err.code != LP_E_TOO_LARGE)
            abort(); /* a reader stops only when it must */
    }
    lp_imp_reader_end(r, a, &err);
    lp_imp_reader_free(r);
    lp_arena_free(a);
    free(copy);
}

#endif
