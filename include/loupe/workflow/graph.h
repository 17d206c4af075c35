/* A workflow's graph: its stages, their configs and states, and the edges
 * that join each stage's ports to the next stage (docs/WORKFLOWS.md).
 *
 * lp_wf_graph_read reads a definition document
 *   {"stages": [{"id", "type", "name", "config"}], "edges": [{"from", "port", "to"}]}
 * and validates it whole; every rule broken is one field error naming the
 * member ("stages[3].config.percent", "edges[2].to"), so one 422 lists them
 * all. Pure: no database, no HTTP.
 *
 * Memory: the graph lives in the caller's arena; strings may borrow from the
 * JSON document: keep both alive while the graph is used. */
#ifndef LOUPE_WORKFLOW_GRAPH_H
#define LOUPE_WORKFLOW_GRAPH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/config.h"
#include "loupe/core/error.h"

/* Longest stage id, state or rule name, in bytes: they are identifiers
 * ([A-Za-z0-9_-]) that appear in URLs and task rows, a syntax rule rather
 * than a resource limit. */
#define LP_WF_ID_MAX 64

/* Sizes a definition may have (config entries workflow_stages_max, …). */
typedef struct lp_wf_limits {
    size_t stages_max;        /* stages in one workflow */
    size_t states_max;        /* states of one stage */
    size_t rules_max;         /* rules of one logic stage */
    size_t assignees_max;     /* users listed in one stage's pool */
    size_t id_max;            /* bytes of a stage id, state or rule name */
    size_t name_max;          /* bytes of a stage name and of any other text in a config */
} lp_wf_limits;

/* The limits of the configuration: workflow_stages_max, workflow_states_max,
 * workflow_rules_max, workflow_assignees_max, string_max_length (name_max)
 * and LP_WF_ID_MAX. */
void lp_wf_limits_from_config(const lp_config *cfg, lp_wf_limits *out);

typedef enum lp_wf_stage_type {
    LP_WF_DATASET = 0, /* entry: port next */
    LP_WF_ANNOTATE,    /* done */
    LP_WF_REVIEW,      /* approve, reject */
    LP_WF_CONSENSUS,   /* agree, disagree */
    LP_WF_LOGIC,       /* one per rule name, then default */
    LP_WF_SAMPLING,    /* sampled, rest */
    LP_WF_MODEL,       /* done: a model run over the arriving tasks' items */
    LP_WF_WEBHOOK,     /* next */
    LP_WF_COMPLETE,    /* none */
    LP_WF_DISCARD,     /* none */
    LP_WF_STAGE_TYPE_COUNT
} lp_wf_stage_type;

/* "dataset", …, "discard"; NULL when out of range. */
const char *lp_wf_stage_type_name(lp_wf_stage_type t);
/* 0, or -1 when unknown. */
int lp_wf_stage_type_from_name(const char *name, lp_wf_stage_type *out);

/* Who may take tasks of a human stage: anyone with the stage's permission
 * ("any"), or the listed users. */
typedef struct lp_wf_pool {
    bool any;
    const char *const *user_ids;  /* lower-case UUIDs */
    size_t nuser_ids;
} lp_wf_pool;

/* One condition of a logic rule; a rule holds when all of its conditions
 * hold. JSON: {"name": "cars", "when": {"class_present": "<uuid>", …}}. */
typedef enum lp_wf_cond_kind {
    LP_WF_COND_CLASS_PRESENT = 0, /* "class_present": uuid */
    LP_WF_COND_CLASS_ABSENT,      /* "class_absent": uuid */
    LP_WF_COND_ANNOTATION_COUNT,  /* "annotation_count": {"gte"?: n, "lte"?: n} */
    LP_WF_COND_PROPERTY,          /* "property": {"name", "value"}: some annotation has it (value as text) */
    LP_WF_COND_METADATA,          /* "metadata": {"key": "value"}: the item's metadata (value as text) */
    LP_WF_COND_PATH,              /* "path": "/a/b": the folder or below it */
    LP_WF_COND_NAME,              /* "name_pattern": "*.jpg" (fnmatch, case-sensitive) */
    LP_WF_COND_SLOT_TYPE          /* "slot_type": "video": some slot of that type */
} lp_wf_cond_kind;

typedef struct lp_wf_cond {
    lp_wf_cond_kind kind;
    const char *a;                /* class id, property name, metadata key, path, pattern, slot type */
    const char *b;                /* property value, metadata value */
    bool has_gte, has_lte;
    int64_t gte, lte;
} lp_wf_cond;

typedef struct lp_wf_rule {
    const char *name;             /* also its port's name */
    lp_wf_cond *conds;
    size_t nconds;
} lp_wf_rule;

typedef enum lp_wf_sampling_mode {
    LP_WF_SAMPLE_PERCENT = 0,     /* {"percent": 0..100}: deterministic per item from the seed */
    LP_WF_SAMPLE_TOP              /* {"top": N, "score"?, "model_id"?, "random_share"?}: the N best of each batch */
} lp_wf_sampling_mode;

/* What a top sampling stage ranks by: the item's priority, or a model's
 * active-learning score of the item (the strategies of
 * loupe/db/model_runs_sql.h, in that order after priority). */
typedef enum lp_wf_score {
    LP_WF_SCORE_PRIORITY = 0,
    LP_WF_SCORE_LEAST_CONFIDENCE,
    LP_WF_SCORE_MARGIN,
    LP_WF_SCORE_ENTROPY,
    LP_WF_SCORE_NOVELTY,
    LP_WF_SCORE_COUNT
} lp_wf_score;

/* "priority", "least_confidence", "margin", "entropy", "novelty"; NULL when out of range. */
const char *lp_wf_score_name(lp_wf_score s);

/* A stage. ports[k] is joined by an edge to stage index next[k]. */
typedef struct lp_wf_stage {
    const char *id;               /* the client's short id, unique in the workflow */
    lp_wf_stage_type type;
    const char *name;             /* the id when the definition gives none */
    const char *const *states;    /* at least one; states[0] is where a task starts */
    size_t nstates;
    const char *const *ports;     /* in the order of lp_wf_stage_ports */
    size_t nports;
    size_t *next;                 /* per port: index of the stage the edge leads to */
    const json_t *config;         /* the stage's config object (borrowed); NULL when none was given */

    /* annotate, review, consensus */
    lp_wf_pool pool;
    int64_t max_open_tasks;       /* annotate: per user; 0 = no limit */
    /* consensus */
    int annotators;               /* 2..5 */
    double iou_threshold;         /* shapes of one class match at IoU >= this (default 0.5) */
    double agreement_threshold;   /* the item agrees when its agreement >= this (default 1.0) */
    /* logic */
    lp_wf_rule *rules;
    size_t nrules;
    /* sampling */
    lp_wf_sampling_mode sampling;
    double percent;               /* 0..100 */
    int64_t top;                  /* >= 1 */
    lp_wf_score score;            /* top: what ranks the batch */
    const char *model_id;         /* sampling top with a model's score, and a model stage: the model (lower-case UUID) */
    double random_share;          /* top: 0..1, the share of top taken at random from the rest */
    /* webhook */
    bool wait;                    /* wait for POST /tasks/{id}/continue */
    /* model: the arriving tasks' items run through model_id (its team is
     * checked where the definition is saved) on the slot (NULL: the item's
     * first image slot), and, with accept, the predictions scoring at least
     * min_score become annotations before the task moves on */
    const char *model_slot;
    double min_score;             /* 0..1, default 0.5 */
    bool accept;
} lp_wf_stage;

typedef struct lp_wf_graph {
    lp_wf_stage *stages;
    size_t nstages;
    size_t entry;                 /* index of the one dataset stage */
} lp_wf_graph;

/* Reads and validates a definition (the "stages" and "edges" members of
 * doc; other members are the caller's business). Rules:
 *   - stage ids unique, [A-Za-z0-9_-]{1,id_max}; a known type; name optional
 *     (text of at most name_max bytes); config optional, else an object valid
 *     for its type (unknown members refused; docs/WORKFLOWS.md, "Stage
 *     types"); "states" when given: 1..states_max unique names of the id
 *     syntax, else ["new"];
 *   - exactly one dataset stage; every stage reachable from it; no edge
 *     leads back to it;
 *   - every port of a stage joined to exactly one edge; an edge names a
 *     real stage and one of its from-stage's ports; none leaves complete or
 *     discard; at most nstages * (rules_max + 1) edges;
 *   - a cycle must pass through a human stage (annotate, review, consensus):
 *     review loops are fine, an automatic loop is refused;
 *   - a model stage names a model (model_id, a UUID); that it is a model
 *     of the team is the caller's to check.
 * 0 with out filled, or -1 with LP_E_INVALID and a field error per rule
 * broken. */
int lp_wf_graph_read(const json_t *doc, const lp_wf_limits *lim, lp_arena *a, lp_wf_graph *out, lp_error *err);

/* Index of the stage with this id, or -1. */
int lp_wf_graph_find(const lp_wf_graph *g, const char *stage_id);

/* Index of port in st's ports, or -1. */
int lp_wf_stage_port(const lp_wf_stage *st, const char *port);

/* Index of state in st's states, or -1. */
int lp_wf_stage_state(const lp_wf_stage *st, const char *state);

/* 1 when a task waits on stages like st for a person or an outside party
 * (annotate, review, consensus, model, a webhook that waits, complete,
 * discard); 0 for the stages that route by themselves (dataset, logic,
 * sampling, a webhook that continues at once). */
bool lp_wf_stage_rests(const lp_wf_stage *st);

/* 1 for annotate, review and consensus. */
bool lp_wf_stage_human(const lp_wf_stage *st);

#endif
