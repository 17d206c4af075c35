/* s3rver (an S3-compatible server on node; LOUPE_S3RVER_JS names its s3rver.js, installed by
 * the ctest fixture unit/storage_s3rver_setup) started on a loopback port for the storage tests
 * that need a real S3 endpoint. Include after <cmocka.h>, "test_skip.h" and "test_support.h". */
#ifndef LOUPE_TESTS_STORAGE_S3RVER_H
#define LOUPE_TESTS_STORAGE_S3RVER_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "loupe/storage/storage.h"

#define S3RVER_BUCKET "loupe-test"

static struct s3rver {
    pid_t pid;
    int port;
    char dir[1024];
    char endpoint[64];
    const char *skip_reason; /* set when node or s3rver is missing: the tests skip */
} srv = {.pid = -1};

static inline int s3rver_find_in_path(const char *name)
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

/* A TCP port free on 127.0.0.1 now, or -1. */
static inline int s3rver_free_port(void)
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

static inline int s3rver_port_open(int port)
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

/* The settings of the s3 backend on this server and bucket, then extra (name/value pairs, NULL-
 * terminated, may be NULL), into pairs (room for cap entries); NULL-terminated. */
static inline void s3rver_settings(const char **pairs, size_t cap, const char *bucket, const char *const *extra)
{
    const char *base[] = {"storage_backend", "s3", "s3_endpoint", srv.endpoint, "s3_path_style", "true",
                          "s3_bucket", bucket, "s3_region", "us-east-1", "s3_access_key", "S3RVER",
                          "s3_secret_key", "S3RVER", "s3_part_size", "5M"};
    size_t n = 0;
    for (size_t i = 0; i < sizeof base / sizeof base[0] && n + 1 < cap; i++)
        pairs[n++] = base[i];
    for (size_t i = 0; extra && extra[i] && n + 1 < cap; i++)
        pairs[n++] = extra[i];
    pairs[n] = NULL;
}

/* The s3 backend on this server and bucket; its settings are left in cfg. NULL when it cannot open. */
static inline lp_storage *s3rver_open(lp_config *cfg, const char *bucket)
{
    const char *pairs[32];
    s3rver_settings(pairs, 32, bucket, NULL);
    return storage_open_with(cfg, pairs);
}

/* Starts s3rver with the bucket S3RVER_BUCKET and waits until it answers (30 s at most).
 * 0 (srv.skip_reason set when it cannot run here) or -1. */
static inline int s3rver_start(void)
{
    const char *js = getenv("LOUPE_S3RVER_JS");
    char data[1100], logpath[1100], port[16];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!s3rver_find_in_path("node")) {
        srv.skip_reason = "node is not installed (make deps)";
        return 0;
    }
    if (!js || access(js, R_OK) != 0) {
        srv.skip_reason = "s3rver is not installed (LOUPE_S3RVER_JS; ctest's unit/storage_s3rver_setup installs it)";
        return 0;
    }
    if (scratch_make("storage-s3", srv.dir, sizeof srv.dir) || (srv.port = s3rver_free_port()) < 0)
        return -1;
    snprintf(data, sizeof data, "%s/data", srv.dir);
    snprintf(logpath, sizeof logpath, "%s/s3rver.log", srv.dir);
    snprintf(port, sizeof port, "%d", srv.port);
    snprintf(srv.endpoint, sizeof srv.endpoint, "http://127.0.0.1:%d", srv.port);
    mkdir(data, 0700);
    char *argv[] = {"node", (char *)js, "--directory", data, "--port", port, "--address", "127.0.0.1",
                    "--configure-bucket", S3RVER_BUCKET, NULL};
    if ((srv.pid = server_spawn(argv, logpath)) < 0)
        return -1;
    for (int i = 0; i < 300; i++) {
        int status;
        struct timespec ts = {0, 100 * 1000 * 1000};
        if (waitpid(srv.pid, &status, WNOHANG) == srv.pid) {
            fprintf(stderr, "s3rver exited early; see %s\n", logpath);
            srv.pid = -1;
            return -1;
        }
        if (s3rver_port_open(srv.port)) {
            lp_config cfg;
            lp_storage *s = s3rver_open(&cfg, S3RVER_BUCKET);
            lp_storage_info info;
            lp_error err;
            lp_error_clear(&err);
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

static inline void s3rver_stop(void)
{
    server_stop(&srv.pid, srv.dir);
    curl_global_cleanup();
}

/* 1 if s3rver's request log mentions needle (the log is flushed per line), 0 if not, -1 without a log. */
static inline int s3rver_log_mentions(const char *needle)
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

#define NEED_S3RVER()                                                                                          \
    do {                                                                                                       \
        if (srv.skip_reason)                                                                                   \
            LP_TEST_SKIP(srv.skip_reason);                                                                     \
    } while (0)

#endif
