/* Bounded growable byte buffer (like curl's dynbuf): every buffer has a
 * maximum, and an append that would pass it fails instead of growing.
 * Heap-backed; the owner calls lp_buf_free. Contents are always
 * NUL-terminated so text can be used as a C string. */
#ifndef LOUPE_CORE_BUF_H
#define LOUPE_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct lp_buf {
    char *data;   /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;   /* never holds more than max bytes (excluding the NUL) */
} lp_buf;

void lp_buf_init(lp_buf *b, size_t max);
void lp_buf_free(lp_buf *b);      /* frees data; b may be reused after lp_buf_init */
void lp_buf_reset(lp_buf *b);     /* len = 0, keeps memory */

/* Return 0, or -1 if the result would exceed max or memory ran out
 * (the buffer is unchanged then). */
int lp_buf_append(lp_buf *b, const void *p, size_t n);
int lp_buf_puts(lp_buf *b, const char *s);
int lp_buf_printf(lp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int lp_buf_vprintf(lp_buf *b, const char *fmt, va_list ap);

/* Takes the data out (caller frees with free()); the buffer becomes empty. */
char *lp_buf_steal(lp_buf *b, size_t *len);

#endif
