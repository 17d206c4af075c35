/* Predictions (docs/MODELS.md "Predictions"):
 *   GET /api/v1/items/{id}/predictions[?model_id=]   what models found on the item, stored
 *                                                    apart from its annotations, in id order (READ)
 * Each prediction shows its shape as an annotation shows it (Darwin's key and value). */
#include <stdlib.h>
#include <string.h>

#include "handlers_int.h"
#include "identity_int.h"
#include "loupe/annotation/stored.h"
#include "loupe/api/input.h"
#include "loupe/core/buf.h"
#include "loupe/core/util.h"
#include "loupe/db/items_sql.h"
#include "loupe/db/predictions_sql.h"
#include "loupe/formats/darwin.h"
#include "respond_int.h"

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The shape's `"<key>":<value>` (after a comma) from its blob in hex. 0 or -1. */
static int write_shape(lp_buf *o, lp_arena *a, const char *hex, lp_error *err)
{
    size_t n = strlen(hex) / 2;
    unsigned char *blob = lp_arena_alloc(a, n ? n : 1);
    lp_ann_geom g;
    if (!blob)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a prediction");
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return lp_error_set(err, LP_E_INTERNAL, "a prediction's shape is damaged");
        blob[i] = (unsigned char)(hi * 16 + lo);
    }
    if (lp_ann_geom_decode(blob, n, a, &g, err) != 0)
        return -1;
    return lp_buf_append(o, ",", 1) != 0 || lp_darwin_write_geom(o, &g) != 0
               ? lp_error_set(err, LP_E_NOMEM, "out of memory writing a prediction")
               : 0;
}

static json_t *prediction_json(lp_req *req, const void *row)
{
    const lp_prediction_row *p = row;
    json_t *doc = json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:s, s:f, s:o, s:o, s:s}", "id", p->id, "slot", p->slot,
                            "model_id", p->model_id, "run_id", p->run_id ? json_string(p->run_id) : json_null(),
                            "label", p->label, "class_id", p->class_id ? json_string(p->class_id) : json_null(),
                            "type", p->type, "score", p->score, "probabilities",
                            p->probabilities ? json_loads(p->probabilities, 0, NULL) : json_null(), "data",
                            json_loads(p->data, 0, NULL), "created_at", p->created_at);
    if (!doc || !p->geom_hex)
        return doc;
    lp_buf o;
    json_t *shape = NULL;
    lp_buf_init(&o, 64u << 20);
    if (lp_buf_puts(&o, "{\"_\":0") == 0 && write_shape(&o, req->arena, p->geom_hex, &req->err) == 0 &&
        lp_buf_puts(&o, "}") == 0)
        shape = json_loadb(o.data, o.len, 0, NULL);
    lp_buf_free(&o);
    if (!shape) {
        json_decref(doc);
        return NULL;
    }
    json_object_del(shape, "_");
    json_object_update(doc, shape);
    json_decref(shape);
    return doc;
}

int lp_api_item_predictions_list(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "item"), *model_id = NULL;
    lp_prediction_row *rows;
    lp_item_row item;
    lp_page page;
    size_t n;
    lp_db *db;
    int rc;

    if (!id || lp_query_uuid(req, "model_id", &model_id) != 0 || lp_page_read_checked(req, &page, lp_is_uuid) != 0 ||
        !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_item_get(db, req->arena, req->who.team_id, id, &item, &req->err) == 0 &&
                 lp_db_predictions_list(db, req->arena, req->who.team_id, id, model_id, page.after_id, page.size + 1,
                                        &rows, &n, &req->err) == 0
             ? 0
             : -1;
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    return lp_api_respond_id_keyset(req, "predictions", &page, rows, n, sizeof *rows,
                                    offsetof(lp_prediction_row, id), prediction_json);
}
