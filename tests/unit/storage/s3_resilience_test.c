/* The S3 backend's connection reuse and retries, against fault_s3.py: a small S3-like server
 * that counts TCP connections and fails the next N requests on demand (HTTP 500, or a closed
 * connection without an answer). Many GETs and HEADs must share a few connections; an
 * idempotent call (GET, HEAD, PUT, DELETE) that meets a 5xx or a dropped connection is retried
 * with back-off up to s3_retry_attempts times, and then fails with LP_E_UNAVAILABLE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_skip.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "loupe/core/util.h"
#include "loupe/storage/storage.h"
#include "test_support.h"

static struct {
    pid_t pid;
    char dir[1024];
    char endpoint[64];
    const char *skip_reason;
} srv = {.pid = -1};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    return lp_buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

/* A control request to the server; returns the HTTP status, the body in out (may be NULL). */
static long control(const char *method, const char *path, lp_buf *out)
{
    char url[256];
    lp_buf ignored;
    long status = 0;
    CURL *c = curl_easy_init();
    assert_non_null(c);
    lp_buf_init(&ignored, 4096);
    snprintf(url, sizeof url, "%s%s", srv.endpoint, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out ? out : &ignored);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    lp_buf_free(&ignored);
    return status;
}

/* Arms the next count requests to fail with mode ("500" or "reset"); resets the counters. */
static void faults(const char *mode, int count)
{
    char path[128];
    snprintf(path, sizeof path, "/__faults?mode=%s&count=%d", mode, count);
    assert_int_equal(control("POST", path, NULL), 204);
}

static void stats(long *connections, long *requests)
{
    lp_buf b;
    lp_buf_init(&b, 4096);
    assert_int_equal(control("GET", "/__stats", &b), 200);
    assert_int_equal(lp_buf_append(&b, "", 1), 0);
    assert_int_equal(sscanf(b.data, "{\"connections\": %ld, \"requests\": %ld}", connections, requests), 2);
    lp_buf_free(&b);
}

static int start_server(void **state)
{
    char script[1200], portfile[1200], logpath[1200];
    const char *src = getenv("LOUPE_SOURCE_DIR");
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (system("command -v python3 >/dev/null 2>&1") != 0) {
        srv.skip_reason = "python3 is not installed (make deps)";
        return 0;
    }
    if (!src || scratch_make("storage-s3-faults", srv.dir, sizeof srv.dir))
        return -1;
    snprintf(script, sizeof script, "%s/tests/unit/storage/fault_s3.py", src);
    snprintf(portfile, sizeof portfile, "%s/port", srv.dir);
    snprintf(logpath, sizeof logpath, "%s/server.log", srv.dir);
    char *argv[] = {"python3", script, portfile, NULL};
    if ((srv.pid = server_spawn(argv, logpath)) < 0)
        return -1;
    for (int i = 0; i < 200; i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        FILE *fp = fopen(portfile, "r");
        int port = 0;
        if (fp) {
            int ok = fscanf(fp, "%d", &port) == 1;
            fclose(fp);
            if (ok && port > 0) {
                snprintf(srv.endpoint, sizeof srv.endpoint, "http://127.0.0.1:%d", port);
                return 0;
            }
        }
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "fault_s3.py did not start; see %s\n", logpath);
    return -1;
}

static int stop_server(void **state)
{
    (void)state;
    server_stop(&srv.pid, srv.dir);
    curl_global_cleanup();
    return 0;
}

static int setup(void **state)
{
    storage_fixture *f;
    const char *pairs[] = {"storage_backend", "s3", "s3_endpoint", srv.endpoint, "s3_path_style", "true",
                           "s3_bucket", "faulty", "s3_access_key", "k", "s3_secret_key", "s",
                           "s3_retry_attempts", "4", "s3_retry_backoff", "10ms", NULL};
    *state = NULL;
    if (srv.skip_reason)
        return 0;
    if (!(f = calloc(1, sizeof *f)))
        return -1;
    *state = f;
    return (f->s = storage_open_with(&f->cfg, pairs)) ? 0 : -1;
}

#define NEED_SERVER()                                                                                          \
    do {                                                                                                       \
        if (srv.skip_reason)                                                                                   \
            LP_TEST_SKIP(srv.skip_reason);                                                                     \
    } while (0)

static void get_ok(lp_storage *s, const char *key, const char *want)
{
    lp_buf got;
    lp_error err;
    lp_error_clear(&err);
    lp_buf_init(&got, 1 << 20);
    if (lp_storage_get(s, key, 0, LP_STORAGE_TO_END, buf_sink, &got, &err) != 0)
        fail_msg("get %s: %s", key, err.message);
    assert_int_equal(got.len, strlen(want));
    assert_memory_equal(got.data, want, got.len);
    lp_buf_free(&got);
}

static void test_many_calls_share_connections(void **state)
{
    storage_fixture *f = *state;
    lp_storage_info info;
    lp_error err;
    long conns, reqs;
    NEED_SERVER();
    lp_error_clear(&err);
    assert_int_equal(lp_storage_put_mem(f->s, "a/obj", "hello", 5, NULL, NULL, &err), 0);
    faults("none", 0);
    for (int i = 0; i < 50; i++) {
        get_ok(f->s, "a/obj", "hello");
        assert_int_equal(lp_storage_stat(f->s, "a/obj", &info, &err), 0);
    }
    assert_int_equal(lp_storage_delete(f->s, "a/gone", &err), 0);
    stats(&conns, &reqs);
    fprintf(stderr, "101 calls used %ld connection(s)\n", conns);
    assert_int_equal(reqs, 101);
    assert_true(conns <= 2);
}

/* Every idempotent call gets through faults that stop short of s3_retry_attempts (4), for an
 * answer of 500 and for a connection closed without an answer. */
static void test_faults_are_retried(void **state)
{
    static const char *const modes[] = {"500", "reset"};
    storage_fixture *f = *state;
    lp_storage_info info;
    lp_error err;
    long conns, reqs;
    NEED_SERVER();
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        lp_error_clear(&err);
        assert_int_equal(lp_storage_put_mem(f->s, "b/obj", "retry me", 8, NULL, NULL, &err), 0);
        faults(modes[m], 2);
        get_ok(f->s, "b/obj", "retry me");
        stats(&conns, &reqs);
        assert_int_equal(reqs, 3);
        faults(modes[m], 3);
        if (lp_storage_stat(f->s, "b/obj", &info, &err) != 0)
            fail_msg("%s: stat: %s", modes[m], err.message);
        assert_int_equal(info.size, 8);
        faults(modes[m], 1);
        assert_int_equal(lp_storage_put_mem(f->s, "b/obj2", "x", 1, NULL, NULL, &err), 0);
        faults(modes[m], 1);
        assert_int_equal(lp_storage_delete(f->s, "b/obj2", &err), 0);
        stats(&conns, &reqs);
        assert_int_equal(reqs, 2);
    }
}

static void test_retries_give_up(void **state)
{
    storage_fixture *f = *state;
    lp_buf got;
    lp_error err;
    long conns, reqs;
    int64_t t0;
    NEED_SERVER();
    lp_error_clear(&err);
    lp_buf_init(&got, 1024);
    assert_int_equal(lp_storage_put_mem(f->s, "d/obj", "x", 1, NULL, NULL, &err), 0);
    faults("500", 100);
    t0 = lp_now_mono_ms();
    assert_int_equal(lp_storage_get(f->s, "d/obj", 0, LP_STORAGE_TO_END, buf_sink, &got, &err), -1);
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    assert_non_null(strstr(err.message, "500"));
    stats(&conns, &reqs);
    assert_int_equal(reqs, 4); /* s3_retry_attempts */
    /* back-off 10, 20, 40 ms between the four attempts (with jitter: at least half of each) */
    assert_true(lp_now_mono_ms() - t0 >= 35);
    assert_int_equal(got.len, 0);
    /* a missing object is an answer, not a fault: no retry */
    faults("none", 0);
    lp_error_clear(&err);
    assert_int_equal(lp_storage_get(f->s, "d/none", 0, LP_STORAGE_TO_END, buf_sink, &got, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);
    stats(&conns, &reqs);
    assert_int_equal(reqs, 1);
    lp_buf_free(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_many_calls_share_connections, setup, storage_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_faults_are_retried, setup, storage_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_retries_give_up, setup, storage_fixture_teardown),
    };
    int rc = cmocka_run_group_tests(tests, start_server, stop_server);
    return rc == 0 && srv.skip_reason ? lp_test_skip_status() : rc;
}
