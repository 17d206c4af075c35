/* Poster image and scrubber sprite sheet of a video. See video_thumbs.h. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/media/video_thumbs.h"
#include "media_int.h"

int64_t lp_video_poster_frame(const lp_video_index *ix)
{
    return ix->count / 10;
}

/* Frame n of r as a libvips image fitting side × side (never enlarged,
 * unless force gives the exact size w × h), copied out of the reader's
 * buffer. *out is new. */
static int frame_image(lp_video_reader *r, int64_t n, int side, int force_w, int force_h, VipsImage **out,
                       lp_error *err)
{
    lp_video_frame f;
    VipsImage *wrap = NULL, *small = NULL;
    int rc = -1;
    if (lp_video_reader_frame(r, n, &f, err))
        return -1;
    wrap = vips_image_new_from_memory(f.rgb, f.stride * (size_t)f.height, f.width, f.height, 3, VIPS_FORMAT_UCHAR);
    if (!wrap) {
        lp_media_vips_fail(err, LP_E_INTERNAL, "wrapping frame %" PRId64 " failed", n);
        goto cleanup;
    }
    wrap->Type = VIPS_INTERPRETATION_sRGB;
    int thumb_rc = force_w > 0
        ? vips_thumbnail_image(wrap, &small, force_w, "height", force_h, "size", VIPS_SIZE_FORCE, NULL)
        : vips_thumbnail_image(wrap, &small, side, "height", side, "size", VIPS_SIZE_DOWN, NULL);
    if (thumb_rc) {
        lp_media_vips_fail(err, LP_E_INTERNAL, "scaling frame %" PRId64 " failed", n);
        goto cleanup;
    }
    /* The reader reuses its buffer on the next frame: render now. */
    if (!(*out = vips_image_copy_memory(small))) {
        lp_media_vips_fail(err, LP_E_INTERNAL, "scaling frame %" PRId64 " failed", n);
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (small)
        g_object_unref(small);
    if (wrap)
        g_object_unref(wrap);
    return rc;
}

/* tiles (borrowed, count of them) joined row-major in columns into *out (new). */
static int join_tiles(VipsImage **tiles, int count, int columns, VipsImage **out, lp_error *err)
{
    if (vips_arrayjoin(tiles, out, count, "across", columns, NULL))
        return lp_media_vips_fail(err, LP_E_INTERNAL, "joining %d frames into one image failed", count);
    return 0;
}

static void free_tiles(VipsImage **tiles, int64_t count)
{
    for (int64_t i = 0; tiles && i < count; i++)
        if (tiles[i])
            g_object_unref(tiles[i]);
    free(tiles);
}

int lp_video_poster(lp_video_reader *r, int max_side, lp_media_format fmt, const char *out_path, int64_t *frame_out,
                    lp_error *err)
{
    if (max_side < 16 || max_side > 16384)
        return lp_error_field(err, LP_E_INVALID, "max_side", "poster size %d is outside 16..16384", max_side);
    int64_t n = lp_video_poster_frame(lp_video_reader_index(r));
    VipsImage *img = NULL;
    if (frame_image(r, n, max_side, 0, 0, &img, err))
        return -1;
    int rc = lp_media_save_file(img, fmt, 85, out_path, err);
    g_object_unref(img);
    if (rc == 0 && frame_out)
        *frame_out = n;
    return rc;
}

void lp_video_sprite_free(lp_video_sprite *s)
{
    if (!s)
        return;
    free(s->frames);
    free(s->times_ms);
    s->frames = s->times_ms = NULL;
    s->count = 0;
}

int lp_video_sprite_make(lp_video_reader *r, int64_t interval_ms, int tile_side, int columns, int max_tiles,
                         lp_media_format fmt, const char *out_path, lp_video_sprite *layout, lp_error *err)
{
    const lp_video_index *ix = lp_video_reader_index(r);
    VipsImage **tiles = NULL, *sheet = NULL;
    int rc = -1;
    memset(layout, 0, sizeof *layout);
    if (interval_ms <= 0)
        return lp_error_field(err, LP_E_INVALID, "interval_ms", "interval %" PRId64 " ms is not positive", interval_ms);
    if (tile_side < 16 || tile_side > 1024)
        return lp_error_field(err, LP_E_INVALID, "tile_side", "tile size %d is outside 16..1024", tile_side);
    if (columns < 1 || columns > LP_VIDEO_SPRITE_MAX_COLUMNS)
        return lp_error_field(err, LP_E_INVALID, "columns", "%d columns is outside 1..%d", columns,
                              LP_VIDEO_SPRITE_MAX_COLUMNS);
    if (max_tiles < 1 || max_tiles > LP_VIDEO_SPRITE_MAX_TILES)
        return lp_error_field(err, LP_E_INVALID, "max_tiles", "%d tiles is outside 1..%d", max_tiles,
                              LP_VIDEO_SPRITE_MAX_TILES);

    const int64_t duration = lp_video_index_time_ms(ix, ix->count - 1);
    int64_t count = duration / interval_ms + 1;
    if (count > max_tiles) { /* widen the interval so the tiles still span the video */
        interval_ms = max_tiles > 1 ? (duration + max_tiles - 2) / (max_tiles - 1) : duration + 1;
        count = duration / interval_ms + 1;
    }
    layout->interval_ms = interval_ms;
    layout->count = count;
    layout->columns = count < columns ? (int)count : columns;
    layout->rows = (int)((count + layout->columns - 1) / layout->columns);
    layout->frames = calloc((size_t)count, sizeof *layout->frames);
    layout->times_ms = calloc((size_t)count, sizeof *layout->times_ms);
    tiles = calloc((size_t)count, sizeof *tiles);
    if (!layout->frames || !layout->times_ms || !tiles) {
        lp_error_set(err, LP_E_NOMEM, "out of memory making %" PRId64 " scrubber thumbnails", count);
        goto cleanup;
    }
    for (int64_t i = 0; i < count; i++) {
        int64_t n = lp_video_index_frame_at_ms(ix, i * interval_ms);
        layout->frames[i] = n;
        layout->times_ms[i] = lp_video_index_time_ms(ix, n);
        if (frame_image(r, n, tile_side, layout->tile_width, layout->tile_height, &tiles[i], err))
            goto cleanup;
        if (i == 0) {
            layout->tile_width = tiles[0]->Xsize;
            layout->tile_height = tiles[0]->Ysize;
        }
    }
    if (join_tiles(tiles, (int)count, layout->columns, &sheet, err) || lp_media_save_file(sheet, fmt, 80, out_path, err))
        goto cleanup;
    rc = 0;
cleanup:
    if (sheet)
        g_object_unref(sheet);
    free_tiles(tiles, count);
    if (rc)
        lp_video_sprite_free(layout);
    return rc;
}

/* Frame from + i of window w, at the tile's size, into dst (rows stride
 * bytes apart): copied straight from the reader when it has that size,
 * else scaled by libvips. */
static int window_frame(lp_video_reader *r, const lp_video_window *w, int i, uint8_t *dst, size_t stride,
                        lp_error *err)
{
    const size_t tile_row = (size_t)w->tile_width * 3;
    VipsImage *small = NULL;
    const uint8_t *src;
    size_t src_stride;
    lp_video_frame f;
    if (lp_video_reader_frame(r, w->from + i, &f, err))
        return -1;
    if (f.width == w->tile_width && f.height == w->tile_height) {
        src = f.rgb;
        src_stride = f.stride;
    } else {
        if (frame_image(r, w->from + i, 0, w->tile_width, w->tile_height, &small, err))
            return -1;
        if (small->Bands != 3 || small->BandFmt != VIPS_FORMAT_UCHAR) {
            lp_error_set(err, LP_E_INTERNAL, "scaling frame %" PRId64 " gave %d bands", w->from + i, small->Bands);
            g_object_unref(small);
            return -1;
        }
        src = VIPS_IMAGE_ADDR(small, 0, 0);
        src_stride = (size_t)VIPS_IMAGE_SIZEOF_LINE(small);
    }
    for (int y = 0; y < w->tile_height; y++)
        memcpy(dst + (size_t)y * stride, src + (size_t)y * src_stride, tile_row);
    if (small)
        g_object_unref(small);
    return 0;
}

/* The frames of a window being made into a JPEG: two rows of frames, the
 * one being decoded and the one being encoded (row k in tiles[k % 2]). */
typedef struct window_rows {
    const lp_video_window *w;
    size_t tile_row;
    uint8_t *tiles[2][LP_VIDEO_SPRITE_MAX_COLUMNS];
} window_rows;

/* Row y of the sheet, from the frames beside each other (lp_jpeg_fill_fn). */
static void window_fill(void *ctx, int y, uint8_t *row)
{
    const window_rows *b = ctx;
    const lp_video_window *w = b->w;
    const int k = y / w->tile_height, ty = y % w->tile_height;
    for (int c = 0; c < w->columns; c++) {
        uint8_t *dst = row + (size_t)c * b->tile_row;
        if (k * w->columns + c < w->count)
            memcpy(dst, b->tiles[k % 2][c] + (size_t)ty * b->tile_row, b->tile_row);
        else
            memset(dst, 0, b->tile_row);
    }
}

/* A JPEG is encoded on a second thread as the frames are decoded, one row of
 * frames behind: only two rows of frames are held, never the whole sheet. */
static int window_jpeg(lp_video_reader *r, const lp_video_window *w, int quality, lp_media_blob *out, lp_error *err)
{
    const int rows = (w->count + w->columns - 1) / w->columns;
    window_rows b = {.w = w, .tile_row = (size_t)w->tile_width * 3};
    lp_jpeg_rows *j = NULL;
    int rc = -1, ok = 0;
    for (int k = 0; k < (rows < 2 ? rows : 2); k++)
        for (int c = 0; c < w->columns; c++)
            if (!(b.tiles[k][c] = malloc(b.tile_row * (size_t)w->tile_height))) {
                lp_error_set(err, LP_E_NOMEM, "out of memory for a window of %d frames", w->count);
                goto cleanup;
            }
    if (lp_jpeg_rows_start(w->tile_width * w->columns, w->tile_height * rows, quality, window_fill, &b, &j, err))
        goto cleanup;
    ok = 1;
    for (int i = 0; i < w->count && ok; i++) {
        const int k = i / w->columns, c = i % w->columns;
        /* the encoder must be done with row k − 2, whose buffers row k takes */
        if (c == 0 && k >= 2 && lp_jpeg_rows_wait(j, (k - 1) * w->tile_height) != 0)
            break; /* it failed: finishing reports why */
        if (window_frame(r, w, i, b.tiles[k % 2][c], b.tile_row, err))
            ok = 0;
        else if (c == w->columns - 1)
            lp_jpeg_rows_publish(j, (k + 1) * w->tile_height);
    }
    rc = lp_jpeg_rows_finish(j, ok, out, err);
cleanup:
    for (int k = 0; k < 2; k++)
        for (int c = 0; c < w->columns; c++)
            free(b.tiles[k][c]);
    return rc;
}

int lp_video_window_encode(lp_video_reader *r, const lp_video_window *w, lp_media_format fmt, int quality,
                           lp_media_blob *out, lp_error *err)
{
    memset(out, 0, sizeof *out);
    if (w->count < 1 || w->count > LP_VIDEO_SPRITE_MAX_TILES)
        return lp_error_field(err, LP_E_INVALID, "count", "%d frames is outside 1..%d", w->count,
                              LP_VIDEO_SPRITE_MAX_TILES);
    if (w->tile_width < 1 || w->tile_width > 16384 || w->tile_height < 1 || w->tile_height > 16384)
        return lp_error_field(err, LP_E_INVALID, "size", "frames of %d×%d pixels are outside 1..16384", w->tile_width,
                              w->tile_height);
    if (w->columns < 1 || w->columns > LP_VIDEO_SPRITE_MAX_COLUMNS)
        return lp_error_field(err, LP_E_INVALID, "columns", "%d columns is outside 1..%d", w->columns,
                              LP_VIDEO_SPRITE_MAX_COLUMNS);
    if (fmt == LP_MEDIA_JPEG)
        return window_jpeg(r, w, quality, out, err);
    /* WebP: one RGB sheet, encoded by libvips once it is whole. */
    const int rows = (w->count + w->columns - 1) / w->columns;
    const size_t tile_row = (size_t)w->tile_width * 3, stride = tile_row * (size_t)w->columns;
    uint8_t *sheet = calloc((size_t)rows * (size_t)w->tile_height, stride);
    if (!sheet)
        return lp_error_set(err, LP_E_NOMEM, "out of memory for a window of %d frames", w->count);
    int rc = 0;
    for (int i = 0; i < w->count && rc == 0; i++)
        rc = window_frame(r, w, i,
                          sheet + (size_t)(i / w->columns) * (size_t)w->tile_height * stride +
                              (size_t)(i % w->columns) * tile_row,
                          stride, err);
    if (rc == 0)
        rc = lp_media_encode_rgb(sheet, w->tile_width * w->columns, w->tile_height * rows, stride, fmt, quality, out,
                                 err);
    free(sheet);
    return rc;
}
