/* Bounded growable byte buffer (like curl's dynbuf): every buffer has a
 * maximum, and an append that would pass it fails instead of growing.
 * Heap-backed; the owner calls lp_buf_free. Contents are always
 * NUL-terminated so text can be used as a C string. */
#ifndef LOUPE_CORE_BUF_H
#define LOUPE_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "loupe/core/error.h"

typedef struct lp_buf {
    char *data;   /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;   /* never holds more than max bytes (excluding the NUL) */
    int nomem;    /* an append failed for want of memory (cleared by init, reset and free) */
} lp_buf;

/* Why an append failed: over the buffer's maximum (the input's fault) or out of memory (not). */
#define LP_BUF_OVER_LIMIT (-1)
#define LP_BUF_NOMEM (-2)

void lp_buf_init(lp_buf *b, size_t max);
void lp_buf_free(lp_buf *b);      /* frees data; b may be reused after lp_buf_init */
void lp_buf_reset(lp_buf *b);     /* len = 0, keeps memory */

/* Return 0, LP_BUF_OVER_LIMIT if the result would exceed max, or LP_BUF_NOMEM if memory ran
 * out (and set b->nomem); the buffer's contents are unchanged then. */
int lp_buf_append(lp_buf *b, const void *p, size_t n);
int lp_buf_puts(lp_buf *b, const char *s);
int lp_buf_printf(lp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int lp_buf_vprintf(lp_buf *b, const char *fmt, va_list ap);

/* Makes room for n more bytes at the end of b for the caller to fill and returns where they
 * start (len grows by n at once; a NUL follows them), or NULL with the contents unchanged: over
 * max or out of memory (lp_buf_failure says which). For a producer that writes in place, such as
 * a whole-buffer inflater, so that nothing is copied twice. */
char *lp_buf_extend(lp_buf *b, size_t n);

/* The error code for the last failed append on b: LP_E_NOMEM (503, "out of memory": not the
 * client's fault) when memory ran out, else LP_E_TOO_LARGE (413). Use it where a failed append
 * becomes an answer, so an allocation failure never reads as an over-long request. */
lp_code lp_buf_failure(const lp_buf *b);

/* Takes the data out (caller frees with free()); the buffer becomes empty. */
char *lp_buf_steal(lp_buf *b, size_t *len);

#endif
