/* The credential cache. See loupe/identity/credential_cache.h.
 *
 * SHARDS shards, chosen by the first hex digits of the key (a SHA-256, so
 * already uniform). Each shard is a fixed array of entries with chained
 * buckets (indices, -1 = end) and a free list; when full, the entry at the
 * clock hand (the oldest-inserted, as slots fill in order and are reused in
 * order) is evicted. Invalidations scan every shard: they are rare, the
 * request path never scans. */
#include "loupe/identity/credential_cache.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/util.h"

#define SHARDS 16

typedef struct entry {
    int32_t next;             /* bucket chain, or free list */
    uint8_t used;
    uint8_t touch_pending;
    lp_credential_kind kind;
    char hash[65];
    int64_t cached_ms, touched_ms;
    lp_credential cred;       /* strings point into blob */
    char *blob;
} entry;

typedef struct shard {
    pthread_mutex_t mu;
    entry *e;
    int32_t *bucket;
    uint32_t nbuckets;        /* power of two */
    int32_t cap, nused, free_head, hand;
} shard;

struct lp_credential_cache {
    size_t capacity;
    int64_t ttl_ms;
    atomic_uint_fast64_t generation;
    atomic_int live;
    atomic_uint_fast64_t hits, misses, invalidations, evictions;
    shard shards[SHARDS];
};

static uint64_t key_bits(const char *hash)
{
    uint64_t v = 0;
    for (int i = 0; i < 16 && hash[i]; i++) {
        char ch = hash[i];
        v = (v << 4) | (uint64_t)(ch >= 'a' ? ch - 'a' + 10 : ch >= 'A' ? ch - 'A' + 10 : ch - '0');
    }
    return v;
}

lp_credential_cache *lp_credential_cache_new(size_t capacity, int64_t ttl_ms)
{
    lp_credential_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->capacity = capacity;
    c->ttl_ms = ttl_ms;
    size_t per = (capacity + SHARDS - 1) / SHARDS;
    for (int i = 0; i < SHARDS; i++) {
        shard *s = &c->shards[i];
        pthread_mutex_init(&s->mu, NULL);
        s->free_head = -1;
        if (per == 0 || per > INT32_MAX / 2)
            continue;
        s->cap = (int32_t)per;
        s->nbuckets = 1;
        while (s->nbuckets < (uint32_t)per)
            s->nbuckets <<= 1;
        s->e = calloc((size_t)per, sizeof *s->e);
        s->bucket = malloc(s->nbuckets * sizeof *s->bucket);
        if (!s->e || !s->bucket) {
            lp_credential_cache_free(c);
            return NULL;
        }
        for (uint32_t b = 0; b < s->nbuckets; b++)
            s->bucket[b] = -1;
        for (int32_t k = s->cap - 1; k >= 0; k--) {
            s->e[k].next = s->free_head;
            s->free_head = k;
        }
    }
    return c;
}

void lp_credential_cache_free(lp_credential_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < SHARDS; i++) {
        shard *s = &c->shards[i];
        for (int32_t k = 0; k < s->cap && s->e; k++)
            free(s->e[k].blob);
        free(s->e);
        free(s->bucket);
        pthread_mutex_destroy(&s->mu);
    }
    free(c);
}

static shard *shard_of(lp_credential_cache *c, const char *hash, uint32_t *bucket)
{
    uint64_t bits = key_bits(hash);
    shard *s = &c->shards[bits % SHARDS];
    *bucket = s->nbuckets ? (uint32_t)((bits / SHARDS) & (s->nbuckets - 1)) : 0;
    return s;
}

/* Index of the entry for (kind, hash) in s, or -1; *prev receives its
 * predecessor in the chain (-1 when first). */
static int32_t find(shard *s, uint32_t b, lp_credential_kind kind, const char *hash, int32_t *prev)
{
    int32_t p = -1;
    for (int32_t k = s->bucket[b]; k >= 0; p = k, k = s->e[k].next) {
        if (s->e[k].kind == kind && strcmp(s->e[k].hash, hash) == 0) {
            if (prev)
                *prev = p;
            return k;
        }
    }
    return -1;
}

/* Unlinks entry k (in bucket b, after prev) and puts it on the free list. */
static void drop(shard *s, uint32_t b, int32_t k, int32_t prev)
{
    entry *e = &s->e[k];
    if (prev < 0)
        s->bucket[b] = e->next;
    else
        s->e[prev].next = e->next;
    free(e->blob);
    memset(e, 0, sizeof *e);
    e->next = s->free_head;
    s->free_head = k;
    s->nused--;
}

static void drop_at(shard *s, int32_t k)
{
    uint32_t b;
    uint64_t bits = key_bits(s->e[k].hash);
    int32_t prev = -1;
    b = (uint32_t)((bits / SHARDS) & (s->nbuckets - 1));
    for (int32_t i = s->bucket[b]; i >= 0 && i != k; i = s->e[i].next)
        prev = i;
    drop(s, b, k, prev);
}

static const char *copy_str(lp_arena *a, const char *s)
{
    return s ? lp_arena_strdup(a, s) : NULL;
}

int lp_credential_cache_get(lp_credential_cache *c, lp_credential_kind kind, const char *hash, int64_t now_ms,
                            lp_arena *a, lp_credential *out)
{
    uint32_t b;
    int rc = 1;
    if (!c || !atomic_load(&c->live) || !hash || strlen(hash) != 64) {
        if (c)
            atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
        return 1;
    }
    shard *s = shard_of(c, hash, &b);
    if (!s->cap) {
        atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
        return 1;
    }
    pthread_mutex_lock(&s->mu);
    int32_t prev = -1, k = find(s, b, kind, hash, &prev);
    if (k >= 0) {
        entry *e = &s->e[k];
        if (now_ms - e->cached_ms >= c->ttl_ms || (e->cred.expires_at_ms && now_ms >= e->cred.expires_at_ms)) {
            drop(s, b, k, prev);
        } else {
            *out = e->cred;
            out->user_email = copy_str(a, e->cred.user_email);
            out->user_name = copy_str(a, e->cred.user_name);
            out->team_name = copy_str(a, e->cred.team_name);
            out->team_slug = copy_str(a, e->cred.team_slug);
            out->team_created_at = copy_str(a, e->cred.team_created_at);
            rc = (e->cred.user_email && !out->user_email) || (e->cred.user_name && !out->user_name) ||
                         (e->cred.team_name && !out->team_name) || (e->cred.team_slug && !out->team_slug) ||
                         (e->cred.team_created_at && !out->team_created_at)
                     ? 1
                     : 0;
            if (rc == 0 && kind == LP_CREDENTIAL_API_KEY && now_ms - e->touched_ms >= LP_CREDENTIAL_TOUCH_MS) {
                e->touched_ms = now_ms;
                e->touch_pending = 1;
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add_explicit(rc == 0 ? &c->hits : &c->misses, 1, memory_order_relaxed);
    return rc;
}

uint64_t lp_credential_cache_generation(lp_credential_cache *c)
{
    return c ? atomic_load(&c->generation) : 0;
}

/* One malloc'd block holding the profile strings of cred; the entry's
 * pointers are re-aimed into it. */
static char *pack_strings(lp_credential *cred)
{
    const char **fields[] = {&cred->user_email, &cred->user_name, &cred->team_name, &cred->team_slug,
                             &cred->team_created_at};
    size_t n = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        n += *fields[i] ? strlen(*fields[i]) + 1 : 0;
    char *blob = malloc(n ? n : 1), *p = blob;
    if (!blob)
        return NULL;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (!*fields[i])
            continue;
        size_t len = strlen(*fields[i]) + 1;
        memcpy(p, *fields[i], len);
        *fields[i] = p;
        p += len;
    }
    return blob;
}

void lp_credential_cache_put(lp_credential_cache *c, lp_credential_kind kind, const char *hash,
                             const lp_credential *cred, uint64_t generation, int64_t now_ms)
{
    uint32_t b;
    if (!c || !hash || strlen(hash) != 64)
        return;
    shard *s = shard_of(c, hash, &b);
    if (!s->cap)
        return;
    lp_credential copy = *cred;
    char *blob = pack_strings(&copy);
    if (!blob)
        return;
    pthread_mutex_lock(&s->mu);
    /* Checked under the shard's lock: an invalidation bumps the generation
     * before it takes the locks, so it either sees this entry or this put
     * sees the new generation. */
    if (!atomic_load(&c->live) || atomic_load(&c->generation) != generation) {
        pthread_mutex_unlock(&s->mu);
        free(blob);
        return;
    }
    int32_t prev = -1, k = find(s, b, kind, hash, &prev);
    if (k >= 0)
        drop(s, b, k, prev);
    if (s->free_head < 0) {
        /* full: evict the entry at the clock hand (every slot is in use) */
        s->hand = (s->hand + 1) % s->cap;
        drop_at(s, s->hand);
        atomic_fetch_add_explicit(&c->evictions, 1, memory_order_relaxed);
    }
    k = s->free_head;
    entry *e = &s->e[k];
    s->free_head = e->next;
    e->used = 1;
    e->kind = kind;
    lp_strlcpy(e->hash, hash, sizeof e->hash);
    e->cached_ms = e->touched_ms = now_ms;
    e->cred = copy;
    e->blob = blob;
    e->next = s->bucket[b];
    s->bucket[b] = k;
    s->nused++;
    pthread_mutex_unlock(&s->mu);
}

typedef struct match {
    const char *credential_id; /* or NULL */
    const char *team_id;       /* NULL: any */
    const char *user_id;       /* NULL: any */
    int all;
} match;

static int matches(const match *m, const entry *e)
{
    if (m->all)
        return 1;
    if (m->credential_id)
        return strcmp(e->cred.id, m->credential_id) == 0;
    if (!m->team_id && !m->user_id)
        return 0;
    return (!m->team_id || strcmp(e->cred.team_id, m->team_id) == 0) &&
           (!m->user_id || strcmp(e->cred.user_id, m->user_id) == 0);
}

static void drop_matching(lp_credential_cache *c, const match *m)
{
    if (!c)
        return;
    atomic_fetch_add(&c->generation, 1);
    atomic_fetch_add_explicit(&c->invalidations, 1, memory_order_relaxed);
    for (int i = 0; i < SHARDS; i++) {
        shard *s = &c->shards[i];
        pthread_mutex_lock(&s->mu);
        for (int32_t k = 0; k < s->cap; k++)
            if (s->e[k].used && matches(m, &s->e[k]))
                drop_at(s, k);
        pthread_mutex_unlock(&s->mu);
    }
}

void lp_credential_cache_drop_credential(lp_credential_cache *c, const char *credential_id)
{
    match m = {.credential_id = credential_id};
    drop_matching(c, &m);
}

void lp_credential_cache_drop_member(lp_credential_cache *c, const char *team_id, const char *user_id)
{
    match m = {.team_id = team_id, .user_id = user_id};
    drop_matching(c, &m);
}

void lp_credential_cache_clear(lp_credential_cache *c)
{
    match m = {.all = 1};
    drop_matching(c, &m);
}

/* Copies the next space-separated word of *p (at most cap - 1 bytes) into
 * out; 0, or -1 when there is none or it is too long. */
static int word(const char **p, char *out, size_t cap)
{
    const char *s = *p;
    while (*s == ' ')
        s++;
    size_t n = strcspn(s, " ");
    if (n == 0 || n >= cap)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    *p = s + n;
    return 0;
}

void lp_credential_cache_apply(lp_credential_cache *c, const char *payload)
{
    char kind[16], a[40], b[40];
    const char *p = payload ? payload : "";
    match m = {0};

    if (word(&p, kind, sizeof kind) != 0 || word(&p, a, sizeof a) != 0) {
        m.all = 1;
    } else if (strcmp(kind, "key") == 0 || strcmp(kind, "session") == 0) {
        m.credential_id = a;
    } else if (strcmp(kind, "user") == 0) {
        m.user_id = a;
    } else if (strcmp(kind, "team") == 0) {
        m.team_id = a;
    } else if (strcmp(kind, "member") == 0 && word(&p, b, sizeof b) == 0) {
        m.team_id = a;
        m.user_id = b;
    } else {
        m.all = 1;
    }
    drop_matching(c, &m);
}

void lp_credential_cache_set_live(lp_credential_cache *c, int live)
{
    if (!c)
        return;
    if (!live) {
        atomic_store(&c->live, 0);
        lp_credential_cache_clear(c);
    } else {
        /* anything cached before was read while nobody listened */
        lp_credential_cache_clear(c);
        atomic_store(&c->live, 1);
    }
}

size_t lp_credential_cache_take_touches(lp_credential_cache *c, char (*ids)[37], size_t max)
{
    size_t n = 0;
    if (!c)
        return 0;
    for (int i = 0; i < SHARDS && n < max; i++) {
        shard *s = &c->shards[i];
        pthread_mutex_lock(&s->mu);
        for (int32_t k = 0; k < s->cap && n < max; k++) {
            if (s->e[k].used && s->e[k].touch_pending) {
                s->e[k].touch_pending = 0;
                lp_strlcpy(ids[n++], s->e[k].cred.id, 37);
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    return n;
}

void lp_credential_cache_get_stats(lp_credential_cache *c, lp_credential_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    out->hits = atomic_load(&c->hits);
    out->misses = atomic_load(&c->misses);
    out->invalidations = atomic_load(&c->invalidations);
    out->evictions = atomic_load(&c->evictions);
    out->capacity = c->capacity;
    out->live = atomic_load(&c->live);
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_lock(&c->shards[i].mu);
        out->entries += (size_t)c->shards[i].nused;
        pthread_mutex_unlock(&c->shards[i].mu);
    }
}

int lp_credential_cache_metrics(void *cls, lp_buf *out)
{
    lp_credential_cache_stats s;
    lp_credential_cache_get_stats(cls, &s);
    return lp_buf_printf(out,
                         "# HELP loupe_auth_cache_lookups_total Credential cache look-ups by result.\n"
                         "# TYPE loupe_auth_cache_lookups_total counter\n"
                         "loupe_auth_cache_lookups_total{result=\"hit\"} %" PRIu64 "\n"
                         "loupe_auth_cache_lookups_total{result=\"miss\"} %" PRIu64 "\n"
                         "# HELP loupe_auth_cache_invalidations_total Invalidations applied (notifications, reconnects).\n"
                         "# TYPE loupe_auth_cache_invalidations_total counter\n"
                         "loupe_auth_cache_invalidations_total %" PRIu64 "\n"
                         "# HELP loupe_auth_cache_evictions_total Entries evicted because the cache was full.\n"
                         "# TYPE loupe_auth_cache_evictions_total counter\n"
                         "loupe_auth_cache_evictions_total %" PRIu64 "\n"
                         "# HELP loupe_auth_cache_entries Credentials cached now.\n"
                         "# TYPE loupe_auth_cache_entries gauge\n"
                         "loupe_auth_cache_entries %zu\n"
                         "# HELP loupe_auth_cache_live 1 while invalidations are being received (the cache is used).\n"
                         "# TYPE loupe_auth_cache_live gauge\n"
                         "loupe_auth_cache_live %d\n",
                         s.hits, s.misses, s.invalidations, s.evictions, s.entries, s.live);
}
