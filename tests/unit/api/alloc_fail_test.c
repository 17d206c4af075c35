/* Allocation-failure injection on the request path (asan preset only:
 * loupe/core/alloc_fail.h). Each request below runs once to count the arena
 * and buffer allocations it makes, then once for every n up to that count
 * with the n-th allocation failing, through the real server, router and
 * handlers (an in-process louped without a database, inproc_server.h).
 * Every such request must answer as it does normally, or with a 500-class
 * application/problem+json; the request after it must answer normally again;
 * and nothing may leak (LeakSanitizer checks at exit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "inproc_server.h"
#include "loupe/core/alloc_fail.h"

typedef struct case_t {
    const char *method, *path, *body;
    int status; /* the answer without failures */
} case_t;

static const case_t cases[] = {
    {"GET", "/healthz", NULL, 200},
    {"GET", "/api/v1/openapi.json", NULL, 200},
    {"GET", "/api/v1/no-such-route", NULL, 404},
    {"DELETE", "/api/v1/datasets", NULL, 405},
    {"POST", "/api/v1/datasets", "{\"name\": 5, \"slug\": \"a\\u0001\", \"extra\": [1, 2]}", 422},
    {"POST", "/api/v1/datasets", "{\"name\": \"cats\"}", 503},
    {"POST", "/api/v1/datasets", "{\"name\": ", 400},
    {"POST", "/api/v1/webhooks", "{\"url\": \"http://2130706433/x\", \"events\": [\"item.*\"]}", 422},
    {"GET", "/api/v1/datasets?page[size]=0&page[after]=%ff", NULL, 400},
    {"POST", "/api/v1/items/" FZ_OBJECT_ID "/annotations/batch",
     "{\"annotations\": [{\"type\": \"polygon\", \"data\": {\"paths\": [[{\"x\": 1e999}]]}}]}", 422},
};

static int send_case(const fz_server *s, const case_t *c, char *resp, size_t cap)
{
    char req[1024];
    size_t blen = c->body ? strlen(c->body) : 0;
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n", c->method, c->path);
    if (c->body)
        n += snprintf(req + n, sizeof req - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", blen, c->body);
    else
        n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    return fz_server_send(s, req, (size_t)n, resp, cap);
}

static void test_every_allocation_fails_cleanly(void **state)
{
    (void)state;
    fz_server *s = fz_server_get();
    static char resp[1 << 16];
    assert_non_null(s);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const case_t *c = &cases[i];
        lp_alloc_fail_arm(0);
        int status = send_case(s, c, resp, sizeof resp);
        long count = lp_alloc_fail_count();
        if (status != c->status)
            fail_msg("%s %s: answered %d, expected %d:\n%s", c->method, c->path, status, c->status, resp);
        assert_true(count > 0);
        long absorbed = 0;
        for (long n = 1; n <= count; n++) {
            lp_alloc_fail_arm(n);
            status = send_case(s, c, resp, sizeof resp);
            if (status == c->status)
                absorbed++;
            else if (status < 500 || status > 599 || !strstr(resp, "application/problem+json"))
                fail_msg("%s %s with allocation %ld of %ld failing: answered %d, expected %d or a 5xx problem:\n%s",
                         c->method, c->path, n, count, status, c->status, resp);
            lp_alloc_fail_arm(0);
            status = send_case(s, c, resp, sizeof resp);
            if (status != c->status)
                fail_msg("%s %s: the request after allocation %ld failed answered %d, expected %d", c->method, c->path,
                         n, status, c->status);
        }
        printf("%s %s: %ld allocations, each failed once: %ld absorbed, %ld answered 5xx\n", c->method, c->path,
               count, absorbed, count - absorbed);
    }
    lp_http_server_stop(s->srv);
    s->srv = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
