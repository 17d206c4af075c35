/* Internals shared by the files of src/media (not part of the interface). */
#ifndef LOUPE_MEDIA_INT_H
#define LOUPE_MEDIA_INT_H

#include <libavutil/rational.h>
#include <vips/vips.h>

#include "loupe/core/error.h"
#include "loupe/media/media.h"

struct AVCodecContext;
struct AVFormatContext;
struct AVFrame;
struct AVPacket;
struct AVCodecParameters;
struct AVStream;
struct lp_video_mezzanine_result;
struct lp_video_track;

/* Sets err (code + printf message) and moves libvips' error buffer into the
 * detail, clearing it. Returns -1. */
int lp_media_vips_fail(lp_error *err, lp_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets err and puts FFmpeg's text for averr into the detail. Returns -1. */
int lp_media_av_fail(lp_error *err, lp_code code, int averr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* dir + "/" + name into out (LP_MEDIA_PATH_MAX). -1 with err if too long. */
int lp_media_join(char out[LP_MEDIA_PATH_MAX], const char *dir, const char *name, lp_error *err);

/* The file's base name, for messages (a pointer into path). */
const char *lp_media_basename(const char *path);

/* Checks path names an existing, non-empty regular file. LP_E_IO if it
 * cannot be examined, LP_E_INVALID if empty or not a regular file. */
int lp_media_check_file(const char *path, const char *what, lp_error *err);

/* Encodes an 8-bit sRGB/B_W image (1–4 bands) as fmt: into a blob, or to a
 * file. JPEG flattens alpha on white. Metadata is stripped. */
int lp_media_save_blob(VipsImage *img, lp_media_format fmt, int quality, lp_media_blob *out, lp_error *err);
int lp_media_save_file(VipsImage *img, lp_media_format fmt, int quality, const char *path, lp_error *err);

/* A JPEG encoded on a thread of its own while the caller still makes its
 * rows (jpeg_rows.c). lp_jpeg_rows_start begins encoding a width × height
 * RGB24 image at quality 1..100 (4:2:0 below 90, 4:4:4 from 90, as
 * libvips); the encoder thread calls fill(ctx, y, row) to have row y written
 * into row (width × 3 bytes), in order, and only for rows below those the
 * caller published (lp_jpeg_rows_publish: the first `rows` rows can be
 * filled). lp_jpeg_rows_wait blocks until the encoder is done with the first
 * `rows` rows (so their sources may be reused): 0, or -1 if it ended
 * without (it failed). lp_jpeg_rows_finish joins the encoder and frees j:
 * with ok, every row is published and out receives the JPEG (new;
 * lp_media_blob_free), or -1 with err; without ok (the caller failed) the
 * encoder stops and -1 is returned leaving err alone. *out is new. */
typedef struct lp_jpeg_rows lp_jpeg_rows;
typedef void (*lp_jpeg_fill_fn)(void *ctx, int y, uint8_t *row);
int lp_jpeg_rows_start(int width, int height, int quality, lp_jpeg_fill_fn fill, void *ctx, lp_jpeg_rows **out,
                       lp_error *err);
void lp_jpeg_rows_publish(lp_jpeg_rows *j, int rows);
int lp_jpeg_rows_wait(lp_jpeg_rows *j, int rows);
int lp_jpeg_rows_finish(lp_jpeg_rows *j, int ok, lp_media_blob *out, lp_error *err);

/* Opens a local file with FFmpeg under the policy of video.h (no URLs,
 * `file` protocol only, allowed demuxers only) and reads stream info.
 * *out is new (avformat_close_input). */
int lp_media_av_open(const char *path, struct AVFormatContext **out, lp_error *err);

/* The video stream of an opened file (first non-cover-art video stream),
 * or -1 with err set ("has no video stream"). */
int lp_media_av_video_stream(struct AVFormatContext *fmt, const char *path, lp_error *err);

/* 1 if codec (an FFmpeg name) is in list (comma-separated, spaces around
 * names ignored), or list is empty. */
int lp_media_codec_allowed(const char *list, const char *codec);

/* Clockwise rotation (0/90/180/270) from the stream's display matrix. */
int lp_media_av_rotation(const struct AVFormatContext *fmt, int stream);

/* 1 if the gaps between sorted timestamps differ by more than the rounding
 * of a time base (one tick, or 5% of the smallest gap). */
int lp_media_pts_vary(const int64_t *sorted, size_t n);

/* A demuxer + decoder pair reading one video stream frame by frame. */
typedef struct lp_av_decoder {
    struct AVFormatContext *fmt; /* owned */
    struct AVCodecContext *dec;  /* owned */
    struct AVPacket *pkt;        /* owned */
    int stream;
    int draining;                /* end of file reached, decoder being flushed */
    int64_t bad_packets;         /* packets the decoder rejected (skipped) */
    /* Optional: called with every packet of another stream before it is
     * dropped (the packet is borrowed; ref it to keep it). Nonzero fails
     * lp_av_decoder_next with the callback's err. */
    int (*other_packet)(void *ud, struct AVPacket *pkt, lp_error *err);
    void *other_ud;
} lp_av_decoder;

/* Opens path (lp_media_av_open) and the decoder of its video stream. */
int lp_av_decoder_open(lp_av_decoder *d, const char *path, lp_error *err);

/* Next decoded frame into frame (unreffed first): 1 = got one, 0 = end of
 * stream, -1 = error (err set). Damaged packets are skipped and counted. */
int lp_av_decoder_next(lp_av_decoder *d, struct AVFrame *frame, const char *path, lp_error *err);

/* Timestamp of a decoded frame (pts, else best effort). */
int64_t lp_av_frame_ts(const struct AVFrame *frame);

void lp_av_decoder_close(lp_av_decoder *d);

/* ---- Outputs of the ingest pass (video_ingest.h) ---- */

/* The mezzanine being written (video_mezzanine.c). */
typedef struct lp_mezz_out lp_mezz_out;

/* Opens out_dir/mezzanine.mp4 (.mkv without libx264) for the video stream
 * ist (borrowed) and, when audio is not NULL, an audio stream of those
 * parameters whose packets come in time base audio_tb. Fills the path and
 * codec of res. name is the source's name for messages. */
int lp_mezz_out_open(lp_mezz_out **out, const char *out_dir, const struct AVStream *ist,
                     const struct AVCodecParameters *audio, AVRational audio_tb, struct lp_video_mezzanine_result *res,
                     const char *name, lp_error *err);

/* 1 if the mezzanine's container takes audio of codec_id as it is. */
int lp_mezz_out_takes_audio(int codec_id);

/* Encodes frame f (borrowed) with timestamp pts (source time base). */
int lp_mezz_out_video(lp_mezz_out *m, const struct AVFrame *f, int64_t pts, lp_error *err);

/* Writes an audio packet (borrowed; copied) of time base audio_tb. */
int lp_mezz_out_audio(lp_mezz_out *m, const struct AVPacket *pkt, lp_error *err);

/* Flushes the encoder and finishes the file. */
int lp_mezz_out_finish(lp_mezz_out *m, lp_error *err);

void lp_mezz_out_free(lp_mezz_out *m);

/* One HLS track being written (video_hls.c): a fragmented MP4 with one
 * fragment per segment, and its media playlist at the end. */
typedef struct lp_hls_track lp_hls_track;

/* A video rendition "hls-<name>" of ist (borrowed) at width × height
 * upright (even sizes), turning frames by rotation (clockwise degrees),
 * with an IDR frame and a new segment every gop frames. */
int lp_hls_video_open(lp_hls_track **out, const char *out_dir, const char *name, int width, int height, int rotation,
                      const struct AVStream *ist, int gop, lp_error *err);

/* Scales, turns and encodes frame f (borrowed) at pts (source time base). */
int lp_hls_video_frame(lp_hls_track *t, const struct AVFrame *f, int64_t pts, lp_error *err);

/* The audio track "hls-audio" of packets encoded by enc (borrowed; open),
 * a new segment every per_segment packets. */
int lp_hls_audio_open(lp_hls_track **out, const char *out_dir, const struct AVCodecContext *enc, int per_segment,
                      lp_error *err);

/* Writes an encoded audio packet (borrowed; copied), in enc's time base. */
int lp_hls_audio_packet(lp_hls_track *t, const struct AVPacket *pkt, lp_error *err);

/* Flushes, finishes the file, writes the playlist and describes it in info. */
int lp_hls_finish(lp_hls_track *t, struct lp_video_track *info, lp_error *err);

void lp_hls_free(lp_hls_track *t);

#endif
