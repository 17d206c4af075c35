/* The decoder is a real sandbox (issue: no untrusted media in louped; the
 * decoder is exec'd and confined). Through the pool the worker and louped
 * use (lp_decoder_new, fork + exec of the test build loupe-decoder-probe),
 * while this process — standing in for a worker — holds secrets in its
 * environment and its memory, a decoder process:
 *   - cannot open a socket, fork, or exec (exec kills it: SIGSYS);
 *   - can read and create files in its work directory and its scratch
 *     directory, and cannot read or create any outside them (Landlock;
 *     skipped only on a kernel without it);
 *   - has an empty environment (/proc/PID/environ, read from outside) and
 *     no byte of the secrets anywhere in its memory (every readable mapping
 *     of /proc/PID/mem scanned, but AddressSanitizer's shadow in sanitizer
 *     builds; the same scan of this process finds them, so the scan itself
 *     is shown to work).
 * Any weakening — fork without exec, an inherited environment, a missing
 * filter or ruleset — fails one of these. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_skip.h"

#include "loupe/core/util.h"
#include "loupe/jobs/decoder.h"

static char work_dir[] = "/tmp/loupe-decoder-sandbox-XXXXXX";
static char scratch_dir[] = "/tmp/loupe-decoder-scratch-XXXXXX";
static char outside_dir[] = "/tmp/loupe-decoder-outside-XXXXXX";
static char secret_env[64], secret_mem[64];
static char *secret_heap;
static lp_decoder *dec;

static lp_decoder_result call(const char *what, const char *arg)
{
    char req[1024];
    lp_decoder_result r;
    lp_error err;
    lp_error_clear(&err);
    snprintf(req, sizeof req, "{\"op\": \"probe\", \"what\": \"%s\", \"arg\": \"%s\"}", what, arg ? arg : "");
    if (lp_decoder_call(dec, 0, req, strlen(req), lp_now_mono_ms() + 20000, &r, &err) != 0)
        fail_msg("lp_decoder_call(%s): %s", what, err.message);
    return r;
}

/* The reply text of a probe that must be answered. */
static char *answer(const char *what, const char *arg)
{
    static char out[256];
    lp_decoder_result r = call(what, arg);
    if (r.end != LP_DECODER_REPLIED || r.status != LP_DECODER_OK)
        fail_msg("probe %s %s: end %d status %d %s", what, arg ? arg : "", r.end, r.status,
                 r.output ? r.output : "");
    lp_strlcpy(out, r.output, sizeof out);
    lp_decoder_result_free(&r);
    return out;
}

static int setup(void **state)
{
    (void)state;
    lp_error err;
    if (!mkdtemp(work_dir) || !mkdtemp(scratch_dir) || !mkdtemp(outside_dir))
        return -1;
    /* Secrets as a worker holds them: in its environment and its memory. */
    snprintf(secret_env, sizeof secret_env, "s3-secret-%ld-%08x", (long)getpid(), (unsigned)lp_now_wall_ms());
    snprintf(secret_mem, sizeof secret_mem, "signing-key-%ld-%08x", (long)getpid(), (unsigned)lp_now_mono_ms());
    setenv("LOUPE_S3_SECRET_KEY", secret_env, 1);
    secret_heap = strdup(secret_mem);
    lp_decoder_spec spec = {
        .program = LOUPE_DECODER_PROBE_PATH, .work_dir = work_dir, .scratch_dir = scratch_dir, .processes = 1};
    lp_error_clear(&err);
    dec = lp_decoder_new(&spec, &err);
    return dec ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    lp_decoder_free(dec);
    free(secret_heap);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'", work_dir, scratch_dir, outside_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_no_socket_no_fork_no_exec(void **state)
{
    (void)state;
    assert_string_equal(answer("socket", NULL), "denied");
    assert_string_equal(answer("fork", NULL), "denied");
    pid_t before = lp_decoder_pid(dec, 0);
    lp_decoder_result r = call("exec", NULL);
    assert_int_equal(r.end, LP_DECODER_SIGNALED);
    assert_int_equal(r.status, SIGSYS);
    assert_int_equal(r.pid, before);
    lp_decoder_result_free(&r);
    /* the next request runs on a fresh, equally confined process */
    assert_string_equal(answer("socket", NULL), "denied");
    assert_int_not_equal(lp_decoder_pid(dec, 0), before);
}

static void test_files_only_under_the_work_and_scratch_directories(void **state)
{
    (void)state;
    char inside[512], outside[512], made_in[512], made_out[512], scratch_in[512], made_scratch[512];
    if (syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) < 0)
        LP_TEST_SKIP("this kernel has no Landlock (Linux 5.13+ with landlock in the lsm= list)");
    snprintf(inside, sizeof inside, "%s/input.bin", work_dir);
    snprintf(outside, sizeof outside, "%s/worker.conf", outside_dir);
    snprintf(made_in, sizeof made_in, "%s/made.bin", work_dir);
    snprintf(made_out, sizeof made_out, "%s/made.bin", outside_dir);
    snprintf(scratch_in, sizeof scratch_in, "%s/series.dcm", scratch_dir);
    snprintf(made_scratch, sizeof made_scratch, "%s/volume.nii", scratch_dir);
    FILE *f = fopen(inside, "w");
    assert_non_null(f);
    fclose(f);
    f = fopen(scratch_in, "w");
    assert_non_null(f);
    fclose(f);
    f = fopen(outside, "w");
    assert_non_null(f);
    fprintf(f, "s3_secret_key = %s\n", secret_env);
    fclose(f);

    assert_string_equal(answer("open", inside), "allowed");
    assert_string_equal(answer("create", made_in), "allowed");
    assert_int_equal(access(made_in, F_OK), 0);
    assert_string_equal(answer("open", scratch_in), "allowed");
    assert_string_equal(answer("create", made_scratch), "allowed");
    assert_int_equal(access(made_scratch, F_OK), 0);
    assert_string_equal(answer("open", outside), "denied");
    assert_string_equal(answer("open", "/etc/passwd"), "denied");
    assert_string_equal(answer("create", made_out), "denied");
    assert_int_equal(access(made_out, F_OK), -1);
}

#if LP_DECODER_ASAN
#include <sanitizer/asan_interface.h>
#if defined(__x86_64__)
#define LP_TEST_VA_BITS 47
#else
#define LP_TEST_VA_BITS 48
#endif
#endif

/* 1 if [lo, hi) is AddressSanitizer's shadow memory in a sanitizer build
 * (this test and the decoder share its layout): terabytes of address space
 * that hold one poison mark for every 8 bytes of the process, never the
 * bytes themselves, and that no scan could finish. 0 in other builds. */
static int is_shadow(unsigned long lo, unsigned long hi)
{
#if LP_DECODER_ASAN
    size_t scale, offset;
    __asan_get_shadow_mapping(&scale, &offset);
    return lo >= offset && hi <= offset + (1UL << (LP_TEST_VA_BITS - scale));
#else
    (void)lo;
    (void)hi;
    return 0;
#endif
}

/* 1 if needle occurs in the readable memory of pid. */
static int memory_holds(pid_t pid, const char *needle)
{
    char path[64], line[512];
    size_t nlen = strlen(needle);
    int found = 0, scanned = 0;
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *maps = fopen(path, "r");
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int mem = open(path, O_RDONLY | O_CLOEXEC);
    assert_non_null(maps);
    assert_true(mem >= 0);
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 256);
    assert_non_null(buf);
    while (!found && fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' || strstr(line, "[vvar]") ||
            strstr(line, "[vsyscall]") || is_shadow(lo, hi))
            continue;
        size_t carry = 0;
        for (unsigned long off = lo; off < hi && !found; off += cap) {
            size_t want = hi - off < cap ? hi - off : cap;
            ssize_t got = pread(mem, buf + carry, want, (off_t)off);
            if (got <= 0)
                break;
            scanned = 1;
            size_t have = carry + (size_t)got;
            found = memmem(buf, have, needle, nlen) != NULL;
            carry = have >= nlen - 1 ? nlen - 1 : have;
            memmove(buf, buf + have - carry, carry);
        }
    }
    free(buf);
    close(mem);
    fclose(maps);
    assert_true(scanned);
    return found;
}

static void test_no_secret_in_its_environment_or_memory(void **state)
{
    (void)state;
    char path[64], env[4096];
    assert_string_equal(answer("environ", NULL), "empty");
    pid_t pid = lp_decoder_pid(dec, 0);
    assert_true(pid > 0);

    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, env, sizeof env);
    close(fd);
    assert_int_equal(n, 0);

    /* The scanner finds the secrets where they are... */
    assert_true(memory_holds(getpid(), secret_env));
    assert_true(memory_holds(getpid(), secret_mem));
    /* ...and not in the decoder. */
    assert_false(memory_holds(pid, secret_env));
    assert_false(memory_holds(pid, secret_mem));
    assert_int_equal(lp_decoder_pid(dec, 0), pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_socket_no_fork_no_exec),
        cmocka_unit_test(test_files_only_under_the_work_and_scratch_directories),
        cmocka_unit_test(test_no_secret_in_its_environment_or_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
