/* Statements about teams (src/db/teams_sql.c).
 *
 * Strings in rows are copied into the caller's arena; fixed-size fields are
 * NUL-terminated text. Timestamps are RFC 3339 UTC ("2026-01-02T03:04:05.678Z"). */
#ifndef LOUPE_DB_TEAMS_SQL_H
#define LOUPE_DB_TEAMS_SQL_H

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"

/* Room for a UUID and for a timestamp as text, with the NUL. */
#define LP_DB_UUID_LEN 37
#define LP_DB_TIME_LEN 32
#define LP_DB_ROLE_LEN 16

typedef struct lp_team_row {
    char id[LP_DB_UUID_LEN];
    char *name;                  /* arena */
    char *slug;                  /* arena */
    char created_at[LP_DB_TIME_LEN];
} lp_team_row;

/* Reads team team_id. 0, or -1 with LP_E_NOT_FOUND when there is none. */
int lp_db_team_get(lp_db *db, lp_arena *a, const char *team_id, lp_team_row *out, lp_error *err);

/* Inserts a team. Returns 0 (out filled), 1 when slug is already taken
 * (nothing inserted, the transaction stays usable), or -1. */
int lp_db_team_create(lp_db *db, lp_arena *a, const char *name, const char *slug, lp_team_row *out, lp_error *err);

/* Renames team team_id. 0 (out filled), or -1 (LP_E_NOT_FOUND when there is none). */
int lp_db_team_rename(lp_db *db, lp_arena *a, const char *team_id, const char *name, lp_team_row *out,
                      lp_error *err);

/* Locks the team's row until the transaction ends, so that membership
 * changes of one team run one at a time (the last-owner rule depends on it).
 * 0, or -1 (LP_E_NOT_FOUND when there is no such team). */
int lp_db_team_lock(lp_db *db, const char *team_id, lp_error *err);

#endif
