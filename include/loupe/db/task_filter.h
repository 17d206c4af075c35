/* Task filters and bulk actions on tasks as JSON documents
 * (src/db/task_filter.c), read into the model of loupe/db/tasks_sql.h.
 *
 * One reader serves POST /api/v1/tasks/bulk and the tasks.bulk job, whose
 * payload is made here too, so a filter means the same thing in both.
 *
 * The filter document:
 *   workflow_id   UUID (required)
 *   stage, state  a stage id, a state name
 *   assignee_id   UUID, or null: tasks nobody holds (lapsed claims count)
 *   task_ids, item_ids   [UUID, …] (1 .. LP_TASKS_IDS_MAX)
 *
 * Strings in the results are borrowed from the JSON document or copied into
 * the arena: keep both alive while the result is used. */
#ifndef LOUPE_DB_TASK_FILTER_H
#define LOUPE_DB_TASK_FILTER_H

#include <jansson.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/tasks_sql.h"

/* Bulk actions on at most this many tasks run inside the request (200);
 * larger ones run as a tasks.bulk job (202). Also the most ids a filter may
 * list. */
#define LP_TASKS_BULK_INLINE_MAX 10000
#define LP_TASKS_IDS_MAX LP_TASKS_BULK_INLINE_MAX
/* Tasks one batch of a tasks.bulk job changes in one transaction. */
#define LP_TASKS_BULK_BATCH 10000

/* Reads the filter document doc (field errors "filters.<member>") into out,
 * scoped to team_id (may be NULL when only validating). 0, or -1 with field
 * errors (LP_E_INVALID). */
int lp_task_filter_read(const json_t *doc, const char *team_id, lp_arena *a, lp_task_filter *out, lp_error *err);

/* "send_to_stage", "set_state", "assign". */
const char *lp_tasks_op_name(lp_tasks_op op);
int lp_tasks_op_parse(const char *name, lp_tasks_op *out); /* 0 or -1 */

/* The tasks.bulk payload of a checked bulk action: {"filters", "action",
 * "stage"?, "state"?, "user_id"?, "requested_by"?} (filters as given).
 * New reference, or NULL on out-of-memory. */
json_t *lp_tasks_bulk_payload(const json_t *filters, const lp_tasks_change *c);

/* Reads a tasks.bulk payload (as made above). 0, or -1 with field errors. */
int lp_tasks_bulk_read_payload(const json_t *payload, const char *team_id, lp_arena *a, lp_task_filter *f,
                               lp_tasks_change *c, lp_error *err);

#endif
