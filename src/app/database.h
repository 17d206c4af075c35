/* The database side of louped's start-up: the pooler mode, the primary's
 * pool, the read replica's pool and the connection budget check. */
#ifndef LOUPE_APP_DATABASE_H
#define LOUPE_APP_DATABASE_H

#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"

/* Connections one louped node holds besides its pool: the outbox relay's,
 * the workflow router's and the credential listener's (each LISTENs). */
#define LP_APP_DB_LISTENERS 3

typedef struct lp_app_db {
    lp_db_pool *primary; /* db_url, db_pool_size connections */
    lp_db_pool *read;    /* db_read_url, db_read_pool_size connections; NULL when none */
} lp_app_db;

/* Sets the pooler mode (db_pooler) for every connection of this process. 0,
 * or -1 with err naming db_pooler. */
int lp_app_db_mode(const lp_config *cfg, lp_error *err);

/* Creates the pools (connections open lazily), then checks the connection
 * budget against the server's limits and logs it: a warning when this
 * node's pool and listeners alone exceed what the server accepts. An unreachable server is no error here (the pools heal
 * when it comes). 0, or -1 with err (bad settings, out of memory). */
int lp_app_db_open(const lp_config *cfg, lp_app_db *out, lp_error *err);

/* Frees both pools; every connection must be back. */
void lp_app_db_close(lp_app_db *db);

#endif
