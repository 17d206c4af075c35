/* Statements about items and slots. See loupe/db/items_sql.h.
 *
 * Filters compile to SQL with the statement builder (lp_sqlb, sqlb.c); the
 * table alias of the filtered items is always "i". Index notes for the
 * statements below are in docs/DATA_MODEL.md. */
#include "loupe/db/items_sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "loupe/core/buf.h"
#include "loupe/core/util.h"


#define ITEM_COLUMNS                                                                                             \
    "i.id, i.dataset_id, i.name, i.path, i.status, i.error, i.priority, i.metadata, i.annotation_count, "         \
    "array_to_json(i.class_ids), " LP_SQL_TS("i.created_at") ", " LP_SQL_TS("i.updated_at")

void lp_sqlb_item_filter(lp_sqlb *b, const lp_item_filter *f)
{
    lp_sqlb_add(b, "i.team_id = $%d::uuid", lp_sqlb_param(b, f->team_id));
    if (f->dataset_id)
        lp_sqlb_add(b, " AND i.dataset_id = $%d::uuid", lp_sqlb_param(b, f->dataset_id));
    if (f->item_ids) {
        lp_sqlb_add(b, " AND i.id = ANY($%d::uuid[])", lp_sqlb_param(b, lp_sqlb_array(b, f->item_ids, f->nitem_ids)));
        lp_sqlb_add(b, " AND i.dataset_id IN (SELECT d.id FROM datasets d WHERE d.team_id = $1::uuid "
                    "AND d.deleted_at IS NULL)");
    }
    if (f->path && strcmp(f->path, "/") != 0) {
        /* The folder itself or anything below it: a range of the
         * (dataset_id, path, name) index under COLLATE "C" ('0' follows '/'). */
        int p = lp_sqlb_param(b, f->path);
        lp_sqlb_add(b, " AND (i.path = $%d::text OR (i.path >= $%d::text || '/' AND i.path < $%d::text || '0'))", p, p,
                 p);
    }
    if (f->name_contains)
        lp_sqlb_add(b, " AND strpos(lower(i.name), lower($%d::text)) > 0", lp_sqlb_param(b, f->name_contains));
    if (f->nstatuses)
        lp_sqlb_add(b, " AND i.status = ANY($%d::text[])", lp_sqlb_param(b, lp_sqlb_array(b, f->statuses, f->nstatuses)));
    if (f->has_class)
        lp_sqlb_add(b, " AND i.class_ids @> ARRAY[$%d::uuid]", lp_sqlb_param(b, f->has_class));
    if (f->lacks_class)
        lp_sqlb_add(b, " AND NOT (i.class_ids @> ARRAY[$%d::uuid])", lp_sqlb_param(b, f->lacks_class));
    if (f->has_count_gte)
        lp_sqlb_add(b, " AND i.annotation_count >= $%d::bigint", lp_sqlb_param(b, lp_sqlb_int(b, f->count_gte)));
    if (f->has_count_lte)
        lp_sqlb_add(b, " AND i.annotation_count <= $%d::bigint", lp_sqlb_param(b, lp_sqlb_int(b, f->count_lte)));
    for (size_t k = 0; k < f->nmeta && k < LP_ITEM_FILTER_META_MAX; k++) {
        int key = lp_sqlb_param(b, f->meta_keys[k]);
        lp_sqlb_add(b, " AND i.metadata ->> $%d::text = $%d::text", key, lp_sqlb_param(b, f->meta_values[k]));
    }
    if (f->created_gte)
        lp_sqlb_add(b, " AND i.created_at >= $%d::timestamptz", lp_sqlb_param(b, f->created_gte));
    if (f->created_lte)
        lp_sqlb_add(b, " AND i.created_at <= $%d::timestamptz", lp_sqlb_param(b, f->created_lte));
    if (f->updated_gte)
        lp_sqlb_add(b, " AND i.updated_at >= $%d::timestamptz", lp_sqlb_param(b, f->updated_gte));
    if (f->updated_lte)
        lp_sqlb_add(b, " AND i.updated_at <= $%d::timestamptz", lp_sqlb_param(b, f->updated_lte));
    if (f->slot_type)
        lp_sqlb_add(b, " AND EXISTS (SELECT 1 FROM slots s WHERE s.item_id = i.id AND s.type = $%d::text)",
                    lp_sqlb_param(b, f->slot_type));
    if (f->disagreement_gte || f->disagreement_lte || f->disagreement_run) {
        /* A fresh row: computed from the item's current annotation version. */
        lp_sqlb_add(b, " AND EXISTS (SELECT 1 FROM item_disagreements d WHERE d.item_id = i.id AND d.annotation_version"
                       " = COALESCE((SELECT v.version FROM item_annotation_versions v WHERE v.item_id = i.id), 0)");
        if (f->disagreement_run)
            lp_sqlb_add(b, " AND d.run_id = $%d::uuid", lp_sqlb_param(b, f->disagreement_run));
        if (f->disagreement_gte)
            lp_sqlb_add(b, " AND d.disagreement >= $%d::real", lp_sqlb_param(b, f->disagreement_gte));
        if (f->disagreement_lte)
            lp_sqlb_add(b, " AND d.disagreement <= $%d::real", lp_sqlb_param(b, f->disagreement_lte));
        lp_sqlb_add(b, ")");
    }
    if (f->stage || f->state || f->assignee_id) {
        /* The item's task (tasks.item_id is unique: one probe of its index). */
        lp_sqlb_add(b, " AND EXISTS (SELECT 1 FROM tasks t WHERE t.item_id = i.id");
        if (f->stage)
            lp_sqlb_add(b, " AND t.stage = $%d::text", lp_sqlb_param(b, f->stage));
        if (f->state)
            lp_sqlb_add(b, " AND t.state = $%d::text", lp_sqlb_param(b, f->state));
        if (f->assignee_id)
            lp_sqlb_add(b, " AND t.assignee_id = $%d::uuid", lp_sqlb_param(b, f->assignee_id));
        lp_sqlb_add(b, ")");
    }
}

/* ---- Rows ---------------------------------------------------------------- */

static int read_item(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_item_row *out = dst;
    memset(out, 0, sizeof *out);
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->dataset_id, sizeof out->dataset_id, r, row, 1);
    out->name = lp_db_text(a, r, row, 2);
    out->path = lp_db_text(a, r, row, 3);
    out->status = lp_db_text(a, r, row, 4);
    out->error = lp_db_text(a, r, row, 5);
    out->priority = lp_db_int_or(r, row, 6, 0);
    out->metadata = lp_db_text(a, r, row, 7);
    out->annotation_count = lp_db_int_or(r, row, 8, 0);
    out->class_ids = lp_db_text(a, r, row, 9);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 10);
    lp_db_text_copy(out->updated_at, sizeof out->updated_at, r, row, 11);
    if (!out->name || !out->path || !out->status || !out->metadata || !out->class_ids ||
        (!PQgetisnull(r, row, 5) && !out->error))
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading item %s", out->id);
    return 0;
}

PGresult *lp_db_items_by_ids(lp_db *db, const lp_item_row *rows, size_t n, const char *sql, lp_error *err)
{
    lp_sqlb b;
    if (lp_sqlb_init(&b, err) != 0)
        return NULL;
    const char **ids = lp_arena_calloc(b.a, n + 1, sizeof *ids);
    if (!ids)
        b.failed = 1;
    for (size_t k = 0; ids && k < n; k++)
        ids[k] = rows[k].id;
    lp_sqlb_param(&b, ids ? lp_sqlb_array(&b, ids, n) : NULL);
    return lp_sqlb_query(&b, db, sql, err);
}

int lp_db_items_load_slots(lp_db *db, lp_arena *a, lp_item_row *rows, size_t n, lp_error *err)
{
    PGresult *r;
    int rc = 0;

    if (n == 0)
        return 0;
    r = lp_db_items_by_ids(db, rows, n,
                           "SELECT " LP_DB_SLOT_COLUMNS " FROM unnest($1::uuid[]) WITH ORDINALITY AS u(item_id, ord) "
                           "JOIN slots s ON s.item_id = u.item_id JOIN items i ON i.id = s.item_id "
                           "ORDER BY u.ord, s.position",
                           err);
    if (!r)
        return -1;

    int total = PQntuples(r);
    lp_slot_row *all = lp_arena_calloc(a, (size_t)total + 1, sizeof *all);
    if (!all)
        rc = lp_error_set(err, LP_E_NOMEM, "out of memory reading %d slots", total);
    size_t item = 0;
    for (size_t k = 0; k < n; k++) {
        rows[k].slots = all;
        rows[k].nslots = 0;
    }
    for (int row = 0; rc == 0 && row < total; row++) {
        const char *item_id = PQgetvalue(r, row, 1);
        while (item < n && strcmp(rows[item].id, item_id) != 0)
            item++;
        if (item == n)
            break; /* cannot happen: rows come in the order of ids */
        lp_slot_row *s = &all[row];
        if (rows[item].nslots == 0)
            rows[item].slots = s;
        rows[item].nslots++;
        rc = lp_db_slot_read(a, r, row, s, err);
    }
    PQclear(r);
    return rc;
}

/* ---- Single items ---------------------------------------------------------- */

static int dataset_live(lp_db *db, const char *team_id, const char *dataset_id, lp_error *err)
{
    const char *p[2] = {team_id, dataset_id};
    PGresult *r = lp_db_query(db, "SELECT 1 FROM datasets WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL", 2,
                              p, err);
    if (!r)
        return -1;
    int found = PQntuples(r) > 0;
    PQclear(r);
    return found ? 0 : lp_error_set(err, LP_E_NOT_FOUND, "dataset %s not found", dataset_id);
}

static int insert_slots(lp_db *db, const char *item_id, const lp_slot_input *slots, size_t nslots, lp_error *err)
{
    lp_sqlb b;
    const char **cols[9];
    int rc = -1;

    if (nslots == 0)
        return 0;
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    for (int c = 0; c < 9; c++) {
        cols[c] = lp_arena_calloc(b.a, nslots, sizeof(char *));
        if (!cols[c])
            b.failed = 1;
    }
    for (size_t k = 0; !b.failed && k < nslots; k++) {
        const lp_slot_input *s = &slots[k];
        cols[0][k] = s->name;
        cols[1][k] = s->type;
        cols[2][k] = s->width >= 0 ? lp_sqlb_int(&b, s->width) : NULL;
        cols[3][k] = s->height >= 0 ? lp_sqlb_int(&b, s->height) : NULL;
        cols[4][k] = s->frame_count >= 0 ? lp_sqlb_int(&b, s->frame_count) : NULL;
        cols[5][k] = s->fps >= 0 ? lp_arena_printf(b.a, "%.17g", s->fps) : NULL;
        cols[6][k] = lp_sqlb_int(&b, s->rotation);
        cols[7][k] = s->format;
        cols[8][k] = s->metadata ? s->metadata : "{}";
    }
    const char *p[10];
    p[0] = item_id;
    for (int c = 0; !b.failed && c < 9; c++)
        p[c + 1] = lp_sqlb_array(&b, cols[c], nslots);
    if (lp_sqlb_check(&b, err) == 0)
        rc = lp_db_exec(db,
                        "INSERT INTO slots (item_id, name, type, width, height, frame_count, fps, rotation, format, "
                        "metadata, position) "
                        "SELECT $1, u.name, u.type, u.width, u.height, u.frame_count, u.fps, u.rotation, u.format, "
                        "u.metadata, (u.ord - 1)::integer "
                        "FROM unnest($2::text[], $3::text[], $4::integer[], $5::integer[], $6::integer[], "
                        "$7::float8[], $8::integer[], $9::text[], $10::jsonb[]) WITH ORDINALITY "
                        "AS u(name, type, width, height, frame_count, fps, rotation, format, metadata, ord)",
                        10, p, err) < 0
                 ? -1
                 : 0;
    lp_sqlb_free(&b);
    return rc;
}

int lp_db_item_create(lp_db *db, lp_arena *a, const char *team_id, const char *dataset_id, const char *name,
                      const char *path, int64_t priority, const char *metadata, const lp_slot_input *slots,
                      size_t nslots, lp_item_row *out, lp_error *err)
{
    char prio[24];
    snprintf(prio, sizeof prio, "%lld", (long long)priority);
    const char *p[6] = {team_id, dataset_id, name, path, prio, metadata ? metadata : "{}"};
    PGresult *r = lp_db_query(db,
                              "INSERT INTO items AS i (team_id, dataset_id, name, path, priority, metadata) "
                              "SELECT d.team_id, d.id, $3, $4, $5::integer, $6::jsonb FROM datasets d "
                              "WHERE d.team_id = $1 AND d.id = $2 AND d.deleted_at IS NULL "
                              "ON CONFLICT (dataset_id, path, name) DO NOTHING RETURNING " ITEM_COLUMNS,
                              6, p, err);
    int made = lp_db_one(a, r, read_item, out, err);
    if (made == 1)
        return dataset_live(db, team_id, dataset_id, err) != 0 ? -1 : 1;
    if (made != 0 || insert_slots(db, out->id, slots, nslots, err) != 0)
        return -1;
    return lp_db_items_load_slots(db, a, out, 1, err);
}

int lp_db_item_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_item_row *out, lp_error *err)
{
    const char *p[2] = {team_id, id};
    PGresult *r = lp_db_query(db,
                              "SELECT " ITEM_COLUMNS " FROM items i "
                              "JOIN datasets d ON d.id = i.dataset_id AND d.deleted_at IS NULL "
                              "WHERE i.team_id = $1 AND i.id = $2",
                              2, p, err);
    if (lp_db_one_found(a, r, read_item, out, err, "item %s not found", id) != 0)
        return -1;
    return lp_db_items_load_slots(db, a, out, 1, err);
}

int lp_db_item_update(lp_db *db, lp_arena *a, const char *team_id, const char *id, const char *name,
                      const char *path, int has_priority, int64_t priority, const char *metadata, lp_item_row *out,
                      lp_error *err)
{
    char prio[24];
    int taken;
    snprintf(prio, sizeof prio, "%lld", (long long)priority);
    const char *p[6] = {team_id, id, name, path, has_priority ? prio : NULL, metadata};
    PGresult *r = lp_db_query_or_conflict(db,
                                          "UPDATE items i SET name = coalesce($3, i.name), "
                                          "path = coalesce($4, i.path), priority = coalesce($5::integer, i.priority), "
                                          "metadata = coalesce($6::jsonb, i.metadata), updated_at = now() "
                                          "FROM datasets d WHERE d.id = i.dataset_id AND d.deleted_at IS NULL "
                                          "AND i.team_id = $1 AND i.id = $2 RETURNING " ITEM_COLUMNS,
                                          6, p, &taken, err);
    if (taken)
        return 1;
    if (lp_db_one_found(a, r, read_item, out, err, "item %s not found", id) != 0)
        return -1;
    return lp_db_items_load_slots(db, a, out, 1, err);
}

int lp_db_item_delete(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_item_row *out,
                      lp_error *err)
{
    const char *p[2] = {team_id, id};
    PGresult *r = lp_db_query(db,
                              "DELETE FROM items i USING datasets d "
                              "WHERE d.id = i.dataset_id AND d.deleted_at IS NULL AND i.team_id = $1 AND i.id = $2 "
                              "RETURNING " ITEM_COLUMNS,
                              2, p, err);
    return lp_db_one_found(a, r, read_item, out, err, "item %s not found", id);
}

/* ---- Lists ------------------------------------------------------------------ */

int lp_db_items_list(lp_db *db, lp_arena *a, const lp_item_filter *f, lp_item_sort sort, const char *after_key,
                     const char *after_id, int64_t limit, lp_item_row **out, size_t *n, lp_error *err)
{
    /* Sort column, its cast for the cursor key, and the direction. */
    static const struct {
        const char *col, *cast;
        int desc;
    } SORTS[] = {
        [LP_ITEM_SORT_NAME] = {"i.name", "text", 0},           [LP_ITEM_SORT_NAME_DESC] = {"i.name", "text", 1},
        [LP_ITEM_SORT_CREATED] = {"i.created_at", "timestamptz", 0},
        [LP_ITEM_SORT_CREATED_DESC] = {"i.created_at", "timestamptz", 1},
        [LP_ITEM_SORT_PRIORITY] = {"i.priority", "integer", 0},
        [LP_ITEM_SORT_PRIORITY_DESC] = {"i.priority", "integer", 1},
    };
    lp_sqlb b;
    PGresult *r;

    if ((unsigned)sort >= sizeof SORTS / sizeof SORTS[0])
        return lp_error_set(err, LP_E_INTERNAL, "unknown item sort order %d", (int)sort);
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_add(&b, "SELECT " ITEM_COLUMNS " FROM items i WHERE ");
    lp_sqlb_item_filter(&b, f);
    if (after_key && after_id) {
        int k = lp_sqlb_param(&b, after_key);
        lp_sqlb_add(&b, " AND (%s, i.id) %s ($%d::%s, $%d::uuid)", SORTS[sort].col, SORTS[sort].desc ? "<" : ">", k,
                 SORTS[sort].cast, lp_sqlb_param(&b, after_id));
    }
    lp_sqlb_add(&b, " ORDER BY %s %s, i.id %s LIMIT $%d::bigint", SORTS[sort].col, SORTS[sort].desc ? "DESC" : "ASC",
             SORTS[sort].desc ? "DESC" : "ASC", lp_sqlb_param(&b, lp_sqlb_int(&b, limit)));
    if (lp_sqlb_check(&b, err) != 0) {
        lp_sqlb_free(&b);
        return -1;
    }
    r = lp_db_query(db, b.sql.data, b.n, b.params, err);
    lp_sqlb_free(&b);
    *out = lp_db_rows(a, r, sizeof **out, read_item, "items", n, err);
    return *out ? 0 : -1;
}

int64_t lp_db_items_count(lp_db *db, const lp_item_filter *f, int64_t limit, lp_error *err)
{
    lp_sqlb b;
    int64_t count = -1;

    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_add(&b, "SELECT count(*) FROM (SELECT 1 FROM items i WHERE ");
    lp_sqlb_item_filter(&b, f);
    if (limit > 0)
        lp_sqlb_add(&b, " LIMIT $%d::bigint", lp_sqlb_param(&b, lp_sqlb_int(&b, limit)));
    lp_sqlb_add(&b, ") s");
    if (lp_sqlb_check(&b, err) == 0)
        count = lp_db_count(db, b.sql.data, b.n, b.params, err);
    lp_sqlb_free(&b);
    return count;
}

/* ---- Bulk actions ------------------------------------------------------------ */

static int read_conflict(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_item_conflict *out = dst;
    out->path = lp_db_text(a, r, row, 0);
    out->name = lp_db_text(a, r, row, 1);
    if (!out->path || !out->name)
        return lp_error_set(err, LP_E_NOMEM, "out of memory listing conflicts");
    return 0;
}

int lp_db_items_conflicts(lp_db *db, lp_arena *a, const lp_item_filter *f, lp_items_op op,
                          const char *target_dataset_id, size_t max, lp_item_conflict **out, size_t *n,
                          lp_error *err)
{
    lp_sqlb b;
    PGresult *r;
    int rc = -1;

    *n = 0;
    *out = NULL;
    if (!f->item_ids) {
        /* Items of one dataset are unique by path and name already: only
         * the target can collide, and an empty target cannot. */
        const char *p[1] = {target_dataset_id};
        r = lp_db_query(db, "SELECT EXISTS (SELECT 1 FROM items WHERE dataset_id = $1)", 1, p, err);
        if (!r)
            return -1;
        int any = lp_db_bool(r, 0, 0);
        PQclear(r);
        if (!any)
            return 0;
    }
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    /* Each half repeats the filter text; the parameters are shared. */
    size_t mark = 0;
    lp_sqlb_add(&b, "(SELECT i.path, i.name FROM items i WHERE ");
    mark = b.sql.len;
    lp_sqlb_item_filter(&b, f);
    size_t filter_len = b.sql.len - mark;
    int t = lp_sqlb_param(&b, target_dataset_id);
    /* A moved item does not collide with itself; a copied one does. */
    lp_sqlb_add(&b, " AND EXISTS (SELECT 1 FROM items x WHERE x.dataset_id = $%d::uuid AND x.path = i.path "
                 "AND x.name = i.name%s))", t, op == LP_ITEMS_COPY ? "" : " AND x.id <> i.id");
    if (f->item_ids) {
        char *filter_text = lp_arena_strndup(b.a, b.sql.data + mark, filter_len);
        if (!filter_text)
            b.failed = 1;
        lp_sqlb_add(&b, " UNION ALL (SELECT i.path, i.name FROM items i WHERE ");
        if (filter_text && lp_buf_puts(&b.sql, filter_text) != 0)
            b.failed = 1;
        if (op != LP_ITEMS_COPY)
            lp_sqlb_add(&b, " AND i.dataset_id <> $%d::uuid", t);
        lp_sqlb_add(&b, " GROUP BY i.path, i.name HAVING count(*) > 1)");
    }
    lp_sqlb_add(&b, " LIMIT $%d::bigint", lp_sqlb_param(&b, lp_sqlb_int(&b, (int64_t)max)));
    if (lp_sqlb_check(&b, err) != 0)
        goto cleanup;
    *out = lp_db_rows(a, lp_db_query(db, b.sql.data, b.n, b.params, err), sizeof **out, read_conflict, "conflicts",
                      n, err);
    rc = *out ? 0 : -1;
cleanup:
    lp_sqlb_free(&b);
    return rc;
}

/* The statement acting on the selection "sel(id, created_at)", as further
 * CTEs. Copy carries slots and annotations (with their frames) under new
 * ids; every column not named here keeps its default. */
static void add_action(lp_sqlb *b, const lp_items_change *c, int target)
{
    switch (c->op) {
    case LP_ITEMS_MOVE:
        lp_sqlb_add(b, ", act AS (UPDATE items u SET dataset_id = $%d::uuid, updated_at = now() "
                    "FROM sel WHERE u.id = sel.id)", target);
        break;
    case LP_ITEMS_DELETE:
        lp_sqlb_add(b, ", act AS (DELETE FROM items u USING sel WHERE u.id = sel.id)");
        break;
    case LP_ITEMS_UPDATE: {
        int prio = lp_sqlb_param(b, c->has_priority ? lp_sqlb_int(b, c->priority) : NULL);
        int set = lp_sqlb_param(b, c->metadata_set);
        int rm = lp_sqlb_param(b, lp_sqlb_array(b, c->metadata_remove, c->nmetadata_remove));
        lp_sqlb_add(b, ", act AS (UPDATE items u SET priority = coalesce($%d::integer, u.priority), "
                    "metadata = (u.metadata || coalesce($%d::jsonb, '{}')) - $%d::text[], updated_at = now() "
                    "FROM sel WHERE u.id = sel.id)", prio, set, rm);
        break;
    }
    case LP_ITEMS_COPY:
        lp_sqlb_add(b, ", m AS (SELECT sel.id AS old_id, gen_random_uuid() AS new_id FROM sel)"
                    ", ci AS (INSERT INTO items (id, team_id, dataset_id, name, path, status, error, priority, "
                    "metadata, annotation_count, class_ids) "
                    "SELECT m.new_id, i.team_id, $%d::uuid, i.name, i.path, i.status, i.error, i.priority, "
                    "i.metadata, i.annotation_count, i.class_ids FROM m JOIN items i ON i.id = m.old_id)", target);
        lp_sqlb_add(b, ", cs AS (INSERT INTO slots (item_id, name, type, width, height, frame_count, fps, rotation, "
                    "format, storage, metadata, position) "
                    "SELECT m.new_id, s.name, s.type, s.width, s.height, s.frame_count, s.fps, s.rotation, "
                    "s.format, s.storage, s.metadata, s.position FROM m JOIN slots s ON s.item_id = m.old_id)");
        /* Annotations and their frames (migrations 0004, 0013), their item
         * properties: ids are unique per item, so the copies keep them (and a
         * raster layer's mapping still names its masks); every other column
         * kept — a new column there belongs here too. */
        lp_sqlb_add(b, ", ca AS (INSERT INTO annotations (id, team_id, item_id, slot, class_id, type, geom, data, "
                    "extra, z, source, confidence, ranges, hidden, version, created_by, updated_by, created_at, "
                    "updated_at, ranges_given, bbox) "
                    "SELECT a.id, a.team_id, m.new_id, a.slot, a.class_id, a.type, a.geom, a.data, a.extra, "
                    "a.z, a.source, a.confidence, a.ranges, a.hidden, a.version, a.created_by, a.updated_by, "
                    "a.created_at, a.updated_at, a.ranges_given, a.bbox FROM m JOIN annotations a ON a.item_id = m.old_id)"
                    ", cf AS (INSERT INTO annotation_frames (item_id, annotation_id, frame, keyframe, geom, data, "
                    "extra) "
                    "SELECT m.new_id, f.annotation_id, f.frame, f.keyframe, f.geom, f.data, f.extra "
                    "FROM m JOIN annotation_frames f ON f.item_id = m.old_id)"
                    ", cp AS (INSERT INTO item_properties (item_id, properties) "
                    "SELECT m.new_id, p.properties FROM m JOIN item_properties p ON p.item_id = m.old_id)");
        break;
    }
}

int64_t lp_db_items_apply(lp_db *db, const lp_item_filter *f, const lp_items_change *c, lp_items_cursor *cursor,
                          int64_t batch, lp_error *err)
{
    lp_sqlb b;
    PGresult *r = NULL;
    int64_t count = -1;
    int target = 0;
    lp_error e;

    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_add(&b, "WITH sel AS (SELECT i.id, i.created_at FROM items i WHERE ");
    lp_sqlb_item_filter(&b, f);
    if (c->op == LP_ITEMS_MOVE || c->op == LP_ITEMS_COPY) {
        target = lp_sqlb_param(&b, c->target_dataset_id);
        lp_sqlb_add(&b, " AND EXISTS (SELECT 1 FROM datasets t WHERE t.id = $%d::uuid AND t.team_id = $1::uuid "
                     "AND t.deleted_at IS NULL)", target);
        if (c->op == LP_ITEMS_MOVE)
            lp_sqlb_add(&b, " AND i.dataset_id <> $%d::uuid", target);
    }
    if (cursor) {
        if (cursor->set) {
            int k = lp_sqlb_param(&b, cursor->created_at);
            lp_sqlb_add(&b, " AND (i.created_at, i.id) > ($%d::timestamptz, $%d::uuid)", k,
                     lp_sqlb_param(&b, cursor->id));
        }
        lp_sqlb_add(&b, " ORDER BY i.created_at, i.id LIMIT $%d::bigint", lp_sqlb_param(&b, lp_sqlb_int(&b, batch)));
    }
    lp_sqlb_add(&b, ")");
    add_action(&b, c, target);
    lp_sqlb_add(&b, " SELECT count(*), (SELECT " LP_SQL_TS("l.created_at") " || ' ' || l.id FROM sel l "
                 "ORDER BY l.created_at DESC, l.id DESC LIMIT 1) FROM sel");
    if (lp_sqlb_check(&b, err) != 0)
        goto cleanup;
    lp_error_clear(&e);
    r = lp_db_query(db, b.sql.data, b.n, b.params, &e);
    if (!r) {
        *err = e;
        if (e.code == LP_E_CONFLICT)
            lp_error_set(err, LP_E_CONFLICT,
                         "an item with the same path and name already exists in dataset %s",
                         c->target_dataset_id ? c->target_dataset_id : "(none)");
        goto cleanup;
    }
    count = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    if (cursor && count > 0) {
        /* "<created_at> <id>" of the last row of the batch. */
        const char *last = PQgetvalue(r, 0, 1);
        const char *sp = strchr(last, ' ');
        if (sp && (size_t)(sp - last) < sizeof cursor->created_at) {
            memcpy(cursor->created_at, last, (size_t)(sp - last));
            cursor->created_at[sp - last] = '\0';
            lp_strlcpy(cursor->id, sp + 1, sizeof cursor->id);
            cursor->set = 1;
        } else {
            count = lp_error_set(err, LP_E_INTERNAL, "bulk item action: unreadable batch position \"%s\"", last);
        }
    }
    PQclear(r);
cleanup:
    lp_sqlb_free(&b);
    return count;
}
