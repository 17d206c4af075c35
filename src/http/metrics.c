/* Request metrics and the /metrics exposition. See metrics.h. */
#include "loupe/http/metrics.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const int statuses[] = {200, 201, 202, 204, 206, 301, 302, 303, 304, 400, 401, 403, 404, 405,
                               409, 410, 412, 413, 415, 416, 422, 428, 429, 500, 502, 503, 504};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))
#define STATUS_OTHER NSTATUS

/* Histogram bucket upper bounds in microseconds. */
static const int64_t bounds_us[] = {500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
                                    250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define NBUCKET (sizeof(bounds_us) / sizeof(bounds_us[0]))
#define MAX_COLLECTORS 16

typedef struct route_stats {
    atomic_uint_fast64_t by_status[NSTATUS + 1];
    atomic_uint_fast64_t buckets[NBUCKET + 1]; /* last = +Inf */
    atomic_uint_fast64_t sum_us;
} route_stats;

struct lp_metrics {
    const lp_route *routes;
    size_t nroutes;
    route_stats *stats; /* nroutes + 1: the last is "no route" */
    struct { lp_metrics_collector fn; void *cls; } collectors[MAX_COLLECTORS];
    size_t ncollectors;
};

lp_metrics *lp_metrics_new(const lp_route *routes, size_t nroutes)
{
    lp_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->routes = routes;
    m->nroutes = nroutes;
    m->stats = calloc(nroutes + 1, sizeof(route_stats));
    if (!m->stats) {
        free(m);
        return NULL;
    }
    return m;
}

void lp_metrics_free(lp_metrics *m)
{
    if (!m)
        return;
    free(m->stats);
    free(m);
}

static size_t status_index(int status)
{
    for (size_t i = 0; i < NSTATUS; i++)
        if (statuses[i] == status)
            return i;
    return STATUS_OTHER;
}

void lp_metrics_observe(lp_metrics *m, const lp_route *route, int status, int64_t duration_us)
{
    if (!m)
        return;
    size_t ri = m->nroutes;
    if (route && route >= m->routes && route < m->routes + m->nroutes)
        ri = (size_t)(route - m->routes);
    route_stats *s = &m->stats[ri];
    atomic_fetch_add_explicit(&s->by_status[status_index(status)], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBUCKET && duration_us > bounds_us[b])
        b++;
    atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, (uint_fast64_t)(duration_us > 0 ? duration_us : 0), memory_order_relaxed);
}

int lp_metrics_add_collector(lp_metrics *m, lp_metrics_collector fn, void *cls)
{
    if (!m || m->ncollectors >= MAX_COLLECTORS)
        return -1;
    m->collectors[m->ncollectors].fn = fn;
    m->collectors[m->ncollectors].cls = cls;
    m->ncollectors++;
    return 0;
}

static const char *route_label(const lp_metrics *m, size_t ri)
{
    return ri < m->nroutes ? m->routes[ri].name : "unmatched";
}

int lp_metrics_render(lp_metrics *m, lp_buf *out)
{
    int rc = 0;
    rc |= lp_buf_puts(out, "# HELP loupe_http_requests_total HTTP requests by route and status.\n"
                           "# TYPE loupe_http_requests_total counter\n");
    for (size_t ri = 0; ri <= m->nroutes; ri++) {
        route_stats *s = &m->stats[ri];
        for (size_t si = 0; si <= NSTATUS; si++) {
            uint64_t v = atomic_load_explicit(&s->by_status[si], memory_order_relaxed);
            if (!v)
                continue;
            if (si < NSTATUS)
                rc |= lp_buf_printf(out, "loupe_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                                    route_label(m, ri), statuses[si], (unsigned long long)v);
            else
                rc |= lp_buf_printf(out, "loupe_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                                    route_label(m, ri), (unsigned long long)v);
        }
    }
    rc |= lp_buf_puts(out, "# HELP loupe_http_request_duration_seconds Time from request headers to response.\n"
                           "# TYPE loupe_http_request_duration_seconds histogram\n");
    for (size_t ri = 0; ri <= m->nroutes; ri++) {
        route_stats *s = &m->stats[ri];
        uint64_t cum = 0;
        for (size_t b = 0; b <= NBUCKET; b++)
            cum += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
        if (!cum)
            continue;
        uint64_t acc = 0;
        for (size_t b = 0; b <= NBUCKET; b++) {
            acc += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
            if (b < NBUCKET)
                rc |= lp_buf_printf(out, "loupe_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                                    route_label(m, ri), (double)bounds_us[b] / 1e6, (unsigned long long)acc);
            else
                rc |= lp_buf_printf(out, "loupe_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                                    route_label(m, ri), (unsigned long long)acc);
        }
        rc |= lp_buf_printf(out, "loupe_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_label(m, ri),
                            (double)atomic_load_explicit(&s->sum_us, memory_order_relaxed) / 1e6);
        rc |= lp_buf_printf(out, "loupe_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                            route_label(m, ri), (unsigned long long)acc);
    }
    for (size_t i = 0; i < m->ncollectors; i++)
        rc |= m->collectors[i].fn(m->collectors[i].cls, out);
    return rc ? -1 : 0;
}
