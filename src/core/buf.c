/* Bounded growable buffer. See buf.h. */
#include "loupe/core/buf.h"

#include "loupe/core/alloc_fail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lp_buf_init(lp_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
    b->nomem = 0;
}

void lp_buf_free(lp_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->nomem = 0;
}

void lp_buf_reset(lp_buf *b)
{
    b->len = 0;
    b->nomem = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int buf_reserve(lp_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return LP_BUF_OVER_LIMIT;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > (b->max + 1) / 2 ? b->max + 1 : cap * 2;
    char *p = lp_alloc_fail_now() ? NULL : realloc(b->data, cap);
    if (!p) {
        b->nomem = 1;
        return LP_BUF_NOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int lp_buf_append(lp_buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

char *lp_buf_extend(lp_buf *b, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return NULL;
    char *at = b->data + b->len;
    b->len += n;
    b->data[b->len] = '\0';
    return at;
}

int lp_buf_puts(lp_buf *b, const char *s)
{
    return lp_buf_append(b, s, strlen(s));
}

int lp_buf_vprintf(lp_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2), rc;
    va_end(ap2);
    if (n < 0)
        return LP_BUF_OVER_LIMIT; /* EOVERFLOW: longer than INT_MAX */
    if ((rc = buf_reserve(b, (size_t)n)) != 0)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int lp_buf_printf(lp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = lp_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

lp_code lp_buf_failure(const lp_buf *b)
{
    return b->nomem ? LP_E_NOMEM : LP_E_TOO_LARGE;
}

char *lp_buf_steal(lp_buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    if (!p)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
