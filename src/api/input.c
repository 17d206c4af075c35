/* Typed request input with field errors. See include/loupe/api/input.h. */
#include "loupe/api/input.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/util.h"
#include "loupe/crypto/encode.h"

#define MAX_CURSOR 1024

static const char *path_of(lp_req *req, const char *prefix, const char *name)
{
    const char *p = lp_arena_printf(req->arena, "%s%s", prefix ? prefix : "", name);
    return p ? p : name;
}

/* The member, or NULL when absent (and records "is required" when it must be there). */
static json_t *member(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, int *err)
{
    *err = 0;
    json_t *v = json_is_object(obj) ? json_object_get(obj, name) : NULL;
    if (!v || (json_is_null(v) && (flags & LP_IN_NULLABLE))) {
        if (!v && (flags & LP_IN_REQUIRED)) {
            lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "is required");
            *err = 1;
        }
        return NULL;
    }
    return v;
}

int lp_in_string(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, size_t max,
                 const char **out)
{
    if (!max)
        return lp_in_string_limit(req, obj, prefix, name, flags, (size_t)req->svc->cfg->string_max_length,
                                  "string_max_length", out);
    return lp_in_string_limit(req, obj, prefix, name, flags, max, NULL, out);
}

int lp_in_string_limit(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, size_t max,
                       const char *setting, const char **out)
{
    int e;
    json_t *v = member(req, obj, prefix, name, flags, &e);
    if (!v)
        return e ? -1 : 0;
    if (!json_is_string(v))
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "must be a string");
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len == 0)
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "must not be empty");
    if (len > max && setting)
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name),
                              "is %zu bytes long, over the limit of %zu (%s)", len, max, setting);
    if (len > max)
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "is %zu bytes long; the limit is %zu",
                              len, max);
    if (strlen(s) != len)
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "must not contain NUL characters");
    *out = s;
    return 0;
}

int lp_in_uuid(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, const char **out)
{
    int e;
    json_t *v = member(req, obj, prefix, name, flags, &e);
    if (!v)
        return e ? -1 : 0;
    if (!json_is_string(v) || !lp_is_uuid(json_string_value(v)))
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "must be a UUID");
    *out = json_string_value(v);
    return 0;
}

int lp_in_int(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, int64_t min, int64_t max,
              int64_t *out)
{
    int e;
    json_t *v = member(req, obj, prefix, name, flags, &e);
    if (!v)
        return e ? -1 : 0;
    if (!json_is_integer(v))
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "must be an integer");
    int64_t x = (int64_t)json_integer_value(v);
    if (x < min || x > max)
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name),
                              "must be between %lld and %lld", (long long)min, (long long)max);
    *out = x;
    return 0;
}

int lp_in_number(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, double min, double max,
                 double *out)
{
    int e;
    json_t *v = member(req, obj, prefix, name, flags, &e);
    if (!v)
        return e ? -1 : 0;
    if (!json_is_number(v))
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "must be a number");
    double x = json_number_value(v);
    if (!isfinite(x))
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "must be a finite number");
    if (x < min || x > max)
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "must be between %g and %g", min,
                              max);
    *out = x;
    return 0;
}

int lp_in_bool(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, int *out)
{
    int e;
    json_t *v = member(req, obj, prefix, name, flags, &e);
    if (!v)
        return e ? -1 : 0;
    if (!json_is_boolean(v))
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "must be true or false");
    *out = json_is_true(v);
    return 0;
}

int lp_in_enum(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, const char *const *choices,
               int *out)
{
    int e;
    json_t *v = member(req, obj, prefix, name, flags, &e);
    if (!v)
        return e ? -1 : 0;
    if (json_is_string(v)) {
        for (int i = 0; choices[i]; i++) {
            if (strcmp(json_string_value(v), choices[i]) == 0) {
                *out = i;
                return 0;
            }
        }
    }
    char list[512] = "";
    size_t n = 0;
    for (int i = 0; choices[i] && n < sizeof(list); i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", choices[i]);
    return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "must be one of: %s", list);
}

int lp_in_object(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, json_t **out)
{
    int e;
    json_t *v = member(req, obj, prefix, name, flags, &e);
    if (!v)
        return e ? -1 : 0;
    if (!json_is_object(v))
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "must be an object");
    *out = v;
    return 0;
}

int lp_in_array(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, size_t max_len,
                json_t **out)
{
    int e;
    json_t *v = member(req, obj, prefix, name, flags, &e);
    if (!v)
        return e ? -1 : 0;
    if (!json_is_array(v))
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "must be an array");
    if (max_len && json_array_size(v) > max_len)
        return lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, name), "has %zu elements; the limit is %zu",
                              json_array_size(v), max_len);
    *out = v;
    return 0;
}

int lp_in_only(lp_req *req, json_t *obj, const char *prefix, const char *const *allowed)
{
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(obj, key, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok)
            rc = lp_error_field(&req->err, LP_E_INVALID, path_of(req, prefix, key), "is not a known member");
    }
    return rc;
}

int lp_query_int(lp_req *req, const char *name, int64_t min, int64_t max, int64_t def, int64_t *out)
{
    const char *s = lp_req_query(req, name);
    if (!s) {
        *out = def;
        return 0;
    }
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return lp_error_field(&req->err, LP_E_MALFORMED, name, "must be an integer between %lld and %lld",
                              (long long)min, (long long)max);
    *out = v;
    return 0;
}

int lp_query_uuid(lp_req *req, const char *name, const char **out)
{
    const char *s = lp_req_query(req, name);
    *out = NULL;
    if (!s)
        return 0;
    if (!lp_is_uuid(s))
        return lp_error_field(&req->err, LP_E_MALFORMED, name, "must be a UUID");
    *out = s;
    return 0;
}

int lp_page_read(lp_req *req, lp_page *page)
{
    page->after_key = page->after_id = NULL;
    if (lp_query_int(req, "page[size]", 1, req->svc->cfg->page_size_max, 50, &page->size) != 0)
        return -1;
    const char *after = lp_req_query(req, "page[after]");
    if (!after)
        return 0;
    size_t len = strlen(after);
    uint8_t *raw = len <= MAX_CURSOR ? lp_arena_alloc(req->arena, len + 1) : NULL;
    long n = raw ? lp_base64url_decode(after, len, raw, len) : -1;
    const char *sep = n > 0 ? memchr(raw, 0x1f, (size_t)n) : NULL;
    if (!sep)
        return lp_error_field(&req->err, LP_E_MALFORMED, "page[after]", "is not a cursor from this list's next link");
    raw[n] = '\0';
    page->after_key = lp_arena_strndup(req->arena, (const char *)raw, (size_t)(sep - (const char *)raw));
    page->after_id = (const char *)sep + 1;
    if (!lp_is_uuid(page->after_id))
        return lp_error_field(&req->err, LP_E_MALFORMED, "page[after]", "is not a cursor from this list's next link");
    return 0;
}

int lp_page_read_checked(lp_req *req, lp_page *page, int (*key_ok)(const char *key))
{
    if (lp_page_read(req, page) != 0)
        return -1;
    if (page->after_key && key_ok && !key_ok(page->after_key))
        return lp_error_field(&req->err, LP_E_MALFORMED, "page[after]", "is not a cursor from this list's next link");
    return 0;
}

const char *lp_page_cursor(lp_req *req, const char *key, const char *id)
{
    char *raw = lp_arena_printf(req->arena, "%s\x1f%s", key ? key : "", id);
    if (!raw)
        return NULL;
    size_t cap = lp_base64url_len(strlen(raw)) + 1;
    char *out = lp_arena_alloc(req->arena, cap);
    if (!out || lp_base64url_encode(raw, strlen(raw), out, cap) < 0)
        return NULL;
    return out;
}

typedef struct next_ctx {
    lp_req *req;
    char *url;
} next_ctx;

static void url_escape(lp_req *req, char **acc, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *e = lp_arena_alloc(req->arena, 3 * n + 1), *p = e;
    if (!e)
        return;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
            *c == '_' || *c == '.' || *c == '~') {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    *p = '\0';
    *acc = lp_arena_printf(req->arena, "%s%s", *acc, e);
}

static int add_param(void *cls, const char *key, const char *value)
{
    next_ctx *c = cls;
    if (strcmp(key, "page[after]") == 0 || !c->url)
        return 0;
    c->url = lp_arena_printf(c->req->arena, "%s%s", c->url, strchr(c->url, '?') ? "&" : "?");
    url_escape(c->req, &c->url, key);
    c->url = lp_arena_printf(c->req->arena, "%s=", c->url);
    url_escape(c->req, &c->url, value);
    return 0;
}

int lp_page_set_next(lp_req *req, json_t *doc, const char *cursor)
{
    if (!cursor)
        return json_object_set_new(doc, "next", json_null());
    next_ctx c = {req, lp_arena_printf(req->arena, "%s", req->path)};
    lp_req_query_each(req, add_param, &c);
    if (c.url) {
        c.url = lp_arena_printf(req->arena, "%s%spage%%5Bafter%%5D=", c.url, strchr(c.url, '?') ? "&" : "?");
        url_escape(req, &c.url, cursor);
    }
    if (!c.url)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    return json_object_set_new(doc, "next", json_string(c.url));
}
