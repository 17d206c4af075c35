/* GPUs through NVML loaded with dlopen (src/worker/nvml.c): without the library, or with a library
 * that is not NVML, a worker has no GPU and nothing fails; with one (fake_nvml.c, built beside this
 * test and exposing the few NVML functions the worker calls) the heartbeat's GPU list carries each
 * GPU's name and memory total, used and free, read again at every call. A worker with a GPU
 * consumes worker_gpu_queue too (lp_worker_gpu_queue). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/worker/host_info.h"
#include "loupe/worker/nvml.h"
#include "worker_int.h"

#define MIB (1024LL * 1024)
#define GIB (1024 * MIB)

static void test_without_nvml(void **state)
{
    lp_gpu_info gpus[4];
    lp_host_info h;
    (void)state;
    assert_null(lp_nvml_open("/nonexistent/libnvidia-ml.so.1"));
    assert_null(lp_nvml_open(""));
    assert_null(lp_nvml_open(NULL));
    assert_null(lp_nvml_open("libm.so.6")); /* loads, but has none of NVML's functions */
    assert_int_equal(lp_nvml_read(NULL, gpus, 4), 0);
    lp_nvml_close(NULL);

    lp_host_info_read(&h, "/nonexistent/libnvidia-ml.so.1");
    assert_int_equal(h.ngpus, 0);
    assert_true(h.cpus >= 1);
    char json[256];
    assert_int_equal(lp_host_gpus_json(&h, json, sizeof json), 2);
    assert_string_equal(json, "[]");
}

static void test_fake_nvml_reports_gpus_and_memory(void **state)
{
    lp_gpu_info gpus[4];
    (void)state;
    lp_nvml *n = lp_nvml_open(FAKE_NVML_PATH);
    assert_non_null(n);
    assert_int_equal(lp_nvml_read(n, gpus, 4), 2);
    assert_string_equal(gpus[0].name, "Fake GPU A100");
    assert_int_equal(gpus[0].index, 0);
    assert_int_equal(gpus[0].memory_bytes, 16 * GIB);
    int64_t used = gpus[0].memory_used_bytes;
    assert_true(used >= MIB);
    assert_int_equal(gpus[0].memory_free_bytes, 16 * GIB - used);
    /* the second GPU answers neither its name nor its memory */
    assert_int_equal(gpus[1].index, 1);
    assert_string_equal(gpus[1].name, "GPU 1");
    assert_int_equal(gpus[1].memory_bytes, 0);

    /* read again: memory as of now */
    assert_int_equal(lp_nvml_read(n, gpus, 1), 1);
    assert_int_equal(gpus[0].memory_used_bytes, used + MIB);
    assert_int_equal(gpus[0].memory_free_bytes, 16 * GIB - used - MIB);
    lp_nvml_close(n);
}

static void test_host_info_with_fake_nvml(void **state)
{
    lp_host_info h;
    char json[1024], want[512];
    (void)state;
    lp_host_info_read(&h, FAKE_NVML_PATH);
    assert_int_equal(h.ngpus, 2);
    assert_true(lp_host_gpus_json(&h, json, sizeof json) > 0);
    snprintf(want, sizeof want,
             "[{\"index\":0,\"name\":\"Fake GPU A100\",\"memory_bytes\":%lld,\"memory_used_bytes\":%lld,"
             "\"memory_free_bytes\":%lld},{\"index\":1,\"name\":\"GPU 1\",\"memory_bytes\":0,"
             "\"memory_used_bytes\":0,\"memory_free_bytes\":0}]",
             (long long)(16 * GIB), (long long)h.gpus[0].memory_used_bytes,
             (long long)(16 * GIB - h.gpus[0].memory_used_bytes));
    assert_string_equal(json, want);
}

static void test_gpu_queue(void **state)
{
    const char *q[4] = {"system", "cpu"};
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_worker_gpu_queue(q, 2, 4, 0, "gpu", &err), 2); /* no GPU: nothing added */
    assert_int_equal(lp_worker_gpu_queue(q, 2, 4, 1, "", &err), 2);    /* turned off */
    assert_int_equal(lp_worker_gpu_queue(q, 2, 4, 1, NULL, &err), 2);
    assert_int_equal(lp_worker_gpu_queue(q, 2, 4, 2, "gpu", &err), 3);
    assert_string_equal(q[2], "gpu");
    assert_int_equal(lp_worker_gpu_queue(q, 3, 4, 2, "gpu", &err), 3); /* named already */
    assert_int_equal(lp_worker_gpu_queue(q, 2, 2, 1, "gpu", &err), -1); /* no room */
    assert_string_equal(err.fields[0].field, "worker_gpu_queue");
    lp_error_clear(&err);
    assert_int_equal(lp_worker_gpu_queue(q, 2, 4, 1, "GPU!", &err), -1);
    assert_string_equal(err.fields[0].field, "worker_gpu_queue");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_nvml),
        cmocka_unit_test(test_fake_nvml_reports_gpus_and_memory),
        cmocka_unit_test(test_host_info_with_fake_nvml),
        cmocka_unit_test(test_gpu_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
