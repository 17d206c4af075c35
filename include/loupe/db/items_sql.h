/* Statements about items and their slots (src/db/items_sql.c).
 *
 * Lists and bulk actions select items with an lp_item_filter, compiled to a
 * WHERE clause from fixed SQL fragments with every value a parameter. Every
 * statement is scoped by team (filter->team_id). Items of a deleted dataset
 * are invisible to the single-item statements and to filters by item_ids;
 * filters by dataset_id trust the caller to have checked the dataset (the
 * list and bulk handlers do; the dataset-deletion job relies on it).
 *
 * Strings in rows are copied into the caller's arena; timestamps are RFC
 * 3339 UTC with milliseconds, exactly as stored. */
#ifndef LOUPE_DB_ITEMS_SQL_H
#define LOUPE_DB_ITEMS_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/db/teams_sql.h"

#define LP_ITEM_FILTER_META_MAX 16

/* Which items. Unset members (NULL, 0) do not filter. Exactly one of
 * dataset_id and item_ids should be set for bulk actions. */
typedef struct lp_item_filter {
    const char *team_id;                 /* required */
    const char *dataset_id;
    const char *const *item_ids;         /* UUIDs */
    size_t nitem_ids;
    const char *path;                    /* folder prefix, normalised ("/a/b"); "/" or NULL = any */
    const char *name_contains;           /* case-insensitive substring of the name */
    const char *const *statuses;         /* any of */
    size_t nstatuses;
    const char *has_class;               /* class id among the item's annotations */
    const char *lacks_class;
    int has_count_gte, has_count_lte;
    int64_t count_gte, count_lte;        /* annotation_count bounds, inclusive */
    size_t nmeta;                        /* metadata ->> key = value (text) */
    const char *meta_keys[LP_ITEM_FILTER_META_MAX];
    const char *meta_values[LP_ITEM_FILTER_META_MAX];
    const char *created_gte, *created_lte; /* RFC 3339 timestamps, inclusive */
    const char *updated_gte, *updated_lte;
    const char *stage;                   /* the item's task is on this stage (a workflow stage id) */
    const char *state;                   /* … in this state */
    const char *assignee_id;             /* … assigned to this user */
    const char *slot_type;               /* has a slot of this type (set by code, not read from requests) */
    /* The item's disagreement with a model run (item_disagreements), only
     * where it is fresh (computed from the item's current annotations):
     * bounds as numeric text, inclusive, and the run (any run when NULL). */
    const char *disagreement_gte, *disagreement_lte;
    const char *disagreement_run;
} lp_item_filter;

typedef enum lp_item_sort {
    LP_ITEM_SORT_NAME = 0,
    LP_ITEM_SORT_NAME_DESC,
    LP_ITEM_SORT_CREATED,
    LP_ITEM_SORT_CREATED_DESC,
    LP_ITEM_SORT_PRIORITY,
    LP_ITEM_SORT_PRIORITY_DESC
} lp_item_sort;

/* A row of the slots table (with its item's team and status): the one type
 * for a slot, whether listed with its item or read for the media pipeline. */
typedef struct lp_slot_row {
    char id[LP_DB_UUID_LEN];
    char item_id[LP_DB_UUID_LEN];
    char team_id[LP_DB_UUID_LEN];
    char *name;            /* arena */
    char *type;            /* arena: image | video | volume */
    char *status;          /* arena: empty | uploading | processing | ready | error */
    char *error;           /* arena; NULL = none */
    int64_t width, height, frame_count; /* -1 = unknown */
    double fps;            /* < 0 = unknown */
    int rotation;
    char *format;          /* arena; NULL = unknown */
    char *storage;         /* arena: JSON object text (see migrations/0005_media.sql) */
    char *metadata;        /* arena: JSON object text */
    int position;
    char *item_status;     /* arena */
} lp_slot_row;

/* Where an item stands in its workflow (docs/WORKFLOWS.md). */
typedef struct lp_item_task_row {
    char id[LP_DB_UUID_LEN];
    char workflow_id[LP_DB_UUID_LEN];
    char *stage, *state;          /* arena */
} lp_item_task_row;

typedef struct lp_item_row {
    char id[LP_DB_UUID_LEN];
    char dataset_id[LP_DB_UUID_LEN];
    char *name;            /* arena */
    char *path;            /* arena */
    char *status;          /* arena */
    char *error;           /* arena; NULL = none */
    int64_t priority;
    char *metadata;        /* arena: JSON object text */
    int64_t annotation_count;
    char *class_ids;       /* arena: JSON array text of UUIDs */
    char created_at[LP_DB_TIME_LEN];
    char updated_at[LP_DB_TIME_LEN];
    lp_slot_row *slots;    /* arena; filled by lp_db_items_load_slots */
    size_t nslots;
    bool task_known;       /* task was read (lp_db_items_load_tasks, or by the caller) */
    lp_item_task_row *task; /* arena; NULL: in no workflow */
} lp_item_row;

/* A slot to register. NULL / negative members are unknown. */
typedef struct lp_slot_input {
    const char *name;
    const char *type;
    int64_t width, height, frame_count; /* -1 = unknown */
    double fps;                         /* < 0 = unknown */
    int rotation;
    const char *format;
    const char *metadata;               /* JSON object text; NULL = {} */
} lp_slot_input;

/* Registers an item with its slots in dataset_id (which must be a live
 * dataset of the team) — two statements; call inside a transaction.
 * 0 (out filled, slots included); 1 when an item with this path and name
 * already exists in the dataset (the transaction is then aborted: roll back);
 * -1 (LP_E_NOT_FOUND when there is no such dataset). */
int lp_db_item_create(lp_db *db, lp_arena *a, const char *team_id, const char *dataset_id, const char *name,
                      const char *path, int64_t priority, const char *metadata, const lp_slot_input *slots,
                      size_t nslots, lp_item_row *out, lp_error *err);

/* Reads one item (with slots) of a live dataset of the team. 0, or -1 with
 * LP_E_NOT_FOUND. */
int lp_db_item_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_item_row *out, lp_error *err);

/* Changes name, path, priority (when has_priority) and metadata (replaced
 * whole); NULL = unchanged. 0 (out filled), 1 when the new path and name are
 * taken in the dataset (transaction aborted), -1 (LP_E_NOT_FOUND). */
int lp_db_item_update(lp_db *db, lp_arena *a, const char *team_id, const char *id, const char *name,
                      const char *path, int has_priority, int64_t priority, const char *metadata, lp_item_row *out,
                      lp_error *err);

/* Deletes one item (slots and annotations by cascade); out gets what it was
 * (without slots). 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_item_delete(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_item_row *out,
                      lp_error *err);

/* One page of the filtered list in sort order, after the row whose sort key
 * is after_key (text of name, created_at or priority) and id after_id (both
 * NULL = from the start); at most limit rows, without slots. */
int lp_db_items_list(lp_db *db, lp_arena *a, const lp_item_filter *f, lp_item_sort sort, const char *after_key,
                     const char *after_id, int64_t limit, lp_item_row **out, size_t *n, lp_error *err);

/* Fills rows[i].slots for n rows with one statement. */
int lp_db_items_load_slots(lp_db *db, lp_arena *a, lp_item_row *rows, size_t n, lp_error *err);

/* Number of items the filter selects, counting at most up to limit (0 = all):
 * cheap "more than N?" questions. -1 on failure. */
int64_t lp_db_items_count(lp_db *db, const lp_item_filter *f, int64_t limit, lp_error *err);

/* ---- Bulk actions ------------------------------------------------------ */

typedef enum lp_items_op { LP_ITEMS_MOVE = 0, LP_ITEMS_COPY, LP_ITEMS_DELETE, LP_ITEMS_UPDATE } lp_items_op;

typedef struct lp_items_change {
    lp_items_op op;
    const char *target_dataset_id;       /* MOVE, COPY: a live dataset of the team */
    int has_priority;                    /* UPDATE */
    int64_t priority;
    const char *metadata_set;            /* UPDATE: JSON object merged into metadata, or NULL */
    const char *const *metadata_remove;  /* UPDATE: keys removed from metadata */
    size_t nmetadata_remove;
} lp_items_change;

/* Keyset position of a batched bulk action: items are visited in
 * (created_at, id) order. Zero-initialise to start. */
typedef struct lp_items_cursor {
    int set;
    char created_at[LP_DB_TIME_LEN];
    char id[LP_DB_UUID_LEN];
} lp_items_cursor;

/* A path and name that would collide in the target dataset. */
typedef struct lp_item_conflict {
    char *path;   /* arena */
    char *name;   /* arena */
} lp_item_conflict;

/* Items the filter selects that cannot be moved or copied (op) to target
 * because the target already holds an item with the same path and name (for
 * a copy, an item of the target collides with its own copy), or because two
 * selected items share a path and name (item_ids filters): at most max.
 * Cheap when the target is empty. 0 (*n may be 0), or -1. */
int lp_db_items_conflicts(lp_db *db, lp_arena *a, const lp_item_filter *f, lp_items_op op,
                          const char *target_dataset_id, size_t max, lp_item_conflict **out, size_t *n,
                          lp_error *err);

/* Applies change to the selected items with one set-based statement.
 * cursor NULL: every selected item. cursor given: the next at most batch
 * items after *cursor in (created_at, id) order, and *cursor moves past
 * them. MOVE skips items already in the target; MOVE and COPY do nothing
 * when the target is not a live dataset of the team. Returns the number of
 * items selected by this call (a batch shorter than batch is the last), or
 * -1 (LP_E_CONFLICT when a moved or copied item collides with one already in
 * the target). */
int64_t lp_db_items_apply(lp_db *db, const lp_item_filter *f, const lp_items_change *change, lp_items_cursor *cursor,
                          int64_t batch, lp_error *err);

#endif
