/* Statements about datasets (src/db/datasets_sql.c).
 *
 * Every statement is scoped by team: a dataset of another team, or one that
 * has been deleted (soft: deleted_at set), is "not found". Strings in rows are
 * copied into the caller's arena; timestamps are RFC 3339 UTC with
 * milliseconds, exactly as stored (datasets keep millisecond precision so the
 * list cursor round-trips). */
#ifndef LOUPE_DB_DATASETS_SQL_H
#define LOUPE_DB_DATASETS_SQL_H

#include <stddef.h>

#include "loupe/db/teams_sql.h"

typedef struct lp_dataset_row {
    char id[LP_DB_UUID_LEN];
    char *name;                      /* arena */
    char *slug;                      /* arena */
    char created_at[LP_DB_TIME_LEN];
    char updated_at[LP_DB_TIME_LEN];
} lp_dataset_row;

/* Inserts a dataset. 0 (out filled), 1 when the team already has a live
 * dataset with this slug (nothing inserted), or -1. */
int lp_db_dataset_create(lp_db *db, lp_arena *a, const char *team_id, const char *name, const char *slug,
                         lp_dataset_row *out, lp_error *err);

/* Reads a live dataset of the team. 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_dataset_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_dataset_row *out,
                      lp_error *err);

/* The team's live datasets in (created_at, id) order, after the row
 * (after_created, after_id) when both are given; at most limit rows. */
int lp_db_dataset_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_created, const char *after_id,
                       int64_t limit, lp_dataset_row **out, size_t *n, lp_error *err);

/* Renames and/or re-slugs (NULL = unchanged). 0 (out filled), 1 when the
 * slug is taken, -1 (LP_E_NOT_FOUND when there is no such live dataset). */
int lp_db_dataset_update(lp_db *db, lp_arena *a, const char *team_id, const char *id, const char *name,
                         const char *slug, lp_dataset_row *out, lp_error *err);

/* Marks the dataset deleted (its slug is free at once). 0, or -1 with
 * LP_E_NOT_FOUND. The items stay until a job deletes them. */
int lp_db_dataset_soft_delete(lp_db *db, const char *team_id, const char *id, lp_error *err);

#endif
