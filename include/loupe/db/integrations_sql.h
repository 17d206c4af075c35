/* Statements about inbound integrations (migration 0011): the third
 * parties that push data into a team, and the message ids they sent.
 * Strings in rows are copied into the caller's arena. */
#ifndef LOUPE_DB_INTEGRATIONS_SQL_H
#define LOUPE_DB_INTEGRATIONS_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/teams_sql.h"

typedef struct lp_integration_row {
    char id[LP_DB_UUID_LEN];
    char team_id[LP_DB_UUID_LEN];
    char *name;    /* arena */
    char *secret;  /* arena */
    char created_at[LP_DB_TIME_LEN];
} lp_integration_row;

/* Creates an integration of the team, refusing (LP_E_CONFLICT) more than
 * max. 0 or -1. */
int lp_db_integration_create(lp_db *db, lp_arena *a, const char *team_id, const char *user_id, const char *name,
                             const char *secret, int64_t max, lp_integration_row *out, lp_error *err);

/* One page of the team's integrations by id. An arena array. 0 or -1. */
int lp_db_integration_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_id, int64_t limit,
                           lp_integration_row **out, size_t *n, lp_error *err);

/* An integration of the team, or of any team when team_id is NULL (the
 * receiving endpoint, which learns the team from it). 0, or -1 with
 * LP_E_NOT_FOUND. */
int lp_db_integration_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_integration_row *out,
                          lp_error *err);

/* Deletes an integration (its endpoint stops answering). 0, or -1 with
 * LP_E_NOT_FOUND. */
int lp_db_integration_delete(lp_db *db, const char *team_id, const char *id, lp_error *err);

/* In the caller's transaction: records that the integration sent
 * message_id. 0 when it is new; 1 when it was seen before (*status and
 * *answer: the stored answer, arena); -1. A concurrent first sending of the
 * same id waits for that transaction. */
int lp_db_integration_message_claim(lp_db *db, lp_arena *a, const char *integration_id, const char *message_id,
                                    int *status, char **answer, lp_error *err);

/* In the same transaction: the answer given to message_id (JSON text). */
int lp_db_integration_message_answer(lp_db *db, const char *integration_id, const char *message_id, int status,
                                     const char *answer, lp_error *err);

/* Deletes up to limit message ids recorded more than keep_ms ago (their
 * timestamps are long stale: a replay is refused by its signature check).
 * Rows deleted, or -1. Safe on several nodes at once. */
int64_t lp_db_integration_messages_prune(lp_db *db, int64_t keep_ms, int limit, lp_error *err);

#endif
