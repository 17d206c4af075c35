/* Task filters and the tasks.bulk payload: reading with field errors
 * ("filters.<member>"), null assignee as "nobody holds it", id lists as
 * lower-case JSON text, and the payload round-tripping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_fields.h"

#include "loupe/db/task_filter.h"

#define WF "0b7e3f1c-5d1a-4c1e-9a55-1f0e2d3c4b5a"
#define USER "1c8f4a2d-6e2b-4d2f-8b66-2a1f3e4d5c6b"

static lp_arena *arena;
/* The document the last read_doc read (the filter borrows its strings). */
static json_t *last_doc;

static int setup(void **state)
{
    (void)state;
    arena = lp_arena_new(0, 0);
    return arena ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(last_doc);
    lp_arena_free(arena);
    return 0;
}

/* Reads text as a filter document: 0 or -1 (err filled). */
static int read_doc(const char *text, lp_task_filter *f, lp_error *err)
{
    json_decref(last_doc);
    last_doc = json_loads(text, 0, NULL);
    assert_non_null(last_doc);
    lp_error_clear(err);
    return lp_task_filter_read(last_doc, "team", arena, f, err);
}

static void test_filter_members(void **state)
{
    (void)state;
    lp_task_filter f;
    lp_error err;
    assert_int_equal(read_doc("{\"workflow_id\": \"" WF "\", \"stage\": \"label\", \"state\": \"new\", \"assignee_id\": "
                          "\"" USER "\", \"task_ids\": [\"0B7E3F1C-5D1A-4C1E-9A55-1F0E2D3C4B5A\"]}",
                          &f, &err),
                     0);
    assert_string_equal(f.team_id, "team");
    assert_string_equal(f.workflow_id, WF);
    assert_string_equal(f.stage, "label");
    assert_string_equal(f.state, "new");
    assert_string_equal(f.assignee_id, USER);
    assert_false(f.unassigned);
    assert_string_equal(f.task_ids_json, "[\"" WF "\"]"); /* lower case */
    assert_null(f.item_ids_json);
    assert_int_equal(read_doc("{\"workflow_id\": \"" WF "\", \"assignee_id\": null}", &f, &err), 0);
    assert_true(f.unassigned);
    assert_null(f.assignee_id);
}

static void test_filter_errors_name_the_member(void **state)
{
    (void)state;
    lp_task_filter f;
    lp_error err;
    assert_int_equal(read_doc("{}", &f, &err), -1);
    assert_true(lp_test_has_field(&err, "filters.workflow_id"));
    assert_int_equal(read_doc("{\"workflow_id\": \"x\", \"colour\": 1, \"stage\": \"\", \"assignee_id\": 3, "
                          "\"task_ids\": [], \"item_ids\": [\"" WF "\", 7]}",
                          &f, &err),
                     -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_true(lp_test_has_field(&err, "filters.workflow_id"));
    assert_true(lp_test_has_field(&err, "filters.colour"));
    assert_true(lp_test_has_field(&err, "filters.stage"));
    assert_true(lp_test_has_field(&err, "filters.assignee_id"));
    assert_true(lp_test_has_field(&err, "filters.task_ids"));
    assert_true(lp_test_has_field(&err, "filters.item_ids[1]"));
    json_t *arr = json_array();
    lp_error_clear(&err);
    assert_int_equal(lp_task_filter_read(arr, NULL, arena, &f, &err), -1);
    assert_true(lp_test_has_field(&err, "filters"));
    json_decref(arr);
}

static void test_payload_round_trip(void **state)
{
    (void)state;
    lp_task_filter f;
    lp_tasks_change in = {.op = LP_TASKS_SEND_TO_STAGE, .to_stage = "check", .to_state = "todo", .actor_id = USER};
    lp_tasks_change out;
    lp_error err;
    json_t *filters = json_pack("{s:s, s:s}", "workflow_id", WF, "stage", "label");
    json_t *p = lp_tasks_bulk_payload(filters, &in);
    assert_non_null(p);
    lp_error_clear(&err);
    assert_int_equal(lp_tasks_bulk_read_payload(p, "team", arena, &f, &out, &err), 0);
    assert_int_equal(out.op, LP_TASKS_SEND_TO_STAGE);
    assert_string_equal(out.to_stage, "check");
    assert_string_equal(out.to_state, "todo");
    assert_string_equal(out.actor_id, USER);
    assert_string_equal(f.stage, "label");
    json_decref(p);
    /* assign with null unassigns; an unknown action is refused */
    lp_tasks_change un = {.op = LP_TASKS_ASSIGN};
    p = lp_tasks_bulk_payload(filters, &un);
    assert_true(json_is_null(json_object_get(p, "user_id")));
    assert_int_equal(lp_tasks_bulk_read_payload(p, "team", arena, &f, &out, &err), 0);
    assert_int_equal(out.op, LP_TASKS_ASSIGN);
    assert_null(out.user_id);
    json_object_set_new(p, "action", json_string("paint"));
    assert_int_equal(lp_tasks_bulk_read_payload(p, "team", arena, &f, &out, &err), -1);
    assert_true(lp_test_has_field(&err, "action"));
    json_decref(p);
    json_decref(filters);
    lp_tasks_op op;
    assert_int_equal(lp_tasks_op_parse("set_state", &op), 0);
    assert_int_equal(op, LP_TASKS_SET_STATE);
    assert_string_equal(lp_tasks_op_name(LP_TASKS_ASSIGN), "assign");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_members),
        cmocka_unit_test(test_filter_errors_name_the_member),
        cmocka_unit_test(test_payload_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
