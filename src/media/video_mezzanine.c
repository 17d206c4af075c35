/* Mezzanine: short closed GOPs for fast random frame access, with the
 * source's audio. Written by the ingest pass (video_ingest.c) through
 * lp_mezz_out; lp_video_mezzanine is that pass without renditions or peaks.
 * See video_mezzanine.h. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "loupe/core/util.h"
#include "loupe/media/video.h"
#include "loupe/media/video_ingest.h"
#include "loupe/media/video_mezzanine.h"
#include "media_int.h"

int lp_video_needs_mezzanine(const lp_video_index *ix, int64_t max_gop)
{
    return ix->max_gop > max_gop;
}

struct lp_mezz_out {
    AVFormatContext *oc;
    AVCodecContext *enc;
    AVStream *ost, *aost;
    AVRational audio_tb;
    AVFrame *out;
    AVPacket *pkt;
    struct SwsContext *sws;
    int64_t frame_duration; /* nominal, in the encoder's time base */
    int header_written;
    const char *name;
};

static const char *mezz_container(void)
{
    return avcodec_find_encoder_by_name("libx264") ? "mp4" : "matroska";
}

int lp_mezz_out_takes_audio(int codec_id)
{
    return avformat_query_codec(av_guess_format(mezz_container(), NULL, NULL), (enum AVCodecID)codec_id,
                                FF_COMPLIANCE_NORMAL) == 1;
}

/* Drains the encoder's packets into the file. */
static int write_packets(lp_mezz_out *m, lp_error *err)
{
    for (;;) {
        int rc = avcodec_receive_packet(m->enc, m->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return lp_media_av_fail(err, LP_E_INTERNAL, rc, "encoding the mezzanine of \"%s\" failed", m->name);
        if (m->pkt->duration <= 0) /* the muxer needs it for the last frame */
            m->pkt->duration = m->frame_duration;
        av_packet_rescale_ts(m->pkt, m->enc->time_base, m->ost->time_base);
        m->pkt->stream_index = m->ost->index;
        rc = av_interleaved_write_frame(m->oc, m->pkt);
        if (rc < 0)
            return lp_media_av_fail(err, LP_E_IO, rc, "writing the mezzanine of \"%s\" failed", m->name);
    }
}

static int open_encoder(lp_mezz_out *m, const AVStream *ist, int h264, lp_error *err)
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
        return lp_media_av_fail(err, LP_E_INTERNAL, rc, "the %s encoder rejects the video of \"%s\"", codec->name,
                                m->name);
    return 0;
}

int lp_mezz_out_open(lp_mezz_out **out, const char *out_dir, const AVStream *ist, const AVCodecParameters *audio,
                     AVRational audio_tb, lp_video_mezzanine_result *res, const char *name, lp_error *err)
{
    lp_mezz_out *m = calloc(1, sizeof *m);
    const int h264 = avcodec_find_encoder_by_name("libx264") != NULL;
    int r;
    *out = NULL;
    if (!m)
        return lp_error_set(err, LP_E_NOMEM, "out of memory transcoding \"%s\"", name);
    m->name = name;
    m->audio_tb = audio_tb;
    if (lp_media_join(res->path, out_dir, h264 ? "mezzanine.mp4" : "mezzanine.mkv", err))
        goto fail;
    lp_strlcpy(res->codec, h264 ? "h264" : "mjpeg", sizeof res->codec);
    res->gop = h264 ? LP_VIDEO_MEZZANINE_GOP : 1;
    if ((r = avformat_alloc_output_context2(&m->oc, NULL, mezz_container(), res->path)) < 0) {
        lp_media_av_fail(err, LP_E_INTERNAL, r, "cannot set up the mezzanine container");
        goto fail;
    }
    if (open_encoder(m, ist, h264, err))
        goto fail;
    if (!(m->ost = avformat_new_stream(m->oc, NULL)) || !(m->out = av_frame_alloc()) ||
        !(m->pkt = av_packet_alloc()) || (audio && !(m->aost = avformat_new_stream(m->oc, NULL)))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory transcoding \"%s\"", name);
        goto fail;
    }
    m->out->format = m->enc->pix_fmt;
    m->out->width = m->enc->width;
    m->out->height = m->enc->height;
    if ((r = av_frame_get_buffer(m->out, 0)) < 0 || (r = avcodec_parameters_from_context(m->ost->codecpar, m->enc)) < 0 ||
        (m->aost && (r = avcodec_parameters_copy(m->aost->codecpar, audio)) < 0)) {
        lp_media_av_fail(err, LP_E_NOMEM, r, "out of memory transcoding \"%s\"", name);
        goto fail;
    }
    m->ost->time_base = m->enc->time_base;
    if (m->aost) {
        m->aost->time_base = audio_tb;
        m->aost->codecpar->codec_tag = 0;
    }
    size_t sd_size = 0;
    const uint8_t *matrix = av_stream_get_side_data(ist, AV_PKT_DATA_DISPLAYMATRIX, &sd_size);
    if (matrix) {
        uint8_t *copy = av_stream_new_side_data(m->ost, AV_PKT_DATA_DISPLAYMATRIX, sd_size);
        if (copy)
            memcpy(copy, matrix, sd_size);
    }
    if ((r = avio_open(&m->oc->pb, res->path, AVIO_FLAG_WRITE)) < 0) {
        lp_media_av_fail(err, LP_E_IO, r, "cannot create the mezzanine of \"%s\"", name);
        goto fail;
    }
    /* Fragmented MP4, one fragment per GOP (an empty moov, then moof + mdat
     * as each GOP is cut): the muxer keeps the sample table of the open
     * fragment only, where a plain MP4 holds every sample's entry until the
     * trailer — memory that grew with the video's length. A global sidx (one
     * index of every fragment, put after the moov by the trailer) lets a
     * reader open the file without reading every fragment's header; it finds
     * the fragment of a seek through it. */
    AVDictionary *mux_opts = NULL;
    if (h264)
        av_dict_set(&mux_opts, "movflags", "+frag_keyframe+empty_moov+default_base_moof+global_sidx", 0);
    r = avformat_write_header(m->oc, &mux_opts);
    av_dict_free(&mux_opts);
    if (r < 0) {
        lp_media_av_fail(err, LP_E_IO, r, "cannot write the mezzanine of \"%s\"", name);
        goto fail;
    }
    m->header_written = 1;
    *out = m;
    return 0;
fail:
    lp_mezz_out_free(m);
    return -1;
}

int lp_mezz_out_video(lp_mezz_out *m, const AVFrame *f, int64_t pts, lp_error *err)
{
    m->sws = sws_getCachedContext(m->sws, f->width, f->height, (enum AVPixelFormat)f->format, m->enc->width,
                                  m->enc->height, m->enc->pix_fmt, SWS_BICUBIC, NULL, NULL, NULL);
    if (!m->sws)
        return lp_error_set(err, LP_E_INTERNAL, "no conversion from %s for the mezzanine of \"%s\"",
                            av_get_pix_fmt_name((enum AVPixelFormat)f->format), m->name);
    int rc = av_frame_make_writable(m->out);
    if (rc < 0)
        return lp_media_av_fail(err, LP_E_NOMEM, rc, "out of memory transcoding \"%s\"", m->name);
    sws_scale(m->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, m->out->data, m->out->linesize);
    m->out->pts = pts;
    m->out->pkt_duration = f->pkt_duration > 0 ? f->pkt_duration : m->frame_duration;
    rc = avcodec_send_frame(m->enc, m->out);
    if (rc < 0)
        return lp_media_av_fail(err, LP_E_INTERNAL, rc, "encoding the mezzanine of \"%s\" failed", m->name);
    return write_packets(m, err);
}

int lp_mezz_out_audio(lp_mezz_out *m, const AVPacket *pkt, lp_error *err)
{
    if (!m->aost || (pkt->pts == AV_NOPTS_VALUE && pkt->dts == AV_NOPTS_VALUE))
        return 0;
    AVPacket *p = av_packet_clone(pkt);
    if (!p)
        return lp_error_set(err, LP_E_NOMEM, "out of memory copying the audio of \"%s\"", m->name);
    av_packet_rescale_ts(p, m->audio_tb, m->aost->time_base);
    p->stream_index = m->aost->index;
    p->pos = -1;
    int rc = av_interleaved_write_frame(m->oc, p);
    av_packet_free(&p);
    if (rc < 0)
        return lp_media_av_fail(err, LP_E_IO, rc, "writing the audio of the mezzanine of \"%s\" failed", m->name);
    return 0;
}

int lp_mezz_out_finish(lp_mezz_out *m, lp_error *err)
{
    int r;
    if ((r = avcodec_send_frame(m->enc, NULL)) < 0)
        return lp_media_av_fail(err, LP_E_INTERNAL, r, "finishing the mezzanine of \"%s\" failed", m->name);
    if (write_packets(m, err))
        return -1;
    m->header_written = 0;
    if ((r = av_write_trailer(m->oc)) < 0)
        return lp_media_av_fail(err, LP_E_IO, r, "finishing the mezzanine of \"%s\" failed", m->name);
    return 0;
}

void lp_mezz_out_free(lp_mezz_out *m)
{
    if (!m)
        return;
    if (m->header_written)
        av_write_trailer(m->oc);
    if (m->oc) {
        if (m->oc->pb)
            avio_closep(&m->oc->pb);
        avformat_free_context(m->oc);
    }
    sws_freeContext(m->sws);
    av_packet_free(&m->pkt);
    av_frame_free(&m->out);
    avcodec_free_context(&m->enc);
    free(m);
}

int lp_video_mezzanine(const char *path, const char *out_dir, const lp_media_limits *limits,
                       lp_video_mezzanine_result *result, lp_error *err)
{
    lp_video_ingest_result *res = calloc(1, sizeof *res);
    const lp_video_ingest_opts opts = {.renditions = 0, .peaks = 0};
    int rc;
    memset(result, 0, sizeof *result);
    if (!res)
        return lp_error_set(err, LP_E_NOMEM, "out of memory");
    rc = lp_video_ingest(path, out_dir, limits, &opts, res, err);
    if (rc == 0)
        *result = res->mezzanine;
    free(res);
    return rc;
}
