/* Frame manifest: for every frame its timestamp, its playback segment and
 * whether the source has a keyframe there, compacted as arithmetic runs.
 *
 * A run [first, step, count] stands for the count values first,
 * first + step, …, first + (count − 1) × step. The JSON document:
 *
 *   {"version": 1, "frame_count": n, "time_base": [num, den],
 *    "variable_frame_rate": bool, "mezzanine_gop": g,
 *    "segment_frames": s, "segment_count": k,
 *    "pts": [[first, step, count], …],        the timestamps of frames 0, 1, …
 *                                              in time_base, runs in frame order
 *    "keyframes": [[first, step, count], …],  frame numbers of the source's keyframes
 *    "segments": [[first, step, count], …]}   first frame of playback segment 0, 1, …
 *
 * A constant-rate video has one pts run; frame f belongs to the last
 * segment whose first frame is at most f (with fixed-size segments,
 * f / segment_frames). Written as it is computed (memory stays flat). */
#ifndef LOUPE_MEDIA_VIDEO_MANIFEST_H
#define LOUPE_MEDIA_VIDEO_MANIFEST_H

#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/media/video_index.h"

#define LP_VIDEO_MANIFEST_VERSION 1

/* Greedy run-length coding of an integer sequence: push values in order,
 * then finish; emit is called once per run, in order. */
typedef struct lp_video_runs {
    int64_t first, step, count;
    void (*emit)(void *ud, int64_t first, int64_t step, int64_t count);
    void *ud;
} lp_video_runs;

void lp_video_runs_push(lp_video_runs *r, int64_t v);
void lp_video_runs_finish(lp_video_runs *r);

typedef struct lp_video_manifest_layout {
    int mezzanine_gop;
    int segment_frames;  /* frames per playback segment (> 0) */
    int64_t segments;    /* playback segments made (0: none) */
} lp_video_manifest_layout;

/* Writes the manifest of ix (borrowed) and layout to path (replaced). */
int lp_video_manifest_write(const lp_video_index *ix, const lp_video_manifest_layout *layout, const char *path,
                            lp_error *err);

#endif
