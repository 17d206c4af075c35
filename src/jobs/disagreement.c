/* Disagreements of runs with human annotations, computed from what is
 * stored. See loupe/jobs/disagreement.h. */
#include "loupe/jobs/disagreement.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/annotation/annotation.h"
#include "loupe/annotation/stored.h"
#include "loupe/crypto/encode.h"
#include "loupe/db/disagreements_sql.h"
#include "loupe/models/disagree.h"

/* Polygon overlaps may cost this many edge crossings per vertex a shape may have. */
#define CROSSINGS_PER_POINT 16

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The geometric shape of a stored blob in hex (arena), or NULL when it has none to compare. */
static const lp_geom_shape *shape_of(lp_arena *a, const char *hex)
{
    size_t len = strlen(hex) / 2;
    uint8_t *blob = lp_arena_alloc(a, len + 1);
    lp_ann_geom *g = lp_arena_calloc(a, 1, sizeof *g);
    lp_error ignored;
    lp_error_clear(&ignored);
    if (!blob || !g || lp_hex_decode(hex, 2 * len, blob, len) != (long)len ||
        lp_ann_geom_decode(blob, len, a, g, &ignored) != 0 || g->type < 0 || g->type >= (int)LP_GEOM_TYPE_COUNT ||
        !lp_geom_type_has_geometry((lp_geom_type)g->type))
        return NULL;
    return &g->shape;
}

/* The stored detail of one item's comparison. New reference or NULL. */
static json_t *detail_json(const lp_disagreement *d, const lp_dis_shape *h, size_t nh, const lp_dis_shape *p,
                           size_t np, const lp_dis_input_row *const *pr)
{
    json_t *doc = json_pack("{s:I, s:I, s:f, s:f, s:[], s:[], s:[], s:[]}", "human", (json_int_t)nh, "predicted",
                            (json_int_t)np, "iou_threshold", LP_DISAGREEMENT_IOU, "f1", d->f1, "matched", "missed",
                            "extra", "classes");
    if (!doc)
        return NULL;
    json_t *matched = json_object_get(doc, "matched"), *missed = json_object_get(doc, "missed");
    json_t *extra = json_object_get(doc, "extra"), *classes = json_object_get(doc, "classes");
    int rc = 0;
    for (size_t k = 0; k < d->nmatches; k++)
        rc |= json_array_append_new(matched, json_pack("{s:s, s:s, s:s, s:f}", "annotation_id", h[d->matches[k].human].id,
                                                       "prediction_id", p[d->matches[k].predicted].id, "class_id",
                                                       h[d->matches[k].human].class_id, "iou", d->matches[k].iou));
    for (size_t k = 0; k < d->missed; k++) {
        const lp_dis_shape *s = &h[d->missed_idx[k]];
        rc |= json_array_append_new(missed, json_pack("{s:s, s:s, s:s}", "annotation_id", s->id, "class_id",
                                                      s->class_id, "slot", s->slot));
    }
    for (size_t k = 0; k < d->extra; k++) {
        const lp_dis_shape *s = &p[d->extra_idx[k]];
        rc |= json_array_append_new(extra, json_pack("{s:s, s:s, s:s, s:f}", "prediction_id", s->id, "class_id",
                                                     s->class_id, "slot", s->slot, "score",
                                                     pr[d->extra_idx[k]]->score));
    }
    for (size_t c = 0; c < d->nclasses; c++) {
        const lp_dis_class *k = &d->classes[c];
        rc |= json_array_append_new(classes, json_pack("{s:s, s:f, s:I, s:I, s:I}", "class_id", k->class_id, "f1",
                                                       k->f1, "matched", (json_int_t)k->matched, "missed",
                                                       (json_int_t)k->missed, "extra", (json_int_t)k->extra));
    }
    if (rc) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* One item: its rows (in[0..n)), compared, as a stored row. New reference or NULL with err. */
static json_t *item_row(const lp_config *cfg, lp_arena *a, const char *item_id, int64_t version,
                        const lp_dis_input_row *in, size_t n, lp_error *err)
{
    lp_dis_shape *h = lp_arena_calloc(a, n + 1, sizeof *h), *p = lp_arena_calloc(a, n + 1, sizeof *p);
    const lp_dis_input_row **pr = lp_arena_calloc(a, n + 1, sizeof *pr);
    size_t nh = 0, np = 0;
    lp_disagreement d;
    if (!h || !p || !pr) {
        lp_error_set(err, LP_E_NOMEM, "out of memory comparing predictions");
        return NULL;
    }
    for (size_t k = 0; k < n; k++) {
        const lp_geom_shape *s = shape_of(a, in[k].geom_hex);
        if (!s || !in[k].class_id)
            continue;
        lp_dis_shape x = {in[k].id, in[k].class_id, in[k].slot, s};
        if (in[k].human) {
            h[nh++] = x;
        } else {
            pr[np] = &in[k];
            p[np++] = x;
        }
    }
    json_t *row = json_pack("{s:s, s:I, s:n, s:{s:I, s:I}}", "item_id", item_id, "annotation_version",
                            (json_int_t)version, "disagreement", "detail", "human", (json_int_t)nh, "predicted",
                            (json_int_t)np);
    if (!row) {
        lp_error_set(err, LP_E_NOMEM, "out of memory comparing predictions");
        return NULL;
    }
    if (nh == 0)
        return row; /* nothing human to compare with yet */
    size_t crossings = (size_t)cfg->annotation_max_points * CROSSINGS_PER_POINT;
    json_t *detail = NULL;
    if (lp_disagreement_compute(h, nh, p, np, LP_DISAGREEMENT_IOU, crossings, a, &d, err) != 0 ||
        !(detail = detail_json(&d, h, nh, p, np, pr)) || json_object_set_new(row, "disagreement", json_real(d.value)) ||
        json_object_set_new(row, "detail", detail)) {
        if (err->code == LP_OK)
            lp_error_set(err, LP_E_NOMEM, "out of memory comparing predictions");
        json_decref(row);
        return NULL;
    }
    return row;
}

/* One batch of at most LP_DISAGREEMENT_BATCH items. */
static int store_batch(lp_db *db, const lp_config *cfg, const char *team_id, const char *model_id, const char *run_id,
                       const char *const *item_ids, size_t n, lp_error *err)
{
    lp_arena *a = lp_arena_new(0, 0);
    const char **ids = a ? lp_arena_calloc(a, n + 1, sizeof *ids) : NULL;
    int64_t *versions = a ? lp_arena_calloc(a, n + 1, sizeof *versions) : NULL;
    json_t *rows = json_array();
    lp_dis_input_row *in;
    size_t nin, k = 0;
    char *text = NULL;
    int own = !lp_db_in_transaction(db), rc = -1;

    if (!ids || !versions || !rows) {
        lp_error_set(err, LP_E_NOMEM, "out of memory comparing predictions");
        goto done;
    }
    memcpy(ids, item_ids, n * sizeof *ids);
    qsort(ids, n, sizeof *ids, cmp_str); /* the order of the rows read (uuid order is their text's) */
    if ((own && lp_db_begin(db, err) != 0) ||
        lp_db_disagreement_inputs(db, a, team_id, run_id, ids, n, &in, &nin, versions, err) != 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        size_t first = k;
        while (k < nin && strcmp(in[k].item_id, ids[i]) == 0)
            k++;
        json_t *row = item_row(cfg, a, ids[i], versions[i], &in[first], k - first, err);
        if (!row || json_array_append_new(rows, row) != 0)
            goto done;
    }
    if (!(text = json_dumps(rows, JSON_COMPACT))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory comparing predictions");
        goto done;
    }
    if (lp_db_disagreement_store(db, team_id, model_id, run_id, text, err) != 0 ||
        (own && lp_db_commit(db, err) != 0))
        goto done;
    rc = 0;
done:
    if (rc != 0 && own && lp_db_in_transaction(db))
        lp_db_rollback(db);
    free(text);
    json_decref(rows);
    lp_arena_free(a);
    return rc;
}

int lp_disagreement_store(lp_db *db, const lp_config *cfg, const char *team_id, const char *model_id,
                          const char *run_id, const char *const *item_ids, size_t n, lp_error *err)
{
    for (size_t at = 0; at < n; at += LP_DISAGREEMENT_BATCH) {
        size_t m = n - at < LP_DISAGREEMENT_BATCH ? n - at : LP_DISAGREEMENT_BATCH;
        if (store_batch(db, cfg, team_id, model_id, run_id, item_ids + at, m, err) != 0)
            return -1;
    }
    return 0;
}

int64_t lp_disagreement_refresh(lp_db *db, const lp_config *cfg, const char *team_id, const char *run_id,
                                const char *item_id, lp_error *err)
{
    char after[LP_DB_UUID_LEN] = "";
    int64_t total = 0;
    for (;;) {
        lp_arena *a = lp_arena_new(0, 0);
        const char **ids = NULL, *model_id = NULL;
        size_t n = 0;
        int rc = a ? lp_db_disagreement_stale(db, a, team_id, run_id, item_id, after[0] ? after : NULL,
                                              LP_DISAGREEMENT_BATCH, &ids, &n, &model_id, err)
                   : lp_error_set(err, LP_E_NOMEM, "out of memory comparing predictions");
        if (rc == 0 && n > 0) {
            rc = store_batch(db, cfg, team_id, model_id, run_id, ids, n, err);
            snprintf(after, sizeof after, "%s", ids[n - 1]);
        }
        lp_arena_free(a);
        if (rc != 0)
            return -1;
        total += (int64_t)n;
        if (n < LP_DISAGREEMENT_BATCH)
            return total;
    }
}

int64_t lp_disagreement_refresh_items(lp_db *db, const lp_config *cfg, const char *team_id,
                                      const char *item_ids_json, lp_error *err)
{
    lp_arena *a = lp_arena_new(0, 0);
    lp_dis_stale *rows;
    const char **ids;
    size_t n = 0;
    int rc = -1;

    if (!a)
        return lp_error_set(err, LP_E_NOMEM, "out of memory comparing predictions");
    if (lp_db_disagreement_stale_items(db, a, team_id, item_ids_json, &rows, &n, err) != 0)
        goto done;
    if (!(ids = lp_arena_calloc(a, n + 1, sizeof *ids))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory comparing predictions");
        goto done;
    }
    /* the rows come in run order: each run's items at once, a batch at a time */
    for (size_t at = 0; at < n;) {
        size_t k = 0;
        while (at + k < n && k < LP_DISAGREEMENT_BATCH && strcmp(rows[at + k].run_id, rows[at].run_id) == 0) {
            ids[k] = rows[at + k].item_id;
            k++;
        }
        if (store_batch(db, cfg, team_id, rows[at].model_id, rows[at].run_id, ids, k, err) != 0)
            goto done;
        at += k;
    }
    rc = 0;
done:
    lp_arena_free(a);
    return rc == 0 ? (int64_t)n : -1;
}
