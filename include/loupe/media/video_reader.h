/* Exact frames of a video on demand.
 *
 * A reader keeps the demuxer and decoder open between calls. Frame n is
 * found by its timestamp in the index: when n lies ahead of the last decoded
 * frame with no keyframe in between, the reader decodes forward; otherwise it
 * seeks to the keyframe at or before n and decodes forward to it. So stepping
 * n, n+1, n+2 costs one decode per frame, and a random frame costs at most
 * its GOP (see video_mezzanine.h for files with long GOPs).
 *
 * Frames come out upright (the stream's rotation applied) as packed RGB24.
 * One reader is used by one thread at a time. lp_media_init must have been
 * called before frames are encoded. */
#ifndef LOUPE_MEDIA_VIDEO_READER_H
#define LOUPE_MEDIA_VIDEO_READER_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/media/media.h"
#include "loupe/media/video_index.h"

typedef struct lp_video_reader lp_video_reader;

/* Opens path (borrowed) for frame access with index (borrowed: it must stay
 * valid until the reader is closed, and must have been built from this
 * file — a stream index or time base that differs is LP_E_INVALID).
 * limits (copied) bounds the frame size (video_max_pixels), also when a
 * stream changes size midway. Returns NULL with err set on failure. */
lp_video_reader *lp_video_reader_open(const char *path, const lp_video_index *index, const lp_media_limits *limits,
                                      lp_error *err);

/* Closes the reader; NULL is a no-op. */
void lp_video_reader_close(lp_video_reader *r);

const lp_video_index *lp_video_reader_index(const lp_video_reader *r);

/* Rotation applied to frames (clockwise degrees: 0, 90, 180, 270). */
int lp_video_reader_rotation(const lp_video_reader *r);

/* One decoded frame. rgb is owned by the reader and valid until the next
 * call on it or its close. */
typedef struct lp_video_frame {
    const uint8_t *rgb;  /* width × height pixels, 3 bytes each */
    int width, height;   /* upright */
    size_t stride;       /* bytes from one row to the next */
    int64_t n;           /* frame number */
    int64_t pts;         /* its timestamp (index time base) */
} lp_video_frame;

/* Decodes frame n (0 <= n < index count). Errors: LP_E_NOT_FOUND for n out
 * of range; LP_E_INVALID when the file does not yield that frame (corrupt
 * data, or an index of another file). */
int lp_video_reader_frame(lp_video_reader *r, int64_t n, lp_video_frame *out, lp_error *err);

/* Frame n encoded as fmt (quality 1..100, 0 = 85) into out (new). Recently
 * encoded frames are kept in a small cache (LP_VIDEO_READER_CACHE entries),
 * so a repeated request costs no decode. */
#define LP_VIDEO_READER_CACHE 8
int lp_video_reader_encode(lp_video_reader *r, int64_t n, lp_media_format fmt, int quality, lp_media_blob *out,
                           lp_error *err);

/* Counters, for tests and logs. */
typedef struct lp_video_reader_stats {
    int64_t seeks;          /* seeks to a keyframe */
    int64_t rewinds;        /* reopenings to decode from the start */
    int64_t frames_decoded; /* frames that came out of the decoder */
    int64_t cache_hits;     /* lp_video_reader_encode answers from the cache */
} lp_video_reader_stats;

void lp_video_reader_get_stats(const lp_video_reader *r, lp_video_reader_stats *out);

#endif
