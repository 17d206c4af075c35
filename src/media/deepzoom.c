/* DeepZoom level arithmetic, .dzi descriptors and tiles cut from a
 * pyramidal TIFF. See deepzoom.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "loupe/media/deepzoom.h"
#include "media_int.h"

int lp_deepzoom_max_level(int64_t width, int64_t height)
{
    int64_t side = width > height ? width : height;
    int m = 0;
    while (m < 62 && ((int64_t)1 << m) < side)
        m++;
    return m;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

int lp_deepzoom_level_size(int64_t width, int64_t height, int level, int64_t *level_w, int64_t *level_h,
                           int64_t *cols, int64_t *rows)
{
    if (width <= 0 || height <= 0)
        return -1;
    int m = lp_deepzoom_max_level(width, height);
    if (level < 0 || level > m)
        return -1;
    int64_t scale = (int64_t)1 << (m - level);
    *level_w = ceil_div(width, scale);
    *level_h = ceil_div(height, scale);
    *cols = ceil_div(*level_w, LP_DZ_TILE_SIZE);
    *rows = ceil_div(*level_h, LP_DZ_TILE_SIZE);
    return 0;
}

int lp_deepzoom_dzi_xml(int64_t width, int64_t height, lp_media_format fmt, char *out, size_t cap)
{
    int n = snprintf(out, cap,
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<Image xmlns=\"http://schemas.microsoft.com/deepzoom/2008\" Format=\"%s\" Overlap=\"%d\" "
                     "TileSize=\"%d\">\n"
                     "  <Size Width=\"%" PRId64 "\" Height=\"%" PRId64 "\"/>\n"
                     "</Image>\n",
                     lp_media_format_suffix(fmt), LP_DZ_OVERLAP, LP_DZ_TILE_SIZE, width, height);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int lp_deepzoom_write_dzi(const char *path, int64_t width, int64_t height, lp_media_format fmt, lp_error *err)
{
    char xml[512];
    int n = lp_deepzoom_dzi_xml(width, height, fmt, xml, sizeof xml);
    if (n < 0)
        return lp_error_set(err, LP_E_INTERNAL, "the DeepZoom descriptor does not fit its buffer");
    FILE *f = fopen(path, "wb");
    if (!f)
        return lp_error_set(err, LP_E_IO, "cannot create \"%s\": %s", lp_media_basename(path), strerror(errno));
    int ok = fwrite(xml, 1, (size_t)n, f) == (size_t)n;
    ok = (fclose(f) == 0) && ok;
    if (!ok)
        return lp_error_set(err, LP_E_IO, "cannot write \"%s\": %s", lp_media_basename(path), strerror(errno));
    return 0;
}

static int open_page(const char *path, int page, VipsImage **out, lp_error *err)
{
    if (vips_tiffload(path, out, "page", page, "fail_on", VIPS_FAIL_ON_ERROR, NULL))
        return lp_media_vips_fail(err, LP_E_INVALID, "page %d of pyramid \"%s\" cannot be read", page,
                                  lp_media_basename(path));
    return 0;
}

int lp_deepzoom_tile(const char *pyramid_path, int level, int64_t col, int64_t row, lp_media_format fmt,
                     lp_media_blob *out, lp_error *err)
{
    VipsImage *base = NULL, *page = NULL, *crop = NULL, *small = NULL, *tile = NULL;
    int rc = -1;
    out->data = NULL;
    out->len = 0;
    if (lp_media_check_file(pyramid_path, "pyramid", err))
        return -1;
    if (!vips_foreign_is_a("tiffload", pyramid_path)) {
        vips_error_clear();
        return lp_error_set(err, LP_E_INVALID, "pyramid \"%s\" is not a TIFF file", lp_media_basename(pyramid_path));
    }
    if (open_page(pyramid_path, 0, &base, err))
        goto cleanup;
    const int64_t width = base->Xsize, height = base->Ysize;
    const int pages = vips_image_get_n_pages(base);
    const int max_level = lp_deepzoom_max_level(width, height);
    int64_t lw, lh, cols, rows;
    if (lp_deepzoom_level_size(width, height, level, &lw, &lh, &cols, &rows)) {
        lp_error_set(err, LP_E_NOT_FOUND, "level %d does not exist; levels run from 0 to %d", level, max_level);
        goto cleanup;
    }
    if (col < 0 || row < 0 || col >= cols || row >= rows) {
        lp_error_set(err, LP_E_NOT_FOUND,
                     "tile (%" PRId64 ", %" PRId64 ") is outside level %d, which has %" PRId64 "×%" PRId64 " tiles",
                     col, row, level, cols, rows);
        goto cleanup;
    }
    /* The tile in level coordinates, with its overlap. */
    const int64_t x = col * LP_DZ_TILE_SIZE - (col > 0 ? LP_DZ_OVERLAP : 0);
    const int64_t y = row * LP_DZ_TILE_SIZE - (row > 0 ? LP_DZ_OVERLAP : 0);
    int64_t tw = LP_DZ_TILE_SIZE + (col > 0 ? LP_DZ_OVERLAP : 0) + LP_DZ_OVERLAP;
    int64_t th = LP_DZ_TILE_SIZE + (row > 0 ? LP_DZ_OVERLAP : 0) + LP_DZ_OVERLAP;
    if (tw > lw - x)
        tw = lw - x;
    if (th > lh - y)
        th = lh - y;

    /* Page k is about 2^k times smaller than the base: take the smallest
     * page still at least as detailed as the level, f times larger. */
    const int down = max_level - level;
    int k = 0;
    while (k + 1 < pages && k + 1 <= down)
        k++;
    const int64_t f = (int64_t)1 << (down - k);
    if (k == 0) {
        page = base;
        base = NULL;
    } else if (open_page(pyramid_path, k, &page, err)) {
        goto cleanup;
    }
    int64_t px0 = x * f, py0 = y * f, px1 = (x + tw) * f, py1 = (y + th) * f;
    if (px0 > page->Xsize - 1)
        px0 = page->Xsize - 1;
    if (py0 > page->Ysize - 1)
        py0 = page->Ysize - 1;
    if (px1 > page->Xsize)
        px1 = page->Xsize;
    if (py1 > page->Ysize)
        py1 = page->Ysize;
    if (vips_crop(page, &crop, (int)px0, (int)py0, (int)(px1 - px0), (int)(py1 - py0), NULL)) {
        lp_media_vips_fail(err, LP_E_INTERNAL, "cutting tile (%" PRId64 ", %" PRId64 ") of level %d failed", col, row,
                           level);
        goto cleanup;
    }
    if (f > 1) {
        if (vips_resize(crop, &small, 1.0 / (double)f, NULL)) {
            lp_media_vips_fail(err, LP_E_INTERNAL, "scaling tile of level %d failed", level);
            goto cleanup;
        }
    } else {
        small = crop;
        g_object_ref(small);
    }
    /* Rounding between levels and pages can leave a pixel short (or over)
     * at the right and bottom edges: pad by repeating the edge, or trim. */
    if (vips_embed(small, &tile, 0, 0, (int)tw, (int)th, "extend", VIPS_EXTEND_COPY, NULL)) {
        lp_media_vips_fail(err, LP_E_INTERNAL, "sizing tile of level %d failed", level);
        goto cleanup;
    }
    if (lp_media_save_blob(tile, fmt, 85, out, err))
        goto cleanup;
    rc = 0;
cleanup:
    if (tile)
        g_object_unref(tile);
    if (small)
        g_object_unref(small);
    if (crop)
        g_object_unref(crop);
    if (page)
        g_object_unref(page);
    if (base)
        g_object_unref(base);
    return rc;
}
