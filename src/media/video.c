/* Opening videos under the local-files-only policy, probing them, and the
 * decode loop shared by the frame reader and the mezzanine. See video.h. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>

#include "loupe/core/util.h"
#include "loupe/media/video.h"
#include "media_int.h"

/* Demuxers of the containers we accept. Playlists (hls, dash, concat),
 * image sequences and the like are absent on purpose: they open other files. */
static const char allowed_demuxers[] = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,mpegvideo,"
                                       "ogg,asf,mxf,ivf,h264,hevc,m4v,gif,wav,mp3,aac,flac";

/* "scheme:" before any '/' — a URL or an FFmpeg protocol ("pipe:0"). */
static int looks_like_url(const char *path)
{
    const char *p = path;
    if (!isalpha((unsigned char)*p))
        return 0;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    return *p == ':';
}

int lp_media_av_open(const char *path, AVFormatContext **out, lp_error *err)
{
    AVFormatContext *fmt = NULL;
    AVDictionary *opts = NULL;
    char url[LP_MEDIA_PATH_MAX + 8];
    int rc;
    *out = NULL;
    if (path && looks_like_url(path))
        return lp_error_set(err, LP_E_INVALID, "\"%s\" is a URL, not a local file path; only local files are opened",
                            path);
    if (lp_media_check_file(path, "video", err))
        return -1;
    if (snprintf(url, sizeof url, "file:%s", path) >= (int)sizeof url)
        return lp_error_set(err, LP_E_INVALID, "video path is too long (%zu bytes)", strlen(path));
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    av_dict_set(&opts, "format_whitelist", allowed_demuxers, 0);
    rc = avformat_open_input(&fmt, url, NULL, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        if (rc == AVERROR(ENOENT) || rc == AVERROR(EACCES) || rc == AVERROR(EIO))
            return lp_media_av_fail(err, LP_E_IO, rc, "video file \"%s\" cannot be opened", lp_media_basename(path));
        lp_media_av_fail(err, LP_E_MEDIA_TYPE, rc, "\"%s\" is not a supported video file", lp_media_basename(path));
        return lp_error_hint(err, "Upload MP4/MOV, Matroska/WebM, AVI, MPEG-TS, Ogg, FLV or MXF.");
    }
    rc = avformat_find_stream_info(fmt, NULL);
    if (rc < 0) {
        avformat_close_input(&fmt);
        return lp_media_av_fail(err, LP_E_INVALID, rc, "the streams of \"%s\" cannot be read; the file may be damaged",
                                lp_media_basename(path));
    }
    *out = fmt;
    return 0;
}

int lp_media_av_video_stream(AVFormatContext *fmt, const char *path, lp_error *err)
{
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];
        if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            return (int)i;
    }
    return lp_error_set(err, LP_E_INVALID, "\"%s\" has no video stream", lp_media_basename(path));
}

int lp_media_av_rotation(const AVFormatContext *fmt, int stream)
{
    size_t size = 0;
    const uint8_t *m = av_stream_get_side_data(fmt->streams[stream], AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (!m || size < 9 * sizeof(int32_t))
        return 0;
    /* The matrix turns counter-clockwise; displaying needs the opposite. */
    double theta = -av_display_rotation_get((const int32_t *)m);
    if (isnan(theta))
        return 0;
    long quarter = lround(theta / 90.0) % 4;
    if (quarter < 0)
        quarter += 4;
    return (int)quarter * 90;
}

static void rate_of(AVRational r, int *num, int *den)
{
    if (r.num > 0 && r.den > 0) {
        *num = r.num;
        *den = r.den;
    } else {
        *num = *den = 0;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Whether the first packets' timestamps (read, not decoded) vary in step. */
static int sample_vfr(AVFormatContext *fmt, int vs)
{
    enum { SAMPLE = 240 };
    int64_t ts[SAMPLE];
    size_t n = 0;
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        return 0;
    while (n < SAMPLE && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == vs && pkt->pts != AV_NOPTS_VALUE && !(pkt->flags & AV_PKT_FLAG_DISCARD))
            ts[n++] = pkt->pts;
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    /* The last few may still be reordered (B-frames) past the sample's end. */
    qsort(ts, n, sizeof ts[0], cmp_i64);
    return lp_media_pts_vary(ts, n > 16 && n == SAMPLE ? n - 16 : n);
}

int lp_media_codec_allowed(const char *list, const char *codec)
{
    size_t n = strlen(codec);
    if (!list || !*list)
        return 1;
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        const char *s = p;
        while (len > 0 && *s == ' ')
            s++, len--;
        while (len > 0 && s[len - 1] == ' ')
            len--;
        if (len == n && strncmp(s, codec, n) == 0)
            return 1;
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    return 0;
}

int lp_video_probe(const char *path, const lp_media_limits *limits, lp_video_info *info, lp_error *err)
{
    AVFormatContext *fmt = NULL;
    int rc = -1;
    memset(info, 0, sizeof *info);
    if (lp_media_av_open(path, &fmt, err))
        return -1;
    int vs = lp_media_av_video_stream(fmt, path, err);
    if (vs < 0)
        goto cleanup;
    const AVStream *st = fmt->streams[vs];
    const AVCodecParameters *par = st->codecpar;
    const char *name = lp_media_basename(path);
    lp_strlcpy(info->container, fmt->iformat->name, sizeof info->container);
    lp_strlcpy(info->codec, avcodec_get_name(par->codec_id), sizeof info->codec);
    const char *pf = av_get_pix_fmt_name((enum AVPixelFormat)par->format);
    lp_strlcpy(info->pixel_format, pf ? pf : "unknown", sizeof info->pixel_format);
    info->stream_index = vs;
    info->width = par->width;
    info->height = par->height;
    info->rotation = lp_media_av_rotation(fmt, vs);
    int swap = info->rotation == 90 || info->rotation == 270;
    info->display_width = swap ? info->height : info->width;
    info->display_height = swap ? info->width : info->height;
    info->time_base_num = st->time_base.num;
    info->time_base_den = st->time_base.den;
    rate_of(st->avg_frame_rate, &info->avg_rate_num, &info->avg_rate_den);
    rate_of(st->r_frame_rate, &info->real_rate_num, &info->real_rate_den);
    if (info->avg_rate_den && info->real_rate_den) {
        double avg = av_q2d(st->avg_frame_rate), real = av_q2d(st->r_frame_rate);
        info->variable_frame_rate = fabs(avg - real) > 0.01 * real;
    }
    if (!info->variable_frame_rate && sample_vfr(fmt, vs))
        info->variable_frame_rate = 1;
    info->duration_ms = -1;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        info->duration_ms = av_rescale_q(st->duration, st->time_base, (AVRational){1, 1000});
    else if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        info->duration_ms = av_rescale(fmt->duration, 1000, AV_TIME_BASE);
    info->frames_estimate = -1;
    if (st->nb_frames > 0)
        info->frames_estimate = st->nb_frames;
    else if (info->duration_ms > 0 && info->avg_rate_den)
        info->frames_estimate = av_rescale_q(info->duration_ms, (AVRational){1, 1000}, av_inv_q(st->avg_frame_rate));
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
            info->has_audio = 1;

    if (info->width <= 0 || info->height <= 0) {
        lp_error_set(err, LP_E_INVALID, "the video stream of \"%s\" declares no frame size", name);
        goto cleanup;
    }
    if (info->width * info->height > limits->video_max_pixels) {
        lp_error_set(err, LP_E_TOO_LARGE, "video frames are %" PRId64 "×%" PRId64 " pixels; the limit is %" PRId64
                     " pixels (video_max_pixels)", info->width, info->height, limits->video_max_pixels);
        lp_error_hint(err, "Downscale the video, or raise video_max_pixels.");
        goto cleanup;
    }
    int64_t longest = info->width > info->height ? info->width : info->height;
    if (limits->video_max_side > 0 && longest > limits->video_max_side) {
        lp_error_set(err, LP_E_TOO_LARGE, "video frames are %" PRId64 "×%" PRId64 " pixels; the limit is %" PRId64
                     " pixels a side (video_max_side)", info->width, info->height, limits->video_max_side);
        lp_error_hint(err, "Downscale the video, or raise video_max_side.");
        goto cleanup;
    }
    if (!lp_media_codec_allowed(limits->video_codecs, info->codec)) {
        lp_error_set(err, LP_E_MEDIA_TYPE, "the video codec of \"%s\" is %s, which is not accepted here "
                     "(video_codecs: %s)", name, info->codec, limits->video_codecs);
        lp_error_hint(err, "Convert the video to H.264 or VP9, or add %s to video_codecs.", info->codec);
        goto cleanup;
    }
    if (info->duration_ms > limits->video_max_duration_ms) {
        lp_error_set(err, LP_E_TOO_LARGE, "video lasts %.1f s; the limit is %.1f s (video_max_duration)",
                     (double)info->duration_ms / 1000.0, (double)limits->video_max_duration_ms / 1000.0);
        lp_error_hint(err, "Split the video into shorter parts, or raise video_max_duration.");
        goto cleanup;
    }
    if (st->nb_frames > limits->video_max_frames) {
        lp_error_set(err, LP_E_TOO_LARGE, "video has %" PRId64 " frames; the limit is %" PRId64
                     " frames (video_max_frames)", (int64_t)st->nb_frames, limits->video_max_frames);
        lp_error_hint(err, "Split the video into shorter parts, or raise video_max_frames.");
        goto cleanup;
    }
    rc = 0;
cleanup:
    avformat_close_input(&fmt);
    return rc;
}

int lp_av_decoder_open(lp_av_decoder *d, const char *path, lp_error *err)
{
    memset(d, 0, sizeof *d);
    if (lp_media_av_open(path, &d->fmt, err))
        return -1;
    if ((d->stream = lp_media_av_video_stream(d->fmt, path, err)) < 0)
        goto fail;
    const AVStream *st = d->fmt->streams[d->stream];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec) {
        lp_error_set(err, LP_E_MEDIA_TYPE, "the video codec of \"%s\" (%s) is not supported by this build",
                     lp_media_basename(path), avcodec_get_name(st->codecpar->codec_id));
        goto fail;
    }
    if (!(d->dec = avcodec_alloc_context3(codec)) || !(d->pkt = av_packet_alloc())) {
        lp_error_set(err, LP_E_NOMEM, "out of memory opening the decoder of \"%s\"", lp_media_basename(path));
        goto fail;
    }
    int rc = avcodec_parameters_to_context(d->dec, st->codecpar);
    if (rc >= 0) {
        d->dec->pkt_timebase = st->time_base;
        d->dec->thread_count = 0;
        rc = avcodec_open2(d->dec, codec, NULL);
    }
    if (rc < 0) {
        lp_media_av_fail(err, LP_E_INVALID, rc, "the %s decoder rejects the video stream of \"%s\"", codec->name,
                         lp_media_basename(path));
        goto fail;
    }
    return 0;
fail:
    lp_av_decoder_close(d);
    return -1;
}

int lp_av_decoder_next(lp_av_decoder *d, AVFrame *frame, const char *path, lp_error *err)
{
    av_frame_unref(frame);
    for (;;) {
        int rc = avcodec_receive_frame(d->dec, frame);
        if (rc == 0)
            return 1;
        if (rc == AVERROR_EOF)
            return 0;
        if (rc != AVERROR(EAGAIN))
            return lp_media_av_fail(err, LP_E_INVALID, rc, "decoding \"%s\" failed", lp_media_basename(path));
        if (d->draining)
            return 0;
        rc = av_read_frame(d->fmt, d->pkt);
        if (rc == AVERROR_EOF) {
            d->draining = 1;
            avcodec_send_packet(d->dec, NULL);
            continue;
        }
        if (rc < 0)
            return lp_media_av_fail(err, LP_E_INVALID, rc, "reading \"%s\" failed", lp_media_basename(path));
        if (d->pkt->stream_index != d->stream) {
            rc = d->other_packet ? d->other_packet(d->other_ud, d->pkt, err) : 0;
            av_packet_unref(d->pkt);
            if (rc)
                return -1;
            continue;
        }
        rc = avcodec_send_packet(d->dec, d->pkt);
        av_packet_unref(d->pkt);
        if (rc == AVERROR_INVALIDDATA) {
            d->bad_packets++;
        } else if (rc < 0) {
            return lp_media_av_fail(err, LP_E_INVALID, rc, "decoding \"%s\" failed", lp_media_basename(path));
        }
    }
}

int64_t lp_av_frame_ts(const AVFrame *frame)
{
    return frame->pts != AV_NOPTS_VALUE ? frame->pts : frame->best_effort_timestamp;
}

void lp_av_decoder_close(lp_av_decoder *d)
{
    if (!d)
        return;
    av_packet_free(&d->pkt);
    avcodec_free_context(&d->dec);
    avformat_close_input(&d->fmt);
}
