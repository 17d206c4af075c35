/* The workflow router thread. See loupe/app/workflow_router.h for the design.
 *
 * DESIGN (thread): one thread, started by lp_workflow_router_start, owns `l`
 * (its own PostgreSQL connection, LISTENing on loupe_workflow_inbox) and its
 * arena. Other threads only read the atomics and write a byte to the wake
 * pipe (stop). */
#include "loupe/app/workflow_router.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen_loop_int.h"
#include "loupe/core/arena.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/db.h"
#include "loupe/db/workflows_sql.h"
#include "loupe/workflow/engine.h"

#define ROUND_ARENA_MAX (1024u * 1024 * 1024)

struct lp_workflow_router {
    const lp_config *cfg;
    pthread_t thread;
    int wake[2];                 /* [0] read by the router, [1] written by stop */
    atomic_int stop;
    atomic_uint_fast64_t entered;
    atomic_uint_fast64_t failures;
};

/* State private to the router thread. */
typedef struct router_conn {
    lp_listen_conn l;
    lp_arena *arena;
} router_conn;

/* One transaction: take a batch of one workflow's inbox, enter it. Returns
 * 1 when a full batch was taken (more may wait), 0 when the inbox was
 * empty or ran short, -1 on failure (the batch stays queued). */
static int route_round(lp_workflow_router *r, router_conn *c)
{
    lp_error err;
    lp_wf_inbox_row *rows;
    size_t n = 0;
    lp_wf wf;
    int64_t entered = 0;
    int rc = -1;

    lp_error_clear(&err);
    lp_arena_reset(c->arena);
    if (lp_db_begin(c->l.db, &err) != 0 ||
        lp_db_wf_inbox_take(c->l.db, c->arena, r->cfg->workflow_router_batch, &rows, &n, &err) != 0)
        goto cleanup;
    if (n > 0) {
        const char **ids = lp_arena_calloc(c->arena, n, sizeof *ids);
        if (!ids) {
            lp_error_set(&err, LP_E_NOMEM, "out of memory entering %zu items", n);
            goto cleanup;
        }
        for (size_t k = 0; k < n; k++)
            ids[k] = rows[k].item_id;
        /* The batch is of one workflow (lp_db_wf_inbox_take); one deleted
         * meanwhile took its inbox rows with it. */
        if (lp_wf_load(c->l.db, c->arena, r->cfg, rows[0].team_id, rows[0].workflow_id, 1, &wf, &err) != 0 ||
            (entered = lp_wf_enter_items(c->l.db, c->arena, &wf, ids, n, NULL, &err)) < 0)
            goto cleanup;
    }
    if (lp_db_commit(c->l.db, &err) != 0)
        goto cleanup;
    atomic_fetch_add(&r->entered, (uint_fast64_t)entered);
    rc = n == (size_t)r->cfg->workflow_router_batch ? 1 : 0;
cleanup:
    if (rc < 0) {
        LP_WARN("workflow", "routing %zu ready items failed: %s", n, err.message);
        atomic_fetch_add(&r->failures, 1);
    }
    lp_db_rollback(c->l.db);
    return rc;
}

static void *router_main(void *arg)
{
    lp_workflow_router *r = arg;
    router_conn c;

    memset(&c, 0, sizeof c);
    c.l.module = "workflow";
    c.l.channel = LP_DB_WORKFLOW_INBOX_CHANNEL;
    lp_log_set_context("workflow-router");
    c.arena = lp_arena_new(64 * 1024, ROUND_ARENA_MAX);
    if (!c.arena) {
        LP_ERROR("workflow", "out of memory: the workflow router stops");
        return NULL;
    }
    while (!atomic_load(&r->stop)) {
        int64_t wait_ms = r->cfg->workflow_router_poll;

        if (lp_listen_ensure(&c.l, r->cfg)) {
            /* Notifications only wake the router; the rows are read here. */
            lp_listen_drain(&c.l);
            int more = route_round(r, &c);
            if (more > 0)
                continue;
            if (more < 0 && wait_ms > LP_LISTEN_BACKOFF_MAX_MS)
                wait_ms = LP_LISTEN_BACKOFF_MAX_MS;
        } else {
            int64_t due = c.l.retry_at - lp_now_mono_ms();
            if (due < wait_ms)
                wait_ms = due < 10 ? 10 : due;
        }
        lp_listen_wait(&c.l, r->wake[0], wait_ms);
    }
    lp_listen_close(&c.l);
    lp_arena_free(c.arena);
    lp_log_set_context(NULL);
    return NULL;
}

lp_workflow_router *lp_workflow_router_start(const lp_config *cfg, lp_error *err)
{
    lp_workflow_router *r = calloc(1, sizeof *r);
    int rc;

    if (!r) {
        lp_error_set(err, LP_E_NOMEM, "out of memory starting the workflow router");
        return NULL;
    }
    r->cfg = cfg;
    if (pipe(r->wake) != 0) {
        lp_error_set(err, LP_E_INTERNAL, "cannot create the workflow router's wake pipe: %s", strerror(errno));
        free(r);
        return NULL;
    }
    for (int k = 0; k < 2; k++) {
        fcntl(r->wake[k], F_SETFL, O_NONBLOCK);
        fcntl(r->wake[k], F_SETFD, FD_CLOEXEC);
    }
    rc = pthread_create(&r->thread, NULL, router_main, r);
    if (rc != 0) {
        lp_error_set(err, LP_E_INTERNAL, "cannot start the workflow router thread: %s", strerror(rc));
        close(r->wake[0]);
        close(r->wake[1]);
        free(r);
        return NULL;
    }
    return r;
}

void lp_workflow_router_stop(lp_workflow_router *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, 1);
    ssize_t w = write(r->wake[1], "s", 1);
    (void)w; /* a full pipe already means "wake up" */
    pthread_join(r->thread, NULL);
    close(r->wake[0]);
    close(r->wake[1]);
    free(r);
}

int lp_workflow_router_metrics(void *cls, lp_buf *out)
{
    lp_workflow_router *r = cls;
    return lp_buf_printf(out,
                         "# HELP loupe_workflow_router_entered_total Ready items the workflow router entered.\n"
                         "# TYPE loupe_workflow_router_entered_total counter\n"
                         "loupe_workflow_router_entered_total %" PRIu64 "\n"
                         "# HELP loupe_workflow_router_failures_total Workflow router rounds that failed.\n"
                         "# TYPE loupe_workflow_router_failures_total counter\n"
                         "loupe_workflow_router_failures_total %" PRIu64 "\n",
                         r ? (uint64_t)atomic_load(&r->entered) : 0, r ? (uint64_t)atomic_load(&r->failures) : 0);
}
