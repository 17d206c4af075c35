/* Video ingest: one pass over a video that makes everything served from it.
 *
 * The source is demuxed and decoded once. Every decoded frame (one per
 * timestamp, in presentation order, as the frame index counts them) goes
 * to the mezzanine (video_mezzanine.h) and to each playback rendition;
 * the audio stream is copied into the mezzanine when its container takes
 * the codec (else the AAC below), and decoded once for the HLS audio track
 * (AAC) and the timeline's peaks (audio_peaks.h).
 *
 * Playback renditions are HLS with fMP4: per quality, one fragmented MP4
 * (an init section, then one moof+mdat fragment per segment) and a media
 * playlist addressing the segments by byte range; audio is one more such
 * track shared by the qualities. Qualities are "1080p" and "360p": the
 * video fitted so its shorter side is at most 1080 (resp. 360) pixels,
 * never enlarged ("1080p" is made only when the source's shorter side is
 * over 360). H.264 High, closed GOPs of exactly segment_frames frames and
 * no B-frames: segment k holds frames k × segment_frames ..
 * (k + 1) × segment_frames − 1, and starts with an IDR frame. Frames keep
 * their source timestamps (variable frame rates stay exact) and are turned
 * upright (the display matrix's rotation applied to the pixels).
 *
 * Memory stays flat: frames stream through the encoders, fragments and
 * peaks are written as they are cut; only one small record per segment is
 * kept (for the playlists). Disk: the outputs alone. Renditions need
 * libx264; without it only the mezzanine and the peaks are made. */
#ifndef LOUPE_MEDIA_VIDEO_INGEST_H
#define LOUPE_MEDIA_VIDEO_INGEST_H

#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/media/media.h"
#include "loupe/media/video_mezzanine.h"

/* Target length of a playback segment; segment_frames is this many seconds
 * of the average frame rate, within 1..LP_VIDEO_SEGMENT_MAX_FRAMES. */
#define LP_VIDEO_SEGMENT_SECONDS 2
#define LP_VIDEO_SEGMENT_MAX_FRAMES 300
#define LP_VIDEO_RENDITIONS_MAX 2

typedef struct lp_video_ingest_opts {
    int renditions; /* 0: none; 1: 360p only; 2: 1080p and 360p */
    int peaks;      /* 1: audio peaks (when there is decodable audio) */
} lp_video_ingest_opts;

/* One HLS track: the fragmented MP4 and its media playlist (out_dir/hls-<name>.mp4, .m3u8). */
typedef struct lp_video_track {
    char name[16];                     /* "1080p", "360p", "audio" */
    char media[LP_MEDIA_PATH_MAX];
    char playlist[LP_MEDIA_PATH_MAX];
    int width, height;                 /* upright; 0 for audio */
    char codecs[32];                   /* RFC 6381: "avc1.640028", "mp4a.40.2" */
    int64_t bandwidth;                 /* peak bits/s over segments */
    int64_t average_bandwidth;         /* bits/s over the whole track */
    int64_t segments;
    int64_t bytes;
} lp_video_track;

typedef struct lp_video_ingest_result {
    lp_video_mezzanine_result mezzanine;
    char mezzanine_audio[16];          /* "copy", "aac" or "" (no audio kept) */
    int64_t frames;
    int segment_frames;
    int64_t segments;
    int renditions;                    /* tracks used in rendition[] */
    lp_video_track rendition[LP_VIDEO_RENDITIONS_MAX];
    int has_audio_track;
    lp_video_track audio;
    char peaks[LP_MEDIA_PATH_MAX];     /* "" when no peaks were made */
    int64_t peak_buckets;
} lp_video_ingest_result;

/* Frames per segment for a video of average rate num/den (0/0 unknown). */
int lp_video_segment_frames(int rate_num, int rate_den);

/* Ingests path (borrowed; checked as lp_video_probe does) into out_dir
 * (an existing directory) as opts (NULL: everything) says. */
int lp_video_ingest(const char *path, const char *out_dir, const lp_media_limits *limits,
                    const lp_video_ingest_opts *opts, lp_video_ingest_result *res, lp_error *err);

#endif
