/* The model registry (docs/MODELS.md, docs/API.md "Models"):
 *   POST   /api/v1/models            a model (loupe/models/spec.h) → 201; an onnx model's
 *                                    answer holds the upload_url of its file (MANAGE)
 *   GET    /api/v1/models            the team's models, oldest first (MANAGE)
 *   GET    /api/v1/models/{id}       with ETag; If-None-Match → 304 (MANAGE)
 *   PATCH  /api/v1/models/{id}       members merged over the stored model (null removes one),
 *                                    the result checked whole; If-Match → 412 when stale (MANAGE)
 *   DELETE /api/v1/models/{id}       → 204 (MANAGE)
 *   PUT    /api/v1/models/{id}/file  an onnx model's file as the body, streamed into storage (MANAGE)
 *   POST   /api/v1/models/{id}/runs  {"filters", "slot"?}: a batch run over the items the filter
 *                                    selects, a models.run job on the model's queue → 202 (MANAGE)
 *   POST   /api/v1/models/{id}/infer {"item_id", "slot"?}, or an image body (an image type, streamed to
 *                                    storage for the worker): live inference — a worker of the
 *                                    model's queue answers over RabbitMQ within model_infer_timeout
 *                                    → 200 {"predictions"}, 504 past it, 503 while
 *                                    model_infer_max_waiting others wait on this node (MANAGE); the
 *                                    request is suspended while it waits (lp_req_suspend), the HTTP
 *                                    thread free for other connections
 *   GET    /api/v1/models/{id}/runs/{run}/ranking?strategy=least_confidence|margin|entropy|novelty
 *                                    the run's items in the strategy's rank order, keyset-paged;
 *                                    409 until the run has succeeded (MANAGE)
 * An http model's endpoint.url is checked by the outbound guard (net_allow) when it is written.
 * Every change writes an audit row in its transaction. */
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "classes_int.h"
#include "handlers_int.h"
#include "identity_int.h"
#include "items_int.h"
#include "loupe/api/audit.h"
#include "loupe/api/models.h"
#include "loupe/api/input.h"
#include "loupe/core/buf.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/item_filter.h"
#include "loupe/db/items_sql.h"
#include "loupe/db/model_inputs_sql.h"
#include "loupe/db/model_runs_sql.h"
#include "loupe/db/models_sql.h"
#include "loupe/http/etag.h"
#include "loupe/infer/http.h"
#include "loupe/jobs/model_infer.h"
#include "loupe/jobs/model_stage.h"
#include "loupe/models/spec.h"
#include "loupe/queue/rpc.h"
#include "loupe/queue/topology.h"
#include "loupe/storage/storage.h"
#include "respond_int.h"
#include "slot_common_int.h"

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static const char *file_url(lp_req *req, const char *id)
{
    const char *base = req->svc->cfg->public_url ? req->svc->cfg->public_url : "";
    size_t n = strlen(base);
    return lp_arena_printf(req->arena, "%.*s/api/v1/models/%s/file", (int)(n && base[n - 1] == '/' ? n - 1 : n),
                           base, id);
}

/* The model as the API shows it: its spec with id, version, file and times. */
static json_t *model_json(lp_req *req, const lp_model_row *m)
{
    json_t *doc = json_loads(m->spec, 0, NULL), *file;
    if (!doc)
        return NULL;
    int onnx = strcmp(m->runtime, "onnx") == 0;
    file = m->file_key ? json_pack("{s:I, s:s, s:o}", "size_bytes", (json_int_t)m->file_size, "sha256",
                                   m->file_sha256 ? m->file_sha256 : "", "uploaded_at", str_or_null(m->uploaded_at))
                       : json_null();
    if (json_object_set_new(doc, "id", json_string(m->id)) || json_object_set_new(doc, "version", json_integer(m->version)) ||
        json_object_set_new(doc, "file", file) ||
        json_object_set_new(doc, "upload_url", onnx ? str_or_null(file_url(req, m->id)) : json_null()) ||
        json_object_set_new(doc, "created_by", str_or_null(m->created_by)) ||
        json_object_set_new(doc, "created_at", json_string(m->created_at)) ||
        json_object_set_new(doc, "updated_at", json_string(m->updated_at))) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static const char *etag_of(int64_t version, char tag[32])
{
    snprintf(tag, 32, "\"%lld\"", (long long)version);
    return tag;
}

static int respond_model(lp_req *req, int status, const lp_model_row *m)
{
    char tag[32];
    json_t *doc = model_json(req, m);
    if (!doc || lp_res_header(req, "ETag", etag_of(m->version, tag)) != 0) {
        json_decref(doc);
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory rendering model %s", m->id);
    }
    if (status == 201)
        return lp_api_respond_created(req, "/api/v1/models", m->id, doc);
    return lp_res_json(req, status, doc);
}

/* Checks doc whole (a create body, or a stored model with a PATCH merged in)
 * into v; *norm (new) is the spec as stored. 0, or -1 with req->err. */
static int read_model(lp_req *req, const json_t *doc, lp_model_values *v, char **norm)
{
    lp_model_spec s;
    json_t *j;
    *norm = NULL;
    const lp_config *cfg = req->svc->cfg;
    lp_model_spec_limits lim = {(size_t)cfg->model_labels_max, (size_t)cfg->model_name_max,
                                (size_t)cfg->model_label_max};
    if (lp_model_spec_read_limits(doc, &lim, &s, &req->err) != 0)
        return -1;
    if (lp_identity_name(s.name, "name", (size_t)req->svc->cfg->string_max_length, &req->err) != 0)
        return -1;
    /* the guard's rule now, for an address given as such; a host name is checked each time it is called */
    if (s.runtime == LP_MODEL_HTTP && lp_infer_http_url_check(req->svc->cfg->net_allow, s.endpoint_url, 0, &req->err) != 0)
        return -1;
    if (!(j = lp_model_spec_json(&s)) || !(*norm = json_dumps(j, JSON_COMPACT))) {
        json_decref(j);
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading the model");
    }
    json_decref(j);
    *v = (lp_model_values){s.name, lp_model_task_names[s.task], lp_model_runtime_names[s.runtime],
                           lp_model_queue_names[s.queue], *norm};
    return 0;
}

int lp_api_models_create(lp_req *req)
{
    json_t *body;
    lp_model_values v;
    lp_model_row m;
    char *norm = NULL;
    lp_db *db;
    int rc = -1;

    if (!(body = lp_req_json(req, 1)) || read_model(req, body, &v, &norm) != 0 || !(db = lp_req_db(req))) {
        free(norm);
        return -1;
    }
    if (lp_api_class_map_check(req, db, json_object_get(body, "class_map"), "class_map.") == 0 &&
        lp_db_begin(db, &req->err) == 0 &&
        lp_db_model_create(db, req->arena, req->who.team_id, req->who.user_id, &v, &m, &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "model.create", "model", m.id,
                        json_pack("{s:s, s:s, s:s}", "name", v.name, "task", v.task, "runtime", v.runtime),
                        &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    free(norm);
    return rc != 0 ? -1 : respond_model(req, 201, &m);
}

static json_t *listed_json(lp_req *req, const void *row) { return model_json(req, row); }

int lp_api_models_list(lp_req *req)
{
    lp_page page;
    lp_model_row *rows;
    size_t n;
    lp_db *db;
    int rc;

    if (lp_page_read_checked(req, &page, lp_is_uuid) != 0 || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_model_list(db, req->arena, req->who.team_id, page.after_id, page.size + 1, &rows, &n, &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    return lp_api_respond_id_keyset(req, "models", &page, rows, n, sizeof *rows, offsetof(lp_model_row, id),
                                    listed_json);
}

int lp_api_models_get(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "model");
    lp_model_row m;
    lp_db *db;
    char tag[32];
    int rc;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_model_get(db, req->arena, req->who.team_id, id, &m, &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    if (lp_req_etag_match(req, "If-None-Match", etag_of(m.version, tag))) {
        lp_res_header(req, "ETag", tag);
        return lp_res_empty(req, 304);
    }
    return respond_model(req, 200, &m);
}

/* The stored spec with the members of patch merged in (null removes one). New, or NULL. */
static json_t *merged(const lp_model_row *m, json_t *patch)
{
    json_t *doc = json_loads(m->spec, 0, NULL), *v;
    const char *key;
    if (!doc)
        return NULL;
    json_object_foreach(patch, key, v) {
        if (json_is_null(v))
            json_object_del(doc, key);
        else
            json_object_set(doc, key, v);
    }
    return doc;
}

static int stale(lp_req *req, const lp_model_row *m)
{
    char tag[32];
    lp_res_header(req, "ETag", etag_of(m->version, tag));
    lp_error_set(&req->err, LP_E_PRECONDITION, "model %s changed since you read it", m->id);
    lp_error_detail(&req->err, "the current version is %lld", (long long)m->version);
    return lp_error_hint(&req->err, "read it again (GET /api/v1/models/%s) and retry with If-Match: %s", m->id, tag);
}

int lp_api_models_update(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "model");
    json_t *body, *doc = NULL, *fields;
    lp_model_values v;
    lp_model_row m;
    char *norm = NULL, tag[32];
    lp_db *db;
    int rc = -1, done;

    if (!id || !(body = lp_req_json(req, 1)) || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) != 0 || lp_db_model_get(db, req->arena, req->who.team_id, id, &m, &req->err) != 0)
        goto done;
    if (lp_req_header(req, "If-Match") && !lp_req_etag_match(req, "If-Match", etag_of(m.version, tag))) {
        stale(req, &m);
        goto done;
    }
    if (!(doc = merged(&m, body))) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory merging model %s", id);
        goto done;
    }
    if (read_model(req, doc, &v, &norm) != 0 ||
        lp_api_class_map_check(req, db, json_object_get(doc, "class_map"), "class_map.") != 0 ||
        (done = lp_db_model_update(db, req->arena, req->who.team_id, id, m.version, &v, &m, &req->err)) < 0)
        goto done;
    if (done == 1) {
        stale(req, &m);
        goto done;
    }
    fields = json_array();
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val) json_array_append_new(fields, json_string(key));
    if (lp_audit_record(db, req->who.team_id, req->who.user_id, "model.update", "model", id,
                        json_pack("{s:o, s:I}", "fields", fields, "version", (json_int_t)m.version), &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
done:
    if (rc != 0 && lp_db_in_transaction(db))
        lp_db_rollback(db);
    lp_req_db_release(req);
    json_decref(doc);
    free(norm);
    return rc != 0 ? -1 : respond_model(req, 200, &m);
}

int lp_api_models_delete(lp_req *req)
{
    return lp_api_respond_deleted(req, "model", "model", lp_db_model_soft_delete);
}

/* ---- PUT /api/v1/models/{id}/file ------------------------------------------------------- */

typedef struct model_upload {
    lp_storage_writer *w;
    char team_id[37], user_id[37], id[37];
    char key[LP_STORAGE_KEY_MAX + 1];
    uint64_t bytes, max;
} model_upload;

static int model_chunk(lp_req *req, void *cls, const char *data, size_t len)
{
    model_upload *u = cls;
    if ((u->bytes += len) > u->max)
        return lp_error_set(&req->err, LP_E_TOO_LARGE, "the model file is over %llu bytes (model_max_bytes)",
                            (unsigned long long)u->max);
    return lp_storage_writer_write(u->w, data, len, &req->err);
}

static int model_end(lp_req *req, void *cls)
{
    model_upload *u = cls;
    lp_storage_object obj;
    lp_model_row m;
    lp_db *db;
    int rc = -1, set;

    lp_storage_writer *w = u->w;
    u->w = NULL;
    if (lp_storage_writer_commit(w, &obj, &req->err) != 0 || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 &&
        (set = lp_db_model_set_file(db, u->team_id, u->id, u->key, (int64_t)obj.size, obj.sha256, &req->err)) >= 0) {
        if (set == 1)
            lp_error_set(&req->err, LP_E_CONFLICT, "model %s does not run on onnx: it has no file", u->id);
        else if (lp_audit_record(db, u->team_id, u->user_id, "model.upload", "model", u->id,
                                 json_pack("{s:I, s:s}", "size_bytes", (json_int_t)obj.size, "sha256", obj.sha256),
                                 &req->err) == 0 &&
                 lp_db_commit(db, &req->err) == 0 &&
                 lp_db_model_get(db, req->arena, u->team_id, u->id, &m, &req->err) == 0)
            rc = 0;
    }
    if (rc != 0 && lp_db_in_transaction(db))
        lp_db_rollback(db);
    lp_req_db_release(req);
    return rc == 0 ? respond_model(req, 200, &m) : -1;
}

static void model_cleanup(void *cls)
{
    model_upload *u = cls;
    lp_storage_writer_abort(u->w);
    free(u);
}

int lp_api_models_file(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "model"), *clen = lp_req_header(req, "Content-Length");
    lp_storage *s = lp_slot_storage(req);
    lp_model_row m;
    model_upload *u;
    lp_db *db;
    int rc;

    if (!id || !s || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_model_get(db, req->arena, req->who.team_id, id, &m, &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    if (strcmp(m.runtime, "onnx") != 0)
        return lp_error_set(&req->err, LP_E_CONFLICT, "model %s does not run on onnx: it has no file", id);
    if (clen && strtoull(clen, NULL, 10) > (unsigned long long)req->svc->cfg->model_max_bytes)
        return lp_error_set(&req->err, LP_E_TOO_LARGE, "the file is %s bytes; the limit is %lld bytes (model_max_bytes)",
                            clen, (long long)req->svc->cfg->model_max_bytes);
    if (!(u = calloc(1, sizeof *u)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    lp_strlcpy(u->team_id, req->who.team_id, sizeof u->team_id);
    lp_strlcpy(u->user_id, req->who.user_id, sizeof u->user_id);
    lp_strlcpy(u->id, id, sizeof u->id);
    u->max = (uint64_t)req->svc->cfg->model_max_bytes;
    lp_storage_key_model(req->who.team_id, id, u->key, sizeof u->key);
    if (!(u->w = lp_storage_writer_open(s, u->key, "application/octet-stream", &req->err))) {
        free(u);
        return -1;
    }
    lp_body_sink sink = {.chunk = model_chunk, .end = model_end, .cleanup = model_cleanup, .cls = u};
    if (lp_req_stream_body(req, &sink) != 0) {
        model_cleanup(u);
        return -1;
    }
    return 0;
}

/* The job kind that runs a model on its queue's workers. */
static const char *run_kind(const lp_model_row *m)
{
    return lp_model_run_kind(m->queue);
}

/* A model that runs: served over HTTP, or an onnx model with its file (else 409). */
static int runnable(lp_req *req, const lp_model_row *m)
{
    if (strcmp(m->runtime, "onnx") == 0 && !m->file_key) {
        lp_error_set(&req->err, LP_E_CONFLICT, "model %s has no .onnx file yet", m->id);
        return lp_error_hint(&req->err, "PUT the file to the model's upload_url first");
    }
    return 0;
}

int lp_api_models_runs_create(lp_req *req)
{
    static const char *const allowed[] = {"filters", "slot", NULL};
    const char *id = lp_identity_uuid_param(req, "id", "model");
    const char *slot = NULL;
    json_t *body, *filters = NULL, *payload;
    lp_item_filter f;
    lp_model_row m;
    char job_id[37];
    lp_db *db;
    int rc = -1;

    if (!id || !(body = lp_req_json(req, 1)))
        return -1;
    lp_in_only(req, body, NULL, allowed);
    lp_in_object(req, body, NULL, "filters", LP_IN_REQUIRED, &filters);
    lp_in_string_limit(req, body, NULL, "slot", LP_IN_OPTIONAL, (size_t)req->svc->cfg->slot_name_max, "slot_name_max",
                       &slot);
    if (req->err.code != LP_OK ||
        lp_item_filter_read(filters, LP_FILTER_JSON, req->who.team_id, req->arena, &f, &req->err) != 0)
        return -1;
    if (!f.dataset_id && !f.nitem_ids)
        return lp_error_field(&req->err, LP_E_INVALID, "filters.dataset_id", "is required (or filters.item_ids)");
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_model_get(db, req->arena, req->who.team_id, id, &m, &req->err) != 0)
        goto done;
    if (runnable(req, &m) != 0)
        goto done;
    payload = json_pack("{s:s, s:O, s:s*, s:s*}", "model_id", m.id, "filters", filters, "slot", slot,
                        "requested_by", req->who.user_id[0] ? req->who.user_id : NULL);
    if (lp_db_begin(db, &req->err) == 0 && lp_api_enqueue_job(req, db, run_kind(&m), payload, 0, job_id) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "model.run", "model", m.id,
                        json_pack("{s:s, s:O}", "job_id", job_id, "filters", filters), &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;

done:
    lp_req_db_release(req); /* rolls back what was not committed */
    return rc != 0 ? -1 : lp_api_respond_job_of(req, run_kind(&m), job_id);
}

/* Live inferences of this node waiting for a worker's answer, in all and per team. Each waits on a
 * thread of its own with a broker connection of its own until the answer or model_infer_timeout (its
 * HTTP connection suspended, the HTTP thread free): the node's cap bounds those threads and
 * connections, a team's keeps room for the other teams. A team is in the table while one of its
 * requests waits (at most the node's cap of them). */
typedef struct live_team {
    char team_id[37];
    int waiting;
} live_team;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static live_team *live_teams; /* live_teams_n (live_waiting_max) entries, made on first use */
static int live_teams_n, live_waiting;

/* model_infer_max_waiting, or LIVE_WAITING_DEFAULT. */
#define LIVE_WAITING_DEFAULT 64
static int live_waiting_max(const lp_config *cfg)
{
    return cfg->model_infer_max_waiting > 0 ? (int)cfg->model_infer_max_waiting : LIVE_WAITING_DEFAULT;
}

/* model_infer_max_waiting_team, or half of the node's cap (at least 1); never more than the node's. */
static int live_waiting_team_max(const lp_config *cfg)
{
    int node = live_waiting_max(cfg);
    int team = cfg->model_infer_max_waiting_team > 0 ? (int)cfg->model_infer_max_waiting_team : node / 2;
    return team < 1 ? 1 : team > node ? node : team;
}

/* Counts one more live inference of team waiting: 0, or -1 with req->err (503, the cap named) when the
 * node's or the team's cap is reached. */
static int live_wait_begin(lp_req *req, const char *team_id)
{
    const lp_config *cfg = req->svc->cfg;
    int max = live_waiting_max(cfg), team_max = live_waiting_team_max(cfg), rc = 0;
    live_team *t = NULL, *free_slot = NULL;

    pthread_mutex_lock(&live_lock);
    if (!live_teams && (live_teams = calloc((size_t)max, sizeof *live_teams)))
        live_teams_n = max;
    for (int i = 0; i < live_teams_n && !t; i++) {
        if (live_teams[i].waiting && strcmp(live_teams[i].team_id, team_id) == 0)
            t = &live_teams[i];
        else if (!live_teams[i].waiting && !free_slot)
            free_slot = &live_teams[i];
    }
    if (!live_teams)
        rc = lp_error_set(&req->err, LP_E_NOMEM, "out of memory asking for an inference");
    else if (live_waiting >= max || (!t && !free_slot))
        rc = lp_error_set(&req->err, LP_E_UNAVAILABLE,
                          "%d live inferences are already waiting for a worker on this node (model_infer_max_waiting)",
                          max);
    else if (t && t->waiting >= team_max)
        rc = lp_error_set(&req->err, LP_E_UNAVAILABLE,
                          "%d live inferences of this team are already waiting for a worker on this node "
                          "(model_infer_max_waiting_team)", team_max);
    else {
        if (!t) {
            t = free_slot;
            lp_strlcpy(t->team_id, team_id, sizeof t->team_id);
        }
        t->waiting++;
        live_waiting++;
    }
    pthread_mutex_unlock(&live_lock);
    return rc;
}

static void live_wait_end(const char *team_id)
{
    pthread_mutex_lock(&live_lock);
    for (int i = 0; i < live_teams_n; i++) {
        if (live_teams[i].waiting && strcmp(live_teams[i].team_id, team_id) == 0) {
            live_teams[i].waiting--;
            live_waiting--;
            break;
        }
    }
    pthread_mutex_unlock(&live_lock);
}

/* louped's connections for live inference, made on first use: as many kept as may wait at once. */
static pthread_mutex_t rpc_lock = PTHREAD_MUTEX_INITIALIZER;
static lp_amqp_rpc *rpc_pool;

static lp_amqp_rpc *rpc(const lp_config *cfg)
{
    pthread_mutex_lock(&rpc_lock);
    if (!rpc_pool)
        rpc_pool = lp_amqp_rpc_new(cfg->amqp_url, live_waiting_max(cfg));
    pthread_mutex_unlock(&rpc_lock);
    return rpc_pool;
}

/* The slot of item to run on: the named one, else the first image slot; it must be a ready image. */
static const lp_slot_row *infer_slot(lp_req *req, const lp_item_row *item, const char *name)
{
    for (size_t i = 0; i < item->nslots; i++) {
        const lp_slot_row *s = &item->slots[i];
        if (name ? strcmp(s->name, name) != 0 : strcmp(s->type, "image") != 0)
            continue;
        if (strcmp(s->type, "image") != 0)
            lp_error_field(&req->err, LP_E_INVALID, "slot", "slot \"%s\" is a %s slot; models run on images", s->name,
                           s->type);
        else if (strcmp(s->status, "ready") != 0)
            lp_error_set(&req->err, LP_E_CONFLICT, "slot \"%s\" of item %s is %s, not ready", s->name, item->id,
                         s->status);
        else
            return s;
        return NULL;
    }
    if (name)
        lp_error_field(&req->err, LP_E_INVALID, "slot", "item %s has no slot \"%s\"", item->id, name);
    else
        lp_error_field(&req->err, LP_E_INVALID, "item_id", "item %s has no image slot", item->id);
    return NULL;
}

/* The worker's answer as the response. */
static int respond_answer(lp_req *req, const char *text, size_t len)
{
    json_t *doc = json_loadb(text, len, 0, NULL), *preds = json_object_get(doc, "predictions");
    const json_t *e = json_object_get(doc, "error");
    int rc;
    if (json_is_array(preds)) {
        const json_t *ms = json_object_get(doc, "infer_ms"), *v;
        const char *stage;
        char timing[256];
        /* the worker's own time, then its stages, for clients that want the queue's share (Server-Timing) */
        int at = snprintf(timing, sizeof timing, "worker;dur=%.3f", json_number_value(ms));
        json_object_foreach(json_object_get(doc, "stages_ms"), stage, v) {
            if (json_is_number(v) && at > 0 && (size_t)at < sizeof timing && strspn(stage, "abcdefghijklmnopqrstuvwxyz") ==
                                                                                   strlen(stage))
                at += snprintf(timing + at, sizeof timing - (size_t)at, ", %s;dur=%.3f", stage, json_number_value(v));
        }
        if (at <= 0 || (size_t)at >= sizeof timing) /* cut short: the worker's time alone */
            snprintf(timing, sizeof timing, "worker;dur=%.3f", json_number_value(ms));
        rc = json_is_number(ms) && lp_res_header(req, "Server-Timing", timing) != 0
                 ? -1
                 : lp_res_json(req, 200, json_pack("{s:O, s:O*}", "predictions", preds, "image",
                                                   json_object_get(doc, "image")));
    } else {
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        lp_code c = lp_code_from_name(code);
        /* the worker keeps its code (a model or image it cannot run: 422); a request it could not read is ours */
        rc = lp_error_set(&req->err, c == LP_E_MALFORMED ? LP_E_INTERNAL : c, "inference failed: %s",
                          msg ? msg : "the worker's answer says nothing");
    }
    json_decref(doc);
    return rc;
}

/* One live inference waiting for its answer, on a thread of its own, its request suspended. */
typedef struct infer_wait {
    lp_req *req;
    char team_id[37];
    lp_amqp_rpc *pool;
    char queue[LP_QUEUE_FULL_NAME_MAX], live[LP_QUEUE_FULL_NAME_MAX];
    const char *model_queue; /* the request's arena */
    char *text;              /* the request */
} infer_wait;

static void *infer_wait_run(void *cls)
{
    infer_wait *w = cls;
    lp_req *req = w->req;
    char *answer = NULL;
    size_t len = 0;
    int rc = -1;

    lp_req_enter(req);
    /* the workers' live queue (nothing written to disk on the way); without one, the work queue */
    if (lp_amqp_rpc_call(w->pool, w->live, w->queue, w->text, req->svc->cfg->model_infer_timeout, &answer, &len,
                         &req->err) == 0)
        rc = respond_answer(req, answer, len);
    else if (req->err.code == LP_E_TIMEOUT)
        lp_error_hint(&req->err, "no worker of queue %s answered within model_infer_timeout; is one running?",
                      w->model_queue);
    live_wait_end(w->team_id);
    free(answer);
    free(w->text);
    free(w);
    lp_req_resume(req, rc);
    return NULL;
}

/* lp_req_suspend's start: the waiting thread, detached (it resumes the request before it ends). */
static int infer_wait_start(lp_req *req, void *cls)
{
    infer_wait *w = cls;
    pthread_attr_t attr;
    pthread_t t;
    int e = pthread_attr_init(&attr);
    if (e == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        e = pthread_create(&t, &attr, infer_wait_run, w);
        pthread_attr_destroy(&attr);
    }
    if (e == 0)
        return 0;
    live_wait_end(w->team_id);
    free(w->text);
    free(w);
    lp_res_header(req, "Retry-After", "1");
    return lp_error_set(&req->err, LP_E_UNAVAILABLE, "cannot start a thread to wait for a worker's answer: %s",
                        strerror(e));
}

/* Asks a worker of m's queue to run m (at the version read) on what target names — {"item_id", "slot", and
 * the slot's row as read: "slot_id", "width", "height", "storage", "media"}, or {"image_id"}; stolen — and
 * suspends the request until it answers (infer_wait_run answers with what it says). */
static int ask_worker(lp_req *req, const lp_model_row *m, json_t *target)
{
    const lp_config *cfg = req->svc->cfg;
    json_t *msg;
    lp_amqp_rpc *pool;
    infer_wait *w = NULL;
    char *text = NULL;
    int rc = -1;
    msg = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I}", "v", 1, "rpc", LP_MODEL_INFER_RPC, "team_id", req->who.team_id,
                    "model_id", m->id, "model_version", (json_int_t)m->version, "expires_at_ms",
                    (json_int_t)(lp_now_wall_ms() + cfg->model_infer_timeout));
    if (!msg || !target || json_object_update(msg, target) != 0 || !(text = json_dumps(msg, JSON_COMPACT)) ||
        !(pool = rpc(cfg)) || !(w = calloc(1, sizeof *w))) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory asking for an inference");
        goto done;
    }
    if (live_wait_begin(req, req->who.team_id) != 0) {
        if (req->err.code == LP_E_UNAVAILABLE) {
            lp_res_header(req, "Retry-After", "1");
            lp_error_hint(&req->err, "retry after a moment; for many items start a batch run "
                                     "(POST /api/v1/models/%s/runs)", m->id);
        }
        goto done;
    }
    w->req = req;
    lp_strlcpy(w->team_id, req->who.team_id, sizeof w->team_id);
    w->pool = pool;
    w->model_queue = m->queue;
    lp_queue_work_name(m->queue, w->queue);
    lp_queue_live_name(m->queue, w->live);
    w->text = text;
    text = NULL;
    lp_req_suspend(req, infer_wait_start, w);
    w = NULL;
    rc = 0;

done:
    free(w);
    free(text);
    json_decref(target);
    json_decref(msg);
    return rc;
}

/* The request's target for an item's slot: its ids and its row as read, so that the worker reads nothing
 * again. New reference, NULL out of memory (or a slot whose storage is not JSON, which the database
 * does not hold). */
static json_t *slot_target(const lp_item_row *item, const lp_slot_row *slot)
{
    json_t *storage = json_loads(slot->storage ? slot->storage : "{}", 0, NULL);
    json_t *meta = slot->metadata ? json_loads(slot->metadata, 0, NULL) : NULL;
    json_t *t = json_pack("{s:s, s:s, s:s, s:I, s:I, s:O, s:O*}", "item_id", item->id, "slot", slot->name, "slot_id",
                          slot->id, "width", (json_int_t)slot->width, "height", (json_int_t)slot->height, "storage",
                          storage, "media", json_object_get(meta, "media"));
    json_decref(meta);
    json_decref(storage);
    return t;
}

/* {"item_id", "slot"?}: the model on an item's slot. */
static int infer_item(lp_req *req, const char *id)
{
    static const char *const allowed[] = {"item_id", "slot", NULL};
    const char *item_id = NULL, *slot_name = NULL;
    const lp_slot_row *slot;
    json_t *body;
    lp_model_row m;
    lp_item_row item;
    lp_db *db;
    int rc;

    if (!(body = lp_req_json(req, 1)))
        return -1;
    lp_in_only(req, body, NULL, allowed);
    lp_in_uuid(req, body, NULL, "item_id", LP_IN_REQUIRED, &item_id);
    lp_in_string_limit(req, body, NULL, "slot", LP_IN_OPTIONAL, (size_t)req->svc->cfg->slot_name_max, "slot_name_max",
                       &slot_name);
    if (req->err.code != LP_OK || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_model_get(db, req->arena, req->who.team_id, id, &m, &req->err) == 0 && runnable(req, &m) == 0 &&
                 lp_db_item_get(db, req->arena, req->who.team_id, item_id, &item, &req->err) == 0
             ? 0
             : -1;
    lp_req_db_release(req); /* no connection held while a worker answers */
    if (rc != 0 || !(slot = infer_slot(req, &item, slot_name)))
        return -1;
    return ask_worker(req, &m, slot_target(&item, slot));
}

/* The body of a live inference, streamed: JSON kept whole (http_body_limit), an image written to
 * storage (model_infer_image_max) for the worker to read. */
typedef struct infer_body {
    char id[37];
    int image;
    lp_buf json;                    /* JSON */
    lp_model_row m;                 /* image: the model, read before the body */
    lp_storage_writer *w;           /* image */
    lp_storage *st;
    const lp_services *svc;         /* image: its pool, to forget the input when done */
    char image_id[37], key[LP_STORAGE_KEY_MAX + 1];
    uint64_t bytes, max;
    int noted;                      /* the image has its row of model_inputs */
    int stored;                     /* the image is in storage: delete it when done */
} infer_body;

static int infer_chunk(lp_req *req, void *cls, const char *data, size_t len)
{
    infer_body *b = cls;
    if (!b->image) {
        if (lp_buf_append(&b->json, data, len) != 0)
            return lp_error_set(&req->err, lp_buf_failure(&b->json), "the request body is over %zu bytes "
                                                                     "(http_body_limit)", b->json.max);
        return 0;
    }
    if ((b->bytes += len) > b->max)
        return lp_error_set(&req->err, LP_E_TOO_LARGE, "the image is over %llu bytes (model_infer_image_max)",
                            (unsigned long long)b->max);
    return lp_storage_writer_write(b->w, data, len, &req->err);
}

static int infer_end(lp_req *req, void *cls)
{
    infer_body *b = cls;
    lp_storage_object obj;
    if (!b->image) {
        req->body = b->json.data ? b->json.data : "";
        req->body_len = b->json.len;
        return infer_item(req, b->id);
    }
    lp_storage_writer *w = b->w;
    b->w = NULL;
    if (b->bytes == 0) {
        lp_storage_writer_abort(w);
        return lp_error_set(&req->err, LP_E_MALFORMED, "the request body is empty; send an image");
    }
    if (lp_storage_writer_commit(w, &obj, &req->err) != 0)
        return -1;
    b->stored = 1;
    return ask_worker(req, &b->m, json_pack("{s:s}", "image_id", b->image_id));
}

static void infer_cleanup(void *cls)
{
    infer_body *b = cls;
    lp_error err;
    lp_db *db;
    lp_storage_writer_abort(b->w);
    lp_error_clear(&err);
    if (b->stored && lp_storage_delete(b->st, b->key, &err) != 0 && err.code != LP_E_NOT_FOUND)
        LP_WARN("models", "the live inference image %s was not deleted (the sweep will): %s", b->key, err.message);
    else if (b->noted && (db = b->svc->db_acquire(b->svc->db, &err))) {
        if (lp_db_model_input_remove(db, b->image_id, &err) != 0)
            LP_WARN("models", "live inference image %s: %s", b->image_id, err.message);
        b->svc->db_release(db);
    }
    lp_buf_free(&b->json);
    free(b);
}

int lp_api_models_sweep_inputs(const lp_config *cfg, lp_db *db, lp_storage *st, lp_error *err)
{
    /* a request still waiting for its answer keeps its image */
    int64_t age = cfg->model_input_max_age > cfg->model_infer_timeout ? cfg->model_input_max_age
                                                                        : cfg->model_infer_timeout;
    lp_arena *a = lp_arena_new(0, 0);
    lp_model_input_row *rows;
    const char **gone;
    size_t n = 0, k = 0;
    int rc = -1;

    if (!a)
        return lp_error_set(err, LP_E_NOMEM, "out of memory sweeping live inference images");
    if (lp_db_begin(db, err) != 0 ||
        lp_db_model_inputs_stale(db, a, age, 500, &rows, &n, err) != 0)
        goto done;
    if (!(gone = lp_arena_calloc(a, n + 1, sizeof *gone))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory sweeping live inference images");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        char key[LP_STORAGE_KEY_MAX + 1];
        lp_error e;
        lp_error_clear(&e);
        lp_storage_key_model_input(rows[i].team_id, rows[i].id, key, sizeof key);
        if (lp_storage_delete(st, key, &e) == 0 || e.code == LP_E_NOT_FOUND)
            gone[k++] = rows[i].id;
        else
            LP_WARN("models", "the live inference image %s was not deleted: %s", key, e.message);
    }
    if ((k > 0 && lp_db_model_inputs_remove(db, a, gone, k, err) != 0) || lp_db_commit(db, err) != 0)
        goto done;
    rc = (int)k;
done:
    if (rc < 0 && lp_db_in_transaction(db))
        lp_db_rollback(db);
    lp_arena_free(a);
    return rc;
}

/* 1 when the content type is image/<something>. */
static int is_image_type(const char *ct)
{
    return ct && strncasecmp(ct, "image/", 6) == 0 && ct[6] && ct[6] != ';' && ct[6] != ' ';
}

int lp_api_models_infer(lp_req *req)
{
    const lp_config *cfg = req->svc->cfg;
    const char *id = lp_identity_uuid_param(req, "id", "model");
    const char *ct = lp_req_header(req, "Content-Type"), *clen = lp_req_header(req, "Content-Length");
    infer_body *b;
    lp_db *db;
    int rc;

    if (!id)
        return -1;
    if (!lp_http_is_json_type(ct) && !is_image_type(ct)) {
        lp_error_set(&req->err, LP_E_MEDIA_TYPE, "live inference takes a JSON object {item_id, slot} or an image");
        return lp_error_hint(&req->err, "send Content-Type: application/json, or the image with its own type "
                                        "(image/jpeg, image/png, …)");
    }
    if (!(b = calloc(1, sizeof *b)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    lp_strlcpy(b->id, id, sizeof b->id);
    lp_buf_init(&b->json, (size_t)cfg->http_body_limit);
    b->image = is_image_type(ct);
    b->max = (uint64_t)(b->image ? cfg->model_infer_image_max : cfg->http_body_limit);
    if (clen && strtoull(clen, NULL, 10) > b->max) {
        lp_error_set(&req->err, LP_E_TOO_LARGE, "the body is %s bytes; the limit is %llu bytes (%s)", clen,
                     (unsigned long long)b->max, b->image ? "model_infer_image_max" : "http_body_limit");
        goto fail;
    }
    if (b->image) {
        if (!(db = lp_req_db(req)))
            goto fail;
        /* the image is noted before it is written, so that a louped stopped meanwhile leaves it to the sweep */
        rc = lp_db_model_get(db, req->arena, req->who.team_id, id, &b->m, &req->err) == 0 &&
                     runnable(req, &b->m) == 0 && lp_uuid_v4(b->image_id) == 0 &&
                     lp_db_model_input_add(db, req->who.team_id, b->image_id, &req->err) == 0
                 ? 0
                 : -1;
        lp_req_db_release(req);
        if (rc != 0)
            goto fail;
        b->svc = req->svc;
        b->noted = 1;
        /* the row's strings live in the request's arena, which outlives the body */
        if (!(b->st = lp_slot_storage(req)))
            goto fail;
        lp_storage_key_model_input(req->who.team_id, b->image_id, b->key, sizeof b->key);
        if (!(b->w = lp_storage_writer_open(b->st, b->key, "application/octet-stream", &req->err)))
            goto fail;
    }
    lp_body_sink sink = {.chunk = infer_chunk, .end = infer_end, .cleanup = infer_cleanup, .cls = b};
    if (lp_req_stream_body(req, &sink) != 0)
        goto fail;
    return 0;

fail:
    if (req->err.code == LP_OK)
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    infer_cleanup(b);
    return -1;
}

/* ---- GET /api/v1/models/{id}/runs/{run}/ranking ------------------------------------------ */

static int digits_only(const char *key)
{
    size_t n = strspn(key, "0123456789");
    return n > 0 && n < 19 && key[n] == '\0';
}

static json_t *rank_at(const void *rows, size_t i)
{
    const lp_model_rank_row *r = (const lp_model_rank_row *)rows + i;
    return json_pack("{s:s, s:s, s:I, s:I, s:f, s:f, s:f, s:f, s:s}", "item_id", r->item_id, "slot", r->slot, "rank",
                     (json_int_t)r->rank, "detections", (json_int_t)r->detections, "least_confidence",
                     r->least_confidence, "margin", r->margin, "entropy", r->entropy, "novelty", r->novelty,
                     "embedding_source", r->embedding_source);
}

static void rank_cursor(lp_req *req, const void *rows, size_t i, const void *ctx, const char **key, const char **id)
{
    const lp_model_rank_row *r = (const lp_model_rank_row *)rows + i;
    (void)ctx;
    *key = lp_arena_printf(req->arena, "%lld", (long long)r->rank);
    *id = r->item_id;
}

int lp_api_models_ranking(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "model"), *run = NULL;
    const char *strategy = lp_req_query(req, "strategy");
    lp_db_rank_by by = LP_DB_RANK_ENTROPY;
    lp_model_rank_row *rows = NULL;
    char status[32];
    lp_page page;
    size_t n = 0;
    lp_db *db;
    int rc;

    if (!id || !(run = lp_identity_uuid_param(req, "run", "run")))
        return -1;
    if (!strategy || lp_db_rank_by_from_name(strategy, &by) != 0)
        return lp_error_field(&req->err, LP_E_MALFORMED, "strategy",
                              "%s one of least_confidence, margin, entropy, novelty", strategy ? "must be" : "is required:");
    if (lp_page_read_checked(req, &page, digits_only) != 0 || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_model_run_status(db, req->who.team_id, id, run, status, sizeof status, &req->err);
    if (rc == 0 && strcmp(status, "succeeded") != 0) {
        lp_error_set(&req->err, LP_E_CONFLICT, "run %s is %s: it is ranked when it has succeeded", run, status);
        lp_error_hint(&req->err, "wait for GET /api/v1/jobs/%s to say succeeded", run);
        rc = -1;
    }
    if (rc == 0)
        rc = lp_db_model_ranking(db, req->arena, req->who.team_id, run, by,
                                 page.after_key ? strtoll(page.after_key, NULL, 10) : 0, page.size + 1, &rows, &n,
                                 &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    return lp_api_respond_keyset(req, "ranking", &page, rows, n, rank_at, rank_cursor, NULL);
}
