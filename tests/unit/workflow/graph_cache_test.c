/* The cache of validated workflow graphs (src/workflow/graph_cache.c): a
 * graph read once is handed out again for the same (workflow, version) and
 * not for another version; the least recently used graph makes way; a graph
 * let go while an arena borrows it stays readable until that arena is freed
 * (ASan runs catch a use after free or a leak); bad definitions are not
 * kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "loupe/workflow/graph_cache.h"
#include "wf_test.h"

#define WF_A "0190a0a0-0000-7000-8000-00000000000a"
#define WF_B "0190a0a0-0000-7000-8000-00000000000b"
#define DEF_ONE                                                                                                      \
    "{\"stages\":[{\"id\":\"in\",\"type\":\"dataset\"},"                                                             \
    "{\"id\":\"label\",\"type\":\"annotate\",\"config\":{\"assignees\":\"any\"}},"                                   \
    "{\"id\":\"done\",\"type\":\"complete\"}],\"edges\":[{\"from\":\"in\",\"port\":\"next\",\"to\":\"label\"},"      \
    "{\"from\":\"label\",\"port\":\"done\",\"to\":\"done\"}]}"
#define DEF_TWO                                                                                                       \
    "{\"stages\":[{\"id\":\"in\",\"type\":\"dataset\"},{\"id\":\"done\",\"type\":\"complete\"}],"                  \
    "\"edges\":[{\"from\":\"in\",\"port\":\"next\",\"to\":\"done\"}]}"

static int clear(void **state)
{
    (void)state;
    lp_wf_graph_cache_clear();
    return 0;
}

static void test_hit_for_the_same_version_only(void **state)
{
    lp_arena *a = lp_arena_new(0, 0), *b = lp_arena_new(0, 0);
    lp_wf_graph g, h;
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_wf_graph_cache_get(WF_A, 1, a, &g, &err), 0);
    assert_int_equal(lp_wf_graph_cache_read(WF_A, 1, DEF_ONE, &WF_LIM, 4, a, &g, &err), 0);
    assert_int_equal(g.nstages, 3);
    assert_int_equal(lp_wf_graph_cache_get(WF_A, 1, b, &h, &err), 1);
    assert_ptr_equal(h.stages, g.stages);
    assert_string_equal(h.stages[1].id, "label");
    assert_int_equal(lp_wf_graph_cache_get(WF_A, 2, b, &h, &err), 0);
    assert_int_equal(lp_wf_graph_cache_get(WF_B, 1, b, &h, &err), 0);
    lp_arena_free(a);
    lp_arena_free(b);
}

static void test_newest_version_of_a_workflow(void **state)
{
    lp_arena *a = lp_arena_new(0, 0);
    lp_wf_graph g;
    lp_error err;
    int version = 0;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_wf_graph_cache_newest(WF_A, a, &g, &version, &err), 0);
    assert_int_equal(lp_wf_graph_cache_read(WF_A, 2, DEF_TWO, &WF_LIM, 4, a, &g, &err), 0);
    assert_int_equal(lp_wf_graph_cache_read(WF_A, 1, DEF_ONE, &WF_LIM, 4, a, &g, &err), 0);
    assert_int_equal(lp_wf_graph_cache_read(WF_B, 3, DEF_ONE, &WF_LIM, 4, a, &g, &err), 0);
    assert_int_equal(lp_wf_graph_cache_newest(WF_A, a, &g, &version, &err), 1);
    assert_int_equal(version, 2);
    assert_int_equal(g.nstages, 2);
    assert_int_equal(lp_wf_graph_cache_newest(WF_B, a, &g, &version, &err), 1);
    assert_int_equal(version, 3);
    lp_arena_free(a);
}

static void test_least_recently_used_makes_way(void **state)
{
    lp_arena *a = lp_arena_new(0, 0);
    lp_wf_graph g;
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_wf_graph_cache_read(WF_A, 1, DEF_ONE, &WF_LIM, 2, a, &g, &err), 0);
    assert_int_equal(lp_wf_graph_cache_read(WF_A, 2, DEF_TWO, &WF_LIM, 2, a, &g, &err), 0);
    assert_int_equal(lp_wf_graph_cache_get(WF_A, 1, a, &g, &err), 1); /* version 2 is now the older */
    assert_int_equal(lp_wf_graph_cache_read(WF_B, 1, DEF_TWO, &WF_LIM, 2, a, &g, &err), 0);
    assert_int_equal(lp_wf_graph_cache_get(WF_A, 2, a, &g, &err), 0);
    assert_int_equal(lp_wf_graph_cache_get(WF_A, 1, a, &g, &err), 1);
    assert_int_equal(lp_wf_graph_cache_get(WF_B, 1, a, &g, &err), 1);
    lp_arena_free(a);
}

static void test_borrowed_graph_outlives_its_entry(void **state)
{
    lp_arena *a = lp_arena_new(0, 0), *b = lp_arena_new(0, 0);
    lp_wf_graph g, h;
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_wf_graph_cache_read(WF_A, 1, DEF_ONE, &WF_LIM, 1, a, &g, &err), 0);
    assert_int_equal(lp_wf_graph_cache_read(WF_B, 1, DEF_TWO, &WF_LIM, 1, b, &h, &err), 0);
    assert_int_equal(lp_wf_graph_cache_get(WF_A, 1, b, &h, &err), 0); /* let go of ... */
    assert_string_equal(g.stages[1].id, "label");                     /* ... but still borrowed by a */
    lp_wf_graph_cache_clear();
    assert_string_equal(g.stages[2].id, "done");
    lp_arena_free(a);
    lp_arena_free(b);
}

static void test_no_capacity_keeps_nothing(void **state)
{
    lp_arena *a = lp_arena_new(0, 0);
    lp_wf_graph g;
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_wf_graph_cache_read(WF_A, 1, DEF_ONE, &WF_LIM, 0, a, &g, &err), 0);
    assert_string_equal(g.stages[1].id, "label");
    assert_int_equal(lp_wf_graph_cache_get(WF_A, 1, a, &g, &err), 0);
    lp_arena_free(a);
}

static void test_bad_definitions_are_not_kept(void **state)
{
    lp_arena *a = lp_arena_new(0, 0);
    lp_wf_graph g;
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_wf_graph_cache_read(WF_A, 1, "{\"stages\":", &WF_LIM, 4, a, &g, &err), -1);
    assert_int_equal(err.code, LP_E_INTERNAL);
    lp_error_clear(&err);
    assert_int_equal(lp_wf_graph_cache_read(WF_A, 1, "{\"stages\":[],\"edges\":[]}", &WF_LIM, 4, a, &g, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    lp_error_clear(&err);
    assert_int_equal(lp_wf_graph_cache_get(WF_A, 1, a, &g, &err), 0);
    lp_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_hit_for_the_same_version_only, clear),
        cmocka_unit_test_teardown(test_newest_version_of_a_workflow, clear),
        cmocka_unit_test_teardown(test_least_recently_used_makes_way, clear),
        cmocka_unit_test_teardown(test_borrowed_graph_outlives_its_entry, clear),
        cmocka_unit_test_teardown(test_no_capacity_keeps_nothing, clear),
        cmocka_unit_test_teardown(test_bad_definitions_are_not_kept, clear),
    };
    return cmocka_run_group_tests_name("workflow_graph_cache", tests, NULL, NULL);
}
