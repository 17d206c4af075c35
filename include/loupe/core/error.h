/* One error convention for the whole code base.
 *
 * Functions that can fail return int (0 = ok, -1 = failed) or a pointer (NULL
 * = failed) and fill a caller-owned lp_error: a code, a message saying what
 * failed and on which object, an optional detail and hint (PostgreSQL's
 * message style), and up to LP_ERROR_MAX_FIELDS field errors naming the
 * offending input ("polygon.paths[0][3].x"). One table (error.c) maps codes
 * to HTTP statuses and problem+json titles; nothing else decides a status. */
#ifndef LOUPE_CORE_ERROR_H
#define LOUPE_CORE_ERROR_H

#include <stdarg.h>
#include <stddef.h>

typedef enum lp_code {
    LP_OK = 0,
    LP_E_MALFORMED,       /* 400: syntax: bad JSON, bad query parameter */
    LP_E_UNAUTHENTICATED, /* 401 */
    LP_E_FORBIDDEN,       /* 403: authenticated, role too low, bad signature */
    LP_E_NOT_FOUND,       /* 404: includes another team's object */
    LP_E_METHOD,          /* 405 */
    LP_E_CONFLICT,        /* 409: unique violation, wrong state */
    LP_E_GONE,            /* 410 */
    LP_E_PRECONDITION,    /* 412: stale If-Match */
    LP_E_TOO_LARGE,       /* 413: body or upload over its limit */
    LP_E_MEDIA_TYPE,      /* 415 */
    LP_E_RANGE,           /* 416 */
    LP_E_INVALID,         /* 422: well-formed but semantically wrong */
    LP_E_PRECONDITION_REQUIRED, /* 428 */
    LP_E_RATE_LIMITED,    /* 429 */
    LP_E_URI_TOO_LONG,    /* 414: request target over http_max_url_bytes */
    LP_E_HEADERS_TOO_LARGE, /* 431: header section over http_max_header_bytes */
    LP_E_INTERNAL,        /* 500: a bug or an unexpected library failure */
    LP_E_UNAVAILABLE,     /* 503: pool exhausted, database or broker down */
    LP_E_TIMEOUT,         /* 504 */
    LP_E_NOMEM,           /* 503: out of memory (transient) */
    LP_E_IO,              /* 500: storage or filesystem failure */
    LP_E_NO_SPACE,        /* 507: the storage is full (ENOSPC, EDQUOT) */
    LP_CODE_COUNT
} lp_code;

#define LP_ERROR_MAX_FIELDS 16

typedef struct lp_field_error {
    char field[128];
    char message[256];
} lp_field_error;

typedef struct lp_error {
    lp_code code;
    char message[256]; /* what failed; a sentence a person can act on */
    char detail[512];  /* optional: specifics */
    char hint[256];    /* optional: what to do about it */
    size_t nfields;    /* field errors kept (at most LP_ERROR_MAX_FIELDS) */
    size_t nfields_dropped;
    lp_field_error fields[LP_ERROR_MAX_FIELDS];
} lp_error;

/* Resets e to LP_OK with empty strings. NULL is a no-op. */
void lp_error_clear(lp_error *e);

/* Sets code and message (printf). Returns -1 so callers can
 * `return lp_error_set(err, LP_E_INVALID, "…")`. e may be NULL. */
int lp_error_set(lp_error *e, lp_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int lp_error_vset(lp_error *e, lp_code code, const char *fmt, va_list ap);

/* Sets detail / hint of an error already set. Return -1. */
int lp_error_detail(lp_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int lp_error_hint(lp_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Adds a field error. If e has no code yet, sets code and uses the field
 * message as the message too. Returns -1. */
int lp_error_field(lp_error *e, lp_code code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes every field name added after mark with prefix (e.g. "create[3].")
 * — lets a validator report relative names that callers anchor. */
void lp_error_prefix_fields(lp_error *e, size_t mark, const char *prefix);

/* The table. Unknown codes map as LP_E_INTERNAL. */
int lp_code_http_status(lp_code code);
const char *lp_code_name(lp_code code);  /* "invalid", "not_found", … (problem type slug) */
/* The code whose lp_code_name is name (an error carried in a message from another process);
 * LP_E_INTERNAL for NULL, "ok" or a name no code has. */
lp_code lp_code_from_name(const char *name);
const char *lp_code_title(lp_code code); /* "Unprocessable content", … */

#endif
