/* Facts about the PostgreSQL server itself (not about Loupe's rows): how
 * many connections it accepts, whether it is a replica. */
#ifndef LOUPE_DB_SERVER_SQL_H
#define LOUPE_DB_SERVER_SQL_H

#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/db/db.h"

typedef struct lp_db_server_connections {
    int64_t max_connections;  /* the server's max_connections */
    int64_t reserved;         /* superuser_reserved_connections (not for ordinary roles) */
    int64_t open;             /* client connections open right now, every client counted */
} lp_db_server_connections;

/* One round trip: the server's connection limits and how many are in use.
 * 0, or -1 with err. */
int lp_db_server_connections_get(lp_db *db, lp_db_server_connections *out, lp_error *err);

/* 1 when the server is a standby (a read replica in recovery), 0 when it is
 * a primary, -1 with err. */
int lp_db_server_is_replica(lp_db *db, lp_error *err);

#endif
