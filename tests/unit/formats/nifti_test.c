/* NIfTI label maps without a server: a volume item 8 × 6 × 4 stored L→R
 * (the file's x axis runs toward the patient's left) with a polygon held
 * over two axial slices and a mask on a third goes out as a label map in
 * the file's own order and in RAS+, whose header bytes carry the exact
 * affine and whose voxels are where the slice convention puts them; the
 * label map comes back in through the NIfTI reader as masks and a raster
 * layer per slice, and exported again it gives the same voxels. Label maps
 * on another grid are refused with a located problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "loupe/annotation/stored.h"
#include "loupe/core/json_scan.h"
#include "loupe/formats/darwin.h"
#include "loupe/formats/export.h"
#include "loupe/formats/import.h"
#include "loupe/volume/volume.h"

#define CAT "6a52a094-d998-4e6e-81b3-6beeebfaae0b"
#define DOG "0b3f8a0e-2a36-4c1e-9d59-1f3c5d6a7e8f"
#define MASK_ID "11111111-1111-4111-8111-111111111111"
#define NX 8
#define NY 6
#define NZ 4

/* RAS+: i toward R (2 mm), j toward A, k toward S (3 mm); the file's own x ran toward L. */
static const char *const META =
    "{\"media\":{\"shape\":[8,6,4],\"affine\":[[2,0,0,-7],[0,1,0,0],[0,0,3,0],[0,0,0,1]],"
    "\"original_affine\":[[-2,0,0,7],[0,1,0,0],[0,0,3,0],[0,0,0,1]]}}";

static lp_fmt_class CLASSES[2];
static lp_fmt_classes CLS = {CLASSES, 2};
static const lp_ann_limits LIMITS = {
    .geom = {.max_points = 1000, .max_paths = 10, .max_pixels = 1000000}, .max_frame = 999, .max_string = 100};

/* ---- files in memory ----------------------------------------------------------------- */

typedef struct files {
    char names[4][128];
    lp_buf data[4];
    int n;
} files;

static int mem_open(void *ud, const char *name, bool compress, lp_error *err)
{
    files *f = ud;
    (void)compress;
    if (f->n == 4)
        return lp_error_set(err, LP_E_TOO_LARGE, "too many files");
    snprintf(f->names[f->n], sizeof f->names[0], "%s", name);
    lp_buf_init(&f->data[f->n], 1u << 20);
    f->n++;
    return 0;
}

static int mem_write(void *ud, const void *p, size_t n, lp_error *err)
{
    files *f = ud;
    (void)err;
    return lp_buf_append(&f->data[f->n - 1], p, n);
}

static const lp_buf *file_named(const files *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->names[i], name) == 0)
            return &f->data[i];
    fail_msg("no file %s", name);
    return NULL;
}

static void files_free(files *f)
{
    for (int i = 0; i < f->n; i++)
        lp_buf_free(&f->data[i]);
    f->n = 0;
}

/* ---- a volume item's annotations ----------------------------------------------------- */

static void add_ann(lp_fmt_batch *b, lp_buf *blobs, lp_ann *ann)
{
    lp_error err;
    lp_error_clear(&err);
    if (!ann->id)
        ann->id = lp_arena_printf(b->arena, "00000000-0000-4000-8000-%012zu", b->n + 1);
    ann->slot = "0";
    const lp_ann *one = ann;
    lp_ann_row *rows;
    lp_ann_frame_row *frames;
    size_t nframes;
    assert_int_equal(lp_ann_store(&one, 1, b->arena, blobs, &rows, &frames, &nframes, &err), 0);
    rows[0].interpolated = ann->interpolated;
    if (nframes == 0)
        assert_int_equal(lp_fmt_batch_add(b, &rows[0], NULL, &err), 0);
    for (size_t i = 0; i < nframes; i++)
        assert_int_equal(lp_fmt_batch_add(b, &rows[0], &frames[i], &err), 0);
}

static void add(lp_fmt_batch *b, lp_buf *blobs, const char *text)
{
    lp_jscan s;
    lp_ann ann;
    lp_error err;
    lp_error_clear(&err);
    lp_jscan_init(&s, text, strlen(text));
    if (lp_darwin_read(&s, b->arena, &LIMITS, LP_ANN_CREATE, &ann, &err) != 0)
        fail_msg("%s: %s %s", text, err.message, err.nfields ? err.fields[0].field : "");
    add_ann(b, blobs, &ann);
}

static const lp_fmt_item ITEM = {.id = "22222222-2222-4222-8222-222222222222",
                                 .name = "head.nii.gz",
                                 .path = "/a",
                                 .slot = "0",
                                 .slot_type = "volume",
                                 .width = NX,
                                 .height = NY,
                                 .frame_count = NZ,
                                 .fps = -1,
                                 .metadata = NULL};

/* Exports b (ITEM's annotations) as format/variant; the label map's bytes, gunzipped, into raw. */
static void export_labels(const char *variant, const lp_fmt_batch *b, files *out, uint8_t *raw, size_t cap,
                          size_t *len)
{
    lp_fmt_out o = {.open = mem_open, .write = mem_write, .ud = out};
    lp_fmt_options opt = {.variant = variant};
    lp_error err;
    lp_error_clear(&err);
    lp_arena *a = lp_arena_new(0, 0);
    lp_fmt_writer *w = lp_fmt_writer_new("nifti", &o, &CLS, &opt, &err);
    assert_non_null(w);
    lp_fmt_item it = ITEM;
    it.metadata = META;
    if (lp_fmt_writer_item(w, &it, b, a, &err) != 0 || lp_fmt_writer_end(w, &err) != 0)
        fail_msg("export: %s", err.message);
    const lp_fmt_stats *st = lp_fmt_writer_stats(w);
    assert_int_equal(st->items, 1);
    assert_int_equal(st->dropped[LP_GEOM_TAG], 1);
    const lp_buf *gz = file_named(out, "labels/a/head.nii.gz");
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)gz->data;
    zs.avail_in = (uInt)gz->len;
    zs.next_out = raw;
    zs.avail_out = (uInt)cap;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    *len = cap - zs.avail_out;
    inflateEnd(&zs);
    lp_fmt_writer_free(w);
    lp_arena_free(a);
}

static float header_float(const uint8_t *raw, size_t at)
{
    float f;
    memcpy(&f, raw + at, sizeof f);
    return f;
}

/* The volume item: a polygon held on slices 1 and 2 (pixels x 0..3, y
 * 0..1), a tag (dropped), a mask on slice 3 (pixels x 5..6, y 4). */
static void volume_batch(lp_fmt_batch *b, lp_buf *blobs)
{
    add(b, blobs,
        "{\"class_id\":\"" CAT "\",\"ranges\":[[1,3]],\"frames\":{\"1\":{\"keyframe\":true,\"polygon\":{\"paths\":"
        "[[{\"x\":0,\"y\":0},{\"x\":4,\"y\":0},{\"x\":4,\"y\":2},{\"x\":0,\"y\":2}]]}}}}");
    add(b, blobs, "{\"class_id\":\"" CAT "\",\"ranges\":[[0,1]],\"frames\":{\"0\":{\"keyframe\":true,\"tag\":{}}}}");
    add(b, blobs,
        "{\"id\":\"" MASK_ID "\",\"class_id\":\"" DOG "\",\"ranges\":[[3,4]],\"frames\":{\"3\":{\"keyframe\":true,"
        "\"mask\":{}}}}");
    add(b, blobs,
        "{\"class_id\":\"" DOG "\",\"ranges\":[[3,4]],\"frames\":{\"3\":{\"keyframe\":true,\"raster_layer\":{"
        "\"dense_rle\":[0,37,1,2,0,9],\"mask_annotation_ids_mapping\":{\"" MASK_ID "\":1},\"total_pixels\":48}}}}");
}

/* Label of RAS+ voxel (i, j, k) in a label map of the file's order (x reversed). */
static uint8_t source_at(const uint8_t *vox, int i, int j, int k) { return vox[(NX - 1 - i) + NX * (j + NY * k)]; }

static void test_export_source_and_ras(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    lp_buf blobs;
    lp_buf_init(&blobs, 1 << 20);
    lp_fmt_batch b = {.arena = a, .classes = &CLS};
    volume_batch(&b, &blobs);
    files out = {.n = 0};
    uint8_t raw[4096];
    size_t len;
    export_labels(NULL, &b, &out, raw, sizeof raw, &len);
    assert_int_equal(len, 352 + NX * NY * NZ);
    /* the header as any reader sees it: uint8, the file's own affine in the sform, exactly */
    int16_t dim[4], datatype;
    memcpy(dim, raw + 40, sizeof dim);
    memcpy(&datatype, raw + 70, sizeof datatype);
    assert_int_equal(dim[0], 3);
    assert_int_equal(dim[1], NX);
    assert_int_equal(dim[2], NY);
    assert_int_equal(dim[3], NZ);
    assert_int_equal(datatype, 2);
    static const float srow[12] = {-2, 0, 0, 7, 0, 1, 0, 0, 0, 0, 3, 0};
    for (int i = 0; i < 12; i++)
        assert_true(header_float(raw, 280 + 4 * (size_t)i) == srow[i]);
    assert_memory_equal(raw + 344, "n+1\0", 4);
    const uint8_t *vox = raw + 352;
    /* the polygon: axial pixel (x, y) is RAS voxel (x, 5 - y); held on slices 1 and 2 */
    assert_int_equal(source_at(vox, 0, 5, 1), 1);
    assert_int_equal(source_at(vox, 3, 4, 1), 1);
    assert_int_equal(source_at(vox, 3, 4, 2), 1);
    assert_int_equal(source_at(vox, 4, 5, 1), 0);
    assert_int_equal(source_at(vox, 0, 3, 1), 0);
    assert_int_equal(source_at(vox, 0, 5, 0), 0);
    assert_int_equal(source_at(vox, 0, 5, 3), 0);
    /* the mask: pixels (5, 4) and (6, 4) of slice 3 */
    assert_int_equal(source_at(vox, 5, 1, 3), 2);
    assert_int_equal(source_at(vox, 6, 1, 3), 2);
    assert_int_equal(source_at(vox, 7, 1, 3), 0);
    unsigned total = 0;
    for (int i = 0; i < NX * NY * NZ; i++)
        total += vox[i] != 0;
    assert_int_equal(total, 2 * 8 + 2);
    const lp_buf *map = file_named(&out, "class_mapping.csv");
    assert_int_equal(map->len, strlen("index,class,color\n0,background,#000000\n1,\"cat\",#ff0000\n2,\"dog\",#0000ff\n"));
    assert_memory_equal(map->data, "index,class,color\n0,background,#000000\n1,\"cat\",#ff0000\n2,\"dog\",#0000ff\n",
                        map->len);
    /* RAS+: the normalized grid and affine, the same voxels in RAS+ order */
    files out2 = {.n = 0};
    uint8_t raw2[4096];
    export_labels("ras", &b, &out2, raw2, sizeof raw2, &len);
    static const float srow2[12] = {2, 0, 0, -7, 0, 1, 0, 0, 0, 0, 3, 0};
    for (int i = 0; i < 12; i++)
        assert_true(header_float(raw2, 280 + 4 * (size_t)i) == srow2[i]);
    for (int k = 0; k < NZ; k++)
        for (int j = 0; j < NY; j++)
            for (int i = 0; i < NX; i++)
                assert_int_equal(raw2[352 + i + NX * (j + NY * k)], source_at(vox, i, j, k));
    files_free(&out);
    files_free(&out2);
    lp_buf_free(&blobs);
    lp_arena_free(a);
}

/* ---- back in ------------------------------------------------------------------------- */

typedef struct got {
    lp_arena *a;
    lp_buf *blobs;
    lp_fmt_batch b;
    int items;
    char problems[8][256];
    int nproblems;
} got;

static int on_cls(void *ud, const lp_imp_class *c, lp_error *err)
{
    (void)ud;
    (void)err;
    return c->name ? 0 : -1;
}

/* Stores each annotation of the item as the import job would (class by name). */
static int on_item(void *ud, const lp_imp_item *it, lp_error *err)
{
    got *g = ud;
    (void)err;
    g->items++;
    assert_string_equal(it->name, "head.nii.gz");
    assert_int_equal(it->nslots, 1);
    assert_string_equal(it->slots[0].type, "volume");
    assert_int_equal(it->slots[0].frame_count, NZ);
    for (size_t i = 0; i < it->nanns; i++) {
        lp_ann ann = it->anns[i];
        assert_true(ann.video);
        assert_string_equal(ann.slot, "0");
        ann.class_id = strcmp(ann.class_name, "cat") == 0 ? CAT : strcmp(ann.class_name, "dog") == 0 ? DOG : NULL;
        ann.class_name = NULL;
        add_ann(&g->b, g->blobs, &ann);
    }
    return 0;
}

static int on_problem(void *ud, const lp_imp_problem *p, lp_error *err)
{
    got *g = ud;
    (void)err;
    if (g->nproblems < 8)
        snprintf(g->problems[g->nproblems++], sizeof g->problems[0], "%s: %s", p->where, p->message);
    return 0;
}

static int find_volume(void *ud, const char *path, const char *stem, lp_arena *a, const char **name,
                       const char **slot, const char **metadata, lp_error *err)
{
    (void)ud;
    (void)err;
    assert_string_equal(path, "/a");
    if (strcmp(stem, "head") != 0)
        return 0;
    *name = lp_arena_printf(a, "%s.nii.gz", stem);
    *slot = "0";
    *metadata = META;
    return 1;
}

static void import_labels(got *g, const char *name, const void *data, size_t len, const lp_buf *mapping)
{
    lp_imp_options opt = {.lim = &LIMITS, .volume = find_volume};
    lp_imp_sink sink = {on_cls, on_item, on_problem, g};
    lp_error err;
    lp_error_clear(&err);
    lp_imp_reader *r = lp_imp_reader_new("nifti", &opt, &sink, &err);
    assert_non_null(r);
    assert_int_equal(lp_imp_reader_role(r, "class_mapping.csv"), LP_IMP_ROLE_META);
    assert_int_equal(lp_imp_reader_role(r, "labels/a/head.nii.gz"), LP_IMP_ROLE_ITEMS);
    assert_int_equal(lp_imp_reader_role(r, "images/a.jpg"), LP_IMP_ROLE_SKIP);
    if (mapping)
        assert_int_equal(lp_imp_reader_file(r, "class_mapping.csv", mapping->data, mapping->len, g->a, &err), 0);
    assert_int_equal(lp_imp_reader_file(r, name, data, len, g->a, &err), 0);
    assert_int_equal(lp_imp_reader_end(r, g->a, &err), 0);
    lp_imp_reader_free(r);
}

static void test_round_trip(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    lp_buf blobs;
    lp_buf_init(&blobs, 1 << 20);
    lp_fmt_batch b = {.arena = a, .classes = &CLS};
    volume_batch(&b, &blobs);
    files out = {.n = 0};
    uint8_t raw[4096], back[4096];
    size_t len, len2;
    export_labels(NULL, &b, &out, raw, sizeof raw, &len);

    got g = {.a = lp_arena_new(0, 0), .blobs = &blobs};
    g.b = (lp_fmt_batch){.arena = g.a, .classes = &CLS};
    const lp_buf *gz = file_named(&out, "labels/a/head.nii.gz");
    import_labels(&g, "labels/a/head.nii.gz", gz->data, gz->len, file_named(&out, "class_mapping.csv"));
    assert_int_equal(g.nproblems, 0);
    assert_int_equal(g.items, 1);
    assert_int_equal(g.b.n, 3); /* two masks and the raster layer */
    /* the raster layer: one frame per slice with labels (1, 2, 3) */
    const lp_fmt_ann *layer = &g.b.v[2];
    assert_int_equal(layer->row.type, LP_ANN_RASTER_LAYER);
    assert_int_equal(layer->nframes, 3);
    assert_int_equal(layer->frames[0].frame, 1);
    assert_int_equal(layer->frames[2].frame, 3);
    /* exported again: the same voxels */
    files out2 = {.n = 0};
    lp_fmt_batch_clear(&g.b);
    import_labels(&g, "labels/a/head.nii.gz", gz->data, gz->len, file_named(&out, "class_mapping.csv"));
    /* (the tag is gone: export_labels counts one dropped tag, so add it back) */
    add(&g.b, &blobs, "{\"class_id\":\"" CAT "\",\"ranges\":[[0,1]],\"frames\":{\"0\":{\"keyframe\":true,\"tag\":{}}}}");
    export_labels(NULL, &g.b, &out2, back, sizeof back, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(back, raw, len);
    /* the same map uncompressed, in RAS+ order, reads the same */
    files out3 = {.n = 0};
    uint8_t ras[4096];
    export_labels("ras", &b, &out3, ras, sizeof ras, &len2);
    got g2 = {.a = lp_arena_new(0, 0), .blobs = &blobs};
    g2.b = (lp_fmt_batch){.arena = g2.a, .classes = &CLS};
    import_labels(&g2, "labels/a/head.nii", ras, len2, file_named(&out, "class_mapping.csv"));
    assert_int_equal(g2.nproblems, 0);
    assert_int_equal(g2.b.n, 3);

    files_free(&out);
    files_free(&out2);
    files_free(&out3);
    lp_arena_free(g.a);
    lp_arena_free(g2.a);
    lp_buf_free(&blobs);
    lp_arena_free(a);
}

static void test_refused(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    lp_buf blobs;
    lp_buf_init(&blobs, 1 << 20);
    lp_fmt_batch b = {.arena = a, .classes = &CLS};
    volume_batch(&b, &blobs);
    files out = {.n = 0};
    uint8_t raw[4096];
    size_t len;
    export_labels(NULL, &b, &out, raw, sizeof raw, &len);
    const lp_buf *map = file_named(&out, "class_mapping.csv");
    got g = {.a = lp_arena_new(0, 0), .blobs = &blobs};
    g.b = (lp_fmt_batch){.arena = g.a, .classes = &CLS};
    /* moved by 1 mm: the affine no longer matches the volume's */
    uint8_t moved[4096];
    memcpy(moved, raw, len);
    float x = 8;
    memcpy(moved + 280 + 12, &x, 4);
    import_labels(&g, "labels/a/head.nii", moved, len, map);
    assert_int_equal(g.items, 0);
    assert_int_equal(g.nproblems, 1);
    assert_non_null(strstr(g.problems[0], "1 mm away"));
    /* no item of that stem */
    g.nproblems = 0;
    import_labels(&g, "labels/a/other.nii", raw, len, map);
    assert_non_null(strstr(g.problems[0], "no item at /a named other.*"));
    /* a label the mapping does not name: those voxels are left out, the rest comes in */
    g.nproblems = 0;
    import_labels(&g, "labels/a/head.nii", raw, len, NULL);
    assert_int_equal(g.nproblems, 2);
    assert_non_null(strstr(g.problems[0], "label 1: 16 voxels"));
    /* truncated: a sentence, nothing read */
    g.nproblems = 0;
    g.items = 0;
    import_labels(&g, "labels/a/head.nii", raw, 400, map);
    assert_int_equal(g.items, 0);
    assert_non_null(strstr(g.problems[0], "ends before its voxel data"));
    files_free(&out);
    lp_arena_free(g.a);
    lp_buf_free(&blobs);
    lp_arena_free(a);
}

static int setup(void **state)
{
    (void)state;
    memset(CLASSES, 0, sizeof CLASSES);
    CLASSES[0] = (lp_fmt_class){.id = CAT, .name = "cat", .color = "#ff0000", .types = 0x3ff};
    CLASSES[1] = (lp_fmt_class){.id = DOG, .name = "dog", .color = "rgba(0,0,255,1)", .types = 0x3ff};
    lp_error err;
    return lp_fmt_classes_prepare(&CLS, &err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_source_and_ras),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
