/* Statements about annotations. See loupe/db/annotations_sql.h. */
#include "loupe/db/annotations_sql.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "loupe/core/buf.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"

#define COPY_CHUNK (1u << 20)

#define CONNECTION_LOST "the database connection was lost; try again"

/* db's connection when it is usable; NULL with LP_E_UNAVAILABLE otherwise. */
static PGconn *live_conn(lp_db *db, lp_error *err)
{
    PGconn *conn = lp_db_pg(db);
    if (conn && PQstatus(conn) == CONNECTION_OK)
        return conn;
    lp_error_set(err, LP_E_UNAVAILABLE, CONNECTION_LOST);
    return NULL;
}

/* ---- the item and its version ------------------------------------------------ */

/* A bigint first column into *(int64_t *)out (an lp_db_row_reader). */
static int read_version(lp_arena *a, const PGresult *r, int row, void *out, lp_error *err)
{
    (void)a;
    (void)err;
    *(int64_t *)out = strtoll(PQgetvalue(r, row, 0), NULL, 10);
    return 0;
}

int lp_db_ann_item_lock(lp_db *db, const char *team_id, const char *item_id, int64_t *version, lp_error *err)
{
    const char *p[2] = {team_id, item_id};
    return lp_db_one_found(NULL,
                           lp_db_query(db,
                                       "WITH it AS (SELECT i.id FROM items i JOIN datasets d ON d.id = i.dataset_id "
                                       "WHERE i.id = $2 AND i.team_id = $1 AND d.deleted_at IS NULL) "
                                       "INSERT INTO item_annotation_versions (item_id) SELECT id FROM it "
                                       "ON CONFLICT (item_id) DO UPDATE SET version = "
                                       "item_annotation_versions.version RETURNING version",
                                       2, p, err),
                           read_version, version, err, "item %s not found", item_id);
}

int lp_db_ann_read_begin(lp_db *db, const char *team_id, const char *item_id, int64_t *version, lp_error *err)
{
    const char *p[2] = {team_id, item_id};
    if (lp_db_begin(db, err) != 0 ||
        lp_db_exec(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0, NULL, err) < 0)
        return -1;
    return lp_db_one_found(NULL,
                           lp_db_query(db,
                                       "SELECT coalesce(v.version, 0) FROM items i "
                                       "JOIN datasets d ON d.id = i.dataset_id "
                                       "LEFT JOIN item_annotation_versions v ON v.item_id = i.id "
                                       "WHERE i.id = $2 AND i.team_id = $1 AND d.deleted_at IS NULL",
                                       2, p, err),
                           read_version, version, err, "item %s not found", item_id);
}

int lp_db_ann_slots(lp_db *db, lp_arena *a, const char *item_id, lp_slot_row **out, size_t *n, lp_error *err)
{
    const char *p[1] = {item_id};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " LP_DB_SLOT_COLUMNS " FROM slots s JOIN items i ON i.id = s.item_id "
                                  "WHERE s.item_id = $1 ORDER BY s.position, s.name",
                                  1, p, err),
                      sizeof **out, lp_db_slot_read, "slots", n, err);
    return *out ? 0 : -1;
}

static int read_id(lp_arena *a, const PGresult *r, int row, void *out, lp_error *err)
{
    char **id = out;
    return (*id = lp_db_text(a, r, row, 0)) ? 0 : lp_error_set(err, LP_E_NOMEM, "out of memory");
}

int lp_db_ann_existing(lp_db *db, lp_arena *a, const char *item_id, const char *ids_json, char ***found, size_t *n,
                       lp_error *err)
{
    const char *p[2] = {item_id, ids_json};
    *found = lp_db_rows(a,
                        lp_db_query(db,
                                    "SELECT id FROM annotations WHERE item_id = $1 AND ($2::jsonb IS NULL OR id IN "
                                    "(SELECT x FROM jsonb_array_elements_text($2::jsonb) x))",
                                    2, p, err),
                        sizeof **found, read_id, "annotation ids", n, err);
    return *found ? 0 : -1;
}

static int read_kept(lp_arena *a, const PGresult *r, int row, void *out, lp_error *err)
{
    lp_db_ann_kept *k = out;
    lp_db_text_copy(k->id, sizeof k->id, r, row, 0);
    k->created_by = PQgetisnull(r, row, 1) ? NULL : lp_db_text(a, r, row, 1);
    k->created_at = lp_db_text(a, r, row, 2);
    k->version = strtoll(PQgetvalue(r, row, 3), NULL, 10);
    return k->created_at ? 0 : lp_error_set(err, LP_E_NOMEM, "out of memory");
}

int64_t lp_db_ann_delete(lp_db *db, lp_arena *a, const char *item_id, const char *ids_json, lp_db_ann_kept **kept,
                         lp_error *err)
{
    const char *p[2] = {item_id, ids_json};
    PGresult *r = lp_db_query(db,
                              "DELETE FROM annotations WHERE item_id = $1 AND id IN "
                              "(SELECT x FROM jsonb_array_elements_text($2::jsonb) x) "
                              "RETURNING id, created_by, created_at, version",
                              2, p, err);
    size_t n = 0;
    if (r && !kept) {
        n = (size_t)PQntuples(r);
        PQclear(r);
        return (int64_t)n;
    }
    if (!(*kept = lp_db_rows(a, r, sizeof **kept, read_kept, "deleted annotations", &n, err)))
        return -1;
    return (int64_t)n;
}

/* ---- item-level properties ------------------------------------------------------ */

int lp_db_ann_item_properties_set(lp_db *db, const char *item_id, const char *properties_json, lp_error *err)
{
    const char *p[2] = {item_id, properties_json};
    return lp_db_exec(db,
                      "INSERT INTO item_properties (item_id, properties) VALUES ($1, $2::jsonb) "
                      "ON CONFLICT (item_id) DO UPDATE SET properties = excluded.properties",
                      2, p, err) < 0
               ? -1
               : 0;
}

int lp_db_ann_item_properties_get(lp_db *db, lp_arena *a, const char *item_id, char **properties_json, lp_error *err)
{
    const char *p[1] = {item_id};
    *properties_json = NULL;
    int rc = lp_db_one(a, lp_db_query(db, "SELECT properties::text FROM item_properties WHERE item_id = $1", 1, p, err),
                       read_id, properties_json, err);
    return rc < 0 ? -1 : 0;
}

/* ---- COPY ------------------------------------------------------------------------ */

/* A COPY FROM STDIN in progress: rows are formatted into buf and sent in
 * chunks. */
typedef struct copy_in {
    PGconn *conn;
    lp_buf buf;
    bool failed;
} copy_in;

static int copy_fail(copy_in *c, PGresult *res, const char *what, lp_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    lp_code code = PQstatus(c->conn) != CONNECTION_OK ? LP_E_UNAVAILABLE : lp_db_sqlstate_code(state);
    lp_log(code == LP_E_INTERNAL ? LP_LOG_ERROR : LP_LOG_DEBUG, "db", "%s failed: sqlstate=%s: %s", what,
           state ? state : "-", res ? PQresultErrorMessage(res) : PQerrorMessage(c->conn));
    c->failed = true;
    if (code == LP_E_CONFLICT && state && strcmp(state, "23505") == 0)
        return lp_error_set(err, code, "the slot already has a raster layer, or an annotation with the same id "
                                       "was written meanwhile");
    if (code == LP_E_INVALID && state && strcmp(state, "23503") == 0)
        return lp_error_set(err, code, "an annotation refers to a class or item that does not exist");
    if (code == LP_E_INVALID)
        return lp_error_set(err, code, "a value was rejected by the database as malformed or out of range");
    if (code == LP_E_UNAVAILABLE)
        return lp_error_set(err, code, CONNECTION_LOST);
    if (code == LP_E_CONFLICT || code == LP_E_TIMEOUT)
        return lp_error_set(err, code, "the database rejected %s; try again", what);
    return lp_error_set(err, LP_E_INTERNAL, "a database statement failed unexpectedly");
}

static int copy_begin(copy_in *c, lp_db *db, const char *sql, lp_error *err)
{
    memset(c, 0, sizeof *c);
    lp_buf_init(&c->buf, COPY_CHUNK * 4); /* a chunk, plus what one append adds past it */
    if (!(c->conn = live_conn(db, err)))
        return -1;
    PGresult *res = PQexec(c->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        copy_fail(c, res, "COPY", err);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

static int copy_flush(copy_in *c, lp_error *err)
{
    if (c->buf.len && PQputCopyData(c->conn, c->buf.data, (int)c->buf.len) != 1) {
        c->failed = true;
        return lp_error_set(err, LP_E_UNAVAILABLE, "the database connection was lost during COPY; try again");
    }
    lp_buf_reset(&c->buf);
    return 0;
}

/* Ends the COPY (aborting it when failed) and frees the buffer. 0 or -1. */
static int copy_end(copy_in *c, int rc, lp_error *err)
{
    if (rc == 0 && copy_flush(c, err) != 0)
        rc = -1;
    if (PQputCopyEnd(c->conn, rc == 0 ? NULL : "aborted by the server") != 1 && rc == 0)
        rc = lp_error_set(err, LP_E_UNAVAILABLE, "the database connection was lost during COPY; try again");
    PGresult *res;
    while ((res = PQgetResult(c->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
            rc = copy_fail(c, res, "COPY", err);
        PQclear(res);
    }
    lp_buf_free(&c->buf);
    return rc;
}

/* Makes room in c's buffer: past COPY_CHUNK it is sent, even in the middle
 * of a row (COPY data need not break at rows), so a row of any size streams
 * through a bounded buffer. 0, or -1 with c->failed and err set. */
static int copy_room(copy_in *c, lp_error *err) { return c->buf.len >= COPY_CHUNK ? copy_flush(c, err) : 0; }

/* Appends text escaped for COPY's text format. */
static int put_text(copy_in *c, const char *s, size_t n, lp_error *err)
{
    lp_buf *b = &c->buf;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i], e;
        switch (ch) {
        case '\\': e = '\\'; break;
        case '\n': e = 'n'; break;
        case '\r': e = 'r'; break;
        case '\t': e = 't'; break;
        default:
            if (i - start < COPY_CHUNK)
                continue;
            if (lp_buf_append(b, s + start, i - start) != 0 || copy_room(c, err) != 0)
                return -1;
            start = i;
            continue;
        }
        char esc[2] = {'\\', e};
        if (lp_buf_append(b, s + start, i - start) != 0 || lp_buf_append(b, esc, 2) != 0 || copy_room(c, err) != 0)
            return -1;
        start = i + 1;
    }
    return lp_buf_append(b, s + start, n - start);
}

static int put_str(copy_in *c, const char *s, lp_error *err)
{
    return s ? put_text(c, s, strlen(s), err) : lp_buf_append(&c->buf, "\\N", 2);
}

static int put_bytea(copy_in *c, const void *p, size_t n, lp_error *err)
{
    static const char hex[] = "0123456789abcdef";
    lp_buf *b = &c->buf;
    if (!p)
        return lp_buf_append(b, "\\N", 2);
    if (lp_buf_append(b, "\\\\x", 3) != 0)
        return -1;
    const unsigned char *u = p;
    char tmp[256];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        tmp[k++] = hex[u[i] >> 4];
        tmp[k++] = hex[u[i] & 15];
        if (k == sizeof tmp) {
            if (lp_buf_append(b, tmp, k) != 0 || copy_room(c, err) != 0)
                return -1;
            k = 0;
        }
    }
    return lp_buf_append(b, tmp, k);
}

/* Frame ranges as an integer[] literal "{s0,e0,s1,e1,…}" (flat pairs);
 * NULL (\N) when not video. */
static int put_ranges(lp_buf *b, bool present, const lp_geom_frame_range *r, size_t n)
{
    if (!present)
        return lp_buf_append(b, "\\N", 2);
    if (lp_buf_append(b, "{", 1) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (lp_buf_printf(b, "%s%lld,%lld", i ? "," : "", (long long)r[i].start, (long long)r[i].end) != 0)
            return -1;
    return lp_buf_append(b, "}", 1);
}

/* geom, data and extra as three tab-separated COPY fields. */
static int put_body(copy_in *c, const lp_ann_stored *body, lp_error *err)
{
    lp_buf *b = &c->buf;
    return put_bytea(c, body->geom, body->geom_len, err) || lp_buf_append(b, "\t", 1) ||
                   put_text(c, body->data, body->data_len, err) || lp_buf_append(b, "\t", 1) ||
                   (body->extra ? put_text(c, body->extra, body->extra_len, err) : lp_buf_append(b, "\\N", 2))
               ? -1
               : 0;
}

/* The row's extent as a box literal "(x1,y1),(x0,y0)" and the line's end;
 * \N when it has none. */
static int put_box(lp_buf *b, const lp_ann_row *r)
{
    if (!r->has_bbox)
        return lp_buf_puts(b, "\\N\n");
    return lp_buf_printf(b, "(%.17g,%.17g),(%.17g,%.17g)\n", r->bbox.x + r->bbox.w, r->bbox.y + r->bbox.h, r->bbox.x,
                         r->bbox.y);
}

/* Rows of one item (item_id) or of several (item_ids[i] per row). */
static int insert_rows(lp_db *db, const char *team_id, const char *item_id, const char *const *item_ids,
                       const char *user_id, const lp_ann_row *rows, const lp_db_ann_origin *origins, size_t n,
                       lp_error *err)
{
    copy_in c;
    int rc = 0;
    if (n == 0)
        return 0;
    if (copy_begin(&c, db,
                   "COPY annotations (id, team_id, item_id, slot, class_id, type, geom, data, extra, z, source, "
                   "confidence, ranges, hidden, version, created_by, updated_by, created_at, updated_at, "
                   "ranges_given, bbox) FROM STDIN",
                   err) != 0)
        return -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const lp_ann_row *r = &rows[i];
        const char *created_by = origins ? origins[i].created_by : NULL;
        const char *created_at = origins ? origins[i].created_at : NULL;
        const char *type = lp_ann_type_name(r->type);
        lp_buf *b = &c.buf;
        if (!type) {
            rc = lp_error_set(err, LP_E_INTERNAL, "annotation %s has no known type", r->id);
            break;
        }
        if (lp_buf_printf(b, "%s\t%s\t%s\t", r->id, team_id, item_ids ? item_ids[i] : item_id) != 0 ||
            put_text(&c, r->slot, strlen(r->slot), err) || lp_buf_printf(b, "\t%s\t%s\t", r->class_id, type) != 0 ||
            put_body(&c, &r->body, err) ||
            (r->has_z ? lp_buf_printf(b, "\t%d\t", (int)r->z) : lp_buf_puts(b, "\t\\N\t")) ||
            lp_buf_puts(b, lp_ann_source_name(r->source)) ||
            (r->has_confidence ? lp_buf_printf(b, "\t%.17g\t", r->confidence) : lp_buf_puts(b, "\t\\N\t")) ||
            put_ranges(b, r->video, r->ranges, r->nranges) || lp_buf_append(b, "\t", 1) ||
            put_ranges(b, r->video && (r->has_hidden || r->nhidden), r->hidden, r->nhidden) ||
            lp_buf_printf(b, "\t%lld\t", (long long)r->version) ||
            put_str(&c, created_by ? created_by : user_id, err) || lp_buf_append(b, "\t", 1) ||
            put_str(&c, user_id, err) || lp_buf_append(b, "\t", 1) ||
            put_str(&c, created_at ? created_at : "now", err) || lp_buf_puts(b, "\tnow\t") ||
            lp_buf_puts(b, !r->video || r->ranges_given ? "t\t" : "f\t") || put_box(b, r))
            rc = c.failed ? -1 : lp_error_set(err, LP_E_TOO_LARGE, "an annotation row is too large to store");
        else if (c.buf.len >= COPY_CHUNK)
            rc = copy_flush(&c, err);
    }
    return copy_end(&c, rc, err);
}

int lp_db_ann_insert(lp_db *db, const char *team_id, const char *item_id, const char *user_id,
                     const lp_ann_row *rows, const lp_db_ann_origin *origins, size_t n, lp_error *err)
{
    return insert_rows(db, team_id, item_id, NULL, user_id, rows, origins, n, err);
}

int lp_db_ann_insert_items(lp_db *db, const char *team_id, const char *const *item_ids, const char *user_id,
                           const lp_ann_row *rows, size_t n, lp_error *err)
{
    return insert_rows(db, team_id, NULL, item_ids, user_id, rows, NULL, n, err);
}

static int insert_frames(lp_db *db, const char *item_id, const char *const *item_ids, const lp_ann_frame_row *rows,
                         size_t n, lp_error *err)
{
    copy_in c;
    int rc = 0;
    if (n == 0)
        return 0;
    if (copy_begin(&c, db,
                   "COPY annotation_frames (item_id, annotation_id, frame, keyframe, geom, data, extra) FROM STDIN",
                   err) != 0)
        return -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const lp_ann_frame_row *r = &rows[i];
        lp_buf *b = &c.buf;
        if (!r->annotation_id || !lp_ann_id_ok(r->annotation_id)) {
            rc = lp_error_set(err, LP_E_INTERNAL, "frame %" PRId64 " names no annotation", r->frame);
            break;
        }
        if (lp_buf_printf(b, "%s\t%s\t%" PRId64 "\t%s\t", item_ids ? item_ids[i] : item_id, r->annotation_id, r->frame,
                          r->keyframe ? "t" : "f") ||
            put_body(&c, &r->body, err) || lp_buf_append(b, "\n", 1))
            rc = c.failed ? -1 : lp_error_set(err, LP_E_TOO_LARGE, "an annotation frame is too large to store");
        else if (c.buf.len >= COPY_CHUNK)
            rc = copy_flush(&c, err);
    }
    return copy_end(&c, rc, err);
}

int lp_db_ann_frames_insert(lp_db *db, const char *item_id, const lp_ann_frame_row *rows, size_t n, lp_error *err)
{
    return insert_frames(db, item_id, NULL, rows, n, err);
}

int lp_db_ann_frames_insert_items(lp_db *db, const char *const *item_ids, const lp_ann_frame_row *rows, size_t n,
                                  lp_error *err)
{
    return insert_frames(db, NULL, item_ids, rows, n, err);
}

int lp_db_ann_item_commit(lp_db *db, const char *item_id, int64_t *version, lp_error *err)
{
    const char *p[1] = {item_id};
    int rc = lp_db_one(NULL,
                       lp_db_query(db,
                                   "WITH s AS (SELECT count(*) AS n, "
                                   "coalesce(array_agg(DISTINCT class_id ORDER BY class_id), '{}') AS cls "
                                   "FROM annotations WHERE item_id = $1), "
                                   "u AS (UPDATE items SET annotation_count = s.n, class_ids = s.cls, "
                                   "updated_at = now() FROM s WHERE items.id = $1) "
                                   "UPDATE item_annotation_versions SET version = version + 1 WHERE item_id = $1 "
                                   "RETURNING version",
                                   1, p, err),
                       read_version, version, err);
    return rc > 0 ? lp_error_set(err, LP_E_INTERNAL, "the annotation version of item %s was not locked", item_id)
                  : rc;
}

/* ---- streamed reads ------------------------------------------------------------ */

struct lp_db_ann_cursor {
    lp_db *db;
    PGconn *conn;
    PGresult *res;
    lp_arena *arena;      /* the current row's frame ranges */
    bool checked;         /* the current statement's column types were checked */
    bool failed;          /* a row could not be read: no more rows */
    bool done;
    bool paged;           /* lp_db_ann_open_items: one more column, the item's position from 1 */
    int64_t last_item;    /* … of the row before (positions never decrease) */
    /* a second statement to run when the first ends (item reads) */
    const char *then_sql;
    char *then_params[3];
};

/* The annotation's columns, then the frame's (FRAME_COLUMNS or NULLs), then
 * ANN_TAIL (the class's name for Darwin's "name", whether ranges were sent). */
#define ANN_COLUMNS                                                                                                  \
    "a.id, a.class_id, a.slot, a.type, a.geom, a.data, a.extra, a.z, a.source, a.confidence, a.version, "            \
    "a.ranges::text, a.hidden::text, coalesce((a.data->>'interpolated') = 'true', false)"
#define ANN_TAIL ", c.name, a.ranges_given"

static bool cursor_send(lp_db_ann_cursor *c, const char *sql, int n, const char *const *params)
{
    if (PQsendQueryParams(c->conn, sql, n, NULL, params, NULL, NULL, 1) && PQsetSingleRowMode(c->conn))
        return true;
    lp_log(LP_LOG_ERROR, "db", "could not start a streamed query: %s", PQerrorMessage(c->conn));
    return false;
}

/* Frame ranges of one row: at most this many bytes. */
#define RANGES_ARENA_MAX (16u << 20)

static lp_db_ann_cursor *cursor_open(lp_db *db, const char *sql, int n, const char *const *params, lp_error *err)
{
    PGconn *conn = live_conn(db, err);
    if (!conn)
        return NULL;
    lp_db_ann_cursor *c = calloc(1, sizeof *c);
    if (!c) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    c->db = db;
    c->conn = conn;
    if (!(c->arena = lp_arena_new(4096, RANGES_ARENA_MAX))) {
        lp_db_ann_close(c);
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    if (!cursor_send(c, sql, n, params)) {
        lp_db_ann_close(c);
        lp_error_set(err, LP_E_UNAVAILABLE, CONNECTION_LOST);
        return NULL;
    }
    return c;
}

/* The annotation may show in the viewport p (a box parameter; NULL: no
 * viewport): its extent meets it, or it has none (tags, masks, raster
 * layers, rows stored before extents were). Planned with the value known
 * (unnamed statements), so a viewport read is served by annotations_bbox_idx. */
#define IN_VIEW(p) "(" p "::box IS NULL OR a.bbox IS NULL OR a.bbox && " p "::box)"

/* The viewport as a box parameter in buf, or NULL. */
static const char *view_param(const lp_geom_bbox *view, char buf[128])
{
    if (!view)
        return NULL;
    snprintf(buf, 128, "(%.17g,%.17g),(%.17g,%.17g)", view->x + view->w, view->y + view->h, view->x, view->y);
    return buf;
}

/* Item reads run two statements: the annotations without frames in storage
 * order (no sort, however many there are), then the video and volume ones
 * with their frames in (id, frame) order, which groups each one's rows. */
#define ITEM_IMAGES_SQL                                                                                              \
    "SELECT " ANN_COLUMNS ", NULL::int, NULL::bool, NULL::bytea, NULL::jsonb, NULL::jsonb" ANN_TAIL " "              \
    "FROM annotations a JOIN classes c ON c.id = a.class_id "                                                        \
    "WHERE a.item_id = $1 AND ($2::text IS NULL OR a.slot = $2::text) AND a.ranges IS NULL AND " IN_VIEW("$3")
#define ITEM_VIDEOS_SQL                                                                                              \
    "SELECT " ANN_COLUMNS ", f.frame, f.keyframe, f.geom, f.data, f.extra" ANN_TAIL " "                              \
    "FROM annotations a JOIN classes c ON c.id = a.class_id "                                                        \
    "LEFT JOIN annotation_frames f ON f.item_id = a.item_id AND f.annotation_id = a.id "                             \
    "WHERE a.item_id = $1 AND ($2::text IS NULL OR a.slot = $2::text) AND a.ranges IS NOT NULL "                     \
    "AND " IN_VIEW("$3") " ORDER BY a.id, f.frame"

lp_db_ann_cursor *lp_db_ann_open_item(lp_db *db, const char *item_id, const char *slot, const lp_geom_bbox *view,
                                      lp_error *err)
{
    char box[128];
    const char *p[3] = {item_id, slot, view_param(view, box)};
    lp_db_ann_cursor *c = cursor_open(db, ITEM_IMAGES_SQL, 3, p, err);
    if (!c)
        return NULL;
    c->then_sql = ITEM_VIDEOS_SQL;
    c->then_params[0] = strdup(item_id);
    c->then_params[1] = slot ? strdup(slot) : NULL;
    c->then_params[2] = p[2] ? strdup(p[2]) : NULL;
    if (!c->then_params[0] || (slot && !c->then_params[1]) || (p[2] && !c->then_params[2])) {
        lp_db_ann_close(c);
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    return c;
}

/* The same two reads for each (item, slot) pair of a list, in the list's
 * order: a nested loop over the list WITH ORDINALITY, whose order the
 * planner keeps (no sort of the rows); lp_db_ann_next checks it. */
#define ITEMS_SQL                                                                                                    \
    "SELECT x.*, p.ord FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS p(item_id, slot, ord) "                \
    "CROSS JOIN LATERAL ((SELECT " ANN_COLUMNS ", NULL::int, NULL::bool, NULL::bytea, NULL::jsonb, NULL::jsonb"      \
    ANN_TAIL " FROM annotations a JOIN classes c ON c.id = a.class_id "                                              \
    "WHERE a.item_id = p.item_id AND a.slot = p.slot AND a.ranges IS NULL) "                                         \
    "UNION ALL (SELECT " ANN_COLUMNS ", f.frame, f.keyframe, f.geom, f.data, f.extra" ANN_TAIL " "                   \
    "FROM annotations a JOIN classes c ON c.id = a.class_id "                                                        \
    "LEFT JOIN annotation_frames f ON f.item_id = a.item_id AND f.annotation_id = a.id "                             \
    "WHERE a.item_id = p.item_id AND a.slot = p.slot AND a.ranges IS NOT NULL ORDER BY a.id, f.frame)) x "           \
    "ORDER BY p.ord"

lp_db_ann_cursor *lp_db_ann_open_items(lp_db *db, const char *const *item_ids, const char *const *slots, size_t n,
                                       lp_error *err)
{
    lp_arena *a = lp_arena_new(0, 0);
    const char *p[2] = {a ? lp_db_array_literal(a, item_ids, n) : NULL, a ? lp_db_array_literal(a, slots, n) : NULL};
    lp_db_ann_cursor *c = NULL;
    if (!p[0] || !p[1])
        lp_error_set(err, LP_E_NOMEM, "out of memory");
    else if ((c = cursor_open(db, ITEMS_SQL, 2, p, err)))
        c->paged = true;
    lp_arena_free(a);
    return c;
}

lp_db_ann_cursor *lp_db_ann_open_keyframes(lp_db *db, const char *item_id, const char *slot, int64_t from, int64_t to,
                                           const lp_geom_bbox *view, bool raster_layer, lp_error *err)
{
    char f[24], t[24], box[128];
    snprintf(f, sizeof f, "%lld", (long long)from);
    snprintf(t, sizeof t, "%lld", (long long)to);
    const char *p[6] = {item_id, slot, f, t, view_param(view, box), raster_layer ? "true" : "false"};
    return cursor_open(db,
                       "SELECT " ANN_COLUMNS ", f.frame, f.keyframe, f.geom, f.data, NULL::jsonb" ANN_TAIL " "
                       "FROM annotations a JOIN classes c ON c.id = a.class_id "
                       "JOIN annotation_frames f ON f.item_id = a.item_id AND f.annotation_id = a.id AND f.keyframe "
                       "WHERE a.item_id = $1 AND a.slot = $2 AND a.ranges IS NOT NULL AND (a.type <> 'raster_layer' OR $6::bool) "
                       "AND " IN_VIEW("$5") " "
                       "AND f.frame >= coalesce((SELECT max(g.frame) FROM annotation_frames g "
                       "WHERE g.item_id = a.item_id AND g.annotation_id = a.id AND g.keyframe "
                       "AND g.frame <= $3::int), $3::int) "
                       "AND f.frame <= coalesce((SELECT min(g.frame) FROM annotation_frames g "
                       "WHERE g.item_id = a.item_id AND g.annotation_id = a.id AND g.keyframe "
                       "AND g.frame >= $4::int), $4::int) "
                       "ORDER BY a.id, f.frame",
                       6, p, err);
}

/* ---- decoding a row (binary results) ---------------------------------------------- */

/* The column types of a streamed row, by position (pg_type OIDs). */
enum { OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT4 = 23, OID_TEXT = 25, OID_FLOAT8 = 701,
       OID_UUID = 2950, OID_JSONB = 3802 };
static const Oid row_types[] = {OID_TEXT, OID_UUID, OID_TEXT, OID_TEXT, OID_BYTEA, OID_JSONB, OID_JSONB,
                                OID_INT4, OID_TEXT, OID_FLOAT8, OID_INT8, OID_TEXT, OID_TEXT, OID_BOOL,
                                OID_INT4, OID_BOOL, OID_BYTEA, OID_JSONB, OID_JSONB, OID_TEXT, OID_BOOL};
#define ROW_COLUMNS ((int)(sizeof row_types / sizeof *row_types))

/* 0 when r has the columns read_row expects, in binary format (and the
 * item's position, int8, after them when paged). */
static int check_columns(const PGresult *r, bool paged, lp_error *err)
{
    if (PQnfields(r) != ROW_COLUMNS + paged)
        return lp_error_set(err, LP_E_INTERNAL, "a streamed annotation query returned %d columns, not %d",
                            PQnfields(r), ROW_COLUMNS + paged);
    if (paged && (PQftype(r, ROW_COLUMNS) != OID_INT8 || PQfformat(r, ROW_COLUMNS) != 1))
        return lp_error_set(err, LP_E_INTERNAL, "the item position of a streamed annotation query is not an int8");
    for (int i = 0; i < ROW_COLUMNS; i++)
        if (PQftype(r, i) != row_types[i] || PQfformat(r, i) != 1)
            return lp_error_set(err, LP_E_INTERNAL,
                                "column %d of a streamed annotation query has type %u (format %d), not %u", i,
                                (unsigned)PQftype(r, i), PQfformat(r, i), (unsigned)row_types[i]);
    return 0;
}

/* Value (row 0, col) when it is not NULL and exactly len bytes long (any
 * length when len is 0); NULL otherwise, with *bad set when it is not NULL. */
static const char *fixed(const PGresult *r, int col, int len, bool *bad)
{
    if (PQgetisnull(r, 0, col))
        return NULL;
    if (len && PQgetlength(r, 0, col) != len) {
        *bad = true;
        return NULL;
    }
    return PQgetvalue(r, 0, col);
}

static void uuid_text(const char *v, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)v;
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[u[i] >> 4];
        out[k++] = hex[u[i] & 15];
    }
    out[k] = '\0';
}

static uint32_t be32(const char *v)
{
    const unsigned char *u = (const unsigned char *)v;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static uint64_t be64(const char *v) { return (uint64_t)be32(v) << 32 | be32(v + 4); }

/* jsonb in binary: a version byte (1) then the text. */
static const char *jsonb_text(const PGresult *r, int col, size_t *len, bool *bad)
{
    *len = 0;
    if (PQgetisnull(r, 0, col))
        return NULL;
    const char *v = PQgetvalue(r, 0, col);
    if (PQgetlength(r, 0, col) < 1 || v[0] != 1) {
        *bad = true;
        return NULL;
    }
    *len = (size_t)PQgetlength(r, 0, col) - 1;
    return v + 1;
}

/* geom, data, extra from columns col, col + 1, col + 2. */
static void read_body(const PGresult *r, int col, lp_ann_stored *body, bool *bad)
{
    if (!PQgetisnull(r, 0, col)) {
        body->geom = PQgetvalue(r, 0, col);
        body->geom_len = (size_t)PQgetlength(r, 0, col);
    }
    body->data = jsonb_text(r, col + 1, &body->data_len, bad);
    if (!body->data) {
        body->data = "{}";
        body->data_len = 2;
    }
    body->extra = jsonb_text(r, col + 2, &body->extra_len, bad);
}

/* An integer[] column as text, "{s0,e0,s1,e1,…}", into pairs (new in a).
 * 0, or -1 when the text is not an even list of integers or a is full. */
static int parse_ranges(lp_arena *a, const char *text, const lp_geom_frame_range **out, size_t *n)
{
    size_t count = 1, k = 0;
    for (const char *p = text; *p; p++)
        count += *p == ',';
    lp_geom_frame_range *r = lp_arena_calloc(a, count / 2 + 1, sizeof *r);
    if (!r || *text != '{')
        return -1;
    const char *p = text + 1;
    while (*p != '}') {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || (*end != ',' && *end != '}'))
            return -1;
        if (k % 2 == 0)
            r[k / 2].start = v;
        else
            r[k / 2].end = v;
        k++;
        p = *end == ',' ? end + 1 : end;
    }
    if (k % 2 != 0 || p[1] != '\0')
        return -1;
    *out = r;
    *n = k / 2;
    return 0;
}

/* Fills o from the current single-row result (columns already checked).
 * 0, or -1 (LP_E_INTERNAL) for a value of the wrong length or a text that
 * does not parse. */
static int read_row(lp_db_ann_cursor *c, lp_db_ann_out *o, lp_error *err)
{
    const PGresult *r = c->res;
    lp_ann_row *a = &o->ann;
    bool bad = false;
    const char *v;
    memset(o, 0, sizeof *o);
    lp_arena_reset(c->arena);
    if (!(v = fixed(r, 0, 0, &bad)) || PQgetlength(r, 0, 0) > LP_ANN_ID_MAX)
        bad = true;
    else
        lp_strlcpy(a->id, v, sizeof a->id);
    if (!(v = fixed(r, 1, 16, &bad)))
        bad = true;
    else
        uuid_text(v, a->class_id);
    a->slot = fixed(r, 2, 0, &bad);
    v = fixed(r, 3, 0, &bad);
    int type = -1;
    if (!a->slot || !v || lp_ann_type_from_name(v, strlen(v), &type) != 0)
        bad = true;
    a->type = type;
    read_body(r, 4, &a->body, &bad);
    if ((v = fixed(r, 7, 4, &bad))) {
        a->has_z = true;
        a->z = (int32_t)be32(v);
    }
    v = fixed(r, 8, 0, &bad);
    if (!v || lp_ann_source_from_name(v, &a->source) != 0)
        bad = true;
    if ((v = fixed(r, 9, 8, &bad))) {
        uint64_t bits = be64(v);
        a->has_confidence = true;
        memcpy(&a->confidence, &bits, 8);
    }
    if ((v = fixed(r, 10, 8, &bad)))
        a->version = (int64_t)be64(v);
    else
        bad = true;
    if ((v = fixed(r, 11, 0, &bad))) {
        a->video = true;
        if (parse_ranges(c->arena, v, &a->ranges, &a->nranges) != 0)
            bad = true;
    }
    if ((v = fixed(r, 12, 0, &bad))) {
        a->has_hidden = true;
        if (parse_ranges(c->arena, v, &a->hidden, &a->nhidden) != 0)
            bad = true;
    }
    if ((v = fixed(r, 13, 1, &bad)))
        a->interpolated = v[0] != 0;
    else
        bad = true;
    if ((v = fixed(r, 14, 4, &bad))) {
        o->has_frame = true;
        o->frame.frame = (int32_t)be32(v);
        if ((v = fixed(r, 15, 1, &bad)))
            o->frame.keyframe = v[0] != 0;
        else
            bad = true;
        read_body(r, 16, &o->frame.body, &bad);
    }
    a->class_name = fixed(r, 19, 0, &bad);
    if ((v = fixed(r, 20, 1, &bad)))
        a->ranges_given = v[0] != 0;
    else
        bad = true;
    if (c->paged) {
        int64_t pos = (v = fixed(r, ROW_COLUMNS, 8, &bad)) ? (int64_t)be64(v) : 0;
        if (pos < 1 || pos < c->last_item)
            return lp_error_set(err, LP_E_INTERNAL, "the annotations of a page of items came out of order");
        c->last_item = pos;
        o->item = (size_t)(pos - 1);
    }
    if (bad)
        return lp_error_set(err, LP_E_INTERNAL, "annotation %s was read back damaged (a value of the wrong size)",
                            a->id[0] ? a->id : "?");
    return 0;
}

/* Clears the current result and whatever is left of the statement. */
static void cursor_drain(lp_db_ann_cursor *c)
{
    PGresult *r;
    PQclear(c->res);
    c->res = NULL;
    while ((r = PQgetResult(c->conn)) != NULL)
        PQclear(r);
}

int lp_db_ann_next(lp_db_ann_cursor *c, lp_db_ann_out *row, lp_error *err)
{
    if (c->failed)
        return lp_error_set(err, LP_E_INTERNAL, "reading annotations from the database failed");
    if (c->done)
        return 0;
    PQclear(c->res);
    c->res = PQgetResult(c->conn);
    if (!c->res) {
        c->done = true;
        return 0;
    }
    switch (PQresultStatus(c->res)) {
    case PGRES_SINGLE_TUPLE:
        if ((!c->checked && check_columns(c->res, c->paged, err) != 0) || read_row(c, row, err) != 0) {
            LP_ERROR("db", "%s", err->message);
            c->failed = true; /* lp_db_ann_close cancels the rest */
            return -1;
        }
        c->checked = true;
        return 1;
    case PGRES_TUPLES_OK: /* the end: drain, then the next statement if any */
        cursor_drain(c);
        if (c->then_sql) {
            const char *sql = c->then_sql;
            c->then_sql = NULL;
            c->checked = false;
            if (!cursor_send(c, sql, 3, (const char *const *)c->then_params)) {
                c->done = true;
                return lp_error_set(err, LP_E_UNAVAILABLE, CONNECTION_LOST);
            }
            return lp_db_ann_next(c, row, err);
        }
        c->done = true;
        return 0;
    default: {
        const char *state = PQresultErrorField(c->res, PG_DIAG_SQLSTATE);
        lp_code code = PQstatus(c->conn) != CONNECTION_OK ? LP_E_UNAVAILABLE : lp_db_sqlstate_code(state);
        lp_log(LP_LOG_ERROR, "db", "a streamed annotation query failed: sqlstate=%s: %s", state ? state : "-",
               PQresultErrorMessage(c->res));
        cursor_drain(c);
        c->done = true;
        return lp_error_set(err, code == LP_E_INTERNAL ? LP_E_INTERNAL : code,
                            "reading annotations from the database failed");
    }
    }
}

void lp_db_ann_close(lp_db_ann_cursor *c)
{
    if (!c)
        return;
    if (!c->done && c->conn) {
        PGcancel *cancel = PQgetCancel(c->conn);
        char buf[256];
        if (cancel) {
            PQcancel(cancel, buf, sizeof buf);
            PQfreeCancel(cancel);
        }
        cursor_drain(c);
    }
    PQclear(c->res);
    lp_arena_free(c->arena);
    free(c->then_params[0]);
    free(c->then_params[1]);
    free(c->then_params[2]);
    free(c);
}

/* ---- idempotency keys ----------------------------------------------------------- */

int lp_db_idem_claim(lp_db *db, lp_arena *a, const char *team_id, const char *key, const char *request_hash,
                     lp_db_idem *out, lp_error *err)
{
    const char *p[3] = {team_id, key, request_hash};
    memset(out, 0, sizeof *out);
    int64_t n = lp_db_exec(db,
                           "INSERT INTO idempotency_keys (team_id, key, request_hash, status, response) "
                           "VALUES ($1, $2, $3, 0, '') ON CONFLICT (team_id, key) DO UPDATE "
                           "SET request_hash = EXCLUDED.request_hash, status = 0, etag = NULL, response = '', "
                           "created_at = now() "
                           "WHERE idempotency_keys.created_at < now() - interval '24 hours'",
                           3, p, err);
    if (n < 0)
        return -1;
    if (n == 1)
        return 0;
    PGresult *r = lp_db_query(db,
                              "SELECT request_hash, status, etag, response FROM idempotency_keys "
                              "WHERE team_id = $1 AND key = $2",
                              2, p, err);
    if (!r)
        return -1;
    int rc = 0;
    if (PQntuples(r) == 0) {
        rc = lp_error_set(err, LP_E_CONFLICT, "a request with the same Idempotency-Key is in progress; try again");
    } else {
        out->request_hash = lp_db_text(a, r, 0, 0);
        out->status = (int)strtol(PQgetvalue(r, 0, 1), NULL, 10);
        out->etag = PQgetisnull(r, 0, 2) ? NULL : lp_db_text(a, r, 0, 2);
        out->response = lp_db_text(a, r, 0, 3);
        if (!out->request_hash || !out->response)
            rc = lp_error_set(err, LP_E_NOMEM, "out of memory");
    }
    PQclear(r);
    return rc;
}

int lp_db_idem_store(lp_db *db, const char *team_id, const char *key, int status, const char *etag,
                     const char *response, lp_error *err)
{
    char st[16];
    snprintf(st, sizeof st, "%d", status);
    const char *p[5] = {team_id, key, st, etag, response};
    if (lp_db_exec(db,
                   "UPDATE idempotency_keys SET status = $3::int, etag = $4, response = $5 "
                   "WHERE team_id = $1 AND key = $2",
                   5, p, err) < 0)
        return -1;
    /* Expired keys go a few at a time, so no request pays for a big sweep. */
    return lp_db_exec(db,
                      "DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys "
                      "WHERE created_at < now() - interval '24 hours' LIMIT 100)",
                      0, NULL, err) < 0
               ? -1
               : 0;
}
