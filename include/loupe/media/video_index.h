/* Frame index of a video: every frame's presentation timestamp and whether
 * it is a keyframe, read from packets only (nothing is decoded).
 *
 * Frame number n is the index into the timestamps sorted in presentation
 * order, so variable frame rates and B-frames need no special case. Two
 * packets with the same timestamp count as one frame.
 *
 * File format (all integers little-endian), version 1:
 *   offset 0  8 bytes  magic "LPVIDX\r\n"
 *   offset 8  u16      version (1)
 *   offset 10 u16      header size in bytes (48)
 *   offset 12 u32      flags (bit 0: variable frame rate)
 *   offset 16 i32      time base numerator (> 0)
 *   offset 20 i32      time base denominator (> 0)
 *   offset 24 i32      stream index (>= 0)
 *   offset 28 u32      CRC-32 (IEEE) of the frame records
 *   offset 32 i64      frame count (>= 1)
 *   offset 40 i64      reserved (0)
 *   then count records of 9 bytes: i64 pts, u8 flags (bit 0: keyframe; other
 *   bits 0). Timestamps strictly increase; at least one frame is a keyframe;
 *   the file ends after the last record. */
#ifndef LOUPE_MEDIA_VIDEO_INDEX_H
#define LOUPE_MEDIA_VIDEO_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/media/media.h"

#define LP_VIDEO_INDEX_VERSION 1
#define LP_VIDEO_INDEX_HEADER_SIZE 48
#define LP_VIDEO_INDEX_RECORD_SIZE 9

#define LP_VIDEO_INDEX_VFR 0x1u   /* index flag: frame durations vary */
#define LP_VIDEO_FRAME_KEY 0x1u   /* frame flag: keyframe (decoding can start here) */

typedef struct lp_video_index {
    int32_t time_base_num, time_base_den;
    int32_t stream_index;
    uint32_t flags;
    int64_t count;         /* frames */
    int64_t *pts;          /* count timestamps, strictly increasing (owned) */
    uint8_t *frame_flags;  /* count flags (owned) */
    int64_t keyframes;
    int64_t max_gop;       /* most frames from one keyframe up to the next, in presentation order */
} lp_video_index;

/* Reads every packet of the video stream of path (borrowed; opened as in
 * lp_video_probe) and returns a new index in *out (free with
 * lp_video_index_free). Fails with LP_E_TOO_LARGE past video_max_frames,
 * LP_E_INVALID if the stream has no frames, no keyframe or no timestamps. */
int lp_video_index_build(const char *path, const lp_media_limits *limits, lp_video_index **out, lp_error *err);

/* Writes ix (borrowed) to path in the format above, replacing it
 * atomically (temporary file + rename). */
int lp_video_index_save(const lp_video_index *ix, const char *path, lp_error *err);

/* Parses and validates an index of len bytes (borrowed). max_frames bounds
 * the count accepted (video_max_frames). New index in *out. Errors are
 * LP_E_INVALID and name the field at fault ("index.pts[12]"). */
int lp_video_index_parse(const void *data, size_t len, int64_t max_frames, lp_video_index **out, lp_error *err);

/* Reads path and parses it as above. LP_E_IO if it cannot be read. */
int lp_video_index_load(const char *path, int64_t max_frames, lp_video_index **out, lp_error *err);

void lp_video_index_free(lp_video_index *ix);

/* Frame number of the last keyframe at or before frame n, or -1 if none
 * (an open GOP's leading frames). n must be in [0, count). */
int64_t lp_video_index_keyframe_before(const lp_video_index *ix, int64_t n);

/* Milliseconds of frame n relative to frame 0. */
int64_t lp_video_index_time_ms(const lp_video_index *ix, int64_t n);

/* First frame shown at or after ms (relative to frame 0); the last frame
 * if ms is past the end, frame 0 if ms is negative. */
int64_t lp_video_index_frame_at_ms(const lp_video_index *ix, int64_t ms);

#endif
