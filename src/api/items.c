/* Items and their slots:
 *   POST   /api/v1/datasets/{id}/items  register an item with its slots → 201 (MANAGE)
 *   GET    /api/v1/items?dataset_id=…   filtered cursor pages (READ)
 *   GET    /api/v1/items/{id}           (READ)
 *   PATCH  /api/v1/items/{id}           {name?, path?, priority?, metadata?} (MANAGE)
 *   DELETE /api/v1/items/{id}           with its slots and annotations → 204 (MANAGE)
 *
 * The list's filter parameters are the filter document of the bulk routes
 * written as query parameters (status=ready,error; annotation_count[gte]=1;
 * metadata[camera]=left; created[gte]=2026-01-01) and read by the same code
 * (loupe/db/item_filter.h). Every change writes an audit row in its
 * transaction. */
#include <stdlib.h>
#include <string.h>

#include "identity_int.h"
#include "items_int.h"
#include "respond_int.h"
#include "handlers_int.h"
#include "loupe/api/input.h"
#include "loupe/core/util.h"
#include "loupe/db/workflows_sql.h"

/* Most slots one item may have. */
#define ITEM_SLOTS_MAX 256
#define SLOT_FORMAT_MAX 32
#define PRIORITY_MAX 2147483647

static json_t *json_text(const char *text, json_t *fallback)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    if (v) {
        json_decref(fallback);
        return v;
    }
    return fallback;
}

static json_t *int_or_null(int64_t v)
{
    return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

/* The SHA-256 of the slot's latest stored original (slots.storage, set in the
 * upload's transaction), or null while none was stored: what lets a client
 * skip a file it already uploaded. */
static json_t *original_sha256(const char *storage)
{
    json_t *doc = storage ? json_loads(storage, 0, NULL) : NULL;
    const char *sha = json_string_value(json_object_get(doc, "sha256"));
    json_t *out = sha ? json_string(sha) : json_null();
    json_decref(doc);
    return out;
}

static json_t *slot_json(const lp_slot_row *s)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:i, s:o, s:o, s:i}", "id", s->id, "name",
                     s->name, "type", s->type, "status", s->status, "sha256", original_sha256(s->storage), "width",
                     int_or_null(s->width), "height", int_or_null(s->height), "frame_count",
                     int_or_null(s->frame_count), "fps", s->fps >= 0 ? json_real(s->fps) : json_null(), "rotation",
                     s->rotation, "format", s->format ? json_string(s->format) : json_null(), "metadata",
                     json_text(s->metadata, json_object()), "position", s->position);
}

/* "task": {id, workflow_id, stage, state}, or null for an item in no workflow. */
static json_t *task_json(const lp_item_task_row *t)
{
    return t ? json_pack("{s:s, s:s, s:s, s:s}", "id", t->id, "workflow_id", t->workflow_id, "stage", t->stage,
                         "state", t->state)
             : json_null();
}

json_t *lp_api_item_json(const lp_item_row *it)
{
    json_t *slots = json_array();
    for (size_t k = 0; slots && k < it->nslots; k++)
        if (json_array_append_new(slots, slot_json(&it->slots[k])) != 0) {
            json_decref(slots);
            return NULL;
        }
    if (!slots)
        return NULL;
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:o, s:I, s:o, s:s, s:s, s:o}", "id", it->id,
                            "dataset_id", it->dataset_id, "name", it->name, "path", it->path, "status", it->status,
                            "error", it->error ? json_string(it->error) : json_null(), "priority",
                            (json_int_t)it->priority, "metadata", json_text(it->metadata, json_object()),
                            "annotation_count", (json_int_t)it->annotation_count, "class_ids",
                            json_text(it->class_ids, json_array()), "created_at", it->created_at, "updated_at",
                            it->updated_at, "slots", slots);
    if (out && it->task_known && json_object_set_new(out, "task", task_json(it->task)) != 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* ---- Input ----------------------------------------------------------------- */

/* A file name: non-empty, no "/", no control characters. */
static void read_name(lp_req *req, json_t *body, int flags, const char **name)
{
    if (lp_in_string_limit(req, body, NULL, "name", flags, (size_t)req->svc->cfg->item_name_max, "item_name_max",
                           name) != 0 ||
        !*name)
        return;
    if (!lp_utf8_valid(*name, strlen(*name)))
        lp_error_field(&req->err, LP_E_INVALID, "name", "must be valid UTF-8");
    else if (strchr(*name, '/'))
        lp_error_field(&req->err, LP_E_INVALID, "name", "must not contain \"/\" (put folders in path)");
    else if (strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0)
        lp_error_field(&req->err, LP_E_INVALID, "name", "must not be \".\" or \"..\"");
    else
        for (const char *p = *name; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                lp_error_field(&req->err, LP_E_INVALID, "name", "must not contain control characters");
                break;
            }
}

static void read_path(lp_req *req, json_t *body, const char **path)
{
    json_t *v = json_object_get(body, "path");
    if (!v)
        return;
    if (!json_is_string(v))
        lp_error_field(&req->err, LP_E_INVALID, "path", "must be a folder path starting with \"/\"");
    else
        lp_item_path_normalize(json_string_value(v), (size_t)req->svc->cfg->item_path_max, "item_path_max", req->arena,
                               "path", path, &req->err);
}

/* An object member as compact JSON text (arena), or NULL when absent. */
static const char *read_object_text(lp_req *req, json_t *obj, const char *prefix, const char *name)
{
    json_t *v = NULL;
    char *text;
    const char *out;
    if (lp_in_object(req, obj, prefix, name, LP_IN_OPTIONAL, &v) != 0 || !v)
        return NULL;
    text = json_dumps(v, JSON_COMPACT);
    out = text ? lp_arena_strdup(req->arena, text) : NULL;
    free(text);
    if (!out)
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading %s%s", prefix ? prefix : "", name);
    return out;
}

/* The JSON object text obj (NULL: {}) with member name set to value, as
 * compact text (arena); NULL with req->err on failure. */
static const char *with_member(lp_req *req, const char *obj, const char *name, const char *value)
{
    json_t *o = obj ? json_loads(obj, 0, NULL) : json_object();
    char *text = o && json_object_set_new(o, name, json_string(value)) == 0 ? json_dumps(o, JSON_COMPACT) : NULL;
    const char *out = text ? lp_arena_strdup(req->arena, text) : NULL;
    free(text);
    json_decref(o);
    if (!out)
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading %s", name);
    return out;
}

static void read_slot(lp_req *req, json_t *s, size_t k, lp_slot_input *out)
{
    static const char *const fields[] = {"name",     "type",   "width",    "height",       "frame_count",
                                         "fps",      "rotation", "format", "metadata", "dicom_series", NULL};
    static const char *const series_modes[] = {"slots", "items", NULL};
    static const char *const types[] = {"image", "video", "volume", "dicom", "pdf", "audio", NULL};
    const lp_config *cfg = req->svc->cfg;
    const char *prefix = lp_arena_printf(req->arena, "slots[%zu].", k);
    int type = -1, mode = -1;
    double fps = -1;
    int64_t rot = 0;

    memset(out, 0, sizeof *out);
    out->width = out->height = out->frame_count = -1;
    out->fps = -1;
    if (!prefix) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading slots");
        return;
    }
    if (!json_is_object(s)) {
        lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "slots[%zu]", k), "must be an object");
        return;
    }
    lp_in_only(req, s, prefix, fields);
    lp_in_string_limit(req, s, prefix, "name", LP_IN_REQUIRED, (size_t)cfg->slot_name_max, "slot_name_max", &out->name);
    if (lp_in_enum(req, s, prefix, "type", LP_IN_REQUIRED, types, &type) == 0 && type >= 0)
        out->type = types[type];
    lp_in_int(req, s, prefix, "width", LP_IN_OPTIONAL, 1, 2147483647, &out->width);
    lp_in_int(req, s, prefix, "height", LP_IN_OPTIONAL, 1, 2147483647, &out->height);
    lp_in_int(req, s, prefix, "frame_count", LP_IN_OPTIONAL, 1, cfg->video_max_frames, &out->frame_count);
    if (lp_in_number(req, s, prefix, "fps", LP_IN_OPTIONAL, 1e-6, 1000, &fps) == 0)
        out->fps = fps;
    if (lp_in_int(req, s, prefix, "rotation", LP_IN_OPTIONAL, 0, 270, &rot) == 0 && rot % 90 != 0)
        lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%srotation", prefix),
                       "must be 0, 90, 180 or 270");
    out->rotation = (int)rot;
    lp_in_string(req, s, prefix, "format", LP_IN_OPTIONAL, SLOT_FORMAT_MAX, &out->format);
    out->metadata = read_object_text(req, s, prefix, "metadata");
    /* kept in the slot's metadata, where the worker reads it (media.normalize) */
    if (lp_in_enum(req, s, prefix, "dicom_series", LP_IN_OPTIONAL, series_modes, &mode) == 0 && mode >= 0) {
        if (out->type && strcmp(out->type, "volume") != 0)
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%sdicom_series", prefix),
                           "applies to volume slots only");
        else if (req->err.code == LP_OK)
            out->metadata = with_member(req, out->metadata, "dicom_series", series_modes[mode]);
    }
    if (out->width > 0 && out->height > 0 && out->type) {
        int64_t limit = strcmp(out->type, "video") == 0 ? cfg->video_max_pixels : cfg->image_max_pixels;
        if (out->width > limit / out->height)
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%swidth", prefix),
                           "width × height is over the limit of %lld pixels (%s)", (long long)limit,
                           strcmp(out->type, "video") == 0 ? "video_max_pixels" : "image_max_pixels");
    }
    if (out->type && strcmp(out->type, "image") == 0 && out->frame_count > 1)
        lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%sframe_count", prefix),
                       "must be 1 or absent for an image slot");
}

/* ---- Handlers ---------------------------------------------------------------- */

int lp_api_item_input_read(lp_req *req, json_t *body, lp_item_input *in)
{
    static const char *const fields[] = {"name", "path", "priority", "metadata", "slots", NULL};
    json_t *slots_in = NULL;

    memset(in, 0, sizeof *in);
    in->path = "/";
    lp_in_only(req, body, NULL, fields);
    read_name(req, body, LP_IN_REQUIRED, &in->name);
    read_path(req, body, &in->path);
    lp_in_int(req, body, NULL, "priority", LP_IN_OPTIONAL, -PRIORITY_MAX, PRIORITY_MAX, &in->priority);
    in->metadata = read_object_text(req, body, NULL, "metadata");
    if (lp_in_array(req, body, NULL, "slots", LP_IN_REQUIRED, ITEM_SLOTS_MAX, &slots_in) == 0 && slots_in) {
        in->nslots = json_array_size(slots_in);
        if (in->nslots == 0)
            lp_error_field(&req->err, LP_E_INVALID, "slots", "must hold at least one slot");
        in->slots = lp_arena_calloc(req->arena, in->nslots + 1, sizeof *in->slots);
        if (!in->slots)
            return lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading slots");
        for (size_t k = 0; k < in->nslots; k++) {
            read_slot(req, json_array_get(slots_in, k), k, &in->slots[k]);
            for (size_t j = 0; j < k && in->slots[k].name; j++)
                if (in->slots[j].name && strcmp(in->slots[j].name, in->slots[k].name) == 0) {
                    lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "slots[%zu].name", k),
                                   "repeats the name of slots[%zu]; slot names are unique within an item", j);
                    break;
                }
        }
    }
    return req->err.code == LP_OK ? 0 : -1;
}

int lp_api_item_register(lp_req *req, lp_db *db, const char *dataset_id, const lp_item_input *in, lp_item_row *out)
{
    int made = lp_db_item_create(db, req->arena, req->who.team_id, dataset_id, in->name, in->path, in->priority,
                                 in->metadata, in->slots, in->nslots, out, &req->err);
    if (made < 0)
        return -1;
    if (made == 1) {
        lp_error_field(&req->err, LP_E_CONFLICT, "name", "an item named \"%s\" already exists in folder \"%s\"",
                       in->name, in->path);
        lp_error_hint(&req->err, "rename the item or register it in another path");
        return -1;
    }
    return lp_audit_record(db, req->who.team_id, req->who.user_id, "item.create", "item", out->id,
                           json_pack("{s:s, s:s, s:s}", "dataset_id", dataset_id, "name", in->name, "path", in->path),
                           &req->err);
}

int lp_api_items_create(lp_req *req)
{
    const char *dataset_id = lp_identity_uuid_param(req, "id", "dataset");
    json_t *body;
    lp_item_input in;
    lp_item_row item;
    lp_db *db;
    int rc = -1;

    if (!dataset_id || !(body = lp_req_json(req, 1)) || lp_api_item_input_read(req, body, &in) != 0 ||
        !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 && lp_api_item_register(req, db, dataset_id, &in, &item) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_api_respond_created(req, "/api/v1/items", item.id, lp_api_item_json(&item));
}

/* Turns the list's query parameters into a filter document. */
typedef struct query_doc {
    lp_req *req;
    json_t *doc;
} query_doc;

/* "created[gte]" → key "created", sub "gte"; 0, or -1 when not of that form. */
static int split_bracket(lp_req *req, const char *param, const char **key, const char **sub)
{
    const char *open = strchr(param, '['), *close;
    if (!open || !(close = strchr(open, ']')) || close[1] != '\0' || close == open + 1 || open == param)
        return -1;
    *key = lp_arena_strndup(req->arena, param, (size_t)(open - param));
    *sub = lp_arena_strndup(req->arena, open + 1, (size_t)(close - open - 1));
    return *key && *sub ? 0 : -1;
}

static int add_query_param(void *cls, const char *param, const char *value)
{
    static const char *const plain[] = {"dataset_id", "path",     "name_contains", "has_class",        "lacks_class",
                                        "stage",      "state",    "assignee",      "disagreement_run", NULL};
    static const char *const ranged[] = {"annotation_count", "metadata", "created", "updated", "disagreement", NULL};
    query_doc *q = cls;
    const char *key, *sub;

    if (strcmp(param, "page[size]") == 0 || strcmp(param, "page[after]") == 0 || strcmp(param, "sort") == 0)
        return 0;
    for (size_t k = 0; plain[k]; k++)
        if (strcmp(param, plain[k]) == 0)
            return json_object_set_new(q->doc, param, json_string(value)) != 0;
    if (strcmp(param, "status") == 0) {
        json_t *list = json_array();
        for (const char *p = value; list;) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            json_array_append_new(list, json_stringn(p, n));
            if (!comma)
                break;
            p = comma + 1;
        }
        return json_object_set_new(q->doc, "status", list) != 0;
    }
    if (split_bracket(q->req, param, &key, &sub) == 0)
        for (size_t k = 0; ranged[k]; k++)
            if (strcmp(key, ranged[k]) == 0) {
                json_t *obj = json_object_get(q->doc, key);
                if (!obj && json_object_set_new(q->doc, key, obj = json_object()) != 0)
                    return 1;
                return json_object_set_new(obj, sub, json_string(value)) != 0;
            }
    lp_error_field(&q->req->err, LP_E_MALFORMED, param,
                   "is not a parameter of this list (filters: dataset_id, path, name_contains, status, has_class, "
                   "lacks_class, annotation_count[gte|lte], metadata[key], created[gte|lte], updated[gte|lte], stage, state, assignee, "
                   "disagreement[gte|lte], disagreement_run)");
    return 0;
}

/* The cursor of a row for the sort order (ctx: the lp_item_sort). */
static void item_cursor(lp_req *req, const void *rows, size_t i, const void *ctx, const char **key, const char **id)
{
    const lp_item_row *it = (const lp_item_row *)rows + i;
    switch (*(const lp_item_sort *)ctx) {
    case LP_ITEM_SORT_CREATED:
    case LP_ITEM_SORT_CREATED_DESC:
        *key = it->created_at;
        break;
    case LP_ITEM_SORT_PRIORITY:
    case LP_ITEM_SORT_PRIORITY_DESC:
        *key = lp_arena_printf(req->arena, "%lld", (long long)it->priority);
        break;
    default:
        *key = it->name;
    }
    *id = it->id;
}

static int cursor_key_valid(lp_item_sort sort, const char *key)
{
    char *end;
    switch (sort) {
    case LP_ITEM_SORT_CREATED:
    case LP_ITEM_SORT_CREATED_DESC:
        return lp_item_time_valid(key);
    case LP_ITEM_SORT_PRIORITY:
    case LP_ITEM_SORT_PRIORITY_DESC: {
        long long v = strtoll(key, &end, 10);
        return *key && !*end && v >= -PRIORITY_MAX && v <= PRIORITY_MAX;
    }
    default:
        return 1;
    }
}

static json_t *item_at(const void *rows, size_t i)
{
    return lp_api_item_json((const lp_item_row *)rows + i);
}

int lp_api_items_list(lp_req *req)
{
    static const char *const sorts[] = {"name", "-name", "created", "-created", "priority", "-priority", NULL};
    query_doc q = {req, json_object()};
    lp_item_filter f;
    lp_item_sort sort = LP_ITEM_SORT_NAME;
    const char *sort_param = lp_req_query(req, "sort");
    lp_page page;
    lp_item_row *rows = NULL;
    size_t n = 0, shown;
    lp_db *db = NULL;
    int rc = -1;

    if (!q.doc)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading the query");
    if (lp_req_query_each(req, add_query_param, &q) != 0 && req->err.code == LP_OK)
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading the query");
    if (req->err.code != LP_OK)
        goto cleanup;
    if (sort_param) {
        size_t k = 0;
        while (sorts[k] && strcmp(sorts[k], sort_param) != 0)
            k++;
        if (!sorts[k]) {
            lp_error_field(&req->err, LP_E_MALFORMED, "sort",
                           "must be one of name, -name, created, -created, priority, -priority");
            goto cleanup;
        }
        sort = (lp_item_sort)k;
    }
    if (lp_page_read(req, &page) != 0)
        goto cleanup;
    if (page.after_key && !cursor_key_valid(sort, page.after_key)) {
        lp_error_field(&req->err, LP_E_MALFORMED, "page[after]",
                       "is not a cursor of this list in this sort order (keep sort as in the first page)");
        goto cleanup;
    }
    if (lp_item_filter_read(q.doc, LP_FILTER_QUERY, req->who.team_id, req->arena, &f, &req->err) != 0)
        goto cleanup;
    if (!f.dataset_id) {
        lp_error_field(&req->err, LP_E_INVALID, "dataset_id", "is required: items are listed per dataset");
        goto cleanup;
    }
    if (!(db = lp_req_db_read(req)))
        goto cleanup;
    lp_dataset_row ds;
    if (lp_db_dataset_get(db, req->arena, req->who.team_id, f.dataset_id, &ds, &req->err) != 0 ||
        lp_db_items_list(db, req->arena, &f, sort, page.after_key, page.after_id, page.size + 1, &rows, &n,
                         &req->err) != 0)
        goto cleanup;
    shown = n > (size_t)page.size ? (size_t)page.size : n;
    if (lp_db_items_load_slots(db, req->arena, rows, shown, &req->err) != 0 ||
        lp_db_items_load_tasks(db, req->arena, rows, shown, &req->err) != 0)
        goto cleanup;
    lp_req_db_release(req);
    db = NULL;
    rc = lp_api_respond_keyset(req, "items", &page, rows, n, item_at, item_cursor, &sort);
cleanup:
    lp_req_db_release(req);
    json_decref(q.doc);
    return rc;
}

int lp_api_items_get(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "item");
    lp_item_row item;
    lp_item_task_row task;
    lp_db *db;
    int rc, has_task = 1;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_item_get(db, req->arena, req->who.team_id, id, &item, &req->err);
    if (rc == 0)
        has_task = lp_db_item_task(db, req->arena, req->who.team_id, id, &task, &req->err);
    lp_req_db_release(req);
    if (rc != 0 || has_task < 0)
        return -1;
    item.task_known = true;
    item.task = has_task == 0 ? &task : NULL;
    json_t *out = lp_api_item_json(&item);
    if (!out)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory answering with item %s", id);
    return lp_res_json(req, 200, out);
}

int lp_api_items_update(lp_req *req)
{
    static const char *const fields[] = {"name", "path", "priority", "metadata", NULL};
    const char *id = lp_identity_uuid_param(req, "id", "item");
    const char *name = NULL, *path = NULL, *metadata;
    int64_t priority = 0;
    json_t *body, *changes;
    lp_item_row item;
    lp_db *db;
    int rc = -1, done;

    if (!id || !(body = lp_req_json(req, 1)))
        return -1;
    lp_in_only(req, body, NULL, fields);
    read_name(req, body, LP_IN_OPTIONAL, &name);
    read_path(req, body, &path);
    lp_in_int(req, body, NULL, "priority", LP_IN_OPTIONAL, -PRIORITY_MAX, PRIORITY_MAX, &priority);
    metadata = read_object_text(req, body, NULL, "metadata");
    if (json_object_size(body) == 0)
        lp_error_field(&req->err, LP_E_INVALID, "name", "give at least one of name, path, priority, metadata");
    if (req->err.code != LP_OK || !(db = lp_req_db(req)))
        return -1;
    changes = json_deep_copy(body);
    if (lp_db_begin(db, &req->err) == 0 &&
        (done = lp_db_item_update(db, req->arena, req->who.team_id, id, name, path,
                                  json_object_get(body, "priority") != NULL, priority, metadata, &item,
                                  &req->err)) >= 0) {
        if (done == 1) {
            lp_error_field(&req->err, LP_E_CONFLICT, name ? "name" : "path",
                           "another item of the dataset already has this path and name");
            lp_error_hint(&req->err, "choose another name or path");
        } else {
            json_t *data = changes;
            changes = NULL; /* the audit steals it */
            if (lp_audit_record(db, req->who.team_id, req->who.user_id, "item.update", "item", id, data,
                                  &req->err) == 0)
                rc = lp_db_commit(db, &req->err);
        }
    }
    json_decref(changes);
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_json(req, 200, lp_api_item_json(&item));
}

int lp_api_items_delete(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "item");
    lp_item_row item;
    lp_db *db;
    int rc = -1;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 && lp_db_item_delete(db, req->arena, req->who.team_id, id, &item, &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "item.delete", "item", id,
                          json_pack("{s:s, s:s, s:s}", "dataset_id", item.dataset_id, "name",
                                    item.name, "path", item.path),
                          &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_empty(req, 204);
}
