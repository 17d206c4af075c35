/* The listen-and-poll loop shared by the outbox relay and the workflow
 * router: a standalone PostgreSQL connection LISTENing on one channel,
 * re-opened with exponential backoff, and a wait on a wake pipe plus that
 * connection's socket. Notifications only wake the caller; it reads its
 * rows itself.
 *
 * DESIGN (thread): an lp_listen_conn belongs to the one thread that uses it. */
#ifndef LOUPE_APP_LISTEN_LOOP_INT_H
#define LOUPE_APP_LISTEN_LOOP_INT_H

#include <stdint.h>

#include "loupe/core/config.h"
#include "loupe/db/db.h"

#define LP_LISTEN_BACKOFF_MIN_MS 250
#define LP_LISTEN_BACKOFF_MAX_MS 30000

typedef struct lp_listen_conn {
    const char *module;  /* borrowed: the log module, e.g. "outbox" */
    const char *channel; /* borrowed: the channel to LISTEN on */
    lp_db *db;           /* owned; NULL while disconnected */
    int64_t retry_at;    /* monotonic ms of the next reconnect */
    int64_t backoff;     /* current backoff in ms, 0 while connected */
} lp_listen_conn;

/* The next backoff after `cur` ms: 250 ms, doubling, at most 30 s. */
int64_t lp_listen_next_backoff(int64_t cur);

/* (Re)connects c->db to cfg->db_url and LISTENs, unless it is connected or
 * the next retry is not due yet; logs losing and regaining the connection.
 * Returns 1 when c->db is connected, 0 otherwise. */
int lp_listen_ensure(lp_listen_conn *c, const lp_config *cfg);

/* Consumes pending notifications (they only wake the caller); errors are
 * left to the next lp_listen_ensure. */
void lp_listen_drain(lp_listen_conn *c);

/* Waits at most wait_ms for a byte on wake_fd (the read end of a
 * non-blocking pipe, drained here) or input on c->db's socket. Returns 1
 * when the database socket is readable (or hung up), 0 otherwise. */
int lp_listen_wait(lp_listen_conn *c, int wake_fd, int64_t wait_ms);

/* Closes c->db. */
void lp_listen_close(lp_listen_conn *c);

#endif
