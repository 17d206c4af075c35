/* The error table and lp_error helpers. See error.h. */
#include "loupe/core/error.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int status;
    const char *title;
} code_table[LP_CODE_COUNT] = {
    [LP_OK] = {"ok", 200, "OK"},
    [LP_E_MALFORMED] = {"malformed", 400, "Malformed request"},
    [LP_E_UNAUTHENTICATED] = {"unauthenticated", 401, "Authentication required"},
    [LP_E_FORBIDDEN] = {"forbidden", 403, "Forbidden"},
    [LP_E_NOT_FOUND] = {"not_found", 404, "Not found"},
    [LP_E_METHOD] = {"method_not_allowed", 405, "Method not allowed"},
    [LP_E_CONFLICT] = {"conflict", 409, "Conflict"},
    [LP_E_GONE] = {"gone", 410, "Gone"},
    [LP_E_PRECONDITION] = {"precondition_failed", 412, "Precondition failed"},
    [LP_E_TOO_LARGE] = {"too_large", 413, "Content too large"},
    [LP_E_MEDIA_TYPE] = {"unsupported_media_type", 415, "Unsupported media type"},
    [LP_E_RANGE] = {"range_not_satisfiable", 416, "Range not satisfiable"},
    [LP_E_INVALID] = {"invalid", 422, "Unprocessable content"},
    [LP_E_PRECONDITION_REQUIRED] = {"precondition_required", 428, "Precondition required"},
    [LP_E_RATE_LIMITED] = {"rate_limited", 429, "Too many requests"},
    [LP_E_URI_TOO_LONG] = {"uri_too_long", 414, "URI too long"},
    [LP_E_HEADERS_TOO_LARGE] = {"headers_too_large", 431, "Request header fields too large"},
    [LP_E_INTERNAL] = {"internal", 500, "Internal error"},
    [LP_E_UNAVAILABLE] = {"unavailable", 503, "Service unavailable"},
    [LP_E_TIMEOUT] = {"timeout", 504, "Timed out"},
    [LP_E_NOMEM] = {"out_of_memory", 503, "Out of memory"},
    [LP_E_IO] = {"io", 500, "Storage failure"},
    [LP_E_NO_SPACE] = {"insufficient_storage", 507, "Insufficient storage"},
};

static lp_code known(lp_code c)
{
    return ((unsigned)c < LP_CODE_COUNT) ? c : LP_E_INTERNAL;
}

int lp_code_http_status(lp_code code) { return code_table[known(code)].status; }
const char *lp_code_name(lp_code code) { return code_table[known(code)].name; }
const char *lp_code_title(lp_code code) { return code_table[known(code)].title; }

lp_code lp_code_from_name(const char *name)
{
    for (int c = LP_OK + 1; name && c < LP_CODE_COUNT; c++)
        if (code_table[c].name && strcmp(code_table[c].name, name) == 0)
            return (lp_code)c;
    return LP_E_INTERNAL;
}

void lp_error_clear(lp_error *e)
{
    if (!e)
        return;
    e->code = LP_OK;
    e->message[0] = e->detail[0] = e->hint[0] = '\0';
    e->nfields = e->nfields_dropped = 0;
}

int lp_error_vset(lp_error *e, lp_code code, const char *fmt, va_list ap)
{
    if (!e)
        return -1;
    e->code = code;
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    return -1;
}

int lp_error_set(lp_error *e, lp_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lp_error_vset(e, code, fmt, ap);
    va_end(ap);
    return -1;
}

int lp_error_detail(lp_error *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
    va_end(ap);
    return -1;
}

int lp_error_hint(lp_error *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->hint, sizeof(e->hint), fmt, ap);
    va_end(ap);
    return -1;
}

/* Writes a, sep and b into out (cap bytes), cut at cap: a summary line or a
 * field path may be shortened, never overrun. */
static void join(char *out, size_t cap, const char *a, const char *sep, const char *b)
{
    const char *parts[3] = {a, sep, b};
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        for (const char *p = parts[i]; *p && n + 1 < cap; p++)
            out[n++] = *p;
    out[n] = '\0';
}

int lp_error_field(lp_error *e, lp_code code, const char *field, const char *fmt, ...)
{
    if (!e)
        return -1;
    char msg[sizeof(e->fields[0].message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (e->code == LP_OK) {
        e->code = code;
        join(e->message, sizeof(e->message), field ? field : "", ": ", msg);
    }
    if (e->nfields >= LP_ERROR_MAX_FIELDS) {
        e->nfields_dropped++;
        return -1;
    }
    lp_field_error *f = &e->fields[e->nfields++];
    snprintf(f->field, sizeof(f->field), "%s", field ? field : "");
    memcpy(f->message, msg, sizeof(msg));
    return -1;
}

void lp_error_prefix_fields(lp_error *e, size_t mark, const char *prefix)
{
    if (!e || !prefix)
        return;
    for (size_t i = mark; i < e->nfields; i++) {
        char tmp[sizeof(e->fields[i].field)];
        join(tmp, sizeof(tmp), prefix, "", e->fields[i].field);
        memcpy(e->fields[i].field, tmp, sizeof(tmp));
    }
    if (mark == 0 && e->nfields > 0) {
        join(e->message, sizeof(e->message), e->fields[0].field, ": ", e->fields[0].message);
    }
}
