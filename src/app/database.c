/* The database side of louped's start-up. See database.h and
 * docs/OPERATIONS.md ("Connection budget", "Read replicas"). */
#include "database.h"

#include <inttypes.h>

#include "loupe/core/log.h"
#include "loupe/db/server_sql.h"

int lp_app_db_mode(const lp_config *cfg, lp_error *err) { return lp_db_use_pooler(cfg->db_pooler, err); }

/* Compares what this node may open with what the server accepts, and says
 * so in the log. Only meaningful on a direct connection: behind a
 * transaction pooler the pooler's own limits apply. */
static void check_budget(const lp_config *cfg, lp_db_pool *pool)
{
    lp_db_server_connections c;
    int64_t mine = cfg->db_pool_size + LP_APP_DB_LISTENERS, allowed;
    lp_error err;
    lp_db *db;

    if (lp_db_get_pooler() == LP_DB_POOLER_TRANSACTION) {
        LP_INFO("db", "db_pooler = transaction: the pooler's limits bound this node's %" PRId64
                      " pooled connections; size its pool by docs/OPERATIONS.md, \"Connection budget\"",
                (int64_t)cfg->db_pool_size);
        return;
    }
    lp_error_clear(&err);
    if (!(db = lp_db_acquire(pool, &err)))
        return;
    if (lp_db_server_connections_get(db, &c, &err) != 0) {
        lp_db_release(db);
        LP_WARN("db", "cannot read the server's connection limits: %s", err.message);
        return;
    }
    lp_db_release(db);
    allowed = c.max_connections - c.reserved;
    if (mine > allowed)
        LP_WARN("db",
                "db_pool_size %" PRId64 " plus %d listening connections exceeds the %" PRId64
                " connections the server allows (max_connections %" PRId64 " - superuser_reserved_connections %" PRId64
                "): requests will fail when the pool grows; lower db_pool_size, raise max_connections or put a "
                "transaction pooler in front (docs/OPERATIONS.md, \"Connection budget\")",
                (int64_t)cfg->db_pool_size, LP_APP_DB_LISTENERS, allowed, c.max_connections, c.reserved);
    else
        LP_INFO("db",
                "connection budget: this node up to %" PRId64 " of the %" PRId64 " connections the server allows (%" PRId64
                " open now; the pools of other nodes open theirs lazily, so add them up as docs/OPERATIONS.md says)",
                mine, allowed, c.open);
}

int lp_app_db_open(const lp_config *cfg, lp_app_db *out, lp_error *err)
{
    out->primary = out->read = NULL;
    out->primary = lp_db_pool_new(cfg->db_url, (int)cfg->db_pool_size, cfg->db_acquire_timeout,
                                  cfg->db_statement_timeout, err);
    if (!out->primary)
        return -1;
    if (cfg->db_read_url && *cfg->db_read_url) {
        out->read = lp_db_pool_new(cfg->db_read_url, (int)cfg->db_read_pool_size, cfg->db_acquire_timeout,
                                   cfg->db_statement_timeout, err);
        if (!out->read) {
            lp_app_db_close(out);
            return -1;
        }
        LP_INFO("db", "lists read from the replica at db_read_url (the primary while it cannot be reached)");
    }
    check_budget(cfg, out->primary);
    return 0;
}

void lp_app_db_close(lp_app_db *db)
{
    lp_db_pool_free(db->read);
    lp_db_pool_free(db->primary);
    db->read = db->primary = NULL;
}
