/* louped start-up and shutdown order.
 *
 * DESIGN (threads): the main thread owns start-up, then waits for SIGTERM or
 * SIGINT with sigtimedwait (those signals are blocked in every thread, so
 * no handler runs at an arbitrary point), feeds the systemd watchdog and
 * expires abandoned uploads.
 * libmicrohttpd's pool threads serve requests (src/http/server.c); one outbox
 * relay thread publishes queued work to RabbitMQ (outbox_relay.c);
 * one credential listener thread keeps the credential cache true to the
 * database (src/identity/credential_listener.c).
 *
 * The HTTP server links no database: the application hands it the pool's
 * acquire/release and the authentication service (lp_services).
 *
 * Start: config → log → migrations → database pools (database.c) → metrics (and
 * the cached gauges the relay refreshes, when /metrics is on) → outbox relay
 * → authentication (credential cache + listener) → HTTP server → READY=1.
 * Stop: STOPPING=1 → stop accepting → let in-flight requests finish
 * (shutdown_grace) → stop HTTP → stop listener → stop relay → close pool. */
#include "app.h"
#include "database.h"

#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loupe/api/admin.h"
#include "loupe/api/models.h"
#include "loupe/api/routes.h"
#include "loupe/api/slot_media.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/db.h"
#include "loupe/db/media_sql.h"
#include "loupe/http/metrics.h"
#include "loupe/http/server.h"
#include "loupe/identity/authenticate.h"
#include "loupe/app/outbox_relay.h"
#include "loupe/app/workflow_router.h"
#include "loupe/storage/storage.h"

typedef struct app_state {
    lp_outbox_relay *relay;
    lp_workflow_router *router;
} app_state;

static int pool_collector(void *cls, lp_buf *out)
{
    lp_db_pool_stats s;
    lp_db_pool_get_stats(cls, &s);
    return lp_buf_printf(out,
                         "# HELP loupe_db_pool_connections Database pool connections by state.\n"
                         "# TYPE loupe_db_pool_connections gauge\n"
                         "loupe_db_pool_connections{state=\"size\"} %d\n"
                         "loupe_db_pool_connections{state=\"open\"} %d\n"
                         "loupe_db_pool_connections{state=\"in_use\"} %d\n"
                         "loupe_db_pool_connections{state=\"waiting\"} %d\n"
                         "# HELP loupe_db_pool_acquisitions_total Connections handed out by the pool.\n"
                         "# TYPE loupe_db_pool_acquisitions_total counter\n"
                         "loupe_db_pool_acquisitions_total %" PRIu64 "\n"
                         "# HELP loupe_db_pool_acquire_timeouts_total Requests that found no free connection in time.\n"
                         "# TYPE loupe_db_pool_acquire_timeouts_total counter\n"
                         "loupe_db_pool_acquire_timeouts_total %" PRIu64 "\n"
                         "# HELP loupe_db_pool_reconnects_total Connections re-established after a failure.\n"
                         "# TYPE loupe_db_pool_reconnects_total counter\n"
                         "loupe_db_pool_reconnects_total %" PRIu64 "\n"
                         "# HELP loupe_db_pool_waits_total Acquisitions that found no free connection and waited.\n"
                         "# TYPE loupe_db_pool_waits_total counter\n"
                         "loupe_db_pool_waits_total %" PRIu64 "\n"
                         "# HELP loupe_db_pool_wait_seconds_total Time spent waiting for a free connection.\n"
                         "# TYPE loupe_db_pool_wait_seconds_total counter\n"
                         "loupe_db_pool_wait_seconds_total %.6f\n",
                         s.size, s.open, s.in_use, s.waiting, s.acquired, s.timeouts, s.reconnects, s.waits,
                         (double)s.wait_us / 1e6);
}

static int readiness(const lp_services *svc, char *why, size_t cap)
{
    lp_error err;
    lp_error_clear(&err);
    lp_db *db = lp_db_acquire(svc->db, &err);
    if (!db) {
        snprintf(why, cap, "database: %s", err.message);
        return -1;
    }
    int rc = lp_db_ping(db, &err);
    lp_db_release(db);
    if (rc < 0) {
        snprintf(why, cap, "database: %s", err.message);
        return -1;
    }
    const app_state *st = svc->app;
    if (st->relay && !lp_outbox_relay_broker_ok(st->relay)) {
        snprintf(why, cap, "message broker unreachable");
        return -1;
    }
    return 0;
}

/* Migrations hold a session advisory lock for their whole run: on a
 * session of their own (db_direct_url under a transaction pooler). */
static int migrate_once(const lp_config *cfg, lp_error *err)
{
    if (lp_app_db_mode(cfg, err) != 0)
        return -1;
    lp_db *db = lp_db_connect(lp_db_session_url(cfg->db_url, cfg->db_direct_url), 0, err);
    if (!db)
        return -1;
    int n = lp_db_migrate(db, err);
    lp_db_close(db);
    return n < 0 ? -1 : 0;
}

int lp_app_migrate(lp_config *cfg)
{
    lp_error err;
    lp_error_clear(&err);
    if (migrate_once(cfg, &err) != 0) {
        LP_ERROR("db", "migration failed: %s %s", err.message, err.detail);
        return 1;
    }
    return 0;
}

int lp_app_bootstrap(lp_config *cfg, const char *team, const char *email, const char *password)
{
    lp_error err;
    lp_error_clear(&err);
    if (migrate_once(cfg, &err) != 0) {
        fprintf(stderr, "louped: %s\n", err.message);
        return 1;
    }
    lp_db *db = lp_db_connect(cfg->db_url, 0, &err);
    if (!db) {
        fprintf(stderr, "louped: %s\n", err.message);
        return 1;
    }
    json_t *out = NULL;
    int rc = lp_admin_bootstrap(db, cfg, team, email, password, &out, &err);
    lp_db_close(db);
    if (rc != 0) {
        fprintf(stderr, "louped: bootstrap failed: %s\n", err.message);
        for (size_t i = 0; i < err.nfields; i++)
            fprintf(stderr, "  %s: %s\n", err.fields[i].field, err.fields[i].message);
        return 1;
    }
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    if (!text)
        return 1;
    printf("%s\n", text);
    free(text);
    return 0;
}

/* The base URL clients use: public_url, else http://<bind>:<port>. New string. */
static char *public_url_of(const lp_config *cfg, unsigned port)
{
    if (cfg->public_url[0]) {
        char *u = strdup(cfg->public_url);
        size_t n = u ? strlen(u) : 0;
        while (n > 0 && u[n - 1] == '/')
            u[--n] = '\0';
        return u;
    }
    int v6 = strchr(cfg->http_bind, ':') != NULL;
    size_t cap = strlen(cfg->http_bind) + 32;
    char *u = malloc(cap);
    if (u)
        snprintf(u, cap, "http://%s%s%s:%u", v6 ? "[" : "", cfg->http_bind, v6 ? "]" : "", port);
    return u;
}

static int open_storage(const lp_config *cfg, unsigned port, char **public_url, lp_storage **out, lp_error *err)
{
    *public_url = public_url_of(cfg, port);
    if (!*public_url)
        return lp_error_set(err, LP_E_NOMEM, "out of memory");
    lp_config with_url = *cfg;
    with_url.public_url = *public_url;
    *out = lp_storage_open(&with_url, err);
    if (!*out) {
        LP_ERROR("app", "cannot open storage: %s%s%s", err->message, err->hint[0] ? "; " : "", err->hint);
        return -1;
    }
    return 0;
}

static void block_signals(sigset_t *set)
{
    /* A shell starting us in the background may have set SIGINT to "ignore",
     * which would discard it before sigtimedwait could see it. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Expires abandoned uploads (upload_abandon_after), at most every
 * upload_abandon_after / 4 and at least once a minute; a batch at a time so
 * the main thread is never busy for long. Safe on several nodes at once. */
static void expire_abandoned_uploads(const lp_config *cfg, lp_db_pool *pool, int64_t *next_ms)
{
    int64_t now = lp_now_mono_ms(), every = cfg->upload_abandon_after / 4, n;
    lp_error err;
    lp_db *db;
    if (now < *next_ms)
        return;
    *next_ms = now + (every < 1000 ? 1000 : every > 60000 ? 60000 : every);
    lp_error_clear(&err);
    if (!(db = lp_db_acquire(pool, &err)))
        return;
    if (lp_db_begin(db, &err) == 0 && (n = lp_db_media_uploads_expire(db, cfg->upload_abandon_after, 500, &err)) >= 0 &&
        lp_db_commit(db, &err) == 0) {
        if (n > 0)
            LP_INFO("media", "expired %lld abandoned upload(s) (upload_abandon_after)", (long long)n);
    } else {
        lp_db_rollback(db);
        LP_WARN("media", "cannot expire abandoned uploads: %s", err.message);
    }
    lp_db_release(db);
}

/* Deletes the live inference images that a louped stopped mid-request left in storage
 * (model_input_max_age), at start and then every model_input_max_age / 4, at least once a
 * minute. Safe on several nodes at once. */
static void sweep_model_inputs(const lp_config *cfg, lp_db_pool *pool, lp_storage *storage, int64_t *next_ms)
{
    int64_t now = lp_now_mono_ms(), every = cfg->model_input_max_age / 4;
    lp_error err;
    lp_db *db;
    int n;
    if (now < *next_ms)
        return;
    *next_ms = now + (every < 1000 ? 1000 : every > 60000 ? 60000 : every);
    lp_error_clear(&err);
    if (!storage || !(db = lp_db_acquire(pool, &err)))
        return;
    if ((n = lp_api_models_sweep_inputs(cfg, db, storage, &err)) < 0)
        LP_WARN("models", "cannot sweep live inference images: %s", err.message);
    else if (n > 0)
        LP_INFO("models", "deleted %d live inference image(s) left behind (model_input_max_age)", n);
    lp_db_release(db);
}

/* Waits for SIGTERM/SIGINT, feeding the watchdog and doing the periodic
 * housekeeping meanwhile. Returns the signal. */
static int wait_for_stop(const sigset_t *set, const lp_config *cfg, lp_db_pool *pool, lp_storage *storage)
{
    int64_t wd = lp_app_watchdog_interval_ms();
    int64_t tick = wd && wd < 1000 ? wd : 1000, next_expiry = 0, next_sweep = 0;
    for (;;) {
        struct timespec ts = {(time_t)(tick / 1000), (long)(tick % 1000) * 1000000L};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig > 0)
            return sig;
        if (wd)
            lp_app_notify("WATCHDOG=1");
        expire_abandoned_uploads(cfg, pool, &next_expiry);
        sweep_model_inputs(cfg, pool, storage, &next_sweep);
    }
}

int lp_app_serve(lp_config *cfg)
{
    sigset_t set;
    block_signals(&set);
    lp_error err;
    lp_error_clear(&err);
    int rc = 1;
    app_state st = {0};
    lp_app_db dbs = {0};
    lp_db_pool *pool = NULL;
    lp_metrics *metrics = NULL;
    lp_ops_metrics *ops = NULL;
    lp_http_server *srv = NULL;
    lp_storage *storage = NULL;
    lp_auth *auth = NULL;
    char *public_url = NULL;

    if (lp_app_db_mode(cfg, &err) != 0) {
        LP_ERROR("app", "%s %s", err.fields[0].field, err.fields[0].message);
        goto cleanup;
    }
    if (cfg->db_migrate_on_start && migrate_once(cfg, &err) != 0) {
        LP_ERROR("app", "cannot apply migrations: %s %s", err.message, err.detail);
        goto cleanup;
    }
    if (lp_app_db_open(cfg, &dbs, &err) != 0) {
        LP_ERROR("app", "%s%s%s%s", err.message, err.nfields ? err.fields[0].field : "", err.nfields ? " " : "",
                 err.nfields ? err.fields[0].message : "");
        goto cleanup;
    }
    pool = dbs.primary;
    size_t nroutes;
    const lp_route *routes = lp_api_routes(&nroutes);
    metrics = lp_metrics_new(routes, nroutes);
    if (!metrics)
        goto cleanup;
    lp_metrics_add_collector(metrics, pool_collector, pool);
    if (cfg->metrics_token && cfg->metrics_token[0]) { /* no /metrics, nothing to read for it */
        if (!(ops = lp_ops_metrics_new(cfg)))
            goto cleanup;
        lp_metrics_add_collector(metrics, lp_ops_metrics_collect, ops);
    }
    st.relay = lp_outbox_relay_start(cfg, ops, &err);
    if (!st.relay) {
        LP_ERROR("app", "cannot start the outbox relay: %s", err.message);
        goto cleanup;
    }
    lp_metrics_add_collector(metrics, lp_outbox_relay_metrics, st.relay);
    st.router = lp_workflow_router_start(cfg, &err);
    if (!st.router) {
        LP_ERROR("app", "cannot start the workflow router: %s", err.message);
        goto cleanup;
    }
    lp_metrics_add_collector(metrics, lp_workflow_router_metrics, st.router);
    auth = lp_auth_new(cfg, &err);
    if (!auth) {
        LP_ERROR("app", "cannot start authentication: %s", err.message);
        goto cleanup;
    }
    lp_metrics_add_collector(metrics, lp_credential_cache_metrics, lp_auth_cache(auth));

    lp_services svc = {.cfg = cfg,
                       .db = pool,
                       .db_acquire = lp_db_acquire,
                       .db_release = lp_db_release,
                       .db_read = dbs.read,
                       .db_read_acquire = lp_db_acquire_optional,
                       .authenticate = lp_auth_authenticate,
                       .auth = auth,
                       .metrics = metrics,
                       .public_url = "",
                       .ready = readiness,
                       .app = &st};
    /* Signed local URLs name this node as clients reach it, so storage opens
     * once the public URL is known: before listening when the port is fixed,
     * else right after (until then storage routes answer 503). */
    if (cfg->http_port != 0 && open_storage(cfg, (unsigned)cfg->http_port, &public_url, &storage, &err) != 0)
        goto cleanup;
    svc.public_url = public_url ? public_url : "";
    svc.storage = storage;
    srv = lp_http_server_start(&svc, routes, nroutes, &err);
    if (!srv) {
        LP_ERROR("app", "%s%s%s", err.message, err.hint[0] ? "; " : "", err.hint);
        goto cleanup;
    }
    if (!storage) {
        if (open_storage(cfg, lp_http_server_port(srv), &public_url, &storage, &err) != 0)
            goto cleanup;
        svc.public_url = public_url;
        svc.storage = storage;
    }
    char extra[512];
    snprintf(extra, sizeof(extra), "\"url\":\"%s\",\"port\":%u", svc.public_url, (unsigned)lp_http_server_port(srv));
    lp_log_fields(LP_LOG_INFO, "app", "listening", extra);
    lp_app_notify("READY=1");

    int sig = wait_for_stop(&set, cfg, pool, storage);
    LP_INFO("app", "received %s; finishing in-flight requests", sig == SIGINT ? "SIGINT" : "SIGTERM");
    lp_app_notify("STOPPING=1");
    lp_http_server_quiesce(srv);
    if (lp_http_server_wait_idle(srv, cfg->shutdown_grace) != 0)
        LP_WARN("app", "%ld request(s) still running after shutdown_grace; closing them",
                lp_http_server_in_flight(srv));
    rc = 0;

cleanup:
    lp_http_server_stop(srv);
    lp_api_slot_media_free(); /* the media cache's directory removed */
    lp_storage_free(storage);
    lp_auth_free(auth);
    lp_workflow_router_stop(st.router);
    lp_outbox_relay_stop(st.relay);
    lp_ops_metrics_free(ops);
    lp_metrics_free(metrics);
    lp_app_db_close(&dbs);
    free(public_url);
    if (rc == 0)
        LP_INFO("app", "stopped");
    return rc;
}
