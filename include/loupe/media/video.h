/* Video probe: what a file holds, checked against the limits.
 *
 * Only local files are opened: a path that looks like a URL ("http://…",
 * "pipe:", "concat:…") is refused, FFmpeg may use only its `file` protocol,
 * and only the demuxers of common video and audio containers are allowed
 * (so a playlist disguised as a video cannot pull in other files).
 * See docs/MEDIA.md for the list. */
#ifndef LOUPE_MEDIA_VIDEO_H
#define LOUPE_MEDIA_VIDEO_H

#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/media/media.h"

typedef struct lp_video_info {
    char container[64];       /* demuxer, e.g. "mov,mp4,m4a,3gp,3g2,mj2" */
    char codec[32];           /* e.g. "h264" */
    char pixel_format[32];    /* e.g. "yuv420p" ("unknown" if the probe could not tell) */
    int stream_index;         /* the video stream used */
    int64_t width, height;    /* coded size */
    int64_t display_width, display_height; /* after rotation */
    int rotation;             /* clockwise degrees to display upright: 0, 90, 180, 270 */
    int64_t duration_ms;      /* -1 if unknown */
    int64_t frames_estimate;  /* from the container or duration × rate; -1 if unknown */
    int avg_rate_num, avg_rate_den;   /* average frame rate (0/0 unknown) */
    int real_rate_num, real_rate_den; /* FFmpeg's r_frame_rate: lowest rate that represents every timestamp */
    int variable_frame_rate;  /* heuristic: average and real rates differ (lp_video_index is exact) */
    int time_base_num, time_base_den; /* of the video stream */
    int has_audio;
} lp_video_info;

/* Opens path (borrowed), reads its headers and checks the video stream
 * against limits (video_max_pixels, video_max_duration, video_max_frames
 * where the container states a count). Errors: LP_E_INVALID for a URL, an
 * empty or unreadable container, or "has no video stream";
 * LP_E_MEDIA_TYPE for a container outside the allow-list;
 * LP_E_TOO_LARGE over a limit; LP_E_IO if the file cannot be opened. */
int lp_video_probe(const char *path, const lp_media_limits *limits, lp_video_info *info, lp_error *err);

#endif
