/* Workflow graphs: reading a definition and every rule it must follow.
 * See include/loupe/workflow/graph.h and docs/WORKFLOWS.md ("Validation
 * rules"). Every broken rule adds one field error and reading goes on, so
 * one answer lists them all (up to LP_ERROR_MAX_FIELDS). */
#include "loupe/workflow/graph.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_int.h"
#include "loupe/core/util.h"

/* ---- names ------------------------------------------------------------------------- */

static const char *const type_names[LP_WF_STAGE_TYPE_COUNT] = {
    "dataset", "annotate", "review", "consensus", "logic", "sampling", "model", "webhook", "complete", "discard",
};

/* Fixed ports per type (logic's are its rule names, then "default"). */
static const char *const fixed_ports[LP_WF_STAGE_TYPE_COUNT][2] = {
    [LP_WF_DATASET] = {"next"},       [LP_WF_ANNOTATE] = {"done"},
    [LP_WF_REVIEW] = {"approve", "reject"}, [LP_WF_CONSENSUS] = {"agree", "disagree"},
    [LP_WF_SAMPLING] = {"sampled", "rest"}, [LP_WF_MODEL] = {"done"},
    [LP_WF_WEBHOOK] = {"next"},
};

/* Members each type's config may hold (NULL-terminated). */
static const char *const config_members[LP_WF_STAGE_TYPE_COUNT][8] = {
    [LP_WF_DATASET] = {"states"},
    [LP_WF_ANNOTATE] = {"states", "assignees", "max_open_tasks"},
    [LP_WF_REVIEW] = {"states", "reviewers"},
    [LP_WF_CONSENSUS] = {"states", "annotators", "iou_threshold", "agreement_threshold", "assignees"},
    [LP_WF_LOGIC] = {"states", "rules"},
    [LP_WF_SAMPLING] = {"states", "percent", "top", "score", "model_id", "random_share"},
    [LP_WF_MODEL] = {"states", "model_id", "slot", "min_score", "accept"},
    [LP_WF_WEBHOOK] = {"states", "wait"},
    [LP_WF_COMPLETE] = {"states"},
    [LP_WF_DISCARD] = {"states"},
};

static const char *const score_names[LP_WF_SCORE_COUNT] = {"priority", "least_confidence", "margin", "entropy",
                                                             "novelty"};

const char *lp_wf_score_name(lp_wf_score s)
{
    return (unsigned)s < LP_WF_SCORE_COUNT ? score_names[s] : NULL;
}

static const char *const default_states[] = {"new"};

const char *lp_wf_stage_type_name(lp_wf_stage_type t)
{
    return (unsigned)t < LP_WF_STAGE_TYPE_COUNT ? type_names[t] : NULL;
}

int lp_wf_stage_type_from_name(const char *name, lp_wf_stage_type *out)
{
    for (int t = 0; name && t < LP_WF_STAGE_TYPE_COUNT; t++)
        if (strcmp(name, type_names[t]) == 0) {
            *out = (lp_wf_stage_type)t;
            return 0;
        }
    return -1;
}

void lp_wf_limits_from_config(const lp_config *cfg, lp_wf_limits *out)
{
    out->stages_max = (size_t)cfg->workflow_stages_max;
    out->states_max = (size_t)cfg->workflow_states_max;
    out->rules_max = (size_t)cfg->workflow_rules_max;
    out->assignees_max = (size_t)cfg->workflow_assignees_max;
    out->id_max = LP_WF_ID_MAX;
    out->name_max = (size_t)cfg->string_max_length;
}

/* ---- scalars shared with route.c ---------------------------------------------------- */

int lp_wf_scalar_text(const json_t *v, char buf[LP_WF_SCALAR_TEXT_MAX], const char **out)
{
    if (json_is_string(v))
        *out = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(buf, LP_WF_SCALAR_TEXT_MAX, "%" PRId64, (int64_t)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, LP_WF_SCALAR_TEXT_MAX, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, LP_WF_SCALAR_TEXT_MAX, "%s", json_is_true(v) ? "true" : "false");
    else
        return -1;
    if (!json_is_string(v))
        *out = buf;
    return 0;
}

static bool number_text(const char *s, double *out)
{
    char *end;
    if (!*s || strchr(" \t\n\r\f\v", *s))
        return false;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

bool lp_wf_values_equal(const char *x, const char *y)
{
    double a, b;
    if (!x || !y)
        return false;
    return strcmp(x, y) == 0 || (number_text(x, &a) && number_text(y, &b) && a == b);
}

/* ---- lookups ----------------------------------------------------------------------- */

int lp_wf_graph_find(const lp_wf_graph *g, const char *stage_id)
{
    for (size_t i = 0; stage_id && i < g->nstages; i++)
        if (strcmp(g->stages[i].id, stage_id) == 0)
            return (int)i;
    return -1;
}

static int find_name(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

int lp_wf_stage_port(const lp_wf_stage *st, const char *port)
{
    return find_name(st->ports, st->nports, port);
}

int lp_wf_stage_state(const lp_wf_stage *st, const char *state)
{
    return find_name(st->states, st->nstates, state);
}

bool lp_wf_stage_human(const lp_wf_stage *st)
{
    return st->type == LP_WF_ANNOTATE || st->type == LP_WF_REVIEW || st->type == LP_WF_CONSENSUS;
}

bool lp_wf_stage_rests(const lp_wf_stage *st)
{
    switch (st->type) {
    case LP_WF_DATASET:
    case LP_WF_LOGIC:
    case LP_WF_SAMPLING:
        return false;
    case LP_WF_WEBHOOK:
        return st->wait;
    default:
        return true;
    }
}

/* ---- the reader -------------------------------------------------------------------- */

typedef struct rd {
    const lp_wf_limits *lim;
    lp_arena *a;
    lp_error *err;
    bool nomem;
    size_t nbad; /* rules broken so far */
    char f[128]; /* the field being reported */
} rd;

/* Names the field for the next bad(): rd.f = printf(fmt, …). */
__attribute__((format(printf, 2, 3))) static const char *at(rd *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->f, sizeof r->f, fmt, ap);
    va_end(ap);
    return r->f;
}

__attribute__((format(printf, 3, 4))) static void bad(rd *r, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->nbad++;
    lp_error_field(r->err, LP_E_INVALID, field, "%s", msg);
}

static void *alloc(rd *r, size_t n, size_t size)
{
    void *p = lp_arena_calloc(r->a, n ? n : 1, size);
    if (!p)
        r->nomem = true;
    return p;
}

static bool is_ident(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
              s[n] == '_' || s[n] == '-'))
            return false;
    return n >= 1 && n <= max;
}

/* An identifier (stage id, state, rule name) at field; NULL after reporting. */
static const char *ident(rd *r, const json_t *v, const char *field)
{
    const char *s = json_string_value(v);
    if (!s)
        bad(r, field, "must be a string");
    else if (!is_ident(s, r->lim->id_max))
        bad(r, field, "must be 1 to %zu letters, digits, '_' or '-'", r->lim->id_max);
    else
        return s;
    return NULL;
}

/* Free text (a stage name, a pattern, a value) at field; NULL after reporting. */
static const char *text(rd *r, const json_t *v, const char *field)
{
    const char *s = json_string_value(v);
    if (!s)
        bad(r, field, "must be a string");
    else if (!*s)
        bad(r, field, "must not be empty");
    else if (json_string_length(v) > r->lim->name_max)
        bad(r, field, "must be at most %zu bytes (string_max_length)", r->lim->name_max);
    else if (strlen(s) != json_string_length(v))
        bad(r, field, "must not contain NUL characters");
    else
        return s;
    return NULL;
}

/* A lower-case copy of a UUID at field; NULL after reporting. */
static const char *uuid(rd *r, const json_t *v, const char *field)
{
    const char *s = json_string_value(v);
    if (!s || !lp_is_uuid(s)) {
        bad(r, field, "must be a UUID");
        return NULL;
    }
    char *c = lp_arena_strdup(r->a, s);
    if (!c) {
        r->nomem = true;
        return NULL;
    }
    for (char *p = c; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    return c;
}

/* Refuses members of obj not in allowed (NULL-terminated). */
static void only_members(rd *r, const json_t *obj, const char *prefix, const char *const *allowed, const char *what)
{
    char base[sizeof r->f];
    const char *key;
    const json_t *v;
    snprintf(base, sizeof base, "%s", prefix); /* prefix may be r->f, which at() rewrites */
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (size_t k = 0; allowed[k] && !ok; k++)
            ok = strcmp(key, allowed[k]) == 0;
        if (!ok)
            bad(r, at(r, "%s.%.60s", base, key), "is not a member of %s", what);
    }
}

/* "states": 1..states_max unique identifiers, or ["new"] when absent. */
static void read_states(rd *r, size_t i, const json_t *cfg, lp_wf_stage *st)
{
    const json_t *v = json_object_get(cfg, "states"), *e;
    size_t k;
    st->states = default_states;
    st->nstates = 1;
    if (!v)
        return;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > r->lim->states_max) {
        bad(r, at(r, "stages[%zu].config.states", i), "must be a list of 1 to %zu state names", r->lim->states_max);
        return;
    }
    const char **states = alloc(r, json_array_size(v), sizeof *states);
    if (!states)
        return;
    json_array_foreach(v, k, e) {
        const char *s = ident(r, e, at(r, "stages[%zu].config.states[%zu]", i, k));
        if (s && find_name(states, k, s) >= 0)
            bad(r, r->f, "\"%s\" is listed twice", s);
        states[k] = s ? s : "";
    }
    st->states = states;
    st->nstates = json_array_size(v);
}

/* A pool of users: "any" or 1..assignees_max unique user ids. */
static void read_pool(rd *r, size_t i, const json_t *cfg, const char *key, bool required, lp_wf_pool *out)
{
    const json_t *v = json_object_get(cfg, key), *e;
    size_t k;
    out->any = true;
    if (!v) {
        if (required)
            bad(r, at(r, "stages[%zu].config.%s", i, key), "is required: \"any\" or a list of user ids");
        return;
    }
    if (json_is_string(v) && strcmp(json_string_value(v), "any") == 0)
        return;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > r->lim->assignees_max) {
        bad(r, at(r, "stages[%zu].config.%s", i, key), "must be \"any\" or a list of 1 to %zu user ids",
            r->lim->assignees_max);
        return;
    }
    const char **ids = alloc(r, json_array_size(v), sizeof *ids);
    if (!ids)
        return;
    json_array_foreach(v, k, e) {
        const char *id = uuid(r, e, at(r, "stages[%zu].config.%s[%zu]", i, key, k));
        if (id && find_name(ids, k, id) >= 0)
            bad(r, r->f, "user %s is listed twice", id);
        ids[k] = id ? id : "";
    }
    out->any = false;
    out->user_ids = ids;
    out->nuser_ids = json_array_size(v);
}

/* An integer member in [min, max]; false (reported) when absent and required or bad. */
static bool read_int(rd *r, size_t i, const json_t *cfg, const char *key, int64_t min, int64_t max, bool required,
                     int64_t *out)
{
    const json_t *v = json_object_get(cfg, key);
    if (!v) {
        if (required)
            bad(r, at(r, "stages[%zu].config.%s", i, key), "is required (an integer from %" PRId64 " to %" PRId64 ")",
                min, max);
        return false;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        bad(r, at(r, "stages[%zu].config.%s", i, key), "must be an integer from %" PRId64 " to %" PRId64, min, max);
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

/* A number member in [min, max] (min excluded when open); def when absent. */
static void read_number(rd *r, size_t i, const json_t *cfg, const char *key, double min, bool open, double max,
                        double def, double *out)
{
    const json_t *v = json_object_get(cfg, key);
    *out = def;
    if (!v)
        return;
    double d = json_number_value(v);
    if (!json_is_number(v) || !isfinite(d) || d > max || (open ? d <= min : d < min)) {
        bad(r, at(r, "stages[%zu].config.%s", i, key), "must be a number from %g%s to %g", min,
            open ? " (excluded)" : "", max);
        return;
    }
    *out = d;
}

/* A condition value as text: a string, a number or a boolean. */
static const char *value_text(rd *r, const json_t *v, const char *field)
{
    char buf[LP_WF_SCALAR_TEXT_MAX];
    const char *s;
    if (json_is_string(v))
        return text(r, v, field);
    if (lp_wf_scalar_text(v, buf, &s) != 0) {
        bad(r, field, "must be a string, a number or a boolean");
        return NULL;
    }
    const char *c = lp_arena_strdup(r->a, s);
    if (!c)
        r->nomem = true;
    return c;
}

static const char *const cond_keys[] = {"class_present", "class_absent", "annotation_count", "property",
                                        "metadata",      "path",         "name_pattern",     "slot_type"};
static const char *const slot_types[] = {"image", "video", "volume"};

static bool valid_path(const char *p)
{
    if (p[0] != '/' || (p[1] && p[strlen(p) - 1] == '/'))
        return false;
    return !strstr(p, "//");
}

/* One member of "when" (key k, value v) into conds[*n] (metadata may give several). */
static void read_cond(rd *r, const char *prefix, const char *key, const json_t *v, lp_wf_cond *conds, size_t *n)
{
    int kind = find_name(cond_keys, sizeof cond_keys / sizeof *cond_keys, key);
    lp_wf_cond *c = &conds[*n];
    memset(c, 0, sizeof *c);
    c->kind = (lp_wf_cond_kind)kind;
    switch (kind) {
    case LP_WF_COND_CLASS_PRESENT:
    case LP_WF_COND_CLASS_ABSENT:
        c->a = uuid(r, v, at(r, "%s.%s", prefix, key));
        break;
    case LP_WF_COND_ANNOTATION_COUNT: {
        const json_t *gte = json_object_get(v, "gte"), *lte = json_object_get(v, "lte");
        static const char *const members[] = {"gte", "lte", NULL};
        if (!json_is_object(v) || (!gte && !lte)) {
            bad(r, at(r, "%s.%s", prefix, key), "must be an object with \"gte\", \"lte\" or both");
            return;
        }
        only_members(r, v, at(r, "%s.%s", prefix, key), members, "annotation_count");
        if (gte && (!json_is_integer(gte) || json_integer_value(gte) < 0))
            bad(r, at(r, "%s.%s.gte", prefix, key), "must be an integer of at least 0");
        if (lte && (!json_is_integer(lte) || json_integer_value(lte) < 0))
            bad(r, at(r, "%s.%s.lte", prefix, key), "must be an integer of at least 0");
        c->has_gte = json_is_integer(gte);
        c->has_lte = json_is_integer(lte);
        c->gte = json_integer_value(gte);
        c->lte = json_integer_value(lte);
        if (c->has_gte && c->has_lte && c->gte > c->lte)
            bad(r, at(r, "%s.%s.lte", prefix, key), "must not be below gte (%" PRId64 ")", c->gte);
        break;
    }
    case LP_WF_COND_PROPERTY: {
        static const char *const members[] = {"name", "value", NULL};
        if (!json_is_object(v)) {
            bad(r, at(r, "%s.%s", prefix, key), "must be an object {\"name\", \"value\"}");
            return;
        }
        only_members(r, v, at(r, "%s.%s", prefix, key), members, "property");
        c->a = text(r, json_object_get(v, "name"), at(r, "%s.%s.name", prefix, key));
        c->b = value_text(r, json_object_get(v, "value"), at(r, "%s.%s.value", prefix, key));
        break;
    }
    case LP_WF_COND_METADATA: {
        const char *mk;
        const json_t *mv;
        if (!json_is_object(v) || json_object_size(v) == 0) {
            bad(r, at(r, "%s.%s", prefix, key), "must be an object of at least one key and its value");
            return;
        }
        json_object_foreach((json_t *)v, mk, mv) {
            c = &conds[*n];
            memset(c, 0, sizeof *c);
            c->kind = LP_WF_COND_METADATA;
            c->a = mk;
            c->b = value_text(r, mv, at(r, "%s.%s.%.60s", prefix, key, mk));
            if (!*mk)
                bad(r, at(r, "%s.%s", prefix, key), "keys must not be empty");
            ++*n;
        }
        return;
    }
    case LP_WF_COND_PATH:
        c->a = text(r, v, at(r, "%s.%s", prefix, key));
        if (c->a && !valid_path(c->a))
            bad(r, r->f, "must be a folder path like \"/\" or \"/a/b\" (no trailing or double '/')");
        break;
    case LP_WF_COND_NAME:
        c->a = text(r, v, at(r, "%s.%s", prefix, key));
        break;
    case LP_WF_COND_SLOT_TYPE:
        c->a = json_string_value(v);
        if (find_name(slot_types, 3, c->a) < 0)
            bad(r, at(r, "%s.%s", prefix, key), "must be \"image\", \"video\" or \"volume\"");
        break;
    default:
        bad(r, at(r, "%s.%.60s", prefix, key),
            "is not a condition (class_present, class_absent, annotation_count, property, metadata, path, "
            "name_pattern, slot_type)");
        return;
    }
    ++*n;
}

static void read_rules(rd *r, size_t i, const json_t *cfg, lp_wf_stage *st)
{
    static const char *const rule_members[] = {"name", "when", NULL};
    const json_t *v = json_object_get(cfg, "rules"), *e;
    size_t k;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > r->lim->rules_max) {
        bad(r, at(r, "stages[%zu].config.rules", i), "%s a list of 1 to %zu rules {\"name\", \"when\"}",
            v ? "must be" : "is required:", r->lim->rules_max);
        return;
    }
    lp_wf_rule *rules = alloc(r, json_array_size(v), sizeof *rules);
    if (!rules)
        return;
    json_array_foreach(v, k, e) {
        char prefix[64];
        lp_wf_rule *rule = &rules[k];
        snprintf(prefix, sizeof prefix, "stages[%zu].config.rules[%zu]", i, k);
        rule->name = "";
        if (!json_is_object(e)) {
            bad(r, prefix, "must be an object {\"name\", \"when\"}");
            continue;
        }
        only_members(r, e, prefix, rule_members, "a rule");
        const char *name = ident(r, json_object_get(e, "name"), at(r, "%s.name", prefix));
        if (name && strcmp(name, "default") == 0)
            bad(r, r->f, "\"default\" is the port taken when no rule matches; choose another name");
        for (size_t p = 0; name && p < k; p++)
            if (strcmp(rules[p].name, name) == 0)
                bad(r, r->f, "\"%s\" is also the name of rules[%zu]", name, p);
        if (name)
            rule->name = name;
        const json_t *when = json_object_get(e, "when"), *cv;
        const char *key;
        if (!json_is_object(when) || json_object_size(when) == 0) {
            bad(r, at(r, "%s.when", prefix), "must be an object of at least one condition");
            continue;
        }
        size_t ncond = 0;
        json_object_foreach((json_t *)when, key, cv)
            ncond += strcmp(key, "metadata") == 0 && json_is_object(cv) && json_object_size(cv) ? json_object_size(cv)
                                                                                                 : 1;
        if (!(rule->conds = alloc(r, ncond, sizeof *rule->conds)))
            return;
        char wp[80];
        snprintf(wp, sizeof wp, "%s.when", prefix);
        json_object_foreach((json_t *)when, key, cv)
            read_cond(r, wp, key, cv, rule->conds, &rule->nconds);
    }
    st->rules = rules;
    st->nrules = json_array_size(v);
}

static void read_sampling(rd *r, size_t i, const json_t *cfg, lp_wf_stage *st)
{
    static const char *const top_only[] = {"top", "score", "model_id", "random_share", NULL};
    const json_t *percent = json_object_get(cfg, "percent"), *top = json_object_get(cfg, "top");
    const json_t *score = json_object_get(cfg, "score"), *model = json_object_get(cfg, "model_id");
    for (size_t k = 0; percent && top_only[k]; k++)
        if (json_object_get(cfg, top_only[k])) {
            bad(r, at(r, "stages[%zu].config.%s", i, top_only[k]),
                "a sampling stage takes either \"percent\" or \"top\" (with \"score\"), not both");
            return;
        }
    if (!percent && !top) {
        bad(r, at(r, "stages[%zu].config.percent", i), "is required (0 to 100), or \"top\" with \"score\"");
        return;
    }
    if (percent) {
        st->sampling = LP_WF_SAMPLE_PERCENT;
        read_number(r, i, cfg, "percent", 0, false, 100, 0, &st->percent);
        return;
    }
    st->sampling = LP_WF_SAMPLE_TOP;
    read_int(r, i, cfg, "top", 1, INT64_MAX, true, &st->top);
    read_number(r, i, cfg, "random_share", 0, false, 1, 0, &st->random_share);
    st->score = LP_WF_SCORE_PRIORITY;
    if (score) {
        size_t k = 0;
        while (k < LP_WF_SCORE_COUNT && !(json_is_string(score) && strcmp(json_string_value(score), score_names[k]) == 0))
            k++;
        if (k == LP_WF_SCORE_COUNT) {
            bad(r, at(r, "stages[%zu].config.score", i),
                "must be one of priority, least_confidence, margin, entropy, novelty");
            return;
        }
        st->score = (lp_wf_score)k;
    }
    if (st->score == LP_WF_SCORE_PRIORITY) {
        if (model)
            bad(r, at(r, "stages[%zu].config.model_id", i), "is only for a model's score (score \"%s\" is the item's)",
                score_names[st->score]);
        return;
    }
    if (!model) {
        bad(r, at(r, "stages[%zu].config.model_id", i), "is required: the model whose runs scored the items");
        return;
    }
    st->model_id = uuid(r, model, at(r, "stages[%zu].config.model_id", i));
}

/* A model stage: {"model_id", "slot"?, "min_score"?, "accept"?}. */
static void read_model(rd *r, size_t i, const json_t *cfg, lp_wf_stage *st)
{
    const json_t *id = json_object_get(cfg, "model_id"), *slot = json_object_get(cfg, "slot");
    const json_t *accept = json_object_get(cfg, "accept");
    if (!id)
        bad(r, at(r, "stages[%zu].config.model_id", i), "is required: the id of a model of the team");
    else
        st->model_id = uuid(r, id, at(r, "stages[%zu].config.model_id", i));
    if (slot && !json_is_null(slot))
        st->model_slot = text(r, slot, at(r, "stages[%zu].config.slot", i));
    read_number(r, i, cfg, "min_score", 0, false, 1, 0.5, &st->min_score);
    if (accept && !json_is_boolean(accept))
        bad(r, at(r, "stages[%zu].config.accept", i), "must be true or false");
    st->accept = json_is_true(accept);
}

/* The type-specific part of a stage's config (cfg is an object, possibly empty). */
static void read_config(rd *r, size_t i, const json_t *cfg, lp_wf_stage *st)
{
    char prefix[48], what[48];
    const json_t *v;
    snprintf(prefix, sizeof prefix, "stages[%zu].config", i);
    snprintf(what, sizeof what, "the config of a %s stage", type_names[st->type]);
    only_members(r, cfg, prefix, config_members[st->type], what);
    read_states(r, i, cfg, st);
    switch (st->type) {
    case LP_WF_ANNOTATE:
        read_pool(r, i, cfg, "assignees", true, &st->pool);
        read_int(r, i, cfg, "max_open_tasks", 0, INT32_MAX, false, &st->max_open_tasks);
        break;
    case LP_WF_REVIEW:
        read_pool(r, i, cfg, "reviewers", false, &st->pool);
        break;
    case LP_WF_CONSENSUS: {
        int64_t n = 0;
        if (read_int(r, i, cfg, "annotators", 2, 5, true, &n))
            st->annotators = (int)n;
        read_number(r, i, cfg, "iou_threshold", 0, true, 1, 0.5, &st->iou_threshold);
        read_number(r, i, cfg, "agreement_threshold", 0, false, 1, 1.0, &st->agreement_threshold);
        read_pool(r, i, cfg, "assignees", false, &st->pool);
        if (st->annotators && !st->pool.any && st->pool.nuser_ids < (size_t)st->annotators)
            bad(r, at(r, "stages[%zu].config.assignees", i), "lists %zu users, fewer than the %d annotators",
                st->pool.nuser_ids, st->annotators);
        break;
    }
    case LP_WF_LOGIC:
        read_rules(r, i, cfg, st);
        break;
    case LP_WF_SAMPLING:
        read_sampling(r, i, cfg, st);
        break;
    case LP_WF_MODEL:
        read_model(r, i, cfg, st);
        break;
    case LP_WF_WEBHOOK:
        if ((v = json_object_get(cfg, "wait")) && !json_is_boolean(v))
            bad(r, at(r, "stages[%zu].config.wait", i), "must be true or false");
        st->wait = json_is_true(v);
        break;
    default:
        break;
    }
}

/* ---- stages ------------------------------------------------------------------------ */

static const char *const stage_members[] = {"id", "type", "name", "config", NULL};
static const char *const edge_members[] = {"from", "port", "to", NULL};

/* The ports of a stage whose type and config were read. */
static void set_ports(rd *r, lp_wf_stage *st)
{
    if (st->type == LP_WF_LOGIC) {
        const char **ports = alloc(r, st->nrules + 1, sizeof *ports);
        if (!ports)
            return;
        for (size_t k = 0; k < st->nrules; k++)
            ports[k] = st->rules[k].name;
        ports[st->nrules] = "default";
        st->ports = ports;
        st->nports = st->nrules + 1;
    } else {
        st->ports = fixed_ports[st->type];
        st->nports = fixed_ports[st->type][1] ? 2 : fixed_ports[st->type][0] ? 1 : 0;
    }
    if ((st->next = alloc(r, st->nports, sizeof *st->next)))
        for (size_t k = 0; k < st->nports; k++)
            st->next[k] = SIZE_MAX;
}

/* Reads stage i; *typed says its type is known (its ports can be checked). */
static void read_stage(rd *r, size_t i, const json_t *js, lp_wf_stage *st, bool *typed)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "stages[%zu]", i);
    st->id = "";
    *typed = false;
    if (!json_is_object(js)) {
        bad(r, prefix, "must be an object {\"id\", \"type\", \"name\", \"config\"}");
        return;
    }
    only_members(r, js, prefix, stage_members, "a stage");
    const char *id = ident(r, json_object_get(js, "id"), at(r, "stages[%zu].id", i));
    st->id = id ? id : "";
    const json_t *name = json_object_get(js, "name");
    st->name = st->id;
    if (name && !json_is_null(name) && (st->name = text(r, name, at(r, "stages[%zu].name", i))) == NULL)
        st->name = st->id;
    const json_t *type = json_object_get(js, "type");
    if (lp_wf_stage_type_from_name(json_string_value(type), &st->type) != 0) {
        bad(r, at(r, "stages[%zu].type", i), "must be one of dataset, annotate, review, consensus, logic, sampling, "
                                             "model, webhook, complete, discard");
        return;
    }
    const json_t *cfg = json_object_get(js, "config");
    if (cfg && !json_is_null(cfg) && !json_is_object(cfg)) {
        bad(r, at(r, "stages[%zu].config", i), "must be an object");
        cfg = NULL;
    }
    st->config = json_is_object(cfg) ? cfg : NULL;
    json_t *empty = NULL;
    if (!st->config && !(cfg = empty = json_object())) {
        r->nomem = true;
        return;
    }
    read_config(r, i, cfg, st);
    json_decref(empty);
    set_ports(r, st);
    *typed = !r->nomem;
}

/* ---- edges and the graph as a whole -------------------------------------------------- */

typedef struct idx {
    const char *id;
    size_t i;
} idx;

static int idx_cmp(const void *x, const void *y)
{
    const idx *a = x, *b = y;
    int c = strcmp(a->id, b->id);
    return c ? c : (a->i > b->i) - (a->i < b->i);
}

/* Index of the stage with this id in the sorted index, or -1. */
static int find_sorted(const idx *ix, size_t n, const char *id)
{
    size_t lo = 0, hi = n;
    while (id && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ix[mid].id, id);
        if (c == 0) {
            while (mid > 0 && strcmp(ix[mid - 1].id, id) == 0)
                mid--;
            return (int)ix[mid].i;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Edge j: joins a port of a stage to another; edge_of[i][k] records which edge joined port k of stage i. */
static void read_edge(rd *r, size_t j, const json_t *je, lp_wf_graph *g, const bool *typed, const idx *ix,
                      size_t **edge_of)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "edges[%zu]", j);
    if (!json_is_object(je)) {
        bad(r, prefix, "must be an object {\"from\", \"port\", \"to\"}");
        return;
    }
    only_members(r, je, prefix, edge_members, "an edge");
    const char *from_id = json_string_value(json_object_get(je, "from"));
    const char *port = json_string_value(json_object_get(je, "port"));
    const char *to_id = json_string_value(json_object_get(je, "to"));
    int from = find_sorted(ix, g->nstages, from_id), to = find_sorted(ix, g->nstages, to_id), k = -1;
    if (!from_id)
        bad(r, at(r, "edges[%zu].from", j), "is required: the id of a stage");
    else if (from < 0)
        bad(r, at(r, "edges[%zu].from", j), "no stage has the id \"%.64s\"", from_id);
    if (!to_id)
        bad(r, at(r, "edges[%zu].to", j), "is required: the id of a stage");
    else if (to < 0)
        bad(r, at(r, "edges[%zu].to", j), "no stage has the id \"%.64s\"", to_id);
    else if (g->stages[to].type == LP_WF_DATASET && typed[to])
        bad(r, at(r, "edges[%zu].to", j), "the dataset stage is the entry; no edge may lead to it");
    if (from < 0 || !typed[from])
        return;
    const lp_wf_stage *st = &g->stages[from];
    if (st->nports == 0) {
        bad(r, at(r, "edges[%zu].from", j), "a %s stage is an end: no edge may leave it", type_names[st->type]);
        return;
    }
    if (!port)
        bad(r, at(r, "edges[%zu].port", j), "is required: one of the ports of stage \"%.64s\"", st->id);
    else if ((k = lp_wf_stage_port(st, port)) < 0)
        bad(r, at(r, "edges[%zu].port", j), "stage \"%.64s\" (%s) has no port \"%.64s\"", st->id,
            type_names[st->type], port);
    else if (edge_of[from][k] != SIZE_MAX)
        bad(r, at(r, "edges[%zu].port", j), "port \"%s\" of stage \"%.64s\" is already joined by edges[%zu]", port,
            st->id, edge_of[from][k]);
    else {
        edge_of[from][k] = j; /* joined, even where "to" was refused: that error is enough */
        if (to >= 0)
            st->next[k] = (size_t)to;
    }
}

/* Every stage reachable from the entry (breadth first over joined ports). */
static void check_reachable(rd *r, const lp_wf_graph *g, const bool *typed)
{
    size_t *queue = alloc(r, g->nstages, sizeof *queue), head = 0, tail = 0;
    bool *seen = alloc(r, g->nstages, sizeof *seen);
    if (!queue || !seen)
        return;
    seen[g->entry] = true;
    queue[tail++] = g->entry;
    while (head < tail) {
        const lp_wf_stage *st = &g->stages[queue[head++]];
        for (size_t k = 0; k < st->nports; k++)
            if (st->next[k] != SIZE_MAX && !seen[st->next[k]]) {
                seen[st->next[k]] = true;
                queue[tail++] = st->next[k];
            }
    }
    for (size_t i = 0; i < g->nstages; i++)
        if (!seen[i] && typed[i])
            bad(r, at(r, "stages[%zu]", i), "stage \"%.64s\" cannot be reached from the dataset stage",
                g->stages[i].id);
}

/* No cycle among the stages a task passes without a person: a depth-first search over the
 * edges between non-human stages; an edge back to a stage on the search path closes such a loop. */
static void check_loops(rd *r, const lp_wf_graph *g, size_t **edge_of)
{
    enum { WHITE, GREY, BLACK };
    unsigned char *colour = alloc(r, g->nstages, 1);
    size_t *stack = alloc(r, g->nstages, sizeof *stack), *port = alloc(r, g->nstages, sizeof *port);
    if (!colour || !stack || !port)
        return;
    for (size_t s = 0; s < g->nstages; s++) {
        if (colour[s] != WHITE || lp_wf_stage_human(&g->stages[s]))
            continue;
        size_t depth = 0;
        stack[depth] = s;
        port[depth++] = 0;
        colour[s] = GREY;
        while (depth > 0) {
            size_t u = stack[depth - 1], k = port[depth - 1]++;
            const lp_wf_stage *st = &g->stages[u];
            if (k >= st->nports) {
                colour[u] = BLACK;
                depth--;
                continue;
            }
            size_t v = st->next[k];
            if (v == SIZE_MAX || lp_wf_stage_human(&g->stages[v]))
                continue;
            if (colour[v] == GREY)
                bad(r, at(r, "edges[%zu].to", edge_of[u][k]),
                    "closes a loop (\"%.64s\" back to \"%.64s\") that passes no annotate, review or consensus "
                    "stage: tasks would go round it for ever",
                    st->id, g->stages[v].id);
            else if (colour[v] == WHITE) {
                colour[v] = GREY;
                stack[depth] = v;
                port[depth++] = 0;
            }
        }
    }
}

int lp_wf_graph_read(const json_t *doc, const lp_wf_limits *lim, lp_arena *a, lp_wf_graph *out, lp_error *err)
{
    rd r = {.lim = lim, .a = a, .err = err};
    const json_t *stages = json_object_get(doc, "stages"), *edges = json_object_get(doc, "edges"), *v;
    size_t i, ndatasets = 0;
    memset(out, 0, sizeof *out);
    if (!json_is_object(doc))
        return lp_error_set(err, LP_E_INVALID, "a workflow definition must be a JSON object");
    if (!json_is_array(stages) || json_array_size(stages) < 1 || json_array_size(stages) > lim->stages_max)
        bad(&r, "stages", "must be a list of 1 to %zu stages", lim->stages_max);
    if (!json_is_array(edges))
        bad(&r, "edges", "must be a list of edges {\"from\", \"port\", \"to\"}");
    if (r.nbad)
        return -1;

    lp_wf_graph g = {.nstages = json_array_size(stages)};
    bool *typed = alloc(&r, g.nstages, sizeof *typed);
    idx *ix = alloc(&r, g.nstages, sizeof *ix);
    size_t **edge_of = alloc(&r, g.nstages, sizeof *edge_of);
    if (!(g.stages = alloc(&r, g.nstages, sizeof *g.stages)) || !typed || !ix || !edge_of)
        goto nomem;
    json_array_foreach(stages, i, v) {
        lp_wf_stage *st = &g.stages[i];
        read_stage(&r, i, v, st, &typed[i]);
        if (r.nomem)
            goto nomem;
        ix[i] = (idx){st->id, i};
        if (!(edge_of[i] = alloc(&r, st->nports, sizeof **edge_of)))
            goto nomem;
        for (size_t k = 0; k < st->nports; k++)
            edge_of[i][k] = SIZE_MAX;
        if (typed[i] && st->type == LP_WF_DATASET && ndatasets++ == 0)
            g.entry = i;
        else if (typed[i] && st->type == LP_WF_DATASET)
            bad(&r, at(&r, "stages[%zu].type", i), "a second dataset stage: a workflow has exactly one entry (\"%.64s\")",
                g.stages[g.entry].id);
    }
    qsort(ix, g.nstages, sizeof *ix, idx_cmp);
    for (i = 1; i < g.nstages; i++)
        if (*ix[i].id && strcmp(ix[i].id, ix[i - 1].id) == 0)
            bad(&r, at(&r, "stages[%zu].id", ix[i].i), "\"%s\" is also the id of stages[%zu]", ix[i].id, ix[i - 1].i);
    if (ndatasets == 0)
        bad(&r, "stages", "needs one stage of type dataset: the entry where items come in");

    /* No graph of this many stages has more ports than this: a longer list is refused whole. */
    size_t edges_max = g.nstages * (lim->rules_max + 1);
    if (json_array_size(edges) > edges_max)
        bad(&r, "edges", "must be a list of at most %zu edges (one per port of %zu stages)", edges_max, g.nstages);
    else
        json_array_foreach(edges, i, v) {
            read_edge(&r, i, v, &g, typed, ix, edge_of);
            if (r.nomem)
                goto nomem;
        }
    for (i = 0; i < g.nstages; i++)
        for (size_t k = 0; typed[i] && k < g.stages[i].nports; k++)
            if (edge_of[i][k] == SIZE_MAX)
                bad(&r, at(&r, "stages[%zu]", i), "port \"%s\" of stage \"%.64s\" is joined to no edge",
                    g.stages[i].ports[k], g.stages[i].id);
    if (ndatasets == 1)
        check_reachable(&r, &g, typed);
    check_loops(&r, &g, edge_of);
    if (r.nomem)
        goto nomem;
    if (r.nbad)
        return -1;
    *out = g;
    return 0;
nomem:
    return lp_error_set(err, LP_E_NOMEM, "out of memory reading the workflow definition");
}
