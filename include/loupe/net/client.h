/* Outbound HTTP for every request Loupe makes to a URL a user supplied
 * (webhook deliveries, files fetched for inbound integrations): libcurl
 * behind the SSRF guard.
 *
 * A URL is accepted only with scheme https (or http when the policy allows
 * it), without credentials, with a host name or address literal. The host
 * is resolved once; every address it resolves to must pass lp_net_ip_check
 * (public, or in the allow-list: one refused address refuses the URL), and
 * the connection is pinned to the address that was checked (CURLOPT_RESOLVE),
 * while an open-socket hook checks again the address libcurl actually
 * connects to, so DNS rebinding and numeric host forms (2130706433,
 * 0x7f000001, 017700000001, ::ffff:127.0.0.1) cannot slip through.
 * Redirects are followed by hand, at most max_redirects hops, each hop
 * checked like the first (301/302/303 continue as GET without a body,
 * 307/308 repeat the method and body). Proxies from the environment are
 * ignored. The whole exchange is bounded by timeout_ms and the response
 * body by max_response_bytes.
 *
 * DESIGN (threads): an lp_net_client belongs to one thread. It keeps its
 * connections open between requests (keep-alive per host and port, in one
 * libcurl multi handle), and runs several requests at once with
 * lp_net_fetch_many, each under the same guard. */
#ifndef LOUPE_NET_CLIENT_H
#define LOUPE_NET_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/net/addr.h"

#define LP_NET_REDIRECTS_MAX 3

typedef struct lp_net_policy {
    const lp_net_allowlist *allow; /* borrowed; NULL = public addresses only */
    int allow_http;                /* 0 = https only */
    int max_redirects;             /* 0..LP_NET_REDIRECTS_MAX */
    int64_t timeout_ms;            /* the whole exchange, redirects included */
    int64_t max_response_bytes;    /* a larger body fails the request (LP_E_TOO_LARGE) */
} lp_net_policy;

typedef struct lp_net_request {
    const char *method;               /* "GET", "POST", … */
    const char *url;
    const char *const *headers;       /* "Name: value" lines, NULL-terminated; may be NULL */
    const void *body;                 /* borrowed; may be NULL */
    size_t body_len;
    size_t keep_bytes;                /* bytes of the response body to keep (when no sink) */
    /* Optional: receives the response body instead (0 = go on, -1 = abort with LP_E_IO). */
    int (*sink)(void *ctx, const void *p, size_t n);
    void *sink_ctx;
} lp_net_request;

typedef struct lp_net_response {
    long status;            /* HTTP status of the last hop; 0 when none arrived */
    char *body;             /* first keep_bytes of the body, NUL-terminated (new; lp_net_response_free) */
    size_t body_len;
    int64_t total_bytes;    /* body bytes received */
    int64_t elapsed_ms;
    char address[64];       /* the address of the last connection ("" before one) */
} lp_net_response;

typedef struct lp_net_client lp_net_client;

/* New client (free with lp_net_client_free). NULL with err on failure. */
lp_net_client *lp_net_client_new(lp_error *err);
void lp_net_client_free(lp_net_client *c);

/* Checks url against the policy without connecting: scheme, credentials,
 * host; resolve = 1 also resolves the host and checks its addresses (an
 * address literal is always checked). 0, or -1 with err (LP_E_INVALID for a
 * URL that can never be used, LP_E_FORBIDDEN for a refused address,
 * LP_E_UNAVAILABLE when the name does not resolve). */
int lp_net_url_check(const lp_net_policy *p, const char *url, int resolve, lp_error *err);

/* Performs req under the policy. 0 when a final response arrived, whatever
 * its status (out filled; free with lp_net_response_free), or -1 with err:
 * the refusals of lp_net_url_check, LP_E_TIMEOUT, LP_E_TOO_LARGE,
 * LP_E_UNAVAILABLE (connection or TLS failure; a redirect past
 * max_redirects). out->elapsed_ms and out->address are set either way. */
int lp_net_fetch(lp_net_client *c, const lp_net_policy *p, const lp_net_request *req, lp_net_response *out,
                 lp_error *err);

void lp_net_response_free(lp_net_response *r);

/* Performs the n requests reqs at once under the policy, each exactly as
 * lp_net_fetch does (its own redirects, checks and timeout, which counts
 * from when its first hop starts): at most per_host hops run at the same
 * time to one host and port, the others wait their turn in order; open
 * connections are reused. Each outs[i] is filled as by lp_net_fetch (free
 * each with lp_net_response_free) and rcs[i] is 0, or -1 with errs[i].
 * Returns 0, or -1 when out of memory (every rcs[i] -1 with errs[i] set). */
int lp_net_fetch_many(lp_net_client *c, const lp_net_policy *p, const lp_net_request *reqs, size_t n, int per_host,
                      lp_net_response *outs, int *rcs, lp_error *errs);

/* Told by lp_net_fetch_many_progress how its requests go. fn is called
 * after each pass of its loop with the indices done[0..ndone) of the
 * requests that finished since the last call (ndone may be 0): their outs,
 * rcs and errs are final, and the caller may use them (and free the
 * responses) at once. fn returns how long the client may wait for network
 * events before it calls fn again, in ms (-1: as long as it likes, at most
 * 100 ms). */
typedef struct lp_net_progress {
    int64_t (*fn)(void *ctx, const size_t *done, size_t ndone);
    void *ctx;
} lp_net_progress;

/* lp_net_fetch_many, telling progress (may be NULL) as requests finish. A
 * host name is resolved and checked once per call. */
int lp_net_fetch_many_progress(lp_net_client *c, const lp_net_policy *p, const lp_net_request *reqs, size_t n,
                               int per_host, lp_net_response *outs, int *rcs, lp_error *errs,
                               const lp_net_progress *progress);

#endif
