/* The audit trail. See include/loupe/api/audit.h. */
#include "loupe/api/audit.h"

#include <stdlib.h>

#include "loupe/db/audit_sql.h"

int lp_audit_record(lp_db *db, const char *team_id, const char *actor_id, const char *action,
                    const char *object_type, const char *object_id, json_t *data, lp_error *err)
{
    char *text = NULL;
    int rc;

    if (data && !(text = json_dumps(data, JSON_COMPACT))) {
        json_decref(data);
        return lp_error_set(err, LP_E_NOMEM, "out of memory writing an audit record");
    }
    json_decref(data);
    rc = lp_db_audit(db, team_id, actor_id && *actor_id ? actor_id : NULL, action, object_type, object_id, text, err);
    free(text);
    return rc;
}
