/* The audit trail (src/db/audit_sql.c): one row per change a person would
 * ask about later ("who removed this member?"). Call it inside the
 * transaction that makes the change, so both commit or neither. */
#ifndef LOUPE_DB_AUDIT_SQL_H
#define LOUPE_DB_AUDIT_SQL_H

#include "loupe/core/error.h"
#include "loupe/db/db.h"

/* Appends a row. team_id, user_id (the actor), object_id and data (a JSON
 * object as text) may be NULL. 0 or -1. */
int lp_db_audit(lp_db *db, const char *team_id, const char *user_id, const char *action, const char *object_type,
                const char *object_id, const char *data_json, lp_error *err);

/* lp_db_audit for the job job_id, whose data holds "job_id": job_id: appends the row unless the
 * job already wrote one with this action (an attempt that ended before its success was recorded
 * — a killed worker — and is now run again). 0 or -1. */
int lp_db_audit_job(lp_db *db, const char *team_id, const char *user_id, const char *action, const char *object_type,
                    const char *object_id, const char *data_json, const char *job_id, lp_error *err);

#endif
