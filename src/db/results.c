/* The statement shapes the <resource>_sql.c files share: rows into arena
 * arrays, "exactly one row", "must affect a row", counts and unique
 * conflicts as answers, pruning by age. See db_int.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "db_int.h"

int64_t lp_db_int_or(const PGresult *r, int row, int col, int64_t unknown)
{
    return PQgetisnull(r, row, col) ? unknown : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void *lp_db_rows(lp_arena *a, PGresult *r, size_t elem_size, lp_db_row_reader read, const char *what, size_t *n,
                 lp_error *err)
{
    char *rows = NULL;
    int count;

    *n = 0;
    if (!r)
        return NULL;
    count = PQntuples(r);
    rows = lp_arena_calloc(a, (size_t)count + 1, elem_size);
    if (!rows)
        lp_error_set(err, LP_E_NOMEM, "out of memory reading %d %s", count, what);
    for (int i = 0; rows && i < count; i++)
        if (read(a, r, i, rows + (size_t)i * elem_size, err) != 0)
            rows = NULL;
    if (rows)
        *n = (size_t)count;
    PQclear(r);
    return rows;
}

int lp_db_one(lp_arena *a, PGresult *r, lp_db_row_reader read, void *out, lp_error *err)
{
    int rc;
    if (!r)
        return -1;
    rc = PQntuples(r) == 0 ? 1 : read(a, r, 0, out, err);
    PQclear(r);
    return rc;
}

int lp_db_one_found(lp_arena *a, PGresult *r, lp_db_row_reader read, void *out, lp_error *err,
                    const char *missing_fmt, ...)
{
    int rc = lp_db_one(a, r, read, out, err);
    if (rc == 1) {
        va_list ap;
        va_start(ap, missing_fmt);
        rc = lp_error_vset(err, LP_E_NOT_FOUND, missing_fmt, ap);
        va_end(ap);
    }
    return rc;
}

PGresult *lp_db_query_or_conflict(lp_db *db, const char *sql, int nparams, const char *const *params, int *conflict,
                                  lp_error *err)
{
    lp_error e;
    PGresult *r;

    lp_error_clear(&e);
    *conflict = 0;
    r = lp_db_query(db, sql, nparams, params, &e);
    if (!r) {
        if (e.code == LP_E_CONFLICT)
            *conflict = 1;
        else if (err)
            *err = e;
    }
    return r;
}

int lp_db_exec_found(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err,
                     const char *missing_fmt, ...)
{
    int64_t n = lp_db_exec(db, sql, nparams, params, err);
    int rc = n < 0 ? -1 : 0;
    if (n == 0) {
        va_list ap;
        va_start(ap, missing_fmt);
        rc = lp_error_vset(err, LP_E_NOT_FOUND, missing_fmt, ap);
        va_end(ap);
    }
    return rc;
}

int64_t lp_db_prune(lp_db *db, const char *sql, int64_t keep_ms, int limit, lp_error *err)
{
    char k[24], l[16];
    snprintf(k, sizeof k, "%" PRId64, keep_ms);
    snprintf(l, sizeof l, "%d", limit);
    const char *p[2] = {k, l};
    return lp_db_exec(db, sql, 2, p, err);
}

int64_t lp_db_count(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err)
{
    PGresult *r = lp_db_query(db, sql, nparams, params, err);
    int64_t n;
    if (!r)
        return -1;
    n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}
