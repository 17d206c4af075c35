/* Jobs and the worker fleet:
 *   POST /api/v1/system/echo   create a system.echo job (MANAGE) → 202 + the job
 *   GET  /api/v1/jobs/{id}     a job of the caller's team (another team's → 404);
 *                              a queued one says what it waits for when no
 *                              live worker consumes its queue ("waiting_for")
 *   GET  /api/v1/workers       the live workers (READ); ?include_dead=true adds
 *                              the recently dead ones
 * Creating a job writes the job row and its outbox message in one statement;
 * the outbox relay publishes it (docs/JOBS.md). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "handlers_int.h"
#include "loupe/api/input.h"
#include "loupe/core/config.h"
#include "loupe/db/jobs_sql.h"
#include "loupe/jobs/enqueue.h"
#include "loupe/queue/topology.h"

/* A timestamp member: the text, or null when empty. */
static json_t *time_or_null(const char *t)
{
    return t && t[0] ? json_string(t) : json_null();
}

static json_t *json_text_or_null(const char *text)
{
    json_t *v;
    if (!text)
        return json_null();
    v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_null();
}

static json_t *job_json(const lp_job_row *j)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:f, s:i, s:i, s:o, s:o, s:s, s:o, s:o, s:s, s:o}", "id", j->id, "kind",
                     j->kind, "queue", j->queue, "status", j->status, "progress", j->progress, "attempts", j->attempts,
                     "max_attempts", j->max_attempts, "error", j->error ? json_string(j->error) : json_null(),
                     "result", json_text_or_null(j->result), "created_at", j->created_at, "started_at",
                     time_or_null(j->started_at), "finished_at", time_or_null(j->finished_at), "updated_at",
                     j->updated_at, "eta", time_or_null(j->eta));
}

/* waiting (may be NULL): GET's "waiting_for" (JSON null when it is ""). */
static int respond_job(lp_req *req, int status, const lp_job_row *j, const char *waiting)
{
    json_t *doc = job_json(j);
    if (!doc || (waiting && json_object_set_new(doc, "waiting_for", waiting[0] ? json_string(waiting) : json_null()))) {
        json_decref(doc);
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory rendering job %s", j->id);
    }
    if (status == 202) {
        const char *loc = lp_arena_printf(req->arena, "/api/v1/jobs/%s", j->id);
        if (!loc || lp_res_header(req, "Location", loc) != 0) {
            json_decref(doc);
            return -1;
        }
    }
    return lp_res_json(req, status, doc);
}

int lp_api_system_echo_create(lp_req *req)
{
    json_t *body, *payload = NULL;
    int64_t max_attempts = 0;
    char id[37];
    lp_job_spec spec;
    lp_job_row row;
    lp_db *db = NULL;
    int rc = -1;

    if (!(body = lp_req_json(req, 1)))
        return -1;
    if (lp_in_int(req, body, NULL, "max_attempts", LP_IN_OPTIONAL, 1, 100, &max_attempts) != 0)
        return -1;
    payload = json_deep_copy(body);
    if (!payload)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading the request");
    json_object_del(payload, "max_attempts");
    memset(&spec, 0, sizeof(spec));
    spec.kind = "system.echo";
    spec.team_id = req->who.team_id;
    spec.created_by = req->who.user_id[0] ? req->who.user_id : NULL;
    spec.payload = payload;
    spec.max_attempts = (int)max_attempts;
    if (!(db = lp_req_db(req)))
        goto cleanup;
    if (lp_jobs_enqueue(db, req->svc->cfg, &spec, id, &req->err) != 0 ||
        lp_db_job_get(db, req->arena, req->who.team_id, id, &row, &req->err) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    lp_req_db_release(req);
    json_decref(payload);
    return rc != 0 ? -1 : respond_job(req, 202, &row, NULL);
}

/* Why a queued job of queue does not start, into out ("" when a live worker consumes its queue). */
static int waiting_for(lp_req *req, lp_db *db, const char *queue, char *out, size_t cap)
{
    const char *gpu = req->svc->cfg->worker_gpu_queue;
    int64_t n = lp_db_workers_of_queue(db, queue, 3 * req->svc->cfg->worker_heartbeat, &req->err);
    if (n < 0)
        return -1;
    if (n > 0)
        out[0] = '\0';
    else if (gpu && strcmp(queue, gpu) == 0)
        snprintf(out, cap, "no GPU worker is alive (no live worker consumes queue %s)", queue);
    else
        snprintf(out, cap, "no worker of queue %s is alive", queue);
    return 0;
}

int lp_api_jobs_get(lp_req *req)
{
    const char *id = lp_req_param(req, "id");
    char waiting[LP_QUEUE_NAME_MAX + 80] = "";
    lp_job_row row;
    lp_db *db;
    int rc;

    if (!(db = lp_req_db(req)))
        return -1;
    rc = lp_db_job_get(db, req->arena, req->who.team_id, id, &row, &req->err);
    if (rc == 0 && strcmp(row.status, "queued") == 0)
        rc = waiting_for(req, db, row.queue, waiting, sizeof waiting);
    lp_req_db_release(req);
    return rc != 0 ? -1 : respond_job(req, 200, &row, waiting);
}

static json_t *worker_json(const lp_worker_row *w)
{
    return json_pack("{s:s, s:s, s:i, s:o, s:i, s:I, s:o, s:s, s:o, s:s, s:s, s:b}", "id", w->id, "host", w->host,
                     "pid", w->pid, "queues", json_text_or_null(w->queues_json), "cpus", w->cpus, "memory_bytes",
                     (json_int_t)w->memory_bytes, "gpus", json_text_or_null(w->gpus_json), "version", w->version,
                     "current_job_id", w->current_job_id[0] ? json_string(w->current_job_id) : json_null(),
                     "started_at", w->started_at, "last_seen_at", w->last_seen_at, "alive", w->alive);
}

int lp_api_workers_list(lp_req *req)
{
    const char *flag = lp_req_query(req, "include_dead");
    int include_dead = 0;
    lp_worker_row *rows;
    size_t n;
    json_t *doc, *arr;
    lp_db *db;
    int rc;

    if (flag && lp_parse_bool(flag, &include_dead) != 0)
        return lp_error_field(&req->err, LP_E_MALFORMED, "include_dead", "must be true or false");
    if (!(db = lp_req_db(req)))
        return -1;
    rc = lp_db_workers_list(db, req->arena, req->who.team_id, 3 * req->svc->cfg->worker_heartbeat, include_dead, &rows,
                            &n, &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    if (!(doc = json_object()) || !(arr = json_array()) || json_object_set_new(doc, "workers", arr) != 0) {
        json_decref(doc);
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory rendering workers");
    }
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(arr, worker_json(&rows[i])) != 0) {
            json_decref(doc);
            return lp_error_set(&req->err, LP_E_NOMEM, "out of memory rendering workers");
        }
    }
    return lp_res_json(req, 200, doc);
}
