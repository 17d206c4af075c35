/* Statements about users. See loupe/db/users_sql.h. */
#include "loupe/db/users_sql.h"

#include "db_int.h"

#define USER_COLUMNS "id, email, name, password_hash, " LP_SQL_TS("created_at")

static int read_user(lp_arena *a, PGresult *r, lp_user_row *out, lp_error *err)
{
    lp_db_text_copy(out->id, sizeof out->id, r, 0, 0);
    out->email = lp_db_text(a, r, 0, 1);
    out->name = lp_db_text(a, r, 0, 2);
    out->password_hash = lp_db_text(a, r, 0, 3);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, 0, 4);
    if (!out->email || !out->name || (!out->password_hash && !PQgetisnull(r, 0, 3)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a user");
    return 0;
}

int lp_db_user_get(lp_db *db, lp_arena *a, const char *user_id, lp_user_row *out, lp_error *err)
{
    const char *p[1] = {user_id};
    PGresult *r = lp_db_query(db, "SELECT " USER_COLUMNS " FROM users WHERE id = $1", 1, p, err);
    int rc;
    if (!r)
        return -1;
    rc = PQntuples(r) == 0 ? lp_error_set(err, LP_E_NOT_FOUND, "user %s not found", user_id)
                           : read_user(a, r, out, err);
    PQclear(r);
    return rc;
}

int lp_db_user_find_by_email(lp_db *db, lp_arena *a, const char *email, lp_user_row *out, lp_error *err)
{
    const char *p[1] = {email};
    PGresult *r = lp_db_query(db, "SELECT " USER_COLUMNS " FROM users WHERE email = $1", 1, p, err);
    int rc;
    if (!r)
        return -1;
    rc = PQntuples(r) == 0 ? 1 : read_user(a, r, out, err);
    PQclear(r);
    return rc;
}

int lp_db_user_create(lp_db *db, lp_arena *a, const char *email, const char *name, const char *password_hash,
                      lp_user_row *out, lp_error *err)
{
    const char *p[3] = {email, name, password_hash};
    PGresult *r = lp_db_query(db,
                              "INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) "
                              "ON CONFLICT (email) DO NOTHING RETURNING " USER_COLUMNS,
                              3, p, err);
    int rc;
    if (!r)
        return -1;
    if (PQntuples(r) == 1) {
        rc = read_user(a, r, out, err);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = lp_db_user_find_by_email(db, a, email, out, err);
    if (rc == 1) /* deleted between the two statements */
        return lp_error_set(err, LP_E_CONFLICT, "user %s changed concurrently; try again", email);
    return rc < 0 ? -1 : 1;
}

int lp_db_user_set_password(lp_db *db, const char *user_id, const char *password_hash, lp_error *err)
{
    const char *p[2] = {user_id, password_hash};
    int64_t n = lp_db_exec(db, "UPDATE users SET password_hash = $2 WHERE id = $1", 2, p, err);
    if (n < 0)
        return -1;
    return n == 0 ? lp_error_set(err, LP_E_NOT_FOUND, "user %s not found", user_id) : 0;
}
