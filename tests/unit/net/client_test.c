/* The HTTP client against real listeners on loopback: a refused address is
 * never connected to (directly, by name or through a redirect), an allowed
 * one answers; redirect, size and time limits; several requests at once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "loupe/net/client.h"

typedef struct server {
    int fd, port;
    atomic_int conns, stop;
    char response[512]; /* written after the request head; "" = never answer */
    pthread_t th;
} server;

static void *serve(void *arg)
{
    server *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {s->fd, POLLIN, 0};
        char buf[4096];
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        atomic_fetch_add(&s->conns, 1);
        ssize_t n = recv(c, buf, sizeof(buf), 0);
        if (n > 0 && s->response[0])
            (void)!write(c, s->response, strlen(s->response));
        while (!s->response[0] && !atomic_load(&s->stop)) {
            struct pollfd q = {c, POLLIN, 0};
            if (poll(&q, 1, 50) > 0 && recv(c, buf, sizeof(buf), 0) <= 0)
                break;
        }
        close(c);
    }
    return NULL;
}

static void server_start(server *s, const char *addr, const char *response)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int one = 1;
    memset(s, 0, sizeof(*s));
    snprintf(s->response, sizeof(s->response), "%s", response);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    inet_pton(AF_INET, addr, &a.sin_addr);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    getsockname(s->fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static int server_stop(server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    close(s->fd);
    return atomic_load(&s->conns);
}

typedef struct fixture {
    lp_net_allowlist allow;
    lp_net_policy p;
    lp_net_client *c;
    server refused;   /* on 127.0.0.1: must never see a connection */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    lp_error err;
    lp_error_clear(&err);
    if (!f || lp_net_allowlist_parse("127.0.0.2/32", &f->allow, &err) != 0)
        return -1;
    f->p = (lp_net_policy){&f->allow, 1, 3, 2000, 1 << 20};
    f->c = lp_net_client_new(&err);
    server_start(&f->refused, "127.0.0.1", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    *state = f;
    return f->c ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int seen = server_stop(&f->refused);
    lp_net_client_free(f->c);
    free(f);
    return seen == 0 ? 0 : -1; /* the refused listener saw no connection */
}

static int fetch(fixture *f, const char *url, lp_net_response *r, lp_error *err)
{
    lp_net_request req = {.method = "POST", .url = url, .body = "{}", .body_len = 2, .keep_bytes = 16};
    lp_error_clear(err);
    return lp_net_fetch(f->c, &f->p, &req, r, err);
}

static void test_allowed_address_answers(void **state)
{
    fixture *f = *state;
    server ok;
    char url[128];
    lp_net_response r;
    lp_error err;
    server_start(&ok, "127.0.0.2",
                 "HTTP/1.1 201 Created\r\nContent-Length: 40\r\nConnection: close\r\n\r\n"
                 "0123456789012345678901234567890123456789");
    snprintf(url, sizeof(url), "http://127.0.0.2:%d/hook", ok.port);
    assert_int_equal(fetch(f, url, &r, &err), 0);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.total_bytes, 40);
    assert_int_equal(r.body_len, 16); /* keep_bytes */
    assert_memory_equal(r.body, "0123456789012345", 16);
    assert_string_equal(r.address, "127.0.0.2");
    lp_net_response_free(&r);
    assert_int_equal(server_stop(&ok), 1);
}

static void test_refused_address_is_never_connected(void **state)
{
    fixture *f = *state;
    char url[128];
    lp_net_response r;
    lp_error err;
    const char *forms[] = {"127.0.0.1", "2130706433", "0x7f000001", "017700000001", "localhost", "[::ffff:127.0.0.1]"};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(url, sizeof(url), "http://%s:%d/", forms[i], f->refused.port);
        assert_int_equal(fetch(f, url, &r, &err), -1);
        assert_int_equal(err.code, LP_E_FORBIDDEN);
        assert_non_null(strstr(err.message, "is not allowed (loopback)"));
        assert_int_equal(r.status, 0);
        lp_net_response_free(&r);
    }
}

static void test_redirect_to_refused_address(void **state)
{
    fixture *f = *state;
    server hop;
    char url[128], resp[256];
    lp_net_response r;
    lp_error err;
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:%d/x\r\nContent-Length: 0\r\n"
             "Connection: close\r\n\r\n", f->refused.port);
    server_start(&hop, "127.0.0.2", resp);
    snprintf(url, sizeof(url), "http://127.0.0.2:%d/", hop.port);
    assert_int_equal(fetch(f, url, &r, &err), -1);
    assert_int_equal(err.code, LP_E_FORBIDDEN);
    assert_string_equal(err.message, "address 127.0.0.1 is not allowed (loopback)");
    lp_net_response_free(&r);
    assert_int_equal(server_stop(&hop), 1);
}

static void test_redirect_limit(void **state)
{
    fixture *f = *state;
    server loop;
    char url[128], resp[256];
    lp_net_response r;
    lp_error err;
    /* redirects to itself, forever */
    server_start(&loop, "127.0.0.2", "");
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:%d/again\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
             loop.port);
    snprintf(loop.response, sizeof(loop.response), "%s", resp);
    snprintf(url, sizeof(url), "http://127.0.0.2:%d/", loop.port);
    assert_int_equal(fetch(f, url, &r, &err), -1);
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    assert_non_null(strstr(err.message, "more than 3 redirects"));
    lp_net_response_free(&r);
    assert_int_equal(server_stop(&loop), 4);
}

static void test_size_and_time_caps(void **state)
{
    fixture *f = *state;
    server big, slow;
    char url[128];
    lp_net_response r;
    lp_error err;
    server_start(&big, "127.0.0.2", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"
                                    "0123456789012345678901234567890123456789012345678901234567890123456789"
                                    "012345678901234567890123456789");
    f->p.max_response_bytes = 50;
    snprintf(url, sizeof(url), "http://127.0.0.2:%d/", big.port);
    assert_int_equal(fetch(f, url, &r, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    lp_net_response_free(&r);
    server_stop(&big);

    server_start(&slow, "127.0.0.2", "");
    f->p.timeout_ms = 300;
    snprintf(url, sizeof(url), "http://127.0.0.2:%d/", slow.port);
    assert_int_equal(fetch(f, url, &r, &err), -1);
    assert_int_equal(err.code, LP_E_TIMEOUT);
    assert_true(r.elapsed_ms >= 250);
    lp_net_response_free(&r);
    server_stop(&slow);
    f->p.timeout_ms = 2000;
    f->p.max_response_bytes = 1 << 20;
}

/* Several requests at once, each under the guard: the allowed ones answer
 * (at most two at a time to one host), a refused literal and a redirect to
 * a refused address fail alone, and the refused listener sees nothing. */
static void test_many_at_once(void **state)
{
    fixture *f = *state;
    server ok, hop;
    char ok_url[128], hop_url[128], refused_url[128], resp[256];
    lp_net_request reqs[7];
    lp_net_response rs[7];
    lp_error errs[7];
    int rcs[7];
    server_start(&ok, "127.0.0.2", "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:%d/x\r\nContent-Length: 0\r\n"
             "Connection: close\r\n\r\n", f->refused.port);
    server_start(&hop, "127.0.0.2", resp);
    snprintf(ok_url, sizeof(ok_url), "http://127.0.0.2:%d/hook", ok.port);
    snprintf(hop_url, sizeof(hop_url), "http://127.0.0.2:%d/", hop.port);
    snprintf(refused_url, sizeof(refused_url), "http://127.0.0.1:%d/", f->refused.port);
    for (int i = 0; i < 7; i++)
        reqs[i] = (lp_net_request){.method = "POST", .url = ok_url, .body = "{}", .body_len = 2, .keep_bytes = 16};
    reqs[2].url = refused_url;
    reqs[4].url = hop_url;
    assert_int_equal(lp_net_fetch_many(f->c, &f->p, reqs, 7, 2, rs, rcs, errs), 0);
    for (int i = 0; i < 7; i++) {
        if (i == 2 || i == 4) {
            assert_int_equal(rcs[i], -1);
            assert_int_equal(errs[i].code, LP_E_FORBIDDEN);
            assert_string_equal(errs[i].message, "address 127.0.0.1 is not allowed (loopback)");
        } else {
            assert_int_equal(rcs[i], 0);
            assert_int_equal(rs[i].status, 201);
            assert_string_equal(rs[i].body, "ok");
        }
        lp_net_response_free(&rs[i]);
    }
    assert_int_equal(server_stop(&ok), 5);
    assert_int_equal(server_stop(&hop), 1);
}

/* What a progress callback saw. */
typedef struct seen {
    int times[5];      /* how often each request was reported */
    int final_ok;      /* reported requests whose answer was already complete */
    int calls;
    const int *rcs;
    const lp_net_response *rs;
} seen;

static int64_t on_progress(void *ctx, const size_t *done, size_t ndone)
{
    seen *v = ctx;
    v->calls++;
    for (size_t k = 0; k < ndone; k++) {
        v->times[done[k]]++;
        if (v->rcs[done[k]] == 0 && v->rs[done[k]].status == 201 && strcmp(v->rs[done[k]].body, "ok") == 0)
            v->final_ok++;
    }
    return 5;
}

/* lp_net_fetch_many_progress reports each request once, when its answer
 * (or its refusal) is final. */
static void test_progress_reports_each_request_once(void **state)
{
    fixture *f = *state;
    server ok;
    char ok_url[128], refused_url[128];
    lp_net_request reqs[5];
    lp_net_response rs[5];
    lp_error errs[5];
    int rcs[5];
    seen v = {.rcs = rcs, .rs = rs};
    lp_net_progress pg = {on_progress, &v};
    server_start(&ok, "127.0.0.2", "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    snprintf(ok_url, sizeof(ok_url), "http://127.0.0.2:%d/hook", ok.port);
    snprintf(refused_url, sizeof(refused_url), "http://127.0.0.1:%d/", f->refused.port);
    for (int i = 0; i < 5; i++)
        reqs[i] = (lp_net_request){.method = "POST", .url = ok_url, .body = "{}", .body_len = 2, .keep_bytes = 16};
    reqs[1].url = refused_url;
    assert_int_equal(lp_net_fetch_many_progress(f->c, &f->p, reqs, 5, 2, rs, rcs, errs, &pg), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(v.times[i], 1);
        lp_net_response_free(&rs[i]);
    }
    assert_int_equal(v.final_ok, 4);
    assert_int_equal(rcs[1], -1);
    assert_int_equal(errs[1].code, LP_E_FORBIDDEN);
    assert_true(v.calls >= 1);
    assert_int_equal(server_stop(&ok), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed_address_answers),
        cmocka_unit_test(test_refused_address_is_never_connected),
        cmocka_unit_test(test_redirect_to_refused_address),
        cmocka_unit_test(test_redirect_limit),
        cmocka_unit_test(test_size_and_time_caps),
        cmocka_unit_test(test_many_at_once),
        cmocka_unit_test(test_progress_reports_each_request_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
