#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "loupe/core/buf.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"

/* The test binary links with -Wl,--wrap=realloc: lp_buf's allocations come here, and fail
 * while fail_realloc is set. */
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
static int fail_realloc;
void *__wrap_realloc(void *p, size_t n)
{
    return fail_realloc ? NULL : __real_realloc(p, n);
}

static void bounded_growth(void **state)
{
    lp_buf b;
    lp_buf_init(&b, 10);
    assert_int_equal(lp_buf_puts(&b, "hello"), 0);
    assert_int_equal(lp_buf_printf(&b, "%d", 1234), 0);
    assert_string_equal(b.data, "hello1234");
    assert_int_equal(lp_buf_puts(&b, "xx"), -1);
    assert_string_equal(b.data, "hello1234");
    assert_int_equal(lp_buf_puts(&b, "x"), 0);
    assert_int_equal(b.len, 10);
    size_t n;
    char *s = lp_buf_steal(&b, &n);
    assert_int_equal(n, 10);
    free(s);
    assert_null(b.data);
    lp_buf_free(&b);
}

/* Over the maximum and out of memory are different failures: 413 versus 503 "out of memory". */
static void over_limit_is_not_out_of_memory(void **state)
{
    lp_buf b;
    (void)state;
    lp_buf_init(&b, 8);
    assert_int_equal(lp_buf_puts(&b, "123456789"), LP_BUF_OVER_LIMIT);
    assert_int_equal(lp_buf_printf(&b, "%s", "123456789"), LP_BUF_OVER_LIMIT);
    assert_false(b.nomem);
    assert_int_equal(lp_buf_failure(&b), LP_E_TOO_LARGE);
    assert_int_equal(lp_code_http_status(lp_buf_failure(&b)), 413);

    lp_buf_init(&b, 1 << 20);
    assert_int_equal(lp_buf_puts(&b, "kept"), 0);
    fail_realloc = 1;
    assert_int_equal(lp_buf_append(&b, "x", 4096), LP_BUF_NOMEM); /* needs more than the first 256 bytes */
    assert_int_equal(lp_buf_printf(&b, "%4096d", 1), LP_BUF_NOMEM);
    fail_realloc = 0;
    assert_true(b.nomem);
    assert_string_equal(b.data, "kept"); /* unchanged */
    assert_int_equal(lp_buf_failure(&b), LP_E_NOMEM);
    assert_int_equal(lp_code_http_status(lp_buf_failure(&b)) / 100, 5);
    /* a reset starts over */
    lp_buf_reset(&b);
    assert_false(b.nomem);
    assert_int_equal(lp_buf_puts(&b, "again"), 0);
    lp_buf_free(&b);

    /* the very first allocation failing too */
    lp_buf_init(&b, 100);
    fail_realloc = 1;
    assert_int_equal(lp_buf_puts(&b, "x"), LP_BUF_NOMEM);
    fail_realloc = 0;
    assert_null(b.data);
    assert_int_equal(lp_buf_failure(&b), LP_E_NOMEM);
    lp_buf_free(&b);
}

static void json_escape(void **state)
{
    char out[64];
    size_t n = lp_json_escape(out, sizeof(out), "a\"b\\c\n\x01");
    assert_string_equal(out, "a\\\"b\\\\c\\n\\u0001");
    assert_int_equal(n, strlen(out));
    char small[4];
    n = lp_json_escape(small, sizeof(small), "abcdef");
    assert_int_equal(n, 6);
    assert_string_equal(small, "abc");
}

static void ids_and_utf8(void **state)
{
    char id[37];
    assert_int_equal(lp_uuid_v4(id), 0);
    assert_true(lp_is_uuid(id));
    assert_int_equal(id[14], '4');
    /* version 7: valid, in ascending order across batches of random bits,
     * the time in the first 48 bits */
    static char v7[600][37];
    int64_t before = lp_now_wall_ms();
    assert_int_equal(lp_uuid_v7(v7, 600), 0);
    for (size_t k = 0; k < 600; k++) {
        assert_true(lp_is_uuid(v7[k]));
        assert_int_equal(v7[k][14], '7');
        assert_non_null(strchr("89ab", v7[k][19]));
        assert_true(k == 0 || strcmp(v7[k - 1], v7[k]) < 0);
    }
    char ms_hex[13];
    snprintf(ms_hex, sizeof ms_hex, "%.8s%.4s", v7[0], v7[0] + 9);
    int64_t ms = (int64_t)strtoull(ms_hex, NULL, 16);
    assert_true(ms >= before && ms <= lp_now_wall_ms());
    assert_int_equal(lp_uuid_v7(v7, 1), 0);
    assert_true(strcmp(v7[599], v7[0]) < 0); /* a later call sorts after */
    assert_false(lp_is_uuid("not-a-uuid"));
    assert_false(lp_is_uuid("123e4567-e89b-12d3-a456-42661417400g"));
    assert_true(lp_utf8_valid("h\xc3\xa9llo", 6));
    assert_false(lp_utf8_valid("\xc3", 1));
    assert_false(lp_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    assert_false(lp_utf8_valid("\xc0\xaf", 2));     /* overlong */
    assert_true(lp_is_token("Content-Length"));
    assert_true(lp_is_token("x-amz-meta_1!#$%&'*+.^`|~"));
    assert_false(lp_is_token(""));
    assert_false(lp_is_token("Content-Length ")); /* space before the colon */
    assert_false(lp_is_token("Content-LengthContent-Length: 7"));
    assert_false(lp_is_token("a\tb"));
    assert_false(lp_is_token("a(b"));
    assert_false(lp_is_token("caf\xc3\xa9"));
    char ts[25];
    lp_time_iso8601(86400000LL + 1234, ts);
    assert_string_equal(ts, "1970-01-02T00:00:01.234Z");
}

/* lp_buf_extend: room filled in place, within the maximum only. */
static void extend_in_place(void **state)
{
    (void)state;
    lp_buf b;
    lp_buf_init(&b, 8);
    assert_int_equal(lp_buf_append(&b, "ab", 2), 0);
    char *at = lp_buf_extend(&b, 4);
    assert_non_null(at);
    assert_ptr_equal(at, b.data + 2);
    memcpy(at, "cdef", 4);
    assert_int_equal(b.len, 6);
    assert_string_equal(b.data, "abcdef");
    assert_null(lp_buf_extend(&b, 3)); /* 9 bytes: over the maximum */
    assert_int_equal(lp_buf_failure(&b), LP_E_TOO_LARGE);
    assert_int_equal(b.len, 6);
    assert_string_equal(b.data, "abcdef");
    lp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bounded_growth),
        cmocka_unit_test(extend_in_place),
        cmocka_unit_test(over_limit_is_not_out_of_memory),
        cmocka_unit_test(json_escape),
        cmocka_unit_test(ids_and_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
