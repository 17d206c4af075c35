/* Internals shared by the files of src/media (not part of the interface). */
#ifndef LOUPE_MEDIA_INT_H
#define LOUPE_MEDIA_INT_H

#include <vips/vips.h>

#include "loupe/core/error.h"
#include "loupe/media/media.h"

struct AVCodecContext;
struct AVFormatContext;
struct AVFrame;
struct AVPacket;

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

/* Opens a local file with FFmpeg under the policy of video.h (no URLs,
 * `file` protocol only, allowed demuxers only) and reads stream info.
 * *out is new (avformat_close_input). */
int lp_media_av_open(const char *path, struct AVFormatContext **out, lp_error *err);

/* The video stream of an opened file (first non-cover-art video stream),
 * or -1 with err set ("has no video stream"). */
int lp_media_av_video_stream(struct AVFormatContext *fmt, const char *path, lp_error *err);

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
} lp_av_decoder;

/* Opens path (lp_media_av_open) and the decoder of its video stream. */
int lp_av_decoder_open(lp_av_decoder *d, const char *path, lp_error *err);

/* Next decoded frame into frame (unreffed first): 1 = got one, 0 = end of
 * stream, -1 = error (err set). Damaged packets are skipped and counted. */
int lp_av_decoder_next(lp_av_decoder *d, struct AVFrame *frame, const char *path, lp_error *err);

/* Timestamp of a decoded frame (pts, else best effort). */
int64_t lp_av_frame_ts(const struct AVFrame *frame);

void lp_av_decoder_close(lp_av_decoder *d);

#endif
