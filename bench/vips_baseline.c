/* Baseline for bench/media_bench.sh: one long-lived libvips process doing
 * what media.normalize does to each image — a preview (longest side
 * PREVIEW, shrink-on-load, JPEG Q85), a thumbnail cut from it (longest side
 * THUMB, JPEG Q80) and, for images of at least PYRAMID_PIXELS, a tiled
 * pyramidal BigTIFF with JPEG tiles — without any of Loupe's checks.
 *
 *   vips_baseline OUT_DIR PREVIEW THUMB PYRAMID_PIXELS FILE...
 * Prints "files=N seconds=S". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <vips/vips.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one(const char *path, const char *out, int n, int preview_size, int thumb_size, long long pyramid_pixels)
{
    VipsImage *preview = NULL, *mem = NULL, *thumb = NULL, *img = NULL, *up = NULL;
    char name[4096];
    int rc = -1;
    if (vips_thumbnail(path, &preview, preview_size, "height", preview_size, "size", VIPS_SIZE_DOWN, NULL) ||
        !(mem = vips_image_copy_memory(preview)))
        goto done;
    snprintf(name, sizeof name, "%s/preview-%d.jpg", out, n);
    if (vips_jpegsave(mem, name, "Q", 85, "strip", TRUE, NULL))
        goto done;
    if (vips_thumbnail_image(mem, &thumb, thumb_size, "height", thumb_size, "size", VIPS_SIZE_DOWN, NULL))
        goto done;
    snprintf(name, sizeof name, "%s/thumb-%d.jpg", out, n);
    if (vips_jpegsave(thumb, name, "Q", 80, "strip", TRUE, NULL))
        goto done;
    if (!(img = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL)))
        goto done;
    if ((long long)img->Xsize * img->Ysize >= pyramid_pixels) {
        snprintf(name, sizeof name, "%s/pyramid-%d.tif", out, n);
        if (vips_autorot(img, &up, NULL) ||
            vips_tiffsave(up, name, "tile", TRUE, "tile_width", 256, "tile_height", 256, "pyramid", TRUE,
                          "compression", VIPS_FOREIGN_TIFF_COMPRESSION_JPEG, "Q", 85, "bigtiff", TRUE, "strip",
                          TRUE, NULL))
            goto done;
    }
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "vips_baseline: %s: %s\n", path, vips_error_buffer());
    if (up)
        g_object_unref(up);
    if (img)
        g_object_unref(img);
    if (thumb)
        g_object_unref(thumb);
    if (mem)
        g_object_unref(mem);
    if (preview)
        g_object_unref(preview);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: vips_baseline OUT_DIR PREVIEW THUMB PYRAMID_PIXELS FILE...\n");
        return 2;
    }
    if (VIPS_INIT(argv[0]))
        return 1;
    vips_cache_set_max(0);
    double t0 = now();
    for (int i = 5; i < argc; i++)
        if (one(argv[i], argv[1], i - 5, atoi(argv[2]), atoi(argv[3]), atoll(argv[4])))
            return 1;
    printf("files=%d seconds=%.3f\n", argc - 5, now() - t0);
    vips_shutdown();
    return 0;
}
