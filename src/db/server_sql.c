/* Facts about the server. See loupe/db/server_sql.h. */
#include "loupe/db/server_sql.h"

#include <stdlib.h>

#include "db_int.h"

int lp_db_server_connections_get(lp_db *db, lp_db_server_connections *out, lp_error *err)
{
    PGresult *r = lp_db_query(db,
                              "SELECT current_setting('max_connections')::bigint, "
                              "current_setting('superuser_reserved_connections')::bigint, "
                              "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')",
                              0, NULL, err);
    if (!r)
        return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return lp_error_set(err, LP_E_INTERNAL, "the server's connection limits could not be read");
    }
    out->max_connections = lp_db_int_or(r, 0, 0, 0);
    out->reserved = lp_db_int_or(r, 0, 1, 0);
    out->open = lp_db_int_or(r, 0, 2, 0);
    PQclear(r);
    return 0;
}

int lp_db_server_is_replica(lp_db *db, lp_error *err)
{
    PGresult *r = lp_db_query(db, "SELECT pg_is_in_recovery()", 0, NULL, err);
    int replica;
    if (!r)
        return -1;
    replica = PQntuples(r) == 1 && lp_db_bool(r, 0, 0);
    PQclear(r);
    return replica;
}
