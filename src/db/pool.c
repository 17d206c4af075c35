/* The connection pool.
 *
 * Threads: any thread may acquire; the pool's mutex guards the free list and
 * the counters only — connecting, health checks and rollbacks run outside it,
 * so a slow server never blocks threads that already hold a connection.
 *
 * The pool has exactly `size` slots, created up front without a connection.
 * A slot connects lazily on acquire; a slot whose connection broke (server
 * restart) is closed on release and reconnects at its next acquire, and an
 * idle connection the server closed is noticed on acquire and re-opened, so
 * the pool heals by itself once the server is back. Free slots form a stack:
 * the most recently used (still connected) slot is handed out first.
 *
 * Waiting is bounded: pthread_cond_timedwait on CLOCK_MONOTONIC until
 * acquire_timeout_ms, then LP_E_UNAVAILABLE (HTTP 503). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_int.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"

struct lp_db_pool {
    char *url;
    int size;
    int64_t acquire_timeout_ms;
    lp_db *slots;          /* size slots */
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* signalled when a slot is released */
    lp_db *free_list;      /* guarded by mu */
    int open, in_use, waiting;
    uint64_t acquired, timeouts, reconnects;
    uint64_t waits, wait_us; /* acquisitions that found no free slot, and their time waiting */
    int64_t down_until_ms; /* guarded by mu; lp_db_acquire_optional: skip the server until then */
};

/* How long lp_db_acquire_optional leaves a server alone after it could not
 * be reached: one request in this long pays the failed connect. */
#define OPTIONAL_RETRY_MS 5000

lp_db_pool *lp_db_pool_new(const char *url, int size, int64_t acquire_timeout_ms, int64_t statement_timeout_ms,
                           lp_error *err)
{
    lp_db_pool *p;
    pthread_condattr_t ca;

    if (!url || !*url) {
        lp_error_field(err, LP_E_INVALID, "db_url", "is empty; set it to a PostgreSQL connection URI");
        return NULL;
    }
    if (size < 1) {
        lp_error_field(err, LP_E_INVALID, "db_pool_size", "must be at least 1, not %d", size);
        return NULL;
    }
    if (acquire_timeout_ms < 1) {
        lp_error_field(err, LP_E_INVALID, "db_acquire_timeout", "must be at least 1 ms");
        return NULL;
    }
    p = calloc(1, sizeof *p);
    if (!p || !(p->url = strdup(url)) || !(p->slots = calloc((size_t)size, sizeof *p->slots))) {
        if (p)
            free(p->url);
        free(p);
        lp_error_set(err, LP_E_NOMEM, "out of memory creating a database pool of %d connections", size);
        return NULL;
    }
    p->size = size;
    p->acquire_timeout_ms = acquire_timeout_ms;
    for (int i = size - 1; i >= 0; i--) {
        p->slots[i].pool = p;
        p->slots[i].statement_timeout_ms = statement_timeout_ms;
        p->slots[i].next_free = p->free_list;
        p->free_list = &p->slots[i];
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    return p;
}

void lp_db_pool_free(lp_db_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->size; i++)
        lp_db_conn_close(&p->slots[i]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->slots);
    free(p->url);
    free(p);
}

/* Puts db back on the free list and wakes one waiter. Called with mu unlocked. */
static void push_free(lp_db_pool *p, lp_db *db, int was_open, int is_open)
{
    pthread_mutex_lock(&p->mu);
    p->open += is_open - was_open;
    p->in_use--;
    db->next_free = p->free_list;
    p->free_list = db;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

lp_db *lp_db_acquire(lp_db_pool *p, lp_error *err)
{
    struct timespec deadline;
    lp_db *db;
    int was_open, reconnect = 0;

    if (!p) {
        lp_error_set(err, LP_E_UNAVAILABLE, "no database is configured");
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(p->acquire_timeout_ms / 1000);
    deadline.tv_nsec += (long)(p->acquire_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&p->mu);
    int64_t wait_from = p->free_list ? 0 : lp_now_mono_us();
    if (wait_from)
        p->waits++;
    while (!p->free_list) {
        int rc;
        p->waiting++;
        rc = pthread_cond_timedwait(&p->cv, &p->mu, &deadline);
        p->waiting--;
        if (rc == ETIMEDOUT && !p->free_list) {
            p->wait_us += (uint64_t)(lp_now_mono_us() - wait_from);
            p->timeouts++;
            pthread_mutex_unlock(&p->mu);
            lp_error_set(err, LP_E_UNAVAILABLE,
                         "no database connection became free within %lld ms (db_pool_size=%d)",
                         (long long)p->acquire_timeout_ms, p->size);
            lp_error_hint(err, "retry later; if this persists raise db_pool_size or find the slow queries");
            return NULL;
        }
    }
    if (wait_from)
        p->wait_us += (uint64_t)(lp_now_mono_us() - wait_from);
    db = p->free_list;
    p->free_list = db->next_free;
    db->next_free = NULL;
    p->in_use++;
    pthread_mutex_unlock(&p->mu);

    /* Outside the lock: make sure the slot has a working connection. */
    was_open = db->conn != NULL;
    if (!lp_db_conn_healthy(db)) {
        reconnect = db->ever_connected;
        if (db->conn)
            LP_WARN("db", "a pooled database connection was found closed; reconnecting");
        if (lp_db_conn_open(db, p->url, err) != 0) {
            push_free(p, db, was_open, 0);
            return NULL;
        }
    }

    pthread_mutex_lock(&p->mu);
    p->open += 1 - was_open;
    p->acquired++;
    if (reconnect)
        p->reconnects++;
    pthread_mutex_unlock(&p->mu);
    return db;
}

lp_db *lp_db_acquire_optional(lp_db_pool *p, lp_error *err)
{
    int64_t now = lp_now_mono_ms(), until;
    lp_db *db;

    if (!p) {
        lp_error_set(err, LP_E_UNAVAILABLE, "no database is configured");
        return NULL;
    }
    pthread_mutex_lock(&p->mu);
    until = p->down_until_ms;
    pthread_mutex_unlock(&p->mu);
    if (now < until) {
        lp_error_set(err, LP_E_UNAVAILABLE, "the database could not be reached a moment ago");
        return NULL;
    }
    db = lp_db_acquire(p, err);
    if (!db) {
        pthread_mutex_lock(&p->mu);
        if (p->down_until_ms <= now) {
            p->down_until_ms = lp_now_mono_ms() + OPTIONAL_RETRY_MS;
            LP_WARN("db", "an optional database is unavailable (%s); using the primary for %d s", err->message,
                    OPTIONAL_RETRY_MS / 1000);
        }
        pthread_mutex_unlock(&p->mu);
    }
    return db;
}

void lp_db_release(lp_db *db)
{
    lp_db_pool *p;
    int was_open;

    if (!db)
        return;
    p = db->pool;
    if (!p) {
        lp_db_close(db);
        return;
    }
    was_open = db->conn != NULL;
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK && lp_db_in_transaction(db)) {
        LP_WARN("db", "a database connection was released inside a transaction; rolling it back");
        if (lp_db_rollback(db) != 0 || PQtransactionStatus(db->conn) != PQTRANS_IDLE)
            lp_db_conn_close(db); /* unknown state: start over */
    }
    if (db->conn && (PQstatus(db->conn) != CONNECTION_OK || db->server_closed))
        lp_db_conn_close(db);
    push_free(p, db, was_open, db->conn != NULL);
}

void lp_db_pool_get_stats(lp_db_pool *p, lp_db_pool_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    out->size = p->size;
    out->open = p->open;
    out->in_use = p->in_use;
    out->waiting = p->waiting;
    out->acquired = p->acquired;
    out->timeouts = p->timeouts;
    out->reconnects = p->reconnects;
    out->waits = p->waits;
    out->wait_us = p->wait_us;
    pthread_mutex_unlock(&p->mu);
}
