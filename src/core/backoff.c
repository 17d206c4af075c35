/* Failure counters with exponential back-off. See backoff.h.
 *
 * Open addressing over a fixed array: a key lives in one of PROBE slots after
 * its hash. Inserting into a full neighbourhood replaces the entry whose last
 * failure is oldest, so the table never grows and never refuses a key. */
#include "loupe/core/backoff.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PROBE 16

typedef struct entry {
    char key[LP_BACKOFF_KEY_MAX + 1]; /* "" = free */
    int64_t failures;
    int64_t last_fail_ms;
    int64_t until_ms; /* may not try before this */
} entry;

struct lp_backoff {
    pthread_mutex_t mu;
    lp_backoff_policy policy;
    size_t capacity;
    entry *slots;
};

static uint64_t hash(const char *k)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; k[i] && i < LP_BACKOFF_KEY_MAX; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    return h;
}

lp_backoff *lp_backoff_new(size_t capacity, lp_backoff_policy policy)
{
    lp_backoff *b = calloc(1, sizeof *b);
    if (!b || capacity == 0 || !(b->slots = calloc(capacity, sizeof *b->slots))) {
        free(b);
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    b->policy = policy;
    b->capacity = capacity;
    return b;
}

void lp_backoff_free(lp_backoff *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->mu);
    free(b->slots);
    free(b);
}

static int same_key(const entry *e, const char *key)
{
    return e->key[0] && strncmp(e->key, key, LP_BACKOFF_KEY_MAX) == 0;
}

static int stale(const lp_backoff *b, const entry *e, int64_t now_ms)
{
    return now_ms - e->last_fail_ms >= b->policy.forget_ms && now_ms >= e->until_ms;
}

/* The entry of key, or NULL; with create, a slot for it (a free, stale or
 * the oldest one of the neighbourhood). Under b->mu. */
static entry *find(lp_backoff *b, const char *key, int64_t now_ms, int create)
{
    size_t n = b->capacity < PROBE ? b->capacity : PROBE, start = (size_t)(hash(key) % b->capacity);
    entry *victim = NULL;
    for (size_t i = 0; i < n; i++) {
        entry *e = &b->slots[(start + i) % b->capacity];
        if (same_key(e, key)) {
            if (stale(b, e, now_ms))
                e->failures = 0, e->until_ms = 0;
            return e;
        }
        if (!victim || !e->key[0] || (victim->key[0] && e->last_fail_ms < victim->last_fail_ms))
            victim = e;
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof *victim);
    strncpy(victim->key, key, LP_BACKOFF_KEY_MAX);
    return victim;
}

int64_t lp_backoff_wait(lp_backoff *b, const char *key, int64_t now_ms)
{
    int64_t wait = 0;
    pthread_mutex_lock(&b->mu);
    entry *e = find(b, key, now_ms, 0);
    if (e && e->until_ms > now_ms)
        wait = e->until_ms - now_ms;
    pthread_mutex_unlock(&b->mu);
    return wait;
}

int64_t lp_backoff_fail(lp_backoff *b, const char *key, int64_t now_ms)
{
    const lp_backoff_policy *p = &b->policy;
    int64_t wait = 0;
    pthread_mutex_lock(&b->mu);
    entry *e = find(b, key, now_ms, 1);
    e->failures++;
    e->last_fail_ms = now_ms;
    if (e->failures > p->free) {
        int64_t beyond = e->failures - p->free;
        wait = p->base_ms;
        for (int64_t i = 1; i < beyond && wait < p->max_ms; i++)
            wait *= 2;
        if (wait > p->max_ms)
            wait = p->max_ms;
        e->until_ms = now_ms + wait;
    }
    pthread_mutex_unlock(&b->mu);
    return wait;
}

void lp_backoff_clear(lp_backoff *b, const char *key)
{
    pthread_mutex_lock(&b->mu);
    entry *e = find(b, key, 0, 0);
    if (e)
        memset(e, 0, sizeof *e);
    pthread_mutex_unlock(&b->mu);
}
