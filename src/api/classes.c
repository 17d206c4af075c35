/* Annotation classes: CRUD at /api/v1/classes (docs/ANNOTATIONS.md).
 *
 * Reads need READ, writes MANAGE. A class document is validated whole (a
 * PATCH merges the members sent over the stored class first), so a class in
 * the database always satisfies the rules below. Deleting a class that
 * annotations use answers 409 unless ?force=true, which deletes those
 * annotations in the same transaction. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "classes_int.h"

#include "identity_int.h"
#include "respond_int.h"
#include "loupe/annotation/annotation.h"
#include "handlers_int.h"
#include "loupe/api/input.h"
#include "loupe/core/util.h"
#include "loupe/db/classes_sql.h"

/* Class, property, option and skeleton node names: class_name_max bytes. */
#define CLASS_NAME_LIMIT (size_t)req->svc->cfg->class_name_max, "class_name_max"
#define CLASS_MAX_PROPERTIES 100
#define CLASS_MAX_OPTIONS 1000
#define CLASS_MAX_NODES 1000
#define DEFAULT_COLOR "#888888"

/* "type" is Darwin's single annotation type (metadata.json): it stands for
 * annotation_types [type] when those are not given. */
static const char *const class_members[] = {"name", "annotation_types", "type", "color", "description", "properties",
                                            "skeleton", "sub_types", NULL};
#define COLOR_MAX 64
#define COLOR_WANT "must be a colour like \"#ff0055\" or \"rgba(255,0,85,1.0)\""

/* "#rrggbb", or Darwin's "rgba(r,g,b,a)" / "rgb(r,g,b)" (kept as written):
 * integers 0 … 255 and an alpha from 0 to 1. */
static int is_color(const char *s)
{
    if (s[0] == '#') {
        if (strlen(s) != 7)
            return 0;
        for (int i = 1; i < 7; i++) {
            char c = s[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
                return 0;
        }
        return 1;
    }
    int alpha = strncmp(s, "rgba(", 5) == 0;
    if (!alpha && strncmp(s, "rgb(", 4) != 0)
        return 0;
    const char *p = s + (alpha ? 5 : 4);
    for (int k = 0; k < (alpha ? 4 : 3); k++) {
        char *end;
        while (*p == ' ')
            p++;
        double v = strtod(p, &end);
        if (end == p || v < 0 || v > (k == 3 ? 1.0 : 255.0) || (k < 3 && v != (double)(int)v))
            return 0;
        p = end;
        while (*p == ' ')
            p++;
        if (*p != (k == (alpha ? 3 : 2) ? ')' : ','))
            return 0;
        p++;
    }
    return *p == '\0';
}

/* "#AbCdEf" → "#abcdef" in the arena. */
static const char *lower_color(lp_req *req, const char *s)
{
    char *c = lp_arena_strdup(req->arena, s);
    for (char *p = c; p && *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    return c;
}

/* A JSON array of distinct strings, each accepted by ok(); out is its compact
 * text. */
static void read_name_list(lp_req *req, json_t *doc, const char *name, int required, int (*ok)(const char *),
                           const char *what, const char **out)
{
    json_t *arr = NULL, *v;
    size_t i;
    if (lp_in_array(req, doc, "", name, required ? LP_IN_REQUIRED : LP_IN_OPTIONAL, 64, &arr) != 0 || !arr)
        return;
    if (required && json_array_size(arr) == 0) {
        lp_error_field(&req->err, LP_E_INVALID, name, "must name at least one %s", what);
        return;
    }
    json_array_foreach(arr, i, v) {
        const char *field = lp_arena_printf(req->arena, "%s[%zu]", name, i);
        if (!json_is_string(v) || !ok(json_string_value(v))) {
            lp_error_field(&req->err, LP_E_INVALID, field ? field : name, "must be %s", what);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (json_equal(json_array_get(arr, j), v))
                lp_error_field(&req->err, LP_E_INVALID, field ? field : name, "repeats \"%s\"", json_string_value(v));
    }
    *out = json_dumps(arr, JSON_COMPACT);
    if (*out) {
        const char *copy = lp_arena_strdup(req->arena, *out);
        free((void *)*out);
        *out = copy;
    }
}

static int type_ok(const char *s)
{
    int t;
    return lp_ann_type_from_name(s, strlen(s), &t) == 0;
}

static int sub_type_ok(const char *s) { return lp_ann_sub_type_flag(s) != 0; }

static const char *const property_types[] = {"single_select", "multi_select", "text", "number", NULL};
static const char *const granularities[] = {"item", "annotation", "frame", NULL};
/* Darwin's property_values (its options, colours and all) are kept as sent;
 * parent_name and trigger_condition nest a property under another of the
 * class (shown when the parent's value matches). */
static const char *const property_members[] = {
    "id",          "name",            "type",        "granularity",       "required", "options",
    "description", "property_values", "parent_name", "trigger_condition", NULL};
static const char *const trigger_types[] = {"value_match", "any_value", "no_value", NULL};

/* Checks an option's colour ("options[k].color"): kept, "#rrggbb" lower-cased. */
static void read_option_color(lp_req *req, json_t *o, const char *op)
{
    const char *color = NULL;
    if (lp_in_string(req, o, op, "color", LP_IN_OPTIONAL, COLOR_MAX, &color) != 0 || !color)
        return;
    if (!is_color(color))
        lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%scolor", op), COLOR_WANT);
    else if (color[0] == '#')
        json_object_set_new(o, "color", json_string(lower_color(req, color)));
}

/* parent_name names another property of the class; trigger_condition says
 * when the child shows: {"type": value_match, "values": [options of the
 * parent]}, {"type": any_value} or {"type": no_value}. */
static void read_nesting(lp_req *req, json_t *props, size_t i, const char *prefix)
{
    static const char *const trigger_members[] = {"type", "values", NULL};
    json_t *p = json_array_get(props, i), *trig = NULL, *parent = NULL, *q, *values = NULL;
    const char *parent_name = NULL;
    size_t k;
    int ttype = -1;
    lp_in_string_limit(req, p, prefix, "parent_name", LP_IN_OPTIONAL, CLASS_NAME_LIMIT, &parent_name);
    lp_in_object(req, p, prefix, "trigger_condition", LP_IN_OPTIONAL, &trig);
    if (!parent_name) {
        if (trig)
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%strigger_condition", prefix),
                           "applies only to a nested property (with parent_name)");
        return;
    }
    json_array_foreach(props, k, q) {
        const char *n = json_string_value(json_object_get(q, "name"));
        if (k != i && n && strcmp(n, parent_name) == 0)
            parent = q;
    }
    if (!parent)
        lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%sparent_name", prefix),
                       "the class has no other property named \"%.100s\"", parent_name);
    if (!trig)
        return;
    const char *tp = lp_arena_printf(req->arena, "%strigger_condition.", prefix);
    lp_in_only(req, trig, tp, trigger_members);
    lp_in_enum(req, trig, tp, "type", LP_IN_REQUIRED, trigger_types, &ttype);
    lp_in_array(req, trig, tp, "values", LP_IN_OPTIONAL, CLASS_MAX_OPTIONS, &values);
    json_array_foreach(values, k, q) {
        json_t *o, *opts = parent ? json_object_get(parent, "options") : NULL;
        size_t m;
        int found = !parent;
        json_array_foreach(opts, m, o)
            if (json_equal(json_object_get(o, "value"), q))
                found = 1;
        if (!json_is_string(q) || !found)
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%svalues[%zu]", tp, k),
                           "must be an option of property \"%.100s\"", parent_name);
    }
    if (ttype == 0 && json_array_size(values) == 0)
        lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%svalues", tp),
                       "must list the parent's values that show this property");
}

/* Darwin's property_values [{value, color?, …}] are kept as sent; a select
 * property without options takes its options from them. */
static void read_property_values(lp_req *req, json_t *p, const char *prefix, int select, json_t **opts)
{
    json_t *pv = NULL, *o;
    size_t k;
    if (lp_in_array(req, p, prefix, "property_values", LP_IN_OPTIONAL, CLASS_MAX_OPTIONS, &pv) != 0 || !pv)
        return;
    json_t *derived = select && !*opts ? json_array() : NULL;
    json_array_foreach(pv, k, o) {
        const char *op = lp_arena_printf(req->arena, "%sproperty_values[%zu].", prefix, k);
        const char *value = NULL;
        if (!json_is_object(o)) {
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%sproperty_values[%zu]", prefix, k),
                           "must be an object like {\"value\": \"red\"}");
            continue;
        }
        lp_in_string_limit(req, o, op, "value", LP_IN_REQUIRED, CLASS_NAME_LIMIT, &value);
        const char *color = json_string_value(json_object_get(o, "color"));
        if (color && !is_color(color))
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%scolor", op), COLOR_WANT);
        if (derived && value) {
            json_t *opt = json_pack("{s:s}", "value", value);
            if (opt && color && is_color(color))
                json_object_set_new(opt, "color", json_string(color[0] == '#' ? lower_color(req, color) : color));
            json_array_append_new(derived, opt);
        }
    }
    if (derived) {
        json_object_set_new(p, "options", derived);
        *opts = derived;
    }
}

/* Darwin spells "single-select" and "section"; accept those and store ours. */
static void normalise_property(json_t *p)
{
    const char *t = json_string_value(json_object_get(p, "type"));
    const char *g = json_string_value(json_object_get(p, "granularity"));
    if (t && strcmp(t, "single-select") == 0)
        json_object_set_new(p, "type", json_string("single_select"));
    else if (t && strcmp(t, "multi-select") == 0)
        json_object_set_new(p, "type", json_string("multi_select"));
    if (g && strcmp(g, "section") == 0)
        json_object_set_new(p, "granularity", json_string("frame"));
}

/* Validates and normalises properties (a copy is made); *out is its text. */
static void read_properties(lp_req *req, json_t *doc, const char **out)
{
    json_t *arr = NULL, *p, *copy;
    size_t i;
    if (lp_in_array(req, doc, "", "properties", LP_IN_OPTIONAL, CLASS_MAX_PROPERTIES, &arr) != 0)
        return;
    if (!arr) {
        *out = "[]";
        return;
    }
    copy = json_deep_copy(arr);
    if (!copy) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        return;
    }
    json_array_foreach(copy, i, p) {
        const char *prefix = lp_arena_printf(req->arena, "properties[%zu].", i);
        const char *id = NULL, *name = NULL, *desc = NULL;
        int type = -1, gran = 1, required = 0;
        json_t *opts = NULL;
        if (!prefix)
            break;
        if (!json_is_object(p)) {
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "properties[%zu]", i),
                           "must be an object");
            continue;
        }
        normalise_property(p);
        lp_in_only(req, p, prefix, property_members);
        lp_in_uuid(req, p, prefix, "id", LP_IN_OPTIONAL, &id);
        lp_in_string_limit(req, p, prefix, "name", LP_IN_REQUIRED, CLASS_NAME_LIMIT, &name);
        lp_in_enum(req, p, prefix, "type", LP_IN_REQUIRED, property_types, &type);
        lp_in_enum(req, p, prefix, "granularity", LP_IN_OPTIONAL, granularities, &gran);
        lp_in_bool(req, p, prefix, "required", LP_IN_OPTIONAL, &required);
        lp_in_string(req, p, prefix, "description", LP_IN_OPTIONAL, 0, &desc);
        lp_in_array(req, p, prefix, "options", LP_IN_OPTIONAL, CLASS_MAX_OPTIONS, &opts);
        read_property_values(req, p, prefix, type == 0 || type == 1, &opts);
        for (size_t j = 0; j < i && name; j++) {
            const char *other = json_string_value(json_object_get(json_array_get(copy, j), "name"));
            if (other && strcmp(other, name) == 0)
                lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%sname", prefix),
                               "repeats the property name \"%s\"", name);
        }
        if (type == 0 || type == 1) {
            json_t *o;
            size_t k;
            if (!opts || json_array_size(opts) == 0)
                lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%soptions", prefix),
                               "must list at least one option for a select property");
            json_array_foreach(opts, k, o) {
                const char *op = lp_arena_printf(req->arena, "%soptions[%zu].", prefix, k);
                static const char *const option_members[] = {"value", "color", NULL};
                const char *value = NULL;
                if (!json_is_object(o)) {
                    lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%soptions[%zu]", prefix, k),
                                   "must be an object like {\"value\": \"red\"}");
                    continue;
                }
                lp_in_only(req, o, op, option_members);
                lp_in_string_limit(req, o, op, "value", LP_IN_REQUIRED, CLASS_NAME_LIMIT, &value);
                read_option_color(req, o, op);
                for (size_t j = 0; j < k && value; j++) {
                    const char *other = json_string_value(json_object_get(json_array_get(opts, j), "value"));
                    if (other && strcmp(other, value) == 0)
                        lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%svalue", op),
                                       "repeats the option \"%s\"", value);
                }
            }
        } else if (type >= 0 && opts) {
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%soptions", prefix),
                           "applies only to single_select and multi_select properties");
        }
        if (!id) {
            char uuid[37];
            if (lp_uuid_v4(uuid) == 0)
                json_object_set_new(p, "id", json_string(uuid));
        }
        if (!json_object_get(p, "granularity"))
            json_object_set_new(p, "granularity", json_string("annotation"));
        if (!json_object_get(p, "required"))
            json_object_set_new(p, "required", json_false());
        if (!json_object_get(p, "options") && (type == 0 || type == 1))
            json_object_set_new(p, "options", json_array());
    }
    /* nesting names other properties: checked once all are read */
    json_array_foreach(copy, i, p) {
        const char *prefix = lp_arena_printf(req->arena, "properties[%zu].", i);
        if (prefix && json_is_object(p))
            read_nesting(req, copy, i, prefix);
    }
    char *text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    *out = text ? lp_arena_strdup(req->arena, text) : NULL;
    free(text);
}

/* {nodes: [{name}], edges: [[i, j]]} */
static void read_skeleton(lp_req *req, json_t *doc, int allowed, const char **out)
{
    static const char *const members[] = {"nodes", "edges", NULL};
    json_t *sk = json_object_get(doc, "skeleton"), *nodes = NULL, *edges = NULL, *v;
    size_t i;
    if (!sk || json_is_null(sk)) {
        *out = NULL;
        return;
    }
    if (!json_is_object(sk)) {
        lp_error_field(&req->err, LP_E_INVALID, "skeleton", "must be an object like {\"nodes\": [{\"name\": …}], "
                                                            "\"edges\": [[0, 1]]}");
        return;
    }
    if (!allowed)
        lp_error_field(&req->err, LP_E_INVALID, "skeleton", "applies only to classes whose annotation_types include "
                                                            "\"skeleton\"");
    lp_in_only(req, sk, "skeleton.", members);
    lp_in_array(req, sk, "skeleton.", "nodes", LP_IN_REQUIRED, CLASS_MAX_NODES, &nodes);
    lp_in_array(req, sk, "skeleton.", "edges", LP_IN_OPTIONAL, CLASS_MAX_NODES * 4, &edges);
    if (nodes && json_array_size(nodes) == 0)
        lp_error_field(&req->err, LP_E_INVALID, "skeleton.nodes", "must list at least one node");
    json_array_foreach(nodes, i, v) {
        static const char *const node_members[] = {"name", NULL};
        const char *prefix = lp_arena_printf(req->arena, "skeleton.nodes[%zu].", i), *name = NULL;
        if (!json_is_object(v)) {
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "skeleton.nodes[%zu]", i),
                           "must be an object like {\"name\": \"head\"}");
            continue;
        }
        lp_in_only(req, v, prefix, node_members);
        lp_in_string_limit(req, v, prefix, "name", LP_IN_REQUIRED, CLASS_NAME_LIMIT, &name);
        for (size_t j = 0; j < i && name; j++) {
            const char *other = json_string_value(json_object_get(json_array_get(nodes, j), "name"));
            if (other && strcmp(other, name) == 0)
                lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%sname", prefix),
                               "repeats the node name \"%s\"", name);
        }
    }
    json_array_foreach(edges, i, v) {
        const char *field = lp_arena_printf(req->arena, "skeleton.edges[%zu]", i);
        json_t *a = json_array_get(v, 0), *b = json_array_get(v, 1);
        size_t n = json_array_size(nodes);
        if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(a) || !json_is_integer(b) ||
            json_integer_value(a) < 0 || json_integer_value(b) < 0 || (size_t)json_integer_value(a) >= n ||
            (size_t)json_integer_value(b) >= n || json_integer_value(a) == json_integer_value(b))
            lp_error_field(&req->err, LP_E_INVALID, field ? field : "skeleton.edges",
                           "must be a pair of two different node indexes below %zu", n);
    }
    json_t *empty = json_array(); /* "O" takes a reference of its own */
    json_t *norm = json_pack("{s:O, s:O}", "nodes", nodes ? nodes : empty, "edges", edges ? edges : empty);
    char *text = norm ? json_dumps(norm, JSON_COMPACT) : NULL;
    json_decref(norm);
    json_decref(empty);
    *out = text ? lp_arena_strdup(req->arena, text) : NULL;
    free(text);
}

/* Validates a whole class document into v. Field errors go to req->err. */
static void read_class(lp_req *req, json_t *doc, lp_class_values *v)
{
    static const char *const type_want = "an annotation type (bounding_box, rotated_box, polygon, complex_polygon, line, "
                                         "keypoint, skeleton, ellipse, cuboid, tag, mask, text, raster_layer, table, "
                                         "simple_table, string, graph)";
    const char *color = NULL, *darwin_type = NULL;
    memset(v, 0, sizeof *v);
    lp_in_only(req, doc, "", class_members);
    lp_in_string_limit(req, doc, "", "name", LP_IN_REQUIRED, CLASS_NAME_LIMIT, &v->name);
    if (lp_in_string(req, doc, "", "type", LP_IN_OPTIONAL, 64, &darwin_type) == 0 && darwin_type &&
        !type_ok(darwin_type))
        lp_error_field(&req->err, LP_E_INVALID, "type", "must be %s", type_want);
    read_name_list(req, doc, "annotation_types", !darwin_type, type_ok, type_want, &v->annotation_types);
    if (darwin_type && !v->annotation_types)
        v->annotation_types = lp_arena_printf(req->arena, "[\"%s\"]", darwin_type);
    else if (darwin_type && v->annotation_types &&
             !strstr(v->annotation_types, lp_arena_printf(req->arena, "\"%s\"", darwin_type)))
        lp_error_field(&req->err, LP_E_INVALID, "type", "must be one of annotation_types");
    if (lp_in_string(req, doc, "", "color", LP_IN_OPTIONAL, COLOR_MAX, &color) == 0) {
        if (color && !is_color(color))
            lp_error_field(&req->err, LP_E_INVALID, "color", COLOR_WANT);
        v->color = !color ? DEFAULT_COLOR : color[0] == '#' ? lower_color(req, color) : color;
    }
    json_t *d = json_object_get(doc, "description");
    if (d && !json_is_null(d)) {
        if (!json_is_string(d) || json_string_length(d) > (size_t)req->svc->cfg->string_max_length ||
            strlen(json_string_value(d)) != json_string_length(d))
            lp_error_field(&req->err, LP_E_INVALID, "description", "must be a string of at most %lld bytes",
                           (long long)req->svc->cfg->string_max_length);
        else
            v->description = json_string_value(d);
    }
    if (!v->description)
        v->description = "";
    read_properties(req, doc, &v->properties);
    read_name_list(req, doc, "sub_types", 0, sub_type_ok,
                   "one of attributes, text, instance_id, directional_vector, inference, measures", &v->sub_types);
    if (!v->sub_types)
        v->sub_types = "[]";
    int skeleton = v->annotation_types && strstr(v->annotation_types, "\"skeleton\"") != NULL;
    read_skeleton(req, doc, skeleton, &v->skeleton);
    if (req->err.code == LP_OK && (!v->properties || !v->annotation_types || !v->sub_types))
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading the class");
}

static json_t *parsed(const char *text)
{
    json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    return j ? j : json_null();
}

static json_t *class_json(const lp_class_row *c)
{
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:s, s:s}", "id", c->id, "name", c->name,
                     "annotation_types", parsed(c->annotation_types), "color", c->color, "description",
                     c->description, "properties", parsed(c->properties), "skeleton", parsed(c->skeleton),
                     "sub_types", parsed(c->sub_types), "created_at", c->created_at, "updated_at", c->updated_at);
}

static json_t *class_at(const void *rows, size_t i)
{
    return class_json((const lp_class_row *)rows + i);
}

static void name_taken(lp_req *req, const char *name)
{
    lp_error_set(&req->err, LP_E_CONFLICT, "the team already has a class named \"%.200s\"", name);
    lp_error_hint(&req->err, "choose another name, or update the existing class");
}

int lp_api_class_create(lp_req *req)
{
    json_t *body = lp_req_json(req, 1);
    lp_class_values v;
    lp_class_row row;
    lp_db *db;
    int rc = -1, made;

    if (!body)
        return -1;
    read_class(req, body, &v);
    if (req->err.code != LP_OK || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 &&
        (made = lp_db_class_create(db, req->arena, req->who.team_id, &v, &row, &req->err)) >= 0) {
        if (made == 1)
            name_taken(req, v.name);
        else if (lp_audit_record(db, req->who.team_id, req->who.user_id, "class.create", "class", row.id,
                                   json_pack("{s:s}", "name", v.name), &req->err) == 0 &&
                 lp_db_commit(db, &req->err) == 0)
            rc = 0;
    }
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_api_respond_created(req, "/api/v1/classes", row.id, class_json(&row));
}

static void class_cursor(lp_req *req, const void *rows, size_t i, const void *ctx, const char **key, const char **id)
{
    (void)req;
    const lp_class_row *r = (const lp_class_row *)rows + i;
    (void)ctx;
    *key = r->name;
    *id = r->id;
}

int lp_api_class_list(lp_req *req)
{
    lp_page page;
    lp_class_row *rows;
    size_t n;
    lp_db *db;

    if (lp_page_read(req, &page) != 0 || !(db = lp_req_db(req)))
        return -1;
    int rc = lp_db_class_list(db, req->arena, req->who.team_id, page.after_key, page.after_id, page.size + 1, &rows,
                              &n, &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    return lp_api_respond_keyset(req, "classes", &page, rows, n, class_at, class_cursor, NULL);
}

int lp_api_class_get(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "class");
    lp_class_row row;
    lp_db *db;
    if (!id || !(db = lp_req_db(req)))
        return -1;
    int rc = lp_db_class_get(db, req->arena, req->who.team_id, id, &row, &req->err);
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_json(req, 200, class_json(&row));
}

int lp_api_class_update(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "class");
    json_t *body, *doc = NULL, *val;
    const char *key;
    lp_class_values v;
    lp_class_row row;
    lp_db *db;
    int rc = -1, done;

    if (!id || !(body = lp_req_json(req, 1)))
        return -1;
    if (lp_in_only(req, body, "", class_members) != 0)
        return -1;
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) != 0 || lp_db_class_get(db, req->arena, req->who.team_id, id, &row, &req->err) != 0)
        goto done;
    doc = class_json(&row);
    if (!doc) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        goto done;
    }
    static const char *const stored_only[] = {"id", "created_at", "updated_at", NULL};
    for (int i = 0; stored_only[i]; i++)
        json_object_del(doc, stored_only[i]);
    json_object_foreach(body, key, val)
        json_object_set(doc, key, val);
    read_class(req, doc, &v);
    if (req->err.code != LP_OK)
        goto done;
    done = lp_db_class_update(db, req->arena, req->who.team_id, id, &v, &row, &req->err);
    if (done == 1)
        name_taken(req, v.name);
    else if (done == 0 && lp_audit_record(db, req->who.team_id, req->who.user_id, "class.update", "class", id,
                                            json_deep_copy(body), &req->err) == 0 &&
             lp_db_commit(db, &req->err) == 0)
        rc = 0;
done:
    json_decref(doc);
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_json(req, 200, class_json(&row));
}

int lp_api_class_delete(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "class"), *force_s = lp_req_query(req, "force");
    lp_class_row row;
    lp_db *db;
    int rc = -1, force = 0;
    int64_t deleted = 0, items = 0;

    if (!id)
        return -1;
    if (force_s) {
        if (strcmp(force_s, "true") == 0)
            force = 1;
        else if (strcmp(force_s, "false") != 0)
            return lp_error_field(&req->err, LP_E_MALFORMED, "force", "must be true or false");
    }
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) != 0 || lp_db_class_get(db, req->arena, req->who.team_id, id, &row, &req->err) != 0)
        goto done;
    if (!force) {
        int64_t used = lp_db_class_usage(db, req->who.team_id, id, &req->err);
        if (used < 0)
            goto done;
        if (used > 0) {
            lp_error_set(&req->err, LP_E_CONFLICT, "class %s is used by %lld annotations", id, (long long)used);
            lp_error_hint(&req->err, "delete with ?force=true to delete those annotations too");
            goto done;
        }
    }
    if (lp_db_class_delete(db, req->who.team_id, id, &deleted, &items, &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "class.delete", "class", id,
                          json_pack("{s:s, s:b, s:I, s:I}", "name", row.name, "force", force, "annotations_deleted",
                                    (json_int_t)deleted, "items_touched", (json_int_t)items),
                          &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
done:
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_empty(req, 204);
}

int lp_api_class_map_check(lp_req *req, lp_db *db, const json_t *map, const char *prefix)
{
    json_t *ids, *val;
    const char *key;
    lp_class_row *rows;
    size_t n;
    char *ij;
    if (!json_is_object(map) || json_object_size(map) == 0)
        return 0;
    if (!(ids = json_array()))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    json_object_foreach((json_t *)map, key, val) json_array_append(ids, val);
    ij = json_dumps(ids, JSON_COMPACT);
    json_decref(ids);
    int rc = ij ? lp_db_classes_by_ids(db, req->arena, req->who.team_id, ij, &rows, &n, &req->err)
                : lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    free(ij);
    if (rc != 0)
        return -1;
    json_object_foreach((json_t *)map, key, val) {
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
            found = strcmp(rows[i].id, json_string_value(val)) == 0;
        if (!found)
            lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "%s%.100s", prefix, key),
                           "is not a class of this team");
    }
    return req->err.code == LP_OK ? 0 : -1;
}
