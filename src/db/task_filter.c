/* Task filters and bulk actions on tasks as JSON documents. See
 * loupe/db/task_filter.h. */
#include "loupe/db/task_filter.h"

#include <stdio.h>
#include <string.h>

#include "loupe/core/util.h"
#include "loupe/db/item_filter.h"

static const char *const OPS[] = {[LP_TASKS_SEND_TO_STAGE] = "send_to_stage", [LP_TASKS_SET_STATE] = "set_state",
                                  [LP_TASKS_ASSIGN] = "assign"};

const char *lp_tasks_op_name(lp_tasks_op op)
{
    return (unsigned)op < sizeof OPS / sizeof OPS[0] ? OPS[op] : "?";
}

int lp_tasks_op_parse(const char *name, lp_tasks_op *out)
{
    for (size_t k = 0; name && k < sizeof OPS / sizeof OPS[0]; k++)
        if (strcmp(name, OPS[k]) == 0) {
            *out = (lp_tasks_op)k;
            return 0;
        }
    return -1;
}

/* A lower-case copy of a UUID, or NULL (out of memory). */
static char *uuid_lower(lp_arena *a, const char *s)
{
    char *c = lp_arena_strdup(a, s);
    for (char *q = c; q && *q; q++)
        if (*q >= 'A' && *q <= 'F')
            *q = (char)(*q - 'A' + 'a');
    return c;
}

/* Member name of doc: a UUID (required or optional). */
static const char *read_uuid(const json_t *doc, const char *name, int required, lp_arena *a, lp_error *err)
{
    const json_t *v = json_object_get(doc, name);
    char field[48];
    snprintf(field, sizeof field, "filters.%s", name);
    if (!v) {
        if (required)
            lp_error_field(err, LP_E_INVALID, field, "is required");
        return NULL;
    }
    if (!json_is_string(v) || !lp_is_uuid(json_string_value(v))) {
        lp_error_field(err, LP_E_INVALID, field, "must be a UUID");
        return NULL;
    }
    return uuid_lower(a, json_string_value(v));
}

static const char *read_name(const json_t *doc, const char *name, lp_error *err)
{
    const json_t *v = json_object_get(doc, name);
    char field[48];
    snprintf(field, sizeof field, "filters.%s", name);
    if (!v)
        return NULL;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > LP_FILTER_STAGE_NAME_MAX) {
        lp_error_field(err, LP_E_INVALID, field, "must be a stage id or state name of 1 to %d bytes",
                       LP_FILTER_STAGE_NAME_MAX);
        return NULL;
    }
    return json_string_value(v);
}

/* A list of UUIDs as JSON array text (arena), or NULL when absent. */
static const char *read_ids(const json_t *doc, const char *name, lp_arena *a, lp_error *err)
{
    const json_t *v = json_object_get(doc, name), *e;
    char field[64];
    size_t i;
    if (!v)
        return NULL;
    snprintf(field, sizeof field, "filters.%s", name);
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > LP_TASKS_IDS_MAX) {
        lp_error_field(err, LP_E_INVALID, field, "must be an array of 1 to %d UUIDs", LP_TASKS_IDS_MAX);
        return NULL;
    }
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || !lp_is_uuid(json_string_value(e))) {
            snprintf(field, sizeof field, "filters.%s[%zu]", name, i);
            lp_error_field(err, LP_E_INVALID, field, "must be a UUID");
            return NULL;
        }
    }
    char *text = json_dumps(v, JSON_COMPACT);
    const char *out = text ? uuid_lower(a, text) : NULL;
    free(text);
    if (!out)
        lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", field);
    return out;
}

int lp_task_filter_read(const json_t *doc, const char *team_id, lp_arena *a, lp_task_filter *out, lp_error *err)
{
    static const char *const KNOWN[] = {"workflow_id", "stage", "state", "assignee_id", "task_ids", "item_ids", NULL};
    const char *key;
    const json_t *v;
    lp_code before = err->code;

    memset(out, 0, sizeof *out);
    out->team_id = team_id;
    if (!json_is_object(doc))
        return lp_error_field(err, LP_E_INVALID, "filters", "must be an object with workflow_id");
    json_object_foreach((json_t *)doc, key, v) {
        size_t k = 0;
        while (KNOWN[k] && strcmp(KNOWN[k], key) != 0)
            k++;
        if (!KNOWN[k]) {
            char field[96];
            snprintf(field, sizeof field, "filters.%.60s", key);
            lp_error_field(err, LP_E_INVALID, field,
                           "is not a known filter (workflow_id, stage, state, assignee_id, task_ids, item_ids)");
        }
    }
    out->workflow_id = read_uuid(doc, "workflow_id", 1, a, err);
    out->stage = read_name(doc, "stage", err);
    out->state = read_name(doc, "state", err);
    if (json_is_null(json_object_get(doc, "assignee_id")))
        out->unassigned = true;
    else
        out->assignee_id = read_uuid(doc, "assignee_id", 0, a, err);
    out->task_ids_json = read_ids(doc, "task_ids", a, err);
    out->item_ids_json = read_ids(doc, "item_ids", a, err);
    return err->code == before ? 0 : -1;
}

json_t *lp_tasks_bulk_payload(const json_t *filters, const lp_tasks_change *c)
{
    json_t *p = json_pack("{s:O, s:s}", "filters", filters, "action", lp_tasks_op_name(c->op));
    if (!p)
        return NULL;
    if ((c->op == LP_TASKS_SEND_TO_STAGE && json_object_set_new(p, "stage", json_string(c->to_stage)) != 0) ||
        (c->to_state && json_object_set_new(p, "state", json_string(c->to_state)) != 0) ||
        (c->op == LP_TASKS_ASSIGN &&
         json_object_set_new(p, "user_id", c->user_id ? json_string(c->user_id) : json_null()) != 0) ||
        (c->actor_id && json_object_set_new(p, "requested_by", json_string(c->actor_id)) != 0)) {
        json_decref(p);
        return NULL;
    }
    return p;
}

int lp_tasks_bulk_read_payload(const json_t *payload, const char *team_id, lp_arena *a, lp_task_filter *f,
                               lp_tasks_change *c, lp_error *err)
{
    const char *action = json_string_value(json_object_get(payload, "action"));
    const json_t *user = json_object_get(payload, "user_id"), *by = json_object_get(payload, "requested_by");

    memset(c, 0, sizeof *c);
    if (lp_task_filter_read(json_object_get(payload, "filters"), team_id, a, f, err) != 0)
        return -1;
    if (lp_tasks_op_parse(action, &c->op) != 0)
        return lp_error_field(err, LP_E_INVALID, "action", "must be send_to_stage, set_state or assign");
    c->to_stage = json_string_value(json_object_get(payload, "stage"));
    c->to_state = json_string_value(json_object_get(payload, "state"));
    c->user_id = json_is_string(user) && lp_is_uuid(json_string_value(user)) ? json_string_value(user) : NULL;
    c->actor_id = json_is_string(by) && lp_is_uuid(json_string_value(by)) ? json_string_value(by) : NULL;
    if (c->op == LP_TASKS_SEND_TO_STAGE && (!c->to_stage || !c->to_state))
        return lp_error_field(err, LP_E_INVALID, "stage", "send_to_stage needs a stage and its first state");
    if (c->op == LP_TASKS_SET_STATE && !c->to_state)
        return lp_error_field(err, LP_E_INVALID, "state", "set_state needs a state");
    if (c->op == LP_TASKS_ASSIGN && user && !json_is_null(user) && !c->user_id)
        return lp_error_field(err, LP_E_INVALID, "user_id", "must be a UUID or null");
    return 0;
}
