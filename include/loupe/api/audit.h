/* The audit trail: who changed what, when. One row in audit_log per change,
 * written in the caller's transaction so it commits or rolls back with the
 * change itself. Bulk changes write one row describing the whole action. */
#ifndef LOUPE_API_AUDIT_H
#define LOUPE_API_AUDIT_H

#include <jansson.h>

#include "loupe/db/db.h"

/* Appends an audit row; data (may be NULL) is stolen. actor_id may be NULL
 * or empty (command-line tools). 0, or -1 with err set. */
int lp_audit_record(lp_db *db, const char *team_id, const char *actor_id, const char *action,
                    const char *object_type, const char *object_id, json_t *data, lp_error *err);

#endif
