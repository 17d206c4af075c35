/* Exact frame access: seek to the keyframe at or before a frame, decode
 * forward to its timestamp, convert to upright RGB. See video_reader.h. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "loupe/core/util.h"
#include "loupe/media/video_reader.h"
#include "media_int.h"

typedef struct cache_entry {
    int64_t n;
    lp_media_format fmt;
    int quality;
    uint64_t used; /* tick of last use; 0 = empty */
    lp_media_blob blob;
} cache_entry;

struct lp_video_reader {
    char path[LP_MEDIA_PATH_MAX];
    const lp_video_index *ix;
    lp_media_limits limits;
    lp_av_decoder d;
    AVFrame *frame;
    struct SwsContext *sws;
    int rotation;
    int64_t last_n;   /* index position of the last decoded frame, -1 if none since a seek */
    int64_t last_pts; /* its timestamp */
    uint8_t *raw;     /* decoded frame as RGB, before rotation */
    uint8_t *rgb;     /* upright */
    size_t raw_cap, rgb_cap;
    int width, height; /* upright size of rgb */
    int64_t have_n;    /* frame held in rgb, -1 if none */
    cache_entry cache[LP_VIDEO_READER_CACHE];
    uint64_t tick;
    lp_video_reader_stats stats;
};

lp_video_reader *lp_video_reader_open(const char *path, const lp_video_index *index, const lp_media_limits *limits,
                                      lp_error *err)
{
    lp_video_reader *r = calloc(1, sizeof *r);
    if (!r) {
        lp_error_set(err, LP_E_NOMEM, "out of memory opening a video reader");
        return NULL;
    }
    r->ix = index;
    r->limits = *limits;
    r->last_n = r->have_n = -1;
    if (lp_strlcpy(r->path, path, sizeof r->path) >= sizeof r->path) {
        lp_error_set(err, LP_E_INVALID, "video path is too long (%zu bytes)", strlen(path));
        goto fail;
    }
    if (lp_av_decoder_open(&r->d, path, err))
        goto fail;
    const AVStream *st = r->d.fmt->streams[r->d.stream];
    if (r->d.stream != index->stream_index || st->time_base.num != index->time_base_num ||
        st->time_base.den != index->time_base_den) {
        lp_error_set(err, LP_E_INVALID,
                     "the frame index does not belong to \"%s\" (stream %d, time base %d/%d; the file has stream %d, "
                     "time base %d/%d)", lp_media_basename(path), index->stream_index, index->time_base_num,
                     index->time_base_den, r->d.stream, st->time_base.num, st->time_base.den);
        lp_error_hint(err, "Rebuild the index from this file.");
        goto fail;
    }
    r->rotation = lp_media_av_rotation(r->d.fmt, r->d.stream);
    if (!(r->frame = av_frame_alloc())) {
        lp_error_set(err, LP_E_NOMEM, "out of memory opening a video reader");
        goto fail;
    }
    return r;
fail:
    lp_video_reader_close(r);
    return NULL;
}

void lp_video_reader_close(lp_video_reader *r)
{
    if (!r)
        return;
    for (int i = 0; i < LP_VIDEO_READER_CACHE; i++)
        lp_media_blob_free(&r->cache[i].blob);
    sws_freeContext(r->sws);
    av_frame_free(&r->frame);
    lp_av_decoder_close(&r->d);
    free(r->raw);
    free(r->rgb);
    free(r);
}

const lp_video_index *lp_video_reader_index(const lp_video_reader *r)
{
    return r->ix;
}

int lp_video_reader_rotation(const lp_video_reader *r)
{
    return r->rotation;
}

void lp_video_reader_get_stats(const lp_video_reader *r, lp_video_reader_stats *out)
{
    *out = r->stats;
}

/* Position in the index of the last frame with pts <= ts (-1 if none). */
static int64_t position_of(const lp_video_index *ix, int64_t ts)
{
    int64_t lo = 0, hi = ix->count; /* first with pts > ts */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (ix->pts[mid] > ts)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo - 1;
}

static int seek_to(lp_video_reader *r, int64_t key, lp_error *err)
{
    int rc = av_seek_frame(r->d.fmt, r->d.stream, r->ix->pts[key], AVSEEK_FLAG_BACKWARD);
    if (rc < 0)
        return lp_media_av_fail(err, LP_E_INVALID, rc, "seeking to frame %" PRId64 " of \"%s\" failed", key,
                                lp_media_basename(r->path));
    avcodec_flush_buffers(r->d.dec);
    r->d.draining = 0;
    r->last_n = -1;
    r->stats.seeks++;
    return 0;
}

/* Reopens the file to decode from its very start. */
static int rewind_file(lp_video_reader *r, lp_error *err)
{
    AVFormatContext *fmt = NULL;
    if (lp_media_av_open(r->path, &fmt, err))
        return -1;
    avformat_close_input(&r->d.fmt);
    r->d.fmt = fmt;
    avcodec_flush_buffers(r->d.dec);
    r->d.draining = 0;
    r->last_n = -1;
    r->stats.rewinds++;
    return 0;
}

static int ensure(uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 0;
    uint8_t *p = realloc(*buf, need);
    if (!p)
        return -1;
    *buf = p;
    *cap = need;
    return 0;
}

/* in (w × h RGB24) turned clockwise by rotation into out. */
static void rotate(const uint8_t *in, int w, int h, int rotation, uint8_t *out)
{
    const size_t in_row = (size_t)w * 3;
    for (int y = 0; y < h; y++) {
        const uint8_t *src = in + in_row * (size_t)y;
        for (int x = 0; x < w; x++, src += 3) {
            size_t ox, oy, ow;
            if (rotation == 90) { /* top-left goes to top-right */
                ox = (size_t)(h - 1 - y), oy = (size_t)x, ow = (size_t)h;
            } else if (rotation == 180) {
                ox = (size_t)(w - 1 - x), oy = (size_t)(h - 1 - y), ow = (size_t)w;
            } else { /* 270: top-left goes to bottom-left */
                ox = (size_t)y, oy = (size_t)(w - 1 - x), ow = (size_t)h;
            }
            memcpy(out + (oy * ow + ox) * 3, src, 3);
        }
    }
}

static int full_range(const AVFrame *f)
{
    return f->color_range == AVCOL_RANGE_JPEG || f->format == AV_PIX_FMT_YUVJ420P ||
           f->format == AV_PIX_FMT_YUVJ422P || f->format == AV_PIX_FMT_YUVJ444P || f->format == AV_PIX_FMT_YUVJ440P;
}

/* The decoded frame → upright RGB24 in r->rgb. */
static int convert(lp_video_reader *r, int64_t n, lp_error *err)
{
    const AVFrame *f = r->frame;
    const int w = f->width, h = f->height;
    if (w <= 0 || h <= 0)
        return lp_error_set(err, LP_E_INVALID, "frame %" PRId64 " of \"%s\" has no size", n, lp_media_basename(r->path));
    if ((int64_t)w * h > r->limits.video_max_pixels || w > INT32_MAX / 3)
        return lp_error_set(err, LP_E_TOO_LARGE, "frame %" PRId64 " is %d×%d pixels; the limit is %" PRId64
                            " pixels (video_max_pixels)", n, w, h, r->limits.video_max_pixels);
    const size_t row = (size_t)w * 3, bytes = row * (size_t)h;
    if (ensure(&r->raw, &r->raw_cap, bytes) || ensure(&r->rgb, &r->rgb_cap, bytes))
        return lp_error_set(err, LP_E_NOMEM, "out of memory converting a %d×%d frame", w, h);
    r->sws = sws_getCachedContext(r->sws, w, h, (enum AVPixelFormat)f->format, w, h, AV_PIX_FMT_RGB24, SWS_BICUBIC,
                                  NULL, NULL, NULL);
    if (!r->sws)
        return lp_error_set(err, LP_E_INTERNAL, "no conversion from pixel format %s to RGB",
                            av_get_pix_fmt_name((enum AVPixelFormat)f->format));
    /* Honour the stream's YUV matrix (BT.709 for HD) and range. */
    sws_setColorspaceDetails(r->sws, sws_getCoefficients(f->colorspace), full_range(f),
                             sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    uint8_t *dst[4] = {r->rotation ? r->raw : r->rgb, NULL, NULL, NULL};
    int dst_stride[4] = {(int)row, 0, 0, 0};
    if (sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, h, dst, dst_stride) != h)
        return lp_error_set(err, LP_E_INTERNAL, "converting frame %" PRId64 " to RGB failed", n);
    if (r->rotation)
        rotate(r->raw, w, h, r->rotation, r->rgb);
    int swap = r->rotation == 90 || r->rotation == 270;
    r->width = swap ? h : w;
    r->height = swap ? w : h;
    return 0;
}

/* Decodes until the frame of timestamp target: 1 found, 0 passed it or
 * reached the end without it, -1 error. */
static int decode_until(lp_video_reader *r, int64_t target, lp_error *err)
{
    for (;;) {
        int got = lp_av_decoder_next(&r->d, r->frame, r->path, err);
        if (got < 0)
            return -1;
        if (got == 0) {
            r->last_n = -1;
            return 0;
        }
        r->stats.frames_decoded++;
        int64_t ts = lp_av_frame_ts(r->frame);
        if (ts == AV_NOPTS_VALUE)
            continue;
        r->last_pts = ts;
        r->last_n = position_of(r->ix, ts);
        if (ts == target)
            return 1;
        if (ts > target)
            return 0;
    }
}

static void fill(const lp_video_reader *r, lp_video_frame *out)
{
    out->rgb = r->rgb;
    out->width = r->width;
    out->height = r->height;
    out->stride = (size_t)r->width * 3;
    out->n = r->have_n;
    out->pts = r->ix->pts[r->have_n];
}

enum approach { CONTINUE, SEEK, REWIND };

int lp_video_reader_frame(lp_video_reader *r, int64_t n, lp_video_frame *out, lp_error *err)
{
    const lp_video_index *ix = r->ix;
    memset(out, 0, sizeof *out);
    if (n < 0 || n >= ix->count)
        return lp_error_set(err, LP_E_NOT_FOUND, "frame %" PRId64 " does not exist; the video has frames 0 to %" PRId64,
                            n, ix->count - 1);
    if (r->have_n == n) {
        fill(r, out);
        return 0;
    }
    const int64_t target = ix->pts[n];
    int64_t key = lp_video_index_keyframe_before(ix, n);
    enum approach how;
    if (r->last_n >= 0 && r->last_pts < target && (key < 0 || key <= r->last_n))
        how = CONTINUE; /* no keyframe between here and there: decoding on is cheapest */
    else
        how = key >= 0 ? SEEK : REWIND;
    int seeks = 0;
    for (;;) {
        if (how == SEEK) {
            seeks++;
            if (seek_to(r, key, err)) {
                lp_error_clear(err);
                how = REWIND;
            }
        }
        if (how == REWIND && rewind_file(r, err))
            return -1;
        r->have_n = -1;
        int found = decode_until(r, target, err);
        if (found < 0)
            return -1;
        if (found) {
            if (convert(r, n, err))
                return -1;
            r->have_n = n;
            fill(r, out);
            return 0;
        }
        /* Missed it (a seek landed past it, or the decoder dropped it):
         * start further back, and at last from the beginning. */
        if (how == REWIND)
            break;
        if (how == SEEK)
            key = key > 0 ? lp_video_index_keyframe_before(ix, key - 1) : -1;
        how = (key >= 0 && seeks < 2) ? SEEK : REWIND;
    }
    lp_error_set(err, LP_E_INVALID, "frame %" PRId64 " (timestamp %" PRId64 ") of \"%s\" could not be decoded", n,
                 target, lp_media_basename(r->path));
    return lp_error_hint(err, "The file may be damaged, or the index was built from another file; rebuild the index.");
}

int lp_video_reader_encode(lp_video_reader *r, int64_t n, lp_media_format fmt, int quality, lp_media_blob *out,
                           lp_error *err)
{
    int q = quality >= 1 && quality <= 100 ? quality : 85;
    cache_entry *slot = &r->cache[0];
    out->data = NULL;
    out->len = 0;
    for (int i = 0; i < LP_VIDEO_READER_CACHE; i++) {
        cache_entry *c = &r->cache[i];
        if (c->used && c->n == n && c->fmt == fmt && c->quality == q) {
            if (!(out->data = g_try_malloc(c->blob.len)))
                return lp_error_set(err, LP_E_NOMEM, "out of memory copying frame %" PRId64, n);
            memcpy(out->data, c->blob.data, c->blob.len);
            out->len = c->blob.len;
            c->used = ++r->tick;
            r->stats.cache_hits++;
            return 0;
        }
        if (c->used < slot->used)
            slot = c;
    }
    lp_video_frame f;
    if (lp_video_reader_frame(r, n, &f, err) ||
        lp_media_encode_rgb(f.rgb, f.width, f.height, f.stride, fmt, q, out, err))
        return -1;
    lp_media_blob_free(&slot->blob);
    slot->used = 0;
    if ((slot->blob.data = g_try_malloc(out->len))) { /* no room to cache is no failure */
        memcpy(slot->blob.data, out->data, out->len);
        slot->blob.len = out->len;
        slot->n = n;
        slot->fmt = fmt;
        slot->quality = q;
        slot->used = ++r->tick;
    }
    return 0;
}
