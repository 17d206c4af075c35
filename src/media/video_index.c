/* Frame index: built from packets, stored in a small versioned binary file.
 * See video_index.h for the format. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavformat/avformat.h>
#include <libavutil/crc.h>

#include "loupe/media/video_index.h"
#include "media_int.h"

static const unsigned char magic[8] = {'L', 'P', 'V', 'I', 'D', 'X', '\r', '\n'};

/* Timestamps are kept within ±2^62 so differences between them never overflow. */
#define TS_LIMIT ((int64_t)1 << 62)

typedef struct entry {
    int64_t pts;
    uint8_t flags;
} entry;

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    return (x->pts > y->pts) - (x->pts < y->pts);
}

static lp_video_index *index_new(int64_t count)
{
    lp_video_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return NULL;
    ix->count = count;
    ix->pts = malloc((size_t)count * sizeof *ix->pts);
    ix->frame_flags = malloc((size_t)count);
    if (!ix->pts || !ix->frame_flags) {
        lp_video_index_free(ix);
        return NULL;
    }
    return ix;
}

void lp_video_index_free(lp_video_index *ix)
{
    if (!ix)
        return;
    free(ix->pts);
    free(ix->frame_flags);
    free(ix);
}

/* keyframes and max_gop from the frames. */
static void summarise(lp_video_index *ix)
{
    int64_t last_key = -1, gop = 0;
    ix->keyframes = 0;
    ix->max_gop = 0;
    for (int64_t i = 0; i < ix->count; i++) {
        if (ix->frame_flags[i] & LP_VIDEO_FRAME_KEY) {
            gop = i - (last_key < 0 ? 0 : last_key);
            if (gop > ix->max_gop)
                ix->max_gop = gop;
            last_key = i;
            ix->keyframes++;
        }
    }
    gop = ix->count - (last_key < 0 ? 0 : last_key);
    if (gop > ix->max_gop)
        ix->max_gop = gop;
}

int lp_media_pts_vary(const int64_t *sorted, size_t n)
{
    if (n < 3)
        return 0;
    int64_t lo = INT64_MAX, hi = 0;
    for (size_t i = 1; i < n; i++) {
        int64_t d = sorted[i] - sorted[i - 1];
        if (d < lo)
            lo = d;
        if (d > hi)
            hi = d;
    }
    int64_t slack = lo / 20 > 1 ? lo / 20 : 1;
    return hi > lo + slack;
}

int lp_video_index_build(const char *path, const lp_media_limits *limits, lp_video_index **out, lp_error *err)
{
    AVFormatContext *fmt = NULL;
    AVPacket *pkt = NULL;
    entry *list = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    *out = NULL;
    if (lp_media_av_open(path, &fmt, err))
        return -1;
    const char *name = lp_media_basename(path);
    int vs = lp_media_av_video_stream(fmt, path, err);
    if (vs < 0)
        goto cleanup;
    /* Packets of other streams are not even read into memory. */
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        if ((int)i != vs)
            fmt->streams[i]->discard = AVDISCARD_ALL;
    if (!(pkt = av_packet_alloc())) {
        lp_error_set(err, LP_E_NOMEM, "out of memory indexing \"%s\"", name);
        goto cleanup;
    }
    int r;
    while ((r = av_read_frame(fmt, pkt)) >= 0) {
        if (pkt->stream_index != vs || (pkt->flags & AV_PKT_FLAG_DISCARD)) {
            av_packet_unref(pkt);
            continue;
        }
        int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
        uint8_t flags = (pkt->flags & AV_PKT_FLAG_KEY) ? LP_VIDEO_FRAME_KEY : 0;
        av_packet_unref(pkt);
        if (ts == AV_NOPTS_VALUE || ts < -TS_LIMIT || ts > TS_LIMIT) {
            lp_error_set(err, LP_E_INVALID, "frame %zu of \"%s\" has no usable timestamp", n, name);
            lp_error_hint(err, "Remux the file into MP4 or Matroska (ffmpeg -i IN -c copy OUT.mkv) and upload it again.");
            goto cleanup;
        }
        if ((int64_t)n >= limits->video_max_frames) {
            lp_error_set(err, LP_E_TOO_LARGE, "video has more than %" PRId64 " frames (video_max_frames)",
                         limits->video_max_frames);
            lp_error_hint(err, "Split the video into shorter parts, or raise video_max_frames.");
            goto cleanup;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            entry *grown = realloc(list, ncap * sizeof *list);
            if (!grown) {
                lp_error_set(err, LP_E_NOMEM, "out of memory indexing \"%s\" (%zu frames)", name, n);
                goto cleanup;
            }
            list = grown;
            cap = ncap;
        }
        list[n].pts = ts;
        list[n].flags = flags;
        n++;
    }
    if (r != AVERROR_EOF) {
        lp_media_av_fail(err, LP_E_INVALID, r, "reading \"%s\" failed after %zu frames; the file may be damaged", name,
                         n);
        goto cleanup;
    }
    if (n == 0) {
        lp_error_set(err, LP_E_INVALID, "the video stream of \"%s\" has no frames", name);
        goto cleanup;
    }
    qsort(list, n, sizeof *list, cmp_entry);
    size_t m = 0; /* equal timestamps: one frame */
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && list[m - 1].pts == list[i].pts)
            list[m - 1].flags |= list[i].flags;
        else
            list[m++] = list[i];
    }
    lp_video_index *ix = index_new((int64_t)m);
    if (!ix) {
        lp_error_set(err, LP_E_NOMEM, "out of memory indexing \"%s\" (%zu frames)", name, m);
        goto cleanup;
    }
    for (size_t i = 0; i < m; i++) {
        ix->pts[i] = list[i].pts;
        ix->frame_flags[i] = list[i].flags;
    }
    ix->time_base_num = fmt->streams[vs]->time_base.num;
    ix->time_base_den = fmt->streams[vs]->time_base.den;
    ix->stream_index = vs;
    ix->flags = lp_media_pts_vary(ix->pts, (size_t)ix->count) ? LP_VIDEO_INDEX_VFR : 0;
    summarise(ix);
    if (ix->keyframes == 0) {
        lp_video_index_free(ix);
        lp_error_set(err, LP_E_INVALID, "the video stream of \"%s\" has no keyframe to start decoding from", name);
        goto cleanup;
    }
    /* The container may state no duration, or a wrong one: the frames' own times decide. */
    int64_t span = lp_video_index_time_ms(ix, ix->count - 1);
    if (span > limits->video_max_duration_ms) {
        lp_video_index_free(ix);
        lp_error_set(err, LP_E_TOO_LARGE, "video lasts %.1f s; the limit is %.1f s (video_max_duration)",
                     (double)span / 1000.0, (double)limits->video_max_duration_ms / 1000.0);
        lp_error_hint(err, "Split the video into shorter parts, or raise video_max_duration.");
        goto cleanup;
    }
    *out = ix;
    rc = 0;
cleanup:
    free(list);
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    return rc;
}

static void put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t crc32_of(const unsigned char *p, size_t len)
{
    return av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), UINT32_MAX, p, len) ^ UINT32_MAX;
}

int lp_video_index_save(const lp_video_index *ix, const char *path, lp_error *err)
{
    const size_t body = (size_t)ix->count * LP_VIDEO_INDEX_RECORD_SIZE;
    const size_t total = LP_VIDEO_INDEX_HEADER_SIZE + body;
    char tmp[LP_MEDIA_PATH_MAX + 8];
    int rc = -1;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return lp_error_set(err, LP_E_INVALID, "index path is too long (%zu bytes)", strlen(path));
    unsigned char *buf = calloc(1, total);
    if (!buf)
        return lp_error_set(err, LP_E_NOMEM, "out of memory writing a video index of %" PRId64 " frames", ix->count);
    unsigned char *rec = buf + LP_VIDEO_INDEX_HEADER_SIZE;
    for (int64_t i = 0; i < ix->count; i++) {
        put_u64(rec + (size_t)i * LP_VIDEO_INDEX_RECORD_SIZE, (uint64_t)ix->pts[i]);
        rec[(size_t)i * LP_VIDEO_INDEX_RECORD_SIZE + 8] = ix->frame_flags[i];
    }
    memcpy(buf, magic, sizeof magic);
    put_u16(buf + 8, LP_VIDEO_INDEX_VERSION);
    put_u16(buf + 10, LP_VIDEO_INDEX_HEADER_SIZE);
    put_u32(buf + 12, ix->flags);
    put_u32(buf + 16, (uint32_t)ix->time_base_num);
    put_u32(buf + 20, (uint32_t)ix->time_base_den);
    put_u32(buf + 24, (uint32_t)ix->stream_index);
    put_u32(buf + 28, crc32_of(rec, body));
    put_u64(buf + 32, (uint64_t)ix->count);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        lp_error_set(err, LP_E_IO, "cannot create video index \"%s\": %s", lp_media_basename(tmp), strerror(errno));
        goto cleanup;
    }
    int ok = fwrite(buf, 1, total, f) == total;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        lp_error_set(err, LP_E_IO, "cannot write video index \"%s\": %s", lp_media_basename(path), strerror(errno));
        remove(tmp);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(buf);
    return rc;
}

int lp_video_index_parse(const void *data, size_t len, int64_t max_frames, lp_video_index **out, lp_error *err)
{
    const unsigned char *p = data;
    *out = NULL;
    if (len < LP_VIDEO_INDEX_HEADER_SIZE)
        return lp_error_field(err, LP_E_INVALID, "index", "video index is truncated: %zu bytes, the header alone is %d",
                              len, LP_VIDEO_INDEX_HEADER_SIZE);
    if (memcmp(p, magic, sizeof magic) != 0)
        return lp_error_field(err, LP_E_INVALID, "index.magic", "not a Loupe video index (wrong magic bytes)");
    uint16_t version = get_u16(p + 8);
    if (version != LP_VIDEO_INDEX_VERSION)
        return lp_error_field(err, LP_E_INVALID, "index.version",
                              "video index version %u is not supported (this build reads version %d); rebuild the index",
                              version, LP_VIDEO_INDEX_VERSION);
    if (get_u16(p + 10) != LP_VIDEO_INDEX_HEADER_SIZE)
        return lp_error_field(err, LP_E_INVALID, "index.header_size", "header size is %u; version 1 has %d",
                              get_u16(p + 10), LP_VIDEO_INDEX_HEADER_SIZE);
    uint32_t flags = get_u32(p + 12);
    if (flags & ~LP_VIDEO_INDEX_VFR)
        return lp_error_field(err, LP_E_INVALID, "index.flags", "unknown flags 0x%x", flags);
    int32_t tb_num = (int32_t)get_u32(p + 16), tb_den = (int32_t)get_u32(p + 20);
    if (tb_num <= 0 || tb_den <= 0)
        return lp_error_field(err, LP_E_INVALID, "index.time_base", "time base %d/%d is not positive", tb_num, tb_den);
    int32_t stream = (int32_t)get_u32(p + 24);
    if (stream < 0)
        return lp_error_field(err, LP_E_INVALID, "index.stream_index", "stream index %d is negative", stream);
    uint64_t count = get_u64(p + 32);
    if (count < 1 || count > (uint64_t)max_frames)
        return lp_error_field(err, LP_E_INVALID, "index.count", "frame count %" PRIu64 " is outside 1..%" PRId64,
                              count, max_frames);
    if (get_u64(p + 40) != 0)
        return lp_error_field(err, LP_E_INVALID, "index.reserved", "reserved header bytes are not zero");
    size_t body = len - LP_VIDEO_INDEX_HEADER_SIZE;
    if (body % LP_VIDEO_INDEX_RECORD_SIZE != 0 || body / LP_VIDEO_INDEX_RECORD_SIZE != count)
        return lp_error_field(err, LP_E_INVALID, "index.count",
                              "header says %" PRIu64 " frames but the file holds %zu bytes of records (%zu whole)",
                              count, body, body / LP_VIDEO_INDEX_RECORD_SIZE);
    const unsigned char *rec = p + LP_VIDEO_INDEX_HEADER_SIZE;
    if (crc32_of(rec, body) != get_u32(p + 28))
        return lp_error_field(err, LP_E_INVALID, "index.crc", "checksum mismatch: the index is damaged");

    lp_video_index *ix = index_new((int64_t)count);
    if (!ix)
        return lp_error_set(err, LP_E_NOMEM, "out of memory loading a video index of %" PRIu64 " frames", count);
    char field[64];
    for (size_t i = 0; i < count; i++) {
        ix->pts[i] = (int64_t)get_u64(rec + i * LP_VIDEO_INDEX_RECORD_SIZE);
        ix->frame_flags[i] = rec[i * LP_VIDEO_INDEX_RECORD_SIZE + 8];
        if (ix->pts[i] < -TS_LIMIT || ix->pts[i] > TS_LIMIT) {
            snprintf(field, sizeof field, "index.pts[%zu]", i);
            lp_error_field(err, LP_E_INVALID, field, "timestamp %" PRId64 " is out of range", ix->pts[i]);
            goto fail;
        }
        if (ix->frame_flags[i] & ~LP_VIDEO_FRAME_KEY) {
            snprintf(field, sizeof field, "index.flags[%zu]", i);
            lp_error_field(err, LP_E_INVALID, field, "unknown frame flags 0x%x", ix->frame_flags[i]);
            goto fail;
        }
        if (i > 0 && ix->pts[i] <= ix->pts[i - 1]) {
            snprintf(field, sizeof field, "index.pts[%zu]", i);
            lp_error_field(err, LP_E_INVALID, field, "timestamp %" PRId64 " does not follow %" PRId64, ix->pts[i],
                           ix->pts[i - 1]);
            goto fail;
        }
    }
    ix->time_base_num = tb_num;
    ix->time_base_den = tb_den;
    ix->stream_index = stream;
    ix->flags = flags;
    summarise(ix);
    if (ix->keyframes == 0) {
        lp_error_field(err, LP_E_INVALID, "index.flags", "no frame is a keyframe");
        goto fail;
    }
    *out = ix;
    return 0;
fail:
    lp_video_index_free(ix);
    return -1;
}

int lp_video_index_load(const char *path, int64_t max_frames, lp_video_index **out, lp_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return lp_error_set(err, LP_E_IO, "cannot open video index \"%s\": %s", lp_media_basename(path),
                            strerror(errno));
    struct stat st;
    unsigned char *buf = NULL;
    int rc = -1;
    uint64_t limit = LP_VIDEO_INDEX_HEADER_SIZE + (uint64_t)max_frames * LP_VIDEO_INDEX_RECORD_SIZE;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
        lp_error_set(err, LP_E_IO, "cannot examine video index \"%s\": %s", lp_media_basename(path), strerror(errno));
        goto cleanup;
    }
    if ((uint64_t)st.st_size > limit) {
        lp_error_field(err, LP_E_INVALID, "index.count", "video index is %lld bytes, more than %" PRId64
                       " frames can take", (long long)st.st_size, max_frames);
        goto cleanup;
    }
    size_t len = (size_t)st.st_size;
    if (!(buf = malloc(len ? len : 1))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory reading video index \"%s\"", lp_media_basename(path));
        goto cleanup;
    }
    if (fread(buf, 1, len, f) != len) {
        lp_error_set(err, LP_E_IO, "cannot read video index \"%s\"", lp_media_basename(path));
        goto cleanup;
    }
    rc = lp_video_index_parse(buf, len, max_frames, out, err);
cleanup:
    free(buf);
    fclose(f);
    return rc;
}

int64_t lp_video_index_keyframe_before(const lp_video_index *ix, int64_t n)
{
    if (n >= ix->count)
        n = ix->count - 1;
    for (int64_t i = n; i >= 0; i--)
        if (ix->frame_flags[i] & LP_VIDEO_FRAME_KEY)
            return i;
    return -1;
}

int64_t lp_video_index_time_ms(const lp_video_index *ix, int64_t n)
{
    return av_rescale_q(ix->pts[n] - ix->pts[0], (AVRational){ix->time_base_num, ix->time_base_den},
                        (AVRational){1, 1000});
}

int64_t lp_video_index_frame_at_ms(const lp_video_index *ix, int64_t ms)
{
    int64_t lo = 0, hi = ix->count - 1;
    if (ms <= 0)
        return 0;
    if (lp_video_index_time_ms(ix, hi) < ms)
        return hi;
    while (lo < hi) { /* first frame with time >= ms */
        int64_t mid = lo + (hi - lo) / 2;
        if (lp_video_index_time_ms(ix, mid) >= ms)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}
