#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "loupe/http/route.h"

static int h(lp_req *req) { return 0; }

static const lp_route table[] = {
    {"GET", "/healthz", h, LP_PERM_PUBLIC, LP_BODY_NONE, "GET /healthz"},
    {"GET", "/api/v1/items", h, LP_PERM_READ, LP_BODY_NONE, "GET /api/v1/items"},
    {"POST", "/api/v1/items/move", h, LP_PERM_ANNOTATE, LP_BODY_JSON, "POST /api/v1/items/move"},
    {"GET", "/api/v1/items/{id}", h, LP_PERM_READ, LP_BODY_NONE, "GET /api/v1/items/{id}"},
    {"PATCH", "/api/v1/items/{id}", h, LP_PERM_ANNOTATE, LP_BODY_JSON, "PATCH /api/v1/items/{id}"},
    {"GET", "/api/v1/items/{id}/slots/{slot}/frames/{n}", h, LP_PERM_READ, LP_BODY_NONE, "frames"},
    {"GET", "/", h, LP_PERM_PUBLIC, LP_BODY_NONE, "GET /"},
    {"GET", "/files/{key*}", h, LP_PERM_PUBLIC, LP_BODY_NONE, "GET /files/{key*}"},
};
#define N (sizeof(table) / sizeof(table[0]))

static void static_and_param_routes(void **state)
{
    lp_route_match m;
    assert_int_equal(lp_route_match_path(table, N, "GET", "/healthz", &m, NULL, 0), LP_ROUTE_FOUND);
    assert_ptr_equal(m.route, &table[0]);
    assert_int_equal(m.nparams, 0);
    /* a literal route declared before a parameter route wins */
    assert_int_equal(lp_route_match_path(table, N, "POST", "/api/v1/items/move", &m, NULL, 0), LP_ROUTE_FOUND);
    assert_ptr_equal(m.route, &table[2]);
    assert_int_equal(lp_route_match_path(table, N, "GET", "/api/v1/items/abc", &m, NULL, 0), LP_ROUTE_FOUND);
    assert_ptr_equal(m.route, &table[3]);
    assert_int_equal(m.nparams, 1);
    assert_int_equal(m.name_lens[0], 2);
    assert_memory_equal(m.names[0], "id", 2);
    assert_int_equal(m.value_lens[0], 3);
    assert_memory_equal(m.values[0], "abc", 3);
    assert_int_equal(lp_route_match_path(table, N, "GET", "/api/v1/items/i1/slots/cam0/frames/42", &m, NULL, 0),
                     LP_ROUTE_FOUND);
    assert_int_equal(m.nparams, 3);
    assert_memory_equal(m.values[2], "42", 2);
    assert_int_equal(lp_route_match_path(table, N, "GET", "/", &m, NULL, 0), LP_ROUTE_FOUND);
    assert_ptr_equal(m.route, &table[6]);
}

static void misses(void **state)
{
    lp_route_match m;
    assert_int_equal(lp_route_match_path(table, N, "GET", "/api/v1/items/", &m, NULL, 0), LP_ROUTE_NO_PATH);
    assert_int_equal(lp_route_match_path(table, N, "GET", "/api/v1/items//slots", &m, NULL, 0), LP_ROUTE_NO_PATH);
    assert_int_equal(lp_route_match_path(table, N, "GET", "/api/v1/items/a/b", &m, NULL, 0), LP_ROUTE_NO_PATH);
    assert_int_equal(lp_route_match_path(table, N, "GET", "/healthzz", &m, NULL, 0), LP_ROUTE_NO_PATH);
    assert_int_equal(lp_route_match_path(table, N, "GET", "healthz", &m, NULL, 0), LP_ROUTE_NO_PATH);
    assert_int_equal(lp_route_match_path(table, N, "GET", "", &m, NULL, 0), LP_ROUTE_NO_PATH);
    char allow[64];
    assert_int_equal(lp_route_match_path(table, N, "DELETE", "/api/v1/items/x", &m, allow, sizeof(allow)),
                     LP_ROUTE_NO_METHOD);
    assert_string_equal(allow, "GET, PATCH");
}

static void rest_of_path(void **state)
{
    lp_route_match m;
    assert_int_equal(lp_route_match_path(table, N, "GET", "/files/t1/items/a/b.jpg", &m, NULL, 0), LP_ROUTE_FOUND);
    assert_ptr_equal(m.route, &table[7]);
    assert_int_equal(m.nparams, 1);
    assert_int_equal(m.name_lens[0], 3);
    assert_memory_equal(m.names[0], "key", 3);
    assert_int_equal(m.value_lens[0], strlen("t1/items/a/b.jpg"));
    assert_int_equal(lp_route_match_path(table, N, "GET", "/files/", &m, NULL, 0), LP_ROUTE_NO_PATH);
}

/* "/{path*}" is the fallback: chosen only when no other route has the path. */
static void fallback_route(void **state)
{
    static const lp_route with_app[] = {
        {"GET", "/{path*}", h, LP_PERM_PUBLIC, LP_BODY_NONE, "GET /{path*}"},
        {"GET", "/healthz", h, LP_PERM_PUBLIC, LP_BODY_NONE, "GET /healthz"},
        {"POST", "/api/v1/items/move", h, LP_PERM_ANNOTATE, LP_BODY_JSON, "POST /api/v1/items/move"},
        {"GET", "/", h, LP_PERM_PUBLIC, LP_BODY_NONE, "GET /"},
    };
    size_t n = sizeof(with_app) / sizeof(with_app[0]);
    lp_route_match m;
    char allow[32];
    assert_int_equal(lp_route_match_path(with_app, n, "GET", "/healthz", &m, NULL, 0), LP_ROUTE_FOUND);
    assert_ptr_equal(m.route, &with_app[1]);
    assert_int_equal(lp_route_match_path(with_app, n, "GET", "/", &m, NULL, 0), LP_ROUTE_FOUND);
    assert_ptr_equal(m.route, &with_app[3]);
    assert_int_equal(lp_route_match_path(with_app, n, "HEAD", "/datasets/d1", &m, NULL, 0), LP_ROUTE_FOUND);
    assert_ptr_equal(m.route, &with_app[0]);
    assert_int_equal(m.nparams, 1);
    assert_int_equal(m.value_lens[0], strlen("datasets/d1"));
    /* a path another route has keeps its 405 */
    assert_int_equal(lp_route_match_path(with_app, n, "GET", "/api/v1/items/move", &m, allow, sizeof(allow)),
                     LP_ROUTE_NO_METHOD);
    assert_string_equal(allow, "POST");
    assert_int_equal(lp_route_match_path(with_app, n, "POST", "/datasets", &m, NULL, 0), LP_ROUTE_NO_PATH);
}

static void head_matches_get(void **state)
{
    lp_route_match m;
    assert_int_equal(lp_route_match_path(table, N, "HEAD", "/healthz", &m, NULL, 0), LP_ROUTE_FOUND);
    assert_ptr_equal(m.route, &table[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(static_and_param_routes),
        cmocka_unit_test(misses),
        cmocka_unit_test(head_matches_get),
        cmocka_unit_test(rest_of_path),
        cmocka_unit_test(fallback_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
