/* The workflow engine: tasks entering a workflow and moving along its graph.
 * See loupe/workflow/engine.h.
 *
 * Every operation has the same shape, whatever the number of tasks: read
 * what routing needs of the items (one statement), route them all in memory
 * (lp_wf_route_batch), then write the tasks, their history rows and their
 * events (one statement each). */
#include "loupe/workflow/engine.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

#include "loupe/core/util.h"
#include "loupe/db/model_runs_sql.h"
#include "loupe/db/workflows_sql.h"
#include "loupe/formats/json_text.h"
#include "loupe/workflow/graph_cache.h"
#include "loupe/workflow/route.h"

/* Most bytes of one event's data. */
#define EVENT_DATA_MAX (64u * 1024)

static void json_release(void *doc)
{
    json_decref(doc);
}

/* The graph of the version head names: the cached one, else read from the
 * row (which the head's statement has locked when it had to) and kept. */
static int load_graph(lp_db *db, lp_arena *a, const lp_config *cfg, const lp_workflow_head *head, lp_wf *out,
                      lp_error *err)
{
    lp_workflow_row row;
    lp_wf_limits lim;
    int hit = lp_wf_graph_cache_get(head->id, head->version, a, &out->graph, err);

    memcpy(out->id, head->id, sizeof out->id);
    memcpy(out->team_id, head->team_id, sizeof out->team_id);
    out->cfg = cfg;
    out->version = head->version;
    out->seed = head->seed;
    if (hit != 0)
        return hit < 0 ? -1 : 0;
    if (lp_db_workflow_get(db, a, head->team_id, head->id, LP_DB_LOCK_NONE, &row, err) != 0)
        return -1;
    lp_wf_limits_from_config(cfg, &lim);
    if (lp_wf_graph_cache_read(row.id, row.version, row.definition, &lim, (size_t)cfg->workflow_graph_cache, a,
                               &out->graph, err) != 0) {
        /* A stored version was valid when saved; limits lowered since then
         * must not strand its tasks, so this is the server's problem. */
        if (err->code == LP_E_INVALID)
            lp_error_set(err, LP_E_INTERNAL, "workflow %s version %d no longer validates", row.id, row.version);
        return -1;
    }
    /* without a lock, a new version may have come between the statements */
    out->version = row.version;
    out->seed = row.seed;
    return 0;
}

int lp_wf_load(lp_db *db, lp_arena *a, const lp_config *cfg, const char *team_id, const char *workflow_id, int lock,
               lp_wf *out, lp_error *err)
{
    lp_workflow_head head;
    memset(out, 0, sizeof *out);
    if (lp_db_workflow_head(db, team_id, workflow_id, lock ? LP_DB_LOCK_SHARE : LP_DB_LOCK_NONE, &head, err) != 0)
        return -1;
    return load_graph(db, a, cfg, &head, out, err);
}

int lp_wf_load_head(lp_db *db, lp_arena *a, const lp_config *cfg, const lp_workflow_head *head, lp_wf *out,
                    lp_error *err)
{
    memset(out, 0, sizeof *out);
    return load_graph(db, a, cfg, head, out, err);
}

/* ---- Model stages ----------------------------------------------------------- */

static lp_wf_model_starter model_starter;

void lp_wf_set_model_starter(lp_wf_model_starter fn)
{
    model_starter = fn;
}

/* Starts the runs of the tasks just placed on model stages: task k rests
 * on stage ends[k]; one call per model stage for all of its tasks. */
static int start_models(lp_db *db, lp_arena *a, const lp_wf *wf, const char *const *task_ids, const size_t *ends,
                        size_t n, const char *actor_id, lp_error *err)
{
    const lp_wf_graph *g = &wf->graph;
    const char **ids = NULL;
    for (size_t s = 0; s < g->nstages; s++) {
        size_t m = 0;
        for (size_t k = 0; g->stages[s].type == LP_WF_MODEL && k < n; k++) {
            if (ends[k] != s)
                continue;
            if (!ids && !(ids = lp_arena_calloc(a, n, sizeof *ids)))
                return lp_error_set(err, LP_E_NOMEM, "out of memory starting model runs");
            ids[m++] = task_ids[k];
        }
        if (m == 0)
            continue;
        if (!model_starter)
            return lp_error_set(err, LP_E_INTERNAL, "tasks reached model stage \"%s\" in a process that starts no "
                                "model runs", g->stages[s].id);
        if (model_starter(db, a, wf, &g->stages[s], ids, m, actor_id, err) != 0)
            return -1;
    }
    return 0;
}

/* ---- Facts ------------------------------------------------------------------ */

/* The model scores the graph's top sampling stages rank by (docs/WORKFLOWS.md "sampling"): per
 * such stage, one statement reads the latest finished score of each of the n items. */
static int model_scores(lp_db *db, lp_arena *a, const lp_wf *wf, lp_wf_facts *facts, size_t n, lp_error *err)
{
    const lp_wf_graph *g = &wf->graph;
    const char **ids = NULL;
    double *scores = NULL, *all = NULL;
    for (size_t s = 0; s < g->nstages; s++) {
        const lp_wf_stage *st = &g->stages[s];
        if (st->type != LP_WF_SAMPLING || st->sampling != LP_WF_SAMPLE_TOP || st->score == LP_WF_SCORE_PRIORITY ||
            !st->model_id || n == 0)
            continue;
        if (!all) {
            ids = lp_arena_calloc(a, n, sizeof *ids);
            scores = lp_arena_calloc(a, n, sizeof *scores);
            all = lp_arena_calloc(a, n * g->nstages, sizeof *all);
            if (!ids || !scores || !all)
                return lp_error_set(err, LP_E_NOMEM, "out of memory reading model scores of %zu items", n);
            for (size_t k = 0; k < n; k++) {
                ids[k] = facts[k].item_id;
                for (size_t t = 0; t < g->nstages; t++)
                    all[k * g->nstages + t] = NAN;
                facts[k].stage_scores = all + k * g->nstages;
            }
        }
        if (lp_db_model_scores_latest(db, wf->team_id, st->model_id, (lp_db_rank_by)(st->score - 1), ids, n, scores,
                                      err) != 0)
            return -1;
        for (size_t k = 0; k < n; k++)
            all[k * g->nstages + s] = scores[k];
    }
    return 0;
}

/* The optional facts the graph's logic rules read. */
static unsigned facts_wanted(const lp_wf_graph *g)
{
    unsigned want = 0;
    for (size_t s = 0; s < g->nstages; s++) {
        const lp_wf_stage *st = &g->stages[s];
        for (size_t r = 0; st->type == LP_WF_LOGIC && r < st->nrules; r++)
            for (size_t c = 0; c < st->rules[r].nconds; c++)
                switch (st->rules[r].conds[c].kind) {
                case LP_WF_COND_CLASS_PRESENT:
                case LP_WF_COND_CLASS_ABSENT:
                    want |= LP_DB_WF_CLASSES;
                    break;
                case LP_WF_COND_PROPERTY:
                    want |= LP_DB_WF_PROPS;
                    break;
                case LP_WF_COND_METADATA:
                    want |= LP_DB_WF_METADATA;
                    break;
                case LP_WF_COND_SLOT_TYPE:
                    want |= LP_DB_WF_SLOT_TYPES;
                    break;
                default:
                    break;
                }
    }
    return want;
}

/* Routing's view of the rows read (metadata parsed, tied to the arena). */
static lp_wf_facts *facts_of(lp_arena *a, const lp_wf_item_row *rows, size_t n, lp_error *err)
{
    lp_wf_facts *f = lp_arena_calloc(a, n + 1, sizeof *f);
    if (!f) {
        lp_error_set(err, LP_E_NOMEM, "out of memory routing %zu tasks", n);
        return NULL;
    }
    for (size_t k = 0; k < n; k++) {
        const lp_wf_item_row *r = &rows[k];
        lp_wf_prop *props = lp_arena_calloc(a, r->nprops + 1, sizeof *props);
        if (!props) {
            lp_error_set(err, LP_E_NOMEM, "out of memory routing %zu tasks", n);
            return NULL;
        }
        for (size_t p = 0; p < r->nprops; p++) {
            props[p].name = r->prop_names[p];
            props[p].value = r->prop_values[p];
        }
        f[k] = (lp_wf_facts){.item_id = r->item_id,
                             .name = r->name,
                             .path = r->path,
                             .priority = r->priority,
                             .annotation_count = r->annotation_count,
                             .class_ids = r->class_ids,
                             .nclass_ids = r->nclass_ids,
                             .props = props,
                             .nprops = r->nprops,
                             .slot_types = r->slot_types,
                             .nslot_types = r->nslot_types};
        if (r->metadata) {
            json_t *md = json_loads(r->metadata, 0, NULL);
            if (md && lp_arena_defer(a, json_release, md) != 0) {
                json_decref(md);
                md = NULL;
            }
            f[k].metadata = md;
        }
    }
    return f;
}

/* ---- What a batch writes --------------------------------------------------------- */

typedef struct batch {
    lp_arena *a;
    const lp_wf *wf;
    lp_wf_history_row *hist;
    size_t nhist, caphist;
    lp_wf_event_row *ev;
    size_t nev, capev;
    lp_buf data;          /* scratch for one event's data */
    int failed;
} batch;

static void batch_init(batch *b, lp_arena *a, const lp_wf *wf)
{
    memset(b, 0, sizeof *b);
    b->a = a;
    b->wf = wf;
    lp_buf_init(&b->data, EVENT_DATA_MAX);
}

static void *grow(lp_arena *a, void *v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return v;
    size_t cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *w = lp_arena_calloc(a, cap2, elem);
    if (w && v)
        memcpy(w, v, *cap * elem);
    if (w)
        *cap = cap2;
    return w;
}

static lp_wf_history_row *hist_add(batch *b)
{
    lp_wf_history_row *h = grow(b->a, b->hist, &b->caphist, b->nhist + 1, sizeof *h);
    if (!h) {
        b->failed = 1;
        return NULL;
    }
    b->hist = h;
    h = &b->hist[b->nhist++];
    memset(h, 0, sizeof *h);
    return h;
}

static const lp_wf_stage *stage(const batch *b, size_t k)
{
    return &b->wf->graph.stages[k];
}

/* Event data is built as text: "{" then members "k":v separated by commas. */
static void data_begin(batch *b)
{
    lp_buf_reset(&b->data);
    if (lp_buf_puts(&b->data, "{") != 0)
        b->failed = 1;
}

static void data_str(batch *b, const char *key, const char *value)
{
    int rc = lp_buf_puts(&b->data, b->data.len > 1 ? ",\"" : "\"");
    rc |= lp_buf_puts(&b->data, key);
    rc |= lp_buf_puts(&b->data, "\":");
    rc |= value ? lp_json_write_string(&b->data, value, strlen(value)) : lp_buf_puts(&b->data, "null");
    if (rc != 0)
        b->failed = 1;
}

static void data_raw(batch *b, const char *key, const char *json)
{
    if (lp_buf_printf(&b->data, "%s\"%s\":%s", b->data.len > 1 ? "," : "", key, json) != 0)
        b->failed = 1;
}

static void event_add(batch *b, const char *type, const char *item_id, const char *task_id)
{
    lp_wf_event_row *e = grow(b->a, b->ev, &b->capev, b->nev + 1, sizeof *e);
    char *data = NULL;
    if (e && lp_buf_puts(&b->data, "}") == 0)
        data = lp_arena_strndup(b->a, b->data.data, b->data.len);
    if (!e || !data) {
        b->failed = 1;
        return;
    }
    b->ev = e;
    b->ev[b->nev++] = (lp_wf_event_row){.type = type, .item_id = item_id, .task_id = task_id, .data = data};
}

static void webhook_event(batch *b, const char *task_id, const char *item_id, size_t k)
{
    const lp_wf_stage *st = stage(b, k);
    if (st->type != LP_WF_WEBHOOK)
        return;
    data_begin(b);
    data_str(b, "stage", st->id);
    data_raw(b, "wait", st->wait ? "true" : "false");
    event_add(b, "task.webhook", item_id, task_id);
}

/* The JSON array of route's hops from hop `first` on (arena), or NULL when
 * there are none or on failure (b->failed). */
static const char *route_json(batch *b, const lp_wf_route *route, size_t first)
{
    static const char *const keys[] = {"{\"from_stage\":", ",\"from_state\":", ",\"port\":", ",\"to_stage\":",
                                       ",\"to_state\":"};
    int rc = 0;
    if (first >= route->nhops)
        return NULL;
    lp_buf_reset(&b->data);
    rc |= lp_buf_puts(&b->data, "[");
    for (size_t h = first; h < route->nhops; h++) {
        const lp_wf_hop *hop = &route->hops[h];
        const char *v[5] = {stage(b, hop->from)->id, stage(b, hop->from)->states[0],
                            stage(b, hop->from)->ports[hop->port], stage(b, hop->to)->id, stage(b, hop->to)->states[0]};
        rc |= h > first ? lp_buf_puts(&b->data, ",") : 0;
        for (size_t i = 0; i < 5; i++)
            rc |= lp_buf_puts(&b->data, keys[i]) | lp_json_write_string(&b->data, v[i], strlen(v[i]));
        rc |= lp_buf_puts(&b->data, "}");
    }
    rc |= lp_buf_puts(&b->data, "]");
    const char *text = rc == 0 ? lp_arena_strndup(b->a, b->data.data, b->data.len) : NULL;
    if (!text)
        b->failed = 1;
    return text;
}

/* The events of a task that arrived at stage `arrive`, then was carried
 * along the hops of route from hop `first` on (the hops themselves are its
 * history row's route, route_json): a task.webhook event per webhook stage
 * reached, and task.completed when the route ends on complete or discard. */
static void route_events(batch *b, const char *task_id, const char *item_id, const lp_wf_route *route,
                         size_t arrive, size_t first)
{
    webhook_event(b, task_id, item_id, arrive);
    for (size_t h = first; h < route->nhops; h++)
        webhook_event(b, task_id, item_id, route->hops[h].to);
    const lp_wf_stage *end = stage(b, route->stage);
    if (end->type == LP_WF_COMPLETE || end->type == LP_WF_DISCARD) {
        data_begin(b);
        data_str(b, "stage", end->id);
        data_str(b, "outcome", end->type == LP_WF_COMPLETE ? "complete" : "discard");
        event_add(b, "task.completed", item_id, task_id);
    }
}

/* Writes the batch's history rows and events, with the tasks placed as
 * place says (NULL: none), in one statement; frees the batch. placed, when
 * not NULL, receives the first task placed. 0 or -1. */
static int batch_write(lp_db *db, batch *b, const lp_wf_writes *place, lp_task_row *placed, lp_error *err)
{
    char(*ids)[LP_DB_UUID_LEN] = b->nev ? lp_arena_calloc(b->a, b->nev, sizeof *ids) : NULL;
    lp_wf_writes w = place ? *place : (lp_wf_writes){0};
    int rc = -1;
    /* the events' ids made here rather than row by row in the database */
    if (b->nev && (!ids || lp_uuid_v7(ids, b->nev) != 0))
        b->failed = 1;
    for (size_t k = 0; !b->failed && k < b->nev; k++)
        b->ev[k].id = ids[k];
    w.hist = b->hist;
    w.nhist = b->nhist;
    w.ev = b->ev;
    w.nev = b->nev;
    if (b->failed)
        lp_error_set(err, LP_E_NOMEM, "out of memory writing workflow history");
    else if (lp_db_wf_write(db, b->a, b->wf->team_id, b->wf->id, &w, placed, err) == 0)
        rc = 0;
    lp_buf_free(&b->data);
    return rc;
}

/* ---- Entering ---------------------------------------------------------------------- */

/* 1 when routes a and b take the same hops. */
static int same_route(const lp_wf_route *a, const lp_wf_route *b)
{
    if (a->stage != b->stage || a->nhops != b->nhops)
        return 0;
    for (size_t h = 0; h < a->nhops; h++)
        if (a->hops[h].from != b->hops[h].from || a->hops[h].port != b->hops[h].port || a->hops[h].to != b->hops[h].to)
            return 0;
    return 1;
}

/* What the tasks taking route r from the entry stage record (the entry
 * statement writes it for each of them). Events are gathered in b from
 * b->nev on, then taken out as JSON. */
static void entry_route(batch *b, const lp_wf_route *r, lp_wf_entry_route *out)
{
    const lp_wf_graph *g = &b->wf->graph;
    const lp_wf_stage *end = &g->stages[r->stage];
    lp_buf *d = &b->data;
    int rc = 0;

    out->stage = end->id;
    out->state = end->states[0];
    out->route = route_json(b, r, 0);
    data_begin(b);
    data_str(b, "stage", end->id);
    data_str(b, "state", end->states[0]);
    rc |= lp_buf_puts(d, ",\"route\":[");
    for (size_t h = 0; h < r->nhops; h++) {
        const char *id = g->stages[r->hops[h].from].id;
        rc |= (h ? lp_buf_puts(d, ",") : 0) | lp_json_write_string(d, id, strlen(id));
    }
    rc |= (r->nhops ? lp_buf_puts(d, ",") : 0) | lp_json_write_string(d, end->id, strlen(end->id));
    rc |= lp_buf_puts(d, "]}");
    if (rc != 0 || !(out->created = lp_arena_strndup(b->a, d->data, d->len)))
        b->failed = 1;
    size_t first = b->nev;
    route_events(b, NULL, NULL, r, g->entry, 0);
    out->events = NULL;
    if (b->nev == first || b->failed)
        return;
    lp_buf_reset(d);
    rc = lp_buf_puts(d, "[");
    for (size_t k = first; k < b->nev; k++)
        rc |= lp_buf_printf(d, "%s{\"type\":\"%s\",\"data\":%s}", k > first ? "," : "", b->ev[k].type, b->ev[k].data);
    rc |= lp_buf_puts(d, "]");
    if (rc != 0 || !(out->events = lp_arena_strndup(b->a, d->data, d->len)))
        b->failed = 1;
}

static int64_t enter_rows(lp_db *db, lp_arena *a, const lp_wf *wf, const lp_wf_item_row *rows, size_t n,
                          const char *actor_id, lp_error *err)
{
    const lp_wf_graph *g = &wf->graph;
    const lp_wf_stage *entry = &g->stages[g->entry];
    size_t nroutes = 0;
    batch b;

    if (n == 0)
        return 0;
    size_t *from = lp_arena_calloc(a, n, sizeof *from);
    size_t *port = lp_arena_calloc(a, n, sizeof *port);
    lp_wf_route *routes = lp_arena_calloc(a, n, sizeof *routes);
    const char **item_ids = lp_arena_calloc(a, n, sizeof *item_ids);
    const char **route_nos = lp_arena_calloc(a, n, sizeof *route_nos);
    const char **task_ids = lp_arena_calloc(a, n, sizeof *task_ids);
    const char **event_ids = lp_arena_calloc(a, n, sizeof *event_ids);
    char(*ids)[LP_DB_UUID_LEN] = lp_arena_calloc(a, 2 * n, sizeof *ids);
    size_t *distinct = lp_arena_calloc(a, n, sizeof *distinct); /* task index of each distinct route */
    lp_wf_entry_route *er = lp_arena_calloc(a, n, sizeof *er);
    lp_wf_facts *facts = facts_of(a, rows, n, err);
    if (!facts || model_scores(db, a, wf, facts, n, err) != 0)
        return -1;
    if (!from || !port || !routes || !item_ids || !route_nos || !task_ids || !event_ids || !ids || !distinct ||
        !er || lp_uuid_v7(ids, 2 * n) != 0)
        return lp_error_set(err, LP_E_NOMEM, "out of memory entering %zu items", n);
    for (size_t k = 0; k < n; k++)
        from[k] = g->entry; /* port 0: the dataset stage's one port, next */
    if (lp_wf_route_batch(g, wf->seed, from, port, facts, n, a, routes, err) != 0)
        return -1;
    /* The tasks take few distinct routes: each is sent once, with its
     * history hops and events, and the tasks name theirs. */
    batch_init(&b, a, wf);
    for (size_t k = 0; k < n && !b.failed; k++) {
        size_t d = 0;
        while (d < nroutes && !same_route(&routes[distinct[d]], &routes[k]))
            d++;
        if (d == nroutes) {
            distinct[nroutes++] = k;
            entry_route(&b, &routes[k], &er[d]);
        }
        item_ids[k] = rows[k].item_id;
        task_ids[k] = ids[k];
        event_ids[k] = ids[n + k];
        route_nos[k] = lp_arena_printf(a, "%zu", d + 1);
        if (!route_nos[k])
            b.failed = 1;
    }
    lp_buf_free(&b.data);
    if (b.failed)
        return lp_error_set(err, LP_E_NOMEM, "out of memory entering %zu items", n);
    int64_t entered = lp_db_wf_tasks_enter(db, wf->team_id, wf->id, actor_id, entry->id, entry->states[0], task_ids,
                                           item_ids, route_nos, event_ids, n, er, nroutes, err);
    if (entered <= 0)
        return entered;
    size_t *ends = lp_arena_calloc(a, n, sizeof *ends);
    if (!ends)
        return lp_error_set(err, LP_E_NOMEM, "out of memory entering %zu items", n);
    for (size_t k = 0; k < n; k++)
        ends[k] = routes[k].stage;
    return start_models(db, a, wf, task_ids, ends, n, actor_id, err) == 0 ? entered : -1;
}

int64_t lp_wf_enter_filter(lp_db *db, lp_arena *a, const lp_wf *wf, const lp_item_filter *f, int64_t limit,
                           const char *actor_id, size_t *selected, lp_error *err)
{
    lp_wf_item_row *rows;
    size_t n;
    if (lp_db_wf_items_by_filter(db, a, f, wf->id, facts_wanted(&wf->graph), limit, &rows, &n, err) != 0)
        return -1;
    if (selected)
        *selected = n;
    return enter_rows(db, a, wf, rows, n, actor_id, err);
}

int64_t lp_wf_enter_items(lp_db *db, lp_arena *a, const lp_wf *wf, const char *const *item_ids, size_t n,
                          const char *actor_id, lp_error *err)
{
    lp_wf_item_row *rows;
    size_t nrows;
    if (n == 0)
        return 0;
    if (lp_db_wf_items_by_ids(db, a, wf->team_id, wf->id, item_ids, n, facts_wanted(&wf->graph), &rows, &nrows,
                              err) != 0)
        return -1;
    return enter_rows(db, a, wf, rows, nrows, actor_id, err);
}

/* ---- Moving ---------------------------------------------------------------------- */

/* One task leaving the stage it is on (by id, which may be gone from the
 * graph): its own step takes it to stage `arrive`, then the workflow
 * carries it along route's hops from `first_hop` on (the hops before it are
 * the own step, or were never taken: a relocated task joins a route at the
 * stage it was sent to). */
typedef struct leg {
    const char *task_id;
    const char *from_stage;
    const char *subject_id;
    const char *port;               /* the port it left by, or NULL */
    lp_wf_route route;
    size_t arrive;
    size_t first_hop;
} leg;

/* Writes legs: the tasks placed where their routes end, one history row for
 * the task's own step (action by actor, with comment) whose route holds the
 * hops the workflow made, a task.stage_changed event each and the arrival
 * events. */
static int write_legs(lp_db *db, lp_arena *a, const lp_wf *wf, const char *action, const char *actor_id,
                      const char *comment, const leg *legs, const lp_wf_item_row *rows, size_t n,
                      lp_task_row *placed, lp_error *err)
{
    const lp_wf_graph *g = &wf->graph;
    const char **ids = lp_arena_calloc(a, n + 1, sizeof *ids);
    const char **stages = lp_arena_calloc(a, n + 1, sizeof *stages);
    const char **states = lp_arena_calloc(a, n + 1, sizeof *states);
    batch b;

    if (!ids || !stages || !states)
        return lp_error_set(err, LP_E_NOMEM, "out of memory moving %zu tasks", n);
    batch_init(&b, a, wf);
    for (size_t k = 0; k < n && !b.failed; k++) {
        const leg *l = &legs[k];
        const lp_wf_route *r = &l->route;
        const lp_wf_stage *end = &g->stages[r->stage];
        ids[k] = l->task_id;
        stages[k] = end->id;
        states[k] = end->states[0];
        size_t arrive = l->arrive;
        lp_wf_history_row *row = hist_add(&b);
        if (!row)
            break;
        *row = (lp_wf_history_row){.task_id = l->task_id,
                                   .action = action,
                                   .actor_id = actor_id,
                                   .subject_id = l->subject_id,
                                   .from_stage = l->from_stage,
                                   .from_state = rows[k].state,
                                   .to_stage = g->stages[arrive].id,
                                   .to_state = g->stages[arrive].states[0],
                                   .port = l->port,
                                   .comment = comment,
                                   .stage_entered_at = rows[k].task_entered_at[0] ? rows[k].task_entered_at : NULL};
        data_begin(&b);
        data_str(&b, "from_stage", l->from_stage);
        data_str(&b, "to_stage", end->id);
        data_str(&b, "port", l->port);
        data_str(&b, "actor_id", actor_id);
        event_add(&b, "task.stage_changed", rows[k].item_id, l->task_id);
        b.hist[b.nhist - 1].route = route_json(&b, r, l->first_hop);
        route_events(&b, l->task_id, rows[k].item_id, r, arrive, l->first_hop);
    }
    lp_wf_writes place = {.task_ids = ids, .stages = stages, .states = states, .nplace = n};
    size_t *ends = lp_arena_calloc(a, n + 1, sizeof *ends);
    if (!ends)
        b.failed = 1;
    for (size_t k = 0; ends && k < n; k++)
        ends[k] = legs[k].route.stage;
    if (batch_write(db, &b, &place, placed, err) != 0)
        return -1;
    return start_models(db, a, wf, ids, ends, n, actor_id, err);
}

/* Reads the tasks' items (unless moves, when not NULL, say all routing
 * needs: each task's item and state, and a port that leads to a stage
 * where tasks rest, so that no fact of the item is read) and routes: task k
 * leaves from[k] through port[k]. */
static int route_tasks(lp_db *db, lp_arena *a, const lp_wf *wf, const char *const *task_ids, const size_t *from,
                       const size_t *port, const lp_wf_move *moves, size_t n, lp_wf_item_row **rows_out,
                       lp_wf_route **routes_out, lp_error *err)
{
    const lp_wf_graph *g = &wf->graph;
    lp_wf_item_row *rows = lp_arena_calloc(a, n + 1, sizeof *rows);
    lp_wf_route *routes = lp_arena_calloc(a, n + 1, sizeof *routes);
    int known = moves != NULL;
    if (!rows || !routes)
        return lp_error_set(err, LP_E_NOMEM, "out of memory routing %zu tasks", n);
    for (size_t k = 0; known && k < n; k++)
        known = moves[k].item_id && moves[k].state && moves[k].stage_entered_at &&
                lp_wf_stage_rests(&g->stages[g->stages[from[k]].next[port[k]]]);
    for (size_t k = 0; known && k < n; k++) {
        lp_strlcpy(rows[k].item_id, moves[k].item_id, sizeof rows[k].item_id);
        lp_strlcpy(rows[k].task_id, task_ids[k], sizeof rows[k].task_id);
        lp_strlcpy(rows[k].task_entered_at, moves[k].stage_entered_at, sizeof rows[k].task_entered_at);
        rows[k].state = (char *)moves[k].state;
        rows[k].name = rows[k].path = (char *)"";
    }
    if (!known && lp_db_wf_items_by_tasks(db, a, wf->id, task_ids, n, facts_wanted(g), rows, err) != 0)
        return -1;
    lp_wf_facts *facts = facts_of(a, rows, n, err);
    if (!facts || (!known && model_scores(db, a, wf, facts, n, err) != 0) || lp_wf_route_batch(&wf->graph, wf->seed, from, port, facts, n, a, routes, err) != 0)
        return -1;
    *rows_out = rows;
    *routes_out = routes;
    return 0;
}

int lp_wf_advance(lp_db *db, lp_arena *a, const lp_wf *wf, const char *action, const char *actor_id,
                  const char *comment, const lp_wf_move *moves, size_t n, lp_task_row *placed, lp_error *err)
{
    const lp_wf_graph *g = &wf->graph;
    if (n == 0)
        return 0;
    const char **task_ids = lp_arena_calloc(a, n, sizeof *task_ids);
    size_t *from = lp_arena_calloc(a, n, sizeof *from);
    size_t *port = lp_arena_calloc(a, n, sizeof *port);
    leg *legs = lp_arena_calloc(a, n, sizeof *legs);
    lp_wf_item_row *rows;
    lp_wf_route *routes;
    if (!task_ids || !from || !port || !legs)
        return lp_error_set(err, LP_E_NOMEM, "out of memory moving %zu tasks", n);
    for (size_t k = 0; k < n; k++) {
        if (moves[k].from >= g->nstages || moves[k].port >= g->stages[moves[k].from].nports)
            return lp_error_set(err, LP_E_INTERNAL, "task %s: no port %zu on stage %zu", moves[k].task_id,
                                moves[k].port, moves[k].from);
        task_ids[k] = moves[k].task_id;
        from[k] = moves[k].from;
        port[k] = moves[k].port;
    }
    if (route_tasks(db, a, wf, task_ids, from, port, moves, n, &rows, &routes, err) != 0)
        return -1;
    for (size_t k = 0; k < n; k++)
        legs[k] = (leg){.task_id = moves[k].task_id,
                        .from_stage = g->stages[from[k]].id,
                        .subject_id = moves[k].subject_id,
                        .port = g->stages[from[k]].ports[port[k]],
                        .route = routes[k],
                        .arrive = routes[k].nhops ? routes[k].hops[0].to : routes[k].stage,
                        .first_hop = 1};
    return write_legs(db, a, wf, action, actor_id, comment, legs, rows, n, placed, err);
}

/* ---- A new version ------------------------------------------------------------------ */

/* Tasks on stages that kept their id but lost their state go to the
 * stage's first state ("move" history rows, task.state_changed events). */
static int reset_states(lp_db *db, lp_arena *a, const lp_wf *wf, const char *actor_id, lp_error *err)
{
    const lp_wf_graph *g = &wf->graph;
    const char **ids = lp_arena_calloc(a, g->nstages + 1, sizeof *ids);
    const char **first = lp_arena_calloc(a, g->nstages + 1, sizeof *first);
    const char **lists = lp_arena_calloc(a, g->nstages + 1, sizeof *lists);
    lp_wf_task_ref *t;
    size_t nt;
    batch b;

    if (!ids || !first || !lists)
        return lp_error_set(err, LP_E_NOMEM, "out of memory applying a workflow version");
    batch_init(&b, a, wf);
    for (size_t s = 0; s < g->nstages; s++) {
        ids[s] = g->stages[s].id;
        first[s] = g->stages[s].states[0];
        lp_buf_reset(&b.data);
        int rc = lp_buf_puts(&b.data, "[");
        for (size_t k = 0; k < g->stages[s].nstates; k++) {
            const char *st = g->stages[s].states[k];
            rc |= (k ? lp_buf_puts(&b.data, ",") : 0) | lp_json_write_string(&b.data, st, strlen(st));
        }
        rc |= lp_buf_puts(&b.data, "]");
        lists[s] = rc == 0 ? lp_arena_strndup(a, b.data.data, b.data.len) : NULL;
        if (!lists[s])
            b.failed = 1;
    }
    if (b.failed || lp_db_wf_tasks_reset_states(db, a, wf->id, ids, first, lists, g->nstages, &t, &nt, err) != 0) {
        lp_buf_free(&b.data);
        return b.failed ? lp_error_set(err, LP_E_NOMEM, "out of memory applying a workflow version") : -1;
    }
    for (size_t k = 0; k < nt && !b.failed; k++) {
        lp_wf_history_row *row = hist_add(&b);
        if (!row)
            break;
        *row = (lp_wf_history_row){.task_id = t[k].task_id,
                                   .action = "move",
                                   .actor_id = actor_id,
                                   .from_stage = t[k].stage,
                                   .from_state = t[k].state,
                                   .to_stage = t[k].stage,
                                   .to_state = t[k].new_state};
        data_begin(&b);
        data_str(&b, "stage", t[k].stage);
        data_str(&b, "from_state", t[k].state);
        data_str(&b, "to_state", t[k].new_state);
        event_add(&b, "task.state_changed", t[k].item_id, t[k].task_id);
    }
    return batch_write(db, &b, NULL, NULL, err);
}

/* Where a task arriving at stage `to` starts its route: an edge into it
 * (so that routing passes through it as if the task had come that way),
 * or, for the entry stage that no edge reaches, its own port. *first_hop:
 * the first hop of that route the workflow makes after the arrival. */
static void arrival(const lp_wf_graph *g, size_t to, size_t *from, size_t *port, size_t *first_hop)
{
    for (size_t s = 0; s < g->nstages; s++)
        for (size_t p = 0; p < g->stages[s].nports; p++)
            if (g->stages[s].next[p] == to) {
                *from = s;
                *port = p;
                *first_hop = 1;
                return;
            }
    *from = to;
    *port = 0;
    *first_hop = 0;
}

int lp_wf_follow_version(lp_db *db, lp_arena *a, const lp_wf *wf, const lp_wf_stage_move *moves, size_t nmoves,
                         const char *actor_id, lp_error *err)
{
    const lp_wf_graph *g = &wf->graph;
    lp_wf_task_ref *t;
    size_t nt;

    if (reset_states(db, a, wf, actor_id, err) != 0)
        return -1;
    if (nmoves == 0)
        return 0;
    const char **olds = lp_arena_calloc(a, nmoves, sizeof *olds);
    if (!olds)
        return lp_error_set(err, LP_E_NOMEM, "out of memory applying a workflow version");
    for (size_t m = 0; m < nmoves; m++)
        olds[m] = moves[m].from;
    if (lp_db_wf_tasks_on_stages(db, a, wf->id, olds, nmoves, &t, &nt, err) != 0)
        return -1;
    if (nt == 0)
        return 0;

    const char **task_ids = lp_arena_calloc(a, nt, sizeof *task_ids);
    size_t *from = lp_arena_calloc(a, nt, sizeof *from);
    size_t *port = lp_arena_calloc(a, nt, sizeof *port);
    size_t *first_hop = lp_arena_calloc(a, nt, sizeof *first_hop);
    size_t *target = lp_arena_calloc(a, nt, sizeof *target);
    leg *legs = lp_arena_calloc(a, nt, sizeof *legs);
    lp_wf_item_row *rows;
    lp_wf_route *routes;
    if (!task_ids || !from || !port || !first_hop || !target || !legs)
        return lp_error_set(err, LP_E_NOMEM, "out of memory applying a workflow version");
    for (size_t k = 0; k < nt; k++) {
        int to = -1;
        for (size_t m = 0; m < nmoves && to < 0; m++)
            if (strcmp(moves[m].from, t[k].stage) == 0)
                to = lp_wf_graph_find(g, moves[m].to);
        if (to < 0)
            return lp_error_set(err, LP_E_INTERNAL, "task %s: stage %s has no target", t[k].task_id, t[k].stage);
        task_ids[k] = t[k].task_id;
        target[k] = (size_t)to;
        arrival(g, target[k], &from[k], &port[k], &first_hop[k]);
    }
    if (route_tasks(db, a, wf, task_ids, from, port, NULL, nt, &rows, &routes, err) != 0)
        return -1;
    for (size_t k = 0; k < nt; k++) {
        legs[k] = (leg){.task_id = t[k].task_id,
                        .from_stage = t[k].stage,
                        .route = routes[k],
                        .arrive = target[k],
                        .first_hop = first_hop[k]};
        if (lp_wf_stage_rests(&g->stages[target[k]])) {
            /* It stays where it was sent. */
            legs[k].route.stage = target[k];
            legs[k].route.nhops = 0;
        }
    }
    return write_legs(db, a, wf, "move", actor_id, NULL, legs, rows, nt, NULL, err);
}
