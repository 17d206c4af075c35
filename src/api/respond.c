/* Answers shared by the resource handlers. See respond.h. */
#include <stdio.h>

#include "respond_int.h"
#include "identity_int.h"
#include "loupe/api/audit.h"

#include "loupe/api/input.h"
#include "loupe/core/util.h"

int lp_api_respond_page(lp_req *req, const char *key, const void *rows, size_t shown, lp_api_row_json render,
                        const char *cursor)
{
    json_t *doc = json_object(), *arr = json_array();

    if (!doc || !arr || json_object_set_new(doc, key, arr) != 0) {
        if (!doc)
            json_decref(arr); /* set_new took arr over otherwise */
        goto nomem;
    }
    for (size_t i = 0; i < shown; i++)
        if (json_array_append_new(arr, render(rows, i)) != 0)
            goto nomem;
    if (lp_page_set_next(req, doc, cursor) != 0)
        goto nomem;
    return lp_res_json(req, 200, doc);

nomem:
    json_decref(doc);
    if (req->err.code == LP_OK)
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory rendering %s", key);
    return -1;
}

int lp_api_respond_keyset(lp_req *req, const char *key, const lp_page *page, const void *rows, size_t n,
                          lp_api_row_json render, lp_api_row_cursor cursor, const void *ctx)
{
    size_t shown = n > (size_t)page->size ? (size_t)page->size : n;
    const char *next = NULL, *k = NULL, *id = NULL;
    if (n > shown) {
        cursor(req, rows, shown - 1, ctx, &k, &id);
        if (!(next = lp_page_cursor(req, k, id)))
            return lp_error_set(&req->err, LP_E_NOMEM, "out of memory making the next page's cursor");
    }
    return lp_api_respond_page(req, key, rows, shown, render, next);
}

/* One row of an id-ordered list with what rendering it needs. */
typedef struct id_row {
    lp_req *req;
    const char *row;
    const char *id;
    lp_api_row_render render;
} id_row;

static json_t *id_row_json(const void *rows, size_t i)
{
    const id_row *r = (const id_row *)rows + i;
    return r->render(r->req, r->row);
}

static void id_row_cursor(lp_req *req, const void *rows, size_t i, const void *ctx, const char **key, const char **id)
{
    const id_row *r = (const id_row *)rows + i;
    (void)req;
    (void)ctx;
    *key = r->id;
    *id = r->id;
}

int lp_api_respond_id_keyset(lp_req *req, const char *key, const lp_page *page, const void *rows, size_t n,
                             size_t row_size, size_t id_offset, lp_api_row_render render)
{
    id_row *v = lp_arena_alloc(req->arena, (n ? n : 1) * sizeof *v);
    if (!v)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory listing %s", key);
    for (size_t i = 0; i < n; i++) {
        const char *row = (const char *)rows + i * row_size;
        v[i] = (id_row){req, row, row + id_offset, render};
    }
    return lp_api_respond_keyset(req, key, page, v, n, id_row_json, id_row_cursor, NULL);
}

int lp_api_respond_created(lp_req *req, const char *collection, const char *id, json_t *body)
{
    const char *loc = lp_arena_printf(req->arena, "%s/%s", collection, id);
    if (loc)
        lp_res_header(req, "Location", loc);
    return lp_res_json(req, 201, body);
}

int lp_api_respond_secret(lp_req *req, const char *collection, const char *id, json_t *doc, const char *secret)
{
    json_object_set_new(doc, "secret", json_string(secret));
    return collection ? lp_api_respond_created(req, collection, id, doc) : lp_res_json(req, 200, doc);
}

int lp_api_uuid_cursor_ok(const char *key)
{
    return lp_is_uuid(key);
}

int lp_api_respond_deleted(lp_req *req, const char *label, const char *resource, lp_api_delete_fn del)
{
    const char *id = lp_identity_uuid_param(req, "id", label);
    char action[64];
    lp_db *db;
    int rc = -1;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    snprintf(action, sizeof action, "%s.delete", resource);
    if (lp_db_begin(db, &req->err) == 0 && del(db, req->who.team_id, id, &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, action, resource, id, NULL, &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_empty(req, 204);
}
