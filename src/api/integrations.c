/* Inbound integrations (docs/WEBHOOKS.md, Inbound integrations):
 *
 *   POST   /api/v1/integrations                {name} → 201 {id, name, url, secret, created_at} (MANAGE)
 *   GET    /api/v1/integrations                the team's integrations, without secrets (MANAGE)
 *   GET    /api/v1/integrations/{id}           (MANAGE)
 *   DELETE /api/v1/integrations/{id}           → 204 (MANAGE)
 *   POST   /api/v1/hooks/{integration_id}      PUBLIC: a third party's signed push
 *
 * A push is signed the Standard Webhooks way with the integration's secret
 * (webhook-id, webhook-timestamp within 5 minutes, webhook-signature) and
 * says {"type": "<action>", "data": {…}}. It runs as the integration's team,
 * in one transaction with the record of its webhook-id: a webhook-id seen
 * before answers the stored answer and writes nothing; a refused push
 * writes nothing at all. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "annotations_int.h"
#include "handlers_int.h"
#include "identity_int.h"
#include "items_int.h"
#include "slot_common_int.h"
#include "respond_int.h"
#include "loupe/api/audit.h"
#include "loupe/api/input.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/crypto/encode.h"
#include "loupe/crypto/webhook_sig.h"
#include "loupe/db/integrations_sql.h"
#include "loupe/db/item_filter.h"
#include "loupe/db/items_sql.h"
#include "loupe/db/media_sql.h"
#include "loupe/jobs/enqueue.h"
#include "loupe/jobs/normalize.h"
#include "loupe/net/client.h"
#include "loupe/storage/storage.h"

#define TOLERANCE_S 300
#define PRIORITY_LIMIT 2147483647

static json_t *integration_json(lp_req *req, const void *row)
{
    const lp_integration_row *r = row;
    char url[512];
    snprintf(url, sizeof url, "%s/api/v1/hooks/%s", req->svc->public_url ? req->svc->public_url : "", r->id);
    return json_pack("{s:s, s:s, s:s, s:s}", "id", r->id, "name", r->name, "url", url, "created_at", r->created_at);
}

int lp_api_integrations_create(lp_req *req)
{
    static const char *const members[] = {"name", NULL};
    json_t *body = lp_req_json(req, 1);
    const char *name = NULL;
    char secret[LP_WEBHOOK_SECRET_MAX];
    lp_integration_row row;
    lp_db *db;
    int rc = -1;

    if (!body)
        return -1;
    lp_in_only(req, body, NULL, members);
    lp_in_string_limit(req, body, NULL, "name", LP_IN_REQUIRED, (size_t)req->svc->cfg->integration_name_max,
                       "integration_name_max", &name);
    if (req->err.code != LP_OK)
        return -1;
    if (lp_webhook_secret_new(secret, sizeof secret) != 0)
        return lp_error_set(&req->err, LP_E_INTERNAL, "cannot generate a secret (no randomness available)");
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 &&
        lp_db_integration_create(db, req->arena, req->who.team_id, req->who.user_id[0] ? req->who.user_id : NULL,
                                 name, secret, req->svc->cfg->integrations_max, &row, &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "integration.create", "integration", row.id,
                        json_pack("{s:s}", "name", row.name), &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    return rc != 0 ? -1
                   : lp_api_respond_secret(req, "/api/v1/integrations", row.id, integration_json(req, &row), secret);
}

int lp_api_integrations_list(lp_req *req)
{
    lp_page page;
    lp_integration_row *rows;
    size_t n;
    lp_db *db;
    int rc;

    if (lp_page_read_checked(req, &page, lp_api_uuid_cursor_ok) != 0 || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_integration_list(db, req->arena, req->who.team_id, page.after_id, page.size + 1, &rows, &n, &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    return lp_api_respond_id_keyset(req, "items", &page, rows, n, sizeof *rows, offsetof(lp_integration_row, id),
                                    integration_json);
}

int lp_api_integrations_get(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "integration");
    lp_integration_row row;
    lp_db *db;
    int rc;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_integration_get(db, req->arena, req->who.team_id, id, &row, &req->err);
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_json(req, 200, integration_json(req, &row));
}

int lp_api_integrations_delete(lp_req *req)
{
    return lp_api_respond_deleted(req, "integration", "integration", lp_db_integration_delete);
}

/* Field errors from index `from` on were named from an inner document's
 * top ("name", "create[2].polygon"): name them from the push's. strip is
 * the inner name's own first part to replace ("create"), or "" to keep it. */
static void name_fields_from(lp_req *req, size_t from, const char *prefix, const char *strip)
{
    for (size_t i = from; i < req->err.nfields; i++) {
        char *f = req->err.fields[i].field;
        char renamed[sizeof req->err.fields[i].field + 64];
        size_t n = strlen(strip);
        if (strncmp(f, strip, n) != 0)
            continue;
        snprintf(renamed, sizeof renamed, "%s%s", prefix, f + n);
        lp_strlcpy(f, renamed, sizeof req->err.fields[i].field);
    }
}

/* ---- Pushes --------------------------------------------------------------- */

/* What a push wrote outside its transaction (files given inline), removed
 * again when the push is refused or its transaction does not commit. */
typedef struct push_undo {
    const char **keys; /* arena */
    size_t n;
} push_undo;

static void push_undo_run(lp_req *req, const push_undo *undo)
{
    lp_storage *s = undo->n ? lp_slot_storage(req) : NULL;
    for (size_t i = 0; s && i < undo->n; i++) {
        lp_error e;
        lp_error_clear(&e);
        if (lp_storage_delete(s, undo->keys[i], &e) != 0)
            LP_WARN("integrations", "cannot remove %s, stored by a push that was not recorded: %s", undo->keys[i],
                    e.message);
    }
}

/* items.update {"item_id", "metadata"?, "priority"?}: metadata merged into
 * the item's as the bulk update does. */
static json_t *action_items_update(lp_req *req, lp_db *db, json_t *data, push_undo *undo)
{
    static const char *const members[] = {"item_id", "metadata", "priority", NULL};
    const char *item_id = NULL;
    json_t *metadata = NULL;
    int64_t priority = 0;
    char *meta_text = NULL;
    int64_t n;

    (void)undo;
    lp_in_only(req, data, "data.", members);
    lp_in_uuid(req, data, "data.", "item_id", LP_IN_REQUIRED, &item_id);
    lp_in_object(req, data, "data.", "metadata", LP_IN_OPTIONAL, &metadata);
    lp_in_int(req, data, "data.", "priority", LP_IN_OPTIONAL, -PRIORITY_LIMIT, PRIORITY_LIMIT, &priority);
    if (req->err.code == LP_OK && !metadata && !json_object_get(data, "priority"))
        lp_error_field(&req->err, LP_E_INVALID, "data", "give metadata, priority or both");
    if (req->err.code != LP_OK)
        return NULL;
    if (metadata && !(meta_text = json_dumps(metadata, JSON_COMPACT))) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    lp_item_filter f = {.team_id = req->who.team_id, .item_ids = &item_id, .nitem_ids = 1};
    lp_items_change ch = {.op = LP_ITEMS_UPDATE,
                          .has_priority = json_object_get(data, "priority") != NULL,
                          .priority = priority,
                          .metadata_set = meta_text};
    n = lp_db_items_apply(db, &f, &ch, NULL, 0, &req->err);
    free(meta_text);
    if (n < 0)
        return NULL;
    if (n == 0) {
        lp_error_field(&req->err, LP_E_INVALID, "data.item_id", "no item %s in the integration's team", item_id);
        return NULL;
    }
    if (lp_audit_record(db, req->who.team_id, NULL, "item.update", "item", item_id, json_deep_copy(data),
                        &req->err) != 0)
        return NULL;
    return json_pack("{s:s, s:s}", "type", "items.update", "item_id", item_id);
}

/* The item an annotations.import names: item_id, or dataset_id + path + name. */
static const char *import_item(lp_req *req, lp_db *db, json_t *data)
{
    const char *item_id = NULL, *dataset_id = NULL, *path = "/", *name = NULL;
    lp_item_row item, *rows;
    size_t n;

    lp_in_uuid(req, data, "data.", "item_id", LP_IN_OPTIONAL, &item_id);
    lp_in_uuid(req, data, "data.", "dataset_id", LP_IN_OPTIONAL, &dataset_id);
    /* a look-up: any item, whatever item_path_max and item_name_max were when it was made */
    lp_in_string(req, data, "data.", "path", LP_IN_OPTIONAL, LP_ITEM_FILTER_TEXT_MAX, &path);
    lp_in_string(req, data, "data.", "name", LP_IN_OPTIONAL, LP_ITEM_FILTER_TEXT_MAX, &name);
    if (req->err.code != LP_OK)
        return NULL;
    if (item_id) {
        if (lp_db_item_get(db, req->arena, req->who.team_id, item_id, &item, &req->err) == 0)
            return item_id;
        if (req->err.code == LP_E_NOT_FOUND) {
            lp_error_clear(&req->err);
            lp_error_field(&req->err, LP_E_INVALID, "data.item_id", "no item %s in the integration's team", item_id);
        }
        return NULL;
    }
    if (!dataset_id || !name) {
        lp_error_field(&req->err, LP_E_INVALID, "data.item_id", "give item_id, or dataset_id, path and name");
        return NULL;
    }
    lp_item_filter f = {.team_id = req->who.team_id, .dataset_id = dataset_id, .path = path, .name_contains = name};
    if (lp_db_items_list(db, req->arena, &f, LP_ITEM_SORT_NAME, NULL, NULL, 1000, &rows, &n, &req->err) != 0)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].name, name) == 0 && strcmp(rows[i].path, path) == 0)
            return lp_arena_strdup(req->arena, rows[i].id);
    }
    lp_error_field(&req->err, LP_E_INVALID, "data.name", "no item %s%s%s in dataset %s of the integration's team", path,
                   strcmp(path, "/") ? "/" : "", name, dataset_id);
    return NULL;
}

/* annotations.import {"item_id" | "dataset_id", "path"?, "name"; "annotations": […]}:
 * Darwin JSON 2.0 annotations created on the item, checked like a batch. */
static json_t *action_annotations_import(lp_req *req, lp_db *db, json_t *data, push_undo *undo)
{
    static const char *const members[] = {"item_id", "dataset_id", "path", "name", "annotations", NULL};
    json_t *anns = NULL, *batch, *answer = NULL;
    const char *item_id;
    char *text;
    lp_buf resp;

    (void)undo;
    lp_in_only(req, data, "data.", members);
    lp_in_array(req, data, "data.", "annotations", LP_IN_REQUIRED, (size_t)req->svc->cfg->annotation_batch_max, &anns);
    if (req->err.code != LP_OK || !(item_id = import_item(req, db, data)))
        return NULL;
    batch = json_pack("{s:O}", "create", anns);
    text = batch ? json_dumps(batch, JSON_COMPACT) : NULL;
    json_decref(batch);
    if (!text) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    req->body = lp_arena_strdup(req->arena, text);
    req->body_len = strlen(text);
    free(text);
    lp_buf_init(&resp, (size_t)req->svc->cfg->http_bulk_body_limit);
    if (req->body && lp_api_annotations_import(req, db, item_id, &resp) == 0) {
        answer = json_loads(resp.data, 0, NULL);
        if (answer) {
            json_object_set_new(answer, "type", json_string("annotations.import"));
            json_object_set_new(answer, "item_id", json_string(item_id));
        }
    }
    lp_buf_free(&resp);
    /* the batch names fields from its own top ("create[2].polygon") */
    name_fields_from(req, 0, "data.annotations", "create");
    if (!answer && req->err.code == LP_OK)
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    return answer;
}

/* Where a registered slot's file comes from: a URL (fetched by an
 * items.fetch job) or bytes given inline (decoded into the arena). */
typedef struct slot_source {
    const char *url;
    const uint8_t *bytes;
    size_t len;
    const char *content_type; /* inline only; may be NULL */
} slot_source;

/* Reads an inline file {"base64", "content_type"?} at field (…slots[k].file):
 * padded standard base64 of at most integration_inline_max decoded bytes. */
static void read_inline_file(lp_req *req, json_t *file, const char *field, slot_source *out)
{
    static const char *const members[] = {"base64", "content_type", NULL};
    const char *prefix = lp_arena_printf(req->arena, "%s.", field), *b64_field = lp_arena_printf(req->arena, "%sbase64", prefix);
    int64_t max = req->svc->cfg->integration_inline_max;
    json_t *b64 = json_object_get(file, "base64");
    const char *ctype = NULL, *text;
    size_t len, cap;
    uint8_t *bytes;
    long n;

    if (!json_is_object(file)) {
        lp_error_field(&req->err, LP_E_INVALID, field, "must be an object {base64, content_type?}");
        return;
    }
    lp_in_only(req, file, prefix, members);
    lp_in_string(req, file, prefix, "content_type", LP_IN_OPTIONAL, LP_SLOT_CONTENT_TYPE_MAX, &ctype);
    if (ctype && !lp_slot_media_type_ok(ctype))
        lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%scontent_type", prefix),
                       "must be a media type such as \"image/png\" (printable ASCII, no line breaks)");
    if (!json_is_string(b64)) {
        lp_error_field(&req->err, LP_E_INVALID, b64_field, "is required: the file's bytes in base64");
        return;
    }
    text = json_string_value(b64);
    len = json_string_length(b64);
    cap = len / 4 * 3;
    if (cap > (size_t)max + 2) { /* at most two padding characters below the bound */
        lp_error_field(&req->err, LP_E_TOO_LARGE, b64_field,
                       "holds about %zu bytes; the limit is %lld bytes (integration_inline_max): give larger files "
                       "by url",
                       cap, (long long)max);
        return;
    }
    if (!(bytes = lp_arena_alloc(req->arena, cap + 1))) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        return;
    }
    n = lp_base64_decode(text, len, bytes, cap + 1);
    if (n < 0)
        lp_error_field(&req->err, LP_E_INVALID, b64_field,
                       "is not base64: padded standard base64 (RFC 4648 section 4: A-Z a-z 0-9 + /, '=' padding, "
                       "no line breaks) is expected");
    else if (n == 0)
        lp_error_field(&req->err, LP_E_INVALID, b64_field, "is empty: give the file's bytes");
    else if (n > max)
        lp_error_field(&req->err, LP_E_TOO_LARGE, b64_field,
                       "holds %ld bytes; the limit is %lld bytes (integration_inline_max): give larger files by url",
                       n, (long long)max);
    else {
        out->bytes = bytes;
        out->len = (size_t)n;
        out->content_type = ctype ? lp_arena_strdup(req->arena, ctype) : NULL;
    }
}

/* Reads where the slot at prefix (data.items[i].slots[k].) takes its file
 * from, "url" or "file", and removes both from slot (the rest is read as
 * the items API reads a slot). */
static void read_slot_source(lp_req *req, const lp_net_policy *policy, json_t *slot, const char *prefix,
                             slot_source *out)
{
    json_t *u = json_object_get(slot, "url"), *file = json_object_get(slot, "file");
    const char *url_field = lp_arena_printf(req->arena, "%surl", prefix);
    lp_error e;

    lp_error_clear(&e);
    if (u && file)
        lp_error_field(&req->err, LP_E_INVALID, url_field, "give the file by url or inline as file, not both");
    else if (file)
        read_inline_file(req, file, lp_arena_printf(req->arena, "%sfile", prefix), out);
    else if (!json_is_string(u))
        lp_error_field(&req->err, LP_E_INVALID, url_field,
                       "is required: the URL Loupe fetches the file from (or give the file inline as file.base64)");
    else if (lp_net_url_check(policy, json_string_value(u), 0, &e) != 0)
        lp_error_field(&req->err, LP_E_INVALID, url_field, "%s", e.message);
    else
        out->url = lp_arena_strdup(req->arena, json_string_value(u));
    json_object_del(slot, "url");
    json_object_del(slot, "file");
}

/* In the push's transaction: the slot's file, fetched later by an
 * items.fetch job (url), or stored now and handed to media.normalize like
 * any upload (inline). A stored key is added to undo->keys. 0 or -1. */
static int give_slot_file(lp_req *req, lp_db *db, const lp_item_row *item, const lp_slot_row *slot,
                          const slot_source *src, push_undo *undo)
{
    const lp_config *cfg = req->svc->cfg;
    char upload_id[37], key[LP_STORAGE_KEY_MAX + 1], job_id[37];
    lp_storage_object obj;
    lp_storage *s;
    json_t *payload;
    int rc;

    if (lp_uuid_v4(upload_id) != 0)
        return lp_error_set(&req->err, LP_E_INTERNAL, "cannot make an upload id (no randomness available)");
    lp_storage_key_original(req->who.team_id, item->id, upload_id, key, sizeof key);
    if (src->url) {
        payload = json_pack("{s:s, s:s, s:s, s:s}", "item_id", item->id, "slot_id", slot->id, "upload_id", upload_id,
                            "url", src->url);
        lp_job_spec spec = {.kind = "items.fetch", .team_id = req->who.team_id, .payload = payload};
        rc = payload && lp_db_media_upload_create(db, req->arena, upload_id, req->who.team_id, item->id, slot->id,
                                                  "fetch", key, NULL, -1, 0, slot->status, NULL, &req->err) == 0 &&
                     lp_db_media_slot_set_status(db, slot->id, "uploading", NULL, &req->err) == 0 &&
                     lp_jobs_enqueue(db, cfg, &spec, job_id, &req->err) == 0
                 ? 0
                 : -1;
        json_decref(payload);
        if (rc != 0 && req->err.code == LP_OK)
            lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        return rc;
    }
    if (!(s = lp_slot_storage(req)) ||
        lp_db_media_upload_create(db, req->arena, upload_id, req->who.team_id, item->id, slot->id, "direct", key,
                                  src->content_type, (int64_t)src->len, 0, slot->status, NULL, &req->err) != 0 ||
        lp_storage_put_mem(s, key, src->bytes, src->len, src->content_type, &obj, &req->err) != 0)
        return -1;
    undo->keys[undo->n++] = lp_arena_strdup(req->arena, key);
    lp_normalize_start ns = {.team_id = req->who.team_id,
                             .item_id = item->id,
                             .slot_id = slot->id,
                             .upload_id = upload_id,
                             .key = key,
                             .size = (int64_t)obj.size,
                             .sha256 = obj.sha256,
                             .content_type = src->content_type};
    return lp_jobs_start_normalize(db, cfg, &ns, job_id, &req->err);
}

/* items.register {"dataset_id", "items": [{name, path?, priority?, metadata?,
 * slots: [{name, type, …, "url" | "file": {"base64", "content_type"?}}]}]}:
 * the items with their slots; a slot's file given by URL is fetched by an
 * items.fetch job through the SSRF guard, one given inline is stored at
 * once; both are then handed to media.normalize. */
static json_t *action_items_register(lp_req *req, lp_db *db, json_t *data, push_undo *undo)
{
    static const char *const members[] = {"dataset_id", "items", NULL};
    const lp_config *cfg = req->svc->cfg;
    const char *dataset_id = NULL;
    json_t *items = NULL, *answer = NULL, *list = NULL, *keep;
    lp_net_allowlist allow;
    lp_net_policy policy = {0};
    lp_item_input *in;
    slot_source **sources;
    size_t n, nslots = 0;

    lp_in_only(req, data, "data.", members);
    lp_in_uuid(req, data, "data.", "dataset_id", LP_IN_REQUIRED, &dataset_id);
    lp_in_array(req, data, "data.", "items", LP_IN_REQUIRED, (size_t)cfg->integration_items_max, &items);
    if (req->err.code != LP_OK)
        return NULL;
    if ((n = json_array_size(items)) == 0) {
        lp_error_field(&req->err, LP_E_INVALID, "data.items", "must hold at least one item");
        return NULL;
    }
    if (lp_net_allowlist_parse(cfg->net_allow, &allow, &req->err) != 0)
        return NULL;
    policy.allow = &allow;
    policy.allow_http = cfg->webhook_allow_http;
    in = lp_arena_calloc(req->arena, n, sizeof *in);
    sources = lp_arena_calloc(req->arena, n, sizeof *sources);
    keep = json_array(); /* the read items point into these copies */
    if (!in || !sources || !keep) {
        json_decref(keep);
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    /* 1. read every item (the file sources out of its slots, the rest as the items API reads it) */
    for (size_t i = 0; i < n; i++) {
        json_t *copy = json_deep_copy(json_array_get(items, i)), *slots = json_object_get(copy, "slots"), *slot;
        const char *prefix = lp_arena_printf(req->arena, "data.items[%zu].", i);
        size_t k, from;
        json_array_append_new(keep, copy);
        if (!json_is_object(copy)) {
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "data.items[%zu]", i),
                           "must be an object {name, path?, slots: [{name, type, url | file}]}");
            continue;
        }
        sources[i] = lp_arena_calloc(req->arena, json_array_size(slots) + 1, sizeof *sources[i]);
        if (!sources[i]) {
            lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
            goto failed;
        }
        json_array_foreach(slots, k, slot) {
            if (json_is_object(slot))
                read_slot_source(req, &policy, slot, lp_arena_printf(req->arena, "%sslots[%zu].", prefix, k),
                                 &sources[i][k]);
        }
        nslots += json_array_size(slots);
        from = req->err.nfields;
        lp_api_item_input_read(req, copy, &in[i]);
        name_fields_from(req, from, prefix, "");
    }
    if (req->err.code != LP_OK)
        goto failed;
    if (!(undo->keys = lp_arena_calloc(req->arena, nslots + 1, sizeof *undo->keys)) || !(list = json_array())) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        goto failed;
    }
    /* 2. register them, each slot with its file */
    for (size_t i = 0; i < n; i++) {
        lp_item_row item;
        size_t from = req->err.nfields;
        if (lp_api_item_register(req, db, dataset_id, &in[i], &item) != 0) {
            if (req->err.code == LP_E_NOT_FOUND) {
                lp_error_clear(&req->err);
                lp_error_field(&req->err, LP_E_INVALID, "data.dataset_id", "no dataset %s in the integration's team",
                               dataset_id);
            }
            name_fields_from(req, from, lp_arena_printf(req->arena, "data.items[%zu].", i), "");
            goto failed;
        }
        for (size_t k = 0; k < in[i].nslots; k++) {
            const lp_slot_row *slot = NULL;
            for (size_t j = 0; j < item.nslots; j++) {
                if (strcmp(item.slots[j].name, in[i].slots[k].name) == 0)
                    slot = &item.slots[j];
            }
            if (!slot) {
                lp_error_set(&req->err, LP_E_INTERNAL, "the registered item lacks slot %s", in[i].slots[k].name);
                goto failed;
            }
            if (give_slot_file(req, db, &item, slot, &sources[i][k], undo) != 0)
                goto failed;
        }
        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "id", item.id, "name", item.name, "path", item.path));
    }
    answer = json_pack("{s:s, s:s, s:o}", "type", "items.register", "dataset_id", dataset_id, "items", list);
    json_decref(keep);
    if (!answer)
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    return answer;

failed:
    json_decref(list);
    json_decref(keep);
    return NULL;
}

typedef json_t *(*action_fn)(lp_req *req, lp_db *db, json_t *data, push_undo *undo);

static const struct {
    const char *type;
    action_fn run;
} ACTIONS[] = {
    {"items.update", action_items_update},
    {"annotations.import", action_annotations_import},
    {"items.register", action_items_register},
};

int lp_api_hooks_receive(lp_req *req)
{
    static const char *const members[] = {"type", "data", NULL};
    const char *id = lp_identity_uuid_param(req, "integration_id", "integration");
    const char *msg_id = lp_req_header(req, "webhook-id"), *type = NULL;
    lp_integration_row in;
    json_t *body, *data = NULL, *answer = NULL;
    action_fn run = NULL;
    push_undo undo = {NULL, 0};
    char *stored = NULL, *text = NULL;
    int status = 0, seen, rc = -1;
    lp_db *db;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_integration_get(db, req->arena, NULL, id, &in, &req->err) != 0)
        goto done;
    {
        const char *secrets[1] = {in.secret};
        if (lp_webhook_verify(secrets, 1, msg_id, lp_req_header(req, "webhook-timestamp"),
                              lp_req_header(req, "webhook-signature"), req->body, req->body_len,
                              lp_now_wall_ms() / 1000, TOLERANCE_S, &req->err) != 0)
            goto done;
    }
    if (!(body = lp_req_json(req, 1)))
        goto done;
    lp_in_only(req, body, NULL, members);
    lp_in_string(req, body, NULL, "type", LP_IN_REQUIRED, 64, &type);
    lp_in_object(req, body, NULL, "data", LP_IN_REQUIRED, &data);
    for (size_t i = 0; type && i < sizeof ACTIONS / sizeof ACTIONS[0]; i++) {
        if (strcmp(ACTIONS[i].type, type) == 0)
            run = ACTIONS[i].run;
    }
    if (type && !run)
        lp_error_field(&req->err, LP_E_INVALID, "type", "\"%s\" is not an action (items.register, items.update, annotations.import)",
                       type);
    if (req->err.code != LP_OK)
        goto done;
    lp_strlcpy(req->who.team_id, in.team_id, sizeof req->who.team_id);
    req->who.user_id[0] = '\0';
    if (lp_db_begin(db, &req->err) != 0)
        goto done;
    seen = lp_db_integration_message_claim(db, req->arena, in.id, msg_id, &status, &stored, &req->err);
    if (seen < 0)
        goto done;
    if (seen == 1) {
        lp_db_rollback(db);
        lp_res_header(req, "Idempotent-Replayed", "true");
        rc = lp_res_bytes(req, status, "application/json", stored, strlen(stored));
        goto done;
    }
    if (!(answer = run(req, db, data, &undo)))
        goto done;
    if (!(text = json_dumps(answer, JSON_COMPACT))) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        goto done;
    }
    if (lp_db_integration_message_answer(db, in.id, msg_id, 200, text, &req->err) != 0 ||
        lp_db_commit(db, &req->err) != 0)
        goto done;
    undo.n = 0; /* recorded: the files are the items' now */
    rc = lp_res_bytes(req, 200, "application/json", text, strlen(text));

done:
    if (rc != 0 && lp_db_in_transaction(db))
        lp_db_rollback(db);
    if (rc != 0)
        push_undo_run(req, &undo);
    lp_req_db_release(req);
    free(text);
    json_decref(answer);
    return rc;
}
