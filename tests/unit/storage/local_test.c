/* What only the local backend has: key rules, temporary files of a streamed write, an object in
 * the way of a directory, signed /files URLs and their verification, URL determinism across
 * handles, configuration errors, S3 presigning without a server. What every backend must do
 * (put, get with ranges, stat, delete, streaming writes, limits) is in conformance_test.c,
 * run against this backend as unit/storage_conformance_local. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "loupe/crypto/sha256.h"
#include "loupe/storage/storage.h"
#include "test_support.h"

static int setup(void **state)
{
    storage_fixture *f = calloc(1, sizeof *f);
    *state = f;
    if (!f || scratch_make("storage-local", f->dir, sizeof f->dir))
        return -1;
    const char *pairs[] = {"storage_dir", f->dir, "public_url", "https://loupe.example/", NULL};
    return (f->s = storage_open_with(&f->cfg, pairs)) ? 0 : -1;
}

/* Number of directory entries starting with ".tmp-" under dir/sub. */
static int count_temp_files(const char *dir, const char *sub)
{
    char path[2048];
    DIR *d;
    struct dirent *e;
    int n = 0;
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    if (!(d = opendir(path)))
        return -1;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, ".tmp-", 5) == 0)
            n++;
    closedir(d);
    return n;
}

static void expect_key_error(const char *key, const char *why)
{
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_storage_key_check(key, "file.key", &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_string_equal(err.fields[0].field, "file.key");
    if (!strstr(err.fields[0].message, why))
        fail_msg("key '%s': message '%s' lacks '%s'", key ? key : "(null)", err.fields[0].message, why);
}

static void test_key_rules(void **state)
{
    char long_key[LP_STORAGE_KEY_MAX + 2], long_seg[LP_STORAGE_SEGMENT_MAX + 2];
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_storage_key_check("a", NULL, &err), 0);
    assert_int_equal(lp_storage_key_check("teams/0b7c/items/x_y-z.v2.jpg", NULL, &err), 0);
    assert_int_equal(lp_storage_key_check("a..b", NULL, &err), 0); /* dots inside a segment are fine */

    expect_key_error(NULL, "empty");
    expect_key_error("", "empty");
    expect_key_error("/etc/passwd", "start with '/'");
    expect_key_error("a/", "end with '/'");
    expect_key_error("a//b", "empty segment");
    expect_key_error("..", "starting with '.'");
    expect_key_error("a/../../b", "starting with '.'");
    expect_key_error("a/./b", "starting with '.'");
    expect_key_error(".secret", "starting with '.'");
    expect_key_error("a/.tmp-1234", "starting with '.'");
    expect_key_error("a b", "may only contain");
    expect_key_error("a\\b", "may only contain");
    expect_key_error("a?x=1", "may only contain");
    expect_key_error("caf\xc3\xa9", "may only contain");
    expect_key_error("a\nb", "may only contain");

    memset(long_key, 'a', sizeof long_key);
    for (size_t i = 100; i < LP_STORAGE_KEY_MAX; i += 100)
        long_key[i] = '/';
    long_key[LP_STORAGE_KEY_MAX] = '\0';
    lp_error_clear(&err);
    assert_int_equal(lp_storage_key_check(long_key, NULL, &err), 0);
    long_key[LP_STORAGE_KEY_MAX] = 'a';
    long_key[LP_STORAGE_KEY_MAX + 1] = '\0';
    expect_key_error(long_key, "longer than");
    memset(long_seg, 'b', sizeof long_seg);
    long_seg[LP_STORAGE_SEGMENT_MAX + 1] = '\0';
    expect_key_error(long_seg, "segment longer");
}

static void test_key_derived(void **state)
{
    const char *sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    char key[LP_STORAGE_KEY_MAX + 1];
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_storage_key_derived(sha, "thumb-256.jpg", key, sizeof key, &err), 0);
    assert_string_equal(key, "derived/ba/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad/thumb-256.jpg");
    assert_int_equal(lp_storage_key_check(key, NULL, &err), 0);
    assert_int_equal(lp_storage_key_derived(sha, "tiles/12/3_4.jpg", key, sizeof key, &err), 0);
    lp_error_clear(&err);
    assert_int_equal(lp_storage_key_derived("BA7816", "thumb.jpg", key, sizeof key, &err), -1);
    assert_string_equal(err.fields[0].field, "source_sha256");
    lp_error_clear(&err);
    assert_int_equal(lp_storage_key_derived(sha, "../x", key, sizeof key, &err), -1);
    assert_string_equal(err.fields[0].field, "variant");
    lp_error_clear(&err);
    assert_int_equal(lp_storage_key_derived(sha, "x.jpg", key, 20, &err), -1);
    assert_string_equal(key, "");
}

static void test_object_in_the_way_is_a_conflict(void **state)
{
    storage_fixture *f = *state;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_storage_put_mem(f->s, "p/q/r", "x", 1, NULL, NULL, &err), 0);
    /* "p/q/r" is a file, so it cannot be the directory of "p/q/r/s". */
    assert_int_equal(lp_storage_put_mem(f->s, "p/q/r/s", "x", 1, NULL, NULL, &err), -1);
    assert_int_equal(err.code, LP_E_CONFLICT);
}

static void test_writer_temp_files(void **state)
{
    storage_fixture *f = *state;
    lp_storage_writer *w;
    lp_error err;
    lp_error_clear(&err);
    /* A write goes to one temporary file next to the object, renamed on commit. */
    assert_non_null(w = lp_storage_writer_open(f->s, "up/big.bin", NULL, &err));
    assert_int_equal(lp_storage_writer_write(w, "first", 5, &err), 0);
    assert_int_equal(count_temp_files(f->dir, "up"), 1);
    assert_int_equal(lp_storage_writer_commit(w, NULL, &err), 0);
    assert_int_equal(count_temp_files(f->dir, "up"), 0);
    /* An abort leaves none behind. */
    assert_non_null(w = lp_storage_writer_open(f->s, "up/big.bin", NULL, &err));
    assert_int_equal(lp_storage_writer_write(w, "replacement", 11, &err), 0);
    assert_int_equal(count_temp_files(f->dir, "up"), 1);
    lp_storage_writer_abort(w);
    assert_int_equal(count_temp_files(f->dir, "up"), 0);
}

/* Splits "…/files/<key>?expires=<e>&sig=<s>" into its parts. */
static void split_url(const char *url, char *key, char *expires, char *sig)
{
    const char *k = strstr(url, "/files/"), *q = strchr(url, '?');
    assert_non_null(k);
    assert_non_null(q);
    k += 7;
    memcpy(key, k, (size_t)(q - k));
    key[q - k] = '\0';
    assert_int_equal(sscanf(q, "?expires=%20[0-9]&sig=%64[0-9a-f]", expires, sig), 2);
}

static void test_signed_urls(void **state)
{
    storage_fixture *f = *state;
    const int64_t now = 1700000123456; /* ms */
    const int64_t window = 600000, ttl = 3600000;
    char key[256], expires[32], sig[80], bad[80];
    lp_storage_url url;
    lp_error err;
    int64_t floor_s = (now - now % window) / 1000;

    lp_error_clear(&err);
    assert_int_equal(lp_storage_presign(f->s, LP_STORAGE_GET, "teams/t1/img.jpg", now, 0, &url, &err), 0);
    assert_int_equal(url.expires, floor_s + ttl / 1000);
    assert_true(strncmp(url.url, "https://loupe.example/files/teams/t1/img.jpg?expires=", 53) == 0);
    split_url(url.url, key, expires, sig);
    assert_string_equal(key, "teams/t1/img.jpg");

    /* Valid until the expiry, then expired. */
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_GET, key, expires, sig, now, &err), LP_STORAGE_SIG_OK);
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_GET, key, expires, sig, url.expires * 1000 - 1, &err),
                     LP_STORAGE_SIG_OK);
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_GET, key, expires, sig, url.expires * 1000, &err),
                     LP_STORAGE_SIG_EXPIRED);
    assert_int_equal(err.code, LP_E_FORBIDDEN);
    assert_non_null(strstr(err.message, "expired"));

    /* Tampering with anything is a bad signature. */
    lp_error_clear(&err);
    strcpy(bad, sig);
    bad[0] = bad[0] == '0' ? '1' : '0';
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_GET, key, expires, bad, now, &err), LP_STORAGE_SIG_BAD);
    assert_int_equal(err.code, LP_E_FORBIDDEN);
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_GET, "teams/t2/img.jpg", expires, sig, now, &err),
                     LP_STORAGE_SIG_BAD);
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_PUT, key, expires, sig, now, &err), LP_STORAGE_SIG_BAD);
    snprintf(bad, sizeof bad, "%lld", (long long)(url.expires + 86400));
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_GET, key, bad, sig, now, &err), LP_STORAGE_SIG_BAD);
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_GET, key, NULL, sig, now, &err), LP_STORAGE_SIG_BAD);
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_GET, key, expires, NULL, now, &err), LP_STORAGE_SIG_BAD);
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_GET, key, "12x", sig, now, &err), LP_STORAGE_SIG_BAD);
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_GET, key, expires, "abc", now, &err),
                     LP_STORAGE_SIG_BAD);
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_GET, "../etc/passwd", expires, sig, now, &err),
                     LP_STORAGE_SIG_BAD);
    /* Uppercase hex of the same signature is the same signature. */
    strcpy(bad, sig);
    for (char *p = bad; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_GET, key, expires, bad, now, &err), LP_STORAGE_SIG_OK);

    /* A PUT URL verifies for PUT only. */
    assert_int_equal(lp_storage_presign(f->s, LP_STORAGE_PUT, "up/new.bin", now, 0, &url, &err), 0);
    split_url(url.url, key, expires, sig);
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_PUT, key, expires, sig, now, &err), LP_STORAGE_SIG_OK);
    assert_int_equal(lp_storage_local_verify(f->s, LP_STORAGE_GET, key, expires, sig, now, &err), LP_STORAGE_SIG_BAD);

    /* Explicit ttl; ttl not longer than the window is refused. */
    lp_error_clear(&err);
    assert_int_equal(lp_storage_presign(f->s, LP_STORAGE_GET, "a", now, 2 * window, &url, &err), 0);
    assert_int_equal(url.expires, floor_s + 2 * window / 1000);
    assert_int_equal(lp_storage_presign(f->s, LP_STORAGE_GET, "a", now, window, &url, &err), -1);
    assert_string_equal(err.fields[0].field, "ttl");
    lp_error_clear(&err);
    assert_int_equal(lp_storage_presign(f->s, LP_STORAGE_GET, "a//b", now, 0, &url, &err), -1);
    assert_string_equal(err.fields[0].field, "key");
    assert_string_equal(url.url, "");
}

static void test_urls_identical_across_handles(void **state)
{
    char dir[1024], path[1200];
    const int64_t window = 600000;
    const int64_t start = 1700000400000 - 1700000400000 % window; /* a window boundary */
    lp_config cfg;
    lp_storage *a, *b;
    lp_storage_url ua, ub;
    lp_error err;
    struct stat st;
    (void)state;

    assert_int_equal(scratch_make("storage-nodes", dir, sizeof dir), 0);
    const char *pairs[] = {"storage_dir", dir, NULL};
    config_with(&cfg, pairs);
    lp_error_clear(&err);
    /* No secret_key configured: the first handle creates <dir>/.secret, the
     * second (another node sharing the directory) reads the same one. */
    assert_non_null(a = lp_storage_open(&cfg, &err));
    snprintf(path, sizeof path, "%s/.secret", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_non_null(b = lp_storage_open(&cfg, &err));

    assert_int_equal(lp_storage_presign(a, LP_STORAGE_GET, "derived/ab/x.jpg", start + 1000, 0, &ua, &err), 0);
    assert_int_equal(lp_storage_presign(b, LP_STORAGE_GET, "derived/ab/x.jpg", start + window - 1, 0, &ub, &err), 0);
    assert_string_equal(ua.url, ub.url);
    assert_int_equal(ua.expires, ub.expires);
    /* Default public_url comes from http_bind and http_port. */
    assert_true(strncmp(ua.url, "http://127.0.0.1:8470/files/derived/ab/x.jpg?", 45) == 0);
    /* The next window signs anew. */
    assert_int_equal(lp_storage_presign(b, LP_STORAGE_GET, "derived/ab/x.jpg", start + window, 0, &ub, &err), 0);
    assert_string_not_equal(ua.url, ub.url);
    assert_int_equal(ub.expires, ua.expires + window / 1000);
    lp_storage_free(a);
    lp_storage_free(b);
    lp_config_free(&cfg);

    /* A configured secret_key takes precedence and gives other signatures;
     * a URL of one secret does not verify under the other. */
    const char *pairs2[] = {"storage_dir", dir, "secret_key", "configured-secret-of-the-cluster", NULL};
    char key[256], expires[32], sig[80];
    config_with(&cfg, pairs2);
    assert_non_null(b = lp_storage_open(&cfg, &err));
    assert_int_equal(lp_storage_presign(b, LP_STORAGE_GET, "derived/ab/x.jpg", start + 1000, 0, &ub, &err), 0);
    assert_string_not_equal(ua.url, ub.url);
    split_url(ua.url, key, expires, sig);
    assert_int_equal(lp_storage_local_verify(b, LP_STORAGE_GET, key, expires, sig, start, &err), LP_STORAGE_SIG_BAD);
    lp_storage_free(b);
    lp_config_free(&cfg);
    scratch_remove(dir);
}

static void expect_open_error(const char *const *pairs, const char *field)
{
    lp_config cfg;
    lp_error err;
    config_with(&cfg, pairs);
    lp_error_clear(&err);
    assert_null(lp_storage_open(&cfg, &err));
    assert_int_equal(err.code, LP_E_INVALID);
    assert_true(err.nfields >= 1);
    if (strcmp(err.fields[0].field, field) != 0)
        fail_msg("expected an error on %s, got %s: %s", field, err.fields[0].field, err.fields[0].message);
    lp_config_free(&cfg);
}

static void test_config_errors(void **state)
{
    (void)state;
    const char *backend[] = {"storage_backend", "ftp", NULL};
    const char *window[] = {"signed_url_window", "2h", "signed_url_ttl", "1h", NULL};
    const char *empty_dir[] = {"storage_dir", "", NULL};
    const char *url[] = {"public_url", "loupe.example", NULL};
    const char *bucket[] = {"storage_backend", "s3", "s3_access_key", "k", "s3_secret_key", "s", NULL};
    const char *keys[] = {"storage_backend", "s3", "s3_bucket", "media", NULL};
    const char *ip[] = {"storage_backend", "s3", "s3_bucket", "media", "s3_access_key", "k", "s3_secret_key", "s",
                        "s3_endpoint", "http://127.0.0.1:9000", NULL};
    const char *endpoint[] = {"storage_backend", "s3", "s3_bucket", "media", "s3_access_key", "k", "s3_secret_key",
                              "s", "s3_endpoint", "http://minio:9000/path?x", NULL};
    const char *region[] = {"storage_backend", "s3", "s3_bucket", "media", "s3_access_key", "k", "s3_secret_key",
                            "s", "s3_region", "US East", NULL};
    expect_open_error(backend, "storage_backend");
    expect_open_error(window, "signed_url_window");
    expect_open_error(empty_dir, "storage_dir");
    expect_open_error(url, "public_url");
    expect_open_error(bucket, "s3_bucket");
    expect_open_error(keys, "s3_access_key");
    expect_open_error(ip, "s3_path_style");
    expect_open_error(endpoint, "s3_endpoint");
    expect_open_error(region, "s3_region");
}

static void test_s3_presign_offline(void **state)
{
    /* S3 presigning needs no server: URL form, virtual-host vs path style,
     * and determinism across handles within a window. */
    const char *vhost[] = {"storage_backend", "s3", "s3_bucket", "media", "s3_access_key", "AKIAIOSFODNN7EXAMPLE",
                           "s3_secret_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "s3_region", "eu-west-1",
                           NULL};
    const char *path[] = {"storage_backend", "s3", "s3_bucket", "media", "s3_access_key", "AKIAIOSFODNN7EXAMPLE",
                          "s3_secret_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "s3_path_style", "true",
                          "s3_endpoint", "http://127.0.0.1:9000/", NULL};
    const int64_t t = 1369353600000; /* 20130524T000000Z, a window boundary */
    lp_config cfg;
    lp_storage *a, *b;
    lp_storage_url ua, ub;
    lp_error err;
    (void)state;

    config_with(&cfg, vhost);
    lp_error_clear(&err);
    assert_non_null(a = lp_storage_open(&cfg, &err));
    assert_non_null(b = lp_storage_open(&cfg, &err));
    assert_string_equal(lp_storage_backend(a), "s3");
    assert_int_equal(lp_storage_presign(a, LP_STORAGE_GET, "teams/t1/a.jpg", t + 5000, 0, &ua, &err), 0);
    assert_int_equal(lp_storage_presign(b, LP_STORAGE_GET, "teams/t1/a.jpg", t + 599000, 0, &ub, &err), 0);
    assert_string_equal(ua.url, ub.url);
    assert_int_equal(ua.expires, 1369353600 + 3600);
    assert_true(strncmp(ua.url, "https://media.s3.eu-west-1.amazonaws.com/teams/t1/a.jpg?X-Amz-Algorithm=", 72) == 0);
    assert_non_null(strstr(ua.url, "X-Amz-Date=20130524T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"));
    assert_non_null(strstr(ua.url, "%2F20130524%2Feu-west-1%2Fs3%2Faws4_request"));
    assert_int_equal(lp_storage_presign(a, LP_STORAGE_PUT, "teams/t1/a.jpg", t + 5000, 0, &ub, &err), 0);
    assert_string_not_equal(ua.url, ub.url); /* the method is signed */
    lp_error_clear(&err);
    assert_int_equal(lp_storage_presign(a, LP_STORAGE_GET, "a", t, 8 * 86400 * 1000LL, &ub, &err), -1);
    assert_string_equal(err.fields[0].field, "ttl");
    lp_storage_free(a);
    lp_storage_free(b);
    lp_config_free(&cfg);

    config_with(&cfg, path);
    lp_error_clear(&err);
    assert_non_null(a = lp_storage_open(&cfg, &err));
    assert_int_equal(lp_storage_presign(a, LP_STORAGE_GET, "k/x.bin", t, 0, &ua, &err), 0);
    assert_true(strncmp(ua.url, "http://127.0.0.1:9000/media/k/x.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&", 69) == 0);
    lp_storage_free(a);
    lp_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_rules),
        cmocka_unit_test(test_key_derived),
        cmocka_unit_test_setup_teardown(test_object_in_the_way_is_a_conflict, setup, storage_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_writer_temp_files, setup, storage_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_signed_urls, setup, storage_fixture_teardown),
        cmocka_unit_test(test_urls_identical_across_handles),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_s3_presign_offline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
