/* The credential cache: what authentication learned about an API key or a
 * session, kept per node so that a request with a known credential makes
 * no database round trip to authenticate.
 *
 * Keyed by the SHA-256 (hex) of the presented secret, so a hit proves the
 * caller holds the secret. An entry lives at most ttl_ms (the safety net)
 * and never past the credential's own expiry; it is dropped at once when
 * PostgreSQL announces a change (revocation, expiry change, role change,
 * member removal, profile change: migration 0006 NOTIFYs the channel
 * LP_CREDENTIAL_CHANNEL, and the listener thread calls
 * lp_credential_cache_apply). Only accepted credentials are cached — never
 * an unknown, revoked or expired one.
 *
 * Races: a lookup that read the database before a change committed must
 * not cache what it read after the change's notification was applied.
 * Callers take lp_credential_cache_generation() before reading the
 * database and pass it to put, which refuses when any invalidation (or a
 * loss of the listener) happened in between. While the cache is not live
 * (no listener connected: notifications could be missed) every get misses
 * and put stores nothing.
 *
 * Bounded: at most capacity entries (config auth_cache_entries); a full
 * shard evicts its oldest-inserted entry. Threads: any thread may call
 * anything; the table is split into shards with a mutex each, so there is
 * no global lock on the request path. */
#ifndef LOUPE_IDENTITY_CREDENTIAL_CACHE_H
#define LOUPE_IDENTITY_CREDENTIAL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/buf.h"
#include "loupe/identity/role.h"

/* The notification channel the triggers of migration 0006 announce on. */
#define LP_CREDENTIAL_CHANNEL "loupe_credentials"

/* How often a cached API key's last_used_at is brought up to date. */
#define LP_CREDENTIAL_TOUCH_MS 60000

typedef enum lp_credential_kind { LP_CREDENTIAL_API_KEY = 1, LP_CREDENTIAL_SESSION = 2 } lp_credential_kind;

/* An accepted credential and the member it acts for (as GET /api/v1/me
 * shows them). The strings are borrowed: from the cache's copy while it is
 * being put, from the arena given to get. */
typedef struct lp_credential {
    lp_credential_kind kind;
    char id[37];               /* api_keys.id or sessions.id */
    char user_id[37];
    char team_id[37];
    lp_role role;              /* effective role */
    int64_t expires_at_ms;     /* Unix ms; 0 = never */
    char csrf_token[64];       /* sessions only */
    const char *user_email, *user_name, *team_name, *team_slug, *team_created_at;
} lp_credential;

typedef struct lp_credential_cache lp_credential_cache;

typedef struct lp_credential_cache_stats {
    uint64_t hits, misses, invalidations, evictions;
    size_t entries, capacity;
    int live;
} lp_credential_cache_stats;

/* A cache of at most capacity entries (0: a cache that never holds
 * anything), each kept at most ttl_ms. Starts not live. NULL when out of
 * memory. */
lp_credential_cache *lp_credential_cache_new(size_t capacity, int64_t ttl_ms);
void lp_credential_cache_free(lp_credential_cache *c); /* NULL is a no-op */

/* Looks up the credential whose secret hashes to hash (64 hex digits) at
 * time now_ms (Unix ms). 0: found, *out filled, strings copied into a;
 * 1: not cached (or expired, or out of memory copying). */
int lp_credential_cache_get(lp_credential_cache *c, lp_credential_kind kind, const char *hash, int64_t now_ms,
                            lp_arena *a, lp_credential *out);

/* The invalidation generation, to pass to put. */
uint64_t lp_credential_cache_generation(lp_credential_cache *c);

/* Caches cred (copied) under hash at now_ms, unless the generation moved
 * past generation or the cache is not live. */
void lp_credential_cache_put(lp_credential_cache *c, lp_credential_kind kind, const char *hash,
                             const lp_credential *cred, uint64_t generation, int64_t now_ms);

/* Applies one notification payload: "key <id>", "session <id>",
 * "member <team_id> <user_id>", "user <id>", "team <id>" drop the entries
 * concerned; anything else drops everything (safe). */
void lp_credential_cache_apply(lp_credential_cache *c, const char *payload);

/* Drops the entries of one credential (api_keys.id or sessions.id). */
void lp_credential_cache_drop_credential(lp_credential_cache *c, const char *credential_id);
/* Drops the entries of a member: team_id's and user_id's (NULL: any team,
 * any user; not both NULL). */
void lp_credential_cache_drop_member(lp_credential_cache *c, const char *team_id, const char *user_id);

/* Drops every entry. */
void lp_credential_cache_clear(lp_credential_cache *c);

/* Live: notifications are being received. Going not live clears. */
void lp_credential_cache_set_live(lp_credential_cache *c, int live);

/* Up to max ids of API keys whose use should be recorded (the listener
 * thread records them), written to ids; returns how many. Each is handed
 * out once. */
size_t lp_credential_cache_take_touches(lp_credential_cache *c, char (*ids)[37], size_t max);

void lp_credential_cache_get_stats(lp_credential_cache *c, lp_credential_cache_stats *out);

/* A /metrics collector (lp_metrics_collector); cls is the cache. 0 or -1. */
int lp_credential_cache_metrics(void *cls, lp_buf *out);

#endif
