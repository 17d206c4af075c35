/* The credential listener thread. See loupe/identity/credential_listener.h.
 *
 * DESIGN (thread): the thread alone touches `db`; other threads only write
 * a byte to the wake pipe (stop). */
#include "loupe/identity/credential_listener.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/api_keys_sql.h"
#include "loupe/db/db.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define WAIT_MS 500       /* longest sleep between looks at pending key touches */
#define TOUCH_BATCH 256

struct lp_credential_listener {
    char *db_url;
    int64_t statement_timeout_ms;
    lp_credential_cache *cache;
    pthread_t thread;
    int wake[2];
    atomic_int stop;
};

static void apply(void *cls, const char *channel, const char *payload)
{
    (void)channel;
    lp_credential_cache_apply(cls, payload);
}

/* Opens the connection and listens; the cache goes live. 0 or -1. */
static int connect_and_listen(lp_credential_listener *l, lp_db **db)
{
    lp_error err;
    lp_error_clear(&err);
    *db = lp_db_connect(l->db_url, l->statement_timeout_ms, &err);
    if (!*db || lp_db_listen(*db, LP_CREDENTIAL_CHANNEL, &err) != 0) {
        LP_WARN("auth", "credential listener cannot listen (%s); the cache stays off until it can", err.message);
        lp_db_close(*db);
        *db = NULL;
        return -1;
    }
    lp_credential_cache_set_live(l->cache, 1);
    return 0;
}

static void lose(lp_credential_listener *l, lp_db **db, const char *why)
{
    LP_WARN("auth", "credential listener lost its connection (%s); cache cleared, reconnecting", why);
    lp_credential_cache_set_live(l->cache, 0);
    lp_db_close(*db);
    *db = NULL;
}

/* Records the use of cached API keys. A failure only delays the record. */
static void record_touches(lp_credential_listener *l, lp_db *db)
{
    char ids[TOUCH_BATCH][37];
    size_t n = lp_credential_cache_take_touches(l->cache, ids, TOUCH_BATCH);
    for (size_t i = 0; i < n; i++) {
        lp_error err;
        lp_error_clear(&err);
        if (lp_db_api_key_touch(db, ids[i], &err) != 0) {
            LP_WARN("auth", "could not record the use of API key %s: %s", ids[i], err.message);
            break;
        }
    }
}

static void *listener_main(void *arg)
{
    lp_credential_listener *l = arg;
    lp_db *db = NULL;
    int64_t backoff = 0;

    lp_log_set_context("credential-listener");
    while (!atomic_load(&l->stop)) {
        struct pollfd fds[2] = {{.fd = l->wake[0], .events = POLLIN}, {.fd = -1, .events = POLLIN}};
        int wait_ms = WAIT_MS;
        lp_error err;

        if (!db) {
            if (connect_and_listen(l, &db) == 0) {
                backoff = 0;
            } else {
                backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
                if (backoff > BACKOFF_MAX_MS)
                    backoff = BACKOFF_MAX_MS;
                wait_ms = (int)backoff;
            }
        }
        fds[1].fd = lp_db_socket(db);
        if (poll(fds, 2, wait_ms) < 0 && errno != EINTR)
            break;
        if (fds[0].revents & POLLIN) {
            char buf[16];
            while (read(l->wake[0], buf, sizeof buf) > 0) {
            }
        }
        if (!db)
            continue;
        lp_error_clear(&err);
        if (lp_db_notifications(db, apply, l->cache, &err) < 0) {
            lose(l, &db, err.message);
            continue;
        }
        record_touches(l, db);
        /* statements may have read notifications off the socket: apply them now */
        if (lp_db_notifications(db, apply, l->cache, &err) < 0)
            lose(l, &db, err.message);
    }
    lp_credential_cache_set_live(l->cache, 0);
    lp_db_close(db);
    lp_log_set_context(NULL);
    return NULL;
}

lp_credential_listener *lp_credential_listener_start(const char *db_url, int64_t statement_timeout_ms,
                                                     lp_credential_cache *cache, lp_error *err)
{
    lp_credential_listener *l = calloc(1, sizeof *l);
    int rc;

    if (!l || !(l->db_url = strdup(db_url))) {
        free(l);
        lp_error_set(err, LP_E_NOMEM, "out of memory starting the credential listener");
        return NULL;
    }
    l->statement_timeout_ms = statement_timeout_ms;
    l->cache = cache;
    if (pipe(l->wake) != 0) {
        lp_error_set(err, LP_E_INTERNAL, "cannot create the credential listener's wake pipe: %s", strerror(errno));
        free(l->db_url);
        free(l);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(l->wake[i], F_SETFL, O_NONBLOCK);
        fcntl(l->wake[i], F_SETFD, FD_CLOEXEC);
    }
    rc = pthread_create(&l->thread, NULL, listener_main, l);
    if (rc != 0) {
        lp_error_set(err, LP_E_INTERNAL, "cannot start the credential listener thread: %s", strerror(rc));
        close(l->wake[0]);
        close(l->wake[1]);
        free(l->db_url);
        free(l);
        return NULL;
    }
    return l;
}

void lp_credential_listener_stop(lp_credential_listener *l)
{
    if (!l)
        return;
    atomic_store(&l->stop, 1);
    ssize_t w = write(l->wake[1], "s", 1);
    (void)w;
    pthread_join(l->thread, NULL);
    close(l->wake[0]);
    close(l->wake[1]);
    free(l->db_url);
    free(l);
}
