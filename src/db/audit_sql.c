/* The audit trail. See loupe/db/audit_sql.h. */
#include "loupe/db/audit_sql.h"

#include "db_int.h"

int lp_db_audit(lp_db *db, const char *team_id, const char *user_id, const char *action, const char *object_type,
                const char *object_id, const char *data_json, lp_error *err)
{
    const char *p[6] = {team_id, user_id, action, object_type, object_id, data_json};
    return lp_db_exec(db,
                      "INSERT INTO audit_log (team_id, user_id, action, object_type, object_id, data) "
                      "VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}'))",
                      6, p, err) < 0
               ? -1
               : 0;
}
