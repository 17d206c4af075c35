/* A worker's heartbeat thread. See loupe/worker/heartbeat.h.
 *
 * DESIGN (thread): the heartbeat thread owns its database connection; it
 * reads the runner's current job through lp_job_runner_current (locked) and
 * sleeps on a condition variable so that stop is immediate. GPUs are read
 * again at every beat (memory used and free) through NVML, kept open. */
#include "loupe/worker/heartbeat.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/jobs_sql.h"
#include "loupe/worker/host_info.h"
#include "loupe/worker/nvml.h"

#ifndef LOUPE_VERSION
#define LOUPE_VERSION "0.1.0"
#endif

struct lp_heartbeat {
    const lp_config *cfg;
    lp_job_runner *runner;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stop;               /* under mu */
    char id[128];
    char *queues_json;      /* owned */
    char gpus_json[4096];
    lp_host_info host;
    lp_nvml *nvml;          /* NULL without GPUs; the thread's once started */
    int64_t started_ms;
};

static int beat(lp_heartbeat *hb, lp_db **db)
{
    lp_error err;
    char current[37];
    lp_worker_info w;

    lp_error_clear(&err);
    if (!*db || !lp_db_ok(*db)) {
        lp_db_close(*db);
        *db = lp_db_connect(hb->cfg->db_url, 0, &err);
        if (!*db) {
            LP_WARN("worker", "heartbeat: %s", err.message);
            return -1;
        }
    }
    if (hb->nvml) { /* memory used and free as of now */
        hb->host.ngpus = lp_nvml_read(hb->nvml, hb->host.gpus, LP_HOST_GPUS_MAX);
        if (lp_host_gpus_json(&hb->host, hb->gpus_json, sizeof(hb->gpus_json)) < 0)
            lp_strlcpy(hb->gpus_json, "[]", sizeof(hb->gpus_json));
    }
    memset(&w, 0, sizeof(w));
    w.id = hb->id;
    w.host = hb->host.host;
    w.pid = (int)getpid();
    w.queues_json = hb->queues_json;
    w.cpus = hb->host.cpus;
    w.memory_bytes = hb->host.memory_bytes;
    w.gpus_json = hb->gpus_json;
    w.version = LOUPE_VERSION;
    w.started_at_ms = hb->started_ms;
    w.current_job_id = hb->runner && lp_job_runner_current(hb->runner, current) == 0 ? current : NULL;
    if (lp_db_worker_heartbeat(*db, &w, &err) != 0) {
        LP_WARN("worker", "heartbeat: %s", err.message);
        return -1;
    }
    return 0;
}

static void *heartbeat_main(void *arg)
{
    lp_heartbeat *hb = arg;
    lp_db *db = NULL;
    lp_error err;

    lp_log_set_context(hb->id);
    pthread_mutex_lock(&hb->mu);
    while (!hb->stop) {
        struct timespec until;
        pthread_mutex_unlock(&hb->mu);
        beat(hb, &db);
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)(hb->cfg->worker_heartbeat / 1000);
        until.tv_nsec += (long)(hb->cfg->worker_heartbeat % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&hb->mu);
        while (!hb->stop && pthread_cond_timedwait(&hb->cond, &hb->mu, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&hb->mu);
    lp_error_clear(&err);
    if (db && lp_db_ok(db) && lp_db_worker_delete(db, hb->id, &err) != 0)
        LP_WARN("worker", "cannot remove the worker's row: %s", err.message);
    lp_db_close(db);
    return NULL;
}

lp_heartbeat *lp_heartbeat_start(const lp_config *cfg, const char *const *queues, size_t nqueues,
                                 lp_job_runner *runner, char *worker_id_out, lp_error *err)
{
    lp_heartbeat *hb = calloc(1, sizeof(*hb));
    json_t *q = json_array();
    pthread_condattr_t ca;
    int rc;

    if (!hb || !q)
        goto nomem;
    for (size_t i = 0; i < nqueues; i++) {
        if (json_array_append_new(q, json_string(queues[i])) != 0)
            goto nomem;
    }
    hb->queues_json = json_dumps(q, JSON_COMPACT);
    if (!hb->queues_json)
        goto nomem;
    json_decref(q);
    q = NULL;
    hb->cfg = cfg;
    hb->runner = runner;
    hb->started_ms = lp_now_wall_ms();
    lp_host_info_read(&hb->host, cfg->nvml_library);
    if (hb->host.ngpus > 0)
        hb->nvml = lp_nvml_open(cfg->nvml_library);
    if (lp_host_gpus_json(&hb->host, hb->gpus_json, sizeof(hb->gpus_json)) < 0)
        lp_strlcpy(hb->gpus_json, "[]", sizeof(hb->gpus_json));
    /* a host name is at most 64 bytes (HOST_NAME_MAX); the id fits 128 */
    snprintf(hb->id, sizeof(hb->id), "%.64s:%d:%lld", hb->host.host, (int)getpid(), (long long)(hb->started_ms / 1000));
    if (worker_id_out)
        lp_strlcpy(worker_id_out, hb->id, 128);
    pthread_mutex_init(&hb->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&hb->cond, &ca);
    pthread_condattr_destroy(&ca);
    rc = pthread_create(&hb->thread, NULL, heartbeat_main, hb);
    if (rc != 0) {
        lp_error_set(err, LP_E_INTERNAL, "cannot start the heartbeat thread: %s", strerror(rc));
        pthread_mutex_destroy(&hb->mu);
        pthread_cond_destroy(&hb->cond);
        lp_nvml_close(hb->nvml);
        free(hb->queues_json);
        free(hb);
        return NULL;
    }
    LP_INFO("worker", "worker %s: %d CPUs, %lld bytes of memory, %zu GPU(s)", hb->id, hb->host.cpus,
            (long long)hb->host.memory_bytes, hb->host.ngpus);
    return hb;

nomem:
    json_decref(q);
    if (hb)
        free(hb->queues_json);
    free(hb);
    lp_error_set(err, LP_E_NOMEM, "out of memory starting the heartbeat");
    return NULL;
}

void lp_heartbeat_stop(lp_heartbeat *hb)
{
    if (!hb)
        return;
    pthread_mutex_lock(&hb->mu);
    hb->stop = 1;
    pthread_cond_signal(&hb->cond);
    pthread_mutex_unlock(&hb->mu);
    pthread_join(hb->thread, NULL);
    pthread_mutex_destroy(&hb->mu);
    pthread_cond_destroy(&hb->cond);
    lp_nvml_close(hb->nvml);
    free(hb->queues_json);
    free(hb);
}
