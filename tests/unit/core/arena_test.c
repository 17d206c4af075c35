#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "loupe/core/arena.h"

static void alloc_is_aligned_and_usable(void **state)
{
    lp_arena *a = lp_arena_new(64, 0);
    assert_non_null(a);
    for (int i = 1; i < 200; i++) {
        unsigned char *p = lp_arena_alloc(a, (size_t)i);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, (size_t)i);
    }
    assert_true(lp_arena_used(a) >= 199 * 100 / 2);
    lp_arena_free(a);
}

static void large_allocation_gets_its_own_block(void **state)
{
    lp_arena *a = lp_arena_new(128, 0);
    char *big = lp_arena_alloc(a, 100000);
    assert_non_null(big);
    memset(big, 1, 100000);
    char *small = lp_arena_alloc(a, 8);
    assert_non_null(small);
    lp_arena_free(a);
}

static void ceiling_is_enforced(void **state)
{
    lp_arena *a = lp_arena_new(1024, 4096);
    assert_non_null(lp_arena_alloc(a, 1000));
    assert_null(lp_arena_alloc(a, 8192));
    /* small allocations still fit until the ceiling */
    int n = 0;
    while (lp_arena_alloc(a, 64))
        n++;
    assert_true(n > 0);
    assert_true(lp_arena_used(a) <= 4096);
    lp_arena_free(a);
}

static void overflowing_calloc_fails(void **state)
{
    lp_arena *a = lp_arena_new(0, 0);
    assert_null(lp_arena_calloc(a, SIZE_MAX / 2, 4));
    int *z = lp_arena_calloc(a, 10, sizeof(int));
    assert_non_null(z);
    for (int i = 0; i < 10; i++)
        assert_int_equal(z[i], 0);
    lp_arena_free(a);
}

static void strings(void **state)
{
    lp_arena *a = lp_arena_new(0, 0);
    assert_string_equal(lp_arena_strdup(a, "hello"), "hello");
    assert_string_equal(lp_arena_strndup(a, "hello", 3), "hel");
    assert_null(lp_arena_strdup(a, NULL));
    assert_string_equal(lp_arena_printf(a, "%d-%s", 42, "x"), "42-x");
    lp_arena_free(a);
}

static void reset_reuses_memory(void **state)
{
    lp_arena *a = lp_arena_new(256, 0);
    for (int i = 0; i < 100; i++)
        lp_arena_alloc(a, 200);
    lp_arena_reset(a);
    assert_int_equal(lp_arena_used(a), 0);
    assert_non_null(lp_arena_alloc(a, 100));
    lp_arena_free(a);
    lp_arena_free(NULL);
}

/* Each call appends its tag to the log: log[0] counts, log[1..] are the tags. */
typedef struct deferred_call {
    int *log;
    int tag;
} deferred_call;

static void record(void *arg)
{
    deferred_call *c = arg;
    c->log[++c->log[0]] = c->tag;
}

static void deferred_run_last_first_on_reset_and_free(void **state)
{
    int log[4] = {0};
    deferred_call c1 = {log, 1}, c2 = {log, 2}, c3 = {log, 3};
    lp_arena *a = lp_arena_new(0, 0);
    assert_int_equal(lp_arena_defer(a, record, &c1), 0);
    lp_arena_reset(a);
    assert_int_equal(log[0], 1); /* ran at reset, then forgotten */
    assert_int_equal(lp_arena_defer(a, record, &c2), 0);
    assert_int_equal(lp_arena_defer(a, record, &c3), 0);
    lp_arena_free(a);
    assert_int_equal(log[0], 3);
    assert_int_equal(log[1], 1);
    assert_int_equal(log[2], 3); /* most recent first */
    assert_int_equal(log[3], 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alloc_is_aligned_and_usable), cmocka_unit_test(large_allocation_gets_its_own_block),
        cmocka_unit_test(ceiling_is_enforced),         cmocka_unit_test(overflowing_calloc_fails),
        cmocka_unit_test(strings),                     cmocka_unit_test(reset_reuses_memory),
        cmocka_unit_test(deferred_run_last_first_on_reset_and_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
