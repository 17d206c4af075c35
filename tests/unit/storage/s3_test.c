/* What only the S3 backend has, against a real S3-compatible server (s3rver, started here on a
 * loopback port): the multipart requests of a streamed upload, presigned GET/PUT URLs fetched
 * with libcurl, bucket and endpoint errors. What every backend must do is in conformance_test.c
 * (run against s3rver as unit/storage_conformance_s3). Skips (LP_TEST_SKIP) without node or
 * s3rver. s3rver does not check SigV4 signatures: crypto_sigv4_test proves the signer against
 * AWS's examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_skip.h"

#include "loupe/core/util.h"
#include "loupe/crypto/sha256.h"
#include "loupe/storage/storage.h"
#include "test_support.h"
#include "s3rver.h"

#define BUCKET S3RVER_BUCKET
#define MiB (1024 * 1024)

static int start_server(void **state)
{
    (void)state;
    return s3rver_start();
}

static int stop_server(void **state)
{
    (void)state;
    s3rver_stop();
    return 0;
}

static int setup(void **state)
{
    storage_fixture *f;
    *state = NULL;
    if (srv.skip_reason)
        return 0;
    if (!(f = calloc(1, sizeof *f)))
        return -1;
    *state = f;
    return (f->s = s3rver_open(&f->cfg, BUCKET)) ? 0 : -1;
}

static void expect_get(lp_storage *s, const char *key, uint64_t off, uint64_t len, const unsigned char *want,
                       size_t want_len)
{
    lp_buf got;
    lp_error err;
    lp_error_clear(&err);
    lp_buf_init(&got, 16 * MiB);
    if (lp_storage_get(s, key, off, len, buf_sink, &got, &err) != 0)
        fail_msg("get %s: %s", key, err.message);
    assert_int_equal(got.len, want_len);
    assert_memory_equal(got.data, want, want_len);
    lp_buf_free(&got);
}

static int sha_sink(void *ud, const void *p, size_t n, lp_error *err)
{
    (void)err;
    return lp_sha256_update(ud, p, n);
}

static void test_multipart_upload(void **state)
{
    storage_fixture *f = *state;
    const size_t n = 12 * MiB + 12345;
    unsigned char *data = malloc(n);
    char hex[65];
    uint8_t d[32];
    lp_storage_writer *w;
    lp_storage_object obj;
    lp_storage_info info;
    lp_sha256_ctx *sha;
    lp_error err;
    size_t off = 0;
    NEED_S3RVER();
    assert_non_null(data);
    fill_pattern(data, n, 12);
    lp_error_clear(&err);
    assert_non_null(w = lp_storage_writer_open(f->s, "teams/t1/multi.bin", "video/mp4", &err));
    while (off < n) {
        size_t chunk = 777777 < n - off ? 777777 : n - off;
        if (lp_storage_writer_write(w, data + off, chunk, &err))
            fail_msg("write: %s", err.message);
        off += chunk;
    }
    /* Parts went up already, but the object is not there before the commit. */
    assert_int_equal(lp_storage_stat(f->s, "teams/t1/multi.bin", &info, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);
    lp_error_clear(&err);
    if (lp_storage_writer_commit(w, &obj, &err))
        fail_msg("commit: %s", err.message);
    assert_int_equal(obj.size, n);
    assert_int_equal(lp_sha256_hex(data, n, hex), 0);
    assert_string_equal(obj.sha256, hex);

    assert_int_equal(lp_storage_stat(f->s, "teams/t1/multi.bin", &info, &err), 0);
    assert_int_equal(info.size, n);
    assert_string_equal(info.etag, obj.etag);
    /* It went up as parts of 5 + 5 + 2 MiB: the server's request log says so. */
    assert_int_equal(s3rver_log_mentions("multi.bin?uploads"), 1);
    assert_int_equal(s3rver_log_mentions("multi.bin?partNumber=3&uploadId="), 1);
    assert_int_equal(s3rver_log_mentions("multi.bin?partNumber=4&"), 0);

    assert_non_null(sha = lp_sha256_new());
    if (lp_storage_get(f->s, "teams/t1/multi.bin", 0, LP_STORAGE_TO_END, sha_sink, sha, &err))
        fail_msg("get: %s", err.message);
    assert_int_equal(lp_sha256_final(sha, d, hex), 0);
    assert_string_equal(hex, obj.sha256);
    lp_sha256_free(sha);
    /* A range across the first part boundary. */
    expect_get(f->s, "teams/t1/multi.bin", 5 * MiB - 100, 200, data + 5 * MiB - 100, 200);
    free(data);
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    return lp_buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

/* Fetches url with libcurl (optionally PUTting body); returns the status. */
static long http(const char *method, const char *url, const void *body, size_t len, lp_buf *out)
{
    CURL *c = curl_easy_init();
    long status = 0;
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static void test_presigned_urls(void **state)
{
    storage_fixture *f = *state;
    unsigned char data[4096];
    lp_storage_url url;
    lp_buf got;
    lp_error err;
    int64_t now = lp_now_wall_ms();
    NEED_S3RVER();
    fill_pattern(data, sizeof data, 14);
    lp_error_clear(&err);
    lp_buf_init(&got, MiB);
    assert_int_equal(lp_storage_put_mem(f->s, "teams/t1/shared.bin", data, sizeof data, NULL, NULL, &err), 0);

    assert_int_equal(lp_storage_presign(f->s, LP_STORAGE_GET, "teams/t1/shared.bin", now, 0, &url, &err), 0);
    assert_true(strncmp(url.url, srv.endpoint, strlen(srv.endpoint)) == 0);
    assert_int_equal(http("GET", url.url, NULL, 0, &got), 200);
    assert_int_equal(got.len, sizeof data);
    assert_memory_equal(got.data, data, sizeof data);

    /* A URL whose expiry has passed is refused by the server. */
    lp_buf_reset(&got);
    assert_int_equal(lp_storage_presign(f->s, LP_STORAGE_GET, "teams/t1/shared.bin", now - 3 * 3600 * 1000, 0,
                                        &url, &err), 0);
    assert_true(url.expires * 1000 < now);
    assert_int_equal(http("GET", url.url, NULL, 0, &got), 403);

    /* Presigned PUT: upload without credentials, then read it back. */
    lp_buf_reset(&got);
    assert_int_equal(lp_storage_presign(f->s, LP_STORAGE_PUT, "teams/t1/uploaded.bin", now, 0, &url, &err), 0);
    assert_int_equal(http("PUT", url.url, data, 1000, &got), 200);
    expect_get(f->s, "teams/t1/uploaded.bin", 0, LP_STORAGE_TO_END, data, 1000);
    lp_buf_free(&got);
}

static void test_missing_bucket_is_reported(void **state)
{
    lp_config cfg;
    lp_storage *s;
    lp_error err;
    (void)state;
    NEED_S3RVER();
    assert_non_null(s = s3rver_open(&cfg, "no-such-bucket"));
    lp_error_clear(&err);
    assert_int_equal(lp_storage_put_mem(s, "k", "x", 1, NULL, NULL, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);
    assert_non_null(strstr(err.message, "NoSuchBucket"));
    assert_non_null(strstr(err.hint, "s3_bucket"));
    lp_storage_free(s);
    lp_config_free(&cfg);
}

static void test_unreachable_endpoint(void **state)
{
    /* Needs no server: nothing listens on a port just found free. */
    lp_config cfg;
    lp_storage *s;
    lp_error err;
    char endpoint[64];
    (void)state;
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", s3rver_free_port());
    const char *pairs[] = {"storage_backend", "s3", "s3_endpoint", endpoint, "s3_path_style", "true", "s3_bucket",
                           BUCKET, "s3_access_key", "k", "s3_secret_key", "s", NULL};
    config_with(&cfg, pairs);
    lp_error_clear(&err);
    assert_non_null(s = lp_storage_open(&cfg, &err));
    assert_int_equal(lp_storage_put_mem(s, "k", "x", 1, NULL, NULL, &err), -1);
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    assert_non_null(strstr(err.hint, "s3_endpoint"));
    lp_storage_free(s);
    lp_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_multipart_upload, setup, storage_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_presigned_urls, setup, storage_fixture_teardown),
        cmocka_unit_test(test_missing_bucket_is_reported),
        cmocka_unit_test(test_unreachable_endpoint),
    };
    int rc = cmocka_run_group_tests(tests, start_server, stop_server);
    return rc == 0 && srv.skip_reason ? lp_test_skip_status() : rc;
}
