/* Statements about uploads and the media state of slots. See
 * loupe/db/media_sql.h and migrations/0005_media.sql. */
#include "loupe/db/media_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db_int.h"
#include "loupe/core/util.h"
#include "loupe/db/item_filter.h"

#define SLOT_COLUMNS LP_DB_SLOT_COLUMNS

#define UPLOAD_COLUMNS                                                                                           \
    "u.id, u.item_id, u.slot_id, u.kind, u.key, u.state, u.size, u.sha256, u.content_type, u.job_id, "            \
    "CASE WHEN u.expires_at IS NULL THEN NULL ELSE " LP_SQL_TS("u.expires_at") " END, " LP_SQL_TS("u.created_at") ", "  \
    "u.files"

int lp_db_slot_read(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_slot_row *out = dst;
    memset(out, 0, sizeof *out);
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->item_id, sizeof out->item_id, r, row, 1);
    lp_db_text_copy(out->team_id, sizeof out->team_id, r, row, 2);
    out->name = lp_db_text(a, r, row, 3);
    out->type = lp_db_text(a, r, row, 4);
    out->status = lp_db_text(a, r, row, 5);
    out->error = lp_db_text(a, r, row, 6);
    out->width = lp_db_int_or(r, row, 7, -1);
    out->height = lp_db_int_or(r, row, 8, -1);
    out->frame_count = lp_db_int_or(r, row, 9, -1);
    out->fps = PQgetisnull(r, row, 10) ? -1.0 : strtod(PQgetvalue(r, row, 10), NULL);
    out->rotation = (int)lp_db_int_or(r, row, 11, 0);
    out->format = lp_db_text(a, r, row, 12);
    out->storage = lp_db_text(a, r, row, 13);
    out->metadata = lp_db_text(a, r, row, 14);
    out->position = (int)lp_db_int_or(r, row, 15, 0);
    out->item_status = lp_db_text(a, r, row, 16);
    if (!out->name || !out->type || !out->status || !out->storage || !out->metadata || !out->item_status ||
        (!PQgetisnull(r, row, 12) && !out->format) || (!PQgetisnull(r, row, 6) && !out->error))
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading slot %s", out->id);
    return 0;
}

int lp_db_media_slot_get(lp_db *db, lp_arena *a, const char *team_id, const char *item_id, const char *slot_name,
                         int for_update, lp_slot_row *out, lp_error *err)
{
    const char *p[3] = {team_id, item_id, slot_name};
    PGresult *r;

    /* The item first, so a missing item and a missing slot read differently. */
    if (lp_db_exec_found(db,
                         "SELECT 1 FROM items i JOIN datasets d ON d.id = i.dataset_id "
                         "WHERE ($1::uuid IS NULL OR i.team_id = $1) AND i.id = $2 AND d.deleted_at IS NULL",
                         2, p, err, "item %s not found", item_id) != 0)
        return -1;
    r = lp_db_query(db,
                    for_update ? "SELECT " SLOT_COLUMNS " FROM slots s JOIN items i ON i.id = s.item_id "
                                 "WHERE ($1::uuid IS NULL OR i.team_id = $1) AND s.item_id = $2 AND s.name = $3 "
                                 "FOR UPDATE OF s"
                               : "SELECT " SLOT_COLUMNS " FROM slots s JOIN items i ON i.id = s.item_id "
                                 "WHERE ($1::uuid IS NULL OR i.team_id = $1) AND s.item_id = $2 AND s.name = $3",
                    3, p, err);
    return lp_db_one_found(a, r, lp_db_slot_read, out, err, "slot \"%.80s\" of item %s not found", slot_name, item_id);
}

int lp_db_media_slot_get_by_id(lp_db *db, lp_arena *a, const char *team_id, const char *slot_id, int for_update,
                               lp_slot_row *out, lp_error *err)
{
    const char *p[2] = {team_id, slot_id};
    PGresult *r = lp_db_query(db,
                              for_update ? "SELECT " SLOT_COLUMNS " FROM slots s JOIN items i ON i.id = s.item_id "
                                           "JOIN datasets d ON d.id = i.dataset_id "
                                           "WHERE ($1::uuid IS NULL OR i.team_id = $1) AND s.id = $2 "
                                           "AND d.deleted_at IS NULL FOR UPDATE OF s"
                                         : "SELECT " SLOT_COLUMNS " FROM slots s JOIN items i ON i.id = s.item_id "
                                           "JOIN datasets d ON d.id = i.dataset_id "
                                           "WHERE ($1::uuid IS NULL OR i.team_id = $1) AND s.id = $2 "
                                           "AND d.deleted_at IS NULL",
                              2, p, err);
    return lp_db_one_found(a, r, lp_db_slot_read, out, err, "slot %.58s not found", slot_id);
}

int lp_db_media_item_refresh(lp_db *db, const char *item_id, lp_error *err)
{
    const char *p[1] = {item_id};
    /* One slot in error decides; its reason names the slot when there are several. */
    return lp_db_exec(db,
                      "WITH s AS (SELECT CASE "
                      "  WHEN bool_or(status = 'error') THEN 'error' "
                      "  WHEN bool_or(status = 'processing') THEN 'processing' "
                      "  WHEN bool_or(status = 'uploading') THEN 'uploading' "
                      "  WHEN bool_and(status = 'ready') THEN 'ready' "
                      "  WHEN bool_and(status = 'empty') THEN 'registered' "
                      "  ELSE 'uploading' END AS status, "
                      " (SELECT CASE WHEN (SELECT count(*) FROM slots c WHERE c.item_id = $1) > 1 "
                      "          THEN 'slot \"' || e.name || '\": ' ELSE '' END || e.error "
                      "  FROM slots e WHERE e.item_id = $1 AND e.status = 'error' ORDER BY e.position LIMIT 1) AS error "
                      " FROM slots WHERE item_id = $1) "
                      "UPDATE items i SET status = s.status, error = s.error, updated_at = now() FROM s "
                      "WHERE i.id = $1 AND s.status IS NOT NULL "
                      "AND (i.status, i.error) IS DISTINCT FROM (s.status, s.error)",
                      1, p, err) < 0
               ? -1
               : 0;
}

/* Runs a statement that changes one slot and returns its item_id, then
 * refreshes that item. Returns rows changed (0 or 1) or -1. */
static int slot_change(lp_db *db, const char *sql, int n, const char *const *p, lp_error *err)
{
    char item_id[LP_DB_UUID_LEN];
    PGresult *r = lp_db_query(db, sql, n, p, err);
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    lp_db_text_copy(item_id, sizeof item_id, r, 0, 0);
    PQclear(r);
    return lp_db_media_item_refresh(db, item_id, err) ? -1 : 1;
}

int lp_db_media_slot_set_status(lp_db *db, const char *slot_id, const char *status, const char *error,
                                lp_error *err)
{
    const char *p[3] = {slot_id, status, error};
    return slot_change(db, "UPDATE slots SET status = $2, error = $3 WHERE id = $1 RETURNING item_id", 3, p, err) < 0
               ? -1
               : 0;
}

int lp_db_media_slot_restore(lp_db *db, const char *slot_id, const char *status, lp_error *err)
{
    const char *p[2] = {slot_id, status};
    return slot_change(db, "UPDATE slots SET status = $2 WHERE id = $1 AND status = 'uploading' RETURNING item_id", 2,
                       p, err) < 0
               ? -1
               : 0;
}

int lp_db_media_slot_set_original(lp_db *db, const char *slot_id, const char *storage_json, lp_error *err)
{
    const char *p[2] = {slot_id, storage_json};
    int rc = slot_change(db,
                         "UPDATE slots SET storage = jsonb_set(storage, '{next}', $2::jsonb) "
                         "WHERE id = $1 AND status = 'ready' RETURNING item_id",
                         2, p, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    return slot_change(db,
                       "UPDATE slots SET storage = $2::jsonb, status = 'processing', error = NULL, width = NULL, "
                       "height = NULL, frame_count = NULL, fps = NULL, rotation = 0, format = NULL, "
                       "metadata = metadata - 'media' WHERE id = $1 RETURNING item_id",
                       2, p, err) < 0
               ? -1
               : 0;
}

int lp_db_media_slot_finish(lp_db *db, const char *slot_id, const char *upload_id, const lp_media_slot_result *res,
                            lp_error *err)
{
    char w[24], h[24], fc[24], fps[40], rot[16];
    const char *p[10];
    snprintf(w, sizeof w, "%lld", (long long)res->width);
    snprintf(h, sizeof h, "%lld", (long long)res->height);
    snprintf(fc, sizeof fc, "%lld", (long long)res->frame_count);
    snprintf(fps, sizeof fps, "%.17g", res->fps);
    snprintf(rot, sizeof rot, "%d", res->rotation);
    p[0] = slot_id;
    p[1] = upload_id;
    p[2] = res->width > 0 ? w : NULL;
    p[3] = res->height > 0 ? h : NULL;
    p[4] = res->frame_count > 0 ? fc : NULL;
    p[5] = res->fps > 0 ? fps : NULL;
    p[6] = rot;
    p[7] = res->format;
    p[8] = res->storage_merge ? res->storage_merge : "{}";
    p[9] = res->media_json ? res->media_json : "{}";
    return slot_change(db,
                       "UPDATE slots SET status = 'ready', error = NULL, width = $3::integer, height = $4::integer, "
                       "frame_count = $5::integer, fps = $6::float8, rotation = $7::integer, format = $8, "
                       "storage = CASE WHEN storage->'next'->>'upload_id' = $2 THEN (storage->'next') || $9::jsonb "
                       "          ELSE storage || $9::jsonb END, "
                       "metadata = jsonb_set(metadata, '{media}', $10::jsonb) "
                       "WHERE id = $1 AND (storage->>'upload_id' = $2 OR storage->'next'->>'upload_id' = $2) "
                       "RETURNING item_id",
                       10, p, err);
}

int lp_db_media_slot_fail(lp_db *db, const char *slot_id, const char *upload_id, const char *reason, lp_error *err)
{
    const char *p[3] = {slot_id, upload_id, reason};
    return slot_change(db,
                       "UPDATE slots SET "
                       "status = CASE WHEN storage->'next'->>'upload_id' = $2 THEN status ELSE 'error' END, "
                       "error = CASE WHEN storage->'next'->>'upload_id' = $2 THEN error ELSE $3 END, "
                       "storage = CASE WHEN storage->'next'->>'upload_id' = $2 THEN storage - 'next' ELSE storage END "
                       "WHERE id = $1 AND (storage->>'upload_id' = $2 OR storage->'next'->>'upload_id' = $2) "
                       "RETURNING item_id",
                       3, p, err);
}

/* ---- DICOM series beyond the first ------------------------------------- */

char *lp_media_series_name(lp_arena *a, const char *base, const char *suffix, size_t max)
{
    size_t n = strlen(base), k = strlen(suffix);
    if (n + k > max) {
        n = max > k ? max - k : 0;
        while (n > 0 && ((unsigned char)base[n] & 0xC0) == 0x80)
            n--;
    }
    return lp_arena_printf(a, "%.*s%s", (int)n, base, suffix);
}

/* The first row of r (id, name[, made]) into item_id, *name (in a) and, when
 * made is not NULL, *made; r is cleared. 1, 0 when r has no row, or -1 (r
 * NULL: the query failed, err set). */
static int item_row(PGresult *r, lp_arena *a, char item_id[LP_DB_UUID_LEN], char **name, int *made, lp_error *err)
{
    if (!r)
        return -1;
    int found = PQntuples(r) > 0;
    if (found) {
        lp_db_text_copy(item_id, LP_DB_UUID_LEN, r, 0, 0);
        *name = lp_db_text(a, r, 0, 1);
        if (made)
            *made = PQgetvalue(r, 0, 2)[0] == 't';
    }
    PQclear(r);
    if (found && !*name)
        return lp_error_set(err, LP_E_NOMEM, "out of memory");
    return found;
}

/* The item an earlier upload into in->source made for this rank, found by its
 * metadata.series_of in the source item's dataset and team (an item renamed
 * since included; the oldest when copies claim it), locked. 1 with item_id
 * and *name, 0 when there is none, -1. */
static int series_item_made(lp_db *db, lp_arena *a, const lp_media_series_put *in, const char *rank,
                            char item_id[LP_DB_UUID_LEN], char **name, lp_error *err)
{
    const char *p[3] = {in->source->item_id, in->source->id, rank};
    PGresult *r = lp_db_query(db,
                              "SELECT i.id, i.name FROM items s JOIN items i ON i.dataset_id = s.dataset_id "
                              "AND i.team_id = s.team_id "
                              "WHERE s.id = $1 AND i.metadata ? 'series_of' AND i.metadata->'series_of'->>'slot' = $2 "
                              "AND i.metadata->'series_of'->>'rank' = $3 AND i.id <> s.id "
                              "ORDER BY i.created_at, i.id LIMIT 1 FOR UPDATE OF i",
                              3, p, err);
    return item_row(r, a, item_id, name, NULL, err);
}

/* The item of in->source called want, made (or found, when made for this
 * rank before) beside it. 1 with item_id and *name, 0 when the name is held
 * by another item, -1. */
static int series_item(lp_db *db, lp_arena *a, const lp_media_series_put *in, const char *rank, const char *want,
                       char item_id[LP_DB_UUID_LEN], char **name, int *made, lp_error *err)
{
    const char *p[4] = {in->source->item_id, want, in->source->id, rank};
    PGresult *r = lp_db_query(db,
                              "INSERT INTO items AS i (team_id, dataset_id, name, path, priority, metadata) "
                              "SELECT team_id, dataset_id, $2, path, priority, "
                              "  jsonb_build_object('series_of', jsonb_build_object('item', id, 'slot', $3::text, "
                              "  'rank', $4::integer)) "
                              "FROM items WHERE id = $1 "
                              "ON CONFLICT (dataset_id, path, name) DO UPDATE SET updated_at = now() "
                              "WHERE i.metadata->'series_of'->>'slot' = $3 AND i.metadata->'series_of'->'rank' = to_jsonb($4::integer) "
                              "RETURNING id, name, xmax = 0",
                              4, p, err);
    return item_row(r, a, item_id, name, made, err);
}

/* The series' slot called name in item_id, made or found as series_item. 1,
 * 0 when the name is held by another slot, -1. */
static int series_slot(lp_db *db, const lp_media_series_put *in, const char *rank, const char *item_id,
                       const char *name, lp_error *err)
{
    const lp_media_slot_result *res = in->res;
    char w[24], h[24], fc[24];
    char *storage = NULL;
    int rc = -1;
    json_t *st = res && res->storage_merge ? json_loads(res->storage_merge, 0, NULL) : json_object();
    if (!st || json_object_set_new(st, "upload_id", json_string(in->upload_id)) != 0 ||
        !(storage = json_dumps(st, JSON_COMPACT))) {
        json_decref(st);
        return lp_error_set(err, LP_E_NOMEM, "out of memory");
    }
    json_decref(st);
    if (res) {
        snprintf(w, sizeof w, "%lld", (long long)res->width);
        snprintf(h, sizeof h, "%lld", (long long)res->height);
        snprintf(fc, sizeof fc, "%lld", (long long)res->frame_count);
    }
    const char *p[12] = {item_id, name, res ? "ready" : "error", res ? NULL : in->reason,
                         res && res->width > 0 ? w : NULL, res && res->height > 0 ? h : NULL,
                         res && res->frame_count > 0 ? fc : NULL, res ? res->format : NULL, storage,
                         res && res->media_json ? res->media_json : NULL, in->source->id, rank};
    PGresult *r = lp_db_query(db,
                              "INSERT INTO slots AS s (item_id, name, type, position, status, error, width, height, "
                              "  frame_count, format, storage, metadata) "
                              "VALUES ($1, $2, 'volume', (SELECT coalesce(max(position) + 1, 0) FROM slots "
                              "  WHERE item_id = $1), $3, $4, $5::integer, $6::integer, $7::integer, $8, $9::jsonb, "
                              "  jsonb_build_object('series_of', jsonb_build_object('slot', $11::text, "
                              "  'rank', $12::integer)) || "
                              "  CASE WHEN $10::jsonb IS NULL THEN '{}' ELSE jsonb_build_object('media', $10::jsonb) END) "
                              "ON CONFLICT (item_id, name) DO UPDATE SET status = EXCLUDED.status, "
                              "  error = EXCLUDED.error, width = EXCLUDED.width, height = EXCLUDED.height, "
                              "  frame_count = EXCLUDED.frame_count, format = EXCLUDED.format, "
                              "  storage = EXCLUDED.storage, metadata = (s.metadata - 'media') || EXCLUDED.metadata "
                              "WHERE s.metadata->'series_of'->>'slot' = $11 AND s.metadata->'series_of'->'rank' = to_jsonb($12::integer) "
                              "RETURNING id",
                              12, p, err);
    if (r) {
        rc = PQntuples(r) > 0;
        PQclear(r);
    }
    free(storage);
    return rc;
}

int lp_db_media_series_put(lp_db *db, lp_arena *a, const lp_media_series_put *in, char item_id[LP_DB_UUID_LEN],
                           char **name, int *item_made, lp_error *err)
{
    char rank[16], suffix[32], *base = NULL, *want;
    int got = 0;
    *item_made = 0;
    snprintf(rank, sizeof rank, "%d", in->rank);
    if (in->own_item) {
        const char *p[1] = {in->source->item_id};
        PGresult *r = lp_db_query(db, "SELECT name FROM items WHERE id = $1", 1, p, err);
        if (!r)
            return -1;
        base = PQntuples(r) > 0 ? lp_db_text(a, r, 0, 0) : NULL;
        PQclear(r);
        if (!base)
            return lp_error_set(err, LP_E_NOT_FOUND, "item %s of the DICOM upload not found", in->source->item_id);
        if ((got = series_item_made(db, a, in, rank, item_id, name, err)) == 1)
            got = series_slot(db, in, rank, item_id, in->source->name, err);
        if (got < 0)
            return -1;
    }
    for (int n = 1; n <= 100 && got == 0; n++) {
        if (n == 1)
            snprintf(suffix, sizeof suffix, "-%d", in->rank);
        else
            snprintf(suffix, sizeof suffix, "-%d-%d", in->rank, n);
        want = in->own_item ? lp_media_series_name(a, base, suffix, in->item_name_max)
                            : lp_media_series_name(a, in->source->name, suffix, in->slot_name_max);
        if (!want)
            return lp_error_set(err, LP_E_NOMEM, "out of memory");
        if (in->own_item) {
            got = series_item(db, a, in, rank, want, item_id, name, item_made, err);
            if (got == 1)
                got = series_slot(db, in, rank, item_id, in->source->name, err);
        } else {
            lp_strlcpy(item_id, in->source->item_id, LP_DB_UUID_LEN);
            *name = want;
            got = series_slot(db, in, rank, item_id, *name, err);
        }
    }
    if (got < 0)
        return -1;
    if (got == 0)
        return lp_error_set(err, LP_E_CONFLICT, "no free name for DICOM series %d of slot \"%s\"", in->rank,
                            in->source->name);
    return lp_db_media_item_refresh(db, item_id, err);
}

/* ---- Uploads ----------------------------------------------------------- */

static int read_upload(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_media_upload *out = dst;
    memset(out, 0, sizeof *out);
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->item_id, sizeof out->item_id, r, row, 1);
    lp_db_text_copy(out->slot_id, sizeof out->slot_id, r, row, 2);
    out->kind = lp_db_text(a, r, row, 3);
    out->key = lp_db_text(a, r, row, 4);
    out->state = lp_db_text(a, r, row, 5);
    out->size = lp_db_int_or(r, row, 6, -1);
    lp_db_text_copy(out->sha256, sizeof out->sha256, r, row, 7);
    out->content_type = lp_db_text(a, r, row, 8);
    lp_db_text_copy(out->job_id, sizeof out->job_id, r, row, 9);
    lp_db_text_copy(out->expires_at, sizeof out->expires_at, r, row, 10);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 11);
    out->files = lp_db_int_or(r, row, 12, 0);
    if (!out->kind || !out->key || !out->state)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading upload %s", out->id);
    return 0;
}

/* One new upload row; files 0 = not a multi-file upload. */
static int upload_insert(lp_db *db, lp_arena *a, const char *id, const char *team_id, const char *item_id,
                         const char *slot_id, const char *kind, const char *key, const char *content_type, int64_t size,
                         int64_t expires_ms, const char *slot_status_before, int64_t files, lp_media_upload *out,
                         lp_error *err)
{
    char exp[24], sz[24], nf[24];
    snprintf(exp, sizeof exp, "%lld", (long long)expires_ms);
    snprintf(sz, sizeof sz, "%lld", (long long)size);
    snprintf(nf, sizeof nf, "%lld", (long long)files);
    const char *p[11] = {id, team_id, item_id, slot_id, kind, key, content_type, expires_ms > 0 ? exp : NULL,
                         size >= 0 ? sz : NULL, slot_status_before, files > 0 ? nf : NULL};
    PGresult *r = lp_db_query(db,
                              "INSERT INTO uploads AS u (id, team_id, item_id, slot_id, kind, key, content_type, "
                              "expires_at, size, slot_status_before, files) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                              "to_timestamp($8::bigint / 1000.0), $9::bigint, $10, $11::integer) RETURNING " UPLOAD_COLUMNS,
                              11, p, err);
    if (!r)
        return -1;
    if (!out) {
        PQclear(r);
        return 0;
    }
    return lp_db_one_found(a, r, read_upload, out, err, "upload not found");
}

int lp_db_media_upload_create(lp_db *db, lp_arena *a, const char *id, const char *team_id, const char *item_id,
                              const char *slot_id, const char *kind, const char *key, const char *content_type,
                              int64_t size, int64_t expires_ms, const char *slot_status_before, lp_media_upload *out,
                              lp_error *err)
{
    return upload_insert(db, a, id, team_id, item_id, slot_id, kind, key, content_type, size, expires_ms,
                         slot_status_before, 0, out, err);
}

int lp_db_media_upload_create_files(lp_db *db, lp_arena *a, const char *id, const char *team_id, const char *item_id,
                                    const char *slot_id, const char *key, int64_t files, int64_t expires_ms,
                                    const char *slot_status_before, lp_media_upload *out, lp_error *err)
{
    return upload_insert(db, a, id, team_id, item_id, slot_id, "files", key, "application/zip", -1, expires_ms,
                         slot_status_before, files, out, err);
}

int lp_db_media_upload_get(lp_db *db, lp_arena *a, const char *slot_id, const char *upload_id, lp_media_upload *out,
                           lp_error *err)
{
    const char *p[2] = {slot_id, upload_id};
    PGresult *r = lp_db_query(db,
                              "SELECT " UPLOAD_COLUMNS " FROM uploads u WHERE u.slot_id = $1 "
                              "AND ($2::uuid IS NULL OR u.id = $2) ORDER BY u.created_at DESC, u.id LIMIT 1",
                              2, p, err);
    if (upload_id)
        return lp_db_one_found(a, r, read_upload, out, err, "upload %.59s of this slot not found", upload_id);
    return lp_db_one_found(a, r, read_upload, out, err, "an upload of this slot not found");
}

int lp_db_media_upload_open_by_key(lp_db *db, lp_arena *a, const char *key, lp_media_upload *out, lp_error *err)
{
    const char *p[1] = {key};
    PGresult *r = lp_db_query(db,
                              "SELECT " UPLOAD_COLUMNS " FROM uploads u WHERE u.key = $1 AND u.kind = 'presigned' "
                              "AND u.state = 'pending' AND NOT EXISTS (SELECT 1 FROM uploads n "
                              "WHERE n.slot_id = u.slot_id AND n.id <> u.id AND n.created_at >= u.created_at)",
                              1, p, err);
    return lp_db_one_found(a, r, read_upload, out, err, "no upload is waiting for this URL");
}

int64_t lp_db_media_uploads_expire(lp_db *db, int64_t older_than_ms, int64_t limit, lp_error *err)
{
    char ms[24], lim[24];
    int64_t expired = 0;
    snprintf(ms, sizeof ms, "%lld", (long long)older_than_ms);
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[2] = {ms, lim};
    PGresult *r = lp_db_query(db,
                              "WITH gone AS ("
                              " UPDATE uploads u SET state = 'failed', "
                              "   error = 'abandoned: not completed within upload_abandon_after' "
                              " WHERE u.id IN (SELECT id FROM uploads WHERE state = 'pending' AND kind <> 'external' "
                              "   AND created_at < now() - make_interval(secs => $1::bigint / 1000.0) "
                              "   ORDER BY created_at LIMIT $2::bigint FOR UPDATE SKIP LOCKED) "
                              " RETURNING u.id, u.slot_id, u.created_at, u.slot_status_before), "
                              "back AS ("
                              " UPDATE slots s SET status = coalesce(g.slot_status_before, 'empty') FROM gone g "
                              " WHERE s.id = g.slot_id AND s.status = 'uploading' AND NOT EXISTS ("
                              "   SELECT 1 FROM uploads n WHERE n.slot_id = g.slot_id AND n.id <> g.id "
                              "   AND n.created_at >= g.created_at) "
                              " RETURNING s.item_id) "
                              "SELECT (SELECT count(*) FROM gone)::text, b.item_id FROM (SELECT 1) one "
                              "LEFT JOIN (SELECT DISTINCT item_id FROM back) b ON true",
                              2, p, err);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        expired = lp_db_int_or(r, i, 0, 0);
        if (!PQgetisnull(r, i, 1) && lp_db_media_item_refresh(db, PQgetvalue(r, i, 1), err) != 0) {
            PQclear(r);
            return -1;
        }
    }
    PQclear(r);
    return expired;
}

int lp_db_media_upload_stored(lp_db *db, const char *upload_id, int64_t size, const char *sha256,
                              const char *job_id, lp_error *err)
{
    char sz[24];
    snprintf(sz, sizeof sz, "%lld", (long long)size);
    const char *p[4] = {upload_id, size >= 0 ? sz : NULL, sha256 && *sha256 ? sha256 : NULL, job_id};
    return lp_db_exec(db,
                      "UPDATE uploads SET state = 'stored', size = $2::bigint, sha256 = $3, job_id = $4, "
                      "error = NULL, stored_at = now() WHERE id = $1",
                      4, p, err) < 0
               ? -1
               : 0;
}

int lp_db_media_upload_failed(lp_db *db, const char *upload_id, const char *why, lp_error *err)
{
    const char *p[2] = {upload_id, why};
    return lp_db_exec(db, "UPDATE uploads SET state = 'failed', error = $2 WHERE id = $1 AND state = 'pending'", 2,
                      p, err) < 0
               ? -1
               : 0;
}
