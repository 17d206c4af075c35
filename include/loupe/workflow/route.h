/* Routing: where tasks go when they leave a stage through a port. The
 * routing stages (dataset, logic, sampling, a webhook that continues at once)
 * are passed through at once: a task never rests on them. Pure: the caller
 * supplies what routing reads of each item (lp_wf_facts) and writes the
 * result (src/workflow/engine.c does both against the database).
 *
 * Deterministic: the same graph, seed and facts give the same routes, on
 * every run and on every node. */
#ifndef LOUPE_WORKFLOW_ROUTE_H
#define LOUPE_WORKFLOW_ROUTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/workflow/graph.h"

/* A property value carried by one of the item's annotations. */
typedef struct lp_wf_prop {
    const char *name;
    const char *value;            /* as text (numbers in their JSON form) */
} lp_wf_prop;

/* What routing reads of an item (borrowed). */
typedef struct lp_wf_facts {
    const char *item_id;          /* lower-case UUID */
    const char *name;
    const char *path;             /* "/" or "/a/b" */
    int64_t priority;
    int64_t annotation_count;
    const char *const *class_ids; /* distinct classes among its annotations */
    size_t nclass_ids;
    const lp_wf_prop *props;
    size_t nprops;
    const json_t *metadata;       /* object; NULL = {} */
    const char *const *slot_types;
    size_t nslot_types;
    const double *stage_scores;   /* per stage index: the item's model score for a top sampling stage ranked by
                                   * one (NAN: no finished run of the model scored it); NULL when none */
} lp_wf_facts;

/* Where in [0, 10000) an item falls for percent sampling: the first 32 bits
 * of SHA-256("<seed>:<item_id>") (seed in decimal), big-endian, modulo
 * 10000. The item is sampled when bucket < percent * 100. (In SQL:
 * ('x' || substr(encode(sha256(convert_to(seed || ':' || id, 'UTF8')), 'hex'),
 * 1, 8))::bit(32)::bigint % 10000.) LP_WF_BUCKET_FAILED, never a bucket, when
 * the digest cannot be computed (OpenSSL out of memory). */
#define LP_WF_BUCKET_FAILED 10000u
uint32_t lp_wf_sample_bucket(int64_t seed, const char *item_id);

/* 1 when every condition of rule holds for f. */
bool lp_wf_rule_matches(const lp_wf_rule *rule, const lp_wf_facts *f);

/* The port a logic stage sends f to: the first rule that matches (index into
 * st->ports), else the default port. */
size_t lp_wf_logic_port(const lp_wf_stage *st, const lp_wf_facts *f);

/* One step of a task's route: it left stage from through port and arrived
 * at stage to. */
typedef struct lp_wf_hop {
    size_t from;
    size_t port;                  /* index into the from stage's ports */
    size_t to;
} lp_wf_hop;

/* Where one task ends up: the stage it rests on and the hops that took it
 * there (in order; the first leaves the start stage). A webhook stage passed
 * through or rested on appears in hops as a "to": its task.webhook event is
 * the caller's to write. */
typedef struct lp_wf_route {
    size_t stage;
    lp_wf_hop *hops;              /* arena */
    size_t nhops;
} lp_wf_route;

/* Routes n tasks: task i leaves stage from[i] through port port[i] (an
 * index into that stage's ports) and is carried through routing stages
 * until it reaches a stage that rests. Tasks that reach a sampling stage in
 * top mode together are ranked together (score highest first — priority, or
 * stage_scores with items lacking one last — then sample bucket, then item
 * id); round(top × random_share) of the stage's top are instead the ranked
 * rest's lowest sample buckets. A batch is judged as a batch: a top stage is judged once
 * every task of the batch that can still reach it has arrived. facts[i]
 * describes task i's item. out[i] receives task i's route. A route longer
 * than the number of stages (only possible for a graph that was not
 * validated), a stage index or port out of range fail with LP_E_INVALID.
 * 0 or -1 (LP_E_NOMEM). */
int lp_wf_route_batch(const lp_wf_graph *g, int64_t seed, const size_t *from, const size_t *port,
                      const lp_wf_facts *facts, size_t n, lp_arena *a, lp_wf_route *out, lp_error *err);

#endif
