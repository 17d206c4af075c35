/* The storage conformance suite: one set of cases that every backend must pass, run once per
 * backend — `storage_conformance_test local` (a scratch directory) and
 * `storage_conformance_test s3` (s3rver; skips through LP_TEST_SKIP without it). What only one
 * backend has (local: temporary files, signed /files URLs, directory conflicts; S3: multipart
 * requests, presigned URLs served by the store, bucket errors) stays in local_test.c and
 * s3_test.c. A new backend joins by a case in open_backend() and one add_test line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_skip.h"

#include "loupe/crypto/sha256.h"
#include "loupe/storage/storage.h"
#include "test_support.h"
#include "s3rver.h"

static const char *backend; /* argv[1] */

/* Opens the backend under test with the extra settings (name/value pairs, NULL-terminated). */
static lp_storage *open_backend(storage_fixture *f, const char *const *extra)
{
    const char *pairs[32];
    if (strcmp(backend, "local") == 0) {
        size_t n = 0;
        pairs[n++] = "storage_dir";
        pairs[n++] = f->dir;
        for (size_t i = 0; extra && extra[i] && n + 1 < 32; i++)
            pairs[n++] = extra[i];
        pairs[n] = NULL;
    } else {
        s3rver_settings(pairs, 32, S3RVER_BUCKET, extra);
    }
    return storage_open_with(&f->cfg, pairs);
}

static int setup_with(void **state, const char *const *extra)
{
    storage_fixture *f = calloc(1, sizeof *f);
    *state = f;
    if (!f || scratch_make("conformance", f->dir, sizeof f->dir))
        return -1;
    if (srv.skip_reason)
        return 0;
    return (f->s = open_backend(f, extra)) ? 0 : -1;
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

static int setup_small_limit(void **state)
{
    const char *extra[] = {"upload_max_bytes", "1000", NULL};
    return setup_with(state, extra);
}

static void expect_get(lp_storage *s, const char *key, uint64_t off, uint64_t len, const void *want, size_t want_len)
{
    lp_buf got;
    lp_error err;
    lp_error_clear(&err);
    lp_buf_init(&got, 16 << 20);
    if (lp_storage_get(s, key, off, len, buf_sink, &got, &err) != 0)
        fail_msg("get %s [%llu, +%llu]: %s", key, (unsigned long long)off, (unsigned long long)len, err.message);
    assert_int_equal(got.len, want_len);
    if (want_len)
        assert_memory_equal(got.data, want, want_len);
    lp_buf_free(&got);
}

static void expect_error(int rc, lp_error *err, lp_code code)
{
    assert_int_equal(rc, -1);
    assert_int_equal(err->code, code);
    lp_error_clear(err);
}

static void test_put_stat_get_overwrite_delete(void **state)
{
    storage_fixture *f = *state;
    static const char text[] = "hello, storage";
    char sha[65], first_etag[LP_STORAGE_ETAG_MAX];
    lp_storage_object obj;
    lp_storage_info info;
    lp_buf got;
    lp_error err;
    NEED_S3RVER();
    lp_error_clear(&err);
    assert_int_equal(lp_storage_put_mem(f->s, "teams/t1/a.txt", text, strlen(text), "text/plain", &obj, &err), 0);
    assert_int_equal(obj.size, strlen(text));
    assert_int_equal(lp_sha256_hex(text, strlen(text), sha), 0);
    assert_string_equal(obj.sha256, sha);
    assert_true(obj.etag[0] != '\0');
    strcpy(first_etag, obj.etag);

    assert_int_equal(lp_storage_stat(f->s, "teams/t1/a.txt", &info, &err), 0);
    assert_int_equal(info.size, strlen(text));
    assert_string_equal(info.etag, obj.etag);
    assert_true(info.mtime > 1600000000);
    expect_get(f->s, "teams/t1/a.txt", 0, LP_STORAGE_TO_END, text, strlen(text));

    /* Overwrite: the new content replaces the old, and the etag changes. */
    assert_int_equal(lp_storage_put_mem(f->s, "teams/t1/a.txt", "second", 6, NULL, &obj, &err), 0);
    assert_int_equal(lp_storage_stat(f->s, "teams/t1/a.txt", &info, &err), 0);
    assert_int_equal(info.size, 6);
    assert_string_not_equal(info.etag, first_etag);
    expect_get(f->s, "teams/t1/a.txt", 0, LP_STORAGE_TO_END, "second", 6);

    /* Delete; then it is gone for stat and get; deleting again, or what never was, succeeds. */
    assert_int_equal(lp_storage_delete(f->s, "teams/t1/a.txt", &err), 0);
    expect_error(lp_storage_stat(f->s, "teams/t1/a.txt", &info, &err), &err, LP_E_NOT_FOUND);
    lp_buf_init(&got, 1 << 20);
    expect_error(lp_storage_get(f->s, "teams/t1/a.txt", 0, LP_STORAGE_TO_END, buf_sink, &got, &err), &err,
                 LP_E_NOT_FOUND);
    assert_int_equal(got.len, 0);
    lp_buf_free(&got);
    assert_int_equal(lp_storage_delete(f->s, "teams/t1/a.txt", &err), 0);
    assert_int_equal(lp_storage_delete(f->s, "never/was", &err), 0);

    /* A prefix of other keys is no object. */
    assert_int_equal(lp_storage_put_mem(f->s, "p/q/r", "x", 1, NULL, NULL, &err), 0);
    expect_error(lp_storage_stat(f->s, "p/q", &info, &err), &err, LP_E_NOT_FOUND);
}

static void test_bad_keys_are_refused(void **state)
{
    storage_fixture *f = *state;
    static const char *const bad[] = {"../escape", "/abs", "a//b", "", "a/./b"};
    lp_storage_info info;
    lp_buf got;
    lp_error err;
    NEED_S3RVER();
    lp_buf_init(&got, 16);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lp_error_clear(&err);
        assert_int_equal(lp_storage_put_mem(f->s, bad[i], "x", 1, NULL, NULL, &err), -1);
        assert_int_equal(err.code, LP_E_INVALID);
        assert_string_equal(err.fields[0].field, "key");
        lp_error_clear(&err);
        expect_error(lp_storage_get(f->s, bad[i], 0, LP_STORAGE_TO_END, buf_sink, &got, &err), &err, LP_E_INVALID);
        expect_error(lp_storage_stat(f->s, bad[i], &info, &err), &err, LP_E_INVALID);
        expect_error(lp_storage_delete(f->s, bad[i], &err), &err, LP_E_INVALID);
        assert_null(lp_storage_writer_open(f->s, bad[i], NULL, &err));
        assert_int_equal(err.code, LP_E_INVALID);
    }
    lp_buf_free(&got);
}

static void test_streaming_writer_commit_and_abort(void **state)
{
    storage_fixture *f = *state;
    enum { N = 6 * 1024 * 1024 + 17 }; /* more than one S3 part of 5 MiB */
    unsigned char *data = malloc(N);
    char sha[65];
    lp_storage_writer *w;
    lp_storage_object obj;
    lp_storage_info info;
    lp_error err;
    size_t off = 0, step = 1000;
    NEED_S3RVER();
    assert_non_null(data);
    fill_pattern(data, N, 1);
    lp_error_clear(&err);
    assert_non_null(w = lp_storage_writer_open(f->s, "up/big.bin", "application/octet-stream", &err));
    while (off < N) {
        size_t n = step < N - off ? step : N - off;
        assert_int_equal(lp_storage_writer_write(w, data + off, n, &err), 0);
        off += n;
        step = step * 2 + 3;
        /* Nothing is visible before the commit. */
        expect_error(lp_storage_stat(f->s, "up/big.bin", &info, &err), &err, LP_E_NOT_FOUND);
    }
    assert_int_equal(lp_storage_writer_commit(w, &obj, &err), 0);
    assert_int_equal(obj.size, N);
    assert_int_equal(lp_sha256_hex(data, N, sha), 0);
    assert_string_equal(obj.sha256, sha);
    assert_int_equal(lp_storage_stat(f->s, "up/big.bin", &info, &err), 0);
    assert_int_equal(info.size, N);
    assert_string_equal(info.etag, obj.etag);
    expect_get(f->s, "up/big.bin", 0, LP_STORAGE_TO_END, data, N);
    /* a range across the first S3 part boundary */
    expect_get(f->s, "up/big.bin", 5 * 1024 * 1024 - 100, 200, data + 5 * 1024 * 1024 - 100, 200);

    /* Abort of a replacement, after a whole part went up: the old object stays. */
    assert_non_null(w = lp_storage_writer_open(f->s, "up/big.bin", NULL, &err));
    assert_int_equal(lp_storage_writer_write(w, data + 1, N - 1, &err), 0);
    lp_storage_writer_abort(w);
    assert_int_equal(lp_storage_stat(f->s, "up/big.bin", &info, &err), 0);
    assert_int_equal(info.size, N);
    lp_storage_writer_abort(NULL);

    /* A new key aborted never appears. */
    assert_non_null(w = lp_storage_writer_open(f->s, "up/never.bin", NULL, &err));
    assert_int_equal(lp_storage_writer_write(w, "x", 1, &err), 0);
    lp_storage_writer_abort(w);
    expect_error(lp_storage_stat(f->s, "up/never.bin", &info, &err), &err, LP_E_NOT_FOUND);

    /* An empty object. */
    assert_non_null(w = lp_storage_writer_open(f->s, "up/empty.bin", NULL, &err));
    assert_int_equal(lp_storage_writer_commit(w, &obj, &err), 0);
    assert_int_equal(obj.size, 0);
    assert_int_equal(lp_storage_stat(f->s, "up/empty.bin", &info, &err), 0);
    assert_int_equal(info.size, 0);
    free(data);
}

static void expect_range_error(lp_storage *s, const char *key, uint64_t off, uint64_t len)
{
    lp_buf got;
    lp_error err;
    lp_error_clear(&err);
    lp_buf_init(&got, 1 << 20);
    assert_int_equal(lp_storage_get(s, key, off, len, buf_sink, &got, &err), -1);
    assert_int_equal(err.code, LP_E_RANGE);
    assert_int_equal(got.len, 0);
    lp_buf_free(&got);
}

static void test_ranges(void **state)
{
    storage_fixture *f = *state;
    unsigned char data[1000];
    lp_error err;
    NEED_S3RVER();
    fill_pattern(data, sizeof data, 7);
    lp_error_clear(&err);
    assert_int_equal(lp_storage_put_mem(f->s, "r/obj", data, sizeof data, NULL, NULL, &err), 0);
    assert_int_equal(lp_storage_put_mem(f->s, "r/empty", "", 0, NULL, NULL, &err), 0);

    expect_get(f->s, "r/obj", 0, LP_STORAGE_TO_END, data, 1000);
    expect_get(f->s, "r/obj", 10, 5, data + 10, 5);
    expect_get(f->s, "r/obj", 0, 1, data, 1);
    expect_get(f->s, "r/obj", 999, 1, data + 999, 1);
    expect_get(f->s, "r/obj", 990, LP_STORAGE_TO_END, data + 990, 10);
    expect_get(f->s, "r/obj", 990, 500, data + 990, 10); /* cut at the end, like HTTP */
    expect_range_error(f->s, "r/obj", 1000, 1);
    expect_range_error(f->s, "r/obj", 5000, LP_STORAGE_TO_END);
    expect_range_error(f->s, "r/obj", 10, 0);
    expect_range_error(f->s, "r/empty", 0, 1);
    expect_get(f->s, "r/empty", 0, LP_STORAGE_TO_END, "", 0); /* the whole of an empty object is fine */
}

static int failing_sink(void *ud, const void *p, size_t n, lp_error *err)
{
    (void)ud;
    (void)p;
    (void)n;
    (void)err;
    return -1;
}

static void test_files_and_sink_errors(void **state)
{
    storage_fixture *f = *state;
    char src[1200], dst[1200];
    unsigned char data[70000], back[70000];
    lp_storage_object obj;
    lp_error err;
    FILE *fp;
    int fd;
    NEED_S3RVER();
    fill_pattern(data, sizeof data, 3);
    snprintf(src, sizeof src, "%s/source.bin", f->dir);
    snprintf(dst, sizeof dst, "%s/copy.bin", f->dir);
    assert_non_null(fp = fopen(src, "wb"));
    assert_int_equal(fwrite(data, 1, sizeof data, fp), sizeof data);
    fclose(fp);

    lp_error_clear(&err);
    assert_int_equal(lp_storage_put_file(f->s, "files/source.bin", src, NULL, &obj, &err), 0);
    assert_int_equal(obj.size, sizeof data);
    char want[LP_SHA256_HEX_LEN + 1];
    assert_int_equal(lp_sha256_hex(data, sizeof data, want), 0);
    assert_string_equal(obj.sha256, want);
    /* without out, nothing is hashed, and the object is the same */
    assert_int_equal(lp_storage_put_file(f->s, "files/unhashed.bin", src, NULL, NULL, &err), 0);
    assert_true((fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
    assert_int_equal(lp_storage_get_fd(f->s, "files/unhashed.bin", 0, LP_STORAGE_TO_END, fd, &err), 0);
    close(fd);
    assert_non_null(fp = fopen(dst, "rb"));
    assert_int_equal(fread(back, 1, sizeof back, fp), sizeof data);
    fclose(fp);
    assert_memory_equal(back, data, sizeof data);
    assert_true((fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
    assert_int_equal(lp_storage_get_fd(f->s, "files/source.bin", 100, 60000, fd, &err), 0);
    close(fd);
    assert_non_null(fp = fopen(dst, "rb"));
    assert_int_equal(fread(back, 1, sizeof back, fp), 60000);
    fclose(fp);
    assert_memory_equal(back, data + 100, 60000);

    assert_int_equal(lp_storage_put_file(f->s, "files/none", "does-not-exist.bin", NULL, NULL, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);
    assert_non_null(strstr(err.message, "does-not-exist.bin"));

    lp_error_clear(&err);
    assert_int_equal(lp_storage_get(f->s, "files/source.bin", 0, LP_STORAGE_TO_END, failing_sink, NULL, &err), -1);
    assert_int_equal(err.code, LP_E_IO);
    assert_non_null(strstr(err.message, "stopped by the receiver"));
}

static void test_size_limit(void **state)
{
    storage_fixture *f = *state;
    char chunk[600];
    lp_storage_writer *w;
    lp_storage_info info;
    lp_error err;
    NEED_S3RVER();
    memset(chunk, 'z', sizeof chunk);
    lp_error_clear(&err);
    assert_non_null(w = lp_storage_writer_open(f->s, "limit/x", NULL, &err));
    assert_int_equal(lp_storage_writer_write(w, chunk, 600, &err), 0);
    assert_int_equal(lp_storage_writer_write(w, chunk, 600, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    lp_error_clear(&err);
    /* After a failed write, commit refuses and nothing is stored. */
    assert_int_equal(lp_storage_writer_commit(w, NULL, &err), -1);
    lp_error_clear(&err);
    expect_error(lp_storage_stat(f->s, "limit/x", &info, &err), &err, LP_E_NOT_FOUND);
    assert_int_equal(lp_storage_put_mem(f->s, "limit/y", chunk, sizeof chunk, NULL, NULL, &err), 0);
}

static int start(void **state)
{
    (void)state;
    return strcmp(backend, "s3") == 0 ? s3rver_start() : 0;
}

static int stop(void **state)
{
    (void)state;
    if (strcmp(backend, "s3") == 0)
        s3rver_stop();
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_stat_get_overwrite_delete, setup, storage_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_keys_are_refused, setup, storage_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_streaming_writer_commit_and_abort, setup, storage_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_ranges, setup, storage_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_files_and_sink_errors, setup, storage_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_size_limit, setup_small_limit, storage_fixture_teardown),
    };
    int rc;
    if (argc != 2 || (strcmp(argv[1], "local") != 0 && strcmp(argv[1], "s3") != 0)) {
        fprintf(stderr, "usage: storage_conformance_test local|s3\n");
        return 2;
    }
    backend = argv[1];
    rc = cmocka_run_group_tests_name(backend, tests, start, stop);
    return rc == 0 && srv.skip_reason ? lp_test_skip_status() : rc;
}
