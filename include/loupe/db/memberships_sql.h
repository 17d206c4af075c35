/* Statements about team memberships and roles (src/db/memberships_sql.c).
 * Roles travel as their text ("owner", "admin", "annotator", "reviewer",
 * "viewer"); the database checks the set. */
#ifndef LOUPE_DB_MEMBERSHIPS_SQL_H
#define LOUPE_DB_MEMBERSHIPS_SQL_H

#include <stddef.h>

#include "loupe/db/teams_sql.h"

typedef struct lp_member_row {
    char user_id[LP_DB_UUID_LEN];
    char *email;                 /* arena */
    char *name;                  /* arena */
    char role[LP_DB_ROLE_LEN];
    char joined_at[LP_DB_TIME_LEN];
    char cursor_key[24];         /* joined_at in microseconds since the epoch (pagination) */
} lp_member_row;

/* A member as GET /api/v1/me shows them, read together with a credential
 * (lp_db_api_key_find, lp_db_session_find). Strings in the arena. */
typedef struct lp_member_profile {
    char *user_email;
    char *user_name;
    char *team_name;
    char *team_slug;
    char team_created_at[LP_DB_TIME_LEN];
} lp_member_profile;

/* Members of the team, oldest first (ties by user id), at most limit of
 * them, after the member (after_key, after_id) when after_key is not NULL
 * (a row's cursor_key and user_id; after_key must be an integer as text).
 * An arena array. 0 or -1. */
int lp_db_member_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_key, const char *after_id,
                      int64_t limit, lp_member_row **out, size_t *n, lp_error *err);

/* One member. 0, or -1 with LP_E_NOT_FOUND when user_id is not in the team. */
int lp_db_member_get(lp_db *db, lp_arena *a, const char *team_id, const char *user_id, lp_member_row *out,
                     lp_error *err);

/* Adds user_id to the team. 0, or -1 (LP_E_CONFLICT if already a member). */
int lp_db_member_add(lp_db *db, const char *team_id, const char *user_id, const char *role, lp_error *err);

/* Changes a member's role / removes a member. 0, or -1 (LP_E_NOT_FOUND). */
int lp_db_member_set_role(lp_db *db, const char *team_id, const char *user_id, const char *role, lp_error *err);
int lp_db_member_remove(lp_db *db, const char *team_id, const char *user_id, lp_error *err);

/* Number of owners of the team, or -1. */
int64_t lp_db_member_count_owners(lp_db *db, const char *team_id, lp_error *err);

/* The team a user signs in to and their role there: team_id when given (and
 * the user is a member), else the team they joined first. 0 found, 1 not a
 * member (of that team / of any team), -1 failed. */
int lp_db_member_login_team(lp_db *db, lp_arena *a, const char *user_id, const char *team_id, lp_team_row *team,
                            char role[LP_DB_ROLE_LEN], lp_error *err);

#endif
