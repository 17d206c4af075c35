/* Token buckets. See token_bucket.h.
 *
 * Open addressing over a fixed array: a key lives in one of PROBE slots after
 * its hash. A new key takes a free slot of its neighbourhood, else the one
 * whose bucket holds the most tokens now (a full one is as good as absent). */
#include "loupe/core/token_bucket.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PROBE 16

typedef struct bucket {
    char key[LP_TOKEN_BUCKET_KEY_MAX + 1]; /* "" = free */
    double tokens;                         /* as of at_ms */
    int64_t at_ms;
} bucket;

struct lp_token_buckets {
    pthread_mutex_t mu;
    double rate_per_ms;
    double burst;
    size_t capacity;
    bucket *slots;
};

static uint64_t hash(const char *k)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; k[i] && i < LP_TOKEN_BUCKET_KEY_MAX; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    return h;
}

lp_token_buckets *lp_token_buckets_new(size_t capacity, double rate, int64_t burst)
{
    lp_token_buckets *t;
    if (capacity == 0 || !(rate > 0) || burst < 1)
        return NULL;
    t = calloc(1, sizeof *t);
    if (!t || !(t->slots = calloc(capacity, sizeof *t->slots))) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    t->rate_per_ms = rate / 1000.0;
    t->burst = (double)burst;
    t->capacity = capacity;
    return t;
}

void lp_token_buckets_free(lp_token_buckets *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->slots);
    free(t);
}

/* The tokens of b at now_ms. */
static double tokens_now(const lp_token_buckets *t, const bucket *b, int64_t now_ms)
{
    double elapsed = now_ms > b->at_ms ? (double)(now_ms - b->at_ms) : 0;
    double v = b->tokens + elapsed * t->rate_per_ms;
    return v < t->burst ? v : t->burst;
}

/* The bucket of key, made (full) when absent. Under t->mu. */
static bucket *find(lp_token_buckets *t, const char *key, int64_t now_ms)
{
    size_t n = t->capacity < PROBE ? t->capacity : PROBE, start = (size_t)(hash(key) % t->capacity);
    bucket *victim = NULL;
    double victim_tokens = -1;
    for (size_t i = 0; i < n; i++) {
        bucket *b = &t->slots[(start + i) % t->capacity];
        if (b->key[0] && strncmp(b->key, key, LP_TOKEN_BUCKET_KEY_MAX) == 0)
            return b;
        double have = b->key[0] ? tokens_now(t, b, now_ms) : t->burst + 1;
        if (have > victim_tokens)
            victim = b, victim_tokens = have;
    }
    memset(victim, 0, sizeof *victim);
    strncpy(victim->key, key, LP_TOKEN_BUCKET_KEY_MAX);
    victim->tokens = t->burst;
    victim->at_ms = now_ms;
    return victim;
}

int64_t lp_token_buckets_take(lp_token_buckets *t, const char *key, int64_t now_ms)
{
    int64_t wait = 0;
    pthread_mutex_lock(&t->mu);
    bucket *b = find(t, key, now_ms);
    double have = tokens_now(t, b, now_ms);
    if (have >= 1) {
        b->tokens = have - 1;
        b->at_ms = now_ms > b->at_ms ? now_ms : b->at_ms;
    } else {
        wait = (int64_t)ceil((1 - have) / t->rate_per_ms);
        if (wait < 1)
            wait = 1;
    }
    pthread_mutex_unlock(&t->mu);
    return wait;
}
