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

struct lp_net_client {
    CURL *curl;
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
    if (!c || !(c->curl = curl_easy_init())) {
        free(c);
        lp_error_set(err, LP_E_NOMEM, "out of memory creating an HTTP client");
        return NULL;
    }
    return c;
}

void lp_net_client_free(lp_net_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
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

/* One hop: the request to url, pinned to the checked address. Fills
 * *status and, for a redirect, next_url (new; curl_free'd by the caller via
 * free). */
static int one_hop(lp_net_client *c, transfer *tr, const target *tg, const char *url, const char *method,
                   int with_body, int64_t remaining_ms, long *status, char **next_url, lp_error *err)
{
    const lp_net_request *req = tr->req;
    CURL *h = c->curl;
    struct curl_slist *hdrs = NULL, *resolve = NULL, *tmp;
    char errbuf[CURL_ERROR_SIZE] = "", pin[HOST_MAX + 80], ip[64];
    char *redirect = NULL;
    CURLcode cc;
    int rc = -1;

    *next_url = NULL;
    curl_easy_reset(h);
    for (const char *const *l = req->headers; l && *l; l++) {
        if (!(tmp = curl_slist_append(hdrs, *l)))
            goto nomem;
        hdrs = tmp;
    }
    if (!(tmp = curl_slist_append(hdrs, "Expect:")))
        goto nomem;
    hdrs = tmp;
    if (!tg->literal) {
        lp_net_ip_format(&tg->ip, ip, sizeof(ip));
        snprintf(pin, sizeof(pin), tg->ip.family == AF_INET6 ? "%s:%ld:[%s]" : "%s:%ld:%s", tg->host, tg->port, ip);
        if (!(resolve = curl_slist_append(NULL, pin)))
            goto nomem;
        curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(remaining_ms > 0 ? remaining_ms : 1));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(remaining_ms < CONNECT_TIMEOUT_MS ? (remaining_ms > 0 ? remaining_ms : 1)
                                                              : CONNECT_TIMEOUT_MS));
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, tr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, tr);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "Loupe-Webhooks/1");
    if (with_body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    if (strcmp(method, "GET") == 0)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else if (!with_body || strcmp(method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);

    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        map_curl_error(cc, tr, errbuf, tr->p->timeout_ms, err);
        goto cleanup;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (*status >= 300 && *status < 400 && curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &redirect) == CURLE_OK &&
        redirect) {
        if (!(*next_url = strdup(redirect)))
            goto nomem;
    }
    rc = 0;
    goto cleanup;

nomem:
    lp_error_set(err, LP_E_NOMEM, "out of memory preparing an HTTP request");
cleanup:
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_RESOLVE, NULL);
    curl_slist_free_all(hdrs);
    curl_slist_free_all(resolve);
    return rc;
}

int lp_net_fetch(lp_net_client *c, const lp_net_policy *p, const lp_net_request *req, lp_net_response *out,
                 lp_error *err)
{
    transfer tr;
    target tg;
    int64_t start = lp_now_mono_ms();
    char *url = NULL, *next = NULL;
    const char *method = req->method ? req->method : "GET";
    int with_body = req->body != NULL, rc = -1;

    memset(out, 0, sizeof(out[0]));
    memset(&tr, 0, sizeof(tr));
    tr.p = p;
    tr.req = req;
    lp_buf_init(&tr.kept, req->keep_bytes);
    lp_error_clear(&tr.guard);
    if (!(url = strdup(req->url ? req->url : ""))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        goto cleanup;
    }
    for (int hop = 0;; hop++) {
        long status = 0;
        int64_t remaining = p->timeout_ms - (lp_now_mono_ms() - start);
        if (parse_target(p, url, 1, &tg, err) != 0)
            goto cleanup;
        if (remaining <= 0) {
            lp_error_set(err, LP_E_TIMEOUT, "no complete answer within %lld ms", (long long)p->timeout_ms);
            goto cleanup;
        }
        lp_buf_reset(&tr.kept);
        tr.total = 0;
        if (one_hop(c, &tr, &tg, url, method, with_body, remaining, &status, &next, err) != 0)
            goto cleanup;
        out->status = status;
        if (!next)
            break;
        if (hop >= p->max_redirects) {
            free(next);
            next = NULL;
            if (p->max_redirects == 0)
                break; /* the caller sees the 3xx */
            lp_error_set(err, LP_E_UNAVAILABLE, "more than %d redirects", p->max_redirects);
            goto cleanup;
        }
        free(url);
        url = next;
        next = NULL;
        if (status == 301 || status == 302 || status == 303) {
            method = "GET";
            with_body = 0;
        }
    }
    out->total_bytes = tr.total;
    out->body_len = tr.kept.len;
    out->body = lp_buf_steal(&tr.kept, NULL);
    if (!out->body && !(out->body = calloc(1, 1))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        goto cleanup;
    }
    rc = 0;

cleanup:
    out->elapsed_ms = lp_now_mono_ms() - start;
    lp_strlcpy(out->address, tr.address, sizeof(out->address));
    lp_buf_free(&tr.kept);
    free(url);
    return rc;
}
