/* The decoder pool and its requests. See loupe/jobs/decoder.h. */
#include "loupe/jobs/decoder.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decoder_process_int.h"
#include "loupe/core/tmpdir.h"
#include "loupe/core/util.h"

struct lp_decoder {
    char *work_dir;
    char *scratch_dir; /* NULL: none */
    lp_tmpdir *owned[2]; /* lp_decoder_own_dirs: removed by lp_decoder_free */
    int n;
    lp_decoder_process *procs[]; /* n of them */
};

/* ---- Finding the program ---------------------------------------------------- */

static int executable(const char *path)
{
    return access(path, X_OK) == 0;
}

int lp_decoder_find_program(const lp_config *cfg, char *out, size_t cap, lp_error *err)
{
    char self[PATH_MAX];
    ssize_t n;
    if (cfg && cfg->decoder_path && *cfg->decoder_path) {
        if (snprintf(out, cap, "%s", cfg->decoder_path) >= (int)cap)
            return lp_error_field(err, LP_E_INVALID, "decoder_path", "is too long");
        if (!executable(out))
            return lp_error_set(err, LP_E_UNAVAILABLE, "decoder_path %s is not an executable file", out);
        return 0;
    }
    if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) <= 0)
        return lp_error_set(err, LP_E_UNAVAILABLE, "cannot find the running executable to find %s next to it: %s",
                            LP_DECODER_PROGRAM, strerror(errno));
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    if (snprintf(out, cap, "%s/%s", self, LP_DECODER_PROGRAM) < (int)cap && executable(out))
        return 0;
    /* A build tree: src/<area>/<program> next to src/decoder/loupe-decoder. */
    if (snprintf(out, cap, "%s/../decoder/%s", self, LP_DECODER_PROGRAM) < (int)cap && executable(out))
        return 0;
    return lp_error_set(err, LP_E_UNAVAILABLE,
                        "%s was not found next to %s (nor in ../decoder/); install it there or set decoder_path",
                        LP_DECODER_PROGRAM, self);
}

/* ---- The pool ---------------------------------------------------------------- */

lp_decoder *lp_decoder_new(const lp_decoder_spec *spec, lp_error *err)
{
    int n = spec->processes > 0 ? spec->processes : 1;
    lp_decoder_spec abs_spec = *spec;
    lp_decoder *d = calloc(1, sizeof *d + (size_t)n * sizeof d->procs[0]);
    if (!d) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    /* Absolute: the decoders run in their work directory, so a relative
     * path in a request would name another file. */
    if (!(d->work_dir = realpath(spec->work_dir ? spec->work_dir : "", NULL))) {
        lp_error_set(err, LP_E_IO, "cannot find the decoder's work directory %s: %s",
                     spec->work_dir ? spec->work_dir : "(none)", strerror(errno));
        free(d);
        return NULL;
    }
    abs_spec.work_dir = d->work_dir;
    if (spec->scratch_dir && !(d->scratch_dir = realpath(spec->scratch_dir, NULL))) {
        lp_error_set(err, LP_E_IO, "cannot find the decoder's scratch directory %s: %s", spec->scratch_dir,
                     strerror(errno));
        free(d->work_dir);
        free(d);
        return NULL;
    }
    abs_spec.scratch_dir = d->scratch_dir;
    for (d->n = 0; d->n < n; d->n++) {
        if (!(d->procs[d->n] = lp_decoder_process_new(&abs_spec, err))) {
            lp_decoder_free(d);
            return NULL;
        }
    }
    return d;
}

lp_decoder *lp_decoder_new_from_config(const lp_config *cfg, const char *work_dir, const char *scratch_dir,
                                       int processes, lp_error *err)
{
    char program[PATH_MAX];
    if (lp_decoder_find_program(cfg, program, sizeof program, err) != 0)
        return NULL;
    lp_decoder_spec spec = {.program = program,
                            .work_dir = work_dir,
                            .scratch_dir = scratch_dir,
                            .processes = processes,
                            .memory_bytes = cfg->worker_memory_limit,
                            .max_requests = LP_DECODER_MAX_JOBS,
                            .max_rss_bytes = LP_DECODER_MAX_RSS};
    if (cfg->worker_memory_limit > 0 && cfg->worker_memory_limit / 2 < spec.max_rss_bytes)
        spec.max_rss_bytes = cfg->worker_memory_limit / 2;
    return lp_decoder_new(&spec, err);
}

void lp_decoder_own_dirs(lp_decoder *d, lp_tmpdir *work, lp_tmpdir *scratch)
{
    lp_tmpdir_free(d->owned[0]);
    lp_tmpdir_free(d->owned[1]);
    d->owned[0] = work;
    d->owned[1] = scratch;
}

const char *lp_decoder_work_dir(const lp_decoder *d)
{
    return d->work_dir;
}

const char *lp_decoder_scratch_dir(const lp_decoder *d)
{
    return d->scratch_dir ? d->scratch_dir : d->work_dir;
}

int lp_decoder_call(lp_decoder *d, uint64_t affinity, const void *req, size_t req_len, int64_t deadline_ms,
                    lp_decoder_result *out, lp_error *err)
{
    return lp_decoder_process_call(d->procs[affinity % (uint64_t)d->n], req, req_len, deadline_ms, out, err);
}

int lp_decoder_start(lp_decoder *d, lp_error *err)
{
    for (int i = 0; i < d->n; i++)
        if (lp_decoder_process_start(d->procs[i], err) != 0)
            return -1;
    return 0;
}

pid_t lp_decoder_pid(lp_decoder *d, int i)
{
    return i >= 0 && i < d->n ? lp_decoder_process_pid(d->procs[i]) : 0;
}

void lp_decoder_free(lp_decoder *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->n; i++)
        lp_decoder_process_free(d->procs[i]);
    lp_tmpdir_free(d->owned[0]);
    lp_tmpdir_free(d->owned[1]);
    free(d->work_dir);
    free(d->scratch_dir);
    free(d);
}

/* ---- Requests ------------------------------------------------------------------- */

static json_t *limits_json(const lp_media_limits *l)
{
    return json_pack("{s:I, s:I, s:i, s:i, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:i, s:I, s:I, s:i, s:I}", "image_max_pixels",
                     (json_int_t)l->image_max_pixels, "image_pyramid_pixels", (json_int_t)l->image_pyramid_pixels,
                     "thumbnail_size", l->thumbnail_size, "preview_size", l->preview_size, "video_max_duration_ms",
                     (json_int_t)l->video_max_duration_ms, "video_max_frames", (json_int_t)l->video_max_frames,
                     "video_max_pixels", (json_int_t)l->video_max_pixels, "video_max_side",
                     (json_int_t)l->video_max_side, "video_codecs", l->video_codecs, "volume_max_voxels",
                     (json_int_t)l->volume_max_voxels, "volume_max_side", (json_int_t)l->volume_max_side,
                     "volume_gzip_level", l->volume_gzip_level,
                     "dicom_max_files", (json_int_t)l->dicom_max_files, "dicom_max_bytes",
                     (json_int_t)l->dicom_max_bytes, "dicom_threads", l->dicom_threads, "dicom_max_series",
                     (json_int_t)l->dicom_max_series);
}

/* Sends req (stolen) with affinity. */
static int call_json(lp_decoder *d, uint64_t affinity, json_t *req, int64_t deadline_ms, lp_decoder_result *out,
                     lp_error *err)
{
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    int rc;
    json_decref(req);
    memset(out, 0, sizeof *out);
    if (!text)
        return lp_error_set(err, LP_E_INTERNAL,
                            "cannot describe the file to decode (out of memory, or a path that is not UTF-8)");
    rc = lp_decoder_call(d, affinity, text, strlen(text), deadline_ms, out, err);
    free(text);
    return rc;
}

/* FNV-1a of s: requests for one file go to one process. */
static uint64_t affinity_of(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int lp_decoder_transform(lp_decoder *d, const lp_decoder_transform_args *a, int64_t deadline_ms,
                         lp_decoder_result *out, lp_error *err)
{
    json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s*, s:O*}", "op", "transform", "src", a->src, "out_dir",
                            a->out_dir, "type", a->type, "limits", limits_json(&a->limits), "key", a->key, "hints",
                            a->hints);
    return call_json(d, affinity_of(a->src), req, deadline_ms, out, err);
}

/* An image reply into blob, or the decoder's error. */
static int image_reply(lp_decoder_result *r, const char *what, lp_media_blob *blob, lp_error *err)
{
    int rc = -1;
    if (r->end == LP_DECODER_REPLIED && r->status == LP_DECODER_OK) {
        /* glib allocates with malloc, so lp_media_blob_free (g_free) may free it */
        blob->data = (void *)r->output;
        blob->len = r->output_len;
        r->output = NULL;
        rc = 0;
    } else if (r->end == LP_DECODER_REPLIED) {
        json_error_t jerr;
        json_t *doc = json_loadb(r->output, r->output_len, 0, &jerr);
        const char *code = json_string_value(json_object_get(doc, "code"));
        const char *msg = json_string_value(json_object_get(doc, "message"));
        lp_code c = lp_code_from_name(code);
        lp_error_set(err, c, "%s", msg ? msg : "the decoder failed without a message");
        json_decref(doc);
    } else if (r->end == LP_DECODER_TIMED_OUT) {
        lp_error_set(err, LP_E_UNAVAILABLE, "decoding %s took too long; try again", what);
    } else {
        lp_error_set(err, LP_E_UNAVAILABLE, "the decoder stopped while decoding %s (%s %d); try again", what,
                     r->end == LP_DECODER_SIGNALED ? "signal" : "exit status", r->status);
    }
    lp_decoder_result_free(r);
    return rc;
}

int lp_decoder_frame(lp_decoder *d, const char *file, const char *index, int64_t n, lp_media_format fmt,
                     int quality, const lp_media_limits *limits, int64_t deadline_ms, lp_media_blob *out,
                     lp_error *err)
{
    lp_decoder_result r;
    json_t *req = json_pack("{s:s, s:s, s:s, s:I, s:s, s:i, s:o}", "op", "frame", "file", file, "index", index, "n",
                            (json_int_t)n, "format", lp_media_format_name(fmt), "quality", quality, "limits",
                            limits_json(limits));
    if (call_json(d, affinity_of(file), req, deadline_ms, &r, err) != 0)
        return -1;
    return image_reply(&r, "a frame", out, err);
}

int lp_decoder_window(lp_decoder *d, const char *file, const char *index, const lp_video_window *w, int quality,
                      const lp_media_limits *limits, int64_t deadline_ms, lp_media_blob *out, lp_error *err)
{
    lp_decoder_result r;
    json_t *req = json_pack("{s:s, s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:o}", "op", "window", "file", file,
                            "index", index, "from", (json_int_t)w->from, "count", w->count, "width", w->tile_width,
                            "height", w->tile_height, "columns", w->columns, "quality", quality, "limits",
                            limits_json(limits));
    /* the same process as single frames of the file: it holds the open reader */
    if (call_json(d, affinity_of(file), req, deadline_ms, &r, err) != 0)
        return -1;
    return image_reply(&r, "a window of frames", out, err);
}

int lp_decoder_tile(lp_decoder *d, const char *file, int level, int64_t col, int64_t row, lp_media_format fmt,
                    int64_t deadline_ms, lp_media_blob *out, lp_error *err)
{
    lp_decoder_result r;
    json_t *req = json_pack("{s:s, s:s, s:i, s:I, s:I, s:s}", "op", "tile", "file", file, "level", level, "col",
                            (json_int_t)col, "row", (json_int_t)row, "format", lp_media_format_name(fmt));
    /* tiles of one pyramid spread over the pool: each cut is independent */
    if (call_json(d, affinity_of(file) + (uint64_t)(col * 31 + row), req, deadline_ms, &r, err) != 0)
        return -1;
    return image_reply(&r, "a tile", out, err);
}

int lp_decoder_pixels(lp_decoder *d, const char *file, int max_side, const lp_image_fit *fit,
                      const lp_media_limits *limits, int64_t deadline_ms, lp_media_blob *out, lp_error *err)
{
    lp_decoder_result r;
    json_t *req = json_pack("{s:s, s:s, s:i, s:o, s:o*}", "op", "pixels", "file", file, "max_side", max_side, "limits",
                            limits_json(limits), "fit",
                            fit ? json_pack("{s:i, s:i, s:s}", "width", fit->width, "height", fit->height, "mode",
                                            fit->cover ? "cover" : "contain")
                                : NULL);
    if (call_json(d, affinity_of(file), req, deadline_ms, &r, err) != 0)
        return -1;
    return image_reply(&r, "an image", out, err);
}

int lp_decoder_slice(lp_decoder *d, const char *file, const char *plane, int64_t index, double center, double width,
                     lp_media_format fmt, int quality, const lp_media_limits *limits, int64_t deadline_ms,
                     lp_media_blob *out, lp_error *err)
{
    lp_decoder_result r;
    json_t *req = json_pack("{s:s, s:s, s:s, s:I, s:f, s:f, s:s, s:i, s:o}", "op", "slice", "file", file, "plane",
                            plane, "index", (json_int_t)index, "center", center, "width", width, "format",
                            lp_media_format_name(fmt), "quality", quality, "limits", limits_json(limits));
    /* one volume, one process: it holds the volume open */
    if (call_json(d, affinity_of(file), req, deadline_ms, &r, err) != 0)
        return -1;
    return image_reply(&r, "a slice", out, err);
}
