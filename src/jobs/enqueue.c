/* Creating jobs with their outbox message. See loupe/jobs/enqueue.h. */
#include "loupe/jobs/enqueue.h"

#include <stdlib.h>
#include <string.h>

#include "loupe/core/util.h"
#include "loupe/db/jobs_sql.h"
#include "loupe/jobs/job.h"
#include "loupe/jobs/message.h"
#include "loupe/queue/topology.h"

#define ATTEMPTS_MAX 100

int lp_jobs_enqueue(lp_db *db, const lp_config *cfg, const lp_job_spec *spec, char job_id_out[37], lp_error *err)
{
    const lp_job_kind *kind = lp_job_kind_find(spec->kind);
    json_t *empty = NULL;
    const json_t *payload = spec->payload;
    char *payload_text = NULL;
    char message[512];
    lp_job_msg m;
    int max_attempts;
    int rc = -1;

    job_id_out[0] = '\0';
    if (!kind)
        return lp_error_field(err, LP_E_INVALID, "kind", "\"%s\" is not a known job kind", spec->kind ? spec->kind : "");
    if (!payload)
        payload = empty = json_object();
    if (!json_is_object(payload)) {
        lp_error_field(err, LP_E_INVALID, "payload", "must be a JSON object");
        goto cleanup;
    }
    if (kind->validate && kind->validate(payload, cfg, err) != 0)
        goto cleanup;
    max_attempts = spec->max_attempts ? spec->max_attempts
                   : kind->max_attempts ? kind->max_attempts
                                        : (int)cfg->job_max_attempts;
    if (max_attempts < 1 || max_attempts > ATTEMPTS_MAX) {
        lp_error_field(err, LP_E_INVALID, "max_attempts", "must be from 1 to %d", ATTEMPTS_MAX);
        goto cleanup;
    }
    if (spec->team_id && !lp_is_uuid(spec->team_id)) {
        lp_error_field(err, LP_E_INVALID, "team_id", "must be a UUID");
        goto cleanup;
    }

    memset(&m, 0, sizeof(m));
    m.v = LP_JOB_MSG_VERSION;
    m.attempt = 1;
    if (lp_uuid_v4(m.job_id) != 0) {
        lp_error_set(err, LP_E_INTERNAL, "cannot generate a job id (no randomness available)");
        goto cleanup;
    }
    lp_strlcpy(m.kind, kind->name, sizeof(m.kind));
    lp_trace_format(lp_trace_current(), m.traceparent); /* the creating request's trace, if any */
    if (lp_job_msg_format(&m, NULL, message, sizeof(message)) < 0) {
        lp_error_set(err, LP_E_INTERNAL, "cannot build the message of job kind %s", kind->name);
        goto cleanup;
    }
    payload_text = json_dumps(payload, JSON_COMPACT);
    if (!payload_text) {
        lp_error_set(err, LP_E_NOMEM, "out of memory serialising the job payload");
        goto cleanup;
    }
    if (lp_db_job_insert(db, m.job_id, spec->team_id, kind->name, kind->queue, max_attempts, payload_text,
                         spec->created_by, LP_QUEUE_EXCHANGE, kind->queue, message, err) != 0)
        goto cleanup;
    memcpy(job_id_out, m.job_id, 37);
    rc = 0;

cleanup:
    free(payload_text);
    json_decref(empty);
    return rc;
}
