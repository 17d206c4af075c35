/* imports.run: reads an import's uploaded file with its format's reader
 * (src/formats, loupe/formats/import.h) and writes what it holds into the
 * import's dataset (POST /api/v1/imports/{id}/start).
 *
 * payload  {"import_id"}
 * result   {"import_id", "written", "counts", "problems_total"} — the import
 *          row keeps the same counts and the problems (docs/API.md "Imports")
 *
 * All or nothing: the whole import runs in one transaction. The reader
 * yields one item at a time; items are gathered into batches of about
 * import_batch_annotations annotations, and each batch is written with a
 * handful of set-based statements (imports_sql.h, annotations_sql.h): find
 * the items by path and name (create the missing ones when create_items),
 * lock them, check every annotation exactly as the batch API does (its
 * class — named, mapped by class_map, or created when create_classes —, its
 * slot, ids already on the item, one raster layer per slot), delete what is
 * replaced, COPY the rest in, refresh the items. At the end the transaction
 * is committed only when it is not a dry run and nothing was left out
 * (a problem that skipped an annotation, an item or a file), unless the
 * options say skip_invalid: then what was valid is written and what was
 * left out is counted. Otherwise it is rolled back: nothing is written, and
 * the import's counts and problems say what would have been. A crash or a
 * database failure rolls back too, and a retried attempt starts again.
 *
 * A hostile archive is refused by unzip.c before any member is read; the
 * import fails with that message and nothing written.
 *
 * Memory: one batch of items (their arena, the file texts they borrow, the
 * stored blobs) plus the team's classes; an archive member is read into
 * memory whole (at most import_max_member_bytes), a single uploaded file is
 * mapped. */
#define _GNU_SOURCE /* qsort_r */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../jobs_int.h"
#include "loupe/annotation/stored.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/annotations_sql.h"
#include "loupe/db/classes_sql.h"
#include "loupe/db/datasets_sql.h"
#include "loupe/db/imports_sql.h"
#include "loupe/formats/import.h"
#include "loupe/formats/unzip.h"
#include "loupe/jobs/disagreement.h"

#define CLASS_PAGE 1000
#define BATCH_MAX_ITEMS 2000
#define DEFAULT_COLOR "#808080"

int lp_job_imports_run_validate(const json_t *payload, const lp_config *cfg, lp_error *err)
{
    const json_t *id = json_object_get(payload, "import_id");
    (void)cfg;
    if (!json_is_string(id) || !lp_is_uuid(json_string_value(id)))
        return lp_error_field(err, LP_E_INVALID, "import_id", "must be a UUID");
    return 0;
}

/* ---- classes ------------------------------------------------------------------ */

/* A class of the team as the import sees it. */
typedef struct klass {
    char id[37];
    char *name;                  /* malloc */
    lp_ann_class chk;            /* for lp_ann_check (strings in the run's arena) */
    const char *properties_json; /* the class's, for item properties */
    bool created;                /* made by this import: grows with what its annotations use */
    bool dirty;                  /* created and changed since written */
    json_t *props;               /* created: its property definitions */
    const char *color, *skeleton_json, *description;
} klass;

typedef struct imp {
    lp_job_ctx *ctx;
    lp_import_row row;
    bool create_classes, create_items, replace, skip_invalid;
    json_t *class_map;           /* borrowed from the options */
    json_t *options;
    lp_ann_limits lim;
    klass **cls;                 /* each allocated on its own: lp_ann_class points into it */
    size_t ncls, cap_cls;
    json_t *declared;            /* name → {types, color, skeleton} the files define */
    /* the batch */
    lp_arena *batch;             /* what the reader yields for the batch's items */
    lp_imp_item *items;
    size_t nitems, cap_items, nanns;
    char **texts;                /* member texts the batch borrows (malloc) */
    size_t ntexts, cap_texts;
    const char *current_text;    /* the file being read: kept across a flush */
    lp_buf blobs;
    /* what happened */
    uint64_t files_read, files_ignored, items_matched, items_created, items_skipped;
    uint64_t ann_created, ann_replaced, ann_removed, ann_skipped, files_skipped, classes_created;
    json_t *problems;
    uint64_t problems_total;
    size_t max_problems;
    /* progress: bytes of the files the reader reads, those read before the current one, its size */
    uint64_t bytes_total, bytes_done, bytes_current;
} imp;

static int nomem(imp *m, const char *what)
{
    return lp_error_set(&m->ctx->err, LP_E_NOMEM, "out of memory %s (import %s)", what, m->row.id);
}

static unsigned bits_of(const char *json, bool sub)
{
    json_t *arr = json_loads(json ? json : "[]", 0, NULL), *v;
    size_t i;
    unsigned bits = 0;
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        int t;
        if (!s)
            continue;
        if (sub)
            bits |= lp_ann_sub_type_flag(s);
        else if (lp_ann_type_from_name(s, strlen(s), &t) == 0)
            bits |= 1u << t;
    }
    json_decref(arr);
    return bits;
}

/* Fills k from a stored class row (strings copied into the run's arena). */
static int klass_from_row(imp *m, const lp_class_row *r, klass *k)
{
    lp_arena *a = m->ctx->arena;
    memset(k, 0, sizeof *k);
    lp_strlcpy(k->id, r->id, sizeof k->id);
    if (!(k->name = strdup(r->name)))
        return nomem(m, "reading classes");
    k->chk.id = k->id;
    k->chk.name = k->name;
    k->chk.types = bits_of(r->annotation_types, false);
    k->chk.sub_types = bits_of(r->sub_types, true);
    k->properties_json = lp_arena_strdup(a, r->properties ? r->properties : "[]");
    k->chk.properties_json = k->properties_json;
    if (r->skeleton) {
        json_t *sk = json_loads(r->skeleton, 0, NULL), *nodes = json_object_get(sk, "nodes");
        size_t n = json_array_size(nodes);
        const char **names = lp_arena_calloc(a, n ? n : 1, sizeof *names);
        for (size_t i = 0; names && i < n; i++)
            names[i] = lp_arena_strdup(a, json_string_value(json_object_get(json_array_get(nodes, i), "name")));
        json_decref(sk);
        if (!names)
            return nomem(m, "reading classes");
        k->chk.skeleton_nodes = names;
        k->chk.nskeleton_nodes = n;
    }
    return k->properties_json ? 0 : nomem(m, "reading classes");
}

static klass *klass_push(imp *m)
{
    if (m->ncls == m->cap_cls) {
        size_t nc = m->cap_cls ? m->cap_cls * 2 : 64;
        klass **v = realloc(m->cls, nc * sizeof *v);
        if (!v)
            return NULL;
        m->cls = v;
        m->cap_cls = nc;
    }
    klass *k = calloc(1, sizeof *k);
    if (k)
        m->cls[m->ncls++] = k;
    return k;
}

static int load_classes(imp *m)
{
    const char *after_name = NULL, *after_id = NULL;
    for (;;) {
        lp_class_row *rows;
        size_t got;
        if (lp_db_class_list(m->ctx->db, m->ctx->arena, m->ctx->team_id, after_name, after_id, CLASS_PAGE, &rows,
                             &got, &m->ctx->err) != 0)
            return -1;
        for (size_t i = 0; i < got; i++) {
            klass *k = klass_push(m);
            if (!k || klass_from_row(m, &rows[i], k) != 0)
                return k ? -1 : nomem(m, "reading classes");
        }
        if (got < CLASS_PAGE)
            return 0;
        after_name = rows[got - 1].name;
        after_id = rows[got - 1].id;
    }
}

static klass *class_by_id(imp *m, const char *id)
{
    for (size_t i = 0; i < m->ncls; i++)
        if (strcmp(m->cls[i]->id, id) == 0)
            return m->cls[i];
    return NULL;
}

static klass *class_by_name(imp *m, const char *name)
{
    for (size_t i = 0; i < m->ncls; i++)
        if (strcmp(m->cls[i]->name, name) == 0)
            return m->cls[i];
    return NULL;
}

/* A colour the classes table takes, or NULL. */
static const char *color_ok(const char *c)
{
    if (!c)
        return NULL;
    if (c[0] == '#' && strlen(c) == 7 && strspn(c + 1, "0123456789abcdef") == 6)
        return c;
    if ((strncmp(c, "rgba(", 5) == 0 || strncmp(c, "rgb(", 4) == 0) && c[strlen(c) - 1] == ')' &&
        strspn(strchr(c, '(') + 1, "0123456789., ") == strlen(strchr(c, '(') + 1) - 1)
        return c;
    return NULL;
}

static char *names_json(unsigned bits, bool sub)
{
    json_t *arr = json_array();
    for (int t = 0; arr && t < (sub ? LP_ANN_SUB_COUNT : LP_ANN_TYPE_COUNT); t++)
        if (bits & (1u << t))
            json_array_append_new(arr, json_string(sub ? lp_ann_sub_type_name(t) : lp_ann_type_name(t)));
    char *s = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return s;
}

/* Writes a class this import created (insert when new, else update) with
 * what its annotations use so far. 0 or -1. */
static int class_save(imp *m, klass *k, bool insert)
{
    char *types = names_json(k->chk.types, false), *subs = names_json(k->chk.sub_types, true);
    char *props = json_dumps(k->props, JSON_COMPACT);
    lp_class_values v = {.name = k->name,
                         .annotation_types = types,
                         .color = k->color ? k->color : DEFAULT_COLOR,
                         .description = k->description ? k->description : "",
                         .properties = props,
                         .skeleton = (k->chk.types & (1u << LP_GEOM_SKELETON)) ? k->skeleton_json : NULL,
                         .sub_types = subs};
    lp_class_row out;
    int rc = -1;
    if (!types || !subs || !props)
        nomem(m, "creating a class");
    else if (insert)
        rc = lp_db_class_create(m->ctx->db, m->ctx->arena, m->ctx->team_id, &v, &out, &m->ctx->err);
    else
        rc = lp_db_class_update(m->ctx->db, m->ctx->arena, m->ctx->team_id, k->id, &v, &out, &m->ctx->err);
    if (rc == 1)
        rc = lp_error_set(&m->ctx->err, LP_E_CONFLICT, "class \"%.100s\" was created while import %s ran", k->name,
                          m->row.id);
    if (rc == 0 && insert)
        lp_strlcpy(k->id, out.id, sizeof k->id);
    free(types);
    free(subs);
    free(props);
    k->dirty = false;
    char *pj = rc == 0 ? json_dumps(k->props, JSON_COMPACT) : NULL;
    k->properties_json = pj ? lp_arena_strdup(m->ctx->arena, pj) : k->properties_json;
    k->chk.properties_json = k->properties_json;
    free(pj);
    return rc;
}

static int class_grow(imp *m, klass *k, const lp_ann *ann);
static int add_problem(imp *m, const char *file, const char *where, lp_imp_skip skip, const char *msg);

/* The property definitions the files declare for class name (Darwin's
 * .v7/metadata.json), as the classes API stores them: Darwin's spellings
 * ("single-select", "multi-select", granularity "section") in Loupe's, an
 * id (the file's when it is a UUID), granularity "annotation" and required
 * false when absent, a select's options from its property_values when it
 * lists none; every other member kept. A definition the class could not
 * hold (no name, a repeated name, an unknown type or granularity, a select
 * without options) is left out with a problem. New array, or NULL on NOMEM. */
static json_t *declared_properties(imp *m, const char *name, json_t *arr)
{
    static const char *const types[] = {"single_select", "multi_select", "text", "number", NULL};
    static const char *const grans[] = {"item", "annotation", "frame", NULL};
    json_t *out = json_array(), *p;
    size_t i;
    json_array_foreach(arr, i, p) {
        json_t *d = json_is_object(p) ? json_deep_copy(p) : NULL;
        const char *pname = json_string_value(json_object_get(d, "name"));
        const char *t = json_string_value(json_object_get(d, "type"));
        const char *g = json_string_value(json_object_get(d, "granularity"));
        const char *why = NULL;
        char where[320];
        t = !t ? NULL : strcmp(t, "single-select") == 0 ? "single_select" : strcmp(t, "multi-select") == 0 ? "multi_select" : t;
        g = !g ? "annotation" : strcmp(g, "section") == 0 ? "frame" : g;
        if (!out)
            break;
        if (!json_is_object(p))
            why = "is not an object";
        else if (!d)
            return json_decref(out), NULL;
        else if (!pname || !*pname)
            why = "has no name";
        else if (!t || !lp_strv_find(types, t))
            why = "has no type Loupe knows (single_select, multi_select, text, number)";
        else if (!lp_strv_find(grans, g))
            why = "has a granularity that is not item, annotation or frame";
        for (size_t j = 0; !why && j < json_array_size(out); j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(out, j), "name")), pname) == 0)
                why = "repeats the name of an earlier property";
        bool select = t && (strcmp(t, "single_select") == 0 || strcmp(t, "multi_select") == 0);
        if (!why && select && !json_is_array(json_object_get(d, "options"))) {
            json_t *opts = json_array(), *v;
            size_t k;
            json_array_foreach(json_object_get(d, "property_values"), k, v) {
                const char *value = json_string_value(json_object_get(v, "value"));
                const char *color = color_ok(json_string_value(json_object_get(v, "color")));
                if (value)
                    json_array_append_new(opts, color ? json_pack("{s:s, s:s}", "value", value, "color", color)
                                                      : json_pack("{s:s}", "value", value));
            }
            json_object_set_new(d, "options", opts);
        }
        if (!why && select && json_array_size(json_object_get(d, "options")) == 0)
            why = "is a select property without options";
        if (why) {
            snprintf(where, sizeof where, "classes[\"%.200s\"].properties[%zu]", name, i);
            json_decref(d);
            if (add_problem(m, "", where, LP_IMP_NOTE, lp_arena_printf(m->ctx->arena, "%s; the property was not kept", why)) != 0)
                return json_decref(out), NULL;
            continue;
        }
        char uuid[37];
        const char *id = json_string_value(json_object_get(d, "id"));
        if ((!id || !lp_is_uuid(id)) && (lp_uuid_v4(uuid) != 0 || json_object_set_new(d, "id", json_string(uuid)) != 0))
            return json_decref(d), json_decref(out), NULL;
        json_object_set_new(d, "type", json_string(t));
        json_object_set_new(d, "granularity", json_string(g));
        if (!json_is_boolean(json_object_get(d, "required")))
            json_object_set_new(d, "required", json_false());
        if (json_array_append_new(out, d) != 0)
            return json_decref(out), NULL;
    }
    return out;
}

/* A new class named name, from what the files declare of it and what ann
 * uses. NULL on failure. */
static klass *class_create(imp *m, const char *name, const lp_ann *ann)
{
    json_t *d = json_object_get(m->declared, name);
    klass *k = klass_push(m);
    if (!k) {
        nomem(m, "creating a class");
        return NULL;
    }
    k->name = strdup(name);
    k->props = declared_properties(m, name, json_object_get(d, "properties"));
    if (!k->name || !k->props) {
        nomem(m, "creating a class");
        return NULL;
    }
    k->created = true;
    k->chk.id = k->id;
    k->chk.name = k->name;
    k->chk.types = (unsigned)json_integer_value(json_object_get(d, "types"));
    k->chk.sub_types = (unsigned)json_integer_value(json_object_get(d, "sub_types"));
    k->description = json_string_value(json_object_get(d, "description"));
    k->description = k->description ? lp_arena_strdup(m->ctx->arena, k->description) : NULL;
    k->color = color_ok(json_string_value(json_object_get(d, "color")));
    k->color = k->color ? lp_arena_strdup(m->ctx->arena, k->color) : NULL;
    json_t *sk = json_object_get(d, "skeleton");
    if (sk) {
        char *s = json_dumps(sk, JSON_COMPACT);
        k->skeleton_json = s ? lp_arena_strdup(m->ctx->arena, s) : NULL;
        free(s);
        json_t *nodes = json_object_get(sk, "nodes");
        size_t n = json_array_size(nodes);
        const char **names = lp_arena_calloc(m->ctx->arena, n ? n : 1, sizeof *names);
        for (size_t i = 0; names && i < n; i++)
            names[i] = lp_arena_strdup(m->ctx->arena, json_string_value(json_object_get(json_array_get(nodes, i), "name")));
        k->chk.skeleton_nodes = names;
        k->chk.nskeleton_nodes = n;
    }
    if (class_grow(m, k, ann) != 0 || class_save(m, k, true) != 0)
        return NULL;
    k->chk.id = k->id;
    m->classes_created++;
    return k;
}

/* Makes a class this import created allow what ann uses (type, sub-types,
 * property names; skeleton nodes from the first skeleton). */
static int class_grow(imp *m, klass *k, const lp_ann *ann)
{
    unsigned subs = ann->body.sub_types;
    const lp_ann_body *bodies[1] = {&ann->body};
    if (!(k->chk.types & (1u << ann->type))) {
        k->chk.types |= 1u << ann->type;
        k->dirty = true;
    }
    for (size_t f = 0; f < ann->nframes; f++)
        subs |= ann->frames[f].body.sub_types;
    if ((k->chk.sub_types | subs) != k->chk.sub_types) {
        k->chk.sub_types |= subs;
        k->dirty = true;
    }
    for (size_t f = 0; f <= ann->nframes; f++) {
        const lp_ann_body *b = f == 0 ? bodies[0] : &ann->frames[f - 1].body;
        for (size_t i = 0; i < b->nprops; i++) {
            const lp_ann_prop *p = &b->props[i];
            size_t j;
            json_t *d;
            bool found = false;
            if (!p->name)
                continue;
            json_array_foreach(k->props, j, d) found |= strcmp(json_string_value(json_object_get(d, "name")), p->name) == 0;
            if (found)
                continue;
            char uuid[37];
            if (lp_uuid_v4(uuid) != 0 ||
                json_array_append_new(k->props, json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", uuid, "name", p->name,
                                                          "type", p->kind == 2 ? "number" : "text", "granularity",
                                                          "annotation", "required", 0)) != 0)
                return nomem(m, "creating a class");
            k->dirty = true;
        }
    }
    const lp_geom_skeleton *sk = &ann->body.geom.shape.u.skeleton;
    bool named = ann->type == LP_GEOM_SKELETON && !ann->video && sk->nnodes > 0;
    for (size_t i = 0; named && i < sk->nnodes; i++)
        named = sk->nodes[i].name != NULL;
    if (named && !k->chk.skeleton_nodes) {
        json_t *nodes = json_array(), *doc;
        const char **names = lp_arena_calloc(m->ctx->arena, sk->nnodes ? sk->nnodes : 1, sizeof *names);
        for (size_t i = 0; names && i < sk->nnodes; i++) {
            names[i] = lp_arena_strdup(m->ctx->arena, sk->nodes[i].name);
            json_array_append_new(nodes, json_pack("{s:s}", "name", sk->nodes[i].name));
        }
        doc = json_pack("{s:o, s:[]}", "nodes", nodes);
        char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
        if (!names || !s) {
            free(s);
            return nomem(m, "creating a class");
        }
        k->skeleton_json = lp_arena_strdup(m->ctx->arena, s);
        free(s);
        k->chk.skeleton_nodes = names;
        k->chk.nskeleton_nodes = sk->nnodes;
        k->dirty = true;
    }
    return 0;
}

/* ---- problems ------------------------------------------------------------------- */

static const char *const SKIP_NAMES[] = {NULL, "annotation", "item", "file"};

static int add_problem(imp *m, const char *file, const char *where, lp_imp_skip skip, const char *msg)
{
    m->problems_total++;
    if (skip == LP_IMP_SKIP_ANNOTATION)
        m->ann_skipped++;
    else if (skip == LP_IMP_SKIP_ITEM)
        m->items_skipped++;
    else if (skip == LP_IMP_SKIP_FILE)
        m->files_skipped++;
    if (json_array_size(m->problems) >= m->max_problems)
        return 0;
    json_t *p = json_pack("{s:s, s:s, s:s, s:s*}", "file", file ? file : "", "where", where ? where : "", "message",
                          msg, "skipped", SKIP_NAMES[skip]);
    return p && json_array_append_new(m->problems, p) == 0 ? 0 : nomem(m, "recording a problem");
}

static int problemf(imp *m, const lp_imp_item *it, const char *where, lp_imp_skip skip, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int problemf(imp *m, const lp_imp_item *it, const char *where, lp_imp_skip skip, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return add_problem(m, it->file, where, skip, msg);
}

/* The field errors of fe about annotation i of it, as problems (the first
 * leaves the annotation out). */
static int ann_problems(imp *m, const lp_imp_item *it, size_t i, const lp_error *fe)
{
    char where[320];
    const char *base = it->ann_where ? it->ann_where[i] : "";
    if (fe->nfields == 0)
        return add_problem(m, it->file, base, LP_IMP_SKIP_ANNOTATION, fe->message);
    for (size_t k = 0; k < fe->nfields; k++) {
        const char *f = fe->fields[k].field;
        snprintf(where, sizeof where, "%s%s%s", base, f[0] && f[0] != '[' ? "." : "", f);
        if (add_problem(m, it->file, where, k == 0 ? LP_IMP_SKIP_ANNOTATION : LP_IMP_NOTE, fe->fields[k].message) != 0)
            return -1;
    }
    return 0;
}

/* ---- the reader's sink -------------------------------------------------------------- */

static int on_class(void *ud, const lp_imp_class *c, lp_error *err)
{
    imp *m = ud;
    json_t *d = json_object_get(m->declared, c->name);
    (void)err;
    if (!d && (!(d = json_object()) || json_object_set_new(m->declared, c->name, d) != 0))
        return nomem(m, "reading class definitions");
    json_object_set_new(d, "types", json_integer((json_int_t)((unsigned)json_integer_value(json_object_get(d, "types")) | c->types)));
    if (c->color && !json_object_get(d, "color"))
        json_object_set_new(d, "color", json_string(c->color));
    if (c->description && !json_object_get(d, "description"))
        json_object_set_new(d, "description", json_string(c->description));
    if (c->sub_types_json)
        json_object_set_new(d, "sub_types", json_integer((json_int_t)((unsigned)json_integer_value(
                                                json_object_get(d, "sub_types")) | bits_of(c->sub_types_json, true))));
    json_t *props = c->properties_json ? json_loads(c->properties_json, 0, NULL) : NULL;
    if (json_is_array(props) && !json_object_get(d, "properties"))
        json_object_set(d, "properties", props);
    json_decref(props);
    if (c->nnodes && !json_object_get(d, "skeleton")) {
        json_t *nodes = json_array(), *edges = json_array();
        for (size_t i = 0; i < c->nnodes; i++)
            json_array_append_new(nodes, json_pack("{s:s}", "name", c->nodes[i]));
        for (size_t i = 0; i < c->nedges; i++)
            json_array_append_new(edges, json_pack("[I, I]", (json_int_t)c->edges[2 * i], (json_int_t)c->edges[2 * i + 1]));
        json_object_set_new(d, "skeleton", json_pack("{s:o, s:o}", "nodes", nodes, "edges", edges));
    }
    return 0;
}

static int on_problem(void *ud, const lp_imp_problem *p, lp_error *err)
{
    (void)err;
    return add_problem(ud, p->file, p->where, p->skip, p->message);
}

static int flush(imp *m);

static bool same_place(const lp_imp_item *a, const lp_imp_item *b)
{
    return strcmp(a->name, b->name) == 0 && strcmp(a->path, b->path) == 0;
}

/* Records how far the import has read: the files read before the current
 * one, and the share of it the reader has read (done, 0..1), as a share of
 * 0.99 (the job's success makes it 1). 0, or -1 past the job's deadline. */
static int progress(imp *m, double done)
{
    double read = (double)m->bytes_done + done * (double)m->bytes_current;
    return lp_job_progress(m->ctx, m->bytes_total ? 0.99 * read / (double)m->bytes_total : 0);
}

static int on_item(void *ud, const lp_imp_item *it, lp_error *err)
{
    imp *m = ud;
    (void)err;
    if (progress(m, it->done) != 0)
        return -1;
    for (size_t i = 0; i < m->nitems; i++)
        if (same_place(&m->items[i], it)) { /* the same item twice: the first is written before the second */
            if (flush(m) != 0)
                return -1;
            break;
        }
    if (m->nitems == m->cap_items) {
        size_t nc = m->cap_items ? m->cap_items * 2 : 256;
        lp_imp_item *v = realloc(m->items, nc * sizeof *v);
        if (!v)
            return nomem(m, "gathering a batch");
        m->items = v;
        m->cap_items = nc;
    }
    m->items[m->nitems++] = *it;
    m->nanns += it->nanns;
    if (m->nanns >= (size_t)m->ctx->cfg->import_batch_annotations || m->nitems >= BATCH_MAX_ITEMS)
        return flush(m);
    return 0;
}

/* ---- writing a batch --------------------------------------------------------------- */

static bool path_ok(const char *p)
{
    if (strcmp(p, "/") == 0)
        return true;
    if (p[0] != '/' || p[strlen(p) - 1] == '/' || strstr(p, "//"))
        return false;
    return true;
}

/* What one item of the batch became. */
typedef struct placed {
    const char *item_id;         /* NULL: left out */
    lp_slot_row *slots;
    size_t nslots;
} placed;

/* Finds (or creates) the batch's items: pl[i] for items[i]. */
static int place_items(imp *m, placed *pl)
{
    lp_job_ctx *ctx = m->ctx;
    json_t *keys = json_array(), *make = json_array();
    size_t *make_idx = calloc(m->nitems ? m->nitems : 1, sizeof *make_idx), nmake = 0;
    lp_import_hit *hits = NULL;
    size_t nhits = 0;
    char *kj = NULL, *mj = NULL;
    int rc = -1;
    if (!keys || !make || !make_idx) {
        nomem(m, "matching items");
        goto done;
    }
    for (size_t i = 0; i < m->nitems; i++)
        json_array_append_new(keys, json_pack("[s, s]", m->items[i].path, m->items[i].name));
    if (!(kj = json_dumps(keys, JSON_COMPACT)) ||
        lp_db_import_match(ctx->db, m->batch, ctx->team_id, m->row.dataset_id, kj, &hits, &nhits, &ctx->err) != 0)
        goto done;
    for (size_t h = 0; h < nhits; h++) {
        lp_import_hit *hit = &hits[h];
        if (hit->index < m->nitems && !pl[hit->index].item_id) {
            pl[hit->index].item_id = hit->item_id;
            m->items_matched++;
        }
    }
    for (size_t i = 0; i < m->nitems; i++) {
        const lp_imp_item *it = &m->items[i];
        if (pl[i].item_id)
            continue;
        if (!m->create_items) {
            if (problemf(m, it, it->where, LP_IMP_SKIP_ITEM,
                         "no item \"%.200s\" in folder \"%.200s\" of the dataset (give options.create_items to "
                         "register it)",
                         it->name, it->path) != 0)
                goto done;
            continue;
        }
        json_t *slots = json_array();
        for (size_t s = 0; slots && s < it->nslots; s++) {
            const lp_imp_slot *sl = &it->slots[s];
            json_t *o = json_pack("{s:s, s:s}", "name", sl->name, "type", sl->type ? sl->type : "image");
            if (o && sl->width > 0)
                json_object_set_new(o, "width", json_integer(sl->width));
            if (o && sl->height > 0)
                json_object_set_new(o, "height", json_integer(sl->height));
            if (o && sl->frame_count > 0)
                json_object_set_new(o, "frame_count", json_integer(sl->frame_count));
            json_array_append_new(slots, o);
        }
        if (slots && it->nslots == 0)
            json_array_append_new(slots, json_pack("{s:s, s:s}", "name", "0", "type", "image"));
        json_array_append_new(make, json_pack("{s:s, s:s, s:o}", "path", it->path, "name", it->name, "slots", slots));
        make_idx[nmake++] = i;
    }
    if (nmake) {
        if (!(mj = json_dumps(make, JSON_COMPACT)) ||
            lp_db_import_items_create(ctx->db, m->batch, ctx->team_id, m->row.dataset_id, mj, &hits, &nhits,
                                      &ctx->err) != 0)
            goto done;
        for (size_t h = 0; h < nhits; h++)
            if (hits[h].index < nmake) {
                pl[make_idx[hits[h].index]].item_id = hits[h].item_id;
                m->items_created++;
            }
    }
    rc = 0;
done:
    json_decref(keys);
    json_decref(make);
    free(kj);
    free(mj);
    free(make_idx);
    return rc;
}

/* The slots of the placed items. */
static int load_slots(imp *m, placed *pl, json_t *ids)
{
    char *ij = json_dumps(ids, JSON_COMPACT);
    lp_slot_row *slots;
    size_t n;
    int rc = ij ? lp_db_import_slots(m->ctx->db, m->batch, ij, &slots, &n, &m->ctx->err) : nomem(m, "reading slots");
    free(ij);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < m->nitems; i++) {
        if (!pl[i].item_id)
            continue;
        for (size_t s = 0; s < n; s++) {
            if (strcmp(slots[s].item_id, pl[i].item_id) != 0)
                continue;
            if (!pl[i].slots)
                pl[i].slots = &slots[s];
            pl[i].nslots++;
        }
    }
    return 0;
}

/* Checks item i's annotations; the accepted ones go to acc (with their item
 * in acc_item). */
static int check_item(imp *m, size_t i, const placed *p, const lp_ann **acc, const char **acc_item, size_t *nacc)
{
    lp_imp_item *it = &m->items[i];
    unsigned char *rasters = lp_arena_calloc(m->batch, p->nslots + 1, 1);
    const char **ids = lp_arena_calloc(m->batch, it->nanns + 1, sizeof *ids);
    size_t nids = 0;
    lp_error fe;
    if (!rasters || !ids)
        return nomem(m, "checking annotations");
    for (size_t k = 0; k < it->nanns; k++) {
        lp_ann *ann = &it->anns[k];
        klass *cls = NULL;
        const char *where = it->ann_where ? it->ann_where[k] : "";
        /* the class: mapped, the team's of that name, or made now */
        if (ann->class_name) {
            const char *mapped = json_string_value(json_object_get(m->class_map, ann->class_name));
            cls = mapped ? class_by_id(m, mapped) : class_by_name(m, ann->class_name);
            if (!cls && m->create_classes && !(cls = class_create(m, ann->class_name, ann)))
                return -1;
            if (!cls) {
                if (problemf(m, it, where, LP_IMP_SKIP_ANNOTATION,
                             "class \"%.200s\" does not exist (give options.create_classes, or map it with "
                             "options.class_map)",
                             ann->class_name) != 0)
                    return -1;
                continue;
            }
            ann->class_name = mapped ? NULL : ann->class_name; /* a mapped class may be named otherwise */
        } else if (ann->class_id && !(cls = class_by_id(m, ann->class_id))) {
            if (problemf(m, it, where, LP_IMP_SKIP_ANNOTATION, "class %s is not a class of this team", ann->class_id) != 0)
                return -1;
            continue;
        }
        if (cls->created && class_grow(m, cls, ann) != 0)
            return -1;
        if (cls->dirty && class_save(m, cls, false) != 0)
            return -1;
        ann->class_id = cls->id;
        /* the slot: named, or the item's first */
        lp_ann_slot slot, *sp = NULL;
        bool second_raster = false;
        if (!ann->slot && p->nslots)
            ann->slot = p->slots[0].name;
        for (size_t s = 0; ann->slot && s < p->nslots; s++) {
            if (strcmp(p->slots[s].name, ann->slot) != 0)
                continue;
            slot.name = p->slots[s].name;
            slot.video = strcmp(p->slots[s].type, "image") != 0;
            slot.frame_count = p->slots[s].frame_count > 0 ? p->slots[s].frame_count : 0;
            sp = &slot;
            second_raster = ann->type == LP_ANN_RASTER_LAYER && rasters[s]++;
        }
        if (second_raster) {
            if (problemf(m, it, where, LP_IMP_SKIP_ANNOTATION, "slot \"%.100s\" gets two raster layers; a slot has one",
                         ann->slot) != 0)
                return -1;
            continue;
        }
        lp_error_clear(&fe);
        if (lp_ann_check(ann, &cls->chk, sp, m->batch, &fe) != 0) {
            if (fe.code == LP_E_NOMEM)
                return nomem(m, "checking annotations");
            if (ann_problems(m, it, k, &fe) != 0)
                return -1;
            continue;
        }
        if (!ann->has_source)
            ann->source = LP_ANN_IMPORT;
        if (!ann->id) {
            char *id = lp_arena_alloc(m->batch, 37);
            if (!id || lp_uuid_v4(id) != 0)
                return nomem(m, "making an annotation id");
            ann->id = id;
        }
        /* an id names one annotation of the item */
        bool dup = false;
        for (size_t j = 0; j < nids && !dup; j++)
            dup = strcmp(ids[j], ann->id) == 0;
        if (dup) {
            if (problemf(m, it, lp_arena_printf(m->batch, "%s.id", where), LP_IMP_SKIP_ANNOTATION,
                         "annotation %s appears more than once for item \"%.200s\"", ann->id, it->name) != 0)
                return -1;
            continue;
        }
        ids[nids++] = ann->id;
        acc[*nacc] = ann;
        acc_item[(*nacc)++] = p->item_id;
    }
    return 0;
}

/* Writes the batch's accepted annotations. */
static int write_batch(imp *m, const lp_ann **acc, const char **acc_item, size_t nacc, json_t *ids)
{
    lp_job_ctx *ctx = m->ctx;
    json_t *pairs = json_array();
    char *pj = NULL, *ij = NULL;
    size_t *found = NULL, nfound = 0, nframes = 0;
    lp_ann_row *rows;
    lp_ann_frame_row *frames;
    const char **frame_items;
    int rc = -1;
    for (size_t i = 0; pairs && i < nacc; i++)
        json_array_append_new(pairs, json_pack("[s, s]", acc_item[i], acc[i]->id));
    if (!pairs || !(pj = json_dumps(pairs, JSON_COMPACT)) || !(ij = json_dumps(ids, JSON_COMPACT))) {
        nomem(m, "writing a batch");
        goto done;
    }
    if (lp_db_import_existing(ctx->db, m->batch, pj, &found, &nfound, &ctx->err) != 0)
        goto done;
    m->ann_replaced += nfound;
    m->ann_created += nacc - nfound;
    if (m->replace) {
        int64_t gone = lp_db_import_delete_items(ctx->db, ij, &ctx->err);
        if (gone < 0)
            goto done;
        m->ann_removed += (uint64_t)gone - nfound;
    } else if (nfound && lp_db_import_delete_pairs(ctx->db, pj, &ctx->err) < 0) {
        goto done;
    }
    lp_buf_reset(&m->blobs);
    if (lp_ann_store(acc, nacc, m->batch, &m->blobs, &rows, &frames, &nframes, &ctx->err) != 0)
        goto done;
    if (!(frame_items = lp_arena_calloc(m->batch, nframes + 1, sizeof *frame_items))) {
        nomem(m, "writing a batch");
        goto done;
    }
    for (size_t i = 0, f = 0; i < nacc; i++) {
        rows[i].interpolated = acc[i]->interpolated;
        for (size_t k = 0; k < acc[i]->nframes && f < nframes; k++)
            frame_items[f++] = acc_item[i];
    }
    if (lp_db_ann_insert_items(ctx->db, ctx->team_id, acc_item, m->row.created_by, rows, nacc, &ctx->err) != 0 ||
        lp_db_ann_frames_insert_items(ctx->db, frame_items, frames, nframes, &ctx->err) != 0)
        goto done;
    rc = 0;
done:
    json_decref(pairs);
    free(pj);
    free(ij);
    return rc;
}

/* Item properties of the placed items: checked against the classes'
 * item-level properties, then set. */
static int write_properties(imp *m, const placed *pl)
{
    json_t *pairs = json_array();
    const char **class_props = calloc(m->ncls + 1, sizeof *class_props);
    int rc = 0;
    if (!pairs || !class_props) {
        free(class_props);
        json_decref(pairs);
        return nomem(m, "writing item properties");
    }
    for (size_t k = 0; k < m->ncls; k++)
        class_props[k] = m->cls[k]->properties_json;
    for (size_t i = 0; rc == 0 && i < m->nitems; i++) {
        const lp_imp_item *it = &m->items[i];
        lp_error fe;
        if (!pl[i].item_id || !it->has_props)
            continue;
        lp_error_clear(&fe);
        if (lp_ann_check_item_properties(&it->props, class_props, m->ncls, &fe) != 0) {
            char where[200];
            snprintf(where, sizeof where, "%s", fe.nfields ? fe.fields[0].field : "properties");
            rc = add_problem(m, it->file, where, LP_IMP_NOTE,
                             fe.nfields ? fe.fields[0].message : fe.message) != 0
                     ? -1
                     : add_problem(m, it->file, "properties", LP_IMP_SKIP_ITEM,
                                   "the item's properties do not fit the classes' item properties; the item's "
                                   "properties were not written");
            continue;
        }
        json_t *props = json_loadb(it->props.data, it->props.data_len, 0, NULL);
        if (!props || json_array_append_new(pairs, json_pack("[s, o]", pl[i].item_id, props)) != 0)
            rc = nomem(m, "writing item properties");
    }
    char *pj = rc == 0 && json_array_size(pairs) ? json_dumps(pairs, JSON_COMPACT) : NULL;
    if (pj)
        rc = lp_db_import_item_properties(m->ctx->db, pj, &m->ctx->err);
    free(pj);
    free(class_props);
    json_decref(pairs);
    return rc;
}

static void batch_reset(imp *m)
{
    lp_arena_reset(m->batch);
    m->nitems = m->nanns = 0;
    size_t keep = 0;
    for (size_t i = 0; i < m->ntexts; i++) {
        if (m->texts[i] == m->current_text)
            m->texts[keep++] = m->texts[i];
        else
            free(m->texts[i]);
    }
    m->ntexts = keep;
}

static int flush(imp *m)
{
    lp_job_ctx *ctx = m->ctx;
    placed *pl = NULL;
    const lp_ann **acc = NULL;
    const char **acc_item = NULL;
    json_t *ids = json_array();
    size_t nacc = 0;
    char *ij = NULL;
    int rc = -1;
    if (m->nitems == 0) {
        json_decref(ids);
        return 0;
    }
    if (lp_job_check(ctx) != 0)
        goto done;
    pl = calloc(m->nitems, sizeof *pl);
    acc = calloc(m->nanns + 1, sizeof *acc);
    acc_item = calloc(m->nanns + 1, sizeof *acc_item);
    if (!pl || !acc || !acc_item || !ids) {
        nomem(m, "writing a batch");
        goto done;
    }
    /* items whose place is not valid are left out first */
    for (size_t i = 0; i < m->nitems; i++) {
        lp_imp_item *it = &m->items[i];
        if (!it->name[0] || strchr(it->name, '/') || !path_ok(it->path)) {
            if (problemf(m, it, it->where, LP_IMP_SKIP_ITEM,
                         "item \"%.200s\" in folder \"%.200s\": a name is not empty and has no '/', a folder is "
                         "\"/\" or \"/a/b\"",
                         it->name, it->path) != 0)
                goto done;
            it->name = ""; /* not matched */
        }
    }
    if (place_items(m, pl) != 0)
        goto done;
    for (size_t i = 0; i < m->nitems; i++)
        if (pl[i].item_id)
            json_array_append_new(ids, json_string(pl[i].item_id));
    if (json_array_size(ids) == 0) {
        rc = 0;
        goto done;
    }
    if (!(ij = json_dumps(ids, JSON_COMPACT))) {
        nomem(m, "locking items");
        goto done;
    }
    if (lp_db_import_lock(ctx->db, ij, &ctx->err) != 0 || load_slots(m, pl, ids) != 0)
        goto done;
    for (size_t i = 0; i < m->nitems; i++)
        if (pl[i].item_id && check_item(m, i, &pl[i], acc, acc_item, &nacc) != 0)
            goto done;
    if (write_batch(m, acc, acc_item, nacc, ids) != 0 || write_properties(m, pl) != 0)
        goto done;
    if (lp_db_import_items_commit(ctx->db, ij, &ctx->err) != 0 ||
        lp_disagreement_refresh_items(ctx->db, ctx->cfg, ctx->team_id, ij, &ctx->err) < 0)
        goto done;
    rc = 0;
done:
    free(ij);
    json_decref(ids);
    free(pl);
    free(acc);
    free(acc_item);
    batch_reset(m);
    return rc;
}

/* ---- reading the upload ------------------------------------------------------------ */

typedef struct member_buf {
    char *p;
    size_t len, cap;
} member_buf;

static int member_sink(void *ud, const void *p, size_t n, lp_error *err)
{
    member_buf *b = ud;
    if (n > b->cap - b->len)
        return lp_error_set(err, LP_E_INVALID, "a member holds more bytes than its header says");
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static int cmp_member(const void *a, const void *b, void *z)
{
    return strcmp(lp_unzip_at(z, *(const size_t *)a)->name, lp_unzip_at(z, *(const size_t *)b)->name);
}

/* Sorts idx (n member indices) by member name. */
static void sort_members(lp_unzip *z, size_t *idx, size_t n) { qsort_r(idx, n, sizeof *idx, cmp_member, z); }

/* Feeds every member of the archive to the reader: metadata first, then the
 * files of items, each in name order. A member that does not match its
 * header fails the import (the archive lies). */
static int read_archive(imp *m, lp_imp_reader *r, lp_unzip *z)
{
    lp_job_ctx *ctx = m->ctx;
    size_t n = lp_unzip_count(z);
    size_t *idx = calloc(n + 1, sizeof *idx);
    if (!idx)
        return nomem(m, "reading the archive");
    for (size_t i = 0; i < n; i++) {
        const lp_unzip_member *mb = lp_unzip_at(z, i);
        idx[i] = i;
        if (!mb->folder && lp_imp_reader_role(r, mb->name) != LP_IMP_ROLE_SKIP)
            m->bytes_total += mb->size;
    }
    sort_members(z, idx, n);
    int rc = 0;
    for (int pass = LP_IMP_ROLE_META; rc == 0 && pass <= LP_IMP_ROLE_ITEMS; pass++) {
        for (size_t k = 0; rc == 0 && k < n; k++) {
            const lp_unzip_member *mb = lp_unzip_at(z, idx[k]);
            lp_imp_role role = mb->folder ? LP_IMP_ROLE_SKIP : lp_imp_reader_role(r, mb->name);
            if (role == LP_IMP_ROLE_SKIP) {
                if (pass == LP_IMP_ROLE_META && !mb->folder)
                    m->files_ignored++;
                continue;
            }
            if ((int)role != pass)
                continue;
            /* the text, then the member's name: both live as long as the items that point to them */
            size_t nlen = strlen(mb->name);
            member_buf b = {malloc(mb->size + nlen + 2), 0, mb->size};
            if (!b.p) {
                rc = nomem(m, "reading an archive member");
                break;
            }
            if (lp_unzip_read(z, idx[k], member_sink, &b, &ctx->err) != 0) {
                free(b.p);
                rc = -1;
                break;
            }
            b.p[b.len] = '\0';
            char *name = b.p + mb->size + 1;
            memcpy(name, mb->name, nlen + 1);
            if (m->ntexts == m->cap_texts) {
                size_t nc = m->cap_texts ? m->cap_texts * 2 : 64;
                char **v = realloc(m->texts, nc * sizeof *v);
                if (!v) {
                    free(b.p);
                    rc = nomem(m, "reading an archive member");
                    break;
                }
                m->texts = v;
                m->cap_texts = nc;
            }
            m->texts[m->ntexts++] = b.p;
            m->current_text = b.p;
            m->files_read++;
            m->bytes_current = mb->size;
            rc = lp_imp_reader_file(r, name, b.p, b.len, m->batch, &ctx->err);
            m->current_text = NULL;
            m->bytes_done += mb->size;
            m->bytes_current = 0;
            if (rc == 0)
                rc = progress(m, 0);
        }
    }
    free(idx);
    return rc;
}

/* The uploaded file into a temporary file (unlinked at once): its fd. */
static int fetch(imp *m, uint64_t *size)
{
    lp_job_ctx *ctx = m->ctx;
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/loupe-import-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return lp_error_set(&ctx->err, LP_E_IO, "cannot make a temporary file for import %s", m->row.id);
    unlink(path);
    lp_storage *s = lp_job_storage(ctx->cfg, &ctx->err);
    struct stat st;
    if (!s || lp_storage_get_fd(s, m->row.storage_key, 0, LP_STORAGE_TO_END, fd, &ctx->err) != 0 ||
        fstat(fd, &st) != 0) {
        if (ctx->err.code == LP_OK)
            lp_error_set(&ctx->err, LP_E_IO, "cannot read the file of import %s", m->row.id);
        close(fd);
        return -1;
    }
    *size = (uint64_t)st.st_size;
    if (*size > (uint64_t)ctx->cfg->import_max_bytes) {
        close(fd);
        return lp_error_set(&ctx->err, LP_E_TOO_LARGE, "the file is %llu bytes; the limit is %lld (import_max_bytes)",
                            (unsigned long long)*size, (long long)ctx->cfg->import_max_bytes);
    }
    return fd;
}

/* Reads the whole upload: a zip archive member by member, or one file. 0,
 * or -1 (ctx->err; LP_E_INVALID when the upload is refused). */
static int read_upload(imp *m, lp_imp_reader *r, int fd, uint64_t size)
{
    lp_job_ctx *ctx = m->ctx;
    char head[4] = {0};
    ssize_t got = pread(fd, head, sizeof head, 0);
    int rc;
    if (got == 4 && memcmp(head, "PK", 2) == 0 && ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) {
        lp_unzip_limits lim = {(uint64_t)ctx->cfg->import_max_members, (uint64_t)ctx->cfg->import_max_member_bytes,
                               (uint64_t)ctx->cfg->import_max_total_bytes, (uint64_t)ctx->cfg->import_max_ratio};
        lp_unzip *z = lp_unzip_open(fd, size, &lim, &ctx->err);
        if (!z)
            return -1;
        rc = read_archive(m, r, z);
        lp_unzip_free(z);
    } else {
        /* one file: read as a file of items, whatever its name */
        char *p = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
        if (size && p == MAP_FAILED)
            return lp_error_set(&ctx->err, LP_E_IO, "cannot map the file of import %s", m->row.id);
        size_t i = 0;
        while (i < size && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
            i++;
        const char *name = i < size && p[i] == '<' ? "upload.xml" : "upload.json";
        m->files_read++;
        m->bytes_total = m->bytes_current = size;
        rc = lp_imp_reader_file(r, name, size ? p : "", size, m->batch, &ctx->err);
        if (rc == 0)
            rc = flush(m); /* the items borrow the mapping */
        if (size)
            munmap(p, size);
    }
    if (rc == 0)
        rc = lp_imp_reader_end(r, m->batch, &ctx->err);
    return rc == 0 ? flush(m) : -1;
}

/* The reader's question (YOLO): which item a label file is for, and its
 * size. Asked inside the import's transaction, so items it created count. */
static int find_image(void *ud, const char *path, const char *stem, lp_arena *a, const char **name, int64_t *width,
                      int64_t *height, lp_error *err)
{
    imp *m = ud;
    char *found = NULL;
    int rc = lp_db_import_find_image(m->ctx->db, a, m->ctx->team_id, m->row.dataset_id, path, stem, &found, width,
                                     height, err);
    *name = found;
    return rc == 1 && *width > 0 && *height > 0 ? 1 : rc < 0 ? -1 : 0;
}

/* The reader's question (NIfTI): which item with a volume slot a label map
 * is for, that slot and its metadata. Asked inside the import's transaction. */
static int find_volume(void *ud, const char *path, const char *stem, lp_arena *a, const char **name,
                       const char **slot, const char **metadata, lp_error *err)
{
    imp *m = ud;
    char *n = NULL, *s = NULL, *meta = NULL;
    int rc = lp_db_import_find_volume(m->ctx->db, a, m->ctx->team_id, m->row.dataset_id, path, stem, &n, &s, &meta,
                                      err);
    *name = n;
    *slot = s;
    *metadata = meta;
    return rc;
}

/* ---- the run ------------------------------------------------------------------------ */

static json_t *counts_json(const imp *m)
{
    return json_pack("{s:I, s:I, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}, s:I}", "files_read",
                     (json_int_t)m->files_read, "files_ignored", (json_int_t)m->files_ignored, "items", "matched",
                     (json_int_t)m->items_matched, "created", (json_int_t)m->items_created, "skipped",
                     (json_int_t)m->items_skipped, "annotations", "created", (json_int_t)m->ann_created, "replaced",
                     (json_int_t)m->ann_replaced, "removed", (json_int_t)m->ann_removed, "skipped",
                     (json_int_t)m->ann_skipped, "classes_created", (json_int_t)m->classes_created);
}

/* Records the outcome on the import row (outside the import's transaction)
 * and the job's result. */
static int record(imp *m, bool written)
{
    lp_job_ctx *ctx = m->ctx;
    json_t *counts = counts_json(m);
    char *cj = counts ? json_dumps(counts, JSON_COMPACT) : NULL, *pj = json_dumps(m->problems, JSON_COMPACT);
    lp_error e;
    int rc = -1;
    lp_error_clear(&e);
    if (!cj || !pj)
        lp_error_set(&e, LP_E_NOMEM, "out of memory recording import %s", m->row.id);
    else if (lp_db_import_finish(ctx->db, m->row.id, cj, pj, (int64_t)m->problems_total, written, &e) == 0)
        rc = 0;
    if (rc == 0)
        lp_job_set_result(ctx, json_pack("{s:s, s:b, s:O, s:I}", "import_id", m->row.id, "written", written,
                                         "counts", counts, "problems_total", (json_int_t)m->problems_total));
    else
        LP_ERROR("jobs", "import %s: cannot record its outcome: %s", m->row.id, e.message);
    free(cj);
    free(pj);
    json_decref(counts);
    if (rc != 0 && ctx->err.code == LP_OK)
        ctx->err = e;
    return rc;
}

static int read_options(imp *m)
{
    json_t *o = json_loads(m->row.options, 0, NULL);
    const char *mode;
    if (!o)
        return lp_error_set(&m->ctx->err, LP_E_INVALID, "import %s: its options are not a JSON object", m->row.id);
    m->options = o;
    m->create_classes = json_is_true(json_object_get(o, "create_classes"));
    m->create_items = json_is_true(json_object_get(o, "create_items"));
    m->skip_invalid = json_is_true(json_object_get(o, "skip_invalid"));
    mode = json_string_value(json_object_get(o, "mode"));
    m->replace = mode && strcmp(mode, "replace") == 0;
    m->class_map = json_object_get(o, "class_map");
    return 0;
}

static void imp_free(imp *m)
{
    for (size_t i = 0; i < m->ncls; i++) {
        free(m->cls[i]->name);
        json_decref(m->cls[i]->props);
        free(m->cls[i]);
    }
    free(m->cls);
    for (size_t i = 0; i < m->ntexts; i++)
        free(m->texts[i]);
    free(m->texts);
    free(m->items);
    lp_buf_free(&m->blobs);
    lp_arena_free(m->batch);
    json_decref(m->declared);
    json_decref(m->problems);
    json_decref(m->options);
}

int lp_job_imports_run_run(lp_job_ctx *ctx)
{
    const char *id = json_string_value(json_object_get(ctx->payload, "import_id"));
    const lp_config *cfg = ctx->cfg;
    lp_imp_reader *r = NULL;
    lp_dataset_row ds;
    uint64_t size = 0;
    imp m;
    int fd = -1, rc = -1;

    memset(&m, 0, sizeof m);
    m.ctx = ctx;
    if (!ctx->team_id || !*ctx->team_id)
        return lp_error_set(&ctx->err, LP_E_INVALID, "job %s: imports.run needs a team", ctx->id);
    if (lp_db_import_get(ctx->db, ctx->arena, ctx->team_id, id, &m.row, &ctx->err) != 0 || read_options(&m) != 0)
        goto cleanup;
    if (!m.row.storage_key) {
        lp_error_set(&ctx->err, LP_E_INVALID, "import %s has no file", id);
        goto cleanup;
    }
    m.lim.geom.max_points = (size_t)cfg->annotation_max_points;
    m.lim.geom.max_paths = (size_t)cfg->annotation_max_paths;
    m.lim.geom.max_pixels = (uint64_t)cfg->image_max_pixels;
    m.lim.max_frame = cfg->video_max_frames - 1;
    m.lim.max_string = (size_t)cfg->string_max_length;
    m.max_problems = (size_t)cfg->import_max_problems;
    m.problems = json_array();
    m.declared = json_object();
    m.batch = lp_arena_new(0, (size_t)cfg->import_max_member_bytes * 4);
    lp_buf_init(&m.blobs, (size_t)cfg->import_max_member_bytes * 4);
    if (!m.problems || !m.declared || !m.batch) {
        nomem(&m, "starting");
        goto cleanup;
    }
    lp_imp_options opt = {.lim = &m.lim,
                          .variant = json_string_value(json_object_get(m.options, "variant")),
                          .max_items = (uint64_t)cfg->import_max_items,
                          .image = find_image,
                          .volume = find_volume,
                          .image_ud = &m};
    lp_imp_sink sink = {on_class, on_item, on_problem, &m};
    if (!(r = lp_imp_reader_new(m.row.format, &opt, &sink, &ctx->err)) || (fd = fetch(&m, &size)) < 0)
        goto cleanup;
    /* the import is one transaction: its progress goes through a connection of its own */
    lp_error pe;
    lp_error_clear(&pe);
    if (!(ctx->progress_db = lp_db_connect(cfg->db_url, 0, &pe)))
        LP_WARN("jobs", "import %s: no connection for its progress (%s): it is recorded at the end", id, pe.message);
    if (lp_db_begin(ctx->db, &ctx->err) != 0)
        goto cleanup;
    if (lp_db_dataset_get(ctx->db, ctx->arena, ctx->team_id, m.row.dataset_id, &ds, &ctx->err) != 0 ||
        load_classes(&m) != 0)
        goto rollback;
    if (read_upload(&m, r, fd, size) != 0) {
        if (ctx->err.code == LP_E_INVALID || ctx->err.code == LP_E_TOO_LARGE) {
            /* a refused upload: said as a problem, nothing written */
            add_problem(&m, "", "", LP_IMP_SKIP_FILE, ctx->err.message);
            lp_db_rollback(ctx->db);
            char why[sizeof ctx->err.message];
            lp_strlcpy(why, ctx->err.message, sizeof why);
            lp_error_clear(&ctx->err);
            record(&m, false);
            lp_error_set(&ctx->err, LP_E_INVALID, "the upload was refused: %s; nothing was written", why);
            goto cleanup;
        }
        goto rollback;
    }
    bool left_out = m.ann_skipped + m.items_skipped + m.files_skipped > 0;
    if (m.row.dry_run || (left_out && !m.skip_invalid)) {
        lp_db_rollback(ctx->db);
        if (record(&m, false) != 0)
            goto cleanup;
        if (!m.row.dry_run) {
            lp_error_set(&ctx->err, LP_E_INVALID,
                         "import %s found %llu problems that leave things out; nothing was written", id,
                         (unsigned long long)m.problems_total);
            lp_error_hint(&ctx->err, "see the import's problems; fix the file, or import again with "
                                     "options.skip_invalid to write what is valid");
            goto cleanup;
        }
        rc = 0;
        goto cleanup;
    }
    if (lp_db_commit(ctx->db, &ctx->err) != 0)
        goto rollback;
    rc = record(&m, true);
    if (rc == 0)
        LP_INFO("jobs", "import %s: %llu annotations created, %llu replaced", id, (unsigned long long)m.ann_created,
                (unsigned long long)m.ann_replaced);
    goto cleanup;
rollback:
    lp_db_rollback(ctx->db);
cleanup:
    lp_db_close(ctx->progress_db);
    ctx->progress_db = NULL;
    if (fd >= 0)
        close(fd);
    lp_imp_reader_free(r);
    imp_free(&m);
    return rc;
}
