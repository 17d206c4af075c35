/* Statements about users. See loupe/db/users_sql.h. */
#include "loupe/db/users_sql.h"

#include "db_int.h"

#define USER_COLUMNS "id, email, name, password_hash, " LP_SQL_TS("created_at")

static int read_user(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_user_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    out->email = lp_db_text(a, r, row, 1);
    out->name = lp_db_text(a, r, row, 2);
    out->password_hash = lp_db_text(a, r, row, 3);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 4);
    if (!out->email || !out->name || (!out->password_hash && !PQgetisnull(r, row, 3)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a user");
    return 0;
}

int lp_db_user_get(lp_db *db, lp_arena *a, const char *user_id, lp_user_row *out, lp_error *err)
{
    const char *p[1] = {user_id};
    return lp_db_one_found(a, lp_db_query(db, "SELECT " USER_COLUMNS " FROM users WHERE id = $1", 1, p, err),
                           read_user, out, err, "user %s not found", user_id);
}

int lp_db_user_find_by_email(lp_db *db, lp_arena *a, const char *email, lp_user_row *out, lp_error *err)
{
    const char *p[1] = {email};
    return lp_db_one(a, lp_db_query(db, "SELECT " USER_COLUMNS " FROM users WHERE email = $1", 1, p, err), read_user,
                     out, err);
}

int lp_db_user_create(lp_db *db, lp_arena *a, const char *email, const char *name, const char *password_hash,
                      lp_user_row *out, lp_error *err)
{
    const char *p[3] = {email, name, password_hash};
    int rc = lp_db_one(a,
                       lp_db_query(db,
                                   "INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) "
                                   "ON CONFLICT (email) DO NOTHING RETURNING " USER_COLUMNS,
                                   3, p, err),
                       read_user, out, err);
    if (rc != 1)
        return rc;
    rc = lp_db_user_find_by_email(db, a, email, out, err);
    if (rc == 1) /* deleted between the two statements */
        return lp_error_set(err, LP_E_CONFLICT, "user %s changed concurrently; try again", email);
    return rc < 0 ? -1 : 1;
}

int lp_db_user_set_password(lp_db *db, const char *user_id, const char *password_hash, lp_error *err)
{
    const char *p[2] = {user_id, password_hash};
    return lp_db_exec_found(db, "UPDATE users SET password_hash = $2 WHERE id = $1", 2, p, err, "user %s not found",
                            user_id);
}
