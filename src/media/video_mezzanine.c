/* Mezzanine transcode: short closed GOPs for fast random frame access.
 * See video_mezzanine.h. */
#include <inttypes.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "loupe/core/util.h"
#include "loupe/media/video.h"
#include "loupe/media/video_mezzanine.h"
#include "media_int.h"

int lp_video_needs_mezzanine(const lp_video_index *ix, int64_t max_gop)
{
    return ix->max_gop > max_gop;
}

typedef struct mezz {
    lp_av_decoder d;
    AVFormatContext *oc;
    AVCodecContext *enc;
    AVStream *ost;
    AVFrame *in, *out;
    AVPacket *pkt;
    struct SwsContext *sws;
    int64_t frame_duration; /* nominal, in the encoder's time base */
} mezz;

/* Drains the encoder's packets into the file. */
static int write_packets(mezz *m, const char *name, lp_error *err)
{
    for (;;) {
        int rc = avcodec_receive_packet(m->enc, m->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return lp_media_av_fail(err, LP_E_INTERNAL, rc, "encoding the mezzanine of \"%s\" failed", name);
        if (m->pkt->duration <= 0) /* the muxer needs it for the last frame */
            m->pkt->duration = m->frame_duration;
        av_packet_rescale_ts(m->pkt, m->enc->time_base, m->ost->time_base);
        m->pkt->stream_index = m->ost->index;
        rc = av_interleaved_write_frame(m->oc, m->pkt);
        if (rc < 0)
            return lp_media_av_fail(err, LP_E_IO, rc, "writing the mezzanine of \"%s\" failed", name);
    }
}

static int open_encoder(mezz *m, const AVStream *ist, int h264, const char *name, lp_error *err)
{
    const AVCodec *codec = h264 ? avcodec_find_encoder_by_name("libx264") : avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec || !(m->enc = avcodec_alloc_context3(codec)))
        return lp_error_set(err, LP_E_INTERNAL, "no %s encoder is available", h264 ? "libx264" : "mjpeg");
    const AVCodecParameters *par = ist->codecpar;
    AVCodecContext *e = m->enc;
    e->width = par->width;
    e->height = par->height;
    e->sample_aspect_ratio = par->sample_aspect_ratio;
    e->time_base = ist->time_base;
    e->framerate = ist->avg_frame_rate.num > 0 ? ist->avg_frame_rate : ist->r_frame_rate;
    e->gop_size = LP_VIDEO_MEZZANINE_GOP;
    e->max_b_frames = 0;
    e->flags |= AV_CODEC_FLAG_CLOSED_GOP;
    e->thread_count = 0;
    if (m->oc->oformat->flags & AVFMT_GLOBALHEADER)
        e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary *opts = NULL;
    if (h264) {
        /* 4:2:0 needs even sizes; odd ones keep every pixel with 4:4:4. */
        e->pix_fmt = (par->width % 2 || par->height % 2) ? AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV420P;
        av_dict_set(&opts, "preset", "veryfast", 0);
        av_dict_set(&opts, "crf", "18", 0);
        av_dict_set(&opts, "x264-params", "scenecut=0:open-gop=0:bframes=0", 0);
    } else {
        e->pix_fmt = AV_PIX_FMT_YUVJ420P;
        e->flags |= AV_CODEC_FLAG_QSCALE;
        e->global_quality = FF_QP2LAMBDA * 3;
    }
    m->frame_duration = 1;
    if (e->framerate.num > 0 && e->framerate.den > 0) {
        int64_t d = av_rescale_q(1, av_inv_q(e->framerate), e->time_base);
        m->frame_duration = d > 0 ? d : 1;
    }
    int rc = avcodec_open2(e, codec, &opts);
    av_dict_free(&opts);
    if (rc < 0)
        return lp_media_av_fail(err, LP_E_INTERNAL, rc, "the %s encoder rejects the video of \"%s\"", codec->name, name);
    return 0;
}

static int encode_frame(mezz *m, const AVFrame *f, int64_t pts, const char *name, lp_error *err)
{
    m->sws = sws_getCachedContext(m->sws, f->width, f->height, (enum AVPixelFormat)f->format, m->enc->width,
                                  m->enc->height, m->enc->pix_fmt, SWS_BICUBIC, NULL, NULL, NULL);
    if (!m->sws)
        return lp_error_set(err, LP_E_INTERNAL, "no conversion from %s for the mezzanine of \"%s\"",
                            av_get_pix_fmt_name((enum AVPixelFormat)f->format), name);
    int rc = av_frame_make_writable(m->out);
    if (rc < 0)
        return lp_media_av_fail(err, LP_E_NOMEM, rc, "out of memory transcoding \"%s\"", name);
    sws_scale(m->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, m->out->data, m->out->linesize);
    m->out->pts = pts;
    m->out->pkt_duration = f->pkt_duration > 0 ? f->pkt_duration : m->frame_duration;
    rc = avcodec_send_frame(m->enc, m->out);
    if (rc < 0)
        return lp_media_av_fail(err, LP_E_INTERNAL, rc, "encoding the mezzanine of \"%s\" failed", name);
    return write_packets(m, name, err);
}

int lp_video_mezzanine(const char *path, const char *out_dir, const lp_media_limits *limits,
                       lp_video_mezzanine_result *result, lp_error *err)
{
    mezz m = {0};
    lp_video_info info;
    int rc = -1, header_written = 0;
    memset(result, 0, sizeof *result);
    if (lp_video_probe(path, limits, &info, err))
        return -1;
    const char *name = lp_media_basename(path);
    const int h264 = avcodec_find_encoder_by_name("libx264") != NULL;
    if (lp_media_join(result->path, out_dir, h264 ? "mezzanine.mp4" : "mezzanine.mkv", err))
        return -1;
    if (lp_av_decoder_open(&m.d, path, err))
        return -1;
    const AVStream *ist = m.d.fmt->streams[m.d.stream];
    int r = avformat_alloc_output_context2(&m.oc, NULL, h264 ? "mp4" : "matroska", result->path);
    if (r < 0) {
        lp_media_av_fail(err, LP_E_INTERNAL, r, "cannot set up the mezzanine container");
        goto cleanup;
    }
    if (open_encoder(&m, ist, h264, name, err))
        goto cleanup;
    if (!(m.ost = avformat_new_stream(m.oc, NULL)) || !(m.in = av_frame_alloc()) || !(m.out = av_frame_alloc()) ||
        !(m.pkt = av_packet_alloc())) {
        lp_error_set(err, LP_E_NOMEM, "out of memory transcoding \"%s\"", name);
        goto cleanup;
    }
    m.out->format = m.enc->pix_fmt;
    m.out->width = m.enc->width;
    m.out->height = m.enc->height;
    if ((r = av_frame_get_buffer(m.out, 0)) < 0 || (r = avcodec_parameters_from_context(m.ost->codecpar, m.enc)) < 0) {
        lp_media_av_fail(err, LP_E_NOMEM, r, "out of memory transcoding \"%s\"", name);
        goto cleanup;
    }
    m.ost->time_base = m.enc->time_base;
    size_t sd_size = 0;
    const uint8_t *matrix = av_stream_get_side_data(ist, AV_PKT_DATA_DISPLAYMATRIX, &sd_size);
    if (matrix) {
        uint8_t *copy = av_stream_new_side_data(m.ost, AV_PKT_DATA_DISPLAYMATRIX, sd_size);
        if (copy)
            memcpy(copy, matrix, sd_size);
    }
    if ((r = avio_open(&m.oc->pb, result->path, AVIO_FLAG_WRITE)) < 0) {
        lp_media_av_fail(err, LP_E_IO, r, "cannot create the mezzanine of \"%s\"", name);
        goto cleanup;
    }
    AVDictionary *mux_opts = NULL;
    if (h264)
        av_dict_set(&mux_opts, "movflags", "+faststart", 0);
    r = avformat_write_header(m.oc, &mux_opts);
    av_dict_free(&mux_opts);
    if (r < 0) {
        lp_media_av_fail(err, LP_E_IO, r, "cannot write the mezzanine of \"%s\"", name);
        goto cleanup;
    }
    header_written = 1;

    int64_t last = AV_NOPTS_VALUE;
    for (;;) {
        int got = lp_av_decoder_next(&m.d, m.in, path, err);
        if (got < 0)
            goto cleanup;
        if (got == 0)
            break;
        int64_t ts = lp_av_frame_ts(m.in);
        if (ts == AV_NOPTS_VALUE || (last != AV_NOPTS_VALUE && ts <= last))
            continue; /* as in the index: one frame per timestamp */
        if (result->frames >= limits->video_max_frames) {
            lp_error_set(err, LP_E_TOO_LARGE, "video has more than %" PRId64 " frames (video_max_frames)",
                         limits->video_max_frames);
            goto cleanup;
        }
        if (encode_frame(&m, m.in, ts, name, err))
            goto cleanup;
        last = ts;
        result->frames++;
    }
    if ((r = avcodec_send_frame(m.enc, NULL)) < 0) {
        lp_media_av_fail(err, LP_E_INTERNAL, r, "finishing the mezzanine of \"%s\" failed", name);
        goto cleanup;
    }
    if (write_packets(&m, name, err))
        goto cleanup;
    if ((r = av_write_trailer(m.oc)) < 0) {
        lp_media_av_fail(err, LP_E_IO, r, "finishing the mezzanine of \"%s\" failed", name);
        goto cleanup;
    }
    header_written = 0;
    if (result->frames == 0) {
        lp_error_set(err, LP_E_INVALID, "no frame of \"%s\" could be decoded", name);
        goto cleanup;
    }
    lp_strlcpy(result->codec, h264 ? "h264" : "mjpeg", sizeof result->codec);
    result->gop = h264 ? LP_VIDEO_MEZZANINE_GOP : 1;
    rc = 0;
cleanup:
    if (header_written)
        av_write_trailer(m.oc);
    if (m.oc) {
        if (m.oc->pb)
            avio_closep(&m.oc->pb);
        avformat_free_context(m.oc);
    }
    sws_freeContext(m.sws);
    av_packet_free(&m.pkt);
    av_frame_free(&m.in);
    av_frame_free(&m.out);
    avcodec_free_context(&m.enc);
    lp_av_decoder_close(&m.d);
    return rc;
}
