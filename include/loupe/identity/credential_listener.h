/* The credential listener: the thread that keeps a node's credential cache
 * true to the database.
 *
 * DESIGN (thread): one thread per node owns one standalone PostgreSQL
 * connection that LISTENs on LP_CREDENTIAL_CHANNEL. It waits on that
 * connection's socket (and a wake pipe for stop), reads every notification
 * as soon as it arrives and applies it to the cache, so a revocation
 * committed on any node reaches this one within milliseconds. Once
 * listening it marks the cache live; when the connection is lost it marks
 * the cache not live (which clears it: notifications sent meanwhile are
 * lost) and reconnects with backoff — until then every request
 * authenticates against the database. The same thread records, in
 * batches, when cached API keys were used (last_used_at), so a cached
 * request never waits for the database. */
#ifndef LOUPE_IDENTITY_CREDENTIAL_LISTENER_H
#define LOUPE_IDENTITY_CREDENTIAL_LISTENER_H

#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/identity/credential_cache.h"

typedef struct lp_credential_listener lp_credential_listener;

/* Starts the thread. db_url is copied; cache is borrowed and must outlive
 * the listener. An unreachable database is retried in the background.
 * NULL with err when the thread cannot start. */
lp_credential_listener *lp_credential_listener_start(const char *db_url, int64_t statement_timeout_ms,
                                                     lp_credential_cache *cache, lp_error *err);

/* Stops the thread (within a poll interval), marks the cache not live and
 * frees. NULL is a no-op. */
void lp_credential_listener_stop(lp_credential_listener *l);

#endif
