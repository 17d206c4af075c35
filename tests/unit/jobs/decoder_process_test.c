/* src/jobs/decoder_process.c: one long-lived loupe-decoder process (the
 * test build, loupe-decoder-probe) serves request after request; a request
 * that crashes it, hangs it, makes it exit or asks for too much memory
 * costs that process only, the caller learns which, and the next request
 * runs on a fresh process. The process dies with its parent. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../src/jobs/decoder_process_int.h"
#include "loupe/core/util.h"

static char work_dir[] = "/tmp/loupe-decoder-process-test-XXXXXX";

static lp_decoder_process *new_sandbox(int64_t memory, int max_requests, int64_t max_rss)
{
    lp_decoder_spec spec = {.program = LOUPE_DECODER_PROBE_PATH,
                            .work_dir = work_dir,
                            .memory_bytes = memory,
                            .max_requests = max_requests,
                            .max_rss_bytes = max_rss};
    lp_error err;
    lp_error_clear(&err);
    lp_decoder_process *sb = lp_decoder_process_new(&spec, &err);
    assert_non_null(sb);
    return sb;
}

/* {"op": "probe", "what": what} */
static const char *probe(const char *what)
{
    static char req[256];
    snprintf(req, sizeof req, "{\"op\": \"probe\", \"what\": \"%s\"}", what);
    return req;
}

/* Runs req with a deadline ms from now; expects the call itself to work. */
static lp_decoder_result call(lp_decoder_process *sb, const char *req, int64_t ms)
{
    lp_decoder_result r;
    lp_error err;
    lp_error_clear(&err);
    int rc = lp_decoder_process_call(sb, probe(req), strlen(probe(req)), lp_now_mono_ms() + ms, &r, &err);
    if (rc != 0)
        fail_msg("lp_decoder_process_call(%s): %s", req, err.message);
    return r;
}

/* The pid a "pid" request reports (and checks it is the result's pid). */
static pid_t pid_of(lp_decoder_process *sb)
{
    lp_decoder_result r = call(sb, "pid", 10000);
    assert_int_equal(r.end, LP_DECODER_REPLIED);
    assert_int_equal(r.status, 0);
    pid_t pid = (pid_t)atoi(r.output);
    assert_int_equal(pid, r.pid);
    assert_true(pid > 0 && pid != getpid());
    lp_decoder_result_free(&r);
    return pid;
}

/* 1 while pid exists and is not a zombie. */
static int alive(pid_t pid)
{
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *end = strrchr(stat, ')');
    return end && end[1] == ' ' && end[2] != 'Z';
}

static void test_output_and_status(void **state)
{
    (void)state;
    lp_decoder_process *sb = new_sandbox(0, 0, 0);
    assert_int_equal(lp_decoder_process_pid(sb), 0); /* no process before the first request */
    lp_decoder_result r = call(sb, "environ", 10000);
    assert_int_equal(r.end, LP_DECODER_REPLIED);
    assert_int_equal(r.status, LP_DECODER_OK);
    assert_string_equal(r.output, "empty");
    assert_int_equal(r.output_len, 5);
    lp_decoder_result_free(&r);
    r = call(sb, "no-such-probe", 10000);
    assert_int_equal(r.end, LP_DECODER_REPLIED);
    assert_int_equal(r.status, LP_DECODER_FAILED);
    assert_non_null(strstr(r.output, "\"code\""));
    lp_decoder_result_free(&r);
    lp_decoder_process_free(sb);
}

static void test_consecutive_requests_share_one_child(void **state)
{
    (void)state;
    lp_decoder_process *sb = new_sandbox(0, 0, 0);
    pid_t first = pid_of(sb);
    for (int i = 0; i < 5; i++)
        assert_int_equal(pid_of(sb), first);
    assert_int_equal(lp_decoder_process_pid(sb), first);
    lp_decoder_process_free(sb);
    /* freeing the sandbox ends and reaps its child */
    assert_int_equal(kill(first, 0), -1);
    assert_int_equal(errno, ESRCH);
}

static void test_crash_is_reported_and_the_next_request_gets_a_new_child(void **state)
{
    (void)state;
    lp_decoder_process *sb = new_sandbox(0, 0, 0);
    pid_t before = pid_of(sb);
    lp_decoder_result r = call(sb, "crash", 10000);
    assert_int_equal(r.end, LP_DECODER_SIGNALED);
    assert_int_equal(r.status, SIGSEGV);
    assert_int_equal(r.pid, before);
    assert_int_equal(r.output_len, 0);
    lp_decoder_result_free(&r);
    assert_int_equal(lp_decoder_process_pid(sb), 0);
    assert_int_equal(kill(before, 0), -1); /* reaped */

    pid_t after = pid_of(sb);
    assert_int_not_equal(after, before);

    r = call(sb, "exit5", 10000);
    assert_int_equal(r.end, LP_DECODER_EXITED);
    assert_int_equal(r.status, 5);
    lp_decoder_result_free(&r);
    assert_int_not_equal(pid_of(sb), after);
    lp_decoder_process_free(sb);
}

static void test_hang_is_killed_at_the_deadline_and_the_next_request_succeeds(void **state)
{
    (void)state;
    lp_decoder_process *sb = new_sandbox(0, 0, 0);
    pid_t before = pid_of(sb);
    int64_t t0 = lp_now_mono_ms();
    lp_decoder_result r = call(sb, "hang", 300);
    assert_int_equal(r.end, LP_DECODER_TIMED_OUT);
    assert_int_equal(r.pid, before);
    assert_true(lp_now_mono_ms() - t0 >= 300);
    assert_true(lp_now_mono_ms() - t0 < 5000);
    lp_decoder_result_free(&r);
    assert_int_equal(kill(before, 0), -1); /* killed and reaped */

    r = call(sb, "environ", 10000);
    assert_int_equal(r.end, LP_DECODER_REPLIED);
    assert_string_equal(r.output, "empty");
    assert_int_not_equal(r.pid, before);
    lp_decoder_result_free(&r);
    lp_decoder_process_free(sb);
}

/* The "Max address space" soft limit of pid as /proc/PID/limits writes it
 * ("1073741824", "unlimited"), copied into out. */
static void as_limit_of(pid_t pid, char *out, size_t size)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    out[0] = '\0';
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Max address space", 17)) {
            char soft[64];
            if (sscanf(line + 17, "%63s", soft) == 1)
                snprintf(out, size, "%s", soft);
            break;
        }
    fclose(f);
    assert_true(out[0] != '\0');
}

/* The production build limits the child's address space to memory_bytes,
 * so a 2 GiB allocation is refused. A sanitizer build runs it without the
 * limit (AddressSanitizer's shadow alone is terabytes of address space,
 * see decoder_process_int.h): shown by its limits, without the 2 GiB. */
static void test_memory_limit_applies_to_the_child_only(void **state)
{
    (void)state;
    char limit[64];
    lp_decoder_process *sb = new_sandbox(1024LL * 1024 * 1024, 0, 0);
    pid_t before = pid_of(sb);
    as_limit_of(before, limit, sizeof limit);
    if (LP_DECODER_NO_AS_LIMIT) {
        assert_string_equal(limit, "unlimited");
        lp_decoder_process_free(sb);
        return;
    }
    assert_string_equal(limit, "1073741824");
    lp_decoder_result r = call(sb, "hog", 10000);
    assert_int_equal(r.end, LP_DECODER_REPLIED);
    assert_int_equal(r.status, LP_DECODER_OK);
    assert_string_equal(r.output, "refused");
    lp_decoder_result_free(&r);
    /* the parent is unaffected, and the child serves on */
    void *p = malloc(256u * 1024 * 1024);
    assert_non_null(p);
    free(p);
    assert_int_equal(pid_of(sb), before);
    lp_decoder_process_free(sb);
}

static void test_child_is_replaced_after_max_requests_or_rss(void **state)
{
    (void)state;
    lp_decoder_process *sb = new_sandbox(0, 3, 0);
    pid_t a = pid_of(sb);
    assert_int_equal(pid_of(sb), a);
    assert_int_equal(pid_of(sb), a);
    /* retired after its third reply, its successor started at once (warm for the next request) */
    pid_t next = lp_decoder_process_pid(sb);
    assert_true(next > 0);
    assert_int_not_equal(next, a);
    assert_int_equal(kill(a, 0), -1);
    pid_t b = pid_of(sb);
    assert_int_equal(b, next);
    lp_decoder_process_free(sb);

    /* any child holds more than 4 KiB: each serves one request */
    sb = new_sandbox(0, 0, 4096);
    a = pid_of(sb);
    assert_int_not_equal(pid_of(sb), a);
    lp_decoder_process_free(sb);
}

static void test_child_killed_while_idle_is_replaced_without_blame(void **state)
{
    (void)state;
    lp_decoder_process *sb = new_sandbox(0, 0, 0);
    pid_t before = pid_of(sb);
    assert_int_equal(kill(before, SIGKILL), 0);
    for (int i = 0; i < 200 && alive(before); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    lp_decoder_result r = call(sb, "environ", 10000);
    assert_int_equal(r.end, LP_DECODER_REPLIED);
    assert_string_equal(r.output, "empty");
    assert_int_not_equal(r.pid, before);
    lp_decoder_result_free(&r);
    lp_decoder_process_free(sb);
}

static void test_child_keeps_only_its_socket_stdio_and_directories(void **state)
{
    (void)state;
    int null = open("/dev/null", O_RDONLY);
    int extra = fcntl(null, F_DUPFD, 10); /* inheritable, like a worker's connections */
    assert_true(extra >= 10);
    close(null);
    lp_decoder_process *sb = new_sandbox(0, 0, 0);
    lp_decoder_result r = call(sb, "fds", 10000);
    assert_int_equal(r.end, LP_DECODER_REPLIED);
    assert_string_equal(r.output, "0 1 2 3 4 "); /* 3 the work, 4 the scratch directory */
    lp_decoder_result_free(&r);
    lp_decoder_process_free(sb);
    close(extra);
}

static void test_bounds_of_the_wire_format(void **state)
{
    (void)state;
    lp_decoder_process *sb = new_sandbox(0, 0, 0);
    lp_decoder_result r;
    lp_error err;
    lp_error_clear(&err);
    size_t n = LP_DECODER_REQUEST_MAX + 1;
    char *big = calloc(1, n);
    assert_non_null(big);
    assert_int_equal(lp_decoder_process_call(sb, big, n, lp_now_mono_ms() + 10000, &r, &err), -1);
    assert_non_null(strstr(err.message, "the limit is"));
    assert_null(r.output);
    free(big);

    /* a reply that would pass LP_DECODER_REPLY_MAX never leaves the process */
    r = call(sb, "big", 10000);
    assert_int_equal(r.end, LP_DECODER_REPLIED);
    assert_int_equal(r.status, LP_DECODER_FAILED);
    assert_true(r.output_len <= LP_DECODER_REPLY_MAX);
    lp_decoder_result_free(&r);
    lp_decoder_process_free(sb);
}

/* ---- The child dies with its parent ------------------------------------- */

typedef struct thread_call {
    lp_decoder_process *sb;
    pid_t pid;
} thread_call;

/* A "pid" request without cmocka (for a forked process): the pid, or -1. */
static pid_t plain_pid_of(lp_decoder_process *sb)
{
    lp_decoder_result r;
    lp_error err;
    lp_error_clear(&err);
    if (lp_decoder_process_call(sb, probe("pid"), strlen(probe("pid")), lp_now_mono_ms() + 10000, &r, &err) != 0)
        return -1;
    pid_t pid = r.end == LP_DECODER_REPLIED ? (pid_t)atoi(r.output) : -1;
    lp_decoder_result_free(&r);
    return pid;
}

static void *thread_main(void *arg)
{
    thread_call *t = arg;
    t->pid = plain_pid_of(t->sb);
    return NULL;
}

static void test_child_dies_with_its_parent(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t parent = fork();
    assert_true(parent >= 0);
    if (parent == 0) {
        /* A stand-in for a worker: the first request comes from a job
         * thread that ends before the second; one child serves both. */
        close(fds[0]);
        lp_decoder_spec spec = {.program = LOUPE_DECODER_PROBE_PATH, .work_dir = work_dir};
        lp_error err;
        lp_decoder_process *sb = lp_decoder_process_new(&spec, &err);
        thread_call t = {.sb = sb};
        pthread_t th;
        if (!sb || pthread_create(&th, NULL, thread_main, &t) != 0 || pthread_join(th, NULL) != 0)
            _exit(1);
        pid_t again = plain_pid_of(sb);
        pid_t report[2] = {t.pid, again};
        if (write(fds[1], report, sizeof report) != (ssize_t)sizeof report)
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    pid_t report[2] = {0, 0};
    ssize_t got = read(fds[0], report, sizeof report);
    close(fds[0]);
    int was_alive = report[0] > 0 && alive(report[0]);
    kill(parent, SIGKILL);
    waitpid(parent, NULL, 0);
    assert_int_equal(got, (ssize_t)sizeof report);
    assert_true(report[0] > 0);
    assert_int_equal(report[1], report[0]); /* survived the thread that asked first */
    assert_true(was_alive);
    int gone = 0;
    for (int i = 0; i < 500 && !gone; i++) {
        gone = !alive(report[0]);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_true(gone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_and_status),
        cmocka_unit_test(test_consecutive_requests_share_one_child),
        cmocka_unit_test(test_crash_is_reported_and_the_next_request_gets_a_new_child),
        cmocka_unit_test(test_hang_is_killed_at_the_deadline_and_the_next_request_succeeds),
        cmocka_unit_test(test_memory_limit_applies_to_the_child_only),
        cmocka_unit_test(test_child_is_replaced_after_max_requests_or_rss),
        cmocka_unit_test(test_child_killed_while_idle_is_replaced_without_blame),
        cmocka_unit_test(test_child_keeps_only_its_socket_stdio_and_directories),
        cmocka_unit_test(test_bounds_of_the_wire_format),
        cmocka_unit_test(test_child_dies_with_its_parent),
    };
    if (!mkdtemp(work_dir))
        return 1;
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(work_dir);
    return rc;
}
