/* A DICOM series as separate files into one volume slot (docs/MEDIA_PIPELINE.md):
 *
 *   POST /api/v1/items/{id}/slots/{slot}/files                       {"files": n} → a multi-file upload
 *   PUT  /api/v1/items/{id}/slots/{slot}/files/{upload}/{n}          file n (1…n) as the body, streamed
 *   POST /api/v1/items/{id}/slots/{slot}/files/{upload}/complete     → 202, the series is processed
 *
 * Each file is stored on its own ("<original key>.files/<n>"), so files may
 * come in any order, in parallel, and be sent again. Completing checks that
 * every file is there and that together they stay within dicom_max_bytes,
 * then streams them into one stored (uncompressed) zip — members named by
 * their number only, never by a client's file name — which becomes the
 * slot's original exactly as an uploaded zip: the worker sees one zip and
 * takes one path. The files are deleted once the zip is stored. Completing
 * twice answers the same; a file sent after completion is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers_int.h"
#include "identity_int.h"
#include "loupe/api/input.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/formats/zip.h"
#include "slot_common_int.h"
#include "uploads_int.h"

#define DICOM_HEAD 132          /* preamble and "DICM" */
#define ZIP_MTIME 946684800     /* every member's date: the archive depends on the files alone */
#define MISSING_SHOWN 10        /* missing files named in a refusal */

/* The slot of the route, and its multi-file upload {upload} (any state).
 * 0, or -1 with req->err: 404 for a missing or foreign item, slot or upload. */
static int files_upload(lp_req *req, lp_db *db, int for_update, lp_slot_row *slot, lp_media_upload *u)
{
    const char *upload_id = lp_identity_uuid_param(req, "upload", "upload");
    if (!upload_id || lp_slot_from_route(req, db, for_update, slot) != 0 ||
        lp_db_media_upload_get(db, req->arena, slot->id, upload_id, u, &req->err) != 0)
        return -1;
    if (strcmp(u->kind, "files") != 0)
        return lp_error_set(&req->err, LP_E_NOT_FOUND, "upload %s of this slot is not a multi-file upload", u->id);
    return 0;
}

/* ---- POST …/files ------------------------------------------------------------ */

int lp_api_slot_files_create(lp_req *req)
{
    static const char *const fields[] = {"files", NULL};
    const lp_config *cfg = req->svc->cfg;
    int64_t files = 0;
    char upload_id[37], key[LP_STORAGE_KEY_MAX + 1];
    lp_slot_row slot;
    lp_media_upload u;
    json_t *body = lp_req_json(req, 1), *doc;
    lp_db *db;
    int rc = -1;

    if (!body || !lp_slot_storage(req))
        return -1;
    lp_in_only(req, body, NULL, fields);
    lp_in_int(req, body, NULL, "files", LP_IN_REQUIRED, 1, INT64_MAX, &files);
    if (req->err.code != LP_OK)
        return -1;
    if (files > cfg->dicom_max_files)
        return lp_error_field(&req->err, LP_E_TOO_LARGE, "files", "%lld files are over the limit of %lld (dicom_max_files)",
                              (long long)files, (long long)cfg->dicom_max_files);
    if (lp_uuid_v4(upload_id) != 0)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 && lp_slot_from_route(req, db, 1, &slot) == 0) {
        if (strcmp(slot.type, "volume") != 0) {
            lp_error_set(&req->err, LP_E_CONFLICT, "slot %s is of type %s; files of a DICOM series go to a volume slot",
                         slot.name, slot.type);
            lp_error_hint(&req->err, "give this slot its file with PUT …/file");
        } else {
            lp_storage_key_original(req->who.team_id, slot.item_id, upload_id, key, sizeof key);
            if (lp_db_media_upload_create_files(db, req->arena, upload_id, req->who.team_id, slot.item_id, slot.id, key,
                                                files, lp_now_wall_ms() + cfg->upload_abandon_after, slot.status, &u,
                                                &req->err) == 0 &&
                lp_upload_mark_uploading(req, db, &slot) == 0 && lp_db_commit(db, &req->err) == 0)
                rc = 0;
        }
    }
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    const char *base = lp_arena_printf(req->arena, "/api/v1/items/%s/slots/%s/files/%s", slot.item_id,
                                       lp_slot_path_segment(req->arena, slot.name), upload_id);
    doc = base ? json_pack("{s:s, s:I, s:s, s:s, s:s, s:o}", "upload_id", upload_id, "files", (json_int_t)files,
                           "file_url", lp_arena_printf(req->arena, "%s/{n}", base), "complete_url",
                           lp_arena_printf(req->arena, "%s/complete", base), "expires_at", u.expires_at, "upload",
                           lp_slot_upload_json(&u))
               : NULL;
    if (!doc)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    lp_res_header(req, "Location", base);
    return lp_res_json(req, 201, doc);
}

/* ---- PUT …/files/{upload}/{n} ----------------------------------------------- */

typedef struct file_put {
    lp_storage_writer *w;
    int64_t n, max_bytes;
    uint64_t got;
    unsigned char head[DICOM_HEAD];
    char upload_id[37];
} file_put;

static int file_chunk(lp_req *req, void *cls, const char *data, size_t len)
{
    file_put *f = cls;
    if (f->got < DICOM_HEAD)
        memcpy(f->head + f->got, data, len < DICOM_HEAD - f->got ? len : DICOM_HEAD - f->got);
    f->got += len;
    if (f->got > (uint64_t)f->max_bytes)
        return lp_error_set(&req->err, LP_E_TOO_LARGE, "file %lld is over %lld bytes (dicom_max_bytes)", (long long)f->n,
                            (long long)f->max_bytes);
    return lp_storage_writer_write(f->w, data, len, &req->err);
}

static int file_end(lp_req *req, void *cls)
{
    file_put *f = cls;
    lp_storage_object obj;
    lp_storage_writer *w = f->w;
    f->w = NULL;
    if (f->got < DICOM_HEAD || memcmp(f->head + 128, "DICM", 4) != 0) {
        lp_storage_writer_abort(w);
        return lp_error_set(&req->err, LP_E_INVALID,
                            "file %lld is not a DICOM Part 10 file (no \"DICM\" after its 128-byte preamble)",
                            (long long)f->n);
    }
    if (lp_storage_writer_commit(w, &obj, &req->err) != 0)
        return -1;
    json_t *doc = json_pack("{s:s, s:I, s:I, s:s}", "upload_id", f->upload_id, "file", (json_int_t)f->n, "size",
                            (json_int_t)obj.size, "sha256", obj.sha256);
    return doc ? lp_res_json(req, 200, doc) : lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
}

static void file_cleanup(void *cls)
{
    file_put *f = cls;
    lp_storage_writer_abort(f->w);
    free(f);
}

/* The file number of the route: 1 … files. */
static int file_number(lp_req *req, const lp_media_upload *u, int64_t *n)
{
    const char *s = lp_req_param(req, "n");
    char *end = NULL;
    long long v = s && *s >= '1' && *s <= '9' ? strtoll(s, &end, 10) : 0;
    if (v < 1 || *end != '\0' || v > u->files)
        return lp_error_field(&req->err, LP_E_INVALID, "n", "must be a file number from 1 to %lld (the files the upload "
                                                           "declared)",
                              (long long)u->files);
    *n = v;
    return 0;
}

static int require_pending(lp_req *req, const lp_media_upload *u)
{
    if (strcmp(u->state, "pending") == 0)
        return 0;
    if (strcmp(u->state, "stored") == 0)
        return lp_error_set(&req->err, LP_E_CONFLICT, "upload %s has been completed; its files can no longer change", u->id);
    return lp_error_set(&req->err, LP_E_CONFLICT, "upload %s has failed; start a new one", u->id);
}

int lp_api_slot_files_put(lp_req *req)
{
    const char *clen = lp_req_header(req, "Content-Length");
    const int64_t max_bytes = req->svc->cfg->dicom_max_bytes;
    lp_storage *s = lp_slot_storage(req);
    char key[LP_STORAGE_KEY_MAX + 1];
    lp_slot_row slot;
    lp_media_upload u;
    int64_t n = 0;
    lp_db *db;
    int rc;

    if (!s || !(db = lp_req_db(req)))
        return -1;
    rc = files_upload(req, db, 0, &slot, &u) == 0 && require_pending(req, &u) == 0 && file_number(req, &u, &n) == 0 ? 0 : -1;
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    if (clen && strtoull(clen, NULL, 10) > (unsigned long long)max_bytes)
        return lp_error_set(&req->err, LP_E_TOO_LARGE, "file %lld is %s bytes; the limit is %lld bytes (dicom_max_bytes)",
                            (long long)n, clen, (long long)max_bytes);
    file_put *f = calloc(1, sizeof *f);
    if (!f)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    f->n = n;
    f->max_bytes = max_bytes;
    lp_strlcpy(f->upload_id, u.id, sizeof f->upload_id);
    lp_storage_key_original_file(u.key, n, key, sizeof key);
    lp_body_sink sink = {.chunk = file_chunk, .end = file_end, .cleanup = file_cleanup, .cls = f};
    if (!(f->w = lp_storage_writer_open(s, key, "application/dicom", &req->err)) || lp_req_stream_body(req, &sink) != 0) {
        file_cleanup(f); /* not registered: ours to undo */
        return -1;
    }
    return 0;
}

/* ---- POST …/files/{upload}/complete ------------------------------------------ */

typedef struct assembly {
    lp_storage_writer *w;
    lp_zip *z;
} assembly;

static int to_writer(void *ud, const void *p, size_t n, lp_error *err)
{
    return lp_storage_writer_write(((assembly *)ud)->w, p, n, err);
}

static int to_zip(void *ud, const void *p, size_t n, lp_error *err)
{
    return lp_zip_write(((assembly *)ud)->z, p, n, err);
}

/* Every file is there and all together within dicom_max_bytes. 0 or -1. */
static int check_files(lp_req *req, lp_storage *s, const lp_media_upload *u)
{
    char key[LP_STORAGE_KEY_MAX + 1], *missing = lp_arena_strdup(req->arena, "");
    int64_t nmissing = 0;
    uint64_t total = 0;
    for (int64_t i = 1; i <= u->files && missing; i++) {
        lp_storage_info info;
        lp_storage_key_original_file(u->key, i, key, sizeof key);
        if (lp_storage_stat(s, key, &info, &req->err) == 0) {
            total += info.size;
            continue;
        }
        if (req->err.code != LP_E_NOT_FOUND)
            return -1;
        lp_error_clear(&req->err);
        if (nmissing++ < MISSING_SHOWN)
            missing = lp_arena_printf(req->arena, "%s%s%lld", missing, nmissing > 1 ? ", " : "", (long long)i);
    }
    if (!missing)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    if (nmissing) {
        lp_error_set(&req->err, LP_E_CONFLICT, "%lld of the %lld files have not been uploaded yet (file%s %s%s)",
                     (long long)nmissing, (long long)u->files, nmissing > 1 ? "s" : "", missing,
                     nmissing > MISSING_SHOWN ? ", …" : "");
        return lp_error_hint(&req->err, "PUT each file to …/files/%s/{n}, then complete", u->id);
    }
    if (total > (uint64_t)req->svc->cfg->dicom_max_bytes)
        return lp_error_set(&req->err, LP_E_TOO_LARGE, "the files hold %llu bytes together; the limit is %lld bytes "
                                                       "(dicom_max_bytes)",
                            (unsigned long long)total, (long long)req->svc->cfg->dicom_max_bytes);
    return 0;
}

/* The files, in their order, as the stored zip u->key. 0 or -1. */
static int assemble(lp_req *req, lp_storage *s, const lp_media_upload *u, lp_storage_object *obj)
{
    char key[LP_STORAGE_KEY_MAX + 1], name[32];
    assembly a = {.w = lp_storage_writer_open(s, u->key, "application/zip", &req->err)};
    if (!a.w || !(a.z = lp_zip_new(to_writer, &a, ZIP_MTIME, &req->err)))
        goto fail;
    for (int64_t i = 1; i <= u->files; i++) {
        snprintf(name, sizeof name, "%06lld.dcm", (long long)i);
        lp_storage_key_original_file(u->key, i, key, sizeof key);
        if (lp_zip_begin(a.z, name, LP_ZIP_STORE, 0, &req->err) != 0 ||
            lp_storage_get(s, key, 0, LP_STORAGE_TO_END, to_zip, &a, &req->err) != 0)
            goto fail;
    }
    if (lp_zip_finish(a.z, &req->err) != 0)
        goto fail;
    lp_zip_free(a.z);
    return lp_storage_writer_commit(a.w, obj, &req->err);
fail:
    lp_zip_free(a.z);
    lp_storage_writer_abort(a.w);
    return -1;
}

/* The files are in the zip now: they go (a failure leaves litter, not harm). */
static void drop_files(lp_storage *s, const lp_media_upload *u)
{
    char key[LP_STORAGE_KEY_MAX + 1];
    lp_error err;
    lp_error_clear(&err);
    for (int64_t i = 1; i <= u->files; i++) {
        lp_storage_key_original_file(u->key, i, key, sizeof key);
        if (lp_storage_delete(s, key, &err) != 0) {
            LP_WARN("media", "upload %s: cannot delete file %lld once in the archive: %s", u->id, (long long)i, err.message);
            lp_error_clear(&err);
        }
    }
}

int lp_api_slot_files_complete(lp_req *req)
{
    lp_storage *s = lp_slot_storage(req);
    lp_storage_object obj;
    lp_slot_row slot;
    lp_media_upload u;
    char job_id[37];
    lp_db *db;
    int rc = -1;

    if (!s || !(db = lp_req_db(req)))
        return -1;
    if (files_upload(req, db, 0, &slot, &u) != 0)
        goto cleanup;
    if (strcmp(u.state, "stored") == 0) { /* completed before: the same answer */
        rc = lp_upload_respond_started(req, db, slot.item_id, slot.name, slot.id, u.id);
        goto cleanup;
    }
    if (require_pending(req, &u) != 0)
        goto cleanup;
    lp_req_db_release(req); /* no connection held while the files are read */
    if (check_files(req, s, &u) != 0 || assemble(req, s, &u, &obj) != 0 || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) != 0 || files_upload(req, db, 1, &slot, &u) != 0)
        goto cleanup;
    if (strcmp(u.state, "stored") == 0) { /* completed meanwhile by another request */
        lp_db_rollback(db);
        rc = lp_upload_respond_started(req, db, slot.item_id, slot.name, slot.id, u.id);
        goto cleanup;
    }
    if (require_pending(req, &u) != 0 ||
        lp_upload_start_normalize(req, db, slot.item_id, slot.id, u.id, u.key, (int64_t)obj.size, obj.sha256,
                                  "application/zip", 0, job_id) != 0 ||
        lp_db_commit(db, &req->err) != 0)
        goto cleanup;
    drop_files(s, &u);
    rc = lp_upload_respond_started(req, db, slot.item_id, slot.name, slot.id, u.id);
cleanup:
    lp_req_db_release(req);
    return rc;
}
