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

#endif
