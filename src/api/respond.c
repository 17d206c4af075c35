/* Answers shared by the resource handlers. See respond.h. */
#include "respond_int.h"

#include "loupe/api/input.h"

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

int lp_api_respond_created(lp_req *req, const char *collection, const char *id, json_t *body)
{
    const char *loc = lp_arena_printf(req->arena, "%s/%s", collection, id);
    if (loc)
        lp_res_header(req, "Location", loc);
    return lp_res_json(req, 201, body);
}
