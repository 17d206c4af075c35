/* system.echo: a job that proves the machinery end to end.
 *
 * payload {"message": string, "sleep_ms"?: 0..60000, "fail_times"?: 0..100}
 * result  {"message": message, "attempt": n}
 *
 * It sleeps sleep_ms (reporting progress), and fails its first fail_times
 * attempts on purpose, which exercises retries and dead-lettering. */
#include <string.h>

#include "../jobs_int.h"

#define ECHO_SLEEP_MAX_MS 60000
#define ECHO_FAIL_TIMES_MAX 100
#define ECHO_STEPS 20

static int int_member(const json_t *payload, const char *name, json_int_t max, json_int_t *out, lp_error *err)
{
    const json_t *v = json_object_get(payload, name);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
        return lp_error_field(err, LP_E_INVALID, name, "must be an integer from 0 to %lld", (long long)max);
    *out = json_integer_value(v);
    return 0;
}

int lp_job_echo_validate(const json_t *payload, const lp_config *cfg, lp_error *err)
{
    const json_t *msg = json_object_get(payload, "message");
    const char *key;
    const json_t *value;
    json_int_t n;
    int rc = 0;

    if (!json_is_string(msg))
        rc = lp_error_field(err, LP_E_INVALID, "message", "is required and must be a string");
    else if (cfg && json_string_length(msg) > (size_t)cfg->string_max_length)
        rc = lp_error_field(err, LP_E_INVALID, "message", "is longer than %lld bytes (string_max_length)",
                            (long long)cfg->string_max_length);
    rc |= int_member(payload, "sleep_ms", ECHO_SLEEP_MAX_MS, &n, err);
    rc |= int_member(payload, "fail_times", ECHO_FAIL_TIMES_MAX, &n, err);
    json_object_foreach((json_t *)payload, key, value) {
        if (strcmp(key, "message") && strcmp(key, "sleep_ms") && strcmp(key, "fail_times"))
            rc = lp_error_field(err, LP_E_INVALID, key, "is not a member of a system.echo payload "
                                                        "(message, sleep_ms, fail_times)");
    }
    return rc ? -1 : 0;
}

int lp_job_echo_run(lp_job_ctx *ctx)
{
    json_int_t sleep_ms = 0, fail_times = 0;
    const json_t *msg;

    if (lp_job_echo_validate(ctx->payload, ctx->cfg, &ctx->err))
        return -1;
    msg = json_object_get(ctx->payload, "message");
    int_member(ctx->payload, "sleep_ms", ECHO_SLEEP_MAX_MS, &sleep_ms, &ctx->err);
    int_member(ctx->payload, "fail_times", ECHO_FAIL_TIMES_MAX, &fail_times, &ctx->err);

    for (int step = 1; sleep_ms > 0 && step <= ECHO_STEPS; step++) {
        if (lp_job_sleep(ctx, sleep_ms / ECHO_STEPS + (step <= sleep_ms % ECHO_STEPS ? 1 : 0)))
            return -1;
        if (lp_job_progress(ctx, (double)step / ECHO_STEPS))
            return -1;
    }
    if (ctx->attempt <= fail_times)
        return lp_error_set(&ctx->err, LP_E_INTERNAL, "system.echo failed attempt %d on purpose (fail_times = %lld)",
                            ctx->attempt, (long long)fail_times);
    lp_job_set_result(ctx, json_pack("{s:O, s:i}", "message", msg, "attempt", ctx->attempt));
    if (!ctx->result)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory building the result");
    return 0;
}
