/* Item filters and bulk item actions as JSON documents (src/db/item_filter.c),
 * read into the filter model of loupe/db/items_sql.h that the item
 * statements take.
 *
 * One reader serves the item list (GET /api/v1/items, query parameters turned
 * into the same JSON shape), the bulk routes (POST /api/v1/items/move|copy|
 * delete|update, body {"filters": {...}, ...}) and the items.bulk job, whose
 * payload is the bulk body plus "action" and "requested_by". So a filter means
 * the same thing everywhere and is validated once, with field errors naming
 * the input.
 *
 * The filter document (every member optional unless said):
 *   dataset_id        UUID (bulk actions need it or item_ids)
 *   item_ids          [UUID, …] (1 .. LP_ITEMS_IDS_MAX)
 *   path              folder prefix: "/a/b" selects /a/b and everything below it
 *   name_contains     case-insensitive substring of the name
 *   status            "ready" or ["ready", "error"]
 *   has_class, lacks_class   class UUID
 *   annotation_count  {"gte": n, "lte": n}
 *   metadata          {"key": "value", …} (value compared as text; at most 16 keys)
 *   created, updated  {"gte": RFC 3339, "lte": RFC 3339}
 *   stage, state      the item's workflow task is on this stage / in this state
 *   assignee          user UUID: the item's task is assigned to them
 *   disagreement      {"gte": x, "lte": x} (0..1): the item's fresh disagreement with a
 *                     model run (docs/MODELS.md, "Disagreement")
 *   disagreement_run  run (job) UUID: … with this run (any run when absent)
 *
 * Strings in the results are borrowed from the JSON document or copied into
 * the arena: keep both alive while the result is used. */
#ifndef LOUPE_DB_ITEM_FILTER_H
#define LOUPE_DB_ITEM_FILTER_H

#include <jansson.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/items_sql.h"

/* Bulk actions on at most this many items run inside the request (200);
 * larger ones run as an items.bulk job (202). Also the most item_ids a
 * filter may list. */
#define LP_ITEMS_BULK_INLINE_MAX 10000
#define LP_ITEMS_IDS_MAX LP_ITEMS_BULK_INLINE_MAX
/* Items one batch of an items.bulk job changes in one transaction. */
#define LP_ITEMS_BULK_BATCH 50000
/* Item names, folder paths and slot names are bounded by the settings
 * item_name_max, item_path_max and slot_name_max; what a filter looks for
 * (path, name_contains) by LP_ITEM_FILTER_TEXT_MAX, the most
 * item_name_max and item_path_max may be, so that any item can be found
 * whatever the settings were when it was made. */
#define LP_ITEM_FILTER_TEXT_MAX 16384
/* A workflow stage or state a filter names (items and tasks): stage names
 * are bounded by string_max_length, and this is the most it may be. */
#define LP_FILTER_STAGE_NAME_MAX 1048576

/* How field errors are named: FILTER_JSON gives "filters.created.gte",
 * FILTER_QUERY gives "created[gte]" (the list's query parameters). */
typedef enum lp_filter_style { LP_FILTER_JSON = 0, LP_FILTER_QUERY } lp_filter_style;

/* Reads a filter document into out (team_id is copied in as the scope; it
 * may be NULL when only validating). In QUERY style, numbers may also be
 * given as decimal strings. 0, or -1 with field errors (LP_E_INVALID). */
int lp_item_filter_read(const json_t *doc, lp_filter_style style, const char *team_id, lp_arena *a,
                        lp_item_filter *out, lp_error *err);

/* A bulk action: what to select and what to do. */
typedef struct lp_items_bulk {
    lp_item_filter filter;
    lp_items_change change;
    int force_job;              /* "mode": "job" — run as a job whatever the size */
    const json_t *filters_doc;  /* the "filters" member (borrowed), for the job payload and the audit */
} lp_items_bulk;

/* Names of the actions: "move", "copy", "delete", "update". */
const char *lp_items_op_name(lp_items_op op);
int lp_items_op_parse(const char *name, lp_items_op *out); /* 0 or -1 */

/* Reads the body of a bulk route for op:
 *   {"filters": {…}, "target_dataset_id"?, "priority"?, "metadata"?, "mode"?: "auto"|"job"}
 * move and copy need target_dataset_id; update needs priority and/or
 * metadata (an object merged into each item's metadata; a null value removes
 * the key); the filter needs dataset_id or item_ids. 0, or -1 with field
 * errors. */
int lp_items_bulk_read(const json_t *body, lp_items_op op, const char *team_id, lp_arena *a, lp_items_bulk *out,
                       lp_error *err);

/* The items.bulk job payload for a bulk action read from body: the body's
 * members plus "action" and "requested_by" (may be NULL). New reference, or
 * NULL on out-of-memory. */
json_t *lp_items_bulk_payload(const json_t *body, lp_items_op op, const char *requested_by);

/* Reads an items.bulk payload (as made above): action and body. */
int lp_items_bulk_read_payload(const json_t *payload, const char *team_id, lp_arena *a, lp_items_bulk *out,
                               lp_error *err);

/* The data of a bulk action's audit record: the body's filters and, when
 * present, target_dataset_id, priority and metadata, plus count and job_id
 * (may be NULL). New reference, or NULL on out-of-memory. */
json_t *lp_items_bulk_audit_data(const json_t *body, int64_t count, const char *job_id);

/* Normalises a folder path: must start with "/", a trailing "/" is dropped,
 * no empty, "." or ".." segments, no control characters, at most max bytes
 * (setting, when not NULL, is named in the error: item_path_max). Writes the
 * result (arena) to *out; 0, or -1 with a field error on field. */
int lp_item_path_normalize(const char *in, size_t max, const char *setting, lp_arena *a, const char *field,
                           const char **out, lp_error *err);

/* 1 if s is an RFC 3339 timestamp ("2026-01-02T03:04:05Z", fraction and
 * numeric offset allowed) or a date ("2026-01-02", midnight UTC). */
int lp_item_time_valid(const char *s);

#endif
