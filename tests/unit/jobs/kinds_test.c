/* The kind registry, retryable errors, and system.echo's validator and
 * handler (without a database). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/core/util.h"
#include "loupe/jobs/job.h"
#include "loupe/jobs/message.h"
#include "loupe/jobs/model_infer.h"
#include "loupe/queue/topology.h"

/* ONNX Runtime's threads per run: the setting, else sized to the worker's cores, one left to the
 * decoder that decodes the next images meanwhile when there are more than two. */
static void test_infer_threads(void **state)
{
    (void)state;
    assert_int_equal(lp_model_infer_threads(3, 16), 3);
    assert_int_equal(lp_model_infer_threads(0, 16), 15);
    assert_int_equal(lp_model_infer_threads(0, 4), 3);
    assert_int_equal(lp_model_infer_threads(0, 2), 2);
    assert_int_equal(lp_model_infer_threads(0, 1), 1);
    assert_int_equal(lp_model_infer_threads(0, -1), 1); /* unknown */
}

static void test_registry(void **state)
{
    size_t n;
    const lp_job_kind *k = lp_job_kinds(&n);
    const char *queues[8];
    (void)state;
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) {
        assert_true(lp_job_kind_name_valid(k[i].name));
        assert_true(lp_queue_name_valid(k[i].queue));
        assert_non_null(k[i].run);
        assert_ptr_equal(lp_job_kind_find(k[i].name), &k[i]);
    }
    const lp_job_kind *echo = lp_job_kind_find("system.echo");
    assert_non_null(echo);
    assert_string_equal(echo->queue, "system");
    assert_null(lp_job_kind_find("system.nope"));
    assert_null(lp_job_kind_find(NULL));
    size_t nq = lp_job_queues(queues, 8);
    assert_true(nq >= 2 && nq <= n + 1); /* the kinds' queues and "webhooks" */
    for (size_t i = 0; i < nq && i < 8; i++)
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(queues[i], queues[j]);
}

static void test_retryable(void **state)
{
    (void)state;
    assert_true(lp_job_error_retryable(LP_E_INTERNAL));
    assert_true(lp_job_error_retryable(LP_E_UNAVAILABLE));
    assert_true(lp_job_error_retryable(LP_E_TIMEOUT));
    assert_false(lp_job_error_retryable(LP_E_INVALID));
    assert_false(lp_job_error_retryable(LP_E_MALFORMED));
}

static int validate_echo(const char *json, lp_error *err)
{
    json_error_t jerr;
    json_t *p = json_loads(json, 0, &jerr);
    assert_non_null(p);
    lp_error_clear(err);
    int rc = lp_job_kind_find("system.echo")->validate(p, NULL, err);
    json_decref(p);
    return rc;
}

static void test_echo_validator(void **state)
{
    lp_error err;
    (void)state;
    assert_int_equal(validate_echo("{\"message\":\"hi\"}", &err), 0);
    assert_int_equal(validate_echo("{\"message\":\"hi\",\"sleep_ms\":60000,\"fail_times\":2}", &err), 0);
    assert_int_equal(validate_echo("{\"sleep_ms\":60001,\"fail_times\":-1,\"colour\":1}", &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_int_equal(err.nfields, 4);
    assert_string_equal(err.fields[0].field, "message");
    assert_string_equal(err.fields[1].field, "sleep_ms");
    assert_string_equal(err.fields[2].field, "fail_times");
    assert_string_equal(err.fields[3].field, "colour");
    assert_int_equal(validate_echo("{\"message\":3}", &err), -1);
    assert_int_equal(validate_echo("{\"message\":\"x\",\"sleep_ms\":1.5}", &err), -1);
}

static void run_echo(const char *payload, int attempt, lp_job_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    lp_error_clear(&ctx->err);
    ctx->id = "0b7e3f1c-5d1a-4c1e-9a55-1f0e2d3c4b5a";
    ctx->kind = "system.echo";
    ctx->attempt = attempt;
    ctx->max_attempts = 5;
    ctx->payload = json_loads(payload, 0, NULL);
    ctx->deadline_ms = lp_now_mono_ms() + 10000;
}

static void test_echo_runs_and_fails_on_purpose(void **state)
{
    lp_job_ctx ctx;
    const lp_job_kind *echo = lp_job_kind_find("system.echo");
    (void)state;

    run_echo("{\"message\":\"hello\",\"fail_times\":2}", 2, &ctx);
    assert_int_equal(echo->run(&ctx), -1);
    assert_int_equal(ctx.err.code, LP_E_INTERNAL);
    assert_true(lp_job_error_retryable(ctx.err.code));
    json_decref(ctx.payload);
    json_decref(ctx.result);

    run_echo("{\"message\":\"hello\",\"fail_times\":2,\"sleep_ms\":40}", 3, &ctx);
    int64_t t0 = lp_now_mono_ms();
    assert_int_equal(echo->run(&ctx), 0);
    assert_true(lp_now_mono_ms() - t0 >= 40);
    assert_string_equal(json_string_value(json_object_get(ctx.result, "message")), "hello");
    assert_int_equal(json_integer_value(json_object_get(ctx.result, "attempt")), 3);
    assert_true(ctx.progress == 1.0);
    json_decref(ctx.payload);
    json_decref(ctx.result);
}

static void test_deadline(void **state)
{
    lp_job_ctx ctx;
    const lp_job_kind *echo = lp_job_kind_find("system.echo");
    (void)state;
    run_echo("{\"message\":\"slow\",\"sleep_ms\":5000}", 1, &ctx);
    ctx.deadline_ms = lp_now_mono_ms() + 100;
    int64_t t0 = lp_now_mono_ms();
    assert_int_equal(echo->run(&ctx), -1);
    assert_int_equal(ctx.err.code, LP_E_TIMEOUT);
    assert_true(lp_now_mono_ms() - t0 < 2000);
    json_decref(ctx.payload);
    json_decref(ctx.result);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_infer_threads),
        cmocka_unit_test(test_retryable),      cmocka_unit_test(test_echo_validator),
        cmocka_unit_test(test_echo_runs_and_fails_on_purpose), cmocka_unit_test(test_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
