/* The colour transform's cost per image beside the plain shrink, for bench/infer_bench.sh:
 *
 *   icc_bench SIDE IMAGE...
 *
 * Every image, in this one process, three ways in turn (so that the machine's other work falls on
 * all three alike), each shrunk to at most SIDE pixels and its pixels read into memory:
 *   shrink     libvips alone: thumbnail with shrink-on-load, no colour transform (the baseline);
 *   transform  the same, then the embedded ICC profile applied to sRGB: what the model's pixels
 *              cost when every profile was applied (a colour transform built per image);
 *   loupe      lp_image_pixels, as the decoder makes a model's input (an sRGB profile is taken as
 *              it is, lp_icc_is_srgb).
 * Prints one JSON object: images, the median ms per image of each, and how many images carried a
 * profile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

#include "loupe/core/config.h"
#include "loupe/core/util.h"
#include "loupe/media/image.h"

extern char **environ;

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

/* libvips: path shrunk to side, the profile applied when icc, the pixels read into memory.
 * 0, or -1 (the vips error printed). */
static int vips_way(const char *path, int side, int icc, int *had_profile)
{
    VipsImage *t = NULL, *u = NULL;
    size_t size = 0;
    void *mem = NULL;
    int rc = -1;
    if (vips_thumbnail(path, &t, side, "height", side, "size", VIPS_SIZE_DOWN, NULL))
        goto done;
    *had_profile = vips_image_get_typeof(t, VIPS_META_ICC_NAME) != 0;
    if (icc && *had_profile) {
        if (vips_icc_transform(t, &u, "srgb", "embedded", TRUE, "depth", 8, NULL))
            goto done;
    } else {
        u = t;
        g_object_ref(u);
    }
    if (!(mem = vips_image_write_to_memory(u, &size)))
        goto done;
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "icc_bench: %s: %s\n", path, vips_error_buffer());
    g_free(mem);
    if (u)
        g_object_unref(u);
    if (t)
        g_object_unref(t);
    return rc;
}

int main(int argc, char **argv)
{
    lp_config cfg;
    lp_media_limits limits;
    lp_error err;
    if (argc < 3) {
        fprintf(stderr, "usage: icc_bench SIDE IMAGE...\n");
        return 2;
    }
    int side = atoi(argv[1]), n = argc - 2, profiles = 0;
    double *shrink = calloc((size_t)n, sizeof *shrink), *transform = calloc((size_t)n, sizeof *transform),
           *loupe = calloc((size_t)n, sizeof *loupe);
    lp_error_clear(&err);
    if (!shrink || !transform || !loupe || side < 1 || lp_config_load(&cfg, NULL, environ, &err) != 0 ||
        lp_media_init(argv[0], &err) != 0) {
        fprintf(stderr, "icc_bench: set-up: %s\n", err.message);
        return 1;
    }
    lp_media_limits_from_config(&limits, &cfg);
    vips_cache_set_max(0); /* every call decodes again */
    for (int i = 0; i < n; i++) {
        const char *path = argv[i + 2];
        int had = 0;
        lp_media_blob out = {0};
        int64_t t0 = lp_now_mono_us();
        if (vips_way(path, side, 0, &had) != 0)
            return 1;
        int64_t t1 = lp_now_mono_us();
        if (vips_way(path, side, 1, &had) != 0)
            return 1;
        int64_t t2 = lp_now_mono_us();
        if (lp_image_pixels(path, &limits, side, NULL, &out, &err) != 0) {
            fprintf(stderr, "icc_bench: %s: %s\n", path, err.message);
            return 1;
        }
        int64_t t3 = lp_now_mono_us();
        lp_media_blob_free(&out);
        shrink[i] = (double)(t1 - t0) / 1000.0;
        transform[i] = (double)(t2 - t1) / 1000.0;
        loupe[i] = (double)(t3 - t2) / 1000.0;
        profiles += had;
    }
    printf("{\"images\": %d, \"with_profile\": %d, \"side\": %d, \"shrink_ms\": %.2f, \"transform_ms\": %.2f, "
           "\"loupe_ms\": %.2f}\n",
           n, profiles, side, median(shrink, n), median(transform, n), median(loupe, n));
    free(shrink);
    free(transform);
    free(loupe);
    lp_config_free(&cfg);
    return 0;
}
