/* src/storage/media_cache.c: a cold key is fetched in the background (never
 * on the caller's thread) and a caller waits only as long as it was told,
 * then gets LP_E_UNAVAILABLE; the copies stay within max_bytes, least
 * recently used first, and a copy in use is never removed — also with many
 * threads acquiring and releasing at once; a failed fetch is reported and
 * tried again. Keys are "<name>:<bytes>[:<delay ms>][:fail]". */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "loupe/core/util.h"
#include "loupe/storage/media_cache.h"

static char parent[] = "/tmp/loupe-media-cache-test-XXXXXX";
static pthread_t caller_threads[16];
static int ncallers;
static volatile int fetched_on_caller; /* a fetch ran on a calling thread */
static pthread_mutex_t fetch_lock = PTHREAD_MUTEX_INITIALIZER;
static int fetch_count;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Writes <bytes> copies of the key's first letter. */
static int fake_fetch(void *ud, const char *key, int fd, lp_error *err)
{
    (void)ud;
    for (int i = 0; i < ncallers; i++)
        if (pthread_equal(pthread_self(), caller_threads[i]))
            fetched_on_caller = 1;
    const char *p = strchr(key, ':');
    long bytes = p ? strtol(p + 1, NULL, 10) : 0, delay = 0;
    const char *q = p ? strchr(p + 1, ':') : NULL;
    if (q && q[1] >= '0' && q[1] <= '9')
        delay = strtol(q + 1, NULL, 10);
    pthread_mutex_lock(&fetch_lock);
    fetch_count++;
    pthread_mutex_unlock(&fetch_lock);
    if (delay)
        sleep_ms(delay);
    if (strstr(key, ":fail"))
        return lp_error_set(err, LP_E_IO, "storage said no to %s", key);
    char buf[4096];
    memset(buf, key[0], sizeof buf);
    while (bytes > 0) {
        size_t n = bytes > (long)sizeof buf ? sizeof buf : (size_t)bytes;
        if (write(fd, buf, n) != (ssize_t)n)
            return lp_error_set(err, LP_E_IO, "write: %s", strerror(errno));
        bytes -= (long)n;
    }
    return 0;
}

static lp_media_cache *new_cache(uint64_t max_bytes, int fetchers)
{
    lp_media_cache_spec spec = {.dir = parent, .max_bytes = max_bytes, .fetchers = fetchers, .fetch = fake_fetch};
    lp_error err;
    lp_error_clear(&err);
    lp_media_cache *c = lp_media_cache_new(&spec, &err);
    if (!c)
        fail_msg("lp_media_cache_new: %s", err.message);
    return c;
}

static lp_media_cache_file *get(lp_media_cache *c, const char *key, int64_t wait_ms)
{
    lp_media_cache_file *f;
    lp_error err;
    lp_error_clear(&err);
    if (lp_media_cache_acquire(c, key, wait_ms, &f, &err) != 0)
        fail_msg("acquire %s: %s", key, err.message);
    return f;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void test_cold_key_warms_in_the_background(void **state)
{
    (void)state;
    lp_media_cache *c = new_cache(1 << 20, 1);
    lp_media_cache_file *f;
    lp_error err;
    lp_error_clear(&err);
    caller_threads[0] = pthread_self();
    ncallers = 1;
    int64_t t0 = lp_now_mono_ms();
    assert_int_equal(lp_media_cache_acquire(c, "a:1000:300", 50, &f, &err), -1);
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    assert_true(lp_now_mono_ms() - t0 < 250); /* waited its 50 ms, not the fetch */
    assert_null(f);
    /* the fetch went on: a patient caller gets it */
    f = get(c, "a:1000:300", 5000);
    assert_int_equal(lp_media_cache_size(f), 1000);
    assert_int_equal(file_size(lp_media_cache_path(f)), 1000);
    lp_media_cache_release(c, f);
    /* and now it is there at once */
    f = get(c, "a:1000:300", 0);
    lp_media_cache_release(c, f);
    lp_media_cache_stats st;
    lp_media_cache_get_stats(c, &st);
    assert_int_equal(st.fetches, 1);
    assert_int_equal(st.cold, 1);
    assert_false(fetched_on_caller);
    ncallers = 0;
    lp_media_cache_free(c);
}

static void test_bounded_in_bytes_least_recently_used_first(void **state)
{
    (void)state;
    lp_media_cache *c = new_cache(10000, 2);
    lp_media_cache_file *a = get(c, "a:4000", 5000);
    char a_path[4096];
    lp_strlcpy(a_path, lp_media_cache_path(a), sizeof a_path);
    lp_media_cache_release(c, a);
    lp_media_cache_release(c, get(c, "b:4000", 5000));
    lp_media_cache_release(c, get(c, "a:4000", 5000)); /* a is now newer than b */
    lp_media_cache_release(c, get(c, "c:4000", 5000)); /* 12000 > 10000: b goes */
    lp_media_cache_stats st;
    lp_media_cache_get_stats(c, &st);
    assert_int_equal(st.bytes, 8000);
    assert_int_equal(st.files, 2);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(file_size(a_path), 4000);
    int before = fetch_count;
    lp_media_cache_release(c, get(c, "a:4000", 0)); /* still there, no fetch */
    assert_int_equal(fetch_count, before);

    /* held copies stay, even past the bound; they go once released */
    lp_media_cache_file *d = get(c, "d:9000", 5000);
    lp_media_cache_file *e = get(c, "e:9000", 5000);
    assert_int_equal(file_size(lp_media_cache_path(d)), 9000);
    assert_int_equal(file_size(lp_media_cache_path(e)), 9000);
    lp_media_cache_get_stats(c, &st);
    assert_int_equal(st.bytes, 18000);
    lp_media_cache_release(c, d);
    lp_media_cache_release(c, e);
    lp_media_cache_get_stats(c, &st);
    assert_true(st.bytes <= 10000);

    /* larger than the whole cache: refused */
    lp_media_cache_file *f;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_media_cache_acquire(c, "f:20000", 5000, &f, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    lp_media_cache_free(c);
}

static void test_failed_fetch_is_reported_and_retried(void **state)
{
    (void)state;
    lp_media_cache *c = new_cache(1 << 20, 1);
    lp_media_cache_file *f;
    lp_error err;
    lp_error_clear(&err);
    int before = fetch_count;
    assert_int_equal(lp_media_cache_acquire(c, "x:10:fail", 5000, &f, &err), -1);
    assert_int_equal(err.code, LP_E_IO);
    assert_non_null(strstr(err.message, "storage said no"));
    lp_error_clear(&err);
    assert_int_equal(lp_media_cache_acquire(c, "x:10:fail", 5000, &f, &err), -1);
    assert_int_equal(fetch_count, before + 2);
    lp_media_cache_free(c);
}

/* ---- Eviction under concurrency ------------------------------------------------ */

#define THREADS 8
#define ROUNDS 300

typedef struct worker_arg {
    lp_media_cache *c;
    unsigned seed;
    int bad;      /* a held copy was missing or had the wrong size or bytes */
    int unavailable;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *w = p;
    char key[64];
    for (int i = 0; i < ROUNDS; i++) {
        int k = (int)(rand_r(&w->seed) % 12);
        long bytes = 1000 + 500L * k;
        snprintf(key, sizeof key, "%c:%ld", 'a' + k, bytes);
        lp_media_cache_file *f;
        lp_error err;
        lp_error_clear(&err);
        if (lp_media_cache_acquire(w->c, key, 2000, &f, &err) != 0) {
            w->unavailable++;
            continue;
        }
        /* while held, the copy is whole and stays */
        FILE *in = fopen(lp_media_cache_path(f), "rb");
        long n = 0;
        int ch;
        while (in && (ch = fgetc(in)) != EOF)
            if (ch == 'a' + k)
                n++;
        if (in)
            fclose(in);
        if (n != bytes || lp_media_cache_size(f) != (uint64_t)bytes)
            w->bad++;
        if (rand_r(&w->seed) % 4 == 0)
            sleep_ms(1);
        lp_media_cache_release(w->c, f);
    }
    return NULL;
}

static void test_eviction_under_concurrency(void **state)
{
    (void)state;
    /* room for about three of the twelve keys: constant eviction */
    lp_media_cache *c = new_cache(18000, 3);
    worker_arg args[THREADS];
    pthread_t th[THREADS];
    ncallers = 0;
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){.c = c, .seed = 7u + (unsigned)i};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
        caller_threads[ncallers++] = th[i];
    }
    int bad = 0, unavailable = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        bad += args[i].bad;
        unavailable += args[i].unavailable;
    }
    ncallers = 0;
    lp_media_cache_stats st;
    lp_media_cache_get_stats(c, &st);
    print_message("fetches %lld, evictions %lld, unavailable %d, bytes at the end %llu\n", (long long)st.fetches,
                  (long long)st.evictions, unavailable, (unsigned long long)st.bytes);
    assert_int_equal(bad, 0);
    assert_false(fetched_on_caller);
    assert_true(st.evictions > 0);
    assert_true(st.bytes <= 18000); /* nothing held any more: within the bound */
    assert_true(unavailable < THREADS * ROUNDS / 10);
    lp_media_cache_free(c);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(parent) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", parent);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cold_key_warms_in_the_background),
        cmocka_unit_test(test_bounded_in_bytes_least_recently_used_first),
        cmocka_unit_test(test_failed_fetch_is_reported_and_retried),
        cmocka_unit_test(test_eviction_under_concurrency),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
