/* The receiver of bench/webhook_bench.sh: a libmicrohttpd server on a
 * loopback address that answers every POST with 204 and, for POST /hook,
 * records the latency from the delivered event's "timestamp" (when it was
 * recorded) to the request's arrival. After `expect` deliveries it writes
 * "received first_ms last_ms p50_ms p99_ms" to the stats file; POSTs to any
 * other path (the wrk baseline) are answered and not recorded.
 *
 * Usage: webhook_receiver ADDRESS PORT THREADS EXPECT STATS_FILE */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX 65536

typedef struct upload {
    char buf[BODY_MAX];
    size_t len;
} upload;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double *latencies;
static long expect, received;
static double first_ms, last_ms;
static const char *stats_path;

static double now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

/* "timestamp":"2026-12-06T03:12:45.120Z" → ms since the epoch, or -1. */
static double event_ms(const char *body)
{
    const char *p = strstr(body, "\"timestamp\"");
    struct tm tm;
    int ms = 0;
    if (!p || !(p = strchr(p + 11, '"')))
        return -1;
    memset(&tm, 0, sizeof tm);
    if (sscanf(p + 1, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm) * 1000.0 + ms;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void write_stats(void)
{
    FILE *f;
    char tmp[4096];
    qsort(latencies, (size_t)received, sizeof(double), cmp);
    snprintf(tmp, sizeof tmp, "%s.tmp", stats_path);
    if (!(f = fopen(tmp, "w")))
        return;
    fprintf(f, "%ld %.1f %.1f %.1f %.1f\n", received, first_ms, last_ms, latencies[received / 2],
            latencies[(long)(received * 0.99)]);
    fclose(f);
    rename(tmp, stats_path);
}

static void record(const char *body)
{
    double t = now_ms(), e = event_ms(body);
    pthread_mutex_lock(&mu);
    if (received < expect && e > 0) {
        if (received == 0)
            first_ms = t;
        last_ms = t;
        latencies[received++] = t - e;
        if (received == expect)
            write_stats();
    }
    pthread_mutex_unlock(&mu);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **con_cls)
{
    upload *u = *con_cls;
    (void)cls;
    (void)version;
    (void)method;
    if (!u) {
        if (!(u = calloc(1, sizeof *u)))
            return MHD_NO;
        *con_cls = u;
        return MHD_YES;
    }
    if (*size) {
        size_t n = *size < BODY_MAX - 1 - u->len ? *size : BODY_MAX - 1 - u->len;
        memcpy(u->buf + u->len, data, n);
        u->len += n;
        *size = 0;
        return MHD_YES;
    }
    u->buf[u->len] = '\0';
    if (strcmp(url, "/hook") == 0)
        record(u->buf);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    sigset_t set;
    int sig;
    if (argc != 6) {
        fprintf(stderr, "usage: webhook_receiver ADDRESS PORT THREADS EXPECT STATS_FILE\n");
        return 2;
    }
    expect = atol(argv[4]);
    stats_path = argv[5];
    if (expect < 1 || !(latencies = calloc((size_t)expect, sizeof(double))))
        return 2;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(argv[2]));
    inet_pton(AF_INET, argv[1], &sa.sin_addr);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TURBO, (uint16_t)atoi(argv[2]), NULL,
        NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)atoi(argv[3]), MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "webhook_receiver: cannot listen on %s:%s\n", argv[1], argv[2]);
        return 1;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    free(latencies);
    return 0;
}
