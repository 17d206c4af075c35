/* Statements about team invitations (migration 0008). Emails are lower-case;
 * strings in rows are copied into the caller's arena. */
#ifndef LOUPE_DB_INVITATIONS_SQL_H
#define LOUPE_DB_INVITATIONS_SQL_H

#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/teams_sql.h"

typedef struct lp_invitation_row {
    char id[LP_DB_UUID_LEN];
    char team_id[LP_DB_UUID_LEN];
    char *email;   /* arena */
    char *name;    /* arena; NULL = none given */
    char role[LP_DB_ROLE_LEN];
    char created_at[LP_DB_TIME_LEN];
    char expires_at[LP_DB_TIME_LEN];
} lp_invitation_row;

/* Records an invitation valid for ttl_ms. 0 or -1. */
int lp_db_invitation_create(lp_db *db, lp_arena *a, const char *team_id, const char *email, const char *name,
                            const char *role, const char *token_hash, const char *invited_by, int64_t ttl_ms,
                            lp_invitation_row *out, lp_error *err);

/* The open (not accepted, not expired) invitation with token_hash, its row
 * locked until the transaction ends. 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_invitation_take(lp_db *db, lp_arena *a, const char *token_hash, lp_invitation_row *out, lp_error *err);

/* Marks an invitation accepted by user_id. 0 or -1. */
int lp_db_invitation_accepted(lp_db *db, const char *id, const char *user_id, lp_error *err);

#endif
