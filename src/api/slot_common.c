/* What the slot and file handlers share. See slot_common_int.h. */
#include "slot_common_int.h"

#include <stdio.h>
#include <string.h>

#include "identity_int.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"

int lp_slot_media_type_ok(const char *s)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    static const char token[] = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    size_t type_len, sub_len;
    if (!slash)
        return 0;
    type_len = strspn(s, token);
    sub_len = strspn(slash + 1, token);
    if (type_len == 0 || s + type_len != slash || sub_len == 0)
        return 0;
    const char *rest = slash + 1 + sub_len;
    for (const char *c = rest; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            return 0;
    rest += strspn(rest, " \t");
    return *rest == '\0' || *rest == ';';
}

lp_storage *lp_slot_storage(lp_req *req)
{
    if (!req->svc->storage)
        lp_error_set(&req->err, LP_E_UNAVAILABLE, "storage is not open yet; try again in a moment");
    return req->svc->storage;
}

typedef struct mem_sink {
    char *p;
    size_t len, cap;
} mem_sink;

static int mem_chunk(void *ud, const void *p, size_t n, lp_error *err)
{
    mem_sink *m = ud;
    if (n > m->cap - m->len)
        return lp_error_set(err, LP_E_IO, "the object grew while it was being read");
    memcpy(m->p + m->len, p, n);
    m->len += n;
    return 0;
}

int lp_slot_read_object(lp_storage *s, const char *key, uint64_t off, uint64_t len, char *buf, size_t cap, size_t *got,
                      lp_error *err)
{
    mem_sink m = {buf, 0, cap};
    int rc = lp_storage_get(s, key, off, len, mem_chunk, &m, err);
    *got = m.len;
    return rc;
}

int lp_slot_from_route(lp_req *req, lp_db *db, int for_update, lp_slot_row *out)
{
    const char *item_id = lp_identity_uuid_param(req, "id", "item");
    const char *slot = lp_req_param(req, "slot");
    if (!item_id || !slot)
        return -1;
    return lp_db_media_slot_get(db, req->arena, req->who.team_id, item_id, slot, for_update, out, &req->err);
}

json_t *lp_slot_upload_json(const lp_media_upload *u)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s?, s:o, s:o, s:s}", "id", u->id, "kind", u->kind, "state",
                     u->state, "key", u->key, "size", u->size >= 0 ? json_integer(u->size) : json_null(), "sha256",
                     u->sha256[0] ? json_string(u->sha256) : json_null(), "content_type", u->content_type, "job_id",
                     u->job_id[0] ? json_string(u->job_id) : json_null(), "expires_at",
                     u->expires_at[0] ? json_string(u->expires_at) : json_null(), "created_at", u->created_at);
    if (doc && u->files > 0 && json_object_set_new(doc, "files", json_integer(u->files)) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

int lp_slot_load(lp_req *req, lp_slot_row *slot, json_t **storage)
{
    json_error_t jerr;
    lp_db *db = lp_req_db(req);
    int rc;
    if (!db)
        return -1;
    rc = lp_slot_from_route(req, db, 0, slot);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    *storage = json_loads(slot->storage, 0, &jerr);
    if (!json_is_object(*storage)) {
        json_decref(*storage);
        *storage = NULL;
        return lp_error_set(&req->err, LP_E_INTERNAL, "the storage record of slot %s is not a JSON object", slot->id);
    }
    return 0;
}

int lp_slot_require_ready(lp_req *req, const lp_slot_row *slot)
{
    if (strcmp(slot->status, "ready") == 0)
        return 0;
    if (strcmp(slot->status, "error") == 0)
        return lp_error_set(&req->err, LP_E_CONFLICT, "slot \"%s\" could not be processed: %s", slot->name,
                            slot->error ? slot->error : "no reason recorded");
    if (strcmp(slot->status, "empty") == 0)
        return lp_error_set(&req->err, LP_E_CONFLICT, "slot \"%s\" has no file yet; upload one first", slot->name);
    return lp_error_set(&req->err, LP_E_CONFLICT, "slot \"%s\" is %s; try again when it is ready", slot->name,
                        slot->status);
}

char *lp_slot_path_segment(lp_arena *a, const char *s)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = lp_arena_alloc(a, n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hexd[c >> 4];
            *o++ = hexd[c & 15];
        }
    }
    *o = '\0';
    return out;
}

json_t *lp_slot_signed_url(lp_req *req, lp_storage *s, const char *key)
{
    lp_storage_url *u;
    char when[25];
    if (!key)
        return json_null();
    if (!(u = lp_arena_alloc(req->arena, sizeof *u)) || lp_storage_presign(s, LP_STORAGE_GET, key, lp_now_wall_ms(), 0, u, &req->err) != 0)
        return NULL;
    lp_time_iso8601(u->expires * 1000, when);
    return json_pack("{s:s, s:s}", "url", u->url, "expires_at", when);
}
