/* An in-process louped without a database: the real HTTP server (libmicrohttpd),
 * the real route table and handlers, on a loopback port, with a caller who
 * holds every permission and a database that is never there (lp_req_db answers
 * 503). A request therefore runs the router, the query and body readers and
 * the handler up to its first database call — which is where every handler
 * reads and checks its input — and must answer without a crash, a leak or a
 * 5xx other than that 503. Shared by the request fuzz targets and the
 * allocation-failure test; header-only so each includes it once. */
#ifndef LOUPE_TESTS_INPROC_SERVER_H
#define LOUPE_TESTS_INPROC_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loupe/api/routes.h"
#include "loupe/core/log.h"
#include "loupe/http/server.h"
#include "loupe/identity/credential_cache.h"
#include "loupe/identity/role.h"

#define FZ_TEAM_ID "00000000-0000-4000-8000-0000000000a1"
#define FZ_USER_ID "00000000-0000-4000-8000-0000000000b2"
#define FZ_OBJECT_ID "00000000-0000-4000-8000-0000000000c3"

typedef struct fz_server {
    lp_config cfg;
    lp_services svc;
    lp_http_server *srv;
    const lp_route *routes;
    size_t nroutes;
    uint16_t port;
} fz_server;

/* The caller: owner of FZ_TEAM_ID through an API key, every permission,
 * with the profile authentication keeps (GET /api/v1/me answers from it). */
static inline int fz_server_auth(void *auth, lp_req *req)
{
    static const lp_credential profile = {.kind = LP_CREDENTIAL_API_KEY, .id = FZ_OBJECT_ID, .user_id = FZ_USER_ID,
                                          .team_id = FZ_TEAM_ID, .role = LP_ROLE_OWNER, .user_email = "fuzz@example.com",
                                          .user_name = "Fuzz", .team_name = "Fuzz", .team_slug = "fuzz",
                                          .team_created_at = "2026-01-01T00:00:00Z"};
    (void)auth;
    req->who.authenticated = 1;
    req->who.via_session = 0;
    snprintf(req->who.user_id, sizeof req->who.user_id, "%s", FZ_USER_ID);
    snprintf(req->who.team_id, sizeof req->who.team_id, "%s", FZ_TEAM_ID);
    snprintf(req->who.credential_id, sizeof req->who.credential_id, "%s", FZ_OBJECT_ID);
    req->who.role = LP_ROLE_OWNER;
    req->who.role_name = "owner";
    req->who.perms = ~0u;
    req->who.profile = &profile;
    return 0;
}

/* The one server of the process, started on first use (NULL if it cannot start). */
static inline fz_server *fz_server_get(void)
{
    static fz_server s;
    static int started;
    lp_error err;
    if (started)
        return s.srv ? &s : NULL;
    started = 1;
    lp_error_clear(&err);
    lp_log_init(LP_LOG_OFF, 2);
    if (lp_config_defaults(&s.cfg, &err) != 0 || lp_config_set(&s.cfg, "http_port", "0", "test", &err) != 0 ||
        lp_config_set(&s.cfg, "http_threads", "1", "test", &err) != 0) {
        fprintf(stderr, "inproc_server: %s\n", err.message);
        return NULL;
    }
    s.svc.cfg = &s.cfg;
    s.svc.authenticate = fz_server_auth;
    s.svc.public_url = "http://127.0.0.1";
    s.routes = lp_api_routes(&s.nroutes);
    if (!(s.srv = lp_http_server_start(&s.svc, s.routes, s.nroutes, &err))) {
        fprintf(stderr, "inproc_server: %s\n", err.message);
        return NULL;
    }
    s.port = lp_http_server_port(s.srv);
    return &s;
}

/* One exchange of fz_server_send. The connection is closed with a reset
 * (SO_LINGER 0) so that tens of thousands of requests a minute leave no
 * sockets in TIME_WAIT to run out of local ports. */
static inline int fz_server_send_once(const fz_server *s, const void *req, size_t len, char *resp, size_t cap)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(s->port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = -1;
    size_t got = 0;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        goto done;
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, (const char *)req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer (413, 400) before reading everything */
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    for (;;) {
        char sink[4096];
        ssize_t n = got + 1 < cap ? recv(fd, resp + got, cap - 1 - got, 0) : recv(fd, sink, sizeof sink, 0);
        if (n <= 0)
            break;
        if (got + 1 < cap)
            got += (size_t)n;
    }
    resp[got] = '\0';
    if (strncmp(resp, "HTTP/1.", 7) == 0 && got >= 12)
        status = atoi(resp + 9);
done:
    close(fd);
    return status;
}

/* Sends the raw request (its own "Connection: close"), reads the whole
 * answer into resp (NUL-terminated, cut at cap) and returns its status code,
 * or -1 when, twice, the connection failed or the answer was not HTTP. */
static inline int fz_server_send(const fz_server *s, const void *req, size_t len, char *resp, size_t cap)
{
    int status = fz_server_send_once(s, req, len, resp, cap);
    if (status < 0) {
        usleep(10000);
        status = fz_server_send_once(s, req, len, resp, cap);
    }
    return status;
}

/* The route's pattern with {team_id} replaced by FZ_TEAM_ID, every other
 * {param} by FZ_OBJECT_ID and a {name*} by "a/b", into out. */
static inline void fz_server_path(const lp_route *r, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = r->pattern; *p && o + 40 < cap;) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            int rest = end && end > p && end[-1] == '*', team = strncmp(p, "{team_id}", 9) == 0;
            o += (size_t)snprintf(out + o, cap - o, "%s", rest ? "a/b" : team ? FZ_TEAM_ID : FZ_OBJECT_ID);
            p = end ? end + 1 : p + strlen(p);
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

#endif
