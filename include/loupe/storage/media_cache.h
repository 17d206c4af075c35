/* The media cache: local copies of stored objects (frame sources, their
 * indexes, tile pyramids) that louped's decoders read, bounded in bytes and
 * filled in the background.
 *
 * A request acquires the copy of a key. A copy that is there is returned at
 * once, referenced. One that is not is queued for a fetcher thread, and the
 * request waits for it at most wait_ms: a copy that is still on its way
 * then fails with LP_E_UNAVAILABLE ("warming"; answer 503 with Retry-After),
 * and the fetch goes on, so the next request finds it. No download ever
 * runs on the requesting thread, and the cache's lock is never held during
 * I/O.
 *
 * Bounded in bytes: after every completed fetch and every release, the
 * least recently used copies that nobody holds are removed until the total
 * is at most max_bytes. A copy in use is never removed, so the total can
 * pass max_bytes while more than max_bytes are held at once. An object
 * larger than max_bytes is refused (LP_E_TOO_LARGE) once its size is known.
 *
 * Files live in <dir>/node-XXXXXX/, one directory per cache, locked while
 * the cache lives and removed by lp_media_cache_free; those that processes
 * which stopped without freeing their cache left are removed when a cache
 * starts (loupe/core/tmpdir.h: only those whose lock no running process
 * holds, on this host or in another container sharing dir).
 *
 * DESIGN (threads): one mutex guards the table, the LRU order and the
 * queue; a condition variable wakes waiters when a fetch ends. `fetchers`
 * threads run fetch() without the lock. Every function is thread-safe. */
#ifndef LOUPE_STORAGE_MEDIA_CACHE_H
#define LOUPE_STORAGE_MEDIA_CACHE_H

#include <stdint.h>

#include "loupe/core/error.h"

/* Writes the whole object key into fd (an empty file). 0, or -1 with err.
 * Runs on a fetcher thread. */
typedef int (*lp_media_cache_fetch_fn)(void *ud, const char *key, int fd, lp_error *err);

typedef struct lp_media_cache_spec {
    const char *dir;            /* parent of node-XXXXXX/ (created if missing; copied) */
    int64_t stale_ms;           /* a node-* directory without a lock file is stale once unchanged this long
                                 * (stale_dir_age; 0: at once) */
    uint64_t max_bytes;         /* bound on the copies nobody holds */
    int fetchers;               /* background threads, >= 1 */
    lp_media_cache_fetch_fn fetch;
    void *ud;                   /* for fetch (borrowed) */
} lp_media_cache_spec;

typedef struct lp_media_cache lp_media_cache;
typedef struct lp_media_cache_file lp_media_cache_file;

typedef struct lp_media_cache_stats {
    uint64_t bytes;     /* in the copies that are there */
    int64_t files;      /* copies that are there */
    int64_t fetches;    /* fetches completed (successfully) */
    int64_t evictions;  /* copies removed to stay within max_bytes */
    int64_t cold;       /* acquires that found their key missing */
} lp_media_cache_stats;

/* A cache for spec (copied). NULL with err set when its directory cannot be
 * made or a thread cannot start. */
lp_media_cache *lp_media_cache_new(const lp_media_cache_spec *spec, lp_error *err);

/* The directory its files are in (borrowed). */
const char *lp_media_cache_dir(const lp_media_cache *c);

/* The copy of key (borrowed; copied), waiting at most wait_ms for it. 0 with
 * *out referenced (release it with lp_media_cache_release), or -1 with err:
 * LP_E_UNAVAILABLE while it is still being fetched, LP_E_TOO_LARGE, or the
 * fetch's own error (the next acquire tries again). */
int lp_media_cache_acquire(lp_media_cache *c, const char *key, int64_t wait_ms, lp_media_cache_file **out,
                           lp_error *err);

/* The local path of an acquired copy (borrowed; valid until released) and
 * its size. */
const char *lp_media_cache_path(const lp_media_cache_file *f);
uint64_t lp_media_cache_size(const lp_media_cache_file *f);

/* Drops a reference taken by acquire. NULL is a no-op. */
void lp_media_cache_release(lp_media_cache *c, lp_media_cache_file *f);

void lp_media_cache_get_stats(lp_media_cache *c, lp_media_cache_stats *out);

/* Stops the fetchers (a fetch in progress is finished first), removes its
 * directory with the files and frees c. No copy may be held. NULL is a
 * no-op. */
void lp_media_cache_free(lp_media_cache *c);

#endif
