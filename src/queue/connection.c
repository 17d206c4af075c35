/* RabbitMQ connection: URL parsing (one URL or a list of cluster nodes),
 * connect/login, close, error mapping, idle servicing.
 * See include/loupe/queue/connection.h. */
#include "loupe/queue/connection.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "queue_int.h"

#define URL_MAX 1024

void lp_amqp_timeval(int64_t ms, struct timeval *tv)
{
    if (ms < 0)
        ms = 0;
    tv->tv_sec = (time_t)(ms / 1000);
    tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

amqp_bytes_t lp_amqp_cstr(const char *s)
{
    amqp_bytes_t b;
    b.len = strlen(s);
    b.bytes = (void *)s;
    return b;
}

static int copy_part(char *dst, size_t cap, const char *src, const char *part, lp_error *err)
{
    if (lp_strlcpy(dst, src ? src : "", cap) >= cap)
        return lp_error_field(err, LP_E_INVALID, "amqp_url", "the %s of the RabbitMQ URL is longer than %zu bytes",
                              part, cap - 1);
    return 0;
}

int lp_amqp_url_parse(const char *url, lp_amqp_url *out, lp_error *err)
{
    char buf[URL_MAX];
    struct amqp_connection_info info;

    memset(out, 0, sizeof(*out));
    if (!url || !*url)
        return lp_error_field(err, LP_E_INVALID, "amqp_url", "the RabbitMQ URL is empty; set amqp_url to "
                                                             "amqp://user:password@host:port");
    if (lp_strlcpy(buf, url, sizeof(buf)) >= sizeof(buf))
        return lp_error_field(err, LP_E_INVALID, "amqp_url", "the RabbitMQ URL is longer than %d bytes",
                              URL_MAX - 1);
    if (strncmp(buf, "amqps://", 8) == 0)
        return lp_error_field(err, LP_E_INVALID, "amqp_url",
                              "amqps:// (TLS) is not supported; use amqp:// on a trusted network or a TLS tunnel");
    if (strncmp(buf, "amqp://", 7) != 0)
        return lp_error_field(err, LP_E_INVALID, "amqp_url", "the RabbitMQ URL must start with amqp://");
    amqp_default_connection_info(&info);
    if (amqp_parse_url(buf, &info) != AMQP_STATUS_OK)
        return lp_error_field(err, LP_E_INVALID, "amqp_url",
                              "the RabbitMQ URL is malformed; expected amqp://user:password@host:port[/vhost]");
    if (!info.host || !*info.host)
        return lp_error_field(err, LP_E_INVALID, "amqp_url", "the RabbitMQ URL has no host");
    if (!info.vhost || !*info.vhost)
        return lp_error_field(err, LP_E_INVALID, "amqp_url",
                              "the RabbitMQ URL names an empty vhost (it ends with '/'); drop the trailing '/' "
                              "for the default vhost \"/\"");
    if (info.port <= 0 || info.port > 65535)
        return lp_error_field(err, LP_E_INVALID, "amqp_url", "the port of the RabbitMQ URL is out of range");
    if (copy_part(out->host, sizeof(out->host), info.host, "host", err) ||
        copy_part(out->user, sizeof(out->user), info.user, "user", err) ||
        copy_part(out->password, sizeof(out->password), info.password, "password", err) ||
        copy_part(out->vhost, sizeof(out->vhost), info.vhost, "vhost", err))
        return -1;
    out->port = info.port;
    return 0;
}

/* Parses a comma-separated list of URLs into out[0..*n). */
static int url_list_parse(const char *urls, lp_amqp_url *out, size_t *n, lp_error *err)
{
    const char *p = urls ? urls : "";

    *n = 0;
    for (;;) {
        char one[URL_MAX];
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (*n == LP_AMQP_URLS_MAX)
            return lp_error_field(err, LP_E_INVALID, "amqp_url", "amqp_url lists more than %d RabbitMQ URLs",
                                  LP_AMQP_URLS_MAX);
        if (len >= sizeof(one))
            return lp_error_field(err, LP_E_INVALID, "amqp_url", "the RabbitMQ URL is longer than %d bytes",
                                  URL_MAX - 1);
        memcpy(one, p, len);
        one[len] = '\0';
        if (lp_amqp_url_parse(one, &out[*n], err)) {
            if (end || *n)
                lp_error_detail(err, "In URL %zu of the comma-separated list amqp_url.", *n + 1);
            return -1;
        }
        (*n)++;
        if (!end)
            return 0;
        p = end + 1;
    }
}

int lp_amqp_url_list_check(const char *urls, lp_error *err)
{
    lp_amqp_url u[LP_AMQP_URLS_MAX];
    size_t n;

    return url_list_parse(urls, u, &n, err) ? -1 : (int)n;
}

void lp_amqp_url_redact(const lp_amqp_url *u, char *out, size_t cap)
{
    snprintf(out, cap, "amqp://%s@%s:%d/%s", u->user, u->host, u->port, u->vhost);
}

int lp_amqp_fail_status(lp_amqp *c, int status, const char *what, lp_error *err)
{
    if (c)
        c->broken = 1;
    lp_error_set(err, LP_E_UNAVAILABLE, "%s failed on RabbitMQ at %s: %s", what, c ? c->where : "?",
                 amqp_error_string2(status));
    return -1;
}

static void reply_text(const amqp_bytes_t *b, char *out, size_t cap)
{
    size_t n = b->len < cap - 1 ? b->len : cap - 1;
    if (n)
        memcpy(out, b->bytes, n);
    out[n] = '\0';
}

/* Answers a server-initiated close and describes it. */
static void answer_close(lp_amqp *c, const amqp_method_t *m, char *why, size_t cap)
{
    if (m->id == AMQP_CONNECTION_CLOSE_METHOD) {
        const amqp_connection_close_t *cl = m->decoded;
        char text[256];
        amqp_connection_close_ok_t ok;
        reply_text(&cl->reply_text, text, sizeof(text));
        snprintf(why, cap, "the broker closed the connection (%u %s)", cl->reply_code, text);
        amqp_send_method(c->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    } else if (m->id == AMQP_CHANNEL_CLOSE_METHOD) {
        const amqp_channel_close_t *cl = m->decoded;
        char text[256];
        amqp_channel_close_ok_t ok;
        reply_text(&cl->reply_text, text, sizeof(text));
        snprintf(why, cap, "the broker closed the channel (%u %s)", cl->reply_code, text);
        amqp_send_method(c->conn, LP_AMQP_CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    } else {
        snprintf(why, cap, "unexpected method 0x%08x from the broker", (unsigned)m->id);
    }
}

int lp_amqp_check_reply(lp_amqp *c, amqp_rpc_reply_t r, const char *what, lp_error *err)
{
    char why[400];

    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return 0;
    case AMQP_RESPONSE_NONE:
        snprintf(why, sizeof(why), "no reply from the broker");
        break;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(why, sizeof(why), "%s", amqp_error_string2(r.library_error));
        break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
    default:
        answer_close(c, &r.reply, why, sizeof(why));
        break;
    }
    c->broken = 1;
    return lp_error_set(err, LP_E_UNAVAILABLE, "%s failed on RabbitMQ at %s: %s", what, c->where, why);
}

int lp_amqp_handle_async_method(lp_amqp *c, const amqp_frame_t *f, lp_error *err)
{
    char why[400];

    if (f->frame_type != AMQP_FRAME_METHOD)
        return 0;
    switch (f->payload.method.id) {
    case AMQP_CONNECTION_CLOSE_METHOD:
    case AMQP_CHANNEL_CLOSE_METHOD:
        answer_close(c, &f->payload.method, why, sizeof(why));
        c->broken = 1;
        return lp_error_set(err, LP_E_UNAVAILABLE, "RabbitMQ at %s: %s", c->where, why);
    case AMQP_BASIC_CANCEL_METHOD:
        /* The server cancelled a consumer: its queue was deleted. Reconnecting
         * redeclares the topology and consumes again. */
        c->broken = 1;
        return lp_error_set(err, LP_E_UNAVAILABLE, "RabbitMQ at %s cancelled a consumer (was its queue deleted?)",
                            c->where);
    case AMQP_CONNECTION_BLOCKED_METHOD:
        LP_WARN("queue", "RabbitMQ at %s blocks publishers (memory or disk alarm)", c->where);
        return 0;
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        LP_INFO("queue", "RabbitMQ at %s unblocked publishers", c->where);
        return 0;
    default:
        return 0;
    }
}

/* Connects to one node. */
static lp_amqp *connect_one(const lp_amqp_url *u, int heartbeat_s, int64_t timeout_ms, lp_error *err)
{
    lp_amqp *c = NULL;
    amqp_socket_t *sock;
    struct timeval tv;
    char redacted[sizeof(c->where)];
    int status;

    c = calloc(1, sizeof(*c));
    if (!c) {
        lp_error_set(err, LP_E_NOMEM, "out of memory connecting to RabbitMQ");
        return NULL;
    }
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    c->next_tag = 1;
    lp_amqp_url_redact(u, redacted, sizeof(redacted));
    snprintf(c->where, sizeof(c->where), "%s:%d/%s", u->host, u->port, u->vhost);
    c->conn = amqp_new_connection();
    if (!c->conn) {
        free(c);
        lp_error_set(err, LP_E_NOMEM, "out of memory connecting to RabbitMQ");
        return NULL;
    }
    sock = amqp_tcp_socket_new(c->conn);
    if (!sock) {
        lp_error_set(err, LP_E_NOMEM, "out of memory connecting to RabbitMQ");
        goto cleanup;
    }
    lp_amqp_timeval(c->timeout_ms, &tv);
    status = amqp_socket_open_noblock(sock, u->host, u->port, &tv);
    if (status != AMQP_STATUS_OK) {
        lp_error_set(err, LP_E_UNAVAILABLE, "cannot connect to RabbitMQ at %s: %s", redacted,
                     amqp_error_string2(status));
        lp_error_hint(err, "Check that the broker runs and that amqp_url is right.");
        goto cleanup;
    }
    amqp_set_handshake_timeout(c->conn, &tv);
    amqp_set_rpc_timeout(c->conn, &tv);
    if (lp_amqp_check_reply(c, amqp_login(c->conn, u->vhost, 0, 131072, heartbeat_s, AMQP_SASL_METHOD_PLAIN,
                                          u->user, u->password),
                            "login", err)) {
        lp_error_hint(err, "Check the user, password and vhost in amqp_url (%s).", redacted);
        goto cleanup;
    }
    amqp_channel_open(c->conn, LP_AMQP_CHANNEL);
    if (lp_amqp_check_reply(c, amqp_get_rpc_reply(c->conn), "channel.open", err))
        goto cleanup;
    return c;

cleanup:
    c->broken = 1;
    lp_amqp_close(c);
    return NULL;
}

/* Where the next connect starts in a list of nodes: one further each call, so
 * that a process's connections spread over the cluster. */
static atomic_uint next_node;

lp_amqp *lp_amqp_connect(const char *url, int heartbeat_s, int64_t timeout_ms, lp_error *err)
{
    lp_amqp_url u[LP_AMQP_URLS_MAX];
    lp_error local;
    size_t n, first;

    if (!err)
        err = &local;
    if (url_list_parse(url, u, &n, err))
        return NULL;
    first = n > 1 ? atomic_fetch_add(&next_node, 1u) % n : 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = (first + i) % n;
        lp_amqp *c;

        lp_error_clear(err);
        c = connect_one(&u[k], heartbeat_s, timeout_ms, err);
        if (c)
            return c;
        if (err->code == LP_E_NOMEM)
            return NULL;
        if (n > 1 && i + 1 < n)
            LP_INFO("queue", "%s; trying the next RabbitMQ node of amqp_url", err->message);
    }
    if (n > 1)
        lp_error_detail(err, "None of the %zu RabbitMQ nodes listed in amqp_url accepted a connection.", n);
    return NULL;
}

void lp_amqp_close(lp_amqp *c)
{
    if (!c)
        return;
    if (!c->broken) {
        amqp_channel_close(c->conn, LP_AMQP_CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(c->conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(c->conn);
    free(c);
}

int lp_amqp_ok(const lp_amqp *c)
{
    return c && !c->broken;
}

const char *lp_amqp_where(const lp_amqp *c)
{
    return c ? c->where : "";
}

int lp_amqp_pump(lp_amqp *c, lp_error *err)
{
    struct timeval zero = {0, 0};
    amqp_frame_t f;

    if (c->broken)
        return lp_error_set(err, LP_E_UNAVAILABLE, "the connection to RabbitMQ at %s is broken", c->where);
    for (int i = 0; i < 64; i++) {
        int status = amqp_simple_wait_frame_noblock(c->conn, &f, &zero);
        if (status == AMQP_STATUS_TIMEOUT)
            break;
        if (status != AMQP_STATUS_OK)
            return lp_amqp_fail_status(c, status, "reading from the connection", err);
        if (lp_amqp_handle_async_method(c, &f, err))
            return -1;
    }
    amqp_maybe_release_buffers(c->conn);
    return 0;
}
