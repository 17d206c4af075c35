/* The decoder: where untrusted media is decoded, for the worker
 * (media.normalize) and for louped (frames and tiles on demand).
 *
 * An lp_decoder is a pool of loupe-decoder processes (src/decoder/), each
 * started with exec, an empty environment and no configuration, and
 * confined by itself before its first request: no new privileges, a seccomp
 * allow-list (no socket, no exec, threads but no processes) and Landlock
 * (files only beneath the pool's work directory, which the caller names and
 * puts every input under). The pool starts each process with RLIMIT_AS
 * (memory_bytes), no core files and death with its parent; it kills a
 * request's process at the request's deadline, replaces a process that
 * crashed, timed out, served max_requests or grew past max_rss_bytes, and
 * never lets a process's failure become its caller's
 * (decoder_process_int.h has the mechanics).
 *
 * Requests are JSON (at most LP_DECODER_REQUEST_MAX bytes); a reply is
 * bytes (at most LP_DECODER_REPLY_MAX) and a status:
 *
 *   {"op": "transform", "src", "out_dir", "type", "limits": {…}}
 *       LP_DECODER_OK with the JSON document below
 *   {"op": "frame", "file", "index", "n", "format", "quality", "limits"}
 *       LP_DECODER_OK with the encoded frame n of the worker-written
 *       frame source file (its frame index in index)
 *   {"op": "window", "file", "index", "from", "count", "width", "height",
 *    "columns", "quality", "limits"}
 *       LP_DECODER_OK with frames from .. from+count-1 of that file in one
 *       JPEG, each width × height, row-major in columns (one seek, then
 *       decoding forward; loupe/media/video_thumbs.h)
 *   {"op": "tile", "file", "level", "col", "row", "format"}
 *       LP_DECODER_OK with one DeepZoom tile of the pyramidal TIFF file
 *   {"op": "pixels", "file", "max_side", "limits", "fit"?: {"width",
 *    "height", "mode": "contain" | "cover"}}
 *       LP_DECODER_OK with the image's pixels as a binary PPM, upright
 *       8-bit sRGB, longest side at most max_side and no more than the
 *       fit box needs (models run on them; lp_image_fit_side)
 *   {"op": "slice", "file", "plane", "index", "center", "width", "format",
 *    "quality", "limits"}
 *       LP_DECODER_OK with slice index of plane (axial, coronal, sagittal)
 *       of the worker-written normalized volume file, windowed at center
 *       and width (loupe/volume/slice.h)
 *   any failure: LP_DECODER_FAILED with {"code", "message", "detail"}
 *
 * The transform document:
 *   {"ok": true, "width": w, "height": h, "rotation": 0|90|180|270,
 *    "format": "jpeg"|"png"|…|"mp4"|…, "frame_count": n, "fps": x,   (video only)
 *    "media": {…what was found: codec, duration_ms, orientation, colour…},
 *    "files": {"thumbnail": {"file": "thumbnail.jpg", "variant": "thumb-256.jpg",
 *                            "content_type": "image/jpeg"}, …},
 *    "sprite_layout": {…}}                                            (video only)
 *   {"ok": false, "code": "invalid", "message": "…", "detail": "…"}
 * files names: thumbnail, preview, pyramid (large images); for videos
 * index, sprite, mezzanine (the frame source: always written by the
 * decoder, whatever the original's GOP) and frames_index (its index); for
 * volumes (type "volume": a NIfTI file) volume (the normalized RAS+ volume,
 * .nii.gz), thumbnail and preview, with "media" holding the slot metadata of
 * loupe/volume/meta.h and frame_count the number of axial slices.
 *
 * A DICOM upload of a volume slot takes one more step first, type "dicom"
 * with "key": src is one DICOM file or a zip of a series; every file is
 * checked and written de-identified into out_dir as slice-NNNNNN.dcm,
 * numbered along the slice normal (loupe/volume/dicom.h), and the document
 * is {"ok": true, "files": n, "skipped": k, "modality", "windows": [{"name",
 * "center", "width"}…]} (or the error document). Once dcm2niix has made a
 * NIfTI file of them (loupe/jobs/dcm2niix.h), the "volume" transform gets
 * that document back as "hints": its modality and windows go into the
 * metadata.
 *
 * DESIGN (threads): every function is thread-safe. A pool of n processes
 * serves n requests at once; a request goes to the process its affinity
 * picks (affinity % n), so requests for one file keep finding that file's
 * open reader. */
#ifndef LOUPE_JOBS_DECODER_H
#define LOUPE_JOBS_DECODER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/media/image.h"
#include "loupe/media/media.h"
#include "loupe/media/video_thumbs.h"

#define LP_DECODER_REQUEST_MAX (64 * 1024)
#define LP_DECODER_REPLY_MAX (64 * 1024 * 1024)
#define LP_DECODER_MAX_JOBS 200
#define LP_DECODER_MAX_RSS (1024LL * 1024 * 1024)
#define LP_DECODER_PROGRAM "loupe-decoder"

/* 1 in AddressSanitizer builds (tests only), else 0: there decoders run
 * without RLIMIT_AS and with the sanitizer options built into loupe-decoder
 * (docs/MEDIA_PIPELINE.md, Sandboxing). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LP_DECODER_ASAN 1
#endif
#endif
#if !defined(LP_DECODER_ASAN) && defined(__SANITIZE_ADDRESS__)
#define LP_DECODER_ASAN 1
#endif
#ifndef LP_DECODER_ASAN
#define LP_DECODER_ASAN 0
#endif

/* Reply statuses. */
#define LP_DECODER_OK 0
#define LP_DECODER_FAILED 1

typedef struct lp_decoder_spec {
    const char *program;   /* path of the loupe-decoder executable (copied) */
    const char *work_dir;  /* existing directory; its processes run in it and may use it (copied) */
    const char *scratch_dir; /* NULL, or an existing directory its processes may use too: a memory-backed
                              * one for the intermediate files of a job (copied) */
    int processes;         /* pool size, >= 1 */
    int64_t memory_bytes;  /* RLIMIT_AS of each process; 0 = none */
    int max_requests;      /* a process serves at most this many, then is replaced; 0 = no limit */
    int64_t max_rss_bytes; /* replaced once its resident set passes this after a reply; 0 = no limit */
} lp_decoder_spec;

typedef enum lp_decoder_end {
    LP_DECODER_REPLIED = 0, /* the process answered: status is LP_DECODER_OK/FAILED, output its reply */
    LP_DECODER_EXITED,      /* the process exited mid-request: status is its exit status */
    LP_DECODER_SIGNALED,    /* killed mid-request by signal number status (not by us) */
    LP_DECODER_TIMED_OUT    /* the deadline passed; we killed it */
} lp_decoder_end;

typedef struct lp_decoder_result {
    lp_decoder_end end;
    int status;       /* see lp_decoder_end */
    char *output;     /* the reply (malloc'ed, NUL-terminated; free with lp_decoder_result_free) */
    size_t output_len;
    pid_t pid;        /* the process that handled the request */
    int64_t elapsed_ms;
} lp_decoder_result;

typedef struct lp_decoder lp_decoder;

/* The loupe-decoder to run: cfg->decoder_path when set, else the one next
 * to the running executable, else (in a build tree) the one in
 * ../decoder/ beside its directory. Into out (cap bytes): 0, or -1 with err
 * (LP_E_UNAVAILABLE) naming where it looked. */
int lp_decoder_find_program(const lp_config *cfg, char *out, size_t cap, lp_error *err);

/* A pool for spec (copied). Its processes start with their first request.
 * NULL with err set when it cannot be prepared. */
lp_decoder *lp_decoder_new(const lp_decoder_spec *spec, lp_error *err);

/* A pool under cfg's limits (borrowed; read now): the program of
 * lp_decoder_find_program, RLIMIT_AS = worker_memory_limit, replaced after
 * LP_DECODER_MAX_JOBS requests or once its resident set passes
 * LP_DECODER_MAX_RSS (or half of worker_memory_limit, if less). */
lp_decoder *lp_decoder_new_from_config(const lp_config *cfg, const char *work_dir, const char *scratch_dir,
                                       int processes, lp_error *err);

/* d takes work and scratch (stolen; either may be NULL), the directories
 * it was made with: lp_decoder_free removes them, whatever jobs left in
 * them, once its processes have stopped. */
struct lp_tmpdir;
void lp_decoder_own_dirs(lp_decoder *d, struct lp_tmpdir *work, struct lp_tmpdir *scratch);

/* The pool's work directory as an absolute path (borrowed): build the paths
 * of requests from it, since its processes run in it. */
const char *lp_decoder_work_dir(const lp_decoder *d);

/* The pool's scratch directory as an absolute path (borrowed), or its work
 * directory when the pool has none. */
const char *lp_decoder_scratch_dir(const lp_decoder *d);

/* Starts every process of the pool that is not running yet, without
 * waiting for it to be ready: it starts up (exec, libraries, confinement)
 * while the caller goes on, so that the first request does not wait for
 * that. 0, or -1 with err when one could not be started (the next request
 * tries again). */
int lp_decoder_start(lp_decoder *d, lp_error *err);

/* Sends req (req_len bytes, borrowed) to the process affinity picks and
 * waits for the reply until deadline_ms (lp_now_mono_ms() time). 0 when the
 * request ran, however it ended (see out; free with lp_decoder_result_free),
 * or -1 with err set when it could not be run: too long, no process could
 * be started, or the process broke the wire format (it is killed then). */
int lp_decoder_call(lp_decoder *d, uint64_t affinity, const void *req, size_t req_len, int64_t deadline_ms,
                    lp_decoder_result *out, lp_error *err);

typedef struct lp_decoder_transform_args {
    const char *src;        /* the original, under the work directory */
    const char *out_dir;    /* existing, empty directory under the work directory */
    const char *type;       /* slot type: "image", "video" or "volume"; "dicom" for a volume slot's DICOM step */
    lp_media_limits limits;
    const char *key;        /* "dicom" only: the de-identification key, 64 hex digits */
    struct json_t *hints;   /* "volume" only, may be NULL (borrowed): what the DICOM step found */
} lp_decoder_transform_args;

/* Has the pool transform a (see lp_decoder_call for the result). */
int lp_decoder_transform(lp_decoder *d, const lp_decoder_transform_args *a, int64_t deadline_ms,
                         lp_decoder_result *out, lp_error *err);

/* Frame n of the frame source file (with its index file; both under the
 * work directory) as fmt at quality, into out (new; free with
 * lp_media_blob_free). 0, or -1 with err: the decoder's own error (e.g.
 * LP_E_NOT_FOUND), LP_E_UNAVAILABLE when its process crashed or passed
 * deadline_ms. */
int lp_decoder_frame(lp_decoder *d, const char *file, const char *index, int64_t n, lp_media_format fmt,
                     int quality, const lp_media_limits *limits, int64_t deadline_ms, lp_media_blob *out,
                     lp_error *err);

/* The window w (borrowed) of the frame source file (with its index) as
 * one JPEG at quality, as lp_decoder_frame. */
int lp_decoder_window(lp_decoder *d, const char *file, const char *index, const lp_video_window *w, int quality,
                      const lp_media_limits *limits, int64_t deadline_ms, lp_media_blob *out, lp_error *err);

/* One DeepZoom tile of the pyramidal TIFF file (under the work directory),
 * as lp_decoder_frame. */
int lp_decoder_tile(lp_decoder *d, const char *file, int level, int64_t col, int64_t row, lp_media_format fmt,
                    int64_t deadline_ms, lp_media_blob *out, lp_error *err);

/* The pixels of the image file (under the work directory) as a binary PPM
 * (loupe/media/image.h, lp_image_pixels): upright 8-bit sRGB, longest side
 * at most max_side (0: as it is) and no larger than fit (NULL: none; a
 * model's input box) needs; as lp_decoder_frame. */
int lp_decoder_pixels(lp_decoder *d, const char *file, int max_side, const lp_image_fit *fit,
                      const lp_media_limits *limits, int64_t deadline_ms, lp_media_blob *out, lp_error *err);

/* Slice index of plane ("axial", "coronal", "sagittal") of the normalized
 * volume file (under the work directory), windowed at center/width, as fmt
 * at quality; as lp_decoder_frame. */
int lp_decoder_slice(lp_decoder *d, const char *file, const char *plane, int64_t index, double center, double width,
                     lp_media_format fmt, int quality, const lp_media_limits *limits, int64_t deadline_ms,
                     lp_media_blob *out, lp_error *err);

/* The pid of process i of the pool, 0 when none runs (tests). */
pid_t lp_decoder_pid(lp_decoder *d, int i);

/* Kills and reaps every process, frees d. NULL: no-op. */
void lp_decoder_free(lp_decoder *d);

void lp_decoder_result_free(lp_decoder_result *r);

#endif
