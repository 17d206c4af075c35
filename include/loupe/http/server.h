/* The HTTP server: libmicrohttpd with a thread pool and epoll.
 *
 * DESIGN (threads): MHD runs http_threads polling threads; each serves its
 * connections and runs handlers to completion on that thread, so a handler
 * may block on the database (the pool bounds the wait). Per-request state
 * lives in the request's arena, created when the headers arrive and freed in
 * MHD's completion callback. Nothing on the request path takes a global lock:
 * metrics are atomic counters, the pool has its own short critical section.
 * A handler that would wait for another process instead suspends its request
 * (lp_req_suspend, loupe/http/request.h; MHD_ALLOW_SUSPEND_RESUME): the
 * thread serves its other connections until a finisher resumes it.
 *
 * Shutdown: lp_http_server_quiesce stops accepting new connections;
 * lp_http_server_wait_idle waits for requests already begun (suspended ones
 * too) to complete; lp_http_server_stop waits for every suspended request to
 * be resumed, then closes what is left. */
#ifndef LOUPE_HTTP_SERVER_H
#define LOUPE_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/http/request.h"
#include "loupe/http/route.h"

typedef struct lp_http_server lp_http_server;

/* Starts listening on cfg->http_bind:cfg->http_port. svc and routes are
 * borrowed and must outlive the server. NULL with err on failure. */
lp_http_server *lp_http_server_start(const lp_services *svc, const lp_route *routes, size_t nroutes, lp_error *err);

/* The bound port (useful with http_port = 0). */
uint16_t lp_http_server_port(const lp_http_server *srv);

void lp_http_server_quiesce(lp_http_server *srv);

/* Returns 0 once no request is in flight, -1 if timeout_ms passed first. */
int lp_http_server_wait_idle(lp_http_server *srv, int64_t timeout_ms);

/* Requests begun and not yet completed. */
long lp_http_server_in_flight(const lp_http_server *srv);

/* Stops and frees. NULL is a no-op. */
void lp_http_server_stop(lp_http_server *srv);

/* The problem+json document for an error (new reference). instance may be NULL. */
json_t *lp_http_problem(const lp_error *err, const char *instance);

#endif
