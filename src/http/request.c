/* Request accessors and response builders for handlers. See request.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http_int.h"
#include "loupe/core/log.h"

const char *lp_req_param(const lp_req *req, const char *name)
{
    const lp_route_match *m = &req->in->match;
    size_t nl = strlen(name);
    for (size_t i = 0; i < m->nparams; i++) {
        if (m->name_lens[i] == nl && memcmp(m->names[i], name, nl) == 0)
            return req->in->params[i];
    }
    return NULL;
}

const char *lp_req_query(const lp_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->in->conn, MHD_GET_ARGUMENT_KIND, name);
}

void lp_req_client_address(const lp_req *req, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->in->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (cap)
        out[0] = '\0';
    if (!sa || cap == 0)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
}

size_t lp_http_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    char *w = s;
    (void)cls;
    (void)conn;
    for (const char *r = s; *r; r++) {
        char hex[3] = {r[0] == '%' ? r[1] : 0, r[1] ? r[2] : 0, 0};
        long byte = isxdigit((unsigned char)hex[0]) && isxdigit((unsigned char)hex[1]) ? strtol(hex, NULL, 16) : 0;
        if (byte != 0) {
            *w++ = (char)byte;
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

typedef struct query_iter {
    int (*fn)(void *cls, const char *key, const char *value);
    void *cls;
    int stopped;
} query_iter;

static enum MHD_Result query_visit(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    query_iter *it = cls;
    if (it->fn(it->cls, key, value ? value : "") != 0) {
        it->stopped = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

int lp_req_query_each(const lp_req *req, int (*fn)(void *cls, const char *key, const char *value), void *cls)
{
    query_iter it = {fn, cls, 0};
    MHD_get_connection_values(req->in->conn, MHD_GET_ARGUMENT_KIND, query_visit, &it);
    return it.stopped;
}

const char *lp_req_header(const lp_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->in->conn, MHD_HEADER_KIND, name);
}

const char *lp_req_cookie(const lp_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->in->conn, MHD_COOKIE_KIND, name);
}

int lp_http_is_json_type(const char *ct)
{
    if (!ct)
        return 0;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    /* application/<anything>+json, e.g. application/merge-patch+json */
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

json_t *lp_req_json(lp_req *req, int want_object)
{
    if (req->in->json)
        return req->in->json;
    if (!lp_http_is_json_type(lp_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        lp_error_set(&req->err, LP_E_MEDIA_TYPE, "the request body must be JSON");
        lp_error_hint(&req->err, "send the header Content-Type: application/json");
        return NULL;
    }
    if (!req->body || req->body_len == 0) {
        lp_error_set(&req->err, LP_E_MALFORMED, "the request body is empty; this endpoint expects a JSON object");
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        lp_error_set(&req->err, LP_E_MALFORMED, "the request body is not valid JSON: %s at line %d, column %d (byte %d)",
                     jerr.text, jerr.line, jerr.column, jerr.position);
        lp_error_field(&req->err, LP_E_MALFORMED, "body", "%s at line %d, column %d (byte %d)", jerr.text, jerr.line,
                       jerr.column, jerr.position);
        return NULL;
    }
    if (want_object && !json_is_object(j)) {
        json_decref(j);
        lp_error_field(&req->err, LP_E_INVALID, "body", "must be a JSON object");
        return NULL;
    }
    req->in->json = j;
    return j;
}

int lp_req_stream_body(lp_req *req, const lp_body_sink *sink)
{
    if (!req->route || req->route->body != LP_BODY_STREAM)
        return lp_error_set(&req->err, LP_E_INTERNAL, "a streamed body on a route that does not declare one");
    req->in->sink = *sink;
    req->in->has_sink = 1;
    return 0;
}

int lp_req_require(lp_req *req, lp_perm perm)
{
    if (perm == LP_PERM_PUBLIC || (req->who.authenticated && (req->who.perms & LP_PERM_BIT(perm))))
        return 0;
    if (!req->who.authenticated)
        return lp_error_set(&req->err, LP_E_UNAUTHENTICATED, "authentication required");
    lp_error_set(&req->err, LP_E_FORBIDDEN, "your role (%s) may not do this",
                 req->who.role_name ? req->who.role_name : "none");
    return -1;
}

/* ---- the request's database connection ----------------------------------- */

struct lp_db *lp_req_db(lp_req *req)
{
    struct lp_req_internal *in = req->in;
    if (in->db)
        return in->db;
    if (!req->svc->db_acquire) {
        lp_error_set(&req->err, LP_E_UNAVAILABLE, "no database is configured");
        return NULL;
    }
    in->db = req->svc->db_acquire(req->svc->db, &req->err);
    return in->db;
}

struct lp_db *lp_req_db_read(lp_req *req)
{
    struct lp_req_internal *in = req->in;
    lp_error err;

    if (in->db_read)
        return in->db_read;
    if (req->svc->db_read && req->svc->db_read_acquire) {
        lp_error_clear(&err);
        if ((in->db_read = req->svc->db_read_acquire(req->svc->db_read, &err)))
            return in->db_read;
    }
    return lp_req_db(req);
}

void lp_req_db_release(lp_req *req)
{
    struct lp_req_internal *in = req->in;
    if (in->db && req->svc->db_release)
        req->svc->db_release(in->db);
    if (in->db_read && req->svc->db_release)
        req->svc->db_release(in->db_read);
    in->db = NULL;
    in->db_read = NULL;
}

struct lp_db *lp_req_db_take(lp_req *req)
{
    struct lp_db *db = lp_req_db(req);
    req->in->db = NULL;
    return db;
}

static int set_response(lp_req *req, int status, struct MHD_Response *r, const char *content_type)
{
    if (!r)
        return lp_error_set(&req->err, LP_E_NOMEM, "could not build the response");
    if (req->in->response)
        MHD_destroy_response(req->in->response);
    req->in->response = r;
    req->in->status = status;
    if (content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    return 0;
}

int lp_res_json(lp_req *req, int status, json_t *body)
{
    if (!body)
        return lp_res_empty(req, status);
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (!text)
        return lp_error_set(&req->err, LP_E_NOMEM, "could not encode the response");
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r)
        free(text);
    return set_response(req, status, r, "application/json");
}

int lp_res_empty(lp_req *req, int status)
{
    return set_response(req, status, MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT), NULL);
}

int lp_res_bytes(lp_req *req, int status, const char *content_type, const void *data, size_t len)
{
    return set_response(req, status, MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY),
                        content_type);
}

int lp_res_fd(lp_req *req, int status, const char *content_type, int fd, uint64_t offset, uint64_t len)
{
    struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(len, fd, offset);
    if (!r)
        close(fd);
    return set_response(req, status, r, content_type);
}

typedef struct stream_cls {
    lp_stream_fn fn;
    void *cls;
    void (*free_fn)(void *);
} stream_cls;

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_cls *s = cls;
    ssize_t n = s->fn(s->cls, pos, buf, max);
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void stream_free(void *cls)
{
    stream_cls *s = cls;
    if (s->free_fn)
        s->free_fn(s->cls);
    free(s);
}

int lp_res_stream(lp_req *req, int status, const char *content_type, lp_stream_fn fn, void *cls,
                  void (*free_fn)(void *cls))
{
    stream_cls *s = malloc(sizeof(*s));
    if (!s) {
        if (free_fn)
            free_fn(cls);
        return lp_error_set(&req->err, LP_E_NOMEM, "could not build the response");
    }
    s->fn = fn;
    s->cls = cls;
    s->free_fn = free_fn;
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_reader, s, stream_free);
    if (!r) {
        stream_free(s);
        return lp_error_set(&req->err, LP_E_NOMEM, "could not build the response");
    }
    return set_response(req, status, r, content_type);
}

int lp_res_redirect(lp_req *req, int status, const char *location)
{
    if (lp_res_empty(req, status) != 0)
        return -1;
    return lp_res_header(req, MHD_HTTP_HEADER_LOCATION, location);
}

int lp_res_header(lp_req *req, const char *name, const char *value)
{
    res_header *h = lp_arena_alloc(req->arena, sizeof(*h));
    if (!h || !(h->name = lp_arena_strdup(req->arena, name)) || !(h->value = lp_arena_strdup(req->arena, value)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    /* header values must not be able to split the response */
    if (strpbrk(h->value, "\r\n") || strpbrk(h->name, "\r\n: "))
        return lp_error_set(&req->err, LP_E_INTERNAL, "refusing a response header with a line break");
    h->next = req->in->headers;
    req->in->headers = h;
    return 0;
}
