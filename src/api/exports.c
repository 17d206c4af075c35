/* Exports (docs/API.md "Exports", docs/FORMATS.md):
 *   POST /api/v1/exports                 {format, filters, options?} → 202 + the export (MANAGE)
 *   GET  /api/v1/exports                 the team's exports, newest first (READ)
 *   GET  /api/v1/exports/{id}            status, progress, ETA and, when done, a signed download URL
 *   GET  /api/v1/exports/{id}/download   302 to the signed URL (so `curl -L` fetches the archive)
 * The export row, its exports.write job and the audit row are written in one
 * transaction; the job writes the archive into storage (src/jobs/kinds). */
#include <jansson.h>
#include <stddef.h>
#include <string.h>

#include "handlers_int.h"
#include "identity_int.h"
#include "loupe/api/audit.h"
#include "loupe/api/input.h"
#include "loupe/core/util.h"
#include "loupe/db/datasets_sql.h"
#include "loupe/db/exports_sql.h"
#include "loupe/db/item_filter.h"
#include "loupe/formats/export.h"
#include "loupe/jobs/enqueue.h"
#include "respond_int.h"
#include "slot_common_int.h"

static json_t *text_json(const char *text)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

static json_t *str_or_null(const char *s) { return s && *s ? json_string(s) : json_null(); }

/* The export as the API shows it; the download URL once the archive exists. */
static json_t *export_json(lp_req *req, const lp_export_row *e)
{
    json_t *url = json_null(), *expires = json_null();
    lp_storage *s;
    if (e->storage_key && strcmp(e->status, "succeeded") == 0 && (s = lp_slot_storage(req))) {
        lp_storage_url u;
        char when[25];
        if (lp_storage_presign(s, LP_STORAGE_GET, e->storage_key, lp_now_wall_ms(), 0, &u, &req->err) == 0) {
            lp_time_iso8601(u.expires * 1000, when);
            url = json_string(u.url);
            expires = json_string(when);
        }
    }
    return json_pack("{s:s, s:s, s:o, s:o, s:s, s:f, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o}", "id",
                     e->id, "format", e->format, "variant", str_or_null(e->variant), "filters", text_json(e->filters),
                     "status", e->status, "progress", e->progress, "eta", str_or_null(e->eta), "job_id",
                     str_or_null(e->job_id), "error", str_or_null(e->error), "size_bytes",
                     e->size_bytes >= 0 ? json_integer(e->size_bytes) : json_null(), "sha256",
                     str_or_null(e->sha256), "stats", text_json(e->stats), "download_url", url,
                     "download_expires_at", expires, "created_by", str_or_null(e->created_by), "created_at",
                     e->created_at, "finished_at", str_or_null(e->finished_at));
}

static const char *const BODY_MEMBERS[] = {"format", "filters", "options", NULL};
static const char *const OPTION_MEMBERS[] = {"variant", "frames", "include_media", NULL};

/* What the body's options say. */
typedef struct export_options {
    const char *variant;   /* NULL = the format's default */
    int frames;            /* lp_fmt_frames */
    int include_media;
} export_options;

/* Reads and checks the body: *format, the options, the filter. */
static int read_body(lp_req *req, json_t *body, const char **format, export_options *o, json_t **filters,
                     lp_item_filter *f)
{
    json_t *options = NULL;
    int which;
    memset(o, 0, sizeof *o);
    lp_in_only(req, body, NULL, BODY_MEMBERS);
    if (lp_in_enum(req, body, NULL, "format", LP_IN_REQUIRED, lp_fmt_writer_names, &which) == 0)
        *format = lp_fmt_writer_names[which];
    lp_in_object(req, body, NULL, "filters", LP_IN_REQUIRED, filters);
    if (lp_in_object(req, body, NULL, "options", LP_IN_OPTIONAL, &options) == 0 && options) {
        lp_in_only(req, options, "options.", OPTION_MEMBERS);
        lp_in_string(req, options, "options.", "variant", LP_IN_OPTIONAL, 32, &o->variant);
        int frames = -1;
        if (lp_in_enum(req, options, "options.", "frames", LP_IN_OPTIONAL, lp_fmt_frames_names, &frames) == 0 &&
            frames >= 0)
            o->frames = frames + 1;
        lp_in_bool(req, options, "options.", "include_media", LP_IN_OPTIONAL, &o->include_media);
    }
    if (req->err.code != LP_OK)
        return -1;
    if (!lp_fmt_variant_valid(*format, o->variant))
        return lp_error_field(&req->err, LP_E_INVALID, "options.variant", "is not a variant of the %s format", *format);
    if (o->frames && !lp_fmt_per_image(*format))
        return lp_error_field(&req->err, LP_E_INVALID, "options.frames", "applies only to coco, voc, yolo and mask");
    if (lp_item_filter_read(*filters, LP_FILTER_JSON, req->who.team_id, req->arena, f, &req->err) != 0)
        return -1;
    if (!f->dataset_id && !f->nitem_ids)
        return lp_error_field(&req->err, LP_E_INVALID, "filters.dataset_id", "is required (or filters.item_ids)");
    return 0;
}

/* NIfTI label maps are written from volume slots: a selection without any
 * is refused (422 naming format) rather than exported empty. 0 or -1. */
static int nifti_has_volumes(lp_req *req, lp_db *db, lp_item_filter f)
{
    f.slot_type = "volume";
    int64_t n = lp_db_items_count(db, &f, 1, &req->err);
    if (n < 0)
        return -1;
    return n == 0 ? lp_error_field(&req->err, LP_E_INVALID, "format", "no volume slots: no selected item has a volume slot")
                  : 0;
}

int lp_api_exports_create(lp_req *req)
{
    const char *format = NULL;
    export_options o;
    json_t *body, *filters = NULL, *payload = NULL;
    char *filters_text = NULL;
    char id[37], job_id[37];
    lp_item_filter f;
    lp_dataset_row ds;
    lp_export_row row;
    lp_job_spec spec;
    lp_db *db;
    int rc = -1;

    if (!(body = lp_req_json(req, 1)) || read_body(req, body, &format, &o, &filters, &f) != 0)
        return -1;
    const char *variant = o.variant;
    if (!(db = lp_req_db(req)))
        return -1;
    if (f.dataset_id && lp_db_dataset_get(db, req->arena, req->who.team_id, f.dataset_id, &ds, &req->err) != 0) {
        lp_error_field(&req->err, LP_E_NOT_FOUND, "filters.dataset_id", "no such dataset");
        goto cleanup;
    }
    if (strcmp(format, "nifti") == 0 && nifti_has_volumes(req, db, f) != 0)
        goto cleanup;
    if (!(filters_text = json_dumps(filters, JSON_COMPACT))) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading the request");
        goto cleanup;
    }
    if (lp_db_begin(db, &req->err) != 0 ||
        lp_db_export_create(db, req->who.team_id, req->who.user_id[0] ? req->who.user_id : NULL, format, variant,
                            filters_text, id, &req->err) != 0)
        goto cleanup;
    payload = json_pack("{s:s, s:s, s:O, s:b}", "export_id", id, "format", format, "filters", filters,
                        "include_media", o.include_media);
    if (payload && variant)
        json_object_set_new(payload, "variant", json_string(variant));
    if (payload && o.frames)
        json_object_set_new(payload, "frames", json_string(lp_fmt_frames_names[o.frames - 1]));
    if (!payload) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory creating an export");
        goto cleanup;
    }
    memset(&spec, 0, sizeof spec);
    spec.kind = "exports.write";
    spec.team_id = req->who.team_id;
    spec.created_by = req->who.user_id[0] ? req->who.user_id : NULL;
    spec.payload = payload;
    if (lp_jobs_enqueue(db, req->svc->cfg, &spec, job_id, &req->err) != 0 ||
        lp_db_export_set_job(db, id, job_id, &req->err) != 0 ||
        lp_audit_record(db, req->who.team_id, req->who.user_id, "export.create", "export", id,
                        json_pack("{s:s, s:o, s:O}", "format", format, "variant", str_or_null(variant), "filters",
                                  filters),
                        &req->err) != 0 ||
        lp_db_commit(db, &req->err) != 0 || lp_db_export_get(db, req->arena, req->who.team_id, id, &row, &req->err) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (rc != 0 && lp_db_in_transaction(db))
        lp_db_rollback(db);
    lp_req_db_release(req);
    free(filters_text);
    json_decref(payload);
    if (rc != 0)
        return -1;
    json_t *doc = export_json(req, &row);
    const char *loc = lp_arena_printf(req->arena, "/api/v1/exports/%s", id);
    if (!doc || !loc || lp_res_header(req, "Location", loc) != 0) {
        json_decref(doc);
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory rendering export %s", id);
    }
    return lp_res_json(req, 202, doc);
}

/* Reads export {id} of the caller's team. 0 or -1. */
static int load(lp_req *req, lp_export_row *row)
{
    const char *id = lp_identity_uuid_param(req, "id", "export");
    lp_db *db;
    int rc;
    if (!id || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_export_get(db, req->arena, req->who.team_id, id, row, &req->err);
    lp_req_db_release(req);
    return rc;
}

int lp_api_exports_get(lp_req *req)
{
    lp_export_row row;
    if (load(req, &row) != 0)
        return -1;
    json_t *doc = export_json(req, &row);
    return doc ? lp_res_json(req, 200, doc) : lp_error_set(&req->err, LP_E_NOMEM, "out of memory rendering an export");
}

int lp_api_exports_download(lp_req *req)
{
    lp_export_row row;
    lp_storage_url *u;
    lp_storage *s = lp_slot_storage(req);
    if (!s || load(req, &row) != 0)
        return -1;
    if (strcmp(row.status, "succeeded") != 0 || !row.storage_key) {
        lp_error_set(&req->err, LP_E_CONFLICT, "export %s is %s: its archive is not ready", row.id, row.status);
        return lp_error_hint(&req->err, "poll GET /api/v1/exports/%s until its status is succeeded", row.id);
    }
    if (!(u = lp_arena_alloc(req->arena, sizeof *u)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    if (lp_storage_presign(s, LP_STORAGE_GET, row.storage_key, lp_now_wall_ms(), 0, u, &req->err) != 0)
        return -1;
    lp_res_header(req, "Cache-Control", "private, no-cache");
    return lp_res_redirect(req, 302, u->url);
}

static json_t *listed_json(lp_req *req, const void *row)
{
    return export_json(req, row);
}

int lp_api_exports_list(lp_req *req)
{
    lp_page page;
    lp_export_row *rows;
    size_t n;
    lp_db *db;
    int rc;

    if (lp_page_read_checked(req, &page, lp_is_uuid) != 0)
        return -1;
    if (!(db = lp_req_db(req)))
        return -1;
    rc = lp_db_export_list(db, req->arena, req->who.team_id, page.after_id, page.size + 1, &rows, &n, &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    return lp_api_respond_id_keyset(req, "exports", &page, rows, n, sizeof *rows, offsetof(lp_export_row, id),
                                    listed_json);
}
