/* Poster image and scrubber thumbnails of a video, made with a reader. */
#ifndef LOUPE_MEDIA_VIDEO_THUMBS_H
#define LOUPE_MEDIA_VIDEO_THUMBS_H

#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/media/media.h"
#include "loupe/media/video_reader.h"

/* Frame used as poster: the one at 10% of the frames (frame 0 for videos of
 * fewer than 10 frames). */
int64_t lp_video_poster_frame(const lp_video_index *ix);

/* Writes the poster frame, scaled so its longest side is at most max_side
 * (never enlarged), as fmt to out_path (replaced). *frame_out (may be NULL)
 * receives the frame number used. */
int lp_video_poster(lp_video_reader *r, int max_side, lp_media_format fmt, const char *out_path, int64_t *frame_out,
                    lp_error *err);

/* Limits of a sprite sheet. */
#define LP_VIDEO_SPRITE_MAX_TILES 1000
#define LP_VIDEO_SPRITE_MAX_COLUMNS 100

/* Layout of a sprite sheet: tile i (row-major) is at x = (i % columns) ×
 * tile_width, y = (i / columns) × tile_height and shows frame frames[i]
 * (at times_ms[i]). Arrays owned by the struct: lp_video_sprite_free. */
typedef struct lp_video_sprite {
    int tile_width, tile_height;
    int columns, rows;
    int64_t count;
    int64_t interval_ms;
    int64_t *frames;
    int64_t *times_ms;
} lp_video_sprite;

/* One thumbnail every interval_ms (> 0), each fitting tile_side × tile_side
 * (16..1024; all tiles share the size of the first frame's thumbnail), at
 * most max_tiles (1..LP_VIDEO_SPRITE_MAX_TILES; the interval is widened to
 * fit), laid out in columns (1..LP_VIDEO_SPRITE_MAX_COLUMNS) and written as
 * fmt to out_path. Fills layout (new). */
int lp_video_sprite_make(lp_video_reader *r, int64_t interval_ms, int tile_side, int columns, int max_tiles,
                         lp_media_format fmt, const char *out_path, lp_video_sprite *layout, lp_error *err);

void lp_video_sprite_free(lp_video_sprite *s);

/* A window of consecutive frames in one image: frames from .. from+count-1,
 * each scaled to exactly tile_width × tile_height, laid out row-major in
 * columns (frame from+i at x = (i % columns) × tile_width, y = (i / columns)
 * × tile_height). Decoding goes forward from one seek (video_reader.h). */
typedef struct lp_video_window {
    int64_t from;
    int count;                    /* 1..LP_VIDEO_SPRITE_MAX_TILES */
    int tile_width, tile_height;  /* 1..16384 each */
    int columns;                  /* 1..LP_VIDEO_SPRITE_MAX_COLUMNS */
} lp_video_window;

/* Encodes window w (borrowed) of r as fmt at quality (1..100) into out
 * (new; lp_media_blob_free). LP_E_INVALID naming the field for a bad
 * layout; LP_E_NOT_FOUND for frames outside the video. */
int lp_video_window_encode(lp_video_reader *r, const lp_video_window *w, lp_media_format fmt, int quality,
                           lp_media_blob *out, lp_error *err);

#endif
