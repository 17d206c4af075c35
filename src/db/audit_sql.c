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

int lp_db_audit_job(lp_db *db, const char *team_id, const char *user_id, const char *action, const char *object_type,
                    const char *object_id, const char *data_json, const char *job_id, lp_error *err)
{
    const char *p[7] = {team_id, user_id, action, object_type, object_id, data_json, job_id};
    /* the job's own rows are at or after its creation: a short range of the (team_id, at) index */
    return lp_db_exec(db,
                      "INSERT INTO audit_log (team_id, user_id, action, object_type, object_id, data) "
                      "SELECT $1::uuid, $2::uuid, $3::text, $4::text, $5::text, coalesce($6::jsonb, '{}') "
                      "WHERE NOT EXISTS (SELECT 1 FROM jobs j JOIN audit_log a ON a.team_id = $1::uuid "
                      "AND a.action = $3::text AND a.at >= j.created_at AND a.data->>'job_id' = j.id::text "
                      "WHERE j.id = $7::uuid)",
                      7, p, err) < 0
               ? -1
               : 0;
}
