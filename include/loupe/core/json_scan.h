/* A pull parser for large JSON request bodies (annotation batches).
 *
 * Why not jansson: building a jansson tree of a batch of 10,000 polygons of
 * 64 points (20 MB) took about 1 s on the reference machine — longer than
 * PostgreSQL needs to COPY the same rows in. This scanner reads the text in
 * place: the caller walks objects and arrays and reads numbers straight into
 * its own structures, skips what it does not interpret while keeping the raw
 * text span (stored unchanged), and nothing is allocated except unescaped
 * strings.
 *
 * Grammar: RFC 8259 exactly (no NaN, no comments, no trailing commas), UTF-8
 * checked, "\u0000" refused (PostgreSQL's jsonb cannot hold it), nesting at
 * most LP_JSCAN_MAX_DEPTH deep.
 *
 * Errors: a syntax error stops the scan; every later call fails too, and
 * lp_jscan_error() fills an lp_error (LP_E_MALFORMED, naming line, column and
 * byte offset). Type mismatches are the caller's to report (peek first).
 * The scanner borrows the text, which must outlive it and every span or
 * string it returns. Not thread-safe; one owner. */
#ifndef LOUPE_CORE_JSON_SCAN_H
#define LOUPE_CORE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"

#define LP_JSCAN_MAX_DEPTH 64

typedef enum lp_jtok {
    LP_JT_ERROR = -1, /* syntax error or end of input */
    LP_JT_NULL = 0,
    LP_JT_FALSE,
    LP_JT_TRUE,
    LP_JT_NUMBER,
    LP_JT_STRING,
    LP_JT_ARRAY,
    LP_JT_OBJECT
} lp_jtok;

typedef struct lp_jscan {
    const char *start, *p, *end;
    int depth;
    uint64_t first; /* bit d-1: the container at depth d has no element yet */
    bool failed;
    const char *fail_at;
    char why[96];
} lp_jscan;

/* A string as it appears in the text (between the quotes, escapes not
 * decoded) — cheap to compare with plain ASCII keys. */
typedef struct lp_jstr {
    const char *p;
    size_t n;
    bool escaped; /* contains a backslash escape */
} lp_jstr;

void lp_jscan_init(lp_jscan *s, const char *text, size_t len);

/* Kind of the next value (after whitespace), without consuming it. */
lp_jtok lp_jscan_peek(lp_jscan *s);

/* Objects: begin consumes '{'; next reads the next member's key and the ':'
 * (1), or the closing '}' (0), or fails (-1). Commas are handled here. */
int lp_jscan_object_begin(lp_jscan *s);
int lp_jscan_object_next(lp_jscan *s, lp_jstr *key);

/* Arrays: begin consumes '['; next returns 1 when an element follows (read
 * it, then call next again), 0 at ']', -1 on error. */
int lp_jscan_array_begin(lp_jscan *s);
int lp_jscan_array_next(lp_jscan *s);

/* Reads a number. *is_int (may be NULL) says it was written without a
 * fraction or exponent and fits int64 (*ival then holds it exactly).
 * A number too large for a double reads as ±HUGE_VAL (finite check is the
 * caller's). 0 or -1. */
int lp_jscan_number(lp_jscan *s, double *out, bool *is_int, int64_t *ival);

/* Reads a string, unescaped into a (NUL-terminated; *len may be NULL). 0 or -1
 * (syntax error, or LP_E_NOMEM — reported as "out of memory" by lp_jscan_error). */
int lp_jscan_string(lp_jscan *s, lp_arena *a, const char **out, size_t *len);

/* Reads true, false or null (*out: 1, 0, -1). 0 or -1. */
int lp_jscan_literal(lp_jscan *s, int *out);

/* Checks and skips one value of any kind; *span and *span_len (may be NULL)
 * receive its raw text. 0 or -1. */
int lp_jscan_skip(lp_jscan *s, const char **span, size_t *span_len);

/* 0 if only whitespace remains; -1 (and a syntax error) otherwise. */
int lp_jscan_finish(lp_jscan *s);

/* 1 if key is exactly the ASCII text lit (keys with escapes never match). */
bool lp_jstr_eq(const lp_jstr *key, const char *lit);

/* Decodes a key into a (NUL-terminated). NULL on out-of-memory. */
const char *lp_jstr_dup(const lp_jstr *key, lp_arena *a);

/* Fills err with the syntax error (LP_E_MALFORMED, "the request body is not
 * valid JSON: … at line L, column C (byte B)"). Returns -1. */
int lp_jscan_error(const lp_jscan *s, lp_error *err);

#endif
