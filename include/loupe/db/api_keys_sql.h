/* Statements about API keys (src/db/api_keys_sql.c). Keys themselves are
 * never stored: only their prefix and the SHA-256 hex of the whole key. */
#ifndef LOUPE_DB_API_KEYS_SQL_H
#define LOUPE_DB_API_KEYS_SQL_H

#include <stddef.h>

#include "loupe/db/memberships_sql.h"
#include "loupe/db/teams_sql.h"

typedef struct lp_api_key_row {
    char id[LP_DB_UUID_LEN];
    char user_id[LP_DB_UUID_LEN];
    char *name;                         /* arena */
    char prefix[16];
    char role[LP_DB_ROLE_LEN];
    char created_at[LP_DB_TIME_LEN];
    char expires_at[LP_DB_TIME_LEN];    /* "" = never */
    char revoked_at[LP_DB_TIME_LEN];    /* "" = not revoked */
    char last_used_at[LP_DB_TIME_LEN];  /* "" = never used */
    char cursor_key[24];                /* created_at in microseconds since the epoch (pagination) */
} lp_api_key_row;

/* Inserts a key. expires_at: RFC 3339 text or NULL (never). 0 (out filled),
 * or -1 (LP_E_CONFLICT if prefix or hash collide). */
int lp_db_api_key_create(lp_db *db, lp_arena *a, const char *team_id, const char *user_id, const char *name,
                         const char *prefix, const char *key_hash, const char *role, const char *expires_at,
                         lp_api_key_row *out, lp_error *err);

/* The team's keys, newest first (ties by id), only user_id's when user_id
 * is not NULL; at most limit, after the key (after_key, after_id) when
 * after_key is not NULL (a row's cursor_key and id). An arena array. 0 or -1. */
int lp_db_api_key_list(lp_db *db, lp_arena *a, const char *team_id, const char *user_id, const char *after_key,
                       const char *after_id, int64_t limit, lp_api_key_row **out, size_t *n, lp_error *err);

/* Revokes key_id of the team (only if it belongs to user_id, when not NULL).
 * With spare_owners_for (the caller's user id, when the caller is not an
 * owner) a key of an owner other than the caller is refused with
 * LP_E_FORBIDDEN: an admin may not act on an owner's credentials. Revoking a
 * revoked key changes nothing and succeeds. 0, or -1 with LP_E_NOT_FOUND when
 * there is no such key. */
int lp_db_api_key_revoke(lp_db *db, const char *team_id, const char *key_id, const char *user_id,
                         const char *spare_owners_for, lp_error *err);

/* What authentication needs to know about the key with a given prefix. */
typedef struct lp_api_key_auth {
    char id[LP_DB_UUID_LEN];
    char team_id[LP_DB_UUID_LEN];
    char user_id[LP_DB_UUID_LEN];
    char key_hash[65];
    char key_role[LP_DB_ROLE_LEN];
    char member_role[LP_DB_ROLE_LEN];
    int revoked;   /* revoked_at is set */
    int expired;   /* expires_at <= now() */
    int stale;     /* last_used_at is unset or over a minute old */
    int64_t expires_at_ms;      /* Unix ms; 0 = never */
    lp_member_profile member;   /* strings in the arena */
} lp_api_key_auth;

/* 0 found, 1 no key has this prefix, -1 failed. */
int lp_db_api_key_find(lp_db *db, lp_arena *a, const char *prefix, lp_api_key_auth *out, lp_error *err);

/* Records that the key was used now (cheap; callers do it when stale). 0 or -1. */
int lp_db_api_key_touch(lp_db *db, const char *key_id, lp_error *err);

#endif
