/* Statements about browser sessions (src/db/sessions_sql.c). The cookie's
 * token is never stored, only its SHA-256 hex. */
#ifndef LOUPE_DB_SESSIONS_SQL_H
#define LOUPE_DB_SESSIONS_SQL_H

#include "loupe/db/memberships_sql.h"
#include "loupe/db/teams_sql.h"

/* Starts a session of ttl_ms for a member, and deletes that user's ended
 * sessions. Writes the new session's id. 0 or -1. */
int lp_db_session_create(lp_db *db, const char *team_id, const char *user_id, const char *token_hash,
                         const char *csrf_token, int64_t ttl_ms, char id[LP_DB_UUID_LEN], lp_error *err);

typedef struct lp_session_auth {
    char id[LP_DB_UUID_LEN];
    char team_id[LP_DB_UUID_LEN];
    char user_id[LP_DB_UUID_LEN];
    char csrf_token[64];
    char role[LP_DB_ROLE_LEN];  /* the member's role now */
    int revoked;                /* signed out */
    int expired;                /* expires_at <= now() */
    int64_t expires_at_ms;      /* Unix ms */
    lp_member_profile member;   /* strings in the arena */
} lp_session_auth;

/* 0 found, 1 no session has this token hash, -1 failed. */
int lp_db_session_find(lp_db *db, lp_arena *a, const char *token_hash, lp_session_auth *out, lp_error *err);

/* Ends a session (sign-out). 0 or -1. */
int lp_db_session_revoke(lp_db *db, const char *session_id, lp_error *err);

#endif
