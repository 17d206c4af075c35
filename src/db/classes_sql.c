/* Statements about annotation classes. See loupe/db/classes_sql.h. */
#include "loupe/db/classes_sql.h"

#include <stdlib.h>
#include <string.h>

#include "db_int.h"

#define CLASS_COLUMNS                                                                                                \
    "c.id, c.name, to_jsonb(c.annotation_types)::text, c.color, c.description, c.properties::text, "                 \
    "c.skeleton::text, to_jsonb(c.sub_types)::text, " LP_SQL_TS("c.created_at") ", " LP_SQL_TS("c.updated_at")

static int read_class(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_class_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    out->name = lp_db_text(a, r, row, 1);
    out->annotation_types = lp_db_text(a, r, row, 2);
    out->color = lp_db_text(a, r, row, 3);
    out->description = lp_db_text(a, r, row, 4);
    out->properties = lp_db_text(a, r, row, 5);
    out->skeleton = PQgetisnull(r, row, 6) ? NULL : lp_db_text(a, r, row, 6);
    out->sub_types = lp_db_text(a, r, row, 7);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 8);
    lp_db_text_copy(out->updated_at, sizeof out->updated_at, r, row, 9);
    if (!out->name || !out->annotation_types || !out->color || !out->description || !out->properties ||
        !out->sub_types || (!PQgetisnull(r, row, 6) && !out->skeleton))
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a class");
    return 0;
}

int lp_db_class_create(lp_db *db, lp_arena *a, const char *team_id, const lp_class_values *v, lp_class_row *out,
                       lp_error *err)
{
    const char *p[8] = {team_id, v->name, v->annotation_types, v->color, v->description, v->properties, v->skeleton,
                        v->sub_types};
    return lp_db_one(a,
                     lp_db_query(db,
                                 "WITH c AS (INSERT INTO classes (team_id, name, annotation_types, color, description, "
                                 "properties, skeleton, sub_types) VALUES ($1, $2, "
                                 "ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), $4, $5, $6::jsonb, $7::jsonb, "
                                 "ARRAY(SELECT jsonb_array_elements_text($8::jsonb))) "
                                 "ON CONFLICT (team_id, name) DO NOTHING RETURNING *) "
                                 "SELECT " CLASS_COLUMNS " FROM c",
                                 8, p, err),
                     read_class, out, err);
}

int lp_db_class_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_class_row *out, lp_error *err)
{
    const char *p[2] = {team_id, id};
    return lp_db_one_found(a,
                           lp_db_query(db, "SELECT " CLASS_COLUMNS " FROM classes c WHERE c.team_id = $1 AND c.id = $2",
                                       2, p, err),
                           read_class, out, err, "class %s not found", id);
}

int lp_db_class_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_name, const char *after_id,
                     int64_t limit, lp_class_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[4] = {team_id, after_name, after_id, lim};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " CLASS_COLUMNS " FROM classes c WHERE c.team_id = $1 "
                                  "AND ($2::text IS NULL OR (c.name, c.id) > ($2::text, $3::uuid)) "
                                  "ORDER BY c.name, c.id LIMIT $4::bigint",
                                  4, p, err),
                      sizeof **out, read_class, "classes", n, err);
    return *out ? 0 : -1;
}

int lp_db_class_update(lp_db *db, lp_arena *a, const char *team_id, const char *id, const lp_class_values *v,
                       lp_class_row *out, lp_error *err)
{
    const char *p[9] = {team_id, id, v->name, v->annotation_types, v->color, v->description, v->properties,
                        v->skeleton, v->sub_types};
    int taken;
    PGresult *r = lp_db_query_or_conflict(
        db,
        "UPDATE classes c SET name = $3, "
        "annotation_types = ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), color = $5, "
        "description = $6, properties = $7::jsonb, skeleton = $8::jsonb, "
        "sub_types = ARRAY(SELECT jsonb_array_elements_text($9::jsonb)), updated_at = now() "
        "WHERE c.team_id = $1 AND c.id = $2 RETURNING " CLASS_COLUMNS,
        9, p, &taken, err);
    if (taken)
        return 1;
    return lp_db_one_found(a, r, read_class, out, err, "class %s not found", id);
}

int64_t lp_db_class_usage(lp_db *db, const char *team_id, const char *id, lp_error *err)
{
    const char *p[2] = {team_id, id};
    return lp_db_count(db, "SELECT count(*) FROM annotations WHERE class_id = $2 AND team_id = $1", 2, p, err);
}

int lp_db_class_delete(lp_db *db, const char *team_id, const char *id, int64_t *deleted, int64_t *items,
                       lp_error *err)
{
    const char *p[2] = {team_id, id};
    int64_t n;
    if (lp_db_exec_found(db, "SELECT 1 FROM classes WHERE team_id = $1 AND id = $2 FOR UPDATE", 2, p, err,
                         "class %s not found", id) != 0)
        return -1;
    /* Annotations of the class, then the summaries of the items they were on. */
    PGresult *r = lp_db_query(db,
                              "WITH d AS (DELETE FROM annotations WHERE class_id = $2 AND team_id = $1 "
                              "RETURNING item_id) "
                              "SELECT count(*), coalesce(array_agg(DISTINCT item_id), '{}')::text FROM d",
                              2, p, err);
    if (!r)
        return -1;
    *deleted = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    char *touched = strdup(PQgetvalue(r, 0, 1));
    PQclear(r);
    if (!touched)
        return lp_error_set(err, LP_E_NOMEM, "out of memory deleting a class");
    const char *q[2] = {touched, id};
    n = lp_db_exec(db,
                   "UPDATE items i SET annotation_count = (SELECT count(*) FROM annotations a WHERE a.item_id = i.id), "
                   "class_ids = array_remove(i.class_ids, $2::uuid), updated_at = now() "
                   "WHERE i.id = ANY($1::uuid[])",
                   2, q, err);
    if (n >= 0)
        *items = n;
    if (n >= 0 && lp_db_exec(db,
                             "INSERT INTO item_annotation_versions (item_id, version) "
                             "SELECT unnest($1::uuid[]), 1 "
                             "ON CONFLICT (item_id) DO UPDATE SET version = item_annotation_versions.version + 1",
                             1, q, err) < 0)
        n = -1;
    free(touched);
    if (n < 0)
        return -1;
    return lp_db_exec(db, "DELETE FROM classes WHERE team_id = $1 AND id = $2", 2, p, err) < 0 ? -1 : 0;
}

int lp_db_classes_by_ids(lp_db *db, lp_arena *a, const char *team_id, const char *ids_json, lp_class_row **out,
                         size_t *n, lp_error *err)
{
    const char *p[2] = {team_id, ids_json};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " CLASS_COLUMNS " FROM classes c WHERE c.team_id = $1 AND c.id IN "
                                  "(SELECT x::uuid FROM jsonb_array_elements_text($2::jsonb) x)",
                                  2, p, err),
                      sizeof **out, read_class, "classes", n, err);
    return *out ? 0 : -1;
}

int lp_db_classes_for_annotations(lp_db *db, lp_arena *a, const char *team_id, const char *ids_json,
                                  const char *names_json, bool item_properties, lp_class_row **out, size_t *n,
                                  lp_error *err)
{
    const char *p[4] = {team_id, ids_json, names_json, item_properties ? "true" : "false"};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " CLASS_COLUMNS " FROM classes c WHERE c.team_id = $1 AND (c.id IN "
                                  "(SELECT x::uuid FROM jsonb_array_elements_text($2::jsonb) x) OR c.name IN "
                                  "(SELECT x FROM jsonb_array_elements_text($3::jsonb) x) OR "
                                  "($4::boolean AND c.properties @> '[{\"granularity\": \"item\"}]'))",
                                  4, p, err),
                      sizeof **out, read_class, "classes", n, err);
    return *out ? 0 : -1;
}
