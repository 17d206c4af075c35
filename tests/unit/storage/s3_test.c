/* S3 backend against a real S3-compatible server (s3rver, started here on a
 * loopback port): single PUT, streaming multipart upload with 5 MiB parts,
 * ranged GET, HEAD, DELETE, abort, presigned GET/PUT fetched with libcurl,
 * error mapping. Skips when node or s3rver is not installed (LOUPE_S3RVER_JS
 * names s3rver.js; see s3rver-install.sh). s3rver does not check SigV4
 * signatures: crypto_sigv4_test proves the signer against AWS's examples.
 * Exits 77 (a skip for ctest) when the server-bound tests were skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "loupe/core/util.h"
#include "loupe/crypto/sha256.h"
#include "loupe/storage/storage.h"
#include "test_support.h"

#define BUCKET "loupe-test"
#define MiB (1024 * 1024)

static struct server {
    pid_t pid;
    int port;
    char dir[1024];
    char endpoint[64];
    const char *skip_reason;
} srv = {.pid = -1};

static int find_in_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[4096];
    while (path && *path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, name);
        if (access(buf, X_OK) == 0)
            return 1;
        path = end ? end + 1 : NULL;
    }
    return 0;
}

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int port_open(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
    if (fd < 0)
        return 0;
    ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void config_s3(lp_config *cfg, const char *bucket)
{
    const char *pairs[] = {"storage_backend", "s3", "s3_endpoint", srv.endpoint, "s3_path_style", "true",
                           "s3_bucket", bucket, "s3_region", "us-east-1", "s3_access_key", "S3RVER",
                           "s3_secret_key", "S3RVER", "s3_part_size", "5M", NULL};
    config_with(cfg, pairs);
}

static int start_server(void **state)
{
    const char *js = getenv("LOUPE_S3RVER_JS");
    char data[1100], logpath[1100], port[16];
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!find_in_path("node")) {
        srv.skip_reason = "node is not installed";
        return 0;
    }
    if (!js || access(js, R_OK) != 0) {
        srv.skip_reason = "s3rver is not installed (LOUPE_S3RVER_JS)";
        return 0;
    }
    if (scratch_make("storage-s3", srv.dir, sizeof srv.dir) || (srv.port = free_port()) < 0)
        return -1;
    snprintf(data, sizeof data, "%s/data", srv.dir);
    snprintf(logpath, sizeof logpath, "%s/s3rver.log", srv.dir);
    snprintf(port, sizeof port, "%d", srv.port);
    snprintf(srv.endpoint, sizeof srv.endpoint, "http://127.0.0.1:%d", srv.port);
    mkdir(data, 0700);
    srv.pid = fork();
    if (srv.pid < 0)
        return -1;
    if (srv.pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("node", "node", js, "--directory", data, "--port", port, "--address", "127.0.0.1",
               "--configure-bucket", BUCKET, (char *)NULL);
        _exit(127);
    }
    /* Wait until it listens and the bucket exists (up to 30 s). */
    for (int i = 0; i < 300; i++) {
        int status;
        struct timespec ts = {0, 100 * 1000 * 1000};
        if (waitpid(srv.pid, &status, WNOHANG) == srv.pid) {
            fprintf(stderr, "s3rver exited early; see %s\n", logpath);
            srv.pid = -1;
            return -1;
        }
        if (port_open(srv.port)) {
            lp_config cfg;
            lp_storage *s;
            lp_storage_info info;
            lp_error err;
            config_s3(&cfg, BUCKET);
            lp_error_clear(&err);
            s = lp_storage_open(&cfg, &err);
            if (s && lp_storage_stat(s, "probe", &info, &err) != 0 && err.code == LP_E_NOT_FOUND) {
                lp_storage_free(s);
                lp_config_free(&cfg);
                return 0;
            }
            lp_storage_free(s);
            lp_config_free(&cfg);
        }
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "s3rver did not come up on port %d\n", srv.port);
    return -1;
}

static int stop_server(void **state)
{
    (void)state;
    if (srv.pid > 0) {
        kill(srv.pid, SIGTERM);
        waitpid(srv.pid, NULL, 0);
        srv.pid = -1;
    }
    scratch_remove(srv.dir);
    curl_global_cleanup();
    return 0;
}

typedef struct fixture {
    lp_config cfg;
    lp_storage *s;
} fixture;

static int setup(void **state)
{
    fixture *f;
    lp_error err;
    if (srv.skip_reason) {
        *state = NULL;
        return 0;
    }
    f = calloc(1, sizeof *f);
    config_s3(&f->cfg, BUCKET);
    lp_error_clear(&err);
    if (!(f->s = lp_storage_open(&f->cfg, &err))) {
        fprintf(stderr, "open: %s\n", err.message);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f) {
        lp_storage_free(f->s);
        lp_config_free(&f->cfg);
        free(f);
    }
    return 0;
}

#define NEED_SERVER()                                                                                          \
    do {                                                                                                       \
        if (srv.skip_reason) {                                                                                 \
            fprintf(stderr, "skipped: %s\n", srv.skip_reason);                                                 \
            skip();                                                                                            \
        }                                                                                                      \
    } while (0)

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

static void test_single_put_stat_get_range(void **state)
{
    fixture *f = *state;
    enum { N = 100000 };
    unsigned char data[N];
    lp_storage_object obj;
    lp_storage_info info;
    lp_buf got;
    lp_error err;
    NEED_SERVER();
    fill_pattern(data, N, 11);
    lp_error_clear(&err);
    if (lp_storage_put_mem(f->s, "teams/t1/single.bin", data, N, "image/jpeg", &obj, &err))
        fail_msg("put: %s", err.message);
    assert_int_equal(obj.size, N);
    assert_int_equal(strlen(obj.etag), 32); /* MD5 hex of a single-part object, quotes removed */

    assert_int_equal(lp_storage_stat(f->s, "teams/t1/single.bin", &info, &err), 0);
    assert_int_equal(info.size, N);
    assert_string_equal(info.etag, obj.etag);
    assert_true(info.mtime > 1600000000);

    expect_get(f->s, "teams/t1/single.bin", 0, LP_STORAGE_TO_END, data, N);
    expect_get(f->s, "teams/t1/single.bin", 1000, 5000, data + 1000, 5000);
    expect_get(f->s, "teams/t1/single.bin", N - 10, LP_STORAGE_TO_END, data + N - 10, 10);

    lp_buf_init(&got, MiB);
    assert_int_equal(lp_storage_get(f->s, "teams/t1/single.bin", N + 5, 10, buf_sink, &got, &err), -1);
    assert_int_equal(err.code, LP_E_RANGE);
    assert_int_equal(got.len, 0);
    lp_error_clear(&err);
    assert_int_equal(lp_storage_get(f->s, "teams/t1/none.bin", 0, LP_STORAGE_TO_END, buf_sink, &got, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);
    lp_error_clear(&err);
    assert_int_equal(lp_storage_stat(f->s, "teams/t1/none.bin", &info, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);
    lp_buf_free(&got);
}

/* 1 if s3rver's request log mentions needle (the log is flushed per line). */
static int log_mentions(const char *needle)
{
    char path[1100], line[4096];
    FILE *fp;
    int found = 0;
    snprintf(path, sizeof path, "%s/s3rver.log", srv.dir);
    if (!(fp = fopen(path, "r")))
        return -1;
    while (!found && fgets(line, sizeof line, fp))
        found = strstr(line, needle) != NULL;
    fclose(fp);
    return found;
}

static int sha_sink(void *ud, const void *p, size_t n, lp_error *err)
{
    (void)err;
    return lp_sha256_update(ud, p, n);
}

static void test_multipart_upload(void **state)
{
    fixture *f = *state;
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
    NEED_SERVER();
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
    assert_int_equal(log_mentions("multi.bin?uploads"), 1);
    assert_int_equal(log_mentions("multi.bin?partNumber=3&uploadId="), 1);
    assert_int_equal(log_mentions("multi.bin?partNumber=4&"), 0);

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

static void test_multipart_abort(void **state)
{
    fixture *f = *state;
    const size_t n = 6 * MiB;
    unsigned char *data = malloc(n);
    lp_storage_writer *w;
    lp_storage_info info;
    lp_error err;
    NEED_SERVER();
    assert_non_null(data);
    fill_pattern(data, n, 13);
    lp_error_clear(&err);
    assert_non_null(w = lp_storage_writer_open(f->s, "teams/t1/aborted.bin", NULL, &err));
    assert_int_equal(lp_storage_writer_write(w, data, n / 2, &err), 0);
    assert_int_equal(lp_storage_writer_write(w, data + n / 2, n / 2, &err), 0); /* uploads part 1 */
    lp_storage_writer_abort(w);
    assert_int_equal(lp_storage_stat(f->s, "teams/t1/aborted.bin", &info, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);
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
    fixture *f = *state;
    unsigned char data[4096];
    lp_storage_url url;
    lp_buf got;
    lp_error err;
    int64_t now = lp_now_wall_ms();
    NEED_SERVER();
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

static void test_delete(void **state)
{
    fixture *f = *state;
    lp_storage_info info;
    lp_error err;
    NEED_SERVER();
    lp_error_clear(&err);
    assert_int_equal(lp_storage_put_mem(f->s, "teams/t1/gone.bin", "x", 1, NULL, NULL, &err), 0);
    assert_int_equal(lp_storage_stat(f->s, "teams/t1/gone.bin", &info, &err), 0);
    assert_int_equal(lp_storage_delete(f->s, "teams/t1/gone.bin", &err), 0);
    assert_int_equal(lp_storage_stat(f->s, "teams/t1/gone.bin", &info, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);
    lp_error_clear(&err);
    assert_int_equal(lp_storage_delete(f->s, "teams/t1/gone.bin", &err), 0); /* idempotent */
}

static void test_missing_bucket_is_reported(void **state)
{
    lp_config cfg;
    lp_storage *s;
    lp_error err;
    (void)state;
    NEED_SERVER();
    config_s3(&cfg, "no-such-bucket");
    lp_error_clear(&err);
    assert_non_null(s = lp_storage_open(&cfg, &err));
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
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", free_port());
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
        cmocka_unit_test_setup_teardown(test_single_put_stat_get_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_upload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_presigned_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test(test_missing_bucket_is_reported),
        cmocka_unit_test(test_unreachable_endpoint),
    };
    int rc = cmocka_run_group_tests(tests, start_server, stop_server);
    return rc == 0 && srv.skip_reason ? 77 : rc; /* 77: ctest reports a skip */
}
