/* The ingest pass: demux and decode once, feed the mezzanine, the HLS
 * renditions, the AAC audio track and the audio peaks. See video_ingest.h. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>

#include "loupe/core/util.h"
#include "loupe/media/audio_peaks.h"
#include "loupe/media/video.h"
#include "loupe/media/video_ingest.h"
#include "media_int.h"

#define AAC_BIT_RATE 128000

int lp_video_segment_frames(int rate_num, int rate_den)
{
    if (rate_num <= 0 || rate_den <= 0)
        return 60;
    int64_t n = ((int64_t)rate_num * LP_VIDEO_SEGMENT_SECONDS + rate_den / 2) / rate_den;
    return n < 1 ? 1 : n > LP_VIDEO_SEGMENT_MAX_FRAMES ? LP_VIDEO_SEGMENT_MAX_FRAMES : (int)n;
}

/* The audio half of the pass: decoder, conversion to planar float, AAC
 * encoder (frames of exactly frame_size samples through a FIFO). */
typedef struct audio_path {
    int stream;              /* source audio stream, -1 none */
    AVRational src_tb;
    int copy;                /* mezzanine takes the source packets as they are */
    AVCodecContext *dec, *enc;
    SwrContext *swr;
    AVAudioFifo *fifo;
    AVFrame *in, *out;
    AVPacket *pkt;
    int64_t next_pts;        /* of the next encoded frame, 1/sample_rate */
    lp_audio_peaks *peaks;
} audio_path;

typedef struct ingest {
    const char *name;
    lp_av_decoder d;
    audio_path a;
    lp_mezz_out *mezz;
    lp_hls_track *video[LP_VIDEO_RENDITIONS_MAX];
    int nvideo;
    lp_hls_track *audio;
} ingest;

/* ---- Audio ---------------------------------------------------------------------------- */

static int open_audio(ingest *g, const lp_video_ingest_opts *o, lp_error *err)
{
    audio_path *a = &g->a;
    AVStream *st = g->d.fmt->streams[a->stream];
    const AVCodec *dc = avcodec_find_decoder(st->codecpar->codec_id);
    const AVCodec *ec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    int r;
    a->src_tb = st->time_base;
    a->copy = lp_mezz_out_takes_audio(st->codecpar->codec_id);
    if (!dc || !ec || (a->copy && !o->renditions && !o->peaks))
        return 0; /* copied as it is, or (no decoder) left out of what needs decoding */
    if (!(a->dec = avcodec_alloc_context3(dc)) || !(a->enc = avcodec_alloc_context3(ec)) ||
        !(a->in = av_frame_alloc()) || !(a->out = av_frame_alloc()) || !(a->pkt = av_packet_alloc()))
        return lp_error_set(err, LP_E_NOMEM, "out of memory opening the audio of \"%s\"", g->name);
    if ((r = avcodec_parameters_to_context(a->dec, st->codecpar)) < 0 || (a->dec->pkt_timebase = st->time_base,
                                                                         r = avcodec_open2(a->dec, dc, NULL)) < 0 ||
        a->dec->sample_rate <= 0 || a->dec->ch_layout.nb_channels <= 0) {
        /* Undecodable audio is not worth refusing the video for. */
        avcodec_free_context(&a->dec);
        avcodec_free_context(&a->enc);
        return 0;
    }
    int rate = a->dec->sample_rate, ok = 0;
    for (const int *s = ec->supported_samplerates; s && *s; s++)
        ok |= *s == rate;
    if (!ok)
        rate = 48000;
    AVCodecContext *e = a->enc;
    e->sample_fmt = AV_SAMPLE_FMT_FLTP;
    e->sample_rate = rate;
    e->time_base = (AVRational){1, rate};
    e->bit_rate = AAC_BIT_RATE;
    av_channel_layout_default(&e->ch_layout, a->dec->ch_layout.nb_channels >= 2 ? 2 : 1);
    e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((r = avcodec_open2(e, ec, NULL)) < 0)
        return lp_media_av_fail(err, LP_E_INTERNAL, r, "the AAC encoder rejects the audio of \"%s\"", g->name);
    if ((r = swr_alloc_set_opts2(&a->swr, &e->ch_layout, AV_SAMPLE_FMT_FLTP, rate, &a->dec->ch_layout,
                                 a->dec->sample_fmt, a->dec->sample_rate, 0, NULL)) < 0 ||
        (r = swr_init(a->swr)) < 0)
        return lp_media_av_fail(err, LP_E_INTERNAL, r, "cannot convert the audio of \"%s\"", g->name);
    if (!(a->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, e->ch_layout.nb_channels, e->frame_size * 4)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory opening the audio of \"%s\"", g->name);
    a->next_pts = AV_NOPTS_VALUE;
    return 0;
}

/* Encoded AAC packets go to the audio track, and to the mezzanine when it
 * cannot take the source's packets. */
static int drain_aac(ingest *g, lp_error *err)
{
    audio_path *a = &g->a;
    for (;;) {
        int rc = avcodec_receive_packet(a->enc, a->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return lp_media_av_fail(err, LP_E_INTERNAL, rc, "encoding the audio of \"%s\" failed", g->name);
        rc = (g->audio && lp_hls_audio_packet(g->audio, a->pkt, err)) || (!a->copy && lp_mezz_out_audio(g->mezz, a->pkt, err));
        av_packet_unref(a->pkt);
        if (rc)
            return -1;
    }
}

/* a->out made ready for n samples in the encoder's format. */
static int out_frame(ingest *g, int n, lp_error *err)
{
    audio_path *a = &g->a;
    av_frame_unref(a->out);
    a->out->nb_samples = n;
    a->out->format = AV_SAMPLE_FMT_FLTP;
    a->out->sample_rate = a->enc->sample_rate;
    int rc = av_channel_layout_copy(&a->out->ch_layout, &a->enc->ch_layout);
    if (rc >= 0)
        rc = av_frame_get_buffer(a->out, 0);
    if (rc < 0)
        return lp_media_av_fail(err, LP_E_NOMEM, rc, "out of memory for the audio of \"%s\"", g->name);
    return 0;
}

/* Encodes whole AAC frames from the FIFO (and the rest, padded, at the end). */
static int encode_fifo(ingest *g, int final, lp_error *err)
{
    audio_path *a = &g->a;
    const int fs = a->enc->frame_size;
    while (av_audio_fifo_size(a->fifo) >= fs || (final && av_audio_fifo_size(a->fifo) > 0)) {
        int n = av_audio_fifo_size(a->fifo) < fs ? av_audio_fifo_size(a->fifo) : fs;
        int rc;
        if (out_frame(g, n, err))
            return -1;
        av_audio_fifo_read(a->fifo, (void **)a->out->data, n);
        a->out->pts = a->next_pts;
        a->next_pts += n;
        if ((rc = avcodec_send_frame(a->enc, a->out)) < 0)
            return lp_media_av_fail(err, LP_E_INTERNAL, rc, "encoding the audio of \"%s\" failed", g->name);
        if (drain_aac(g, err))
            return -1;
    }
    return 0;
}

/* Converts decoded (or, with in NULL, the converter's last) samples. */
static int convert(ingest *g, const AVFrame *in, lp_error *err)
{
    audio_path *a = &g->a;
    int max = swr_get_out_samples(a->swr, in ? in->nb_samples : 0);
    if (max <= 0)
        return 0;
    if (out_frame(g, max, err))
        return -1;
    int got = swr_convert(a->swr, a->out->data, max, in ? (const uint8_t **)in->extended_data : NULL,
                          in ? in->nb_samples : 0);
    if (got < 0)
        return lp_media_av_fail(err, LP_E_INTERNAL, got, "converting the audio of \"%s\" failed", g->name);
    if (got == 0)
        return 0;
    if (a->peaks && lp_audio_peaks_add(a->peaks, (const float *const *)a->out->data, a->enc->ch_layout.nb_channels,
                                       got, err))
        return -1;
    if (av_audio_fifo_write(a->fifo, (void **)a->out->data, got) < got)
        return lp_error_set(err, LP_E_NOMEM, "out of memory buffering the audio of \"%s\"", g->name);
    return encode_fifo(g, 0, err);
}

static int decode_audio(ingest *g, const AVPacket *pkt, lp_error *err)
{
    audio_path *a = &g->a;
    int rc = avcodec_send_packet(a->dec, pkt);
    if (rc < 0 && rc != AVERROR_EOF)
        return 0; /* a damaged audio packet is skipped, as video ones are */
    for (;;) {
        rc = avcodec_receive_frame(a->dec, a->in);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return 0;
        if (a->next_pts == AV_NOPTS_VALUE) {
            int64_t ts = a->in->pts != AV_NOPTS_VALUE ? a->in->pts : 0;
            a->next_pts = av_rescale_q(ts, a->src_tb, a->enc->time_base);
        }
        rc = convert(g, a->in, err);
        av_frame_unref(a->in);
        if (rc)
            return -1;
    }
}

/* lp_av_decoder's other_packet: packets of the audio stream. */
static int on_packet(void *ud, AVPacket *pkt, lp_error *err)
{
    ingest *g = ud;
    if (pkt->stream_index != g->a.stream)
        return 0;
    if (g->a.copy && lp_mezz_out_audio(g->mezz, pkt, err))
        return -1;
    return g->a.dec ? decode_audio(g, pkt, err) : 0;
}

static int finish_audio(ingest *g, lp_video_ingest_result *res, lp_error *err)
{
    audio_path *a = &g->a;
    int rc;
    if (!a->dec)
        return 0;
    if (decode_audio(g, NULL, err) || convert(g, NULL, err) || encode_fifo(g, 1, err))
        return -1;
    if ((rc = avcodec_send_frame(a->enc, NULL)) < 0)
        return lp_media_av_fail(err, LP_E_INTERNAL, rc, "finishing the audio of \"%s\" failed", g->name);
    if (drain_aac(g, err))
        return -1;
    if (a->peaks && lp_audio_peaks_finish(a->peaks, &res->peak_buckets, err))
        return -1;
    return 0;
}

static void close_audio(audio_path *a)
{
    avcodec_free_context(&a->dec);
    avcodec_free_context(&a->enc);
    swr_free(&a->swr);
    if (a->fifo)
        av_audio_fifo_free(a->fifo);
    av_frame_free(&a->in);
    av_frame_free(&a->out);
    av_packet_free(&a->pkt);
    lp_audio_peaks_free(a->peaks);
}

/* ---- Video ---------------------------------------------------------------------------- */

/* Upright size fitted so the shorter side is at most cap, even numbers. */
static void fit(int64_t w, int64_t h, int cap, int *ow, int *oh)
{
    int64_t shorter = w < h ? w : h;
    if (shorter > cap) {
        w = w * cap / shorter;
        h = h * cap / shorter;
    }
    *ow = (int)(w & ~1LL) > 0 ? (int)(w & ~1LL) : 2;
    *oh = (int)(h & ~1LL) > 0 ? (int)(h & ~1LL) : 2;
}

static int open_renditions(ingest *g, const lp_video_info *info, int which, const char *out_dir, int gop,
                           lp_error *err)
{
    static const struct { const char *name; int cap; } q[] = {{"1080p", 1080}, {"360p", 360}};
    const AVStream *ist = g->d.fmt->streams[g->d.stream];
    int64_t shorter = info->display_width < info->display_height ? info->display_width : info->display_height;
    if (!avcodec_find_encoder_by_name("libx264"))
        return 0;
    for (int i = 0; i < 2; i++) {
        int w, h;
        if (i == 0 && (which < 2 || shorter <= 360))
            continue;
        fit(info->display_width, info->display_height, q[i].cap, &w, &h);
        if (lp_hls_video_open(&g->video[g->nvideo], out_dir, q[i].name, w, h, info->rotation, ist, gop, err))
            return -1;
        g->nvideo++;
    }
    return 0;
}

int lp_video_ingest(const char *path, const char *out_dir, const lp_media_limits *limits,
                    const lp_video_ingest_opts *opts, lp_video_ingest_result *res, lp_error *err)
{
    static const lp_video_ingest_opts all = {.renditions = 2, .peaks = 1};
    const lp_video_ingest_opts *o = opts ? opts : &all;
    lp_video_info info;
    ingest g = {.name = lp_media_basename(path), .a = {.stream = -1}};
    AVFrame *frame = NULL;
    int rc = -1;

    memset(res, 0, sizeof *res);
    if (lp_video_probe(path, limits, &info, err) || lp_av_decoder_open(&g.d, path, err))
        return -1;
    g.d.other_packet = on_packet;
    g.d.other_ud = &g;
    const AVStream *ist = g.d.fmt->streams[g.d.stream];
    res->segment_frames = lp_video_segment_frames(info.avg_rate_num, info.avg_rate_den);
    g.a.stream = av_find_best_stream(g.d.fmt, AVMEDIA_TYPE_AUDIO, -1, g.d.stream, NULL, 0);
    if (g.a.stream < 0)
        g.a.stream = -1;
    else if (open_audio(&g, o, err))
        goto cleanup;

    /* The mezzanine takes the source's audio packets, else our AAC. */
    const AVCodecParameters *mezz_audio = NULL;
    AVCodecParameters *aac_par = NULL;
    AVRational mezz_tb = {1, 1};
    if (g.a.stream >= 0 && g.a.copy) {
        mezz_audio = g.d.fmt->streams[g.a.stream]->codecpar;
        mezz_tb = g.a.src_tb;
        lp_strlcpy(res->mezzanine_audio, "copy", sizeof res->mezzanine_audio);
    } else if (g.a.enc && (aac_par = avcodec_parameters_alloc()) &&
               avcodec_parameters_from_context(aac_par, g.a.enc) >= 0) {
        mezz_audio = aac_par;
        mezz_tb = g.a.enc->time_base;
        lp_strlcpy(res->mezzanine_audio, "aac", sizeof res->mezzanine_audio);
    }
    int r = lp_mezz_out_open(&g.mezz, out_dir, ist, mezz_audio, mezz_tb, &res->mezzanine, g.name, err);
    avcodec_parameters_free(&aac_par);
    if (r)
        goto cleanup;
    if (o->renditions && open_renditions(&g, &info, o->renditions, out_dir, res->segment_frames, err))
        goto cleanup;
    if (g.a.enc && g.nvideo > 0) {
        int64_t per = (int64_t)g.a.enc->sample_rate * LP_VIDEO_SEGMENT_SECONDS / g.a.enc->frame_size;
        if (lp_hls_audio_open(&g.audio, out_dir, g.a.enc, per > 0 ? (int)per : 1, err))
            goto cleanup;
    }
    if (g.a.enc && o->peaks) {
        if (lp_media_join(res->peaks, out_dir, "peaks.bin", err) ||
            !(g.a.peaks = lp_audio_peaks_open(res->peaks, g.a.enc->sample_rate, LP_AUDIO_PEAKS_BUCKET_MS, err)))
            goto cleanup;
    }
    if (!(frame = av_frame_alloc())) {
        lp_error_set(err, LP_E_NOMEM, "out of memory transcoding \"%s\"", g.name);
        goto cleanup;
    }

    int64_t last = AV_NOPTS_VALUE;
    for (;;) {
        int got = lp_av_decoder_next(&g.d, frame, path, err);
        if (got < 0)
            goto cleanup;
        if (got == 0)
            break;
        int64_t ts = lp_av_frame_ts(frame);
        if (ts == AV_NOPTS_VALUE || (last != AV_NOPTS_VALUE && ts <= last))
            continue; /* as in the index: one frame per timestamp */
        if (res->frames >= limits->video_max_frames) {
            lp_error_set(err, LP_E_TOO_LARGE, "video has more than %" PRId64 " frames (video_max_frames)",
                         limits->video_max_frames);
            goto cleanup;
        }
        if (lp_mezz_out_video(g.mezz, frame, ts, err))
            goto cleanup;
        for (int i = 0; i < g.nvideo; i++)
            if (lp_hls_video_frame(g.video[i], frame, ts, err))
                goto cleanup;
        last = ts;
        res->frames++;
    }
    if (res->frames == 0) {
        lp_error_set(err, LP_E_INVALID, "no frame of \"%s\" could be decoded", g.name);
        goto cleanup;
    }
    res->mezzanine.frames = res->frames;
    if (finish_audio(&g, res, err) || lp_mezz_out_finish(g.mezz, err))
        goto cleanup;
    for (int i = 0; i < g.nvideo; i++)
        if (lp_hls_finish(g.video[i], &res->rendition[i], err))
            goto cleanup;
    res->renditions = g.nvideo;
    res->segments = g.nvideo ? res->rendition[0].segments : 0;
    if (g.audio) {
        if (lp_hls_finish(g.audio, &res->audio, err))
            goto cleanup;
        res->has_audio_track = 1;
    }
    if (!g.a.peaks)
        res->peaks[0] = '\0';
    rc = 0;
cleanup:
    av_frame_free(&frame);
    for (int i = 0; i < g.nvideo; i++)
        lp_hls_free(g.video[i]);
    lp_hls_free(g.audio);
    lp_mezz_out_free(g.mezz);
    close_audio(&g.a);
    lp_av_decoder_close(&g.d);
    return rc;
}
