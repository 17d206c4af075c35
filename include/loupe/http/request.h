/* The request a handler serves, and the response it builds.
 *
 * A handler is `int handler(lp_req *req)`: it reads the request through the
 * lp_req_* accessors, sets exactly one response with an lp_res_* call and
 * returns 0 — or fills req->err (lp_error_set/lp_error_field) and returns -1,
 * and the server renders the error as RFC 9457 application/problem+json with
 * the status from the error table. Handlers never write SQL (that is src/db)
 * and never check roles by hand beyond lp_req_require (the route table states
 * each route's permission).
 *
 * Memory: everything a handler allocates for the request comes from req->arena
 * and is freed when the response has been sent. Strings returned by accessors
 * are borrowed from the request. */
#ifndef LOUPE_HTTP_REQUEST_H
#define LOUPE_HTTP_REQUEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loupe/core/arena.h"
#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/core/trace.h"

struct lp_db_pool;
struct lp_db;
struct lp_storage;
struct lp_metrics;

/* What a route needs (the route table's PERM column). Which role grants
 * which permission is the identity area's business (loupe/identity/role.h):
 * the authentication service hands http a set of permissions, never a role
 * table. */
typedef enum lp_perm {
    LP_PERM_PUBLIC = 0, /* no authentication */
    LP_PERM_READ,       /* any member: viewer and up */
    LP_PERM_ANNOTATE,   /* annotator, reviewer, admin, owner */
    LP_PERM_REVIEW,     /* reviewer, admin, owner */
    LP_PERM_MANAGE,     /* admin, owner */
    LP_PERM_OWNER       /* owner */
} lp_perm;

/* The bit of perm in lp_principal.perms. */
#define LP_PERM_BIT(perm) (1u << (unsigned)(perm))

/* Who is calling. Filled by the authentication service before the handler
 * runs (for routes that are not PUBLIC, authenticated is always 1 by then). */
typedef struct lp_principal {
    int authenticated;
    int via_session;        /* 1: browser session cookie; 0: API key */
    char user_id[37];
    char team_id[37];
    int role;               /* an lp_role (loupe/identity/role.h); opaque to http */
    const char *role_name;  /* "owner", … (static); for messages */
    unsigned perms;         /* LP_PERM_BIT of every permission the caller holds */
    char credential_id[37]; /* api_keys.id or sessions.id */
    char csrf_token[64];    /* sessions only */
    const void *profile;    /* the service's own record of the caller (loupe/identity/authenticate.h); borrowed */
} lp_principal;

typedef struct lp_services lp_services;
typedef struct lp_req lp_req;

/* Shared services, owned by the application, read-only for handlers. http
 * links no database: it reaches the pool and the credential check only
 * through the pointers the application sets here. */
struct lp_services {
    const lp_config *cfg;
    struct lp_db_pool *db;
    /* The pool's acquire and release (lp_db_acquire/lp_db_release), used by
     * lp_req_db; NULL → lp_req_db answers 503. */
    struct lp_db *(*db_acquire)(struct lp_db_pool *pool, lp_error *err);
    void (*db_release)(struct lp_db *db);
    /* A read-only replica's pool and its acquire (lp_db_acquire_optional),
     * used by lp_req_db_read; NULL → reads go to the primary. */
    struct lp_db_pool *db_read;
    struct lp_db *(*db_read_acquire)(struct lp_db_pool *pool, lp_error *err);
    /* The authentication service, called for every route that is not
     * PUBLIC: fills req->who and returns 0, or sets req->err (401, 403,
     * 503) and returns -1. NULL → every such route answers 500 (deny by
     * default). auth is its state. */
    int (*authenticate)(void *auth, lp_req *req);
    void *auth;
    struct lp_storage *storage;   /* NULL until storage is configured */
    struct lp_metrics *metrics;
    const char *public_url;       /* without trailing slash */
    int (*ready)(const struct lp_services *svc, char *why, size_t cap); /* /readyz probe: 0 = ready */
    void *app;                    /* the application's own state */
};

typedef struct lp_route lp_route;
typedef struct lp_req lp_req;

struct lp_req {
    lp_arena *arena;                /* request lifetime */
    const lp_services *svc;
    const lp_route *route;
    const char *method;             /* "GET", … */
    const char *path;               /* decoded path, without query */
    char request_id[40];
    lp_trace trace;                 /* this request's span: the caller's traceparent's trace, or a new one */
    lp_principal who;
    lp_error err;                   /* filled by a handler returning -1 */
    const char *body;               /* whole body for BODY_JSON/BODY_BULK routes (NUL-terminated) */
    size_t body_len;
    struct lp_req_internal *in;     /* server-private */
};

/* Path parameter {name} of the matched route; NULL if the route has none. */
const char *lp_req_param(const lp_req *req, const char *name);
/* Query parameter (first occurrence, decoded); NULL if absent. */
const char *lp_req_query(const lp_req *req, const char *name);
/* Calls fn for every query parameter in order; stops early when fn returns non-zero. */
int lp_req_query_each(const lp_req *req, int (*fn)(void *cls, const char *key, const char *value), void *cls);
/* Request header (case-insensitive); NULL if absent. */
const char *lp_req_header(const lp_req *req, const char *name);
/* Cookie value; NULL if absent. */
const char *lp_req_cookie(const lp_req *req, const char *name);
/* The peer's IP address as text ("127.0.0.1", "::1") into out; "" when
 * unknown. This is the TCP peer: behind a proxy, the proxy's address. */
void lp_req_client_address(const lp_req *req, char *out, size_t cap);

/* 1 when a Content-Type is JSON: application/json or application/<x>+json
 * (parameters ignored); 0 otherwise (NULL too). */
int lp_http_is_json_type(const char *content_type);

/* The body parsed as JSON (borrowed, owned by the request). On failure
 * returns NULL and sets req->err: 415 if Content-Type is not JSON, 400 naming
 * line, column and byte position of the syntax error, 422 if the top level is
 * not an object (when want_object). Empty body → 400 "request body is empty". */
json_t *lp_req_json(lp_req *req, int want_object);

/* Streamed bodies (BODY_STREAM routes, e.g. file uploads): the server
 * authenticates and calls the handler as soon as the headers are in, with
 * req->body NULL. The handler validates what it can, then registers a sink
 * and returns 0 without a response. The server hands each chunk to
 * sink->chunk as it arrives (never buffering the body), then calls
 * sink->end, which sets the response. A chunk or end callback that fails
 * sets req->err and returns -1: the rest of the body is discarded and the
 * error answered. sink->cleanup(cls) runs exactly once, whatever happened:
 * when a chunk or end callback failed (or the body went over its limit),
 * before the error is answered, so that what it undoes (a partial file, an
 * upload left pending) is undone before the client hears of it; otherwise
 * when the request is done (client gone, success). The sink is copied. */
typedef struct lp_body_sink {
    int (*chunk)(lp_req *req, void *cls, const char *data, size_t len);
    int (*end)(lp_req *req, void *cls);
    void (*cleanup)(void *cls);
    void *cls;
} lp_body_sink;
int lp_req_stream_body(lp_req *req, const lp_body_sink *sink);

/* Answering later, from another thread. A handler, or a streamed body's end (sink->end), that would
 * otherwise block its HTTP thread while it waits (a worker's answer over the broker) calls
 * lp_req_suspend(req, start, cls) as its last step and returns 0 without a response. When the handler's
 * turn is over (its database connection released) the server suspends the connection — its HTTP thread
 * goes on serving its other connections — and calls start(req, cls) on that thread. start hands req to
 * whoever will finish it (a thread it starts) and returns 0; or it returns -1 with req->err set, and the
 * request is answered with that error at once.
 *
 * From then on req belongs to that finisher alone: it may call lp_req_enter first (so that its log lines
 * carry the request's id and trace), builds the answer as a handler would (lp_res_*, lp_res_header; or
 * req->err), and calls lp_req_resume(req, rc) exactly once, from any thread, with rc as a handler's
 * return; after that it touches req no more. The server then answers on the connection's HTTP thread
 * (Server-Timing and every other header as the finisher set them; an error as problem+json, after a
 * streamed body's cleanup ran).
 *
 * While suspended the request counts as in flight (lp_http_server_wait_idle waits for it); its
 * connection is neither read nor timed out, so a client that leaves is noticed only after the resume,
 * and the request then completes as any other (the sink's cleanup, the access log: 499).
 * lp_http_server_stop waits for every suspended request to be resumed before it closes connections:
 * a finisher must resume within a bounded time. A handler that returns -1 after lp_req_suspend is
 * answered with its error and start is never called. */
void lp_req_suspend(lp_req *req, int (*start)(lp_req *req, void *cls), void *cls);
void lp_req_resume(lp_req *req, int rc);
/* Makes the calling thread log as the request (its id and trace), for a finisher's thread. */
void lp_req_enter(const lp_req *req);

/* Fails with 403 unless the caller holds perm. */
int lp_req_require(lp_req *req, lp_perm perm);

/* The request's one pooled database connection, shared by the
 * authentication service and the handler: acquired on the first call
 * (through svc->db_acquire), the same one on every later call, and
 * released (a transaction left open is rolled back) when the handler's turn
 * ends — when the handler returns, and for BODY_STREAM routes again after
 * the body's end. NULL with req->err set (503) when none is free in time. */
struct lp_db *lp_req_db(lp_req *req);

/* A connection for reads that may lag the primary by the replica's delay
 * (lists): one from the read replica's pool when one is configured and
 * reachable, else the request's own connection (lp_req_db). Never for a
 * read that must see this request's writes, or that answers with an ETag a
 * later If-Match compares (docs/OPERATIONS.md, "Read replicas"). Released
 * with the request's connection (lp_req_db_release). NULL with req->err set
 * as lp_req_db. */
struct lp_db *lp_req_db_read(lp_req *req);

/* Releases the request's connections (lp_req_db's and lp_req_db_read's)
 * now (before slow work that needs no database, such as a password hash); a
 * later lp_req_db acquires again. */
void lp_req_db_release(lp_req *req);

/* Hands the request's connection (acquired if need be) over to the caller,
 * who releases it with lp_db_release — for a response that keeps reading
 * after the handler returned (a streamed cursor). NULL with req->err. */
struct lp_db *lp_req_db_take(lp_req *req);

/* Responses. Each returns 0, or -1 with req->err set (out of memory). */
int lp_res_json(lp_req *req, int status, json_t *body);          /* steals body (NULL → no body) */
int lp_res_empty(lp_req *req, int status);
int lp_res_bytes(lp_req *req, int status, const char *content_type, const void *data, size_t len); /* copies */
/* Streams len bytes from fd at offset (the server closes fd). */
int lp_res_fd(lp_req *req, int status, const char *content_type, int fd, uint64_t offset, uint64_t len);
/* Streams generated content: fn is called with a buffer to fill and returns
 * the bytes written, 0 at the end, or -1 on failure (the connection is
 * aborted). free_fn(cls) runs once the response is done (cls may be NULL). */
typedef ssize_t (*lp_stream_fn)(void *cls, uint64_t pos, char *buf, size_t max);
int lp_res_stream(lp_req *req, int status, const char *content_type, lp_stream_fn fn, void *cls,
                  void (*free_fn)(void *cls));
int lp_res_redirect(lp_req *req, int status, const char *location);
/* Adds a header to the response being built (name and value are copied). Call
 * before or after the lp_res_* body call. */
int lp_res_header(lp_req *req, const char *name, const char *value);

#endif
