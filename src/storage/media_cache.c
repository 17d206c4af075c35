/* The media cache: local copies, bounded in bytes, fetched in the
 * background. See loupe/storage/media_cache.h. */
#include "loupe/storage/media_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loupe/core/log.h"
#include "loupe/core/tmpdir.h"
#include "loupe/core/util.h"
#include "loupe/crypto/sha256.h"
#include "loupe/storage/storage.h"

#define PATH_CAP 4096

enum state { QUEUED, FETCHING, READY, FAILED };

struct lp_media_cache_file {
    struct lp_media_cache_file *next;  /* table (cache order) */
    struct lp_media_cache_file *qnext; /* fetch queue */
    char key[LP_STORAGE_KEY_MAX + 1];
    char path[PATH_CAP];
    enum state state;
    int refs;       /* holders and waiters */
    int listed;     /* in the table (a failed entry leaves it at once) */
    uint64_t used;  /* LRU tick */
    uint64_t size;
    lp_error err;   /* FAILED */
};

struct lp_media_cache {
    lp_media_cache_spec spec;
    lp_tmpdir *dir;
    pthread_mutex_t lock;
    pthread_cond_t done;  /* a fetch ended */
    pthread_cond_t work;  /* the queue has an entry, or stopping */
    lp_media_cache_file *head, *queue, *queue_tail;
    uint64_t tick;
    uint64_t serial; /* file names */
    int stopping;
    lp_media_cache_stats stats;
    int nthreads;
    pthread_t threads[];
};

/* ---- Directories ------------------------------------------------------------ */

/* Creates <parent>/node-XXXXXX, held for this process's lifetime, after
 * removing those of processes that are gone (loupe/core/tmpdir.h). */
static int make_dir(lp_media_cache *c, const char *parent, int64_t stale_ms, lp_error *err)
{
    char abs[PATH_MAX];
    lp_tmpdir_swept swept;
    if (lp_mkdir_p(parent, 0700) != 0)
        return lp_error_set(err, LP_E_IO, "cannot create media_cache_dir %s: %s", parent, strerror(errno));
    /* Absolute: the paths are handed to processes in other directories. */
    if (!realpath(parent, abs))
        return lp_error_set(err, LP_E_IO, "cannot find media_cache_dir %s: %s", parent, strerror(errno));
    if (lp_tmpdir_sweep(abs, "node", stale_ms, &swept) != 0)
        LP_WARN("media_cache", "cannot look for directories stopped processes left in media_cache_dir %s", abs);
    if (!(c->dir = lp_tmpdir_new(abs, "node", err)))
        return lp_error_hint(err, "media_cache_dir must be a directory this process can write");
    return 0;
}

/* ---- Under the lock ------------------------------------------------------------ */

static void unlist(lp_media_cache *c, lp_media_cache_file *f)
{
    for (lp_media_cache_file **pp = &c->head; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    }
    f->listed = 0;
    if (f->state == READY) {
        c->stats.bytes -= f->size;
        c->stats.files--;
    }
}

/* Removes least recently used copies nobody holds until the total fits;
 * returns them (linked by next) for the caller to delete without the lock. */
static lp_media_cache_file *evict(lp_media_cache *c)
{
    lp_media_cache_file *gone = NULL;
    while (c->stats.bytes > c->spec.max_bytes) {
        lp_media_cache_file *victim = NULL;
        for (lp_media_cache_file *f = c->head; f; f = f->next)
            if (f->state == READY && f->refs == 0 && (!victim || f->used < victim->used))
                victim = f;
        if (!victim)
            break;
        unlist(c, victim);
        c->stats.evictions++;
        victim->next = gone;
        gone = victim;
    }
    return gone;
}

static void delete_files(lp_media_cache_file *f)
{
    while (f) {
        lp_media_cache_file *next = f->next;
        unlink(f->path);
        free(f);
        f = next;
    }
}

/* ---- Fetchers ----------------------------------------------------------------- */

/* Fetches f into its path (no lock held). */
static int fetch_one(lp_media_cache *c, lp_media_cache_file *f, uint64_t *size, lp_error *err)
{
    char tmp[PATH_CAP + 8];
    struct stat st;
    int fd, rc;
    snprintf(tmp, sizeof tmp, "%s.part", f->path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return lp_error_set(err, LP_E_IO, "cannot create a file in media_cache_dir: %s", strerror(errno));
    rc = c->spec.fetch(c->spec.ud, f->key, fd, err);
    if (rc == 0 && fstat(fd, &st) != 0)
        rc = lp_error_set(err, LP_E_IO, "cannot read back a file in media_cache_dir: %s", strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = lp_error_set(err, LP_E_IO, "cannot write a file in media_cache_dir: %s", strerror(errno));
    if (rc == 0 && (uint64_t)st.st_size > c->spec.max_bytes)
        rc = lp_error_set(err, LP_E_TOO_LARGE, "the file (%lld bytes) is larger than media_cache_bytes (%llu)",
                          (long long)st.st_size, (unsigned long long)c->spec.max_bytes);
    if (rc == 0 && rename(tmp, f->path) != 0)
        rc = lp_error_set(err, LP_E_IO, "cannot rename a file in media_cache_dir: %s", strerror(errno));
    if (rc != 0) {
        unlink(tmp);
        return -1;
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

static void *fetcher_main(void *arg)
{
    lp_media_cache *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->queue && !c->stopping)
            pthread_cond_wait(&c->work, &c->lock);
        if (c->stopping)
            break;
        lp_media_cache_file *f = c->queue;
        c->queue = f->qnext;
        if (!c->queue)
            c->queue_tail = NULL;
        f->state = FETCHING;
        f->refs++; /* ours while fetching */
        pthread_mutex_unlock(&c->lock);

        lp_error err;
        uint64_t size = 0;
        lp_error_clear(&err);
        int rc = fetch_one(c, f, &size, &err);

        pthread_mutex_lock(&c->lock);
        lp_media_cache_file *gone = NULL;
        if (rc == 0) {
            f->state = READY;
            f->size = size;
            c->stats.bytes += size;
            c->stats.files++;
            c->stats.fetches++;
        } else {
            LP_WARN("media_cache", "cannot fetch %s: %s", f->key, err.message);
            f->err = err;
            unlist(c, f); /* the next acquire starts afresh */
            f->state = FAILED;
        }
        f->refs--;
        if (f->refs == 0 && !f->listed) {
            f->next = NULL;
            gone = f;
        }
        lp_media_cache_file *evicted = evict(c);
        pthread_cond_broadcast(&c->done);
        pthread_mutex_unlock(&c->lock);
        delete_files(gone);
        delete_files(evicted);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* ---- Public --------------------------------------------------------------------- */

lp_media_cache *lp_media_cache_new(const lp_media_cache_spec *spec, lp_error *err)
{
    int n = spec->fetchers > 0 ? spec->fetchers : 1;
    lp_media_cache *c = calloc(1, sizeof *c + (size_t)n * sizeof c->threads[0]);
    pthread_condattr_t ca;
    if (!c) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    c->spec = *spec;
    c->spec.dir = NULL;
    if (make_dir(c, spec->dir, spec->stale_ms, err) != 0) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->done, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&c->work, NULL);
    for (; c->nthreads < n; c->nthreads++) {
        int rc = pthread_create(&c->threads[c->nthreads], NULL, fetcher_main, c);
        if (rc != 0) {
            lp_error_set(err, LP_E_UNAVAILABLE, "cannot start a media cache thread: %s", strerror(rc));
            lp_media_cache_free(c);
            return NULL;
        }
    }
    return c;
}

const char *lp_media_cache_dir(const lp_media_cache *c)
{
    return lp_tmpdir_path(c->dir);
}

/* The suffix of key's last part from its first dot (".nii.gz", ".tif"), or
 * "" when there is none or it is not short letters, digits and dots. */
static const char *key_suffix(const char *key)
{
    const char *base = strrchr(key, '/'), *dot = strchr(base ? base : key, '.');
    if (!dot || strlen(dot) > 12)
        return "";
    for (const char *p = dot; *p; p++)
        if (!(*p == '.' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return "";
    return dot;
}

/* The entry of key, listed and queued if new; NULL when out of memory. */
static lp_media_cache_file *find_or_queue(lp_media_cache *c, const char *key, const char *hex)
{
    lp_media_cache_file *f;
    for (f = c->head; f; f = f->next)
        if (strcmp(f->key, key) == 0)
            return f;
    if (!(f = calloc(1, sizeof *f)))
        return NULL;
    lp_strlcpy(f->key, key, sizeof f->key);
    /* A name of its own: an evicted copy of the same key may still be
     * being deleted (outside the lock) while this one is fetched. A cache
     * directory too long to hold the name gets no entry. The key's suffix
     * is kept (".nii.gz"): some readers go by the name. */
    if ((size_t)snprintf(f->path, sizeof f->path, "%s/%s-%llu%s", lp_tmpdir_path(c->dir), hex, (unsigned long long)++c->serial,
                         key_suffix(key)) >= sizeof f->path) {
        free(f);
        return NULL;
    }
    f->state = QUEUED;
    f->listed = 1;
    f->next = c->head;
    c->head = f;
    if (c->queue_tail)
        c->queue_tail->qnext = f;
    else
        c->queue = f;
    c->queue_tail = f;
    c->stats.cold++;
    pthread_cond_signal(&c->work);
    return f;
}

int lp_media_cache_acquire(lp_media_cache *c, const char *key, int64_t wait_ms, lp_media_cache_file **out,
                           lp_error *err)
{
    char hex[LP_SHA256_HEX_LEN + 1];
    struct timespec until;
    lp_media_cache_file *f, *gone = NULL;
    int rc = 0;

    *out = NULL;
    if (strlen(key) > LP_STORAGE_KEY_MAX)
        return lp_error_set(err, LP_E_INVALID, "a storage key is longer than %d bytes", LP_STORAGE_KEY_MAX);
    if (lp_sha256_hex(key, strlen(key), hex) != 0)
        return lp_error_set(err, LP_E_NOMEM, "out of memory");
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&c->lock);
    if (!(f = find_or_queue(c, key, hex))) {
        pthread_mutex_unlock(&c->lock);
        return lp_error_set(err, LP_E_NOMEM, "out of memory");
    }
    f->refs++;
    while (f->state == QUEUED || f->state == FETCHING) {
        if (pthread_cond_timedwait(&c->done, &c->lock, &until) == ETIMEDOUT && f->state != READY &&
            f->state != FAILED)
            break;
    }
    if (f->state == READY) {
        f->used = ++c->tick;
        *out = f;
    } else {
        if (f->state == FAILED)
            *err = f->err;
        else
            lp_error_set(err, LP_E_UNAVAILABLE, "the media is being prepared on this node; try again in a moment");
        rc = -1;
        if (--f->refs == 0 && !f->listed) {
            f->next = NULL;
            gone = f;
        }
    }
    pthread_mutex_unlock(&c->lock);
    delete_files(gone);
    return rc;
}

const char *lp_media_cache_path(const lp_media_cache_file *f)
{
    return f->path;
}

uint64_t lp_media_cache_size(const lp_media_cache_file *f)
{
    return f->size;
}

void lp_media_cache_release(lp_media_cache *c, lp_media_cache_file *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&c->lock);
    f->refs--;
    lp_media_cache_file *gone = evict(c);
    pthread_mutex_unlock(&c->lock);
    delete_files(gone);
}

void lp_media_cache_get_stats(lp_media_cache *c, lp_media_cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}

void lp_media_cache_free(lp_media_cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = 1;
    pthread_cond_broadcast(&c->work);
    pthread_mutex_unlock(&c->lock);
    for (int i = 0; i < c->nthreads; i++)
        pthread_join(c->threads[i], NULL);
    lp_media_cache_file *f = c->head;
    while (f) {
        lp_media_cache_file *next = f->next;
        unlink(f->path);
        free(f);
        f = next;
    }
    lp_tmpdir_free(c->dir);
    pthread_cond_destroy(&c->done);
    pthread_cond_destroy(&c->work);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
