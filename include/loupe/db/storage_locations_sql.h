/* Statements about external storage locations (migration 0008): the bucket
 * and key prefix a team's external objects may come from. Strings in rows
 * are copied into the caller's arena. */
#ifndef LOUPE_DB_STORAGE_LOCATIONS_SQL_H
#define LOUPE_DB_STORAGE_LOCATIONS_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/teams_sql.h"

typedef struct lp_storage_location_row {
    char id[LP_DB_UUID_LEN];
    char *slug;    /* arena */
    char *bucket;  /* arena */
    char *prefix;  /* arena; ends with "/" */
    char created_at[LP_DB_TIME_LEN];
} lp_storage_location_row;

/* Records a location for the team. Inside a transaction: takes a lock that
 * serialises every creation, then refuses (LP_E_CONFLICT) a slug the team
 * already uses or a prefix that overlaps (is a prefix of, or starts with)
 * one of another team in the same bucket, or more than max locations for the
 * team. 0 or -1. */
int lp_db_storage_location_create(lp_db *db, lp_arena *a, const char *team_id, const char *user_id,
                                  const char *slug, const char *bucket, const char *prefix, int64_t max,
                                  lp_storage_location_row *out, lp_error *err);

/* The team's locations, oldest first (at most max). An arena array. 0 or -1. */
int lp_db_storage_location_list(lp_db *db, lp_arena *a, const char *team_id, int64_t max,
                                lp_storage_location_row **out, size_t *n, lp_error *err);

/* Deletes a location of the team (objects already registered stay). 0, or -1
 * with LP_E_NOT_FOUND. */
int lp_db_storage_location_delete(lp_db *db, const char *team_id, const char *id, lp_error *err);

#endif
