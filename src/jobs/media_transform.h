/* The decoding half of media.normalize: the worker's decoder, a sandbox
 * (sandbox.h) that starts libvips once and then serves one transform after
 * another; the original at src becomes derived files in out_dir, and one
 * JSON document describing them is the reply:
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
 * index, since its time base differs from the source's).
 *
 * A request is {"src", "out_dir", "type", "limits": {…lp_media_limits…}}.
 * The decoder's status is 0 when a document was written (whether ok or
 * not), 1 when even that failed. */
#ifndef LOUPE_JOBS_MEDIA_TRANSFORM_H
#define LOUPE_JOBS_MEDIA_TRANSFORM_H

#include "loupe/core/config.h"
#include "loupe/media/media.h"
#include "sandbox.h"

#define LP_MEDIA_DECODER_MAX_JOBS 200
#define LP_MEDIA_DECODER_MAX_RSS (1024LL * 1024 * 1024)

typedef struct lp_media_transform_args {
    const char *src;        /* local path of the original */
    const char *out_dir;    /* existing, empty directory */
    const char *type;       /* slot type: "image" or "video" */
    lp_media_limits limits;
} lp_media_transform_args;

/* A decoder running under cfg's limits (borrowed; read now):
 * RLIMIT_AS = worker_memory_limit, replaced after
 * LP_MEDIA_DECODER_MAX_JOBS transforms or once its resident set passes
 * LP_MEDIA_DECODER_MAX_RSS (or half of worker_memory_limit, if less). Its
 * process starts with the first transform. NULL with err set when it cannot
 * be prepared. Free with lp_sandbox_free. */
lp_sandbox *lp_media_decoder_new(const lp_config *cfg, lp_error *err);

/* Has decoder transform a, waiting until deadline_ms (lp_now_mono_ms()
 * time). 0 when the transform ran, however it ended: out says how (a reply
 * is the JSON document above; free out with lp_sandbox_result_free); -1 with
 * err set when it could not be run (see lp_sandbox_call). */
int lp_media_transform_call(lp_sandbox *decoder, const lp_media_transform_args *a, int64_t deadline_ms,
                            lp_sandbox_result *out, lp_error *err);

#endif
