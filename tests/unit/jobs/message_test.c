/* Job message bodies: parse, validate, format (round trip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/jobs/message.h"

#define ID "0b7e3f1c-5d1a-4c1e-9a55-1f0e2d3c4b5a"

static void parse_ok(const char *body, lp_job_msg *m)
{
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_job_msg_parse(body, strlen(body), m, &err), 0);
}

static const lp_error *parse_bad(const char *body, lp_code code)
{
    static lp_error err;
    lp_job_msg m;
    lp_error_clear(&err);
    assert_int_equal(lp_job_msg_parse(body, strlen(body), &m, &err), -1);
    assert_int_equal(err.code, code);
    return &err;
}

static int has_field(const lp_error *e, const char *field)
{
    for (size_t i = 0; i < e->nfields; i++)
        if (strcmp(e->fields[i].field, field) == 0)
            return 1;
    return 0;
}

static void test_parse_minimal_defaults_attempt(void **state)
{
    lp_job_msg m;
    (void)state;
    parse_ok("{\"v\":1,\"job_id\":\"" ID "\",\"kind\":\"system.echo\"}", &m);
    assert_int_equal(m.v, 1);
    assert_string_equal(m.job_id, ID);
    assert_string_equal(m.kind, "system.echo");
    assert_int_equal(m.attempt, 1);
}

static void test_parse_ignores_unknown_members(void **state)
{
    lp_job_msg m;
    (void)state;
    parse_ok("{\"kind\":\"media.normalize\",\"job_id\":\"" ID "\",\"v\":1,\"attempt\":3,\"extra\":[1]}", &m);
    assert_int_equal(m.attempt, 3);
    assert_string_equal(m.kind, "media.normalize");
}

static void test_parse_rejects_garbage(void **state)
{
    (void)state;
    parse_bad("", LP_E_MALFORMED);
    parse_bad("not json", LP_E_MALFORMED);
    parse_bad("[1,2]", LP_E_MALFORMED);
    parse_bad("{\"v\":1,\"v\":1}", LP_E_MALFORMED); /* duplicate keys */
}

static void test_parse_names_bad_fields(void **state)
{
    const lp_error *e;
    (void)state;
    e = parse_bad("{}", LP_E_INVALID);
    assert_true(has_field(e, "v"));
    assert_true(has_field(e, "job_id"));
    assert_true(has_field(e, "kind"));
    e = parse_bad("{\"v\":2,\"job_id\":\"" ID "\",\"kind\":\"system.echo\"}", LP_E_INVALID);
    assert_true(has_field(e, "v"));
    assert_non_null(strstr(e->fields[0].message, "not supported"));
    e = parse_bad("{\"v\":1,\"job_id\":\"nope\",\"kind\":\"System.Echo\",\"attempt\":0}", LP_E_INVALID);
    assert_true(has_field(e, "job_id"));
    assert_true(has_field(e, "kind"));
    assert_true(has_field(e, "attempt"));
    assert_false(has_field(e, "v"));
}

static void test_format_round_trip(void **state)
{
    lp_job_msg m = {1, ID, "system.echo", 4, ""}, back;
    char out[512];
    (void)state;
    int n = lp_job_msg_format(&m, NULL, out, sizeof(out));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(out));
    parse_ok(out, &back);
    assert_string_equal(back.job_id, ID);
    assert_string_equal(back.kind, "system.echo");
    assert_int_equal(back.attempt, 4);

    n = lp_job_msg_format(&m, "disk \"full\"", out, sizeof(out));
    assert_true(n > 0);
    assert_non_null(strstr(out, "\"error\":\"disk \\\"full\\\"\""));
    parse_ok(out, &back);

    assert_int_equal(lp_job_msg_format(&m, NULL, out, 20), -1); /* does not fit */
    lp_job_msg bad = {1, "x", "system.echo", 1, ""};
    assert_int_equal(lp_job_msg_format(&bad, NULL, out, sizeof(out)), -1);
}

/* The trace rides along: kept through a round trip, absent in old messages,
 * and an invalid one is dropped without failing the message. */
static void test_traceparent_is_optional(void **state)
{
    static const char tp[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    lp_job_msg m = {1, ID, "system.echo", 1, ""}, back;
    char out[512];
    (void)state;
    assert_true(lp_job_msg_format(&m, NULL, out, sizeof(out)) > 0);
    assert_null(strstr(out, "traceparent"));
    parse_ok(out, &back);
    assert_string_equal(back.traceparent, "");

    memcpy(m.traceparent, tp, sizeof(tp));
    assert_true(lp_job_msg_format(&m, NULL, out, sizeof(out)) > 0);
    parse_ok(out, &back);
    assert_string_equal(back.traceparent, tp);

    parse_ok("{\"v\":1,\"job_id\":\"" ID "\",\"kind\":\"system.echo\",\"traceparent\":\"00-XYZ\"}", &back);
    assert_string_equal(back.traceparent, "");
    parse_ok("{\"v\":1,\"job_id\":\"" ID "\",\"kind\":\"system.echo\",\"traceparent\":7}", &back);
    assert_string_equal(back.traceparent, "");
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_true(lp_job_kind_name_valid("system.echo"));
    assert_true(lp_job_kind_name_valid("media.normalize_v2"));
    assert_true(lp_job_kind_name_valid("export"));
    assert_false(lp_job_kind_name_valid(""));
    assert_false(lp_job_kind_name_valid(".echo"));
    assert_false(lp_job_kind_name_valid("system."));
    assert_false(lp_job_kind_name_valid("system..echo"));
    assert_false(lp_job_kind_name_valid("system.2echo"));
    assert_false(lp_job_kind_name_valid("System.echo"));
    assert_false(lp_job_kind_name_valid("a-b"));
    char longest[LP_JOB_KIND_MAX + 2];
    memset(longest, 'a', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    assert_false(lp_job_kind_name_valid(longest));
    longest[LP_JOB_KIND_MAX] = '\0';
    assert_true(lp_job_kind_name_valid(longest));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_minimal_defaults_attempt), cmocka_unit_test(test_parse_ignores_unknown_members),
        cmocka_unit_test(test_parse_rejects_garbage),          cmocka_unit_test(test_parse_names_bad_fields),
        cmocka_unit_test(test_format_round_trip),              cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_traceparent_is_optional),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
