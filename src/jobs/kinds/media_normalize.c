/* media.normalize: turns a slot's uploaded original into what Loupe serves.
 *
 * payload {"item_id": uuid, "slot_id": uuid, "upload_id": uuid}
 * result  {"item_id", "slot_id", "upload_id", "status": "ready"|"error", "error"?, "skipped"?,
 *          "series"?: [{"rank", "item_id", "slot"|"item_name", "status", "error"?}]}
 *
 * A DICOM upload holding several series (grouped by Series Instance UID)
 * becomes one volume per series: the first fills the slot, each further one
 * a slot "<slot>-<rank>" of the item, or an item "<item>-<rank>" of its own
 * when the slot was created with dicom_series "items" (docs/VOLUMES.md). All
 * are recorded in one transaction, so a redelivery finds the slot finished
 * and adds nothing.
 *
 * Steps: read the slot (a newer upload, a deleted item or a slot already
 * finished for this upload: nothing to do) → fetch the original from storage
 * into a private temporary directory, hashing it → decode and derive in the
 * worker's decoder, a long-lived loupe-decoder process that confines itself
 * (loupe/jobs/decoder.h: worker_memory_limit, killed at the attempt's
 * deadline; its files only under the pool's work directory, where the
 * temporary directory of each job lives) → store every derived file under its
 * content-addressed key (derived/<sha256 of the original>/<variant>) → one
 * transaction fills the slot and marks it ready, or error with the reason.
 *
 * Anything wrong with the file itself (refused by a check, a decoder crash,
 * a timeout) ends the slot in error and the job in success: the job did its
 * work, and the item says why the file is unusable. Storage or database
 * trouble fails the attempt so it is retried; the last attempt also marks the
 * slot. Redelivery is harmless: derived keys depend only on the bytes of the
 * original and the recipe, and the final update applies only while the slot
 * still names this upload and is not finished. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../jobs_int.h"
#include "loupe/core/log.h"
#include "loupe/core/tmpdir.h"
#include "loupe/core/util.h"
#include "loupe/crypto/sha256.h"
#include "loupe/db/audit_sql.h"
#include "loupe/db/media_sql.h"
#include "loupe/crypto/encode.h"
#include "loupe/jobs/dcm2niix.h"
#include "loupe/jobs/decoder.h"
#include "loupe/storage/storage.h"
#include "loupe/volume/dicom.h"

static int uuid_member(const json_t *payload, const char *name, lp_error *err)
{
    const json_t *v = json_object_get(payload, name);
    if (!json_is_string(v) || !lp_is_uuid(json_string_value(v)))
        return lp_error_field(err, LP_E_INVALID, name, "is required and must be a UUID");
    return 0;
}

int lp_job_media_normalize_validate(const json_t *payload, const lp_config *cfg, lp_error *err)
{
    const char *key;
    const json_t *value;
    int rc = 0;
    (void)cfg;
    rc |= uuid_member(payload, "item_id", err);
    rc |= uuid_member(payload, "slot_id", err);
    rc |= uuid_member(payload, "upload_id", err);
    json_object_foreach((json_t *)payload, key, value) {
        if (strcmp(key, "item_id") && strcmp(key, "slot_id") && strcmp(key, "upload_id"))
            rc = lp_error_field(err, LP_E_INVALID, key,
                                "is not a member of a media.normalize payload (item_id, slot_id, upload_id)");
    }
    return rc ? -1 : 0;
}

/* ---- Fetching the original ---------------------------------------------- */

typedef struct fetch_sink {
    int fd;
    lp_sha256_ctx *sha; /* NULL: the digest is known */
    uint64_t size;
} fetch_sink;

static int fetch_chunk(void *ud, const void *p, size_t n, lp_error *err)
{
    fetch_sink *f = ud;
    const char *c = p;
    if (f->sha && lp_sha256_update(f->sha, p, n) != 0)
        return lp_error_set(err, LP_E_NOMEM, "cannot hash the original");
    f->size += n;
    while (n > 0) {
        ssize_t w = write(f->fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return lp_error_set(err, LP_E_IO, "cannot write the original to a temporary file: %s", strerror(errno));
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* What louped recorded of the upload it stored itself (a streamed or
 * multi-file upload: slot storage members sha256 and size): its digest, or
 * NULL when it recorded none (an upload URL's file, an external object). */
static const char *recorded_sha(const json_t *current)
{
    const char *sha = json_string_value(json_object_get(current, "sha256"));
    return sha && strlen(sha) == LP_SHA256_HEX_LEN && strspn(sha, "0123456789abcdef") == LP_SHA256_HEX_LEN &&
                   json_is_integer(json_object_get(current, "size"))
               ? sha
               : NULL;
}

/* The original at key copied to path, with its size and SHA-256 (which
 * names its derived files). Where current records both (recorded_sha),
 * the digest is taken from there — louped computed it as it wrote the
 * object, which nothing writes again: an original's key is its upload's —
 * and only the size is checked. */
static int fetch_original(lp_storage *s, const char *key, const json_t *current, const char *path,
                          char sha_hex[LP_SHA256_HEX_LEN + 1], uint64_t *size, lp_error *err)
{
    uint8_t digest[LP_SHA256_LEN];
    const char *known = recorded_sha(current);
    fetch_sink f = {.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600),
                    .sha = known ? NULL : lp_sha256_new()};
    int rc = -1;
    if (f.fd < 0 || (!known && !f.sha)) {
        lp_error_set(err, LP_E_IO, "cannot create the temporary file %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (lp_storage_get(s, key, 0, LP_STORAGE_TO_END, fetch_chunk, &f, err) != 0)
        goto cleanup;
    if (known) {
        json_int_t recorded = json_integer_value(json_object_get(current, "size"));
        if ((uint64_t)recorded != f.size) {
            lp_error_set(err, LP_E_IO, "the original in storage has %llu bytes where its upload stored %lld",
                         (unsigned long long)f.size, (long long)recorded);
            goto cleanup;
        }
        memcpy(sha_hex, known, LP_SHA256_HEX_LEN + 1);
    } else if (lp_sha256_final(f.sha, digest, sha_hex) != 0) {
        lp_error_set(err, LP_E_NOMEM, "cannot hash the original");
        goto cleanup;
    }
    *size = f.size;
    rc = 0;
cleanup:
    if (f.fd >= 0)
        close(f.fd);
    lp_sha256_free(f.sha);
    return rc;
}

/* ---- The sandboxed run ---------------------------------------------------- */

/* The job's own directory <parent>/loupe-media-XXXXXX, into out: inside
 * the decoder's work or scratch directory, so whatever an interrupted job
 * leaves in it goes with them (loupe/core/tmpdir.h). */
static int make_job_dir(const char *parent, char *out, size_t cap, lp_error *err)
{
    if (snprintf(out, cap, "%s/loupe-media-XXXXXX", parent) >= (int)cap) {
        out[0] = '\0';
        return lp_error_field(err, LP_E_INVALID, "worker_tmp_dir", "is too long");
    }
    if (!mkdtemp(out)) {
        out[0] = '\0';
        return lp_error_set(err, LP_E_IO, "cannot create a temporary directory in %s: %s", parent, strerror(errno));
    }
    return 0;
}

/* Where a job's directory goes. A volume's files — the original, a DICOM
 * series' de-identified copies, dcm2niix's output and the normalized volume —
 * each pass through it once or twice whole: in the memory-backed scratch
 * directory they cost no disk writes (the store writes the volume to storage
 * once). The scratch directory is taken only while it has worker_scratch_room
 * times the upload's size free, so that a large upload, or several at once,
 * cannot fill the memory it lives in: then the job works on disk, as every
 * other job does. */
static const char *job_parent_dir(lp_job_ctx *ctx, lp_storage *s, const char *key, lp_decoder *decoder, bool volume)
{
    const char *scratch = lp_decoder_scratch_dir(decoder);
    const char *work = lp_decoder_work_dir(decoder);
    lp_storage_info info;
    struct statvfs fs;
    lp_error serr;

    if (!volume || strcmp(scratch, work) == 0)
        return work;
    lp_error_clear(&serr);
    if (lp_storage_stat(s, key, &info, &serr) != 0)
        return work; /* the fetch that follows says what is wrong */
    if (statvfs(scratch, &fs) != 0 ||
        (uint64_t)fs.f_bavail * fs.f_frsize / (uint64_t)ctx->cfg->worker_scratch_room < info.size) {
        LP_INFO("media", "job %s: worker_scratch_dir has less than %lld times the upload's %llu bytes free; working in "
                "worker_tmp_dir", ctx->id, (long long)ctx->cfg->worker_scratch_room, (unsigned long long)info.size);
        return work;
    }
    return scratch;
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    case SIGXCPU: return "SIGXCPU";
    case SIGSYS: return "SIGSYS, a system call its sandbox forbids";
    default: return "a signal";
    }
}

static void size_text(int64_t bytes, char *out, size_t cap)
{
    if (bytes >= (1LL << 30) && bytes % (1LL << 30) == 0)
        snprintf(out, cap, "%lldG", (long long)(bytes >> 30));
    else if (bytes >= (1LL << 20))
        snprintf(out, cap, "%lldM", (long long)(bytes >> 20));
    else
        snprintf(out, cap, "%lld bytes", (long long)bytes);
}

/* Runs the transform; on a file problem returns 1 with *reason (arena) set,
 * on success 0 with *doc (new), on an infrastructure failure -1 with err. */
static int transform(lp_job_ctx *ctx, const lp_decoder_transform_args *args, json_t **doc, char **reason)
{
    lp_decoder *decoder;
    lp_decoder_result res;
    char mem[32], limit_s[32];
    json_error_t jerr;

    *doc = NULL;
    *reason = NULL;
    size_text(ctx->cfg->worker_memory_limit, mem, sizeof mem);
    snprintf(limit_s, sizeof limit_s, "%llds", (long long)(ctx->cfg->job_timeout / 1000));
    if (!(decoder = lp_job_decoder(ctx->cfg, &ctx->err)) ||
        lp_decoder_transform(decoder, args, ctx->deadline_ms, &res, &ctx->err) != 0)
        return -1;
    switch (res.end) {
    case LP_DECODER_TIMED_OUT:
        *reason = lp_arena_printf(ctx->arena,
                                  "processing this file took longer than job_timeout (%s) and was stopped; the file "
                                  "may be too large for this worker or crafted to hang the decoder",
                                  limit_s);
        break;
    case LP_DECODER_SIGNALED:
        /* The decoder has no CPU-time limit (the deadline bounds it), so a
         * SIGKILL we did not send came from outside: the kernel's
         * out-of-memory killer, most likely. */
        *reason = lp_arena_printf(ctx->arena,
                                  "the decoder crashed on this file (%s, signal %d); the file is probably "
                                  "corrupt, or decoding it needs more memory than worker_memory_limit (%s)",
                                  signal_name(res.status), res.status, ctx->cfg->worker_memory_limit ? mem : "none");
        break;
    case LP_DECODER_REPLIED:
    case LP_DECODER_EXITED:
        *doc = res.output_len ? json_loadb(res.output, res.output_len, 0, &jerr) : NULL;
        if (!json_is_object(*doc)) {
            json_decref(*doc);
            *doc = NULL;
            *reason = lp_arena_printf(ctx->arena,
                                      "the decoder stopped without a result (exit status %d); it may have run out "
                                      "of memory (worker_memory_limit %s)",
                                      res.status, ctx->cfg->worker_memory_limit ? mem : "none");
        } else if (!json_is_true(json_object_get(*doc, "ok"))) {
            const char *msg = json_string_value(json_object_get(*doc, "message"));
            const char *code = json_string_value(json_object_get(*doc, "code"));
            const char *detail = json_string_value(json_object_get(*doc, "detail"));
            if (code && !strcmp(code, "nomem"))
                *reason = lp_arena_printf(ctx->arena, "%s (worker_memory_limit is %s)", msg ? msg : "out of memory",
                                          ctx->cfg->worker_memory_limit ? mem : "none");
            else
                *reason = lp_arena_strdup(ctx->arena, msg ? msg : "processing failed without a message");
            if (detail && *detail)
                LP_INFO("media", "job %s: %s (%s)", ctx->id, msg ? msg : "", detail);
            json_decref(*doc);
            *doc = NULL;
        }
        break;
    }
    lp_decoder_result_free(&res);
    if (!*doc && !*reason)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory");
    return *doc ? 0 : 1;
}

/* ---- DICOM series ----------------------------------------------------------- */

/* 1 when the original at path is a zip or a DICOM file (a volume slot's
 * DICOM upload), 0 otherwise (NIfTI, or something the NIfTI check refuses). */
static int dicom_upload(const char *path)
{
    unsigned char head[132];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? pread(fd, head, sizeof head, 0) : -1;
    if (fd >= 0)
        close(fd);
    return (got >= 4 && memcmp(head, "PK\3\4", 4) == 0) || (got == (ssize_t)sizeof head && !memcmp(head + 128, "DICM", 4));
}

/* How many files of dir end in .nii; the first into first. */
static int nifti_files(const char *dir, char *first, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".nii") == 0 && n++ == 0)
            snprintf(first, cap, "%s/%s", dir, e->d_name);
    }
    if (d)
        closedir(d);
    return n;
}

/* The last line of dcm2niix's log (no patient data reach it: its input is de-identified). */
static void log_tail(lp_job_ctx *ctx, const char *path)
{
    char buf[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
    ssize_t got = end >= 0 ? pread(fd, buf, sizeof buf - 1, end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0) : -1;
    if (fd >= 0)
        close(fd);
    if (got <= 0)
        return;
    buf[got] = '\0';
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
        buf[--got] = '\0';
    char *line = strrchr(buf, '\n');
    LP_INFO("media", "job %s: dcm2niix: %s", ctx->id, line ? line + 1 : buf);
}

/* A volume slot's DICOM upload, first step: the decoder checks and
 * de-identifies it into dir/series/<n>, one directory per series
 * (decoder/dicom.c); *split (new) describes the series. As transform(): 0,
 * 1 with *reason (a problem of the whole upload), -1 with ctx->err. */
static int dicom_split(lp_job_ctx *ctx, const char *dir, const lp_decoder_transform_args *args, json_t **split,
                       char **reason)
{
    char series[600], out[600], key_hex[2 * LP_DICOM_KEY_LEN + 1];
    uint8_t key[LP_DICOM_KEY_LEN];

    snprintf(series, sizeof series, "%s/series", dir);
    snprintf(out, sizeof out, "%s/nifti", dir);
    if (mkdir(series, 0700) != 0 || mkdir(out, 0700) != 0)
        return lp_error_set(&ctx->err, LP_E_IO, "cannot create a directory in %s: %s", dir, strerror(errno));
    if (lp_random_bytes(key, sizeof key) != 0)
        return lp_error_set(&ctx->err, LP_E_INTERNAL, "no random bytes for the de-identification key");
    lp_hex_encode(key, sizeof key, key_hex);
    int64_t t0 = lp_now_mono_ms();
    lp_decoder_transform_args step = *args;
    step.type = "dicom";
    step.out_dir = series;
    step.key = key_hex;
    int t = transform(ctx, &step, split, reason);
    memset(key_hex, 0, sizeof key_hex);
    memset(key, 0, sizeof key);
    unlink(args->src); /* the original, patient data and all, is not needed here any more */
    if (t == 0) {
        const json_t *tm = json_object_get(*split, "timings");
        LP_DEBUG("media",
                 "job %s: DICOM upload checked and de-identified in %lld ms, %zu series (its files read, checked "
                 "and written in %lld ms, ordered in %lld ms)",
                 ctx->id, (long long)(lp_now_mono_ms() - t0), json_array_size(json_object_get(*split, "series")),
                 (long long)json_integer_value(json_object_get(tm, "files_ms")),
                 (long long)json_integer_value(json_object_get(tm, "order_ms")));
        lp_job_progress(ctx, 0.3);
    }
    return t;
}

/* Second step, for one series (its directory dir/series/<sub>): dcm2niix
 * (confined, loupe/jobs/dcm2niix.h) makes dir/nifti/<sub>/….nii, whose path
 * goes into nifti. As transform(): 0, 1 with *reason, -1 with ctx->err. */
static int dicom_convert(lp_job_ctx *ctx, const char *dir, const char *sub, char **reason, char *nifti, size_t cap)
{
    char series[600], out[600], log_path[600], program[512], limit_s[32];
    lp_dcm2niix_result res;

    snprintf(series, sizeof series, "%s/series/%s", dir, sub);
    snprintf(out, sizeof out, "%s/nifti/%s", dir, sub);
    snprintf(log_path, sizeof log_path, "%s/dcm2niix-%s.log", dir, sub);
    if (mkdir(out, 0700) != 0)
        return lp_error_set(&ctx->err, LP_E_IO, "cannot create a directory in %s: %s", dir, strerror(errno));
    if (lp_dcm2niix_find(ctx->cfg->dicom_converter, program, sizeof program, &ctx->err) != 0)
        return -1;
    int64_t deadline = lp_now_mono_ms() + ctx->cfg->dicom_timeout;
    lp_dcm2niix_spec spec = {.program = program,
                             .in_dir = series,
                             .out_dir = out,
                             .log_path = log_path,
                             .memory_bytes = ctx->cfg->worker_memory_limit,
                             .file_bytes = ctx->cfg->volume_max_voxels * 8 + (1 << 20),
                             .deadline_ms = deadline < ctx->deadline_ms ? deadline : ctx->deadline_ms};
    if (lp_dcm2niix_run(&spec, &res, &ctx->err) != 0)
        return -1;
    LP_DEBUG("media", "job %s: DICOM series %s converted in %lld ms", ctx->id, sub, (long long)res.elapsed_ms);
    lp_rmtree(series, LP_TMPDIR_MAX_DEPTH, NULL);
    snprintf(limit_s, sizeof limit_s, "%llds", (long long)(ctx->cfg->dicom_timeout / 1000));
    int made = nifti_files(out, nifti, cap);
    if (res.end == LP_DCM2NIIX_TIMED_OUT)
        *reason = lp_arena_printf(ctx->arena, "converting the DICOM series took longer than dicom_timeout (%s) and was "
                                              "stopped",
                                  limit_s);
    else if (res.end == LP_DCM2NIIX_SIGNALED)
        *reason = lp_arena_printf(ctx->arena, "the DICOM converter (dcm2niix) crashed on this series (signal %d); it may "
                                              "need more memory than worker_memory_limit",
                                  res.status);
    else if (res.status != 0 || made == 0)
        *reason = lp_arena_printf(ctx->arena, "the DICOM converter (dcm2niix) could not convert this series (exit "
                                              "status %d)",
                                  res.status);
    else if (made > 1)
        *reason = lp_arena_printf(ctx->arena, "the DICOM converter (dcm2niix) split this series into %d volumes; "
                                              "upload one volume per item",
                                  made);
    if (res.end != LP_DCM2NIIX_EXITED || res.status != 0 || made != 1)
        log_tail(ctx, log_path);
    if (made == 1 && res.end == LP_DCM2NIIX_EXITED && res.status == 0)
        return 0;
    if (!*reason)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory");
    return 1;
}

/* Deletes a DICOM upload's original from storage unless dicom_keep_original
 * (it holds the patient data de-identification removed). */
static void drop_original(lp_job_ctx *ctx, lp_storage *s, const char *key)
{
    lp_error err;
    lp_error_clear(&err);
    if (ctx->cfg->dicom_keep_original)
        return;
    if (lp_storage_delete(s, key, &err) != 0 && err.code != LP_E_NOT_FOUND)
        LP_WARN("media", "job %s: cannot delete the DICOM original %s: %s", ctx->id, key, err.message);
}

/* ---- Storing results ------------------------------------------------------ */

/* Stores every file of doc.files (in out_dir) under derived keys, their
 * variants after prefix ("" or "series-<n>/": a DICOM upload's further
 * series); fills merge (slot storage members). 0 or -1 with ctx->err. */
static int store_outputs(lp_job_ctx *ctx, lp_storage *s, const char *out_dir, const char *prefix, const char *sha,
                         json_t *doc, json_t *merge)
{
    json_t *files = json_object_get(doc, "files");
    const char *name;
    json_t *f;
    char key[LP_STORAGE_KEY_MAX + 1], path[LP_MEDIA_PATH_MAX], full[LP_STORAGE_KEY_MAX + 1];

    json_object_foreach(files, name, f) {
        const char *file = json_string_value(json_object_get(f, "file"));
        const char *variant = json_string_value(json_object_get(f, "variant"));
        const char *type = json_string_value(json_object_get(f, "content_type"));
        if (!file || !variant || strchr(file, '/'))
            return lp_error_set(&ctx->err, LP_E_INTERNAL, "the decoder described an unusable output file");
        snprintf(full, sizeof full, "%s%s", prefix, variant);
        if (lp_storage_key_derived(sha, full, key, sizeof key, &ctx->err))
            return -1;
        snprintf(path, sizeof path, "%s/%s", out_dir, file);
        if (lp_storage_put_file(s, key, path, type, NULL, &ctx->err))
            return -1;
        json_object_set_new(merge, name, json_string(key));
        if (lp_job_check(ctx))
            return -1;
    }
    if (json_object_get(merge, "pyramid"))
        json_object_set_new(merge, "tile_format", json_string("jpeg"));
    if (json_object_get(merge, "index")) {
        /* Frames are served from the decoder's own copy only, never from
         * the original. */
        json_t *mz = json_object_get(merge, "mezzanine");
        if (!mz || !json_object_get(merge, "frames_index"))
            return lp_error_set(&ctx->err, LP_E_INTERNAL, "the decoder made no frame source for the video");
        json_object_set(merge, "frames", mz);
    }
    if (json_object_get(doc, "sprite_layout"))
        json_object_set(merge, "sprite_layout", json_object_get(doc, "sprite_layout"));
    if (json_is_object(json_object_get(doc, "hls")))
        json_object_set(merge, "hls", json_object_get(doc, "hls"));
    return 0;
}

static int finish(lp_job_ctx *ctx, const lp_slot_row *slot, const char *upload_id, const char *status,
                  const char *reason)
{
    lp_job_set_result(ctx, json_pack("{s:s, s:s, s:s, s:s, s:s?}", "item_id", slot->item_id, "slot_id", slot->id,
                                     "upload_id", upload_id, "status", status, "error", reason));
    return ctx->result ? 0 : lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory building the result");
}

/* Marks the slot error (transaction); 0 or -1. */
static int fail_slot(lp_job_ctx *ctx, const lp_slot_row *slot, const char *upload_id, const char *reason)
{
    lp_error err;
    lp_error_clear(&err);
    if (lp_db_begin(ctx->db, &err) || lp_db_media_slot_fail(ctx->db, slot->id, upload_id, reason, &err) < 0 ||
        lp_db_commit(ctx->db, &err)) {
        lp_db_rollback(ctx->db);
        ctx->err = err;
        return -1;
    }
    LP_INFO("media", "job %s: slot %s of item %s: %s", ctx->id, slot->id, slot->item_id, reason);
    return finish(ctx, slot, upload_id, "error", reason);
}

/* The slot result of doc (a transform's description) and merge (storage
 * members); *storage and *media (new, free()) hold its JSON texts. 0 or -1
 * with ctx->err. */
static int slot_result(lp_job_ctx *ctx, json_t *doc, json_t *merge, lp_media_slot_result *res, char **storage,
                       char **media)
{
    json_t *fps = json_object_get(doc, "fps");
    *storage = json_dumps(merge, JSON_COMPACT);
    *media = json_dumps(json_object_get(doc, "media"), JSON_COMPACT);
    memset(res, 0, sizeof *res);
    res->width = json_integer_value(json_object_get(doc, "width"));
    res->height = json_integer_value(json_object_get(doc, "height"));
    res->frame_count = json_is_integer(json_object_get(doc, "frame_count"))
                           ? json_integer_value(json_object_get(doc, "frame_count"))
                           : -1;
    res->fps = json_is_number(fps) ? json_number_value(fps) : -1;
    res->rotation = (int)json_integer_value(json_object_get(doc, "rotation"));
    res->format = json_string_value(json_object_get(doc, "format"));
    res->storage_merge = *storage;
    res->media_json = *media;
    if (!*storage || !*media)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory");
    return 0;
}

static int apply_result(lp_job_ctx *ctx, const lp_slot_row *slot, const char *upload_id, json_t *doc,
                        json_t *merge)
{
    lp_media_slot_result res;
    char *storage_text = NULL, *media_text = NULL;
    int rc = -1, changed = 0;

    if (slot_result(ctx, doc, merge, &res, &storage_text, &media_text) != 0)
        goto cleanup;
    if (lp_db_begin(ctx->db, &ctx->err) ||
        (changed = lp_db_media_slot_finish(ctx->db, slot->id, upload_id, &res, &ctx->err)) < 0 ||
        lp_db_commit(ctx->db, &ctx->err)) {
        lp_db_rollback(ctx->db);
        goto cleanup;
    }
    if (!changed) {
        rc = finish(ctx, slot, upload_id, "superseded", NULL);
        goto cleanup;
    }
    rc = finish(ctx, slot, upload_id, "ready", NULL);
cleanup:
    free(storage_text);
    free(media_text);
    return rc;
}

/* The debug line of a volume transform's own steps (doc.timings), if any. */
static void log_volume_steps(lp_job_ctx *ctx, const json_t *doc)
{
    const json_t *tm = json_object_get(doc, "timings");
    if (tm)
        LP_DEBUG("media", "job %s: volume read in %lld ms, turned RAS+ in %lld ms, histogram and windows in %lld ms, "
                 "written in %lld ms, posters in %lld ms",
                 ctx->id, (long long)json_integer_value(json_object_get(tm, "read_ms")),
                 (long long)json_integer_value(json_object_get(tm, "ras_ms")),
                 (long long)json_integer_value(json_object_get(tm, "histogram_ms")),
                 (long long)json_integer_value(json_object_get(tm, "write_ms")),
                 (long long)json_integer_value(json_object_get(tm, "posters_ms")));
}

/* The debug line of a job's phases, in ms. */
static void log_phases(lp_job_ctx *ctx, int64_t fetched, int64_t decoded, int64_t stored, int64_t recorded)
{
    LP_DEBUG("media", "job %s: original fetched in %lld ms, decoded in %lld ms, stored in %lld ms, recorded in %lld ms",
             ctx->id, (long long)fetched, (long long)decoded, (long long)stored, (long long)recorded);
}

/* ---- DICOM uploads: one volume per series ---------------------------------- */

/* What became of one series of a DICOM upload. */
typedef struct series_outcome {
    json_t *doc;   /* the volume transform's description (new); NULL: not usable */
    json_t *merge; /* its slot's storage members (new) */
    char *reason;  /* arena: why the series is not usable */
} series_outcome;

/* Series n (1, 2 …; split's entry `series`) converted, normalized and
 * stored: its derived files under "series-<n>/" variants past the first.
 * base: the storage members every series' slot gets. 0 with out->doc or
 * out->reason, or -1 with ctx->err. */
static int dicom_series(lp_job_ctx *ctx, lp_storage *s, const char *dir, const char *sha, const json_t *base,
                        size_t n, json_t *series, const lp_decoder_transform_args *args, series_outcome *out,
                        int64_t *stored_ms)
{
    const char *error = json_string_value(json_object_get(series, "error"));
    char sub[24], nifti[700], out_dir[600], prefix[32];
    int t;

    if (error)
        return (out->reason = lp_arena_strdup(ctx->arena, error)) ? 0
                                                                   : lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory");
    snprintf(sub, sizeof sub, "%zu", n);
    if ((t = dicom_convert(ctx, dir, sub, &out->reason, nifti, sizeof nifti)) != 0)
        return t < 0 ? -1 : 0;
    snprintf(out_dir, sizeof out_dir, n == 1 ? "%s/out" : "%s/out-%s", dir, sub);
    if (n > 1 && mkdir(out_dir, 0700) != 0)
        return lp_error_set(&ctx->err, LP_E_IO, "cannot create %s: %s", out_dir, strerror(errno));
    lp_decoder_transform_args step = *args;
    step.src = nifti;
    step.out_dir = out_dir;
    step.hints = series;
    if ((t = transform(ctx, &step, &out->doc, &out->reason)) != 0)
        return t < 0 ? -1 : 0;
    log_volume_steps(ctx, out->doc);
    snprintf(prefix, sizeof prefix, n == 1 ? "" : "series-%s/", sub);
    if (!(out->merge = json_deep_copy(base)))
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory");
    int64_t t0 = lp_now_mono_ms();
    t = store_outputs(ctx, s, out_dir, prefix, sha, out->doc, out->merge);
    *stored_ms += lp_now_mono_ms() - t0;
    return t;
}

/* 1 when the slot asks for one item per series (slots[].dicom_series "items"). */
static int series_as_items(const lp_slot_row *slot)
{
    json_t *meta = slot->metadata ? json_loads(slot->metadata, 0, NULL) : NULL;
    const char *mode = json_string_value(json_object_get(meta, "dicom_series"));
    int items = mode && strcmp(mode, "items") == 0;
    json_decref(meta);
    return items;
}

/* The audit row of an item made for series rank of slot's upload, written
 * in the transaction that makes it (so a redelivered job, which makes
 * nothing, writes none): item.create, by this job, as louped writes it for an
 * item registered through the API. 0 or -1 with ctx->err. */
static int audit_series_item(lp_job_ctx *ctx, const lp_slot_row *slot, int rank, const char *item_id,
                             const char *name)
{
    json_t *data = json_pack("{s:s, s:{s:s, s:s, s:s, s:i}, s:s}", "name", name, "series_of", "item", slot->item_id,
                             "slot", slot->id, "slot_name", slot->name, "rank", rank, "job_id", ctx->id);
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    int rc = text ? lp_db_audit(ctx->db, ctx->team_id, NULL, "item.create", "item", item_id, text, &ctx->err)
                  : lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory");
    free(text);
    json_decref(data);
    return rc;
}

/* Records all n series in one transaction: the first fills the slot, the
 * others become slots or items of their own (lp_db_media_series_put), each
 * ready or in error with its reason; a redelivered job finds the slot
 * finished and records nothing twice. 0 or -1 with ctx->err. */
static int dicom_record(lp_job_ctx *ctx, const lp_slot_row *slot, const char *upload_id, series_outcome *o, size_t n)
{
    lp_media_slot_result res;
    char *storage_text = NULL, *media_text = NULL, *name;
    char item_id[LP_DB_UUID_LEN];
    json_t *list = json_array();
    int rc = -1, changed = 0, own_item = series_as_items(slot);

    if (!list || (o[0].doc && slot_result(ctx, o[0].doc, o[0].merge, &res, &storage_text, &media_text) != 0))
        goto cleanup;
    if (lp_db_begin(ctx->db, &ctx->err) ||
        (changed = o[0].doc ? lp_db_media_slot_finish(ctx->db, slot->id, upload_id, &res, &ctx->err)
                            : lp_db_media_slot_fail(ctx->db, slot->id, upload_id, o[0].reason, &ctx->err)) < 0)
        goto rollback;
    if (!changed) {
        lp_db_rollback(ctx->db);
        rc = finish(ctx, slot, upload_id, "superseded", NULL);
        goto cleanup;
    }
    for (size_t k = 1; k < n; k++) {
        lp_media_slot_result more;
        char *st = NULL, *md = NULL;
        int made = 0;
        lp_media_series_put put = {.source = slot, .own_item = own_item, .rank = (int)k + 1, .upload_id = upload_id,
                                   .reason = o[k].reason, .item_name_max = (size_t)ctx->cfg->item_name_max,
                                   .slot_name_max = (size_t)ctx->cfg->slot_name_max};
        int bad = o[k].doc && slot_result(ctx, o[k].doc, o[k].merge, &more, &st, &md) != 0;
        put.res = o[k].doc ? &more : NULL;
        bad = bad || lp_db_media_series_put(ctx->db, ctx->arena, &put, item_id, &name, &made, &ctx->err) != 0 ||
              (made && audit_series_item(ctx, slot, (int)k + 1, item_id, name) != 0);
        free(st);
        free(md);
        if (bad)
            goto rollback;
        json_array_append_new(list, json_pack("{s:i, s:s, s:s, s:s, s:s?}", "rank", (int)k + 1, "item_id", item_id,
                                              own_item ? "item_name" : "slot", name, "status",
                                              o[k].doc ? "ready" : "error", "error", o[k].reason));
    }
    if (lp_db_commit(ctx->db, &ctx->err))
        goto rollback;
    if (!o[0].doc)
        LP_INFO("media", "job %s: slot %s of item %s: %s", ctx->id, slot->id, slot->item_id, o[0].reason);
    if ((rc = finish(ctx, slot, upload_id, o[0].doc ? "ready" : "error", o[0].reason)) == 0)
        json_object_set(ctx->result, "series", list);
    goto cleanup;
rollback:
    lp_db_rollback(ctx->db);
cleanup:
    json_decref(list);
    free(storage_text);
    free(media_text);
    return rc;
}

/* A volume slot's DICOM upload (the original fetched to args->src): split
 * into series, each converted and normalized, all recorded at once; the
 * original is deleted once recorded unless dicom_keep_original. fetched_ms:
 * how long fetching the original took (for the debug line of the phases).
 * 0 or -1 with ctx->err (retried). */
static int dicom_run(lp_job_ctx *ctx, lp_storage *s, const lp_slot_row *slot, const char *upload_id,
                     const char *key, const char *dir, const json_t *base, const char *sha,
                     const lp_decoder_transform_args *args, int64_t fetched_ms)
{
    int64_t t0 = lp_now_mono_ms(), stored_ms = 0;
    json_t *split = NULL, *list;
    series_outcome *o = NULL;
    char *reason = NULL;
    size_t n = 0;
    int rc = -1, t = dicom_split(ctx, dir, args, &split, &reason);

    if (t != 0) {
        rc = t < 0 ? -1 : fail_slot(ctx, slot, upload_id, reason);
        goto cleanup;
    }
    list = json_object_get(split, "series");
    n = json_array_size(list);
    if (n == 0 || !(o = calloc(n, sizeof *o))) {
        lp_error_set(&ctx->err, n ? LP_E_NOMEM : LP_E_INTERNAL, n ? "out of memory" : "the decoder found no series");
        goto cleanup;
    }
    for (size_t k = 0; k < n; k++) {
        if (dicom_series(ctx, s, dir, sha, base, k + 1, json_array_get(list, k), args, &o[k], &stored_ms) != 0 ||
            lp_job_progress(ctx, 0.3 + 0.5 * (double)(k + 1) / (double)n) != 0)
            goto cleanup;
    }
    if (o[0].doc && !ctx->cfg->dicom_keep_original)
        json_object_set_new(o[0].merge, "original", json_null()); /* deleted below, once the slot no longer names it */
    int64_t t_done = lp_now_mono_ms();
    if ((rc = dicom_record(ctx, slot, upload_id, o, n)) == 0)
        log_phases(ctx, fetched_ms, t_done - t0 - stored_ms, stored_ms, lp_now_mono_ms() - t_done);
cleanup:
    if (rc == 0)
        drop_original(ctx, s, key);
    for (size_t k = 0; o && k < n; k++) {
        json_decref(o[k].doc);
        json_decref(o[k].merge);
    }
    free(o);
    json_decref(split);
    return rc;
}

/* 1 if obj is a storage object naming upload_id. */
static int names_upload(const json_t *obj, const char *upload_id)
{
    const char *u = json_is_object(obj) ? json_string_value(json_object_get(obj, "upload_id")) : NULL;
    return u && strcmp(u, upload_id) == 0;
}

int lp_job_media_normalize_run(lp_job_ctx *ctx)
{
    const char *item_id, *slot_id, *upload_id, *key;
    lp_slot_row slot;
    lp_storage *s;
    json_t *storage = NULL, *current, *doc = NULL, *merge = NULL;
    json_error_t jerr;
    char dir[512], src[600], out_dir[600], sha[LP_SHA256_HEX_LEN + 1];
    char *reason = NULL;
    uint64_t size = 0;
    int rc = -1, t;

    dir[0] = '\0';
    if (lp_job_media_normalize_validate(ctx->payload, ctx->cfg, &ctx->err))
        return -1;
    item_id = json_string_value(json_object_get(ctx->payload, "item_id"));
    slot_id = json_string_value(json_object_get(ctx->payload, "slot_id"));
    upload_id = json_string_value(json_object_get(ctx->payload, "upload_id"));

    if (lp_db_media_slot_get_by_id(ctx->db, ctx->arena, ctx->team_id, slot_id, 0, &slot, &ctx->err) != 0) {
        if (ctx->err.code != LP_E_NOT_FOUND)
            return -1;
        /* Deleted meanwhile: nothing left to do. */
        lp_job_set_result(ctx, json_pack("{s:s, s:s, s:s}", "item_id", item_id, "slot_id", slot_id, "skipped",
                                         "the item or slot no longer exists"));
        return 0;
    }
    storage = json_loads(slot.storage, 0, &jerr);
    /* A ready slot keeps its media while a new original waits in storage.next. */
    current = names_upload(storage, upload_id) ? storage : NULL;
    if (!current && names_upload(json_object_get(storage, "next"), upload_id))
        current = json_object_get(storage, "next");
    if (!current) {
        rc = finish(ctx, &slot, upload_id, "superseded", NULL);
        goto cleanup;
    }
    if (current == storage && (!strcmp(slot.status, "ready") || !strcmp(slot.status, "error"))) {
        /* A redelivery after this upload was finished: change nothing. */
        rc = finish(ctx, &slot, upload_id, slot.status, slot.error);
        goto cleanup;
    }
    key = json_string_value(json_object_get(current, "original"));
    if (!key) {
        rc = fail_slot(ctx, &slot, upload_id, "the slot names no original file; upload it again");
        goto cleanup;
    }
    if (!(s = lp_job_storage(ctx->cfg, &ctx->err)))
        goto cleanup;
    lp_decoder *decoder = lp_job_decoder(ctx->cfg, &ctx->err);
    if (!decoder || make_job_dir(job_parent_dir(ctx, s, key, decoder, strcmp(slot.type, "volume") == 0), dir,
                                 sizeof dir, &ctx->err) != 0)
        goto cleanup;
    /* nifticlib goes by the name; zlib reads a plain .nii through the .gz name unchanged */
    snprintf(src, sizeof src, "%s/original%s", dir, strcmp(slot.type, "volume") == 0 ? ".nii.gz" : "");
    snprintf(out_dir, sizeof out_dir, "%s/out", dir);
    if (mkdir(out_dir, 0700) != 0) {
        lp_error_set(&ctx->err, LP_E_IO, "cannot create %s: %s", out_dir, strerror(errno));
        goto cleanup;
    }
    int64_t t_start = lp_now_mono_ms();
    if (fetch_original(s, key, current, src, sha, &size, &ctx->err) != 0) {
        if (ctx->err.code == LP_E_NOT_FOUND)
            rc = fail_slot(ctx, &slot, upload_id,
                           lp_arena_printf(ctx->arena, "the uploaded file (%s) is missing from storage; upload it again",
                                           key));
        goto cleanup;
    }
    if (size == 0) {
        rc = fail_slot(ctx, &slot, upload_id, "the uploaded file is empty (0 bytes); upload the file again");
        goto cleanup;
    }
    lp_job_progress(ctx, 0.1);
    int64_t t_fetched = lp_now_mono_ms();

    lp_decoder_transform_args args = {.src = src, .out_dir = out_dir, .type = slot.type};
    lp_media_limits_from_config(&args.limits, ctx->cfg);
    merge = json_pack("{s:s, s:I}", "sha256", sha, "size", (json_int_t)size);
    if (!merge) {
        lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory");
        goto cleanup;
    }
    if (strcmp(slot.type, "volume") == 0 && dicom_upload(src)) {
        rc = dicom_run(ctx, s, &slot, upload_id, key, dir, merge, sha, &args, t_fetched - t_start);
        goto cleanup;
    }
    if ((t = transform(ctx, &args, &doc, &reason)) < 0)
        goto cleanup;
    if (t > 0) {
        rc = fail_slot(ctx, &slot, upload_id, reason);
        goto cleanup;
    }
    lp_job_progress(ctx, 0.8);
    int64_t t_decoded = lp_now_mono_ms();
    log_volume_steps(ctx, doc);
    if (store_outputs(ctx, s, out_dir, "", sha, doc, merge) != 0)
        goto cleanup;
    int64_t t_stored = lp_now_mono_ms();
    rc = apply_result(ctx, &slot, upload_id, doc, merge);
    log_phases(ctx, t_fetched - t_start, t_decoded - t_fetched, t_stored - t_decoded, lp_now_mono_ms() - t_stored);

cleanup:
    if (rc != 0 && ctx->err.code != LP_OK &&
        (ctx->attempt >= ctx->max_attempts || !lp_job_error_retryable(ctx->err.code))) {
        /* No attempt will follow: the item must not stay "processing" forever. */
        lp_error saved = ctx->err;
        char *why = ctx->attempt > 1 ? lp_arena_printf(ctx->arena, "processing failed %d times; the last error was: %s",
                                                       ctx->attempt, saved.message)
                                     : lp_arena_printf(ctx->arena, "processing failed: %s", saved.message);
        lp_error_clear(&ctx->err);
        if (why && lp_db_begin(ctx->db, &ctx->err) == 0 &&
            lp_db_media_slot_fail(ctx->db, slot_id, upload_id, why, &ctx->err) >= 0)
            lp_db_commit(ctx->db, &ctx->err);
        lp_db_rollback(ctx->db);
        ctx->err = saved;
    }
    if (dir[0])
        lp_rmtree(dir, LP_TMPDIR_MAX_DEPTH, NULL);
    json_decref(merge);
    json_decref(doc);
    json_decref(storage);
    return rc;
}
