/* The decoding half of media.normalize, run inside a sandbox child
 * (sandbox.h): the original at src becomes derived files in out_dir, and one
 * JSON document describing them is written to the child's output:
 *
 *   {"ok": true, "width": w, "height": h, "rotation": 0|90|180|270,
 *    "format": "jpeg"|"png"|…|"mp4"|…, "frame_count": n, "fps": x,   (video only)
 *    "media": {…what was found: codec, duration_ms, orientation, colour…},
 *    "files": {"thumbnail": {"file": "thumbnail.jpg", "variant": "thumb-256.jpg",
 *                            "content_type": "image/jpeg"}, …},
 *    "sprite_layout": {…}}                                            (video only)
 *   {"ok": false, "code": "invalid", "message": "…", "detail": "…"}
 *
 * files names: thumbnail, preview, pyramid (large images); index, sprite,
 * and for long-GOP videos mezzanine + frames_index (the mezzanine's own
 * index, since its time base differs from the source's). */
#ifndef LOUPE_JOBS_MEDIA_TRANSFORM_H
#define LOUPE_JOBS_MEDIA_TRANSFORM_H

#include "loupe/media/media.h"

typedef struct lp_media_transform_args {
    const char *src;        /* local path of the original */
    const char *out_dir;    /* existing, empty directory */
    const char *type;       /* slot type: "image" or "video" */
    lp_media_limits limits;
} lp_media_transform_args;

/* lp_sandbox_fn: arg is an lp_media_transform_args. Exit status 0 when a
 * document was written (whether ok or not), 1 when even that failed. */
int lp_media_transform_child(void *arg, int out_fd);

#endif
