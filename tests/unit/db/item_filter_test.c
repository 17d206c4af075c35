/* Item filters and bulk documents: timestamps, folder paths, filter and
 * bulk-body reading with field errors, job payloads round-tripping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_fields.h"

#include "loupe/db/item_filter.h"

#define DS "0b7e3f1c-5d1a-4c1e-9a55-1f0e2d3c4b5a"
#define DS2 "1c8f4a2d-6e2b-4d2f-8b66-2a1f3e4d5c6b"

static lp_arena *arena;

static int setup(void **state)
{
    (void)state;
    arena = lp_arena_new(0, 0);
    return arena ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    lp_arena_free(arena);
    return 0;
}

static json_t *doc(const char *text)
{
    json_error_t je;
    json_t *d = json_loads(text, 0, &je);
    assert_non_null(d);
    return d;
}

static void test_time_valid(void **state)
{
    (void)state;
    assert_true(lp_item_time_valid("2026-01-02"));
    assert_true(lp_item_time_valid("2026-01-02T03:04:05Z"));
    assert_true(lp_item_time_valid("2026-01-02T03:04:05.123456Z"));
    assert_true(lp_item_time_valid("2026-01-02 03:04:05+05:30"));
    assert_true(lp_item_time_valid("2024-02-29T00:00:00-01:00"));
    assert_false(lp_item_time_valid("2025-02-29"));
    assert_false(lp_item_time_valid("2026-02-30"));
    assert_false(lp_item_time_valid("2026-13-01"));
    assert_false(lp_item_time_valid("2026-01-02T24:00:00Z"));
    assert_false(lp_item_time_valid("2026-01-02T03:04:05"));
    assert_false(lp_item_time_valid("2026-01-02T03:04:05.Z"));
    assert_false(lp_item_time_valid("2026-01-02T03:04:05Z trailing"));
    assert_false(lp_item_time_valid("yesterday"));
    assert_false(lp_item_time_valid(""));
    assert_false(lp_item_time_valid(NULL));
}

static void path_ok(const char *in, const char *want)
{
    lp_error err;
    const char *out = NULL;
    lp_error_clear(&err);
    assert_int_equal(lp_item_path_normalize(in, 4096, "item_path_max", arena, "path", &out, &err), 0);
    assert_string_equal(out, want);
}

static void path_bad(const char *in)
{
    lp_error err;
    const char *out = NULL;
    lp_error_clear(&err);
    assert_int_equal(lp_item_path_normalize(in, 4096, "item_path_max", arena, "path", &out, &err), -1);
    assert_true(lp_test_has_field(&err, "path"));
    assert_int_equal(err.code, LP_E_INVALID);
}

static void test_path_normalize(void **state)
{
    (void)state;
    path_ok("/", "/");
    path_ok("/a", "/a");
    path_ok("/a/b/", "/a/b");
    path_ok("/caf\xc3\xa9/..x", "/caf\xc3\xa9/..x");
    path_bad("");
    path_bad("a/b");
    path_bad("//");
    path_bad("/a//b");
    path_bad("/a/./b");
    path_bad("/a/..");
    path_bad("/a\tb");
    path_bad("/\xff");
    /* the limit given (item_path_max) is named when a path is over it */
    lp_error err;
    const char *out = NULL;
    lp_error_clear(&err);
    assert_int_equal(lp_item_path_normalize("/abcdefgh", 8, "item_path_max", arena, "path", &out, &err), -1);
    assert_string_equal(err.fields[0].message, "is 9 bytes long, over the limit of 8 (item_path_max)");
    lp_error_clear(&err);
    assert_int_equal(lp_item_path_normalize("/abcdefg", 8, "item_path_max", arena, "path", &out, &err), 0);
    assert_string_equal(out, "/abcdefg");
}

static void test_filter_read(void **state)
{
    (void)state;
    lp_item_filter f;
    lp_error err;
    json_t *d = doc("{\"dataset_id\": \"" DS "\", \"path\": \"/cars/\", \"status\": [\"ready\", \"error\"],"
                    " \"annotation_count\": {\"gte\": 1, \"lte\": 5}, \"metadata\": {\"cam\": \"left\", \"n\": 5,"
                    " \"ok\": true}, \"created\": {\"gte\": \"2026-01-02\"}, \"name_contains\": \"dog\"}");
    lp_error_clear(&err);
    assert_int_equal(lp_item_filter_read(d, LP_FILTER_JSON, "team", arena, &f, &err), 0);
    assert_string_equal(f.team_id, "team");
    assert_string_equal(f.dataset_id, DS);
    assert_string_equal(f.path, "/cars");
    assert_int_equal(f.nstatuses, 2);
    assert_string_equal(f.statuses[1], "error");
    assert_true(f.has_count_gte && f.has_count_lte);
    assert_int_equal(f.count_gte, 1);
    assert_int_equal(f.count_lte, 5);
    assert_int_equal(f.nmeta, 3);
    assert_string_equal(f.meta_values[1], "5");
    assert_string_equal(f.meta_values[2], "true");
    assert_string_equal(f.created_gte, "2026-01-02T00:00:00Z");
    assert_null(f.created_lte);
    assert_string_equal(f.name_contains, "dog");
    json_decref(d);

    /* Query style: numbers as strings, bracketed field names. */
    d = doc("{\"annotation_count\": {\"gte\": \"x\", \"most\": \"1\"}, \"status\": \"done\", \"colour\": 1}");
    lp_error_clear(&err);
    assert_int_equal(lp_item_filter_read(d, LP_FILTER_QUERY, NULL, arena, &f, &err), -1);
    assert_true(lp_test_has_field(&err, "annotation_count[gte]"));
    assert_true(lp_test_has_field(&err, "annotation_count[most]"));
    assert_true(lp_test_has_field(&err, "status"));
    assert_true(lp_test_has_field(&err, "colour"));
    json_decref(d);

    d = doc("{\"dataset_id\": \"" DS "\", \"item_ids\": [\"" DS2 "\"]}");
    lp_error_clear(&err);
    assert_int_equal(lp_item_filter_read(d, LP_FILTER_JSON, NULL, arena, &f, &err), -1);
    assert_true(lp_test_has_field(&err, "filters.item_ids"));
    json_decref(d);

    d = doc("{\"item_ids\": [\"" DS2 "\", 7], \"created\": {\"lte\": \"2026-02-30\"}, \"metadata\": {\"a\": [1]}}");
    lp_error_clear(&err);
    assert_int_equal(lp_item_filter_read(d, LP_FILTER_JSON, NULL, arena, &f, &err), -1);
    assert_true(lp_test_has_field(&err, "filters.item_ids[1]"));
    assert_true(lp_test_has_field(&err, "filters.created.lte"));
    assert_true(lp_test_has_field(&err, "filters.metadata.a"));
    json_decref(d);

    /* name_contains takes any name item_name_max may allow (up to 16384 bytes), no more */
    char *text = lp_arena_alloc(arena, LP_ITEM_FILTER_TEXT_MAX + 2);
    assert_non_null(text);
    memset(text, 'n', LP_ITEM_FILTER_TEXT_MAX);
    text[LP_ITEM_FILTER_TEXT_MAX] = '\0';
    d = json_pack("{s:s}", "name_contains", text);
    lp_error_clear(&err);
    assert_int_equal(lp_item_filter_read(d, LP_FILTER_JSON, NULL, arena, &f, &err), 0);
    assert_int_equal(strlen(f.name_contains), 16384);
    json_decref(d);
    strcat(text, "n");
    d = json_pack("{s:s}", "name_contains", text);
    lp_error_clear(&err);
    assert_int_equal(lp_item_filter_read(d, LP_FILTER_JSON, NULL, arena, &f, &err), -1);
    assert_true(lp_test_has_field(&err, "filters.name_contains"));
    assert_string_equal(err.fields[0].message, "is 16385 bytes long; the limit is 16384");
    json_decref(d);
}

/* The disagreement bounds: numbers from 0 to 1 (as text in query style), and a run. */
static void test_disagreement_filter(void **state)
{
    (void)state;
    lp_item_filter f;
    lp_error err;
    json_t *d = doc("{\"disagreement\": {\"gte\": 0.25, \"lte\": 1}, \"disagreement_run\": \"" DS2 "\"}");
    lp_error_clear(&err);
    assert_int_equal(lp_item_filter_read(d, LP_FILTER_JSON, "team", arena, &f, &err), 0);
    assert_string_equal(f.disagreement_gte, "0.25");
    assert_string_equal(f.disagreement_lte, "1");
    assert_string_equal(f.disagreement_run, DS2);
    json_decref(d);

    d = doc("{\"disagreement\": {\"gte\": \"0.5\"}}");
    lp_error_clear(&err);
    assert_int_equal(lp_item_filter_read(d, LP_FILTER_QUERY, NULL, arena, &f, &err), 0);
    assert_string_equal(f.disagreement_gte, "0.5");
    assert_null(f.disagreement_lte);
    assert_null(f.disagreement_run);
    json_decref(d);

    d = doc("{\"disagreement\": {\"gte\": \"x\", \"lte\": \"1.5\", \"most\": \"1\"}, \"disagreement_run\": \"r\"}");
    lp_error_clear(&err);
    assert_int_equal(lp_item_filter_read(d, LP_FILTER_QUERY, NULL, arena, &f, &err), -1);
    assert_true(lp_test_has_field(&err, "disagreement[gte]"));
    assert_true(lp_test_has_field(&err, "disagreement[lte]"));
    assert_true(lp_test_has_field(&err, "disagreement[most]"));
    assert_true(lp_test_has_field(&err, "disagreement_run"));
    json_decref(d);

    d = doc("{\"disagreement\": {\"gte\": \"0.5\"}}"); /* JSON style: a number, not text */
    lp_error_clear(&err);
    assert_int_equal(lp_item_filter_read(d, LP_FILTER_JSON, NULL, arena, &f, &err), -1);
    assert_true(lp_test_has_field(&err, "filters.disagreement.gte"));
    json_decref(d);
}

static void test_bulk_read_and_payload(void **state)
{
    (void)state;
    lp_items_bulk b, again;
    lp_error err;
    json_t *body = doc("{\"filters\": {\"dataset_id\": \"" DS "\"}, \"metadata\": {\"k\": \"v\", \"old\": null},"
                       " \"priority\": 3, \"mode\": \"job\"}");
    lp_error_clear(&err);
    assert_int_equal(lp_items_bulk_read(body, LP_ITEMS_UPDATE, "team", arena, &b, &err), 0);
    assert_true(b.force_job);
    assert_true(b.change.has_priority);
    assert_int_equal(b.change.priority, 3);
    assert_string_equal(b.change.metadata_set, "{\"k\":\"v\"}");
    assert_int_equal(b.change.nmetadata_remove, 1);
    assert_string_equal(b.change.metadata_remove[0], "old");

    /* The job payload reads back to the same action (mode dropped). */
    json_t *payload = lp_items_bulk_payload(body, LP_ITEMS_UPDATE, DS2);
    assert_non_null(payload);
    assert_null(json_object_get(payload, "mode"));
    assert_string_equal(json_string_value(json_object_get(payload, "action")), "update");
    lp_error_clear(&err);
    assert_int_equal(lp_items_bulk_read_payload(payload, "team", arena, &again, &err), 0);
    assert_int_equal(again.change.op, LP_ITEMS_UPDATE);
    assert_int_equal(again.change.priority, 3);
    assert_string_equal(again.filter.dataset_id, DS);
    assert_false(again.force_job);
    json_decref(payload);
    json_decref(body);

    /* Members that do not belong to the action, and missing ones, are named. */
    body = doc("{\"filters\": {}, \"priority\": 1}");
    lp_error_clear(&err);
    assert_int_equal(lp_items_bulk_read(body, LP_ITEMS_MOVE, NULL, arena, &b, &err), -1);
    assert_true(lp_test_has_field(&err, "filters.dataset_id"));
    assert_true(lp_test_has_field(&err, "priority"));
    assert_true(lp_test_has_field(&err, "target_dataset_id"));
    json_decref(body);

    body = doc("{\"filters\": {\"dataset_id\": \"" DS "\"}}");
    lp_error_clear(&err);
    assert_int_equal(lp_items_bulk_read(body, LP_ITEMS_UPDATE, NULL, arena, &b, &err), -1);
    assert_true(lp_test_has_field(&err, "priority"));
    json_decref(body);

    payload = doc("{\"action\": \"fly\", \"filters\": {\"dataset_id\": \"" DS "\"}}");
    lp_error_clear(&err);
    assert_int_equal(lp_items_bulk_read_payload(payload, NULL, arena, &b, &err), -1);
    assert_true(lp_test_has_field(&err, "action"));
    json_decref(payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_valid),
        cmocka_unit_test(test_path_normalize),
        cmocka_unit_test(test_filter_read),
        cmocka_unit_test(test_disagreement_filter),
        cmocka_unit_test(test_bulk_read_and_payload),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
