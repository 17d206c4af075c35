/* The worker runtime without a database: the claim rule of the attempt
 * runner (src/worker/runner.c) and the host facts a heartbeat carries
 * (src/worker/host_info.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/core/util.h"
#include "loupe/worker/host_info.h"
#include "loupe/worker/runner.h"

static void test_claim_rule(void **state)
{
    int attempt, abandoned;
    (void)state;
    /* First delivery of a new job. */
    assert_int_equal(lp_job_claim_decide("queued", 0, 5, 1, &attempt, &abandoned), LP_CLAIM_RUN);
    assert_int_equal(attempt, 1);
    assert_int_equal(abandoned, 0);
    /* The retry message for attempt 2 after attempt 1 failed. */
    assert_int_equal(lp_job_claim_decide("queued", 1, 5, 2, &attempt, &abandoned), LP_CLAIM_RUN);
    assert_int_equal(attempt, 2);
    /* A duplicate of the first message while the retry waits. */
    assert_int_equal(lp_job_claim_decide("queued", 1, 5, 1, &attempt, &abandoned), LP_CLAIM_STALE);
    /* Redelivered after its worker was killed mid-job. */
    assert_int_equal(lp_job_claim_decide("running", 1, 5, 1, &attempt, &abandoned), LP_CLAIM_RUN);
    assert_int_equal(attempt, 2);
    assert_int_equal(abandoned, 1);
    /* ... with no attempt left. */
    assert_int_equal(lp_job_claim_decide("running", 3, 3, 3, &attempt, &abandoned), LP_CLAIM_EXHAUSTED);
    assert_int_equal(abandoned, 1);
    /* Finished jobs never run again. */
    assert_int_equal(lp_job_claim_decide("succeeded", 1, 5, 1, &attempt, &abandoned), LP_CLAIM_FINISHED);
    assert_int_equal(lp_job_claim_decide("failed", 5, 5, 6, &attempt, &abandoned), LP_CLAIM_FINISHED);
    assert_int_equal(lp_job_claim_decide("cancelled", 0, 5, 1, &attempt, &abandoned), LP_CLAIM_FINISHED);
}

static void test_meminfo(void **state)
{
    (void)state;
    assert_int_equal(lp_meminfo_total("MemTotal:       16314272 kB\nMemFree: 1 kB\n"), 16314272LL * 1024);
    assert_int_equal(lp_meminfo_total("MemFree: 1 kB\nMemTotal: 2048 kB\n"), 2048 * 1024);
    assert_int_equal(lp_meminfo_total("MemFree: 1 kB\n"), -1);
    assert_int_equal(lp_meminfo_total("MemTotal: lots\n"), -1);
    assert_int_equal(lp_meminfo_total("MemTotal: 12 MB\n"), -1);
    assert_int_equal(lp_meminfo_total(""), -1);
}

static void test_host_info(void **state)
{
    lp_host_info h;
    char json[2048];
    (void)state;
    lp_host_info_read(&h, "libnvidia-ml.so.1");
    assert_true(h.cpus >= 1);
    assert_true(h.memory_bytes > 0);
    assert_true(h.host[0] != '\0');
    assert_true(lp_host_gpus_json(&h, json, sizeof(json)) > 0);
    assert_int_equal(json[0], '[');

    memset(&h, 0, sizeof(h));
    h.ngpus = 1;
    strcpy(h.gpus[0].name, "NVIDIA H100 80GB HBM3");
    h.gpus[0].memory_bytes = 85520809984LL;
    h.gpus[0].memory_used_bytes = 1048576;
    h.gpus[0].memory_free_bytes = 85520809984LL - 1048576;
    assert_true(lp_host_gpus_json(&h, json, sizeof(json)) > 0);
    assert_string_equal(json, "[{\"index\":0,\"name\":\"NVIDIA H100 80GB HBM3\",\"memory_bytes\":85520809984,"
                              "\"memory_used_bytes\":1048576,\"memory_free_bytes\":85519761408}]");
    assert_int_equal(lp_host_gpus_json(&h, json, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_rule),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_host_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
