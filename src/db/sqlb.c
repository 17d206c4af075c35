/* The statement builder: SQL text appended from constant fragments whose
 * only variable part is a parameter number ("AND i.status = ANY($4::text[])"),
 * every value a parameter. See db_int.h. */
#include <stdarg.h>
#include <string.h>

#include "db_int.h"

int lp_sqlb_init(lp_sqlb *b, lp_error *err)
{
    memset(b, 0, sizeof *b);
    lp_buf_init(&b->sql, LP_SQLB_MAX_TEXT);
    b->a = lp_arena_new(0, LP_SQLB_ARENA_MAX);
    if (!b->a)
        return lp_error_set(err, LP_E_NOMEM, "out of memory building a statement");
    return 0;
}

void lp_sqlb_free(lp_sqlb *b)
{
    lp_buf_free(&b->sql);
    lp_arena_free(b->a);
    b->a = NULL;
}

int lp_sqlb_param(lp_sqlb *b, const char *value)
{
    if (b->n >= LP_SQLB_MAX_PARAMS) {
        b->failed = 1;
        return 1;
    }
    b->params[b->n++] = value;
    return b->n;
}

void lp_sqlb_add(lp_sqlb *b, const char *fragment, ...)
{
    va_list ap;
    va_start(ap, fragment);
    if (lp_buf_vprintf(&b->sql, fragment, ap) != 0)
        b->failed = 1;
    va_end(ap);
}

const char *lp_sqlb_int(lp_sqlb *b, int64_t v)
{
    const char *s = lp_arena_printf(b->a, "%lld", (long long)v);
    if (!s)
        b->failed = 1;
    return s;
}

const char *lp_sqlb_array(lp_sqlb *b, const char *const *v, size_t n)
{
    const char *s = lp_db_array_literal(b->a, v, n);
    if (!s)
        b->failed = 1;
    return s;
}

int lp_sqlb_check(lp_sqlb *b, lp_error *err)
{
    if (b->failed)
        return lp_error_set(err, LP_E_TOO_LARGE, "the statement is too large to run (too many values)");
    return 0;
}

const char *lp_sqlb_column(lp_sqlb *b, const void *rows, size_t elem, size_t off, size_t n)
{
    const char **v = lp_arena_calloc(b->a, n + 1, sizeof *v);
    if (!v) {
        b->failed = 1;
        return NULL;
    }
    for (size_t k = 0; k < n; k++)
        v[k] = *(const char *const *)((const char *)rows + k * elem + off);
    return lp_sqlb_array(b, v, n);
}

static PGresult *sqlb_run(lp_sqlb *b, lp_db *db, const char *sql,
                          PGresult *(*query)(lp_db *, const char *, int, const char *const *, lp_error *),
                          lp_error *err)
{
    PGresult *r = NULL;
    if (lp_sqlb_check(b, err) == 0)
        r = query(db, sql ? sql : b->sql.data, b->n, b->params, err);
    lp_sqlb_free(b);
    return r;
}

PGresult *lp_sqlb_query(lp_sqlb *b, lp_db *db, const char *sql, lp_error *err)
{
    return sqlb_run(b, db, sql, lp_db_query, err);
}

PGresult *lp_sqlb_query_batch(lp_sqlb *b, lp_db *db, const char *sql, lp_error *err)
{
    return sqlb_run(b, db, sql, lp_db_query_batch, err);
}

int64_t lp_sqlb_exec(lp_sqlb *b, lp_db *db, const char *sql, lp_error *err)
{
    int64_t n = -1;
    if (lp_sqlb_check(b, err) == 0)
        n = lp_db_exec(db, sql ? sql : b->sql.data, b->n, b->params, err);
    lp_sqlb_free(b);
    return n;
}

char *lp_db_array_literal(lp_arena *a, const char *const *v, size_t n)
{
    size_t len = 3;
    for (size_t k = 0; k < n; k++) {
        if (!v[k]) {
            len += 5;
            continue;
        }
        len += 3;
        for (const char *p = v[k]; *p; p++)
            len += (*p == '"' || *p == '\\') ? 2 : 1;
    }
    char *out = lp_arena_alloc(a, len), *o = out;
    if (!out)
        return NULL;
    *o++ = '{';
    for (size_t k = 0; k < n; k++) {
        if (k)
            *o++ = ',';
        if (!v[k]) {
            memcpy(o, "NULL", 4);
            o += 4;
            continue;
        }
        *o++ = '"';
        for (const char *p = v[k]; *p; p++) {
            if (*p == '"' || *p == '\\')
                *o++ = '\\';
            *o++ = *p;
        }
        *o++ = '"';
    }
    *o++ = '}';
    *o = '\0';
    return out;
}
