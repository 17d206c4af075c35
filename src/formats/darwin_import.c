/* Darwin JSON 2.0 in: one item per file (<path>/<name>.json), its annotations
 * read one object at a time by darwin.c's reader (lp_darwin_read) — the same
 * reader and checks as the batch API — and .v7/metadata.json's classes.
 * See include/loupe/formats/import.h and docs/FORMATS.md. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "import_int.h"
#include "loupe/formats/darwin.h"

static bool is_metadata(const char *name)
{
    size_t n = strlen(name);
    return strcmp(name, ".v7/metadata.json") == 0 || (n > 18 && strcmp(name + n - 18, "/.v7/metadata.json") == 0);
}

static lp_imp_role darwin_role(const lp_imp_reader *r, const char *name)
{
    (void)r;
    if (is_metadata(name))
        return LP_IMP_ROLE_META;
    if (strncmp(name, ".v7/", 4) == 0 || strstr(name, "/.v7/") || !imp_has_ext(name, ".json"))
        return LP_IMP_ROLE_SKIP;
    return LP_IMP_ROLE_ITEMS;
}

/* ---- one item file ------------------------------------------------------------ */

typedef struct dfile {
    lp_imp_reader *r;
    const char *name;            /* the file */
    const char *data;
    lp_arena *a;
    lp_error *err;
    lp_jscan s;
    lp_imp_item it;
    lp_imp_slot *slots;
    size_t cap_slots, cap_anns, nwhere, cap_where;
    const char **where;
    bool skip;                   /* a problem left the file out */
} dfile;

/* A problem that leaves the file out: 0, or -1 when the sink says stop. */
static int skip_file(dfile *f, const char *where, const char *msg)
{
    f->skip = true;
    return imp_problem(f->r, f->name, where, LP_IMP_SKIP_FILE, f->err, "%s; the file was not read", msg);
}

/* Reads a string member (where names it); *out stays NULL for another kind,
 * reported as a problem. 0, 1 (wrong kind) or -1. */
static int read_str(dfile *f, const char *where, const char **out)
{
    if (lp_jscan_peek(&f->s) != LP_JT_STRING) {
        if (lp_jscan_skip(&f->s, NULL, NULL) != 0)
            return -1;
        return skip_file(f, where, "must be a string") != 0 ? -2 : 1;
    }
    return lp_jscan_string(&f->s, f->a, out, NULL) != 0 ? -1 : 0;
}

/* A slot dimension: a non-negative integer, else -1 (unknown). */
static int read_dim(dfile *f, int64_t *out)
{
    double d;
    bool is_int = false;
    int64_t v = -1;
    *out = -1;
    if (lp_jscan_peek(&f->s) != LP_JT_NUMBER)
        return lp_jscan_skip(&f->s, NULL, NULL);
    if (lp_jscan_number(&f->s, &d, &is_int, &v) != 0)
        return -1;
    if (is_int && v >= 0)
        *out = v;
    return 0;
}

static int read_slot(dfile *f, size_t i)
{
    lp_jstr key;
    int more;
    lp_imp_slot *sl = imp_push(f->a, (void **)&f->slots, &f->it.nslots, &f->cap_slots, sizeof *sl);
    if (!sl)
        return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name);
    sl->width = sl->height = sl->frame_count = -1;
    if (lp_jscan_peek(&f->s) != LP_JT_OBJECT) {
        if (lp_jscan_skip(&f->s, NULL, NULL) != 0)
            return -1;
        return skip_file(f, lp_arena_printf(f->a, "item.slots[%zu]", i), "must be an object") != 0 ? -2 : 0;
    }
    lp_jscan_object_begin(&f->s);
    while ((more = lp_jscan_object_next(&f->s, &key)) == 1) {
        int rc = 0;
        if (lp_jstr_eq(&key, "slot_name"))
            rc = read_str(f, lp_arena_printf(f->a, "item.slots[%zu].slot_name", i), &sl->name);
        else if (lp_jstr_eq(&key, "type"))
            rc = read_str(f, lp_arena_printf(f->a, "item.slots[%zu].type", i), &sl->type);
        else if (lp_jstr_eq(&key, "width"))
            rc = read_dim(f, &sl->width);
        else if (lp_jstr_eq(&key, "height"))
            rc = read_dim(f, &sl->height);
        else if (lp_jstr_eq(&key, "frame_count"))
            rc = read_dim(f, &sl->frame_count);
        else
            rc = lp_jscan_skip(&f->s, NULL, NULL);
        if (rc < 0)
            return rc;
    }
    if (more < 0)
        return -1;
    if (!sl->name && !f->skip)
        return skip_file(f, lp_arena_printf(f->a, "item.slots[%zu].slot_name", i), "is missing") != 0 ? -2 : 0;
    return 0;
}

static int read_item(dfile *f)
{
    lp_jstr key;
    int more;
    if (lp_jscan_peek(&f->s) != LP_JT_OBJECT) {
        if (lp_jscan_skip(&f->s, NULL, NULL) != 0)
            return -1;
        return skip_file(f, "item", "must be an object") != 0 ? -2 : 0;
    }
    lp_jscan_object_begin(&f->s);
    while ((more = lp_jscan_object_next(&f->s, &key)) == 1) {
        int rc = 0;
        if (lp_jstr_eq(&key, "name")) {
            rc = read_str(f, "item.name", &f->it.name);
        } else if (lp_jstr_eq(&key, "path")) {
            rc = read_str(f, "item.path", &f->it.path);
        } else if (lp_jstr_eq(&key, "slots") && lp_jscan_peek(&f->s) == LP_JT_ARRAY) {
            int el;
            size_t i = 0;
            lp_jscan_array_begin(&f->s);
            while (rc == 0 && (el = lp_jscan_array_next(&f->s)) == 1)
                rc = read_slot(f, i++);
            if (rc == 0 && el < 0)
                rc = -1;
        } else {
            rc = lp_jscan_skip(&f->s, NULL, NULL);
        }
        if (rc < 0)
            return rc;
    }
    return more < 0 ? -1 : 0;
}

static int read_annotations(dfile *f)
{
    lp_error fe;
    int more;
    size_t i = 0;
    if (lp_jscan_peek(&f->s) != LP_JT_ARRAY) {
        if (lp_jscan_skip(&f->s, NULL, NULL) != 0)
            return -1;
        return skip_file(f, "annotations", "must be an array of annotations") != 0 ? -2 : 0;
    }
    lp_jscan_array_begin(&f->s);
    while ((more = lp_jscan_array_next(&f->s)) == 1) {
        lp_ann ann;
        const char *where = lp_arena_printf(f->a, "annotations[%zu]", i++);
        if (!where)
            return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name);
        memset(&ann, 0, sizeof ann);
        lp_error_clear(&fe);
        int rc = lp_darwin_read(&f->s, f->a, f->r->opt.lim, LP_ANN_CREATE, &ann, &fe);
        if (rc < 0) {
            if (f->s.failed)
                return -1;
            *f->err = fe;
            return -3;
        }
        if (rc > 0) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "%s.", where);
            if (imp_field_problems(f->r, f->name, prefix, &fe, LP_IMP_SKIP_ANNOTATION, f->err) != 0)
                return -2;
            continue;
        }
        if (ann.class_name) /* classes are named: an id belongs to the team that wrote the file */
            ann.class_id = NULL;
        lp_ann *slot = imp_push(f->a, (void **)&f->it.anns, &f->it.nanns, &f->cap_anns, sizeof *slot);
        const char **w = imp_push(f->a, (void **)&f->where, &f->nwhere, &f->cap_where, sizeof *w);
        if (!slot || !w)
            return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name);
        *slot = ann;
        *w = where;
    }
    return more < 0 ? -1 : 0;
}

static int read_props(dfile *f)
{
    lp_error fe;
    lp_error_clear(&fe);
    int rc = lp_darwin_read_properties(&f->s, f->a, f->r->opt.lim, &f->it.props, &fe);
    if (rc < 0) {
        if (f->s.failed)
            return -1;
        *f->err = fe;
        return -3;
    }
    if (rc > 0) {
        f->skip = true;
        return imp_field_problems(f->r, f->name, "properties", &fe, LP_IMP_SKIP_FILE, f->err) != 0 ? -2 : 0;
    }
    f->it.has_props = true;
    return 0;
}

/* The top-level object. 0 (read; f->skip when left out), -1 syntax error,
 * -2 the sink said stop, -3 out of memory (f->err set). */
static int read_file(dfile *f)
{
    lp_jstr key;
    int more = 0;
    if (lp_jscan_peek(&f->s) != LP_JT_OBJECT) {
        if (f->s.failed)
            return -1;
        return skip_file(f, "", "a Darwin JSON file is one JSON object") != 0 ? -2 : 0;
    }
    lp_jscan_object_begin(&f->s);
    while (!f->skip && (more = lp_jscan_object_next(&f->s, &key)) == 1) {
        int rc = 0;
        if (lp_jstr_eq(&key, "version")) {
            const char *v = NULL;
            rc = read_str(f, "version", &v);
            if (rc == 0 && strncmp(v, "2.", 2) != 0)
                rc = skip_file(f, "version", lp_arena_printf(f->a, "Darwin JSON %.20s is not read (only 2.0 is): "
                                                                   "export the files as Darwin JSON 2.0", v)) != 0
                         ? -2
                         : 0;
        } else if (lp_jstr_eq(&key, "image")) {
            rc = skip_file(f, "image", "this is Darwin JSON 1.0, which is not read (only 2.0 is): export the files "
                                       "as Darwin JSON 2.0") != 0
                     ? -2
                     : 0;
        } else if (lp_jstr_eq(&key, "item")) {
            rc = read_item(f);
        } else if (lp_jstr_eq(&key, "annotations")) {
            rc = read_annotations(f);
        } else if (lp_jstr_eq(&key, "properties")) {
            rc = read_props(f);
        } else {
            rc = lp_jscan_skip(&f->s, NULL, NULL);
        }
        if (rc < 0)
            return rc;
    }
    if (f->skip)
        return 0;
    if (more < 0 || lp_jscan_finish(&f->s) != 0)
        return -1;
    if (!f->it.name)
        return skip_file(f, "item.name", "is missing (a Darwin file names its item)") != 0 ? -2 : 0;
    return 0;
}

static int darwin_file(lp_imp_reader *r, const char *name, const char *data, size_t len, lp_arena *a, lp_error *err)
{
    dfile f;
    memset(&f, 0, sizeof f);
    f.r = r;
    f.name = name;
    f.data = data;
    f.a = a;
    f.err = err;
    lp_jscan_init(&f.s, data, len);
    int rc = read_file(&f);
    if (rc == -1)
        return imp_json_problem(r, name, &f.s, data, err);
    if (rc < -1)
        return -1;
    if (f.skip)
        return 0;
    f.it.file = name;
    f.it.where = "";
    if (!f.it.path)
        f.it.path = "/";
    f.it.slots = f.slots;
    f.it.ann_where = f.where;
    f.it.done = 1;
    return imp_item(r, &f.it, err);
}

/* ---- .v7/metadata.json ------------------------------------------------------------ */

static const char *dump(lp_arena *a, json_t *v)
{
    if (!v)
        return NULL;
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *out = s ? lp_arena_strdup(a, s) : NULL;
    free(s);
    return out;
}

/* A skeleton {"nodes": [{"name"}], "edges": [[a, b]]} into c; a problem
 * note and no skeleton when it is malformed. */
static void read_skeleton(lp_arena *a, json_t *sk, lp_imp_class *c)
{
    json_t *nodes = json_object_get(sk, "nodes"), *edges = json_object_get(sk, "edges"), *v;
    size_t i, n = json_array_size(nodes), m = json_array_size(edges);
    const char **names = lp_arena_calloc(a, n ? n : 1, sizeof *names);
    uint32_t *e = lp_arena_calloc(a, m ? 2 * m : 1, sizeof *e);
    if (!names || !e || n == 0)
        return;
    json_array_foreach(nodes, i, v) {
        if (!(names[i] = json_string_value(json_object_get(v, "name"))))
            return;
        names[i] = lp_arena_strdup(a, names[i]);
    }
    json_array_foreach(edges, i, v) {
        json_int_t x = json_integer_value(json_array_get(v, 0)), y = json_integer_value(json_array_get(v, 1));
        if (json_array_size(v) != 2 || x < 0 || y < 0 || (size_t)x >= n || (size_t)y >= n)
            return;
        e[2 * i] = (uint32_t)x;
        e[2 * i + 1] = (uint32_t)y;
    }
    c->nodes = names;
    c->nnodes = n;
    c->edges = e;
    c->nedges = m;
}

static int read_metadata(lp_imp_reader *r, const char *name, const char *data, size_t len, lp_arena *a,
                         lp_error *err)
{
    json_error_t je;
    json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je), *classes, *c;
    size_t i;
    int rc = 0;
    if (!doc)
        return imp_problem(r, name, lp_arena_printf(a, "line %d, column %d", je.line, je.column), LP_IMP_SKIP_FILE,
                           err, "not valid JSON: %s; the file was not read", je.text);
    classes = json_object_get(doc, "classes");
    if (!json_is_array(classes))
        rc = imp_problem(r, name, "classes", LP_IMP_SKIP_FILE, err, "must be an array of classes");
    json_array_foreach(classes, i, c) {
        const char *cname = json_string_value(json_object_get(c, "name"));
        const char *type = json_string_value(json_object_get(c, "type"));
        int t;
        if (rc != 0)
            break;
        if (!cname || !*cname) {
            rc = imp_problem(r, name, lp_arena_printf(a, "classes[%zu].name", i), LP_IMP_NOTE, err,
                             "is missing; the class was not read");
            continue;
        }
        lp_imp_class ic = {.name = lp_arena_strdup(a, cname)};
        if (type && lp_ann_type_from_name(type, strlen(type), &t) == 0)
            ic.types = 1u << t;
        else if (type)
            rc = imp_problem(r, name, lp_arena_printf(a, "classes[%zu].type", i), LP_IMP_NOTE, err,
                             "\"%.60s\" is not an annotation type; the class gets the types its annotations use",
                             type);
        ic.sub_types_json = json_is_array(json_object_get(c, "sub_types")) ? dump(a, json_object_get(c, "sub_types"))
                                                                           : NULL;
        ic.properties_json =
            json_is_array(json_object_get(c, "properties")) ? dump(a, json_object_get(c, "properties")) : NULL;
        if (json_string_value(json_object_get(c, "color")))
            ic.color = lp_arena_strdup(a, json_string_value(json_object_get(c, "color")));
        if (json_string_value(json_object_get(c, "description")))
            ic.description = lp_arena_strdup(a, json_string_value(json_object_get(c, "description")));
        if (json_is_object(json_object_get(c, "skeleton")))
            read_skeleton(a, json_object_get(c, "skeleton"), &ic);
        if (rc == 0 && !ic.name)
            rc = lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", name);
        if (rc == 0)
            rc = r->sink.cls(r->sink.ud, &ic, err);
    }
    json_decref(doc);
    return rc;
}

static int darwin_read(lp_imp_reader *r, const char *name, const char *data, size_t len, lp_arena *a, lp_error *err)
{
    return is_metadata(name) ? read_metadata(r, name, data, len, a, err) : darwin_file(r, name, data, len, a, err);
}

const lp_imp_ops lp_imp_darwin_ops = {"darwin", NULL, darwin_role, darwin_read, NULL, NULL};
