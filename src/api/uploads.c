/* Giving slots their files (docs/MEDIA_PIPELINE.md):
 *
 *   PUT  /api/v1/items/{id}/slots/{slot}/file       the file as the body, streamed into storage
 *   POST /api/v1/items/{id}/slots/{slot}/upload     → a presigned PUT URL (S3, or a signed /files URL)
 *   POST /api/v1/items/{id}/slots/{slot}/confirm    checks the object is there
 *   POST /api/v1/items/{id}/slots/{slot}/files      a multi-file upload (upload_files.c)
 *   POST /api/v1/datasets/{id}/items/register-external   items whose files already are in the bucket
 *
 * register-external takes only keys under one of the team's storage
 * locations (storage_locations.c), and checks the dataset before any key.
 *
 * Each way ends the same: the slot names the new original, and a
 * media.normalize job is enqueued — all in one transaction, so the job runs
 * if and only if the upload is recorded. A slot that has media keeps serving
 * them until the new file is processed: the new original waits as the
 * slot's "next" (lp_db_media_slot_set_original); an empty or failed slot
 * becomes "processing". A pending upload not completed within
 * upload_abandon_after is expired (lp_db_media_uploads_expire) and the slot
 * put back as it was. Originals are stored under
 * "originals/<team>/<item>/<upload id>", so a new upload never overwrites the
 * file a running job is reading. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity_int.h"
#include "handlers_int.h"
#include "loupe/api/input.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/items_sql.h"
#include "loupe/jobs/enqueue.h"
#include "loupe/jobs/normalize.h"
#include "loupe/db/datasets_sql.h"
#include "slot_common_int.h"
#include "storage_locations_int.h"
#include "uploads_int.h"

#define REGISTER_MAX_ITEMS 1000
#define REGISTER_MAX_SLOTS 64

int lp_upload_mark_uploading(lp_req *req, lp_db *db, const lp_slot_row *slot)
{
    if (strcmp(slot->status, "ready") == 0 || strcmp(slot->status, "processing") == 0)
        return 0;
    return lp_db_media_slot_set_status(db, slot->id, "uploading", slot->error, &req->err);
}

int lp_upload_start_normalize(lp_req *req, lp_db *db, const char *item_id, const char *slot_id, const char *upload_id,
                              const char *key, int64_t size, const char *sha256, const char *content_type, int external,
                              char job_id[37])
{
    lp_normalize_start ns = {.team_id = req->who.team_id,
                             .created_by = req->who.user_id[0] ? req->who.user_id : NULL,
                             .item_id = item_id,
                             .slot_id = slot_id,
                             .upload_id = upload_id,
                             .key = key,
                             .size = size,
                             .sha256 = sha256,
                             .content_type = content_type,
                             .external = external};
    return lp_jobs_start_normalize(db, req->svc->cfg, &ns, job_id, &req->err);
}

int lp_upload_respond_started(lp_req *req, lp_db *db, const char *item_id, const char *slot_name, const char *slot_id,
                              const char *upload_id)
{
    lp_media_upload u;
    char url[96];
    json_t *doc;
    if (lp_db_media_upload_get(db, req->arena, slot_id, upload_id, &u, &req->err) != 0)
        return -1;
    snprintf(url, sizeof url, "/api/v1/jobs/%s", u.job_id);
    doc = json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:s, s:s, s:s}}", "item_id", item_id, "slot", slot_name, "status",
                    "processing", "upload", lp_slot_upload_json(&u), "job", "id", u.job_id, "kind",
                    "media.normalize", "status", "queued", "url", url);
    if (!doc)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    lp_res_header(req, "Location", url);
    return lp_res_json(req, 202, doc);
}

/* ---- PUT …/file ------------------------------------------------------------ */

typedef struct direct_upload {
    const lp_services *svc;
    lp_storage_writer *w;
    char team_id[37], user_id[37], item_id[37], slot_id[37], upload_id[37];
    char key[LP_STORAGE_KEY_MAX + 1];
    char prev_status[16];
    char *slot_name;      /* malloc */
    char *content_type;   /* malloc; may be NULL */
    int done;             /* recorded: cleanup has nothing to undo */
} direct_upload;

static int direct_chunk(lp_req *req, void *cls, const char *data, size_t len)
{
    direct_upload *u = cls;
    return lp_storage_writer_write(u->w, data, len, &req->err);
}

static int direct_end(lp_req *req, void *cls)
{
    direct_upload *u = cls;
    lp_storage_object obj;
    char job_id[37];
    lp_db *db;
    int rc = -1;

    lp_storage_writer *w = u->w;
    u->w = NULL;
    if (lp_storage_writer_commit(w, &obj, &req->err) != 0)
        return -1;
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 &&
        lp_upload_start_normalize(req, db, u->item_id, u->slot_id, u->upload_id, u->key, (int64_t)obj.size, obj.sha256,
                        u->content_type, 0, job_id) == 0 &&
        lp_db_commit(db, &req->err) == 0) {
        u->done = 1;
        rc = lp_upload_respond_started(req, db, u->item_id, u->slot_name, u->slot_id, u->upload_id);
    }
    lp_req_db_release(req);
    return rc;
}

/* The upload did not complete: record why and put the slot back. */
static void direct_cleanup(void *cls)
{
    direct_upload *u = cls;
    lp_error err;
    lp_db *db;

    lp_error_clear(&err);
    lp_storage_writer_abort(u->w);
    if (!u->done && (db = lp_db_acquire(u->svc->db, &err))) {
        if (lp_db_begin(db, &err) == 0 &&
            lp_db_media_upload_failed(db, u->upload_id, "the request ended before the whole file arrived", &err) == 0 &&
            lp_db_media_slot_restore(db, u->slot_id, u->prev_status, &err) == 0)
            lp_db_commit(db, &err);
        lp_db_release(db);
        if (err.code != LP_OK)
            LP_WARN("media", "upload %s: cannot record its failure: %s", u->upload_id, err.message);
    }
    free(u->slot_name);
    free(u->content_type);
    free(u);
}

int lp_api_slot_file_put(lp_req *req)
{
    const char *ctype = lp_req_header(req, "Content-Type");
    const char *clen = lp_req_header(req, "Content-Length");
    lp_storage *s = lp_slot_storage(req);
    direct_upload *u = NULL;
    lp_slot_row slot;
    lp_db *db;
    int rc = -1;

    if (!s)
        return -1;
    if (clen && strtoull(clen, NULL, 10) > (unsigned long long)req->svc->cfg->upload_max_bytes)
        return lp_error_set(&req->err, LP_E_TOO_LARGE, "the file is %s bytes; the limit is %lld bytes (upload_max_bytes)",
                            clen, (long long)req->svc->cfg->upload_max_bytes);
    if (ctype && (strlen(ctype) > LP_SLOT_CONTENT_TYPE_MAX || !lp_slot_media_type_ok(ctype)))
        ctype = NULL;
    if (!(u = calloc(1, sizeof *u)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    u->svc = req->svc;
    if (!(db = lp_req_db(req))) {
        free(u);
        return -1;
    }
    if (lp_db_begin(db, &req->err) == 0 && lp_slot_from_route(req, db, 1, &slot) == 0 && lp_uuid_v4(u->upload_id) == 0) {
        lp_storage_key_original(req->who.team_id, slot.item_id, u->upload_id, u->key, sizeof u->key);
        if (lp_db_media_upload_create(db, req->arena, u->upload_id, req->who.team_id, slot.item_id, slot.id, "direct",
                                      u->key, ctype, -1, 0, slot.status, NULL, &req->err) == 0 &&
            lp_upload_mark_uploading(req, db, &slot) == 0 &&
            lp_db_commit(db, &req->err) == 0)
            rc = 0;
    }
    lp_req_db_release(req);
    if (rc != 0) {
        free(u);
        return -1;
    }
    lp_strlcpy(u->team_id, req->who.team_id, sizeof u->team_id);
    lp_strlcpy(u->item_id, slot.item_id, sizeof u->item_id);
    lp_strlcpy(u->slot_id, slot.id, sizeof u->slot_id);
    lp_strlcpy(u->prev_status, slot.status, sizeof u->prev_status);
    u->slot_name = strdup(slot.name);
    u->content_type = ctype ? strdup(ctype) : NULL;
    u->w = lp_storage_writer_open(s, u->key, ctype, &req->err);
    lp_body_sink sink = {.chunk = direct_chunk, .end = direct_end, .cleanup = direct_cleanup, .cls = u};
    if (!u->slot_name || !u->w) {
        if (req->err.code == LP_OK)
            lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        direct_cleanup(u);
        return -1;
    }
    if (lp_req_stream_body(req, &sink) != 0) {
        direct_cleanup(u); /* not registered: ours to undo */
        return -1;
    }
    return 0;
}

/* ---- POST …/upload and …/confirm ------------------------------------------ */

/* The JSON body, or an empty object when there is none. */
static json_t *optional_body(lp_req *req)
{
    if (!req->body || req->body_len == 0) {
        json_t *o = json_object();
        if (!o)
            lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        return o;
    }
    json_t *b = lp_req_json(req, 1);
    return b ? json_incref(b) : NULL;
}

int lp_api_slot_upload_create(lp_req *req)
{
    static const char *const fields[] = {"content_type", "size", NULL};
    const char *ctype = NULL;
    int64_t size = -1;
    char upload_id[37], key[LP_STORAGE_KEY_MAX + 1];
    lp_storage *s = lp_slot_storage(req);
    lp_storage_url *url;
    lp_slot_row slot;
    lp_media_upload u;
    json_t *body, *doc, *headers;
    lp_db *db;
    int rc = -1;

    if (!s || !(body = optional_body(req)))
        return -1;
    lp_in_only(req, body, NULL, fields);
    lp_in_string(req, body, NULL, "content_type", LP_IN_NULLABLE, LP_SLOT_CONTENT_TYPE_MAX, &ctype);
    lp_in_int(req, body, NULL, "size", LP_IN_NULLABLE, 0, INT64_MAX, &size);
    if (ctype && !lp_slot_media_type_ok(ctype))
        lp_error_field(&req->err, LP_E_INVALID, "content_type",
                       "must be a media type such as \"image/jpeg\" (printable ASCII, no line breaks)");
    if (ctype)
        ctype = lp_arena_strdup(req->arena, ctype);
    json_decref(body);
    if (req->err.code != LP_OK)
        return -1;
    if (size > req->svc->cfg->upload_max_bytes)
        return lp_error_field(&req->err, LP_E_TOO_LARGE, "size", "%lld bytes is over the limit of %lld bytes (upload_max_bytes)",
                              (long long)size, (long long)req->svc->cfg->upload_max_bytes);
    if (!(url = lp_arena_alloc(req->arena, sizeof *url)) || lp_uuid_v4(upload_id) != 0)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 && lp_slot_from_route(req, db, 1, &slot) == 0) {
        lp_storage_key_original(req->who.team_id, slot.item_id, upload_id, key, sizeof key);
        if (lp_storage_presign(s, LP_STORAGE_PUT, key, lp_now_wall_ms(), 0, url, &req->err) == 0 &&
            lp_db_media_upload_create(db, req->arena, upload_id, req->who.team_id, slot.item_id, slot.id, "presigned",
                                      key, ctype, size, url->expires * 1000, slot.status, &u, &req->err) == 0 &&
            lp_upload_mark_uploading(req, db, &slot) == 0 &&
            lp_db_commit(db, &req->err) == 0)
            rc = 0;
    }
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    headers = ctype ? json_pack("{s:s}", "Content-Type", ctype) : json_object();
    doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o}", "upload_id", upload_id, "upload_url", url->url,
                    "method", "PUT", "expires_at", u.expires_at, "headers", headers, "key", key, "confirm_url",
                    lp_arena_printf(req->arena, "/api/v1/items/%s/slots/%s/confirm", slot.item_id, slot.name),
                    "upload", lp_slot_upload_json(&u));
    if (!doc)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    lp_res_header(req, "Cache-Control", "no-store");
    return lp_res_json(req, 201, doc);
}

int lp_api_slot_upload_confirm(lp_req *req)
{
    static const char *const fields[] = {"upload_id", NULL};
    const char *upload_id = NULL;
    lp_storage *s = lp_slot_storage(req);
    lp_storage_info info;
    lp_slot_row slot;
    lp_media_upload u;
    char job_id[37];
    json_t *body;
    lp_db *db;
    int rc = -1;

    if (!s || !(body = optional_body(req)))
        return -1;
    lp_in_only(req, body, NULL, fields);
    lp_in_uuid(req, body, NULL, "upload_id", LP_IN_NULLABLE, &upload_id);
    if (req->err.code != LP_OK) {
        json_decref(body);
        return -1;
    }
    if (upload_id)
        upload_id = lp_arena_strdup(req->arena, upload_id);
    json_decref(body);
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) != 0 || lp_slot_from_route(req, db, 1, &slot) != 0 ||
        lp_db_media_upload_get(db, req->arena, slot.id, upload_id, &u, &req->err) != 0)
        goto cleanup;
    if (strcmp(u.kind, "presigned") != 0) {
        lp_error_set(&req->err, LP_E_CONFLICT, "the latest upload of this slot (%s) was not made with an upload URL",
                     u.id);
        lp_error_hint(&req->err, "ask for one with POST …/upload, PUT the file to it, then confirm");
        goto cleanup;
    }
    if (strcmp(u.state, "stored") == 0) { /* confirmed before: same answer */
        lp_db_rollback(db);
        rc = lp_upload_respond_started(req, db, slot.item_id, slot.name, slot.id, u.id);
        goto cleanup;
    }
    if (strcmp(u.state, "pending") != 0) {
        lp_error_set(&req->err, LP_E_CONFLICT, "upload %s has failed; ask for a new upload URL", u.id);
        goto cleanup;
    }
    if (lp_storage_stat(s, u.key, &info, &req->err) != 0) {
        if (req->err.code == LP_E_NOT_FOUND) {
            lp_error_clear(&req->err);
            lp_error_set(&req->err, LP_E_CONFLICT, "nothing has been uploaded for upload %s yet", u.id);
            lp_error_hint(&req->err, "PUT the file to its upload_url (valid until %s), then confirm", u.expires_at);
        }
        goto cleanup;
    }
    if (info.size > (uint64_t)req->svc->cfg->upload_max_bytes || (u.size >= 0 && info.size != (uint64_t)u.size)) {
        int over_limit = info.size > (uint64_t)req->svc->cfg->upload_max_bytes;
        lp_error set_err;
        lp_error_clear(&set_err);
        lp_storage_delete(s, u.key, &set_err);
        lp_db_media_upload_failed(db, u.id, over_limit ? "over upload_max_bytes" : "not the declared size", &set_err);
        lp_db_media_slot_restore(db, slot.id, "empty", &set_err);
        lp_db_commit(db, &set_err);
        if (over_limit)
            lp_error_set(&req->err, LP_E_TOO_LARGE,
                         "the uploaded file is %llu bytes; the limit is %lld bytes (upload_max_bytes)",
                         (unsigned long long)info.size, (long long)req->svc->cfg->upload_max_bytes);
        else
            lp_error_set(&req->err, LP_E_INVALID, "the uploaded file is %llu bytes, not the %lld bytes declared",
                         (unsigned long long)info.size, (long long)u.size);
        goto cleanup;
    }
    if (lp_upload_start_normalize(req, db, slot.item_id, slot.id, u.id, u.key, (int64_t)info.size, NULL, u.content_type, 0,
                        job_id) != 0 ||
        lp_db_commit(db, &req->err) != 0)
        goto cleanup;
    rc = lp_upload_respond_started(req, db, slot.item_id, slot.name, slot.id, u.id);
cleanup:
    lp_req_db_release(req);
    return rc;
}

/* ---- POST /api/v1/datasets/{id}/items/register-external ------------------- */

typedef struct ext_slot {
    lp_slot_input in;
    const char *key;
    lp_storage_info info;
} ext_slot;

typedef struct ext_item {
    const char *name, *path;
    ext_slot *slots;
    size_t nslots;
} ext_item;

/* "/" or "/a/b": no trailing slash, no empty segment (the items table's rule). */
static int path_ok(const char *p)
{
    if (!p || p[0] != '/')
        return 0;
    if (p[1] == '\0')
        return 1;
    for (const char *c = p; *c; c++)
        if (*c == '/' && (c[1] == '/' || c[1] == '\0'))
            return 0;
    return 1;
}

static int read_external(lp_req *req, lp_storage *s, const lp_storage_location_row *locs, size_t nlocs, json_t *body,
                         ext_item **out, size_t *n)
{
    static const char *const top[] = {"items", NULL};
    static const char *const item_fields[] = {"name", "path", "slots", NULL};
    static const char *const slot_fields[] = {"name", "type", "key", NULL};
    static const char *const types[] = {"image", "video", NULL};
    json_t *items, *slots;
    ext_item *list;

    lp_in_only(req, body, NULL, top);
    lp_in_array(req, body, NULL, "items", LP_IN_REQUIRED, REGISTER_MAX_ITEMS, &items);
    if (req->err.code != LP_OK)
        return -1;
    if (json_array_size(items) == 0)
        return lp_error_field(&req->err, LP_E_INVALID, "items", "must list at least one item");
    *n = json_array_size(items);
    if (!(list = lp_arena_calloc(req->arena, *n, sizeof *list)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < *n; i++) {
        json_t *it = json_array_get(items, i);
        char *prefix = lp_arena_printf(req->arena, "items[%zu].", i);
        if (!prefix)
            return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        if (!json_is_object(it)) {
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "items[%zu]", i), "must be an object");
            continue;
        }
        lp_in_only(req, it, prefix, item_fields);
        lp_in_string_limit(req, it, prefix, "name", LP_IN_REQUIRED, (size_t)req->svc->cfg->item_name_max, "item_name_max",
                           &list[i].name);
        list[i].path = "/";
        lp_in_string_limit(req, it, prefix, "path", LP_IN_OPTIONAL, (size_t)req->svc->cfg->item_path_max, "item_path_max",
                           &list[i].path);
        if (list[i].name && strchr(list[i].name, '/'))
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%sname", prefix),
                           "must not contain \"/\" (put folders in path)");
        if (!path_ok(list[i].path))
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%spath", prefix),
                           "must be \"/\" or a folder like \"/a/b\" (no trailing or double slash)");
        slots = NULL;
        lp_in_array(req, it, prefix, "slots", LP_IN_REQUIRED, REGISTER_MAX_SLOTS, &slots);
        if (!slots)
            continue;
        if (json_array_size(slots) == 0) {
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%sslots", prefix),
                           "must list at least one slot");
            continue;
        }
        list[i].nslots = json_array_size(slots);
        if (!(list[i].slots = lp_arena_calloc(req->arena, list[i].nslots, sizeof *list[i].slots)))
            return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        for (size_t j = 0; j < list[i].nslots; j++) {
            json_t *sl = json_array_get(slots, j);
            ext_slot *es = &list[i].slots[j];
            char *sp = lp_arena_printf(req->arena, "%sslots[%zu].", prefix, j);
            int type = 0;
            if (!sp)
                return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
            if (!json_is_object(sl)) {
                lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%sslots[%zu]", prefix, j),
                               "must be an object");
                continue;
            }
            lp_in_only(req, sl, sp, slot_fields);
            lp_in_string_limit(req, sl, sp, "name", LP_IN_REQUIRED, (size_t)req->svc->cfg->slot_name_max, "slot_name_max",
                               &es->in.name);
            lp_in_enum(req, sl, sp, "type", LP_IN_REQUIRED, types, &type);
            lp_in_string(req, sl, sp, "key", LP_IN_REQUIRED, LP_STORAGE_KEY_MAX, &es->key);
            es->in.type = types[type];
            es->in.width = es->in.height = es->in.frame_count = -1;
            es->in.fps = -1;
            if (!es->key)
                continue;
            char *field = lp_arena_printf(req->arena, "%skey", sp);
            if (lp_storage_key_check(es->key, field, &req->err) != 0)
                continue;
            if (lp_storage_key_kind_of(es->key) != LP_STORAGE_KEY_EXTERNAL) {
                lp_error_field(&req->err, LP_E_INVALID, field,
                               "names a file Loupe manages itself (derived/…, originals/…), not an external object");
                continue;
            }
            if (!lp_api_storage_location_covers(locs, nlocs, es->key)) {
                lp_error_field(&req->err, LP_E_INVALID, field,
                               "is not under a storage location of this team (GET /api/v1/storage-locations)");
                continue;
            }
            lp_error e;
            lp_error_clear(&e);
            if (lp_storage_stat(s, es->key, &es->info, &e) != 0) {
                if (e.code == LP_E_NOT_FOUND)
                    lp_error_field(&req->err, LP_E_INVALID, field, "no object with this key exists in storage");
                else
                    return lp_error_set(&req->err, e.code, "%s", e.message);
            } else if (es->info.size > (uint64_t)req->svc->cfg->upload_max_bytes) {
                lp_error_field(&req->err, LP_E_INVALID, field, "the object is %llu bytes; the limit is %lld (upload_max_bytes)",
                               (unsigned long long)es->info.size, (long long)req->svc->cfg->upload_max_bytes);
            }
        }
    }
    *out = list;
    return req->err.code != LP_OK ? -1 : 0;
}

int lp_api_items_register_external(lp_req *req)
{
    const char *dataset_id = lp_identity_uuid_param(req, "id", "dataset");
    lp_storage *s = lp_slot_storage(req);
    ext_item *list = NULL;
    size_t n = 0;
    json_t *body, *out_items, *doc;
    lp_db *db;
    int rc = -1;

    lp_storage_location_row *locs;
    lp_dataset_row ds;
    size_t nlocs;

    if (!dataset_id || !s || !(body = lp_req_json(req, 1)))
        return -1;
    /* the dataset first: another team's dataset is 404 before any key is looked at */
    if (!(db = lp_req_db(req)))
        return -1;
    rc = lp_db_dataset_get(db, req->arena, req->who.team_id, dataset_id, &ds, &req->err) == 0 &&
                 lp_api_storage_locations_load(req, db, &locs, &nlocs) == 0
             ? 0
             : -1;
    lp_req_db_release(req);
    if (rc != 0 || read_external(req, s, locs, nlocs, body, &list, &n) != 0)
        return -1;
    rc = -1;
    if (!(out_items = json_array()))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    if (!(db = lp_req_db(req))) {
        json_decref(out_items);
        return -1;
    }
    if (lp_db_begin(db, &req->err) != 0)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        lp_slot_input *inputs = lp_arena_calloc(req->arena, list[i].nslots, sizeof *inputs);
        lp_item_row row;
        json_t *slots = json_array(), *item;
        if (!inputs || !slots) {
            json_decref(slots);
            lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
            goto cleanup;
        }
        for (size_t j = 0; j < list[i].nslots; j++)
            inputs[j] = list[i].slots[j].in;
        int made = lp_db_item_create(db, req->arena, req->who.team_id, dataset_id, list[i].name, list[i].path, 0, NULL,
                                     inputs, list[i].nslots, &row, &req->err);
        if (made != 0) {
            json_decref(slots);
            if (made == 1)
                lp_error_field(&req->err, LP_E_CONFLICT, lp_arena_printf(req->arena, "items[%zu].name", i),
                               "an item with this path and name already exists in the dataset");
            goto cleanup;
        }
        item = json_pack("{s:s, s:s, s:s, s:o}", "id", row.id, "name", row.name, "path", row.path, "slots", slots);
        if (!item || json_array_append_new(out_items, item) != 0) {
            lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
            goto cleanup;
        }
        for (size_t j = 0; j < row.nslots && j < list[i].nslots; j++) {
            char upload_id[37], job_id[37];
            const ext_slot *es = &list[i].slots[j];
            if (lp_uuid_v4(upload_id) != 0 ||
                lp_db_media_upload_create(db, req->arena, upload_id, req->who.team_id, row.id, row.slots[j].id,
                                          "external", es->key, NULL, -1, 0, NULL, NULL, &req->err) != 0 ||
                lp_upload_start_normalize(req, db, row.id, row.slots[j].id, upload_id, es->key, (int64_t)es->info.size, NULL,
                                NULL, 1, job_id) != 0)
                goto cleanup;
            json_array_append_new(slots, json_pack("{s:s, s:s, s:s, s:s}", "name", row.slots[j].name, "key", es->key,
                                                   "upload_id", upload_id, "job_id", job_id));
        }
    }
    if (lp_db_commit(db, &req->err) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    lp_req_db_release(req);
    if (rc != 0) {
        json_decref(out_items);
        return -1;
    }
    if (!(doc = json_pack("{s:o}", "items", out_items)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    return lp_res_json(req, 202, doc);
}
