/* Mezzanine: a copy of a video re-encoded so that any frame can be
 * decoded quickly.
 *
 * Random access costs up to one GOP of decoding. Cameras and screen
 * recorders often write GOPs of several seconds (or one keyframe per file).
 * The worker's decoder makes a mezzanine of every video and frames are
 * served from it only, so no original ever reaches the decoders that cut
 * frames (lp_video_needs_mezzanine tells whether the source itself has
 * GOPs longer than LP_VIDEO_MEZZANINE_THRESHOLD frames). The mezzanine is
 * H.264 (libx264) in fragmented MP4 (one fragment per GOP, written as it is
 * cut, so memory stays flat however long the video) with closed GOPs of
 * LP_VIDEO_MEZZANINE_GOP frames and no B-frames; where FFmpeg lacks libx264
 * it is intra-only Motion JPEG in Matroska. Every decoded frame is encoded
 * once, in order, with its original timestamp, so frame n of the mezzanine is
 * frame n of the source; the rotation is carried over as metadata. The
 * audio stream is kept: copied when the container takes its codec, else
 * re-encoded as AAC (video_ingest.h makes the mezzanine in its one pass). */
#ifndef LOUPE_MEDIA_VIDEO_MEZZANINE_H
#define LOUPE_MEDIA_VIDEO_MEZZANINE_H

#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/media/media.h"
#include "loupe/media/video_index.h"

#define LP_VIDEO_MEZZANINE_GOP 12
#define LP_VIDEO_MEZZANINE_THRESHOLD 48

/* 1 if ix's longest GOP exceeds max_gop frames. */
int lp_video_needs_mezzanine(const lp_video_index *ix, int64_t max_gop);

typedef struct lp_video_mezzanine_result {
    char path[LP_MEDIA_PATH_MAX]; /* out_dir/mezzanine.mp4 or .mkv */
    char codec[16];               /* "h264" or "mjpeg" */
    int64_t frames;               /* frames written */
    int gop;                      /* frames per GOP */
} lp_video_mezzanine_result;

/* Transcodes path (borrowed; checked against limits as lp_video_probe
 * does) into out_dir (an existing directory): lp_video_ingest without
 * renditions or peaks. */
int lp_video_mezzanine(const char *path, const char *out_dir, const lp_media_limits *limits,
                       lp_video_mezzanine_result *result, lp_error *err);

#endif
