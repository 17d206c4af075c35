/* Routing: sample buckets, logic rules, and the routes of a batch of tasks
 * through the stages that route by themselves. See
 * include/loupe/workflow/route.h and docs/WORKFLOWS.md ("Routing"). */
#include "loupe/workflow/route.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_int.h"
#include "loupe/crypto/sha256.h"

uint32_t lp_wf_sample_bucket(int64_t seed, const char *item_id)
{
    char text[96];
    uint8_t d[LP_SHA256_LEN];
    int n = snprintf(text, sizeof text, "%" PRId64 ":%s", seed, item_id ? item_id : "");
    if (n < 0 || (size_t)n >= sizeof text || lp_sha256(text, (size_t)n, d) != 0)
        return LP_WF_BUCKET_FAILED;
    uint32_t first = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
    return first % 10000;
}

/* ---- logic rules ------------------------------------------------------------------- */

static bool listed(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (list[i] && strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* "/a/b" holds for "/a/b" and "/a/b/c", not for "/a/bc"; "/" for every path. */
static bool under_path(const char *path, const char *folder)
{
    size_t n = strlen(folder);
    if (!path)
        return false;
    if (n == 1)
        return true;
    return strncmp(path, folder, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool metadata_has(const json_t *metadata, const char *key, const char *value)
{
    char buf[LP_WF_SCALAR_TEXT_MAX];
    const char *text;
    const json_t *v = json_object_get(metadata, key);
    return v && lp_wf_scalar_text(v, buf, &text) == 0 && lp_wf_values_equal(text, value);
}

static bool cond_holds(const lp_wf_cond *c, const lp_wf_facts *f)
{
    switch (c->kind) {
    case LP_WF_COND_CLASS_PRESENT:
        return listed(f->class_ids, f->nclass_ids, c->a);
    case LP_WF_COND_CLASS_ABSENT:
        return !listed(f->class_ids, f->nclass_ids, c->a);
    case LP_WF_COND_ANNOTATION_COUNT:
        return (!c->has_gte || f->annotation_count >= c->gte) && (!c->has_lte || f->annotation_count <= c->lte);
    case LP_WF_COND_PROPERTY:
        for (size_t i = 0; i < f->nprops; i++)
            if (f->props[i].name && strcmp(f->props[i].name, c->a) == 0 && lp_wf_values_equal(f->props[i].value, c->b))
                return true;
        return false;
    case LP_WF_COND_METADATA:
        return metadata_has(f->metadata, c->a, c->b);
    case LP_WF_COND_PATH:
        return under_path(f->path, c->a);
    case LP_WF_COND_NAME:
        return f->name && fnmatch(c->a, f->name, 0) == 0;
    case LP_WF_COND_SLOT_TYPE:
        return listed(f->slot_types, f->nslot_types, c->a);
    }
    return false;
}

bool lp_wf_rule_matches(const lp_wf_rule *rule, const lp_wf_facts *f)
{
    for (size_t i = 0; i < rule->nconds; i++)
        if (!cond_holds(&rule->conds[i], f))
            return false;
    return true;
}

size_t lp_wf_logic_port(const lp_wf_stage *st, const lp_wf_facts *f)
{
    for (size_t r = 0; r < st->nrules; r++)
        if (lp_wf_rule_matches(&st->rules[r], f))
            return r;
    return st->nrules; /* "default" comes after the rules */
}

/* ---- routes of a batch --------------------------------------------------------------- */

/* A task on its way: where it is and the hops so far (the route it will get). */
typedef struct walk {
    size_t at;         /* the stage it has reached */
    bool parked;       /* waiting on a top sampling stage for the rest of the batch */
    bool done;         /* rests on at */
    uint32_t bucket;   /* LP_WF_BUCKET_FAILED until needed */
    size_t cap;
    lp_wf_route *route;
} walk;

static bool is_top(const lp_wf_stage *st)
{
    return st->type == LP_WF_SAMPLING && st->sampling == LP_WF_SAMPLE_TOP;
}

static uint32_t bucket_of(walk *w, int64_t seed, const lp_wf_facts *f)
{
    if (w->bucket == LP_WF_BUCKET_FAILED)
        w->bucket = lp_wf_sample_bucket(seed, f->item_id);
    return w->bucket;
}

/* Appends the hop (from, port) → next[port] and moves the task there. */
static int hop(const lp_wf_graph *g, walk *w, size_t from, size_t port, lp_arena *a, lp_error *err)
{
    const lp_wf_stage *st = &g->stages[from];
    lp_wf_route *r = w->route;
    if (port >= st->nports || st->next[port] >= g->nstages)
        return lp_error_set(err, LP_E_INVALID, "stage \"%s\" has no edge from port %zu", st->id, port);
    if (r->nhops >= g->nstages)
        return lp_error_set(err, LP_E_INVALID, "a route passes more than %zu stages: the graph loops", g->nstages);
    if (r->nhops == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 4;
        lp_wf_hop *hops = lp_arena_alloc(a, cap * sizeof *hops);
        if (!hops)
            return lp_error_set(err, LP_E_NOMEM, "out of memory routing tasks");
        if (r->nhops)
            memcpy(hops, r->hops, r->nhops * sizeof *hops);
        r->hops = hops;
        w->cap = cap;
    }
    r->hops[r->nhops++] = (lp_wf_hop){from, port, st->next[port]};
    w->at = st->next[port];
    return 0;
}

/* Carries a task through routing stages until it rests or reaches a top sampling stage. */
static int carry(const lp_wf_graph *g, int64_t seed, walk *w, const lp_wf_facts *f, lp_arena *a, lp_error *err)
{
    for (;;) {
        const lp_wf_stage *st = &g->stages[w->at];
        size_t port = 0; /* dataset, webhook: next */
        if (lp_wf_stage_rests(st)) {
            w->done = true;
            w->route->stage = w->at;
            return 0;
        }
        if (is_top(st)) {
            w->parked = true;
            return 0;
        }
        if (st->type == LP_WF_LOGIC)
            port = lp_wf_logic_port(st, f);
        else if (st->type == LP_WF_SAMPLING) {
            uint32_t b = bucket_of(w, seed, f);
            if (b == LP_WF_BUCKET_FAILED)
                return lp_error_set(err, LP_E_NOMEM, "out of memory computing a sample bucket");
            port = b < st->percent * 100 ? 0 : 1;
        }
        if (hop(g, w, w->at, port, a, err) != 0)
            return -1;
    }
}

typedef struct ranked {
    double score;     /* NAN: none */
    uint32_t bucket;
    const char *item_id;
    size_t task;
} ranked;

/* Lowest bucket first, then item id. */
static int bucket_cmp(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->bucket != b->bucket)
        return a->bucket < b->bucket ? -1 : 1;
    int c = strcmp(a->item_id ? a->item_id : "", b->item_id ? b->item_id : "");
    return c ? c : (a->task > b->task) - (a->task < b->task);
}

/* Highest score first (none last), then lowest bucket, then item id. */
static int ranked_cmp(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (isnan(a->score) != isnan(b->score))
        return isnan(a->score) ? 1 : -1;
    if (!isnan(a->score) && a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return bucket_cmp(x, y);
}

/* A task's score on top stage s: its priority, or the model score routing was given. */
static double top_score(const lp_wf_stage *st, size_t s, const lp_wf_facts *f)
{
    if (st->score == LP_WF_SCORE_PRIORITY)
        return (double)f->priority;
    return f->stage_scores ? f->stage_scores[s] : NAN;
}

/* The stages in an order where no routing stage comes after one it leads to (Kahn's
 * algorithm over edges between routing stages); for a graph that was not validated, the
 * stages of a loop follow in index order. order receives nstages indices. */
static int routing_order(const lp_wf_graph *g, size_t *order, lp_arena *a)
{
    size_t n = g->nstages, head = 0, tail = 0;
    size_t *indeg = lp_arena_calloc(a, n ? n : 1, sizeof *indeg);
    bool *placed = lp_arena_calloc(a, n ? n : 1, sizeof *placed);
    if (!indeg || !placed)
        return -1;
    for (size_t s = 0; s < n; s++)
        for (size_t k = 0; !lp_wf_stage_rests(&g->stages[s]) && k < g->stages[s].nports; k++)
            if (g->stages[s].next[k] < n)
                indeg[g->stages[s].next[k]]++;
    for (size_t s = 0; s < n; s++)
        if (indeg[s] == 0) {
            order[tail++] = s;
            placed[s] = true;
        }
    for (;;) {
        while (head < tail) {
            const lp_wf_stage *st = &g->stages[order[head++]];
            for (size_t k = 0; !lp_wf_stage_rests(st) && k < st->nports; k++) {
                size_t v = st->next[k];
                if (v < n && !placed[v] && --indeg[v] == 0) {
                    order[tail++] = v;
                    placed[v] = true;
                }
            }
        }
        if (tail == n)
            return 0;
        for (size_t s = 0; s < n; s++) /* a loop: take its first stage by index */
            if (!placed[s]) {
                order[tail++] = s;
                placed[s] = true;
                break;
            }
    }
}

/* Sends the tasks parked on top stage s: the st->top best to sampled, the others to rest. */
static int judge_top(const lp_wf_graph *g, int64_t seed, size_t s, walk *w, const lp_wf_facts *facts, size_t n,
                     ranked *scratch, lp_arena *a, lp_error *err)
{
    const lp_wf_stage *st = &g->stages[s];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i].parked && w[i].at == s) {
            uint32_t b = bucket_of(&w[i], seed, &facts[i]);
            if (b == LP_WF_BUCKET_FAILED)
                return lp_error_set(err, LP_E_NOMEM, "out of memory computing a sample bucket");
            scratch[m++] = (ranked){top_score(st, s, &facts[i]), b, facts[i].item_id, i};
        }
    qsort(scratch, m, sizeof *scratch, ranked_cmp);
    /* the best top − r by score, then r of the rest by bucket: a random share */
    size_t top = st->top < 0 || (uint64_t)st->top > m ? m : (size_t)st->top;
    size_t r_share = (size_t)floor((double)top * st->random_share + 0.5), best = top - (r_share > top ? top : r_share);
    qsort(scratch + best, m - best, sizeof *scratch, bucket_cmp);
    for (size_t r = 0; r < m; r++) {
        walk *t = &w[scratch[r].task];
        t->parked = false;
        if (hop(g, t, s, r < top ? 0 : 1, a, err) != 0)
            return -1;
    }
    return 0;
}

int lp_wf_route_batch(const lp_wf_graph *g, int64_t seed, const size_t *from, const size_t *port,
                      const lp_wf_facts *facts, size_t n, lp_arena *a, lp_wf_route *out, lp_error *err)
{
    int rc = -1;
    walk *w = calloc(n ? n : 1, sizeof *w);
    ranked *scratch = NULL;
    size_t *order = NULL, nparked = 0;
    if (!w)
        return lp_error_set(err, LP_E_NOMEM, "out of memory routing %zu tasks", n);
    for (size_t i = 0; i < n; i++) {
        out[i] = (lp_wf_route){0};
        w[i] = (walk){.bucket = LP_WF_BUCKET_FAILED, .route = &out[i]};
        if (from[i] >= g->nstages) {
            lp_error_set(err, LP_E_INVALID, "task %zu leaves stage %zu of a workflow of %zu stages", i, from[i],
                         g->nstages);
            goto cleanup;
        }
        if (hop(g, &w[i], from[i], port[i], a, err) != 0 || carry(g, seed, &w[i], &facts[i], a, err) != 0)
            goto cleanup;
        nparked += w[i].parked;
    }
    if (nparked) {
        if (!(scratch = malloc(n * sizeof *scratch)) || !(order = malloc(g->nstages * sizeof *order)) ||
            routing_order(g, order, a) != 0) {
            lp_error_set(err, LP_E_NOMEM, "out of memory routing %zu tasks", n);
            goto cleanup;
        }
        /* Judge the top stages in routing order, so a stage is judged once every task of the
         * batch that can still reach it has arrived. */
        for (size_t o = 0; nparked && o < g->nstages; o++) {
            size_t s = order[o];
            if (!is_top(&g->stages[s]))
                continue;
            if (judge_top(g, seed, s, w, facts, n, scratch, a, err) != 0)
                goto cleanup;
            nparked = 0;
            for (size_t i = 0; i < n; i++) {
                if (!w[i].done && !w[i].parked && carry(g, seed, &w[i], &facts[i], a, err) != 0)
                    goto cleanup;
                nparked += w[i].parked;
            }
        }
    }
    if (nparked) {
        lp_error_set(err, LP_E_INVALID, "tasks go round a loop of sampling stages: the graph loops");
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(order);
    free(scratch);
    free(w);
    return rc;
}
