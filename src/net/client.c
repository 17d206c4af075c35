/* The outbound HTTP client behind the SSRF guard. See loupe/net/client.h. */
#include "loupe/net/client.h"

#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "loupe/core/buf.h"
#include "loupe/core/util.h"

#define HOST_MAX 256
#define CONNECT_TIMEOUT_MS 10000
/* Idle connections the client keeps open (keep-alive), all hosts together. */
#define KEEP_CONNECTIONS 256L

struct lp_net_client {
    CURLM *multi;          /* owns the connection cache: keep-alive per host and port */
    CURL **easy;           /* idle easy handles, reused */
    size_t neasy, capeasy;
};

/* A URL taken apart and checked. */
typedef struct target {
    char host[HOST_MAX];   /* without brackets */
    long port;
    int literal;           /* host is an address literal */
    lp_net_ip ip;          /* the checked address to connect to */
} target;

/* State of one transfer, seen by the callbacks. */
typedef struct transfer {
    const lp_net_policy *p;
    const lp_net_request *req;
    lp_buf kept;
    int64_t total;
    int too_large, sink_failed;
    lp_error guard;        /* set when the open-socket hook refused */
    int refused;
    char address[64];
} transfer;

static int once_ok;

static int global_init(lp_error *err)
{
    /* curl_global_init is not thread-safe in libcurl 7.88; the first client
     * is made before threads need it (start-up of each process). */
    if (!once_ok) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return lp_error_set(err, LP_E_INTERNAL, "cannot initialise libcurl");
        once_ok = 1;
    }
    return 0;
}

lp_net_client *lp_net_client_new(lp_error *err)
{
    lp_net_client *c;
    if (global_init(err) != 0)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (!c || !(c->multi = curl_multi_init())) {
        free(c);
        lp_error_set(err, LP_E_NOMEM, "out of memory creating an HTTP client");
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, KEEP_CONNECTIONS);
    return c;
}

void lp_net_client_free(lp_net_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->neasy; i++)
        curl_easy_cleanup(c->easy[i]);
    free(c->easy);
    curl_multi_cleanup(c->multi);
    free(c);
}

/* An easy handle from the idle ones, or a new one; NULL when out of memory. */
static CURL *easy_take(lp_net_client *c)
{
    return c->neasy ? c->easy[--c->neasy] : curl_easy_init();
}

static void easy_give(lp_net_client *c, CURL *h)
{
    if (c->neasy == c->capeasy) {
        size_t cap = c->capeasy ? 2 * c->capeasy : 8;
        CURL **n = realloc(c->easy, cap * sizeof(*n));
        if (!n) {
            curl_easy_cleanup(h);
            return;
        }
        c->easy = n;
        c->capeasy = cap;
    }
    c->easy[c->neasy++] = h;
}

void lp_net_response_free(lp_net_response *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

/* Resolves t->host and checks every address; keeps the first in t->ip. */
static int resolve_and_check(const lp_net_policy *p, target *t, lp_error *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(t->host, NULL, &hints, &res);
    if (rc != 0)
        return lp_error_set(err, LP_E_UNAVAILABLE, "cannot resolve host %s: %s", t->host, gai_strerror(rc));
    rc = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        lp_net_ip ip;
        if (lp_net_ip_from_sockaddr(ai->ai_addr, &ip) != 0)
            continue;
        if (lp_net_ip_check(p->allow, &ip, err) != 0) {
            rc = -1;
            goto cleanup;
        }
        if (rc != 0) {
            t->ip = ip;
            rc = 0;
        }
    }
    if (rc != 0)
        lp_error_set(err, LP_E_UNAVAILABLE, "host %s has no IPv4 or IPv6 address", t->host);

cleanup:
    freeaddrinfo(res);
    return rc;
}

static int parse_target(const lp_net_policy *p, const char *url, int resolve, target *t, lp_error *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *password = NULL;
    int rc = -1;

    memset(t, 0, sizeof(*t));
    if (!u)
        return lp_error_set(err, LP_E_NOMEM, "out of memory parsing a URL");
    if (!url || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        lp_error_set(err, LP_E_INVALID, "is not an absolute URL (e.g. https://hooks.example.com/loupe)");
        goto cleanup;
    }
    if (strcasecmp(scheme, "https") != 0 && (strcasecmp(scheme, "http") != 0 || !p->allow_http)) {
        lp_error_set(err, LP_E_INVALID, "scheme %s is not allowed (%s)", scheme,
                     p->allow_http ? "only http and https" : "only https");
        goto cleanup;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
        lp_error_set(err, LP_E_INVALID, "must not hold credentials (user:password@); send them in a header instead");
        goto cleanup;
    }
    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    t->port = port ? strtol(port, NULL, 10) : 0;
    {
        size_t n = strlen(host);
        if (n >= 2 && host[0] == '[') {
            memmove(host, host + 1, n - 2);
            host[n - 2] = '\0';
        }
        if (strlen(host) >= sizeof(t->host)) {
            lp_error_set(err, LP_E_INVALID, "has a host name longer than %d bytes", HOST_MAX - 1);
            goto cleanup;
        }
        lp_strlcpy(t->host, host, sizeof(t->host));
    }
    if (lp_net_ip_parse(t->host, &t->ip) == 0) {
        t->literal = 1;
        rc = lp_net_ip_check(p->allow, &t->ip, err);
    } else {
        rc = resolve ? resolve_and_check(p, t, err) : 0;
    }

cleanup:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(password);
    curl_url_cleanup(u);
    return rc;
}

int lp_net_url_check(const lp_net_policy *p, const char *url, int resolve, lp_error *err)
{
    target t;
    return parse_target(p, url, resolve, &t, err);
}

static curl_socket_t on_open_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
    transfer *t = ctx;
    lp_net_ip ip;
    (void)purpose;
    if (lp_net_ip_from_sockaddr(&a->addr, &ip) != 0 || lp_net_ip_check(t->p->allow, &ip, &t->guard) != 0) {
        if (!t->guard.message[0])
            lp_error_set(&t->guard, LP_E_FORBIDDEN, "address family %d is not allowed", (int)a->family);
        t->refused = 1;
        return CURL_SOCKET_BAD;
    }
    lp_net_ip_format(&ip, t->address, sizeof(t->address));
    return socket(a->family, a->socktype, a->protocol);
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    transfer *t = ctx;
    size_t len = size * n;
    t->total += (int64_t)len;
    if (t->p->max_response_bytes > 0 && t->total > t->p->max_response_bytes) {
        t->too_large = 1;
        return 0;
    }
    if (t->req->sink) {
        if (t->req->sink(t->req->sink_ctx, p, len) != 0) {
            t->sink_failed = 1;
            return 0;
        }
        return len;
    }
    if (t->kept.len < t->req->keep_bytes) {
        size_t room = t->req->keep_bytes - t->kept.len;
        lp_buf_append(&t->kept, p, len < room ? len : room);
    }
    return len;
}

static int map_curl_error(CURLcode cc, const transfer *t, const char *errbuf, int64_t timeout_ms, lp_error *err)
{
    if (t->refused) {
        *err = t->guard;
        return -1;
    }
    if (t->too_large)
        return lp_error_set(err, LP_E_TOO_LARGE, "the response is larger than %lld bytes",
                            (long long)t->p->max_response_bytes);
    if (t->sink_failed)
        return lp_error_set(err, LP_E_IO, "the response body could not be stored");
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return lp_error_set(err, LP_E_TIMEOUT, "no complete answer within %lld ms", (long long)timeout_ms);
    return lp_error_set(err, LP_E_UNAVAILABLE, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

/* One request in flight through lp_net_fetch_many: its hops one after
 * another, each on an easy handle of the client's multi handle. */
typedef enum xfer_state { XFER_WAITING, XFER_RUNNING, XFER_DONE } xfer_state;

typedef struct xfer {
    transfer tr;
    target tg;             /* of the current hop, checked */
    size_t host;           /* the current hop's entry in the call's host table (per-host limit) */
    xfer_state state;
    int reported;          /* handed to the progress callback */
    char *url;             /* the current hop's (new) */
    const char *method;
    int with_body, hop;
    int64_t start;         /* when its first hop started (mono ms); 0 before */
    CURL *h;
    struct curl_slist *hdrs, *resolve;
    char errbuf[CURL_ERROR_SIZE];
    lp_net_response *out;
    lp_error *err;
    int *rc;
} xfer;

static void hop_release(lp_net_client *c, xfer *x)
{
    if (x->h) {
        curl_multi_remove_handle(c->multi, x->h);
        curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, NULL);
        curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(x->h, CURLOPT_RESOLVE, NULL);
        easy_give(c, x->h);
        x->h = NULL;
    }
    curl_slist_free_all(x->hdrs);
    curl_slist_free_all(x->resolve);
    x->hdrs = x->resolve = NULL;
}

/* Ends x: 0 with its response, or -1 with its error (already in *x->err). */
static void xfer_finish(lp_net_client *c, xfer *x, int rc)
{
    hop_release(c, x);
    x->state = XFER_DONE;
    *x->rc = rc;
    x->out->elapsed_ms = x->start ? lp_now_mono_ms() - x->start : 0;
    lp_strlcpy(x->out->address, x->tr.address, sizeof(x->out->address));
    if (rc == 0) {
        x->out->total_bytes = x->tr.total;
        x->out->body_len = x->tr.kept.len;
        x->out->body = lp_buf_steal(&x->tr.kept, NULL);
        if (!x->out->body && !(x->out->body = calloc(1, 1))) {
            lp_error_set(x->err, LP_E_NOMEM, "out of memory");
            *x->rc = -1;
        }
    }
    lp_buf_free(&x->tr.kept);
    free(x->url);
    x->url = NULL;
}

/* The hosts of one lp_net_fetch_many call: the per-host limit, and each
 * host name resolved and checked once for the whole call (every hop is
 * still pinned to the checked address and checked again at connect). */
typedef struct host_entry {
    char key[HOST_MAX + 24]; /* "host:port" */
    int running;             /* hops running now */
    int resolved;            /* a host name: rc, ip and err hold its resolution */
    int rc;
    lp_net_ip ip;
    lp_error err;
} host_entry;

typedef struct host_table {
    host_entry *e;
    size_t n, cap;
} host_table;

/* The entry of t->host:port in ht, added when missing; NULL when out of memory. */
static host_entry *host_of(host_table *ht, const target *t, size_t *index)
{
    char key[HOST_MAX + 24];
    snprintf(key, sizeof(key), "%s:%ld", t->host, t->port);
    for (size_t j = 0; j < ht->n; j++) {
        if (strcmp(ht->e[j].key, key) == 0) {
            *index = j;
            return &ht->e[j];
        }
    }
    if (ht->n == ht->cap) {
        size_t cap = ht->cap ? 2 * ht->cap : 4;
        host_entry *e = realloc(ht->e, cap * sizeof(*e));
        if (!e)
            return NULL;
        ht->e = e;
        ht->cap = cap;
    }
    memset(&ht->e[ht->n], 0, sizeof(ht->e[ht->n]));
    lp_strlcpy(ht->e[ht->n].key, key, sizeof(ht->e[ht->n].key));
    *index = ht->n;
    return &ht->e[ht->n++];
}

/* Checks the current hop's URL (its host resolved once per call) and finds
 * its host entry. 0, or -1 with x finished. */
static int hop_target(lp_net_client *c, host_table *ht, xfer *x)
{
    host_entry *h;
    if (parse_target(x->tr.p, x->url, 0, &x->tg, x->err) != 0) {
        xfer_finish(c, x, -1);
        return -1;
    }
    if (!(h = host_of(ht, &x->tg, &x->host))) {
        lp_error_set(x->err, LP_E_NOMEM, "out of memory");
        xfer_finish(c, x, -1);
        return -1;
    }
    if (!x->tg.literal) {
        if (!h->resolved) {
            h->rc = resolve_and_check(x->tr.p, &x->tg, &h->err);
            h->ip = x->tg.ip;
            h->resolved = 1;
        }
        if (h->rc != 0) {
            *x->err = h->err;
            xfer_finish(c, x, -1);
            return -1;
        }
        x->tg.ip = h->ip;
    }
    return 0;
}

/* Starts the current hop: pinned to the checked address, added to the multi
 * handle. 0, or -1 with x finished. */
static int hop_start(lp_net_client *c, xfer *x)
{
    const lp_net_request *req = x->tr.req;
    struct curl_slist *tmp;
    char pin[HOST_MAX + 80], ip[64];
    int64_t remaining;
    CURL *h;

    if (!x->start)
        x->start = lp_now_mono_ms();
    remaining = x->tr.p->timeout_ms - (lp_now_mono_ms() - x->start);
    if (remaining <= 0) {
        lp_error_set(x->err, LP_E_TIMEOUT, "no complete answer within %lld ms", (long long)x->tr.p->timeout_ms);
        xfer_finish(c, x, -1);
        return -1;
    }
    lp_buf_reset(&x->tr.kept);
    x->tr.total = 0;
    x->errbuf[0] = '\0';
    if (!(h = x->h = easy_take(c)))
        goto nomem;
    curl_easy_reset(h);
    for (const char *const *l = req->headers; l && *l; l++) {
        if (!(tmp = curl_slist_append(x->hdrs, *l)))
            goto nomem;
        x->hdrs = tmp;
    }
    if (!(tmp = curl_slist_append(x->hdrs, "Expect:")))
        goto nomem;
    x->hdrs = tmp;
    if (!x->tg.literal) {
        lp_net_ip_format(&x->tg.ip, ip, sizeof(ip));
        snprintf(pin, sizeof(pin), x->tg.ip.family == AF_INET6 ? "%s:%ld:[%s]" : "%s:%ld:%s", x->tg.host,
                 x->tg.port, ip);
        if (!(x->resolve = curl_slist_append(NULL, pin)))
            goto nomem;
        curl_easy_setopt(h, CURLOPT_RESOLVE, x->resolve);
    }
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(h, CURLOPT_URL, x->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)remaining);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(remaining < CONNECT_TIMEOUT_MS ? remaining : CONNECT_TIMEOUT_MS));
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &x->tr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x->tr);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "Loupe-Webhooks/1");
    if (x->with_body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    if (strcmp(x->method, "GET") == 0)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else if (!x->with_body || strcmp(x->method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, x->method);
    if (curl_multi_add_handle(c->multi, h) != CURLM_OK)
        goto nomem;
    x->state = XFER_RUNNING;
    return 0;

nomem:
    lp_error_set(x->err, LP_E_NOMEM, "out of memory preparing an HTTP request");
    xfer_finish(c, x, -1);
    return -1;
}

/* The current hop of x ended with cc: finishes x, or sets it waiting for
 * its next hop (a redirect). */
static void hop_done(lp_net_client *c, host_table *ht, xfer *x, CURLcode cc)
{
    long status = 0;
    char *redirect = NULL, *next;
    const lp_net_policy *p = x->tr.p;

    if (cc != CURLE_OK) {
        map_curl_error(cc, &x->tr, x->errbuf, p->timeout_ms, x->err);
        xfer_finish(c, x, -1);
        return;
    }
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
    x->out->status = status;
    if (status < 300 || status >= 400 || curl_easy_getinfo(x->h, CURLINFO_REDIRECT_URL, &redirect) != CURLE_OK ||
        !redirect || p->max_redirects == 0) {
        xfer_finish(c, x, 0); /* a final answer, or a 3xx the caller sees */
        return;
    }
    if (x->hop >= p->max_redirects) {
        lp_error_set(x->err, LP_E_UNAVAILABLE, "more than %d redirects", p->max_redirects);
        xfer_finish(c, x, -1);
        return;
    }
    if (!(next = strdup(redirect))) {
        lp_error_set(x->err, LP_E_NOMEM, "out of memory");
        xfer_finish(c, x, -1);
        return;
    }
    hop_release(c, x);
    free(x->url);
    x->url = next;
    x->hop++;
    if (status == 301 || status == 302 || status == 303) {
        x->method = "GET";
        x->with_body = 0;
    }
    x->state = XFER_WAITING;
    hop_target(c, ht, x);
}

int lp_net_fetch_many_progress(lp_net_client *c, const lp_net_policy *p, const lp_net_request *reqs, size_t n,
                               int per_host, lp_net_response *outs, int *rcs, lp_error *errs,
                               const lp_net_progress *progress)
{
    xfer *xs = calloc(n ? n : 1, sizeof(*xs));
    size_t *done = calloc(n ? n : 1, sizeof(*done));
    host_table ht = {0};
    size_t left = n;
    int64_t wait_ms = -1;

    if (per_host < 1)
        per_host = 1;
    for (size_t i = 0; i < n; i++) {
        xfer *x = &xs[i];
        memset(&outs[i], 0, sizeof(outs[i]));
        lp_error_clear(&errs[i]);
        rcs[i] = -1;
        if (!xs || !done) {
            lp_error_set(&errs[i], LP_E_NOMEM, "out of memory preparing an HTTP request");
            continue;
        }
        x->tr.p = p;
        x->tr.req = &reqs[i];
        lp_buf_init(&x->tr.kept, reqs[i].keep_bytes);
        lp_error_clear(&x->tr.guard);
        x->out = &outs[i];
        x->err = &errs[i];
        x->rc = &rcs[i];
        x->method = reqs[i].method ? reqs[i].method : "GET";
        x->with_body = reqs[i].body != NULL;
        x->state = XFER_WAITING;
        if (!(x->url = strdup(reqs[i].url ? reqs[i].url : ""))) {
            lp_error_set(x->err, LP_E_NOMEM, "out of memory");
            xfer_finish(c, x, -1);
            continue;
        }
        hop_target(c, &ht, x);
    }
    if (!xs || !done) {
        free(xs);
        free(done);
        return -1;
    }
    while (left > 0) {
        CURLMsg *m;
        int running = 0, queued;
        size_t ndone = 0;
        /* start what the per-host limit lets through, in order */
        for (size_t j = 0; j < ht.n; j++)
            ht.e[j].running = 0;
        for (size_t i = 0; i < n; i++) {
            if (xs[i].state == XFER_RUNNING)
                ht.e[xs[i].host].running++;
        }
        for (size_t i = 0; i < n; i++) {
            if (xs[i].state != XFER_WAITING || ht.e[xs[i].host].running >= per_host)
                continue;
            if (hop_start(c, &xs[i]) == 0)
                ht.e[xs[i].host].running++;
        }
        curl_multi_perform(c->multi, &running);
        while ((m = curl_multi_info_read(c->multi, &queued))) {
            xfer *x = NULL;
            if (m->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            if (x)
                hop_done(c, &ht, x, m->data.result);
        }
        left = 0;
        for (size_t i = 0; i < n; i++) {
            if (xs[i].state != XFER_DONE)
                left++;
            else if (!xs[i].reported) {
                xs[i].reported = 1;
                done[ndone++] = i;
            }
        }
        if (progress && progress->fn)
            wait_ms = progress->fn(progress->ctx, done, ndone);
        if (left > 0 && running > 0)
            curl_multi_poll(c->multi, NULL, 0, wait_ms >= 0 && wait_ms < 100 ? (int)wait_ms : 100, NULL);
    }
    free(xs);
    free(done);
    free(ht.e);
    return 0;
}

int lp_net_fetch_many(lp_net_client *c, const lp_net_policy *p, const lp_net_request *reqs, size_t n, int per_host,
                      lp_net_response *outs, int *rcs, lp_error *errs)
{
    return lp_net_fetch_many_progress(c, p, reqs, n, per_host, outs, rcs, errs, NULL);
}

int lp_net_fetch(lp_net_client *c, const lp_net_policy *p, const lp_net_request *req, lp_net_response *out,
                 lp_error *err)
{
    int rc = -1;
    if (lp_net_fetch_many(c, p, req, 1, 1, out, &rc, err) != 0)
        return -1;
    return rc;
}
