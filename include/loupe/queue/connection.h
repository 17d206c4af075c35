/* A connection to RabbitMQ (AMQP 0-9-1 over librabbitmq-c) with one channel.
 *
 * Threads: an lp_amqp belongs to one thread at a time (librabbitmq-c is not
 * thread-safe per connection). Each thread that talks to the broker owns its
 * own connection: the outbox relay one, a worker one for consuming and one for
 * publishing.
 *
 * Failure model: any protocol or socket error (broker gone, channel closed by
 * the server, confirm timeout) marks the connection broken; every later call
 * fails with LP_E_UNAVAILABLE until the owner closes it and connects again.
 * Nothing reconnects behind the caller's back, so a caller always knows which
 * publishes were confirmed. */
#ifndef LOUPE_QUEUE_CONNECTION_H
#define LOUPE_QUEUE_CONNECTION_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"

typedef struct lp_amqp lp_amqp;

/* The parts of an amqp:// URL. "amqp://user:pass@host:port" (no path) means
 * vhost "/"; a path names the vhost, percent-decoded ("/%2F" is "/" too). */
typedef struct lp_amqp_url {
    char host[256];
    int port;          /* 5672 when absent */
    char user[128];    /* "guest" when absent */
    char password[128];
    char vhost[128];
} lp_amqp_url;

/* Parses and checks url. Errors (LP_E_INVALID) name the setting "amqp_url" and
 * say what is wrong: not amqp://, amqps:// (TLS is not supported), an empty
 * vhost (a trailing "/"), a part too long. */
int lp_amqp_url_parse(const char *url, lp_amqp_url *out, lp_error *err);

/* amqp_url may name several nodes of one RabbitMQ cluster, separated by
 * commas: "amqp://u:p@rabbit1:5672/v,amqp://u:p@rabbit2:5672/v". At most
 * LP_AMQP_URLS_MAX of them. */
#define LP_AMQP_URLS_MAX 16

/* Checks every URL of a comma-separated list (as lp_amqp_url_parse; spaces
 * around a comma are allowed). Returns how many there are (1 for a plain URL),
 * or -1 with LP_E_INVALID naming "amqp_url" and which entry is wrong. */
int lp_amqp_url_list_check(const char *urls, lp_error *err);

/* "amqp://user@host:port/vhost" without the password, for logs. */
void lp_amqp_url_redact(const lp_amqp_url *u, char *out, size_t cap);

/* Connects, logs in, opens channel 1. url: one amqp:// URL or a comma-separated
 * list (lp_amqp_url_list_check): the nodes are tried in turn, each call of the
 * process starting one node further along, so connections spread over the
 * cluster and a reconnect after a node's loss goes to the next node at once.
 * heartbeat_s: AMQP heartbeat (0 = off); timeout_ms bounds each TCP connect,
 * the login and every later RPC (declares, qos, consume). Returns a new
 * connection (lp_amqp_close frees it) or NULL with LP_E_INVALID (bad URL) or
 * LP_E_UNAVAILABLE (no node reachable or every login refused; the message is
 * the last node's reason). */
lp_amqp *lp_amqp_connect(const char *url, int heartbeat_s, int64_t timeout_ms, lp_error *err);

/* Closes politely when the connection is healthy, then frees. Unacknowledged
 * deliveries go back to their queues. NULL is a no-op. */
void lp_amqp_close(lp_amqp *c);

/* 1 while usable, 0 once broken. */
int lp_amqp_ok(const lp_amqp *c);

/* Services an otherwise idle publishing connection: sends and checks
 * heartbeats and notices a server-side close, without blocking. Call it at
 * least once per heartbeat interval on a connection that is only used now and
 * then. Never on a consuming connection (it would discard deliveries; waiting
 * in lp_amqp_next services heartbeats there). Returns 0,
 * or -1 (LP_E_UNAVAILABLE) when the connection is broken. */
int lp_amqp_pump(lp_amqp *c, lp_error *err);

/* "host:port/vhost" of the connection (borrowed), for messages. */
const char *lp_amqp_where(const lp_amqp *c);

#endif
