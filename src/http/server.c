/* The HTTP server on libmicrohttpd. See server.h for the thread model.
 *
 * A request goes through on_request three ways:
 *   1. headers in  — create the lp_req (arena, id); refuse bad framing
 *                    (Content-Length with Transfer-Encoding: 400 and close),
 *                    an over-long target (414) or header section (431);
 *                    match the route, check the declared Content-Length
 *                    against the route's body limit and a JSON route's
 *                    Content-Type (one rule: 415);
 *   2. body chunks — append to the bounded body buffer (or note it is too big);
 *   3. body done   — authenticate, check the route's permission, run the
 *                    handler, and queue its response or its problem+json.
 * A handler (or a streamed body's end) may instead suspend the request
 * (lp_req_suspend): the connection is suspended, start hands the request to
 * a finisher, and lp_req_resume from the finisher's thread resumes it; the
 * library then calls on_request once more, which answers.
 * on_completed records metrics and the access log and frees everything. */
#include "loupe/http/server.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_int.h"
#include "loupe/core/log.h"
#include "loupe/core/trace.h"
#include "loupe/core/util.h"
#include "loupe/http/metrics.h"

struct lp_http_server {
    struct MHD_Daemon *daemon;
    const lp_services *svc;
    const lp_route *routes;
    size_t nroutes;
    uint16_t port;
    atomic_long in_flight;
    atomic_uint_fast64_t next_id;
    char id_prefix[9];
    pthread_mutex_t idle_mu;
    pthread_cond_t idle_cv;
    /* requests suspended and not yet resumed; lp_req_resume resumes under susp_mu, so that
     * lp_http_server_stop, waiting here for none, never stops the daemon in the middle of one */
    long suspended;
    pthread_mutex_t susp_mu;
    pthread_cond_t susp_cv;
};

static size_t body_limit(const lp_http_server *srv, lp_body_kind kind)
{
    const lp_config *cfg = srv->svc->cfg;
    switch (kind) {
    case LP_BODY_JSON: return (size_t)cfg->http_body_limit;
    case LP_BODY_BULK: return (size_t)cfg->http_bulk_body_limit;
    case LP_BODY_STREAM: return (size_t)cfg->upload_max_bytes;
    default: return 0;
    }
}

static int valid_request_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 36)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_' ||
              c == '.'))
            return 0;
    }
    return 1;
}

/* Each pool thread keeps one spare arena so a request does not pay for a
 * fresh block (a connection's callbacks all run on the thread that owns it). */
static pthread_key_t spare_arena_key;
static pthread_once_t spare_arena_once = PTHREAD_ONCE_INIT;

static void spare_arena_free(void *a) { lp_arena_free(a); }
static void spare_arena_init(void) { pthread_key_create(&spare_arena_key, spare_arena_free); }

static lp_arena *arena_take(const lp_http_server *srv)
{
    pthread_once(&spare_arena_once, spare_arena_init);
    lp_arena *a = pthread_getspecific(spare_arena_key);
    if (a) {
        pthread_setspecific(spare_arena_key, NULL);
        return a;
    }
    return lp_arena_new(16 * 1024, (size_t)srv->svc->cfg->http_arena_limit);
}

static void arena_give_back(lp_arena *a)
{
    if (!pthread_getspecific(spare_arena_key)) {
        lp_arena_reset(a);
        pthread_setspecific(spare_arena_key, a);
    } else {
        lp_arena_free(a);
    }
}

/* The request's log context on this thread: its id and its trace. */
static void log_enter(const lp_req *req)
{
    lp_log_set_context(req->request_id);
    lp_trace_set_current(&req->trace);
}

static void log_leave(void)
{
    lp_log_set_context(NULL);
    lp_trace_set_current(NULL);
}

static lp_req *req_new(lp_http_server *srv, struct MHD_Connection *conn, const char *url, const char *method)
{
    lp_arena *arena = arena_take(srv);
    if (!arena)
        return NULL;
    lp_req *req = lp_arena_calloc(arena, 1, sizeof(*req));
    struct lp_req_internal *in = lp_arena_calloc(arena, 1, sizeof(*in));
    if (!req || !in) {
        lp_arena_free(arena);
        return NULL;
    }
    req->arena = arena;
    req->svc = srv->svc;
    req->in = in;
    req->method = method;
    req->path = url;
    in->conn = conn;
    in->srv = srv;
    in->start_us = lp_now_mono_us();
    lp_buf_init(&in->body, 0);
    const char *given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (valid_request_id(given))
        lp_strlcpy(req->request_id, given, sizeof(req->request_id));
    else
        snprintf(req->request_id, sizeof(req->request_id), "%s%016" PRIxFAST64, srv->id_prefix,
                 atomic_fetch_add_explicit(&srv->next_id, 1, memory_order_relaxed));
    /* W3C trace context: continue the caller's trace with a span of our
     * own, or start one when the header is absent or invalid. */
    lp_trace parent;
    lp_trace_parse(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "traceparent"), &parent);
    lp_trace_child(&parent, &req->trace);
    atomic_fetch_add(&srv->in_flight, 1);
    return req;
}

json_t *lp_http_problem(const lp_error *err, const char *instance)
{
    lp_code code = err->code == LP_OK ? LP_E_INTERNAL : err->code;
    int status = lp_code_http_status(code);
    char type[96];
    snprintf(type, sizeof(type), "urn:loupe:problem:%s", lp_code_name(code));
    json_t *p = json_pack("{s:s, s:s, s:i}", "type", type, "title", lp_code_title(code), "status", status);
    if (!p)
        return NULL;
    const char *msg = err->message[0] ? err->message : lp_code_title(code);
    if (err->detail[0]) {
        char both[sizeof(err->message) + sizeof(err->detail) + 4];
        snprintf(both, sizeof(both), "%s. %s", msg, err->detail);
        json_object_set_new(p, "detail", json_string(both));
    } else {
        json_object_set_new(p, "detail", json_string(msg));
    }
    if (err->hint[0])
        json_object_set_new(p, "hint", json_string(err->hint));
    if (instance)
        json_object_set_new(p, "instance", json_string(instance));
    json_t *errors = json_array();
    for (size_t i = 0; i < err->nfields; i++)
        json_array_append_new(errors, json_pack("{s:s, s:s}", "field", err->fields[i].field, "message",
                                                err->fields[i].message));
    json_object_set_new(p, "errors", errors);
    if (err->nfields_dropped)
        json_object_set_new(p, "errors_omitted", json_integer((json_int_t)err->nfields_dropped));
    return p;
}

/* Replaces whatever response the handler built with the problem for req->err. */
/* Runs a streamed body's cleanup once: early, before a failed upload is
 * answered, or when the request is done. */
static void sink_release(struct lp_req_internal *in)
{
    if (in->has_sink && in->sink.cleanup)
        in->sink.cleanup(in->sink.cls);
    in->sink.cleanup = NULL;
}

static void respond_problem(lp_req *req)
{
    struct lp_req_internal *in = req->in;
    if (req->err.code == LP_OK)
        lp_error_set(&req->err, LP_E_INTERNAL, "the handler failed without saying why");
    int status = lp_code_http_status(req->err.code);
    if (status >= 500)
        LP_ERROR("http", "%s %s failed: %s %s", req->method, req->path, req->err.message, req->err.detail);
    json_t *p = lp_http_problem(&req->err, req->path);
    char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (in->response) {
        MHD_destroy_response(in->response);
        in->response = NULL;
    }
    if (text)
        in->response = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    else
        in->response = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    in->status = status;
    if (in->response)
        MHD_add_response_header(in->response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
    if (req->err.code == LP_E_UNAUTHENTICATED && in->response)
        MHD_add_response_header(in->response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "ApiKey realm=\"loupe\"");
}

/* Seconds a client is told to wait before retrying a 503 whose handler named no wait of its own:
 * a database or broker restart, the usual cause, is over in about that time. */
#define RETRY_AFTER_DEFAULT "1"

static int has_header(const res_header *h, const char *name)
{
    for (; h; h = h->next)
        if (strcasecmp(h->name, name) == 0)
            return 1;
    return 0;
}

static enum MHD_Result queue(lp_req *req)
{
    struct lp_req_internal *in = req->in;
    if (!in->response) {
        lp_error_set(&req->err, LP_E_INTERNAL, "the handler returned without a response");
        respond_problem(req);
        if (!in->response)
            return MHD_NO;
    }
    MHD_add_response_header(in->response, "X-Request-Id", req->request_id);
    char traceparent[LP_TRACEPARENT_LEN + 1];
    if (lp_trace_format(&req->trace, traceparent) == 0)
        MHD_add_response_header(in->response, "traceparent", traceparent);
    MHD_add_response_header(in->response, "X-Content-Type-Options", "nosniff");
    for (res_header *h = in->headers; h; h = h->next)
        MHD_add_response_header(in->response, h->name, h->value);
    if (!has_header(in->headers, MHD_HTTP_HEADER_CACHE_CONTROL))
        MHD_add_response_header(in->response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* A 503 is always temporary (the database, the broker or the storage is away, the pool
     * is busy): say when to try again unless the handler said it already. */
    if (in->status == MHD_HTTP_SERVICE_UNAVAILABLE && !has_header(in->headers, MHD_HTTP_HEADER_RETRY_AFTER))
        MHD_add_response_header(in->response, MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER_DEFAULT);
    if (in->close)
        MHD_add_response_header(in->response, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result r = MHD_queue_response(in->conn, (unsigned)in->status, in->response);
    MHD_destroy_response(in->response);
    in->response = NULL;
    return r;
}

/* Authenticates (through the application's service), checks the route's
 * permission and runs the handler; then the handler's turn is over and the
 * request's database connection, if any, goes back to the pool. */
static void dispatch(lp_req *req)
{
    const lp_route *route = req->route;
    const lp_services *svc = req->svc;
    log_enter(req);
    memset(&req->who, 0, sizeof req->who);
    if (route->perm != LP_PERM_PUBLIC) {
        if (!svc->authenticate) {
            lp_error_set(&req->err, LP_E_INTERNAL, "no authentication service is configured");
            req->in->failed = 1;
        } else if (svc->authenticate(svc->auth, req) != 0 || lp_req_require(req, route->perm) != 0) {
            req->in->failed = 1;
        }
    }
    if (!req->in->failed) {
        lp_error_clear(&req->err);
        if (route->handler(req) != 0)
            req->in->failed = 1;
    }
    lp_req_db_release(req);
}

void lp_req_suspend(lp_req *req, int (*start)(lp_req *req, void *cls), void *cls)
{
    req->in->suspend_start = start;
    req->in->suspend_cls = cls;
}

void lp_req_enter(const lp_req *req) { log_enter(req); }

void lp_req_resume(lp_req *req, int rc)
{
    struct lp_req_internal *in = req->in;
    lp_http_server *srv = in->srv;
    struct MHD_Connection *conn = in->conn;
    if (rc != 0)
        in->failed = 1;
    lp_req_db_release(req); /* the finisher's turn is over as a handler's is */
    log_leave();
    /* req is the connection's HTTP thread's again once resumed: touch nothing of it below */
    pthread_mutex_lock(&srv->susp_mu);
    MHD_resume_connection(conn);
    srv->suspended--;
    pthread_cond_broadcast(&srv->susp_cv);
    pthread_mutex_unlock(&srv->susp_mu);
}

/* The handler's turn is over and it asked to answer later: suspends the
 * connection and hands the request to its finisher (lp_req_suspend). */
static enum MHD_Result suspend(lp_req *req)
{
    struct lp_req_internal *in = req->in;
    lp_http_server *srv = in->srv;
    int (*start)(lp_req *, void *) = in->suspend_start;
    in->suspend_start = NULL;
    in->suspended = 1;
    pthread_mutex_lock(&srv->susp_mu);
    srv->suspended++;
    pthread_mutex_unlock(&srv->susp_mu);
    MHD_suspend_connection(in->conn);
    log_leave();
    if (start(req, in->suspend_cls) != 0) {
        if (req->err.code == LP_OK)
            lp_error_set(&req->err, LP_E_INTERNAL, "the request could not be handed over to be answered later");
        lp_req_resume(req, -1);
    }
    return MHD_YES;
}

typedef struct header_size {
    size_t bytes;
} header_size;

/* Adds one name/value pair's size to a header_size. */
static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    header_size *h = cls;
    (void)kind;
    h->bytes += strlen(key) + (value ? strlen(value) : 0) + 4; /* "key: value\r\n" */
    return MHD_YES;
}

/* What one pass over the request's header fields finds for check_framing. */
typedef struct header_scan {
    header_size size;
    const char *bad_name;       /* a field name that is not a token (borrowed) */
    const char *content_length; /* the first Content-Length value (borrowed) */
    int conflicting_lengths;    /* another Content-Length with a different value */
} header_scan;

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    header_scan *h = cls;
    add_header_size(&h->size, kind, key, value);
    if (!h->bad_name && !lp_is_token(key))
        h->bad_name = key;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (!h->content_length)
            h->content_length = value ? value : "";
        else if (strcmp(h->content_length, value ? value : "") != 0)
            h->conflicting_lengths = 1;
    }
    return MHD_YES;
}

/* The framing and size rules every request meets before its route is looked
 * at (RFC 9112): 0, or -1 with req->err set and the connection marked to be
 * closed when the rest of the stream cannot be trusted.
 *
 * A Content-Length that is not a decimal number never gets here: the library
 * answers it (400, or 413 for a number past 64 bits) and closes the connection
 * before any callback runs. What it lets through and we refuse: a field name
 * that is not a token ("Content-Length :5", a folded line), which the library
 * keeps under a name no one reads so that the body would run as the next
 * request, and Content-Length fields that disagree (it reads the first). */
static int check_framing(lp_req *req, struct MHD_Connection *conn, const char *url)
{
    const lp_config *cfg = req->svc->cfg;
    struct lp_req_internal *in = req->in;
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    header_scan h = {0};
    header_size target = {strlen(url)};

    MHD_get_connection_values(conn, MHD_HEADER_KIND, scan_header, &h);
    if (h.bad_name) {
        /* RFC 9112 §5.1: whitespace between a field name and its colon
         * MUST be refused with 400; the connection cannot be trusted after. */
        in->close = 1;
        lp_error_set(&req->err, LP_E_MALFORMED, "a request header name is not a token");
        return lp_error_hint(&req->err, "no space or tab between a header name and its colon, no folded lines "
                                        "(RFC 9112 §5.1)");
    }
    if (h.conflicting_lengths) {
        in->close = 1;
        lp_error_set(&req->err, LP_E_MALFORMED, "the request has Content-Length fields with different values");
        return lp_error_hint(&req->err, "send one Content-Length (RFC 9112 §6.3)");
    }
    if (te && h.content_length) {
        /* RFC 9112 §6.1: a request with both may be an attempt at request
         * smuggling; answer 400 and close the connection. */
        in->close = 1;
        lp_error_set(&req->err, LP_E_MALFORMED, "the request has both Content-Length and Transfer-Encoding");
        return lp_error_hint(&req->err, "send one of them (RFC 9112 §6.1)");
    }
    /* the target as decoded: path, then each query parameter ("k=v&") */
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_header_size, &target);
    if (target.bytes > (size_t)cfg->http_max_url_bytes) {
        in->close = 1;
        return lp_error_set(&req->err, LP_E_URI_TOO_LONG,
                            "the request target is %zu bytes; the limit is %lld (http_max_url_bytes)", target.bytes,
                            (long long)cfg->http_max_url_bytes);
    }
    if (h.size.bytes > (size_t)cfg->http_max_header_bytes) {
        in->close = 1;
        return lp_error_set(&req->err, LP_E_HEADERS_TOO_LARGE,
                            "the request headers are %zu bytes; the limit is %lld (http_max_header_bytes)",
                            h.size.bytes, (long long)cfg->http_max_header_bytes);
    }
    return 0;
}

/* One rule for every route that takes a JSON body (JSON and BULK): a body is
 * application/json or application/<something>+json, nothing else. */
static int check_body_type(lp_req *req, struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    lp_body_kind kind = req->route->body;
    if (kind != LP_BODY_JSON && kind != LP_BODY_BULK)
        return 0;
    if (!te && (!cl || strtoull(cl, NULL, 10) == 0))
        return 0; /* no body: the handler decides whether it needs one */
    if (lp_http_is_json_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
        return 0;
    lp_error_set(&req->err, LP_E_MEDIA_TYPE, "the request body must be JSON");
    return lp_error_hint(&req->err, "send the header Content-Type: application/json");
}

/* The matched route's path parameters as NUL-terminated arena strings, made
 * once here so that lp_req_param never allocates: an out-of-memory would
 * otherwise read as an absent parameter (a 404 instead of a 503). */
static int copy_params(lp_req *req)
{
    struct lp_req_internal *in = req->in;
    for (size_t i = 0; i < in->match.nparams; i++) {
        if (!(in->params[i] = lp_arena_strndup(req->arena, in->match.values[i], in->match.value_lens[i])))
            return lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading the request path");
    }
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    lp_http_server *srv = cls;
    lp_req *req = *con_cls;
    if (!req) {
        req = req_new(srv, conn, url, method);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        struct lp_req_internal *in = req->in;
        char allow[96];
        if (check_framing(req, conn, url) != 0) {
            log_enter(req);
            in->failed = 1;
            respond_problem(req);
            return queue(req);
        }
        switch (lp_route_match_path(srv->routes, srv->nroutes, method, url, &in->match, allow, sizeof(allow))) {
        case LP_ROUTE_FOUND:
            req->route = in->match.route;
            if (copy_params(req) != 0)
                in->failed = 1;
            break;
        case LP_ROUTE_NO_METHOD:
            lp_error_set(&req->err, LP_E_METHOD, "%s is not allowed on %s", method, url);
            lp_error_hint(&req->err, "allowed methods: %s", allow);
            lp_res_header(req, MHD_HTTP_HEADER_ALLOW, allow);
            in->failed = 1;
            break;
        default:
            lp_error_set(&req->err, LP_E_NOT_FOUND, "there is no endpoint at %s", url);
            in->failed = 1;
            break;
        }
        if (req->route) {
            in->body_limit = body_limit(srv, req->route->body);
            lp_buf_init(&in->body, in->body_limit);
            const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl && req->route->body != LP_BODY_NONE && strtoull(cl, NULL, 10) > in->body_limit) {
                lp_error_set(&req->err, LP_E_TOO_LARGE, "the request body of %s bytes is over this endpoint's limit of %zu bytes",
                             cl, in->body_limit);
                in->failed = 1;
            } else if (check_body_type(req, conn) != 0) {
                in->failed = 1;
            }
        }
        if (!in->failed && req->route->body == LP_BODY_STREAM) {
            dispatch(req); /* authenticates, then the handler registers its sink */
            if (!in->failed && in->suspend_start) {
                lp_error_set(&req->err, LP_E_INTERNAL, "a streamed body's handler suspends from the body's end");
                in->suspend_start = NULL;
                in->failed = 1;
            }
            if (!in->failed && !in->has_sink && !in->response) {
                lp_error_set(&req->err, LP_E_INTERNAL, "the upload handler registered no body sink");
                in->failed = 1;
            }
            if (in->response && !in->failed) /* answered without reading the body */
                return queue(req);
        }
        if (in->failed && (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) ||
                           MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))) {
            /* answer now rather than reading a body we will refuse */
            log_enter(req);
            respond_problem(req);
            return queue(req);
        }
        return MHD_YES;
    }
    struct lp_req_internal *in = req->in;
    if (*upload_data_size) {
        in->bytes_in += *upload_data_size;
        if (!in->failed && in->has_sink) {
            if (in->bytes_in > in->body_limit) {
                lp_error_set(&req->err, LP_E_TOO_LARGE, "the upload is over the limit of %zu bytes (upload_max_bytes)",
                             in->body_limit);
                in->failed = 1;
            } else if (in->sink.chunk(req, in->sink.cls, upload_data, *upload_data_size) != 0) {
                in->failed = 1;
            }
        } else if (!in->failed && req->route && req->route->body != LP_BODY_NONE) {
            if (lp_buf_append(&in->body, upload_data, *upload_data_size) != 0) {
                if (lp_buf_failure(&in->body) == LP_E_NOMEM)
                    lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading the request body");
                else
                    lp_error_set(&req->err, LP_E_TOO_LARGE,
                                 "the request body is over this endpoint's limit of %zu bytes", in->body_limit);
                in->failed = 1;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (in->suspended) {
        /* lp_req_resume was called (a suspended connection gets no calls): answer what the finisher left */
        in->suspended = 0;
        goto answer;
    }
    if (in->status) /* already answered (early refusal) */
        return MHD_YES;
    if (!in->failed && in->has_sink) {
        log_enter(req);
        if (in->sink.end(req, in->sink.cls) != 0)
            in->failed = 1;
        lp_req_db_release(req);
    } else if (!in->failed) {
        req->body = in->body.data ? in->body.data : "";
        req->body_len = in->body.len;
        dispatch(req);
    }
    if (!in->failed && in->suspend_start)
        return suspend(req);
answer:
    log_enter(req);
    if (in->failed) {
        sink_release(in); /* undo a failed upload's partial write before the client hears of it */
        respond_problem(req);
    }
    enum MHD_Result r = queue(req);
    log_leave();
    return r;
}

static void access_log(const lp_req *req, int status, int64_t us)
{
    char path[512], extra[1024];
    lp_json_escape(path, sizeof(path), req->path);
    int n = snprintf(extra, sizeof(extra), "\"method\":\"%s\",\"path\":\"%s\",\"route\":\"%s\",\"status\":%d,"
                     "\"duration_ms\":%.3f,\"bytes_in\":%" PRIu64,
                     req->method, path, req->route ? req->route->name : "", status, (double)us / 1000.0,
                     req->in->bytes_in);
    if (req->who.authenticated && n > 0 && (size_t)n < sizeof(extra))
        snprintf(extra + n, sizeof(extra) - (size_t)n, ",\"user_id\":\"%s\",\"team_id\":\"%s\"", req->who.user_id,
                 req->who.team_id);
    lp_log_fields(LP_LOG_INFO, "access", "request", extra);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    lp_http_server *srv = cls;
    lp_req *req = *con_cls;
    if (!req)
        return;
    *con_cls = NULL;
    struct lp_req_internal *in = req->in;
    int64_t us = lp_now_mono_us() - in->start_us;
    int status = in->status ? in->status : 499; /* client went away before an answer */
    lp_metrics_observe(srv->svc->metrics, req->route, status, us);
    if (srv->svc->cfg->access_log) {
        log_enter(req);
        access_log(req, status, us);
        log_leave();
    }
    sink_release(in);
    lp_req_db_release(req);
    if (in->response)
        MHD_destroy_response(in->response);
    json_decref(in->json);
    lp_buf_free(&in->body);
    arena_give_back(req->arena);
    if (atomic_fetch_sub(&srv->in_flight, 1) == 1) {
        pthread_mutex_lock(&srv->idle_mu);
        pthread_cond_broadcast(&srv->idle_cv);
        pthread_mutex_unlock(&srv->idle_mu);
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    LP_WARN("mhd", "%s", msg);
}

lp_http_server *lp_http_server_start(const lp_services *svc, const lp_route *routes, size_t nroutes, lp_error *err)
{
    const lp_config *cfg = svc->cfg;
    lp_http_server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    srv->svc = svc;
    srv->routes = routes;
    srv->nroutes = nroutes;
    pthread_mutex_init(&srv->idle_mu, NULL);
    pthread_mutex_init(&srv->susp_mu, NULL);
    pthread_cond_init(&srv->susp_cv, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->idle_cv, &ca);
    pthread_condattr_destroy(&ca);
    unsigned char rnd[4];
    lp_random_bytes(rnd, sizeof(rnd));
    lp_hex_encode(rnd, sizeof(rnd), srv->id_prefix);

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TURBO |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->http_bind, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)cfg->http_port);
    } else if (inet_pton(AF_INET6, cfg->http_bind, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)cfg->http_port);
        flags |= MHD_USE_IPv6;
    } else {
        lp_error_set(err, LP_E_INVALID, "http_bind: \"%s\" is not an IPv4 or IPv6 address", cfg->http_bind);
        lp_http_server_stop(srv);
        return NULL;
    }
    /* room for the largest request head we accept, so that we (not the
     * library's silent close) answer 414 and 431 */
    size_t conn_memory = (size_t)(cfg->http_max_url_bytes + cfg->http_max_header_bytes) + 8 * 1024;
    if (conn_memory < 32 * 1024)
        conn_memory = 32 * 1024;
    long threads = cfg->http_threads ? (long)cfg->http_threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    srv->daemon = MHD_start_daemon(flags, (uint16_t)cfg->http_port, NULL, NULL, on_request, srv,
                                   MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                                   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                   MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
                                   MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->http_max_connections,
                                   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)(cfg->http_idle_timeout / 1000),
                                   MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                                   MHD_OPTION_UNESCAPE_CALLBACK, lp_http_unescape, NULL,
                                   MHD_OPTION_CONNECTION_MEMORY_LIMIT, conn_memory,
                                   MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
                                   MHD_OPTION_END);
    if (!srv->daemon) {
        lp_error_set(err, LP_E_UNAVAILABLE, "cannot listen on %s port %" PRId64, cfg->http_bind, cfg->http_port);
        lp_error_hint(err, "is another process using the port? (http_bind, http_port)");
        lp_http_server_stop(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : (uint16_t)cfg->http_port;
    return srv;
}

uint16_t lp_http_server_port(const lp_http_server *srv) { return srv->port; }

void lp_http_server_quiesce(lp_http_server *srv)
{
    if (srv && srv->daemon) {
        MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
}

long lp_http_server_in_flight(const lp_http_server *srv) { return atomic_load(&srv->in_flight); }

int lp_http_server_wait_idle(lp_http_server *srv, int64_t timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(timeout_ms / 1000);
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&srv->idle_mu);
    while (atomic_load(&srv->in_flight) > 0) {
        if (pthread_cond_timedwait(&srv->idle_cv, &srv->idle_mu, &deadline) != 0 &&
            atomic_load(&srv->in_flight) > 0) {
            rc = -1;
            break;
        }
    }
    pthread_mutex_unlock(&srv->idle_mu);
    return rc;
}

void lp_http_server_stop(lp_http_server *srv)
{
    if (!srv)
        return;
    if (srv->daemon) {
        /* stopping the library with a suspended connection would free a request its finisher holds;
         * finishers resume in bounded time (lp_req_suspend) */
        pthread_mutex_lock(&srv->susp_mu);
        if (srv->suspended > 0)
            LP_INFO("http", "waiting for %ld suspended request(s) to be answered", srv->suspended);
        while (srv->suspended > 0)
            pthread_cond_wait(&srv->susp_cv, &srv->susp_mu);
        pthread_mutex_unlock(&srv->susp_mu);
        MHD_stop_daemon(srv->daemon);
    }
    pthread_mutex_destroy(&srv->susp_mu);
    pthread_cond_destroy(&srv->susp_cv);
    pthread_mutex_destroy(&srv->idle_mu);
    pthread_cond_destroy(&srv->idle_cv);
    free(srv);
}
