/* Predictions (docs/MODELS.md "Predictions"):
 *   GET /api/v1/items/{id}/predictions[?model_id=]   what models found on the item, stored
 *                                                    apart from its annotations, in id order (READ)
 *   POST /api/v1/items/{id}/predictions/accept       {"ids"?, "min_score"?, "model_id"?, "run_id"?}:
 *                                                    those predictions become annotations (source
 *                                                    model, confidence = score), each once (ANNOTATE)
 * Each prediction shows its shape as an annotation shows it (Darwin's key and value). */
#include <stdlib.h>
#include <string.h>

#include "annotations_int.h"
#include "handlers_int.h"
#include "identity_int.h"
#include "loupe/annotation/stored.h"
#include "loupe/api/input.h"
#include "loupe/core/buf.h"
#include "loupe/core/util.h"
#include "loupe/db/annotations_sql.h"
#include "loupe/db/item_filter.h"
#include "loupe/db/items_sql.h"
#include "loupe/db/predictions_sql.h"
#include "loupe/formats/darwin.h"
#include "loupe/jobs/model_stage.h"
#include "respond_int.h"

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The shape of a prediction from its blob in hex (arrays in a). 0 or -1. */
static int geom_of(lp_arena *a, const char *hex, lp_ann_geom *g, lp_error *err)
{
    size_t n = strlen(hex) / 2;
    unsigned char *blob = lp_arena_alloc(a, n ? n : 1);
    if (!blob)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a prediction");
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return lp_error_set(err, LP_E_INTERNAL, "a prediction's shape is damaged");
        blob[i] = (unsigned char)(hi * 16 + lo);
    }
    return lp_ann_geom_decode(blob, n, a, g, err);
}

/* The shape's `"<key>":<value>` (after a comma) from its blob in hex. 0 or -1. */
static int write_shape(lp_buf *o, lp_arena *a, const char *hex, lp_error *err)
{
    lp_ann_geom g;
    if (geom_of(a, hex, &g, err) != 0)
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

int lp_api_item_predictions_accept(lp_req *req)
{
    static const char *const allowed[] = {"ids", "min_score", "model_id", "run_id", NULL};
    const char *item_id = lp_identity_uuid_param(req, "id", "item");
    const char *model_id = NULL, *run_id = NULL, **ann_ids = NULL;
    json_t *body, *ids = NULL, *pairs = NULL, *accepted = NULL;
    char *ids_text = NULL, *pairs_text = NULL;
    double min_score = -1;
    int64_t version;
    lp_prediction_row *rows = NULL;
    lp_ann *anns = NULL;
    size_t n = 0, i;
    lp_db *db = NULL;
    json_t *e;
    int rc = -1;

    if (!item_id || !(body = lp_req_json(req, 1)))
        return -1;
    lp_in_only(req, body, NULL, allowed);
    lp_in_array(req, body, NULL, "ids", LP_IN_OPTIONAL, LP_ITEMS_IDS_MAX, &ids);
    lp_in_number(req, body, NULL, "min_score", LP_IN_OPTIONAL, 0, 1, &min_score);
    lp_in_uuid(req, body, NULL, "model_id", LP_IN_OPTIONAL, &model_id);
    lp_in_uuid(req, body, NULL, "run_id", LP_IN_OPTIONAL, &run_id);
    json_array_foreach(ids, i, e) {
        if (!lp_is_uuid(json_string_value(e)))
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "ids[%zu]", i), "must be a prediction id");
    }
    if (req->err.code == LP_OK && !ids && min_score < 0)
        lp_error_field(&req->err, LP_E_INVALID, "min_score", "is required when no ids are given");
    if (req->err.code != LP_OK)
        return -1;
    if ((ids && !(ids_text = json_dumps(ids, JSON_COMPACT))) || !(pairs = json_array()) || !(accepted = json_array())) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory accepting predictions");
        goto done;
    }
    if (!(db = lp_req_db(req)) || lp_db_begin(db, &req->err) != 0 ||
        lp_db_ann_item_lock(db, req->who.team_id, item_id, &version, &req->err) != 0 ||
        lp_db_predictions_acceptable(db, req->arena, req->who.team_id, item_id, ids_text, min_score < 0 ? 0 : min_score,
                                     model_id, run_id, &rows, &n, &req->err) != 0)
        goto done;
    if (n > 0) {
        if (!(anns = lp_predictions_as_annotations(req->arena, rows, n, &req->err)) || lp_api_ann_append(req, db, item_id, anns, n, &ann_ids) != 0)
            goto done;
        for (i = 0; i < n; i++) {
            json_array_append_new(pairs, json_pack("{s:s, s:s}", "id", rows[i].id, "annotation_id", ann_ids[i]));
            json_array_append_new(accepted,
                                  json_pack("{s:s, s:s}", "prediction_id", rows[i].id, "annotation_id", ann_ids[i]));
        }
        if (!(pairs_text = json_dumps(pairs, JSON_COMPACT)) ||
            lp_db_predictions_mark_accepted(db, req->who.team_id, req->who.user_id, NULL, pairs_text, &req->err) != 0)
            goto done;
    }
    if (lp_db_commit(db, &req->err) != 0)
        goto done;
    rc = 0;

done:
    if (db)
        lp_req_db_release(req); /* rolls back what was not committed */
    free(ids_text);
    free(pairs_text);
    json_decref(pairs);
    if (rc != 0) {
        json_decref(accepted);
        return -1;
    }
    return lp_res_json(req, 200, json_pack("{s:o}", "accepted", accepted));
}
