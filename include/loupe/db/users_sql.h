/* Statements about users (src/db/users_sql.c). Emails are passed and stored
 * lower-cased; see teams_sql.h for the row conventions. */
#ifndef LOUPE_DB_USERS_SQL_H
#define LOUPE_DB_USERS_SQL_H

#include "loupe/db/teams_sql.h"

typedef struct lp_user_row {
    char id[LP_DB_UUID_LEN];
    char *email;          /* arena */
    char *name;           /* arena */
    char *password_hash;  /* arena; NULL when the user has no password */
    char created_at[LP_DB_TIME_LEN];
} lp_user_row;

/* Reads user user_id. 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_user_get(lp_db *db, lp_arena *a, const char *user_id, lp_user_row *out, lp_error *err);

/* Finds a user by (lower-case) email. 0 found, 1 no such user, -1 failed. */
int lp_db_user_find_by_email(lp_db *db, lp_arena *a, const char *email, lp_user_row *out, lp_error *err);

/* Creates a user unless one with this email exists. Returns 0 when created,
 * 1 when it existed (out holds the existing user, nothing changed), or -1.
 * password_hash may be NULL. */
int lp_db_user_create(lp_db *db, lp_arena *a, const char *email, const char *name, const char *password_hash,
                      lp_user_row *out, lp_error *err);

/* Replaces the user's password hash. 0 or -1. */
int lp_db_user_set_password(lp_db *db, const char *user_id, const char *password_hash, lp_error *err);

#endif
