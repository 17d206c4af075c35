/* HLS tracks of the ingest pass: one fragmented MP4 per track, one fragment
 * per segment (cut as the packets come), and a media playlist addressing
 * the segments by byte range. See video_ingest.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "loupe/core/util.h"
#include "loupe/media/video_ingest.h"
#include "media_int.h"

typedef struct segment {
    int64_t offset, size;
    int64_t start; /* first packet's pts, in the track's time base */
} segment;

struct lp_hls_track {
    char name[16];
    char file[64];           /* the media file's name, as the playlist names it */
    char media[LP_MEDIA_PATH_MAX], playlist[LP_MEDIA_PATH_MAX];
    AVFormatContext *oc;
    AVStream *st;
    AVCodecContext *enc;     /* video: owned; audio: borrowed */
    int own_enc;
    AVRational tb;           /* of the packets handed in */
    AVPacket *pkt;
    AVFrame *scaled, *out;   /* video: before and after turning */
    struct SwsContext *sws;
    int rotation, per_segment;
    int64_t frame_duration;
    int64_t packets, frames;
    int64_t init_size;
    int64_t end;             /* end pts of the last packet */
    segment *segs;
    int64_t nsegs, cap;
    int header_written;
};

static int open_file(lp_hls_track *t, const char *out_dir, const char *name, lp_error *err)
{
    char f[64];
    int r;
    lp_strlcpy(t->name, name, sizeof t->name);
    snprintf(t->file, sizeof t->file, "hls-%s.mp4", name);
    snprintf(f, sizeof f, "hls-%s.m3u8", name);
    if (lp_media_join(t->media, out_dir, t->file, err) || lp_media_join(t->playlist, out_dir, f, err))
        return -1;
    if ((r = avformat_alloc_output_context2(&t->oc, NULL, "mp4", t->media)) < 0)
        return lp_media_av_fail(err, LP_E_INTERNAL, r, "cannot set up the %s rendition", name);
    if (!(t->st = avformat_new_stream(t->oc, NULL)) || !(t->pkt = av_packet_alloc()))
        return lp_error_set(err, LP_E_NOMEM, "out of memory making the %s rendition", name);
    return 0;
}

/* Writes the header (ftyp + an empty moov: the init section). */
static int start_file(lp_hls_track *t, lp_error *err)
{
    AVDictionary *opts = NULL;
    int r = avcodec_parameters_from_context(t->st->codecpar, t->enc);
    if (r < 0)
        return lp_media_av_fail(err, LP_E_NOMEM, r, "out of memory making the %s rendition", t->name);
    t->st->time_base = t->tb;
    if ((r = avio_open(&t->oc->pb, t->media, AVIO_FLAG_WRITE)) < 0)
        return lp_media_av_fail(err, LP_E_IO, r, "cannot create the %s rendition", t->name);
    av_dict_set(&opts, "movflags", "+frag_custom+empty_moov+default_base_moof", 0);
    r = avformat_write_header(t->oc, &opts);
    av_dict_free(&opts);
    if (r < 0)
        return lp_media_av_fail(err, LP_E_IO, r, "cannot write the %s rendition", t->name);
    t->header_written = 1;
    avio_flush(t->oc->pb);
    t->init_size = avio_tell(t->oc->pb);
    return 0;
}

/* Ends the open fragment; records where it lies. */
static int cut(lp_hls_track *t, lp_error *err)
{
    int r;
    if (t->nsegs == 0)
        return 0;
    if ((r = av_write_frame(t->oc, NULL)) < 0)
        return lp_media_av_fail(err, LP_E_IO, r, "writing the %s rendition failed", t->name);
    avio_flush(t->oc->pb);
    segment *s = &t->segs[t->nsegs - 1];
    s->size = avio_tell(t->oc->pb) - s->offset;
    return 0;
}

/* Writes one encoded packet (in t->tb), cutting a segment every per_segment packets. */
static int put_packet(lp_hls_track *t, AVPacket *p, lp_error *err)
{
    int r;
    if (t->packets % t->per_segment == 0) {
        if (cut(t, err))
            return -1;
        if (t->nsegs == t->cap) {
            int64_t cap = t->cap ? t->cap * 2 : 64;
            segment *n = realloc(t->segs, (size_t)cap * sizeof *n);
            if (!n)
                return lp_error_set(err, LP_E_NOMEM, "out of memory making the %s rendition", t->name);
            t->segs = n;
            t->cap = cap;
        }
        t->segs[t->nsegs++] = (segment){.offset = avio_tell(t->oc->pb), .start = p->pts};
    }
    t->packets++;
    if (p->duration <= 0)
        p->duration = t->frame_duration;
    if (p->pts + p->duration > t->end)
        t->end = p->pts + p->duration;
    av_packet_rescale_ts(p, t->tb, t->st->time_base);
    p->stream_index = t->st->index;
    p->pos = -1;
    if ((r = av_write_frame(t->oc, p)) < 0)
        return lp_media_av_fail(err, LP_E_IO, r, "writing the %s rendition failed", t->name);
    return 0;
}

/* ---- Video ---------------------------------------------------------------------------- */

int lp_hls_video_open(lp_hls_track **out, const char *out_dir, const char *name, int width, int height, int rotation,
                      const AVStream *ist, int gop, lp_error *err)
{
    lp_hls_track *t = calloc(1, sizeof *t);
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    AVDictionary *opts = NULL;
    char params[160];
    int r, turned = rotation == 90 || rotation == 270;
    *out = NULL;
    if (!t)
        return lp_error_set(err, LP_E_NOMEM, "out of memory making the %s rendition", name);
    if (open_file(t, out_dir, name, err))
        goto fail;
    if (!codec || !(t->enc = avcodec_alloc_context3(codec)) || !(t->out = av_frame_alloc()) ||
        (rotation && !(t->scaled = av_frame_alloc()))) {
        lp_error_set(err, LP_E_INTERNAL, "cannot encode the %s rendition (libx264 missing or out of memory)", name);
        goto fail;
    }
    t->own_enc = 1;
    t->rotation = rotation;
    t->per_segment = gop;
    t->tb = ist->time_base;
    AVCodecContext *e = t->enc;
    e->width = width;
    e->height = height;
    e->pix_fmt = AV_PIX_FMT_YUV420P;
    e->time_base = ist->time_base;
    e->framerate = ist->avg_frame_rate.num > 0 ? ist->avg_frame_rate : ist->r_frame_rate;
    e->gop_size = gop;
    e->keyint_min = gop;
    e->max_b_frames = 0;
    e->flags |= AV_CODEC_FLAG_CLOSED_GOP | AV_CODEC_FLAG_GLOBAL_HEADER;
    e->thread_count = 0;
    t->frame_duration = 1;
    if (e->framerate.num > 0 && e->framerate.den > 0) {
        int64_t d = av_rescale_q(1, av_inv_q(e->framerate), e->time_base);
        t->frame_duration = d > 0 ? d : 1;
    }
    snprintf(params, sizeof params, "scenecut=0:open-gop=0:bframes=0:forced-idr=1:keyint=%d:min-keyint=%d", gop, gop);
    av_dict_set(&opts, "preset", "veryfast", 0);
    av_dict_set(&opts, "profile", "high", 0);
    av_dict_set(&opts, "crf", "23", 0);
    av_dict_set(&opts, "x264-params", params, 0);
    r = avcodec_open2(e, codec, &opts);
    av_dict_free(&opts);
    if (r < 0) {
        lp_media_av_fail(err, LP_E_INTERNAL, r, "the libx264 encoder rejects the %s rendition", name);
        goto fail;
    }
    t->out->format = AV_PIX_FMT_YUV420P;
    t->out->width = width;
    t->out->height = height;
    if ((r = av_frame_get_buffer(t->out, 0)) < 0)
        goto nomem;
    if (t->scaled) {
        t->scaled->format = AV_PIX_FMT_YUV420P;
        t->scaled->width = turned ? height : width;
        t->scaled->height = turned ? width : height;
        if ((r = av_frame_get_buffer(t->scaled, 0)) < 0)
            goto nomem;
    }
    if (start_file(t, err))
        goto fail;
    *out = t;
    return 0;
nomem:
    lp_media_av_fail(err, LP_E_NOMEM, r, "out of memory making the %s rendition", name);
fail:
    lp_hls_free(t);
    return -1;
}

/* Turns plane s (w × h) clockwise by rotation into d (h × w, or w × h for 180). */
static void turn_plane(const uint8_t *s, int ss, int w, int h, uint8_t *d, int ds, int rotation)
{
    if (rotation == 180) {
        for (int y = 0; y < h; y++) {
            const uint8_t *src = s + (size_t)(h - 1 - y) * ss;
            uint8_t *dst = d + (size_t)y * ds;
            for (int x = 0; x < w; x++)
                dst[x] = src[w - 1 - x];
        }
        return;
    }
    /* 90: d(x, y) = s(y, h-1-x); 270: d(x, y) = s(w-1-y, x). d is h wide, w high. */
    for (int y = 0; y < w; y++) {
        uint8_t *dst = d + (size_t)y * ds;
        if (rotation == 90)
            for (int x = 0; x < h; x++)
                dst[x] = s[(size_t)(h - 1 - x) * ss + y];
        else
            for (int x = 0; x < h; x++)
                dst[x] = s[(size_t)x * ss + (w - 1 - y)];
    }
}

static int drain_video(lp_hls_track *t, lp_error *err)
{
    for (;;) {
        int rc = avcodec_receive_packet(t->enc, t->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return lp_media_av_fail(err, LP_E_INTERNAL, rc, "encoding the %s rendition failed", t->name);
        rc = put_packet(t, t->pkt, err);
        av_packet_unref(t->pkt);
        if (rc)
            return -1;
    }
}

int lp_hls_video_frame(lp_hls_track *t, const AVFrame *f, int64_t pts, lp_error *err)
{
    AVFrame *dst = t->scaled ? t->scaled : t->out;
    int rc;
    t->sws = sws_getCachedContext(t->sws, f->width, f->height, (enum AVPixelFormat)f->format, dst->width,
                                  dst->height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
    if (!t->sws)
        return lp_error_set(err, LP_E_INTERNAL, "no conversion from %s for the %s rendition",
                            av_get_pix_fmt_name((enum AVPixelFormat)f->format), t->name);
    if ((rc = av_frame_make_writable(t->out)) < 0)
        return lp_media_av_fail(err, LP_E_NOMEM, rc, "out of memory making the %s rendition", t->name);
    sws_scale(t->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst->data, dst->linesize);
    if (t->scaled)
        for (int p = 0; p < 3; p++) {
            int w = p ? (t->scaled->width + 1) / 2 : t->scaled->width;
            int h = p ? (t->scaled->height + 1) / 2 : t->scaled->height;
            turn_plane(t->scaled->data[p], t->scaled->linesize[p], w, h, t->out->data[p], t->out->linesize[p],
                       t->rotation);
        }
    t->out->pts = pts;
    t->out->pkt_duration = f->pkt_duration > 0 ? f->pkt_duration : t->frame_duration;
    /* Every segment starts with an IDR frame, whatever the encoder would pick. */
    t->out->pict_type = t->frames % t->per_segment == 0 ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    t->out->key_frame = t->out->pict_type == AV_PICTURE_TYPE_I;
    t->frames++;
    if ((rc = avcodec_send_frame(t->enc, t->out)) < 0)
        return lp_media_av_fail(err, LP_E_INTERNAL, rc, "encoding the %s rendition failed", t->name);
    return drain_video(t, err);
}

/* ---- Audio ---------------------------------------------------------------------------- */

int lp_hls_audio_open(lp_hls_track **out, const char *out_dir, const AVCodecContext *enc, int per_segment,
                      lp_error *err)
{
    lp_hls_track *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t)
        return lp_error_set(err, LP_E_NOMEM, "out of memory making the audio rendition");
    if (open_file(t, out_dir, "audio", err))
        goto fail;
    t->enc = (AVCodecContext *)enc;
    t->tb = enc->time_base;
    t->per_segment = per_segment > 0 ? per_segment : 1;
    t->frame_duration = enc->frame_size > 0 ? enc->frame_size : 1024;
    if (start_file(t, err))
        goto fail;
    *out = t;
    return 0;
fail:
    lp_hls_free(t);
    return -1;
}

int lp_hls_audio_packet(lp_hls_track *t, const AVPacket *pkt, lp_error *err)
{
    AVPacket *p = av_packet_clone(pkt);
    if (!p)
        return lp_error_set(err, LP_E_NOMEM, "out of memory making the audio rendition");
    int rc = put_packet(t, p, err);
    av_packet_free(&p);
    return rc;
}

/* ---- The end: trailer and playlist ------------------------------------------------------ */

/* "avc1.PPCCLL" from the SPS in the encoder's extradata (Annex B or avcC). */
static void avc_codecs(const AVCodecContext *e, char *out, size_t cap)
{
    const uint8_t *x = e->extradata;
    int n = e->extradata_size;
    snprintf(out, cap, "avc1.640028");
    if (n >= 4 && x[0] == 1) { /* avcC */
        snprintf(out, cap, "avc1.%02X%02X%02X", x[1], x[2], x[3]);
        return;
    }
    for (int i = 0; i + 6 < n; i++)
        if (x[i] == 0 && x[i + 1] == 0 && x[i + 2] == 1 && (x[i + 3] & 0x1f) == 7) {
            snprintf(out, cap, "avc1.%02X%02X%02X", x[i + 4], x[i + 5], x[i + 6]);
            return;
        }
}

static int write_playlist(lp_hls_track *t, lp_video_track *info, lp_error *err)
{
    FILE *f = fopen(t->playlist, "w");
    double target = 1, total = 0;
    int64_t bytes = 0;
    if (!f)
        return lp_error_set(err, LP_E_IO, "cannot create the playlist of the %s rendition", t->name);
    for (int64_t i = 0; i < t->nsegs; i++) {
        int64_t next = i + 1 < t->nsegs ? t->segs[i + 1].start : t->end;
        double d = (double)(next - t->segs[i].start) * av_q2d(t->tb);
        if (d > target)
            target = d;
        if (d > 0 && (double)t->segs[i].size * 8 / d > (double)info->bandwidth)
            info->bandwidth = (int64_t)((double)t->segs[i].size * 8 / d);
        total += d;
        bytes += t->segs[i].size;
    }
    fprintf(f, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n"
               "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"%s\",BYTERANGE=\"%" PRId64
               "@0\"\n",
            (int)ceil(target), t->file, t->init_size);
    for (int64_t i = 0; i < t->nsegs; i++) {
        int64_t next = i + 1 < t->nsegs ? t->segs[i + 1].start : t->end;
        fprintf(f, "#EXTINF:%.6f,\n#EXT-X-BYTERANGE:%" PRId64 "@%" PRId64 "\n%s\n",
                (double)(next - t->segs[i].start) * av_q2d(t->tb), t->segs[i].size, t->segs[i].offset, t->file);
    }
    fprintf(f, "#EXT-X-ENDLIST\n");
    if (fclose(f) != 0)
        return lp_error_set(err, LP_E_IO, "cannot write the playlist of the %s rendition", t->name);
    info->segments = t->nsegs;
    info->bytes = bytes + t->init_size;
    info->average_bandwidth = total > 0 ? (int64_t)((double)bytes * 8 / total) : 0;
    if (info->bandwidth < info->average_bandwidth)
        info->bandwidth = info->average_bandwidth;
    return 0;
}

int lp_hls_finish(lp_hls_track *t, lp_video_track *info, lp_error *err)
{
    int r;
    memset(info, 0, sizeof *info);
    if (t->own_enc) {
        if ((r = avcodec_send_frame(t->enc, NULL)) < 0)
            return lp_media_av_fail(err, LP_E_INTERNAL, r, "finishing the %s rendition failed", t->name);
        if (drain_video(t, err))
            return -1;
    }
    if (cut(t, err))
        return -1;
    t->header_written = 0;
    if ((r = av_write_trailer(t->oc)) < 0)
        return lp_media_av_fail(err, LP_E_IO, r, "finishing the %s rendition failed", t->name);
    lp_strlcpy(info->name, t->name, sizeof info->name);
    lp_strlcpy(info->media, t->media, sizeof info->media);
    lp_strlcpy(info->playlist, t->playlist, sizeof info->playlist);
    if (t->own_enc) {
        info->width = t->enc->width;
        info->height = t->enc->height;
        avc_codecs(t->enc, info->codecs, sizeof info->codecs);
    } else {
        snprintf(info->codecs, sizeof info->codecs, "mp4a.40.2");
    }
    return write_playlist(t, info, err);
}

void lp_hls_free(lp_hls_track *t)
{
    if (!t)
        return;
    if (t->header_written)
        av_write_trailer(t->oc);
    if (t->oc) {
        if (t->oc->pb)
            avio_closep(&t->oc->pb);
        avformat_free_context(t->oc);
    }
    sws_freeContext(t->sws);
    av_packet_free(&t->pkt);
    av_frame_free(&t->scaled);
    av_frame_free(&t->out);
    if (t->own_enc)
        avcodec_free_context(&t->enc);
    free(t->segs);
    free(t);
}
