/* Imports (docs/API.md "Imports", docs/FORMATS.md):
 *   POST /api/v1/imports              {format, dataset_id, options?, dry_run?, storage_key?}
 *                                     → 201 the import with its upload_url (MANAGE)
 *   PUT  /api/v1/imports/{id}/file    the file (a zip, or one JSON or XML file) as the body,
 *                                     streamed into storage (MANAGE)
 *   POST /api/v1/imports/{id}/start   → 202 the import with its imports.run job (MANAGE)
 *   GET  /api/v1/imports              the team's imports, newest first (READ)
 *   GET  /api/v1/imports/{id}         status, counts and every problem (READ)
 * The job (src/jobs/kinds/imports_run.c) reads the file and writes what it
 * holds, all or nothing. A storage_key given instead of an upload must be a
 * file of the caller's team: its own export or import files, or an object
 * under one of its storage locations — never another team's. */
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "handlers_int.h"
#include "identity_int.h"
#include "classes_int.h"
#include "items_int.h"
#include "loupe/api/audit.h"
#include "loupe/api/input.h"
#include "loupe/core/util.h"
#include "loupe/db/classes_sql.h"
#include "loupe/db/datasets_sql.h"
#include "loupe/db/imports_sql.h"
#include "loupe/formats/import.h"
#include "respond_int.h"
#include "slot_common_int.h"
#include "storage_locations_int.h"

static json_t *text_json(const char *text)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

static json_t *str_or_null(const char *s) { return s && *s ? json_string(s) : json_null(); }

static const char *upload_url(lp_req *req, const lp_import_row *m)
{
    const char *base = req->svc->cfg->public_url ? req->svc->cfg->public_url : "";
    size_t n = strlen(base);
    return lp_arena_printf(req->arena, "%.*s/api/v1/imports/%s/file", (int)(n && base[n - 1] == '/' ? n - 1 : n),
                           base, m->id);
}

/* The import as the API shows it. */
static json_t *import_json(lp_req *req, const lp_import_row *m)
{
    bool open = !m->started_at[0];
    const char *url = open && !(m->storage_key && !m->sha256) ? upload_url(req, m) : NULL;
    json_t *doc = json_pack("{s:s, s:s, s:s, s:o, s:b, s:s, s:f, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o, "
                            "s:o, s:s, s:o, s:o, s:o}",
                            "id", m->id, "dataset_id", m->dataset_id, "format", m->format, "options",
                            text_json(m->options), "dry_run", m->dry_run, "status", m->status, "progress", m->progress,
                            "job_id", str_or_null(m->job_id), "error", str_or_null(m->error), "upload_url",
                            str_or_null(url), "storage_key", str_or_null(m->storage_key), "size_bytes",
                            m->size_bytes >= 0 ? json_integer(m->size_bytes) : json_null(), "sha256",
                            str_or_null(m->sha256), "counts", text_json(m->counts), "problems", text_json(m->problems),
                            "problems_total", (json_int_t)m->problems_total, "written",
                            m->written < 0 ? json_null() : json_boolean(m->written), "created_by",
                            str_or_null(m->created_by), "created_at", m->created_at, "uploaded_at",
                            str_or_null(m->uploaded_at), "started_at", str_or_null(m->started_at), "finished_at",
                            str_or_null(m->finished_at));
    return doc;
}

static int respond_import(lp_req *req, int status, const lp_import_row *m)
{
    json_t *doc = import_json(req, m);
    if (!doc)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory rendering import %s", m->id);
    if (status == 201)
        return lp_api_respond_created(req, "/api/v1/imports", m->id, doc);
    return lp_res_json(req, status, doc);
}

/* ---- POST /api/v1/imports --------------------------------------------------------- */

static const char *const BODY_MEMBERS[] = {"format", "dataset_id", "options", "dry_run", "storage_key", NULL};
static const char *const OPTION_MEMBERS[] = {"create_classes", "class_map", "mode", "create_items", "skip_invalid",
                                             "variant", NULL};
static const char *const MODES[] = {"merge", "replace", NULL};

/* Reads and checks the body into the values of the new import. */
static int read_body(lp_req *req, json_t *body, const char **format, const char **dataset_id, json_t **options,
                     int *dry_run, const char **storage_key)
{
    json_t *opts = NULL, *map = NULL;
    const char *variant = NULL, *key, *v;
    int which, flag = 0, mode = 0;
    lp_in_only(req, body, NULL, BODY_MEMBERS);
    if (lp_in_enum(req, body, NULL, "format", LP_IN_REQUIRED, lp_imp_reader_names, &which) == 0)
        *format = lp_imp_reader_names[which];
    lp_in_uuid(req, body, NULL, "dataset_id", LP_IN_REQUIRED, dataset_id);
    lp_in_bool(req, body, NULL, "dry_run", LP_IN_OPTIONAL, dry_run);
    lp_in_string(req, body, NULL, "storage_key", LP_IN_OPTIONAL, LP_STORAGE_KEY_MAX, storage_key);
    if (*storage_key)
        lp_storage_key_check(*storage_key, "storage_key", &req->err);
    if (!(*options = json_object()))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading the request");
    if (lp_in_object(req, body, NULL, "options", LP_IN_OPTIONAL, &opts) == 0 && opts) {
        lp_in_only(req, opts, "options.", OPTION_MEMBERS);
        if (lp_in_bool(req, opts, "options.", "create_classes", LP_IN_OPTIONAL, &flag) == 0 &&
            json_object_get(opts, "create_classes"))
            json_object_set_new(*options, "create_classes", json_boolean(flag));
        if (lp_in_bool(req, opts, "options.", "create_items", LP_IN_OPTIONAL, &flag) == 0 &&
            json_object_get(opts, "create_items"))
            json_object_set_new(*options, "create_items", json_boolean(flag));
        if (lp_in_bool(req, opts, "options.", "skip_invalid", LP_IN_OPTIONAL, &flag) == 0 &&
            json_object_get(opts, "skip_invalid"))
            json_object_set_new(*options, "skip_invalid", json_boolean(flag));
        if (lp_in_enum(req, opts, "options.", "mode", LP_IN_OPTIONAL, MODES, &mode) == 0 &&
            json_object_get(opts, "mode"))
            json_object_set_new(*options, "mode", json_string(MODES[mode]));
        if (lp_in_string(req, opts, "options.", "variant", LP_IN_OPTIONAL, 32, &variant) == 0 && variant)
            json_object_set_new(*options, "variant", json_string(variant));
        if (lp_in_object(req, opts, "options.", "class_map", LP_IN_OPTIONAL, &map) == 0 && map) {
            json_t *val;
            json_object_foreach(map, key, val) {
                v = json_string_value(val);
                if (!v || !lp_is_uuid(v))
                    lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "options.class_map.%.100s", key),
                                   "must be a class id (UUID)");
            }
            json_object_set(*options, "class_map", map);
        }
    }
    if (!json_object_get(*options, "mode"))
        json_object_set_new(*options, "mode", json_string("merge"));
    if (req->err.code != LP_OK)
        return -1;
    if (!lp_imp_format_valid(*format, variant))
        return lp_error_field(&req->err, LP_E_INVALID, "options.variant", "is not a variant of the %s format", *format);
    return 0;
}

/* A storage key named by the caller must be a file of the caller's team;
 * *size gets its size. Ownership is checked before the object is looked
 * up, so the answer says nothing of other teams' objects. */
static int check_storage_key(lp_req *req, lp_db *db, const char *key, int64_t *size)
{
    lp_storage *s = lp_slot_storage(req);
    lp_storage_info info;
    lp_error e;
    bool ours = lp_storage_key_team_is(key, req->who.team_id);
    if (!s)
        return -1;
    if (!ours && lp_storage_key_kind_of(key) == LP_STORAGE_KEY_EXTERNAL) {
        lp_storage_location_row *locs;
        size_t nlocs;
        if (lp_api_storage_locations_load(req, db, &locs, &nlocs) != 0)
            return -1;
        ours = lp_api_storage_location_covers(locs, nlocs, key);
    }
    if (!ours)
        return lp_error_field(&req->err, LP_E_INVALID, "storage_key",
                              "is not a file of this team (its exports, its imports, or an object under one of its "
                              "storage locations)");
    lp_error_clear(&e);
    if (lp_storage_stat(s, key, &info, &e) != 0) {
        if (e.code != LP_E_NOT_FOUND) {
            req->err = e;
            return -1;
        }
        return lp_error_field(&req->err, LP_E_INVALID, "storage_key", "no object has this key");
    }
    if (info.size > (uint64_t)req->svc->cfg->import_max_bytes)
        return lp_error_set(&req->err, LP_E_TOO_LARGE, "the file is %llu bytes; the limit is %lld bytes "
                                                       "(import_max_bytes)",
                            (unsigned long long)info.size, (long long)req->svc->cfg->import_max_bytes);
    *size = (int64_t)info.size;
    return 0;
}

int lp_api_imports_create(lp_req *req)
{
    const char *format = NULL, *dataset_id = NULL, *storage_key = NULL;
    json_t *body, *options = NULL;
    char *options_text = NULL;
    int dry_run = 0, rc = -1;
    int64_t size = -1;
    char id[37];
    lp_dataset_row ds;
    lp_import_row row;
    lp_db *db = NULL;

    if (!(body = lp_req_json(req, 1)) ||
        read_body(req, body, &format, &dataset_id, &options, &dry_run, &storage_key) != 0)
        goto cleanup;
    if (!(db = lp_req_db(req)))
        goto cleanup;
    if (lp_db_dataset_get(db, req->arena, req->who.team_id, dataset_id, &ds, &req->err) != 0) {
        lp_error_field(&req->err, req->err.code, "dataset_id", "no such dataset");
        goto cleanup;
    }
    if (lp_api_class_map_check(req, db, json_object_get(options, "class_map"), "options.class_map.") != 0 || (storage_key && check_storage_key(req, db, storage_key, &size) != 0))
        goto cleanup;
    if (!(options_text = json_dumps(options, JSON_COMPACT))) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading the request");
        goto cleanup;
    }
    if (lp_db_begin(db, &req->err) != 0 ||
        lp_db_import_create(db, req->who.team_id, req->who.user_id[0] ? req->who.user_id : NULL, dataset_id, format,
                            options_text, dry_run, storage_key, size, id, &req->err) != 0 ||
        lp_audit_record(db, req->who.team_id, req->who.user_id, "import.create", "import", id,
                        json_pack("{s:s, s:s, s:O, s:b}", "format", format, "dataset_id", dataset_id, "options",
                                  options, "dry_run", dry_run),
                        &req->err) != 0 ||
        lp_db_commit(db, &req->err) != 0 || lp_db_import_get(db, req->arena, req->who.team_id, id, &row, &req->err) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (rc != 0 && db && lp_db_in_transaction(db))
        lp_db_rollback(db);
    if (db)
        lp_req_db_release(req);
    free(options_text);
    json_decref(options);
    return rc == 0 ? respond_import(req, 201, &row) : -1;
}

/* ---- GET ------------------------------------------------------------------------------ */

/* Reads import {id} of the caller's team. 0 or -1. */
static int load(lp_req *req, lp_import_row *row)
{
    const char *id = lp_identity_uuid_param(req, "id", "import");
    lp_db *db;
    int rc;
    if (!id || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_import_get(db, req->arena, req->who.team_id, id, row, &req->err);
    lp_req_db_release(req);
    return rc;
}

int lp_api_imports_get(lp_req *req)
{
    lp_import_row row;
    return load(req, &row) != 0 ? -1 : respond_import(req, 200, &row);
}

static json_t *listed_json(lp_req *req, const void *row)
{
    return import_json(req, row);
}

int lp_api_imports_list(lp_req *req)
{
    lp_page page;
    lp_import_row *rows;
    size_t n;
    lp_db *db;
    int rc;

    if (lp_page_read_checked(req, &page, lp_is_uuid) != 0)
        return -1;
    if (!(db = lp_req_db(req)))
        return -1;
    rc = lp_db_import_list(db, req->arena, req->who.team_id, page.after_id, page.size + 1, &rows, &n, &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    return lp_api_respond_id_keyset(req, "imports", &page, rows, n, sizeof *rows, offsetof(lp_import_row, id),
                                    listed_json);
}

/* ---- PUT /api/v1/imports/{id}/file ------------------------------------------------------- */

typedef struct upload {
    lp_storage_writer *w;
    char team_id[37], id[37];
    char key[LP_STORAGE_KEY_MAX + 1];
    uint64_t bytes, max;
} upload;

static int upload_chunk(lp_req *req, void *cls, const char *data, size_t len)
{
    upload *u = cls;
    if ((u->bytes += len) > u->max)
        return lp_error_set(&req->err, LP_E_TOO_LARGE, "the file is over %llu bytes (import_max_bytes)",
                            (unsigned long long)u->max);
    return lp_storage_writer_write(u->w, data, len, &req->err);
}

static int upload_end(lp_req *req, void *cls)
{
    upload *u = cls;
    lp_storage_object obj;
    lp_import_row row;
    lp_db *db;
    int rc;

    lp_storage_writer *w = u->w;
    u->w = NULL;
    if (lp_storage_writer_commit(w, &obj, &req->err) != 0 || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_import_set_upload(db, u->team_id, u->id, u->key, (int64_t)obj.size, obj.sha256, &req->err);
    if (rc == 1)
        lp_error_set(&req->err, LP_E_CONFLICT, "import %s has started; its file cannot change", u->id);
    if (rc == 0)
        rc = lp_db_import_get(db, req->arena, u->team_id, u->id, &row, &req->err);
    lp_req_db_release(req);
    return rc == 0 ? respond_import(req, 200, &row) : -1;
}

static void upload_cleanup(void *cls)
{
    upload *u = cls;
    lp_storage_writer_abort(u->w);
    free(u);
}

int lp_api_imports_file(lp_req *req)
{
    const char *clen = lp_req_header(req, "Content-Length");
    lp_storage *s = lp_slot_storage(req);
    lp_import_row row;
    upload *u;
    if (!s || load(req, &row) != 0)
        return -1;
    if (row.started_at[0]) {
        lp_error_set(&req->err, LP_E_CONFLICT, "import %s has started; its file cannot change", row.id);
        return lp_error_hint(&req->err, "create a new import");
    }
    if (clen && strtoull(clen, NULL, 10) > (unsigned long long)req->svc->cfg->import_max_bytes)
        return lp_error_set(&req->err, LP_E_TOO_LARGE, "the file is %s bytes; the limit is %lld bytes "
                                                       "(import_max_bytes)",
                            clen, (long long)req->svc->cfg->import_max_bytes);
    if (!(u = calloc(1, sizeof *u)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    lp_strlcpy(u->team_id, req->who.team_id, sizeof u->team_id);
    lp_strlcpy(u->id, row.id, sizeof u->id);
    u->max = (uint64_t)req->svc->cfg->import_max_bytes;
    lp_storage_key_import(req->who.team_id, row.id, u->key, sizeof u->key);
    if (!(u->w = lp_storage_writer_open(s, u->key, "application/octet-stream", &req->err))) {
        free(u);
        return -1;
    }
    lp_body_sink sink = {.chunk = upload_chunk, .end = upload_end, .cleanup = upload_cleanup, .cls = u};
    if (lp_req_stream_body(req, &sink) != 0) {
        upload_cleanup(u);
        return -1;
    }
    return 0;
}

/* ---- POST /api/v1/imports/{id}/start ------------------------------------------------------- */

int lp_api_imports_start(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "import");
    lp_import_row row;
    char job_id[37];
    lp_db *db;
    int rc = -1;
    if (!id || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) != 0 || lp_db_import_get(db, req->arena, req->who.team_id, id, &row, &req->err) != 0)
        goto done;
    if (row.started_at[0] || !row.uploaded_at[0]) {
        lp_error_set(&req->err, LP_E_CONFLICT, "import %s is %s: it cannot start", id,
                     row.started_at[0] ? "started already" : "waiting for its file");
        if (!row.started_at[0])
            lp_error_hint(&req->err, "PUT the file to %s first", upload_url(req, &row));
        goto done;
    }
    int started;
    if (lp_api_enqueue_job(req, db, "imports.run", json_pack("{s:s}", "import_id", id), 0, job_id) != 0 ||
        (started = lp_db_import_start(db, id, job_id, &req->err)) < 0)
        goto done;
    if (started == 1) {
        lp_error_set(&req->err, LP_E_CONFLICT, "import %s started meanwhile", id);
        goto done;
    }
    if (lp_audit_record(db, req->who.team_id, req->who.user_id, "import.start", "import", id,
                        json_pack("{s:s}", "job_id", job_id), &req->err) != 0 ||
        lp_db_commit(db, &req->err) != 0 || lp_db_import_get(db, req->arena, req->who.team_id, id, &row, &req->err) != 0)
        goto done;
    rc = 0;
done:
    if (rc != 0 && lp_db_in_transaction(db))
        lp_db_rollback(db);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    json_t *doc = import_json(req, &row);
    const char *url = lp_arena_printf(req->arena, "/api/v1/jobs/%s", job_id);
    if (!doc || !url || json_object_set_new(doc, "job", json_pack("{s:s, s:s, s:s, s:s}", "id", job_id, "kind",
                                                                  "imports.run", "status", "queued", "url", url)) != 0 ||
        lp_res_header(req, "Location", url) != 0) {
        json_decref(doc);
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory answering import %s", id);
    }
    return lp_res_json(req, 202, doc);
}
