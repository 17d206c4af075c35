/* Statements about imports. See loupe/db/imports_sql.h and
 * migrations/0016_imports.sql. */
#include "loupe/db/imports_sql.h"

#include <stdio.h>
#include <stdlib.h>

#include "db_int.h"

#define IMPORT_COLUMNS                                                                                               \
    "m.id, m.dataset_id, coalesce(m.job_id::text, ''), m.format, m.options::text, m.dry_run, m.storage_key, "       \
    "coalesce(m.size_bytes, -1), m.sha256, " LP_SQL_TS("m.uploaded_at") ", m.counts::text, m.problems::text, "       \
    "m.problems_total, m.written, m.created_by, " LP_SQL_TS("m.created_at") ", " LP_SQL_TS("m.started_at") ", "     \
    LP_SQL_TS("m.finished_at") ", "                                                                                  \
    "CASE WHEN m.started_at IS NULL THEN (CASE WHEN m.uploaded_at IS NULL THEN 'awaiting_upload' ELSE 'uploaded' "  \
    "END) ELSE coalesce(j.status, 'failed') END, coalesce(j.progress, 0), "                                          \
    "CASE WHEN m.started_at IS NOT NULL AND j.id IS NULL THEN 'the import job is gone' ELSE j.error END"
#define IMPORT_FROM " FROM imports m LEFT JOIN jobs j ON j.id = m.job_id "

static int read_import(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_import_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->dataset_id, sizeof out->dataset_id, r, row, 1);
    lp_db_text_copy(out->job_id, sizeof out->job_id, r, row, 2);
    out->format = lp_db_text(a, r, row, 3);
    out->options = lp_db_text(a, r, row, 4);
    out->dry_run = lp_db_bool(r, row, 5);
    out->storage_key = PQgetisnull(r, row, 6) ? NULL : lp_db_text(a, r, row, 6);
    out->size_bytes = lp_db_int_or(r, row, 7, -1);
    out->sha256 = PQgetisnull(r, row, 8) ? NULL : lp_db_text(a, r, row, 8);
    lp_db_text_copy(out->uploaded_at, sizeof out->uploaded_at, r, row, 9);
    out->counts = PQgetisnull(r, row, 10) ? NULL : lp_db_text(a, r, row, 10);
    out->problems = lp_db_text(a, r, row, 11);
    out->problems_total = lp_db_int_or(r, row, 12, 0);
    out->written = PQgetisnull(r, row, 13) ? -1 : lp_db_bool(r, row, 13);
    out->created_by = PQgetisnull(r, row, 14) ? NULL : lp_db_text(a, r, row, 14);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 15);
    lp_db_text_copy(out->started_at, sizeof out->started_at, r, row, 16);
    lp_db_text_copy(out->finished_at, sizeof out->finished_at, r, row, 17);
    lp_db_text_copy(out->status, sizeof out->status, r, row, 18);
    out->progress = strtod(PQgetvalue(r, row, 19), NULL);
    out->error = PQgetisnull(r, row, 20) ? NULL : lp_db_text(a, r, row, 20);
    if (!out->format || !out->options || !out->problems)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading import %s", out->id);
    return 0;
}

static int read_id(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    (void)a;
    (void)err;
    lp_db_text_copy(dst, LP_DB_UUID_LEN, r, row, 0);
    return 0;
}

int lp_db_import_create(lp_db *db, const char *team_id, const char *user_id, const char *dataset_id,
                        const char *format, const char *options_json, bool dry_run, const char *storage_key,
                        int64_t size_bytes, char id_out[LP_DB_UUID_LEN], lp_error *err)
{
    char size[24];
    snprintf(size, sizeof size, "%lld", (long long)size_bytes);
    const char *p[8] = {team_id,  user_id, dataset_id, format, options_json, dry_run ? "t" : "f", storage_key,
                        size_bytes >= 0 ? size : NULL};
    return lp_db_one(NULL,
                     lp_db_query(db,
                                 "INSERT INTO imports (team_id, created_by, dataset_id, format, options, dry_run, "
                                 "storage_key, size_bytes, uploaded_at) VALUES ($1, $2, $3, $4, $5::jsonb, "
                                 "$6::boolean, $7, $8::bigint, CASE WHEN $7::text IS NULL THEN NULL ELSE now() END) "
                                 "RETURNING id",
                                 8, p, err),
                     read_id, id_out, err);
}

int lp_db_import_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_import_row *out, lp_error *err)
{
    const char *p[2] = {team_id, id};
    return lp_db_one_found(a,
                           lp_db_query(db, "SELECT " IMPORT_COLUMNS IMPORT_FROM "WHERE m.team_id = $1 AND m.id = $2",
                                       2, p, err),
                           read_import, out, err, "import %s not found", id);
}

int lp_db_import_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_id, int64_t limit,
                      lp_import_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[3] = {team_id, after_id, lim};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " IMPORT_COLUMNS IMPORT_FROM
                                  "WHERE m.team_id = $1 AND ($2::uuid IS NULL OR m.id < $2::uuid) "
                                  "ORDER BY m.id DESC LIMIT $3::bigint",
                                  3, p, err),
                      sizeof **out, read_import, "imports", n, err);
    return *out ? 0 : -1;
}

int lp_db_import_set_upload(lp_db *db, const char *team_id, const char *id, const char *storage_key,
                            int64_t size_bytes, const char *sha256, lp_error *err)
{
    char size[24];
    snprintf(size, sizeof size, "%lld", (long long)size_bytes);
    const char *p[5] = {team_id, id, storage_key, size, sha256};
    int64_t n = lp_db_exec(db,
                           "UPDATE imports SET storage_key = $3, size_bytes = $4::bigint, sha256 = $5, "
                           "uploaded_at = now() WHERE team_id = $1 AND id = $2 AND started_at IS NULL",
                           5, p, err);
    if (n < 0)
        return -1;
    if (n > 0)
        return 0;
    const char *q[2] = {team_id, id};
    int64_t found = lp_db_count(db, "SELECT count(*) FROM imports WHERE team_id = $1 AND id = $2", 2, q, err);
    if (found < 0)
        return -1;
    return found ? 1 : lp_error_set(err, LP_E_NOT_FOUND, "import %s not found", id);
}

int lp_db_import_start(lp_db *db, const char *id, const char *job_id, lp_error *err)
{
    const char *p[2] = {id, job_id};
    int64_t n = lp_db_exec(db,
                           "UPDATE imports SET job_id = $2, started_at = now() "
                           "WHERE id = $1 AND started_at IS NULL AND uploaded_at IS NOT NULL",
                           2, p, err);
    return n < 0 ? -1 : n == 0 ? 1 : 0;
}

int lp_db_import_finish(lp_db *db, const char *id, const char *counts_json, const char *problems_json,
                        int64_t problems_total, bool written, lp_error *err)
{
    char total[24];
    snprintf(total, sizeof total, "%lld", (long long)problems_total);
    const char *p[5] = {id, counts_json, problems_json, total, written ? "t" : "f"};
    return lp_db_exec_found(db,
                            "UPDATE imports SET counts = $2::jsonb, problems = $3::jsonb, "
                            "problems_total = $4::bigint, written = $5::boolean, finished_at = now() WHERE id = $1",
                            5, p, err, "import %s not found", id);
}

/* ---- the job's batches ------------------------------------------------------- */

static int read_hit(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_import_hit *h = dst;
    (void)a;
    (void)err;
    h->index = (size_t)strtoull(PQgetvalue(r, row, 0), NULL, 10);
    lp_db_text_copy(h->item_id, sizeof h->item_id, r, row, 1);
    return 0;
}

int lp_db_import_match(lp_db *db, lp_arena *a, const char *team_id, const char *dataset_id, const char *keys_json,
                       lp_import_hit **out, size_t *n, lp_error *err)
{
    const char *p[3] = {team_id, dataset_id, keys_json};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT k.ord - 1, i.id FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY "
                                  "AS k(v, ord) JOIN items i ON i.dataset_id = $2 AND i.team_id = $1 "
                                  "AND i.path = k.v->>0 AND i.name = k.v->>1",
                                  3, p, err),
                      sizeof **out, read_hit, "items of an import", n, err);
    return *out ? 0 : -1;
}

typedef struct found_image {
    char *name;
    int64_t width, height;
} found_image;

static int read_found_image(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    found_image *f = dst;
    f->name = lp_db_text(a, r, row, 0);
    f->width = lp_db_int_or(r, row, 1, -1);
    f->height = lp_db_int_or(r, row, 2, -1);
    return f->name ? 0 : lp_error_set(err, LP_E_NOMEM, "out of memory");
}

int lp_db_import_find_image(lp_db *db, lp_arena *a, const char *team_id, const char *dataset_id, const char *path,
                            const char *stem, char **name, int64_t *width, int64_t *height, lp_error *err)
{
    const char *p[4] = {team_id, dataset_id, path, stem};
    found_image f = {NULL, -1, -1};
    int rc = lp_db_one(a,
                       lp_db_query(db,
                                   "SELECT i.name, s.width, s.height FROM items i "
                                   "LEFT JOIN LATERAL (SELECT width, height FROM slots WHERE item_id = i.id "
                                   "ORDER BY position, name LIMIT 1) s ON true "
                                   "WHERE i.team_id = $1 AND i.dataset_id = $2 AND i.path = $3 AND (i.name = $4 "
                                   "OR (left(i.name, length($4) + 1) = $4 || '.' "
                                   "AND position('.' IN substr(i.name, length($4) + 2)) = 0)) "
                                   "ORDER BY i.name LIMIT 1",
                                   4, p, err),
                       read_found_image, &f, err);
    if (rc < 0)
        return -1;
    *name = f.name;
    *width = f.width;
    *height = f.height;
    return rc == 0 ? 1 : 0;
}

typedef struct found_volume {
    char *name, *slot, *metadata;
} found_volume;

static int read_found_volume(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    found_volume *f = dst;
    f->name = lp_db_text(a, r, row, 0);
    f->slot = lp_db_text(a, r, row, 1);
    f->metadata = lp_db_text(a, r, row, 2);
    return f->name && f->slot && f->metadata ? 0 : lp_error_set(err, LP_E_NOMEM, "out of memory");
}

int lp_db_import_find_volume(lp_db *db, lp_arena *a, const char *team_id, const char *dataset_id, const char *path,
                             const char *stem, char **name, char **slot, char **metadata, lp_error *err)
{
    const char *p[4] = {team_id, dataset_id, path, stem};
    found_volume f = {NULL, NULL, NULL};
    int rc = lp_db_one(a,
                       lp_db_query(db,
                                   "SELECT i.name, s.name, s.metadata FROM items i "
                                   "JOIN LATERAL (SELECT name, metadata FROM slots WHERE item_id = i.id "
                                   "AND type = 'volume' ORDER BY position, name LIMIT 1) s ON true "
                                   "WHERE i.team_id = $1 AND i.dataset_id = $2 AND i.path = $3 AND (i.name = $4 "
                                   "OR i.name = $4 || '.nii.gz' OR (left(i.name, length($4) + 1) = $4 || '.' "
                                   "AND position('.' IN substr(i.name, length($4) + 2)) = 0)) "
                                   "ORDER BY i.name LIMIT 1",
                                   4, p, err),
                       read_found_volume, &f, err);
    if (rc < 0)
        return -1;
    *name = f.name;
    *slot = f.slot;
    *metadata = f.metadata;
    return rc == 0 ? 1 : 0;
}

int lp_db_import_items_create(lp_db *db, lp_arena *a, const char *team_id, const char *dataset_id,
                              const char *items_json, lp_import_hit **out, size_t *n, lp_error *err)
{
    const char *p[3] = {team_id, dataset_id, items_json};
    *out = lp_db_rows(
        a,
        lp_db_query(db,
                    "WITH src AS (SELECT ord, v FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(v, ord)), "
                    "ins AS (INSERT INTO items (team_id, dataset_id, path, name) "
                    "SELECT $1, $2, v->>'path', v->>'name' FROM src ORDER BY ord RETURNING id, path, name), "
                    "made AS (SELECT src.ord, src.v, ins.id FROM src JOIN ins "
                    "ON ins.path = src.v->>'path' AND ins.name = src.v->>'name'), "
                    "sl AS (INSERT INTO slots (item_id, name, type, width, height, frame_count, position) "
                    "SELECT made.id, s.v->>'name', s.v->>'type', nullif((s.v->>'width')::int, 0), "
                    "nullif((s.v->>'height')::int, 0), nullif((s.v->>'frame_count')::int, 0), s.ord - 1 "
                    "FROM made CROSS JOIN LATERAL jsonb_array_elements(made.v->'slots') WITH ORDINALITY AS s(v, ord)) "
                    "SELECT ord - 1, id FROM made",
                    3, p, err),
        sizeof **out, read_hit, "items created by an import", n, err);
    return *out ? 0 : -1;
}

int lp_db_import_slots(lp_db *db, lp_arena *a, const char *ids_json, lp_slot_row **out, size_t *n, lp_error *err)
{
    const char *p[1] = {ids_json};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " LP_DB_SLOT_COLUMNS " FROM slots s JOIN items i ON i.id = s.item_id "
                                  "WHERE s.item_id IN (SELECT x::uuid FROM jsonb_array_elements_text($1::jsonb) x) "
                                  "ORDER BY s.item_id, s.position, s.name",
                                  1, p, err),
                      sizeof **out, lp_db_slot_read, "slots", n, err);
    return *out ? 0 : -1;
}

int lp_db_import_lock(lp_db *db, const char *ids_json, lp_error *err)
{
    const char *p[1] = {ids_json};
    return lp_db_exec(db,
                      "INSERT INTO item_annotation_versions (item_id) "
                      "SELECT DISTINCT x::uuid FROM jsonb_array_elements_text($1::jsonb) x ORDER BY 1 "
                      "ON CONFLICT (item_id) DO UPDATE SET version = item_annotation_versions.version",
                      1, p, err) < 0
               ? -1
               : 0;
}

static int read_index(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    (void)a;
    (void)err;
    *(size_t *)dst = (size_t)strtoull(PQgetvalue(r, row, 0), NULL, 10);
    return 0;
}

int lp_db_import_existing(lp_db *db, lp_arena *a, const char *pairs_json, size_t **out, size_t *n, lp_error *err)
{
    const char *p[1] = {pairs_json};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT k.ord - 1 FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS k(v, ord) "
                                  "JOIN annotations a ON a.item_id = (k.v->>0)::uuid AND a.id = k.v->>1",
                                  1, p, err),
                      sizeof **out, read_index, "annotation ids", n, err);
    return *out ? 0 : -1;
}

int64_t lp_db_import_delete_pairs(lp_db *db, const char *pairs_json, lp_error *err)
{
    const char *p[1] = {pairs_json};
    return lp_db_exec(db,
                      "DELETE FROM annotations a USING jsonb_array_elements($1::jsonb) k "
                      "WHERE a.item_id = (k->>0)::uuid AND a.id = k->>1",
                      1, p, err);
}

int64_t lp_db_import_delete_items(lp_db *db, const char *ids_json, lp_error *err)
{
    const char *p[1] = {ids_json};
    return lp_db_exec(db,
                      "DELETE FROM annotations WHERE item_id IN "
                      "(SELECT x::uuid FROM jsonb_array_elements_text($1::jsonb) x)",
                      1, p, err);
}

int lp_db_import_item_properties(lp_db *db, const char *pairs_json, lp_error *err)
{
    const char *p[1] = {pairs_json};
    return lp_db_exec(db,
                      "INSERT INTO item_properties (item_id, properties) "
                      "SELECT (e->>0)::uuid, e->1 FROM jsonb_array_elements($1::jsonb) e "
                      "ON CONFLICT (item_id) DO UPDATE SET properties = excluded.properties",
                      1, p, err) < 0
               ? -1
               : 0;
}

int lp_db_import_items_commit(lp_db *db, const char *ids_json, lp_error *err)
{
    const char *p[1] = {ids_json};
    return lp_db_exec(db,
                      "WITH ids AS (SELECT DISTINCT x::uuid AS id FROM jsonb_array_elements_text($1::jsonb) x), "
                      "s AS (SELECT ids.id, count(a.id) AS n, coalesce(array_agg(DISTINCT a.class_id "
                      "ORDER BY a.class_id) FILTER (WHERE a.class_id IS NOT NULL), '{}') AS cls "
                      "FROM ids LEFT JOIN annotations a ON a.item_id = ids.id GROUP BY ids.id), "
                      "u AS (UPDATE items SET annotation_count = s.n, class_ids = s.cls, updated_at = now() "
                      "FROM s WHERE items.id = s.id) "
                      "UPDATE item_annotation_versions v SET version = v.version + 1 FROM ids WHERE v.item_id = ids.id",
                      1, p, err) < 0
               ? -1
               : 0;
}
