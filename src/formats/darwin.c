/* Darwin JSON 2.0: the annotation reader and writer.
 * See include/loupe/formats/darwin.h and docs/ANNOTATIONS.md. */
#include "loupe/formats/darwin.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/util.h"
#include "loupe/formats/json_text.h"

/* ---- the reader: field paths and errors -------------------------------------- */

/* Every reader step returns 0 (read, valid), 1 (read or skipped, with field
 * errors recorded at the current path) or -1 (syntax error, or out of memory
 * with err set). */

/* A member kept as raw text: `"key":value`. */
typedef struct span {
    const char *key; /* raw key text between the quotes */
    size_t key_len;
    const char *val;
    size_t val_len;
    struct span *next;
} span;

/* One step of the field path: a member name or an array index. Paths are
 * rendered only when an error is reported, so reading stays cheap. */
typedef struct path_seg {
    const char *name; /* NULL: an index */
    size_t len;
    size_t index;
} path_seg;

#define PATH_MAX_SEGS 24

typedef struct reader {
    lp_jscan *s;
    lp_arena *a;
    const lp_ann_limits *lim;
    lp_error *err;
    path_seg segs[PATH_MAX_SEGS];
    size_t depth;   /* segments pushed (may exceed PATH_MAX_SEGS; deeper ones are not named) */
    bool bad;       /* a field error was recorded for the current annotation */
    unsigned char *stack; /* elements of the arrays being read, innermost last (malloc) */
    size_t stack_len, stack_cap;
} reader;

static size_t push_name(reader *r, const char *name, size_t len)
{
    if (r->depth < PATH_MAX_SEGS)
        r->segs[r->depth] = (path_seg){name, len < 60 ? len : 60, 0};
    return r->depth++;
}

static size_t push_index(reader *r, size_t i)
{
    if (r->depth < PATH_MAX_SEGS)
        r->segs[r->depth] = (path_seg){NULL, 0, i};
    return r->depth++;
}

static void path_pop(reader *r, size_t saved) { r->depth = saved; }

/* The current path plus suffix (a suffix starting with '.' loses the dot
 * when the path is empty). */
static void render_path(const reader *r, const char *suffix, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->depth && i < PATH_MAX_SEGS && n < cap; i++) {
        const path_seg *sg = &r->segs[i];
        int k = sg->name ? snprintf(out + n, cap - n, "%s%.*s", i ? "." : "", (int)sg->len, sg->name)
                         : snprintf(out + n, cap - n, "[%zu]", sg->index);
        if (k > 0)
            n += (size_t)k;
    }
    if (n >= cap)
        return;
    if (suffix) {
        if (n == 0 && suffix[0] == '.')
            suffix++;
        snprintf(out + n, cap - n, "%s", suffix);
    }
}

static void vferr(reader *r, const char *suffix, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static void vferr(reader *r, const char *suffix, const char *fmt, va_list ap)
{
    char field[200], msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    render_path(r, suffix, field, sizeof field);
    lp_error_field(r->err, LP_E_INVALID, field, "%s", msg);
    r->bad = true;
}

/* Field error at the current path plus suffix. Returns 1 (so a reader step
 * can `return ferr(...)` once its value is consumed). */
static int ferr(reader *r, const char *suffix, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ferr(reader *r, const char *suffix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vferr(r, suffix, fmt, ap);
    va_end(ap);
    return 1;
}

/* Field error at the current path about the value at hand, which is
 * skipped. 1, or -1 on a syntax error. */
static int reject(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reject(reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vferr(r, NULL, fmt, ap);
    va_end(ap);
    return lp_jscan_skip(r->s, NULL, NULL) != 0 ? -1 : 1;
}

/* "out of memory reading <what>". Returns -1. */
static int nomem(reader *r, const char *what)
{
    return lp_error_set(r->err, LP_E_NOMEM, "out of memory reading %s", what);
}

/* Folds one step's result into *rc (a field error sticks); true when the
 * step failed outright (-1: syntax error or out of memory). */
static bool step_failed(int *rc, int step)
{
    if (step > 0)
        *rc = 1;
    return step < 0;
}

/* ---- values ------------------------------------------------------------------ */

static const char *kind_name(lp_jtok t)
{
    switch (t) {
    case LP_JT_NULL: return "null";
    case LP_JT_FALSE:
    case LP_JT_TRUE: return "a boolean";
    case LP_JT_NUMBER: return "a number";
    case LP_JT_STRING: return "a string";
    case LP_JT_ARRAY: return "an array";
    case LP_JT_OBJECT: return "an object";
    default: return "invalid";
    }
}

/* Skips a value of the wrong kind, recording "must be <want>". 1 or -1. */
static int wrong_kind(reader *r, const char *want, lp_jtok got)
{
    return got == LP_JT_ERROR ? -1 : reject(r, "must be %s, not %s", want, kind_name(got));
}

/* 0 when the next value is of kind k; else as wrong_kind. */
static int expect_kind(reader *r, lp_jtok k, const char *want)
{
    lp_jtok t = lp_jscan_peek(r->s);
    return t == k ? 0 : wrong_kind(r, want, t);
}

/* Where the next value's text starts (after whitespace). */
static const char *value_start(reader *r)
{
    lp_jscan_peek(r->s);
    return r->s->p;
}

/* A finite number. */
static int read_number(reader *r, double *out)
{
    int rc = expect_kind(r, LP_JT_NUMBER, "a number");
    if (rc != 0)
        return rc;
    if (lp_jscan_number(r->s, out, NULL, NULL) != 0)
        return -1;
    return isfinite(*out) ? 0 : ferr(r, NULL, "must be a finite number");
}

/* An integer from min to max. */
static int read_int(reader *r, int64_t min, int64_t max, int64_t *out)
{
    bool is_int = false;
    double d;
    int rc = expect_kind(r, LP_JT_NUMBER, "an integer");
    if (rc != 0)
        return rc;
    if (lp_jscan_number(r->s, &d, &is_int, out) != 0)
        return -1;
    if (!is_int)
        return ferr(r, NULL, "must be an integer");
    if (*out < min || *out > max)
        return ferr(r, NULL, "must be between %lld and %lld", (long long)min, (long long)max);
    return 0;
}

static int read_bool(reader *r, bool *out)
{
    lp_jtok t = lp_jscan_peek(r->s);
    int v;
    if (t != LP_JT_TRUE && t != LP_JT_FALSE)
        return wrong_kind(r, "true or false", t);
    if (lp_jscan_literal(r->s, &v) != 0)
        return -1;
    *out = v == 1;
    return 0;
}

/* A string (decoded into the arena), non-empty, at most max bytes. */
static int read_string(reader *r, size_t max, const char **out)
{
    size_t n;
    int rc = expect_kind(r, LP_JT_STRING, "a string");
    if (rc != 0)
        return rc;
    if (lp_jscan_string(r->s, r->a, out, &n) != 0)
        return -1;
    if (n == 0)
        return ferr(r, NULL, "must not be empty");
    if (n > max)
        return ferr(r, NULL, "is %zu bytes long; the limit is %zu", n, max);
    return 0;
}

/* A UUID, stored lower-case. */
static int read_uuid(reader *r, const char **out)
{
    const char *sv;
    int rc = expect_kind(r, LP_JT_STRING, "a UUID string");
    if (rc != 0)
        return rc;
    if (lp_jscan_string(r->s, r->a, &sv, NULL) != 0)
        return -1;
    if (!lp_is_uuid(sv))
        return ferr(r, NULL, "must be a UUID");
    char *c = lp_arena_strdup(r->a, sv);
    if (!c)
        return lp_error_set(r->err, LP_E_NOMEM, "out of memory");
    for (char *q = c; *q; q++)
        if (*q >= 'A' && *q <= 'F')
            *q = (char)(*q - 'A' + 'a');
    *out = c;
    return 0;
}

/* An annotation id: a UUID (stored lower-case) or a short plain id kept as
 * sent (lp_ann_id_ok). */
static int read_ann_id(reader *r, const char **out)
{
    const char *sv;
    int rc = expect_kind(r, LP_JT_STRING, "a string");
    if (rc != 0)
        return rc;
    if (lp_jscan_string(r->s, r->a, &sv, NULL) != 0)
        return -1;
    if (!lp_ann_id_ok(sv))
        return ferr(r, NULL, "must be a UUID or 1 to %d characters of A-Z, a-z, 0-9, '.', '_', ':', '-'",
                    LP_ANN_ID_MAX);
    char *c = lp_arena_strdup(r->a, sv);
    if (!c)
        return lp_error_set(r->err, LP_E_NOMEM, "out of memory");
    for (char *q = c; lp_is_uuid(sv) && *q; q++)
        if (*q >= 'A' && *q <= 'F')
            *q = (char)(*q - 'A' + 'a');
    *out = c;
    return 0;
}

/* ---- arrays and objects -------------------------------------------------------- */

/* Arrays are collected on the reader's stack: an array's elements sit on top
 * of it until its ']' and then move to the arena in one block of the exact
 * size, so nested arrays (a polygon's paths, each path's points) waste no
 * arena space. A read that fails (-1) leaves the stack as it is; lp_ann_read
 * frees it. */
static int stack_push(reader *r, const void *elem, size_t size, const char *what)
{
    if (r->stack_cap - r->stack_len < size) {
        size_t cap = r->stack_cap ? r->stack_cap : 4096;
        while (cap - r->stack_len < size)
            cap *= 2;
        unsigned char *grown = realloc(r->stack, cap);
        if (!grown)
            return nomem(r, what);
        r->stack = grown;
        r->stack_cap = cap;
    }
    if (size) {
        memcpy(r->stack + r->stack_len, elem, size);
        r->stack_len += size;
    }
    return 0;
}

/* Moves what was pushed since base into one arena block (*out; NULL when
 * nothing was) and pops it. 0 or -1. */
static int stack_take(reader *r, size_t base, const char *what, void **out)
{
    size_t len = r->stack_len - base;
    *out = len ? lp_arena_memdup(r->a, r->stack + base, len) : NULL;
    r->stack_len = base;
    return len && !*out ? nomem(r, what) : 0;
}

/* Room for one array element of any type the reader collects.
 *
 * read_array and walk_object are inlined so that each caller's fn becomes a
 * direct call: points and their members are the bulk of a large batch. */
typedef union elem_slot {
    lp_geom_point point;
    lp_geom_path path;
    lp_geom_skeleton_node node;
    lp_ann_prop prop;
    lp_geom_frame_range range;
    uint32_t value;
} elem_slot;

/* Reads element i of an array into elem (zeroed, of the array's type). */
typedef int (*elem_fn)(reader *r, size_t i, void *elem, void *ctx);

/* Reads an array, element i through fn at path "[i]", into *out (arena,
 * exact size, NULL when empty) and *n. elem_size 0: the elements are only
 * checked (out may be NULL). want names the array for a value of the wrong
 * kind ("an array of paths"), what for out of memory ("a polygon"). */
static inline __attribute__((always_inline)) int read_array(reader *r, const char *want, const char *what,
                                                            size_t elem_size, elem_fn fn, void *ctx, void **out,
                                                            size_t *n)
{
    size_t base = r->stack_len, count = 0;
    void *arr;
    int more, rc = expect_kind(r, LP_JT_ARRAY, want);
    if (out)
        *out = NULL;
    *n = 0;
    if (rc != 0)
        return rc;
    if (lp_jscan_array_begin(r->s) != 0)
        return -1;
    while ((more = lp_jscan_array_next(r->s)) == 1) {
        elem_slot e;
        memset(&e, 0, sizeof e);
        size_t saved = push_index(r, count);
        int step = fn(r, count, &e, ctx);
        path_pop(r, saved);
        if (step_failed(&rc, step) || stack_push(r, &e, elem_size, what) != 0)
            return -1;
        count++;
    }
    if (more < 0 || stack_take(r, base, what, &arr) != 0)
        return -1;
    if (out)
        *out = arr;
    *n = count;
    return rc;
}

/* Reads the value of member key, whose name is on the path. */
typedef int (*key_fn)(reader *r, const lp_jstr *key, void *ctx);

/* Walks the members of the object at hand (its kind checked with
 * expect_kind), calling fn for each. */
static inline __attribute__((always_inline)) int walk_object(reader *r, key_fn fn, void *ctx)
{
    lp_jstr key;
    int rc = 0, more;
    if (lp_jscan_object_begin(r->s) != 0)
        return -1;
    while ((more = lp_jscan_object_next(r->s, &key)) == 1) {
        size_t saved = push_name(r, key.p, key.n);
        int step = fn(r, &key, ctx);
        path_pop(r, saved);
        if (step_failed(&rc, step))
            return -1;
    }
    return more < 0 ? -1 : rc;
}

/* Reads member names[index] of a fixed-shape object. */
typedef int (*member_fn)(reader *r, int index, void *ctx);

typedef struct members {
    const char *const *names;
    member_fn fn;
    void *ctx;
    unsigned seen; /* bit i: names[i] was read */
} members;

static int member_key(reader *r, const lp_jstr *key, void *ctx)
{
    members *m = ctx;
    int i = 0;
    while (m->names[i] && !lp_jstr_eq(key, m->names[i]))
        i++;
    if (!m->names[i])
        return reject(r, "is not a known field");
    if (m->seen & (1u << i))
        return reject(r, "appears more than once");
    m->seen |= 1u << i;
    return m->fn(r, i, m->ctx);
}

/* Reads an object whose members are all listed in names (NULL-terminated),
 * each through fn(r, index, ctx); unknown and repeated members are field
 * errors, and so are missing required ones (bit i set: names[i] required). */
static int read_members(reader *r, const char *const *names, unsigned required, member_fn fn, void *ctx)
{
    members m = {names, fn, ctx, 0};
    int rc = expect_kind(r, LP_JT_OBJECT, "an object");
    if (rc != 0 || (rc = walk_object(r, member_key, &m)) < 0)
        return rc;
    for (int i = 0; names[i]; i++) {
        if ((required & (1u << i)) && !(m.seen & (1u << i))) {
            char suffix[80];
            snprintf(suffix, sizeof suffix, ".%s", names[i]);
            rc = ferr(r, suffix, "is required");
        }
    }
    return rc;
}

/* Concatenates spans into "{…}" text (or without braces when bare). */
static const char *join_spans(reader *r, const span *list, bool braces, size_t *len)
{
    size_t n = braces ? 2 : 0;
    for (const span *sp = list; sp; sp = sp->next)
        n += sp->key_len + sp->val_len + 4;
    char *out = lp_arena_alloc(r->a, n + 1), *o = out;
    if (!out)
        return NULL;
    if (braces)
        *o++ = '{';
    for (const span *sp = list; sp; sp = sp->next) {
        if (sp != list)
            *o++ = ',';
        *o++ = '"';
        memcpy(o, sp->key, sp->key_len);
        o += sp->key_len;
        *o++ = '"';
        *o++ = ':';
        memcpy(o, sp->val, sp->val_len);
        o += sp->val_len;
    }
    if (braces)
        *o++ = '}';
    *o = '\0';
    *len = (size_t)(o - out);
    return out;
}

/* Appends a span to the end of *list (keeps document order). */
static int add_span(reader *r, span **list, const lp_jstr *key, const char *val, size_t val_len)
{
    span *sp = lp_arena_alloc(r->a, sizeof *sp);
    if (!sp)
        return nomem(r, "an annotation");
    sp->key = key->p;
    sp->key_len = key->n;
    sp->val = val;
    sp->val_len = val_len;
    sp->next = NULL;
    while (*list)
        list = &(*list)->next;
    *list = sp;
    return 0;
}

/* Keeps the value just read, whose text began at before, as a span. */
static int keep_value(reader *r, span **list, const lp_jstr *key, const char *before)
{
    return add_span(r, list, key, before, (size_t)(r->s->p - before));
}

/* ---- shapes ------------------------------------------------------------------ */

/* Member i as a number into ((double *)ctx)[i]: points, boxes, vectors. */
static int number_member(reader *r, int i, void *ctx) { return read_number(r, &((double *)ctx)[i]); }

static const char *const xy_names[] = {"x", "y", NULL};
static const char *const bbox_names[] = {"x", "y", "w", "h", NULL};

static int read_point(reader *r, lp_geom_point *p)
{
    double v[2] = {0, 0};
    int rc = read_members(r, xy_names, 3, number_member, v);
    p->x = v[0];
    p->y = v[1];
    return rc;
}

static int read_bbox(reader *r, lp_geom_bbox *b)
{
    double v[4] = {0, 0, 0, 0};
    int rc = read_members(r, bbox_names, 15, number_member, v);
    b->x = v[0];
    b->y = v[1];
    b->w = v[2];
    b->h = v[3];
    return rc;
}

static int point_elem(reader *r, size_t i, void *elem, void *ctx)
{
    (void)i;
    (void)ctx;
    return read_point(r, elem);
}

static int read_path(reader *r, lp_geom_path *out)
{
    void *points;
    int rc = read_array(r, "an array of points", "a path", sizeof *out->points, point_elem, NULL, &points,
                        &out->npoints);
    out->points = points;
    return rc;
}

static int path_elem(reader *r, size_t i, void *elem, void *ctx)
{
    (void)i;
    (void)ctx;
    return read_path(r, elem);
}

/* A polygon is {"paths": [path, …]}, or Darwin's legacy {"path": path} (one
 * path, still read by the reference client and written back as sent);
 * complex_polygon (Darwin 1.0) is {"path": [path, …]}. */
static const char *const polygon_names[] = {"paths", "path", NULL};
static const char *const complex_polygon_names[] = {"path", NULL};

static int read_paths(reader *r, lp_geom_polygon *pg)
{
    void *paths;
    int rc = read_array(r, "an array of paths", "a polygon", sizeof *pg->paths, path_elem, NULL, &paths, &pg->npaths);
    pg->paths = paths;
    return rc;
}

static int polygon_member(reader *r, int i, void *ctx)
{
    lp_ann_geom *g = ctx;
    lp_geom_polygon *pg = &g->shape.u.polygon;
    if (i == 0)
        return read_paths(r, pg);
    /* the legacy single path */
    g->legacy_path = true;
    pg->paths = lp_arena_calloc(r->a, 1, sizeof *pg->paths);
    if (!pg->paths)
        return nomem(r, "a polygon");
    pg->npaths = 1;
    return read_path(r, &pg->paths[0]);
}

static int complex_polygon_member(reader *r, int i, void *ctx)
{
    (void)i;
    return read_paths(r, ctx);
}

static int read_polygon(reader *r, lp_ann_geom *g)
{
    members m = {polygon_names, polygon_member, g, 0};
    int rc = expect_kind(r, LP_JT_OBJECT, "an object like {\"paths\": [[{\"x\": …, \"y\": …}, …]]}");
    if (rc != 0 || (rc = walk_object(r, member_key, &m)) < 0)
        return rc;
    if (m.seen == 0)
        return ferr(r, ".paths", "is required");
    if (m.seen == 3)
        return ferr(r, ".path", "cannot be given with paths (path is the legacy form of one path)");
    return rc;
}

/* ---- document types: table, simple_table, string, graph ------------------------- */

/* Their members are checked for kind (the ones listed are required); the
 * value is kept as its JSON text. */
typedef struct doc_member {
    const char *name;
    lp_jtok kind;      /* LP_JT_OBJECT for bounding_box (checked as a box), else LP_JT_ARRAY */
} doc_member;

typedef struct doc_spec {
    const doc_member *members;
    unsigned seen;
} doc_spec;

static const doc_member table_members[] = {{"bounding_box", LP_JT_OBJECT}, {"cells", LP_JT_ARRAY}, {NULL, 0}};
static const doc_member simple_table_members[] = {
    {"bounding_box", LP_JT_OBJECT}, {"col_offsets", LP_JT_ARRAY}, {"row_offsets", LP_JT_ARRAY}, {NULL, 0}};
static const doc_member string_members[] = {{"sources", LP_JT_ARRAY}, {NULL, 0}};
static const doc_member graph_members[] = {{"nodes", LP_JT_ARRAY}, {"edges", LP_JT_ARRAY}, {NULL, 0}};

static int doc_key(reader *r, const lp_jstr *key, void *ctx)
{
    doc_spec *d = ctx;
    for (int i = 0; d->members[i].name; i++) {
        if (!lp_jstr_eq(key, d->members[i].name))
            continue;
        d->seen |= 1u << i;
        if (d->members[i].kind == LP_JT_OBJECT) {
            lp_geom_bbox b;
            return read_bbox(r, &b);
        }
        int rc = expect_kind(r, LP_JT_ARRAY, "an array");
        return rc != 0 ? rc : lp_jscan_skip(r->s, NULL, NULL);
    }
    return lp_jscan_skip(r->s, NULL, NULL); /* kept as sent */
}

static int read_document(reader *r, const doc_member *spec)
{
    doc_spec d = {spec, 0};
    int rc = expect_kind(r, LP_JT_OBJECT, "an object");
    if (rc != 0 || (rc = walk_object(r, doc_key, &d)) < 0)
        return rc;
    for (int i = 0; spec[i].name; i++) {
        if (!(d.seen & (1u << i))) {
            char suffix[40];
            snprintf(suffix, sizeof suffix, ".%s", spec[i].name);
            rc = ferr(r, suffix, "is required");
        }
    }
    return rc;
}

static const char *const line_names[] = {"path", NULL};

static int line_member(reader *r, int i, void *ctx)
{
    (void)i;
    return read_path(r, ctx);
}

static const char *const ellipse_names[] = {"center", "radius", "angle", NULL};

static int ellipse_member(reader *r, int i, void *ctx)
{
    lp_geom_ellipse *e = ctx;
    if (i == 0)
        return read_point(r, &e->center);
    if (i == 1)
        return read_point(r, &e->radius);
    return read_number(r, &e->angle);
}

/* rotated_box: the box before rotation and its angle, every member required */
static const char *const rbox_names[] = {"x", "y", "w", "h", "angle", NULL};

static int read_rbox(reader *r, lp_geom_rbox *b)
{
    double v[5] = {0, 0, 0, 0, 0};
    int rc = read_members(r, rbox_names, 31, number_member, v);
    *b = (lp_geom_rbox){v[0], v[1], v[2], v[3], v[4]};
    return rc;
}

static const char *const cuboid_names[] = {"front", "back", NULL};

static int cuboid_member(reader *r, int i, void *ctx)
{
    lp_geom_cuboid *c = ctx;
    return read_bbox(r, i == 0 ? &c->front : &c->back);
}

static const char *const node_names[] = {"name", "x", "y", "occluded", NULL};

static int node_member(reader *r, int i, void *ctx)
{
    lp_geom_skeleton_node *nd = ctx;
    switch (i) {
    case 0: return read_string(r, r->lim->max_string, &nd->name);
    case 1: return read_number(r, &nd->x);
    case 2: return read_number(r, &nd->y);
    default: return read_bool(r, &nd->occluded);
    }
}

static int node_elem(reader *r, size_t i, void *elem, void *ctx)
{
    (void)i;
    (void)ctx;
    return read_members(r, node_names, 6, node_member, elem);
}

static const char *const skeleton_names[] = {"nodes", NULL};

static int skeleton_member(reader *r, int i, void *ctx)
{
    lp_geom_skeleton *sk = ctx;
    void *nodes;
    (void)i;
    int rc = read_array(r, "an array of nodes", "a skeleton", sizeof *sk->nodes, node_elem, NULL, &nodes, &sk->nnodes);
    sk->nodes = nodes;
    return rc;
}

/* Raster layer: dense_rle checked, the other members kept as text. */
typedef struct raster_ctx {
    lp_ann_geom *g;
    int64_t total;
    bool has_total, has_dense;
    uint64_t sum;
    span *rest;
} raster_ctx;

/* dense_rle holds label, count, label, count, … */
static int dense_elem(reader *r, size_t i, void *elem, void *ctx)
{
    raster_ctx *c = ctx;
    int64_t x = 0;
    int rc = read_int(r, 0, (i % 2 == 0) ? 255 : (int64_t)UINT32_MAX, &x);
    *(uint32_t *)elem = (uint32_t)x;
    if (i % 2 == 1)
        c->sum += (uint64_t)x;
    return rc;
}

static int read_dense(reader *r, raster_ctx *c)
{
    lp_ann_geom *g = c->g;
    void *dense;
    int rc = read_array(r, "an array of integers", "a raster layer", sizeof *g->dense, dense_elem, c, &dense,
                        &g->ndense);
    g->dense = dense;
    if (rc >= 0 && g->ndense % 2 != 0)
        rc = ferr(r, NULL, "must hold pairs of label and count (an even number of values, not %zu)", g->ndense);
    return rc;
}

static int mapping_key(reader *r, const lp_jstr *key, void *ctx)
{
    int64_t label;
    (void)key;
    (void)ctx;
    return read_int(r, 1, 255, &label);
}

static int raster_key(reader *r, const lp_jstr *key, void *ctx)
{
    raster_ctx *c = ctx;
    int rc;
    if (lp_jstr_eq(key, "dense_rle")) {
        c->has_dense = true;
        return read_dense(r, c);
    }
    const char *before = value_start(r);
    if (lp_jstr_eq(key, "total_pixels")) {
        rc = read_int(r, 1, (int64_t)r->lim->geom.max_pixels, &c->total);
        c->has_total = rc == 0;
    } else if (lp_jstr_eq(key, "mask_annotation_ids_mapping")) {
        rc = expect_kind(r, LP_JT_OBJECT, "an object of annotation ids to labels");
        if (rc == 0)
            rc = walk_object(r, mapping_key, NULL);
    } else {
        rc = lp_jscan_skip(r->s, NULL, NULL);
    }
    return rc < 0 || keep_value(r, &c->rest, key, before) != 0 ? -1 : rc;
}

static int read_raster(reader *r, lp_ann_geom *g)
{
    raster_ctx c = {.g = g};
    int rc = expect_kind(r, LP_JT_OBJECT, "an object");
    if (rc != 0 || (rc = walk_object(r, raster_key, &c)) < 0)
        return rc;
    if (!c.has_dense)
        rc = ferr(r, ".dense_rle", "is required");
    if (!c.has_total && rc == 0)
        rc = ferr(r, ".total_pixels", "is required");
    if (rc == 0 && c.sum != (uint64_t)c.total)
        rc = ferr(r, ".dense_rle", "counts add up to %llu pixels, but total_pixels is %lld",
                  (unsigned long long)c.sum, (long long)c.total);
    g->type = LP_ANN_RASTER_LAYER;
    g->raw = join_spans(r, c.rest, false, &g->raw_len);
    return g->raw ? rc : nomem(r, "a raster layer");
}

/* ---- bodies: one annotation's or one frame's keys ---------------------------- */

/* Geometry keys found in one object, before deciding which is the shape. */
typedef struct found_geom {
    bool present;
    bool ok;           /* read without field errors */
    lp_jstr key;
    const char *raw;   /* the value's text */
    size_t raw_len;
    lp_ann_geom g;
} found_geom;

typedef struct body_state {
    found_geom geo[LP_ANN_TYPE_COUNT];
    span *data;
    span *extra;
    lp_ann_body *body;
} body_state;

static const char *const text_names[] = {"text", NULL};

static int text_member(reader *r, int i, void *ctx)
{
    (void)i;
    return read_string(r, r->lim->max_string, ctx);
}

/* Runs lp_geom_validate on a shape read without field errors, naming its
 * fields from the current path. 0 or 1. */
static int validate_shape(reader *r, const lp_geom_shape *shape)
{
    size_t mark = r->err->nfields;
    if (lp_geom_validate(shape, &r->lim->geom, r->err) == 0)
        return 0;
    if (r->depth) {
        char prefix[200];
        render_path(r, ".", prefix, sizeof prefix);
        lp_error_prefix_fields(r->err, mark, prefix);
    }
    r->bad = true;
    return 1;
}

/* Reads the value of a geometry key (type t) into f. */
static int read_geom_value(reader *r, int t, found_geom *f)
{
    lp_ann_geom *g = &f->g;
    const char *before = value_start(r);
    int rc;
    memset(g, 0, sizeof *g);
    g->type = t;
    g->shape.type = lp_ann_geom_type(t);
    switch (t) {
    case LP_GEOM_BOUNDING_BOX: rc = read_bbox(r, &g->shape.u.bbox); break;
    case LP_GEOM_POLYGON: rc = read_polygon(r, g); break;
    case LP_ANN_COMPLEX_POLYGON:
        rc = read_members(r, complex_polygon_names, 1, complex_polygon_member, &g->shape.u.polygon);
        break;
    case LP_ANN_TABLE: rc = read_document(r, table_members); break;
    case LP_ANN_SIMPLE_TABLE: rc = read_document(r, simple_table_members); break;
    case LP_ANN_STRING: rc = read_document(r, string_members); break;
    case LP_ANN_GRAPH: rc = read_document(r, graph_members); break;
    case LP_GEOM_LINE: rc = read_members(r, line_names, 1, line_member, &g->shape.u.line); break;
    case LP_GEOM_KEYPOINT: rc = read_point(r, &g->shape.u.keypoint); break;
    case LP_GEOM_SKELETON: rc = read_members(r, skeleton_names, 1, skeleton_member, &g->shape.u.skeleton); break;
    case LP_GEOM_ELLIPSE: rc = read_members(r, ellipse_names, 7, ellipse_member, &g->shape.u.ellipse); break;
    case LP_GEOM_CUBOID: rc = read_members(r, cuboid_names, 3, cuboid_member, &g->shape.u.cuboid); break;
    case LP_GEOM_ROTATED_BOX: rc = read_rbox(r, &g->shape.u.rbox); break;
    case LP_ANN_RASTER_LAYER: rc = read_raster(r, g); break;
    case LP_GEOM_TEXT: {
        const char *txt = NULL;
        rc = read_members(r, text_names, 1, text_member, &txt);
        break;
    }
    default: /* tag, mask: any object, kept as text */
        rc = expect_kind(r, LP_JT_OBJECT, "an object");
        if (rc == 0)
            rc = lp_jscan_skip(r->s, NULL, NULL);
        break;
    }
    if (rc < 0)
        return -1;
    f->present = true;
    f->ok = rc == 0;
    f->raw = before;
    f->raw_len = (size_t)(r->s->p - before);
    if (lp_ann_type_is_text(t)) {
        g->raw = before;
        g->raw_len = f->raw_len;
    }
    return rc;
}

/* ---- sub-types and properties (checked, then kept as text in data) --------------- */

static int instance_id_key(reader *r, const lp_jstr *key, void *ctx)
{
    bool *seen = ctx;
    int64_t v;
    if (lp_jstr_eq(key, "value") && !*seen) {
        *seen = true;
        return read_int(r, 0, INT32_MAX, &v);
    }
    path_pop(r, r->depth - 1); /* this error names instance_id, not the key */
    return reject(r, "may only hold \"value\"");
}

static int read_instance_id(reader *r)
{
    bool seen = false;
    int rc = expect_kind(r, LP_JT_OBJECT, "an object like {\"value\": 1}");
    if (rc != 0 || (rc = walk_object(r, instance_id_key, &seen)) < 0)
        return rc;
    return seen ? rc : ferr(r, ".value", "is required");
}

static int attribute_elem(reader *r, size_t i, void *elem, void *ctx)
{
    const char *sv;
    (void)i;
    (void)elem;
    (void)ctx;
    return read_string(r, r->lim->max_string, &sv);
}

static const char *const vector_names[] = {"angle", "length", NULL};

/* inference {"confidence"?, "model"?, …} and measures {…}: objects, with a
 * confidence in [0, 1] when there is one. */
static int opaque_key(reader *r, const lp_jstr *key, void *ctx)
{
    double c;
    (void)ctx;
    if (!lp_jstr_eq(key, "confidence"))
        return lp_jscan_skip(r->s, NULL, NULL);
    int rc = read_number(r, &c);
    return rc == 0 && (c < 0 || c > 1) ? ferr(r, NULL, "must be between 0 and 1") : rc;
}

static int read_opaque_sub(reader *r)
{
    int rc = expect_kind(r, LP_JT_OBJECT, "an object");
    return rc != 0 ? rc : walk_object(r, opaque_key, NULL);
}

static int read_sub_type(reader *r, const lp_jstr *key, unsigned flag, body_state *st)
{
    const char *before = value_start(r);
    double vector[2];
    size_t n;
    int rc;
    if (flag == LP_ANN_SUB_INSTANCE_ID)
        rc = read_instance_id(r);
    else if (flag == LP_ANN_SUB_ATTRIBUTES)
        rc = read_array(r, "an array of strings", "attributes", 0, attribute_elem, NULL, NULL, &n);
    else if (flag == LP_ANN_SUB_INFERENCE || flag == LP_ANN_SUB_MEASURES)
        rc = read_opaque_sub(r);
    else
        rc = read_members(r, vector_names, 3, number_member, vector);
    if (rc < 0)
        return -1;
    st->body->sub_types |= flag;
    return keep_value(r, &st->data, key, before) != 0 ? -1 : rc;
}

/* A property's value: null, a string, a number, or anything else (checked
 * against the class by lp_ann_check). */
static int read_prop_value(reader *r, lp_ann_prop *p)
{
    int lit;
    switch (lp_jscan_peek(r->s)) {
    case LP_JT_NULL:
        p->kind = 0;
        return lp_jscan_literal(r->s, &lit);
    case LP_JT_STRING:
        p->kind = 1;
        return lp_jscan_string(r->s, r->a, &p->str, NULL);
    case LP_JT_NUMBER:
        p->kind = 2;
        if (lp_jscan_number(r->s, &p->num, NULL, NULL) != 0)
            return -1;
        return isfinite(p->num) ? 0 : ferr(r, NULL, "must be a finite number");
    default:
        p->kind = 3;
        return lp_jscan_skip(r->s, NULL, NULL);
    }
}

/* A frame number or "global". */
static int read_frame_index(reader *r)
{
    const char *sv;
    int64_t fi;
    if (lp_jscan_peek(r->s) != LP_JT_STRING)
        return read_int(r, 0, r->lim->max_frame, &fi);
    if (lp_jscan_string(r->s, r->a, &sv, NULL) != 0)
        return -1;
    return strcmp(sv, "global") == 0 ? 0 : ferr(r, NULL, "must be a frame number or \"global\"");
}

static int property_key(reader *r, const lp_jstr *key, void *ctx)
{
    lp_ann_prop *p = ctx;
    if (lp_jstr_eq(key, "name"))
        return read_string(r, r->lim->max_string, &p->name);
    if (lp_jstr_eq(key, "value"))
        return read_prop_value(r, p);
    if (lp_jstr_eq(key, "frame_index"))
        return read_frame_index(r);
    return lp_jscan_skip(r->s, NULL, NULL); /* kept as sent */
}

/* {"name", "value", "frame_index"?, …} */
static int property_elem(reader *r, size_t i, void *elem, void *ctx)
{
    lp_ann_prop *p = elem;
    (void)i;
    (void)ctx;
    int rc = expect_kind(r, LP_JT_OBJECT, "an object like {\"name\": …, \"value\": …}");
    if (rc != 0)
        return rc;
    p->kind = -1;
    if ((rc = walk_object(r, property_key, p)) < 0)
        return -1;
    if (!p->name)
        rc = ferr(r, ".name", "is required");
    if (p->kind < 0)
        rc = ferr(r, ".value", "is required");
    return rc;
}

static int read_properties(reader *r, const lp_jstr *key, body_state *st)
{
    const char *before = value_start(r);
    void *props;
    int rc = read_array(r, "an array of property values", "properties", sizeof *st->body->props, property_elem, NULL,
                        &props, &st->body->nprops);
    st->body->props = props;
    return rc < 0 || keep_value(r, &st->data, key, before) != 0 ? -1 : rc;
}

/* annotators and reviewers: [{"email", "full_name", …}], kept in data. */
static int author_key(reader *r, const lp_jstr *key, void *ctx)
{
    const char *sv;
    (void)ctx;
    if (lp_jstr_eq(key, "email") || lp_jstr_eq(key, "full_name"))
        return read_string(r, r->lim->max_string, &sv);
    return lp_jscan_skip(r->s, NULL, NULL); /* kept as sent */
}

static int author_elem(reader *r, size_t i, void *elem, void *ctx)
{
    (void)i;
    (void)elem;
    (void)ctx;
    int rc = expect_kind(r, LP_JT_OBJECT, "an object like {\"email\": …, \"full_name\": …}");
    return rc != 0 ? rc : walk_object(r, author_key, NULL);
}

static int read_authors(reader *r, const lp_jstr *key, body_state *st)
{
    const char *before = value_start(r);
    size_t n;
    int rc = read_array(r, "an array of people", "annotators", 0, author_elem, NULL, NULL, &n);
    return rc < 0 || keep_value(r, &st->data, key, before) != 0 ? -1 : rc;
}

/* One key of a body: a shape, a sub-type, properties, annotators or
 * reviewers; any other key is kept as sent in extra. */
static int body_key(reader *r, const lp_jstr *key, body_state *st)
{
    static const char *const subs[] = {"instance_id", "attributes", "directional_vector", "inference", "measures",
                                       NULL};
    const char *val;
    size_t vlen;
    int t;
    if (!key->escaped && lp_ann_type_from_name(key->p, key->n, &t) == 0) {
        if (st->geo[t].present)
            return reject(r, "appears more than once");
        st->geo[t].key = *key;
        return read_geom_value(r, t, &st->geo[t]);
    }
    if (lp_jstr_eq(key, "properties"))
        return read_properties(r, key, st);
    if (lp_jstr_eq(key, "annotators") || lp_jstr_eq(key, "reviewers"))
        return read_authors(r, key, st);
    for (int i = 0; subs[i]; i++)
        if (lp_jstr_eq(key, subs[i]))
            return read_sub_type(r, key, lp_ann_sub_type_flag(subs[i]), st);
    if (lp_jscan_skip(r->s, &val, &vlen) != 0)
        return -1;
    return add_span(r, &st->extra, key, val, vlen);
}

/* Decides the shape among the geometry keys found and validates it. A
 * bounding_box beside another shape is that shape's companion box, and text
 * beside another shape is the text sub-type; both go to data. The top level
 * of a video annotation has no shape (shape_required false): text there is
 * the sub-type too. */
static int settle_body(reader *r, body_state *st, bool shape_required)
{
    int primary = -1, rc = 0;
    lp_ann_body *b = st->body;
    for (int t = 0; t < LP_ANN_TYPE_COUNT && shape_required; t++) {
        if (!st->geo[t].present || t == LP_GEOM_BOUNDING_BOX || t == LP_GEOM_TEXT)
            continue;
        if (primary >= 0) {
            ferr(r, NULL, "carries both %s and %s; an annotation has one shape", lp_ann_type_name(primary),
                 lp_ann_type_name(t));
            rc = 1;
        }
        primary = t;
    }
    if (primary < 0 && shape_required && st->geo[LP_GEOM_BOUNDING_BOX].present)
        primary = LP_GEOM_BOUNDING_BOX;
    else if (primary < 0 && shape_required && st->geo[LP_GEOM_TEXT].present)
        primary = LP_GEOM_TEXT;
    if (st->geo[LP_GEOM_BOUNDING_BOX].present && primary != LP_GEOM_BOUNDING_BOX) {
        found_geom *f = &st->geo[LP_GEOM_BOUNDING_BOX];
        if (f->ok && validate_shape(r, &f->g.shape) != 0)
            rc = 1;
        if (add_span(r, &st->data, &f->key, f->raw, f->raw_len) != 0)
            return -1;
    }
    if (st->geo[LP_GEOM_TEXT].present && primary != LP_GEOM_TEXT) {
        found_geom *f = &st->geo[LP_GEOM_TEXT];
        b->sub_types |= LP_ANN_SUB_TEXT;
        if (add_span(r, &st->data, &f->key, f->raw, f->raw_len) != 0)
            return -1;
    }
    b->geom.type = -1;
    if (primary < 0) {
        if (shape_required)
            rc = ferr(r, "", "needs a shape: one of bounding_box, rotated_box, polygon, complex_polygon, line, keypoint, "
                             "skeleton, ellipse, cuboid, tag, mask, text, raster_layer, table, simple_table, string or graph");
    } else {
        found_geom *f = &st->geo[primary];
        b->geom = f->g;
        if (f->ok && primary != LP_ANN_RASTER_LAYER && !lp_ann_type_is_text(primary) &&
            validate_shape(r, &f->g.shape) != 0)
            rc = 1;
    }
    b->data = join_spans(r, st->data, true, &b->data_len);
    b->extra = st->extra ? join_spans(r, st->extra, true, &b->extra_len) : NULL;
    if (!b->data || (st->extra && !b->extra)) {
        lp_error_set(r->err, LP_E_NOMEM, "out of memory reading an annotation");
        return -1;
    }
    return rc;
}

/* ---- frames, ranges ---------------------------------------------------------- */

typedef struct frame_ctx {
    lp_ann_frame *fr;
    body_state st;
    bool seen_keyframe;
} frame_ctx;

static int frame_key(reader *r, const lp_jstr *key, void *ctx)
{
    frame_ctx *c = ctx;
    if (lp_jstr_eq(key, "keyframe") && !c->seen_keyframe) {
        c->seen_keyframe = true;
        return read_bool(r, &c->fr->keyframe);
    }
    return body_key(r, key, &c->st);
}

static int read_frame_object(reader *r, lp_ann_frame *fr)
{
    frame_ctx c = {.fr = fr, .st = {.body = &fr->body}};
    fr->keyframe = true;
    int rc = expect_kind(r, LP_JT_OBJECT, "an object");
    if (rc != 0 || (rc = walk_object(r, frame_key, &c)) < 0)
        return rc;
    int settled = settle_body(r, &c.st, true);
    if (settled < 0)
        return -1;
    return rc || settled;
}

/* A frame number: digits without leading zeros, at most max. */
static bool frame_number(const lp_jstr *key, int64_t max, int64_t *out)
{
    int64_t f = 0;
    if (key->n == 0 || key->n > 10 || key->escaped || (key->n > 1 && key->p[0] == '0'))
        return false;
    for (size_t i = 0; i < key->n; i++) {
        if (key->p[i] < '0' || key->p[i] > '9')
            return false;
        f = f * 10 + (key->p[i] - '0');
    }
    *out = f;
    return f <= max;
}

/* One frame, pushed on the reader's stack. */
static int frames_key(reader *r, const lp_jstr *key, void *ctx)
{
    lp_ann_frame fr;
    (void)ctx;
    memset(&fr, 0, sizeof fr);
    if (!frame_number(key, r->lim->max_frame, &fr.frame))
        return reject(r, "is not a frame number (0 to %lld, written without leading zeros)",
                      (long long)r->lim->max_frame);
    int rc = read_frame_object(r, &fr);
    return rc < 0 || stack_push(r, &fr, sizeof fr, "frames") != 0 ? -1 : rc;
}

static int cmp_frame(const void *a, const void *b)
{
    int64_t x = ((const lp_ann_frame *)a)->frame, y = ((const lp_ann_frame *)b)->frame;
    return (x > y) - (x < y);
}

static int read_frames(reader *r, lp_ann *ann)
{
    size_t base = r->stack_len;
    void *frames;
    int rc = expect_kind(r, LP_JT_OBJECT, "an object of frame numbers to frames");
    if (rc != 0 || (rc = walk_object(r, frames_key, NULL)) < 0)
        return rc;
    size_t n = (r->stack_len - base) / sizeof *ann->frames;
    if (stack_take(r, base, "frames", &frames) != 0)
        return -1;
    ann->frames = frames;
    ann->nframes = n;
    if (n > 1)
        qsort(ann->frames, n, sizeof *ann->frames, cmp_frame);
    for (size_t i = 1; i < n; i++) {
        if (ann->frames[i].frame == ann->frames[i - 1].frame) {
            char seg[40];
            snprintf(seg, sizeof seg, ".%lld", (long long)ann->frames[i].frame);
            rc = ferr(r, seg, "appears more than once");
        }
    }
    if (n == 0)
        rc = ferr(r, NULL, "needs at least one frame");
    return rc;
}

/* Bound i of a [start, end] pair into ((int64_t *)ctx)[i]. */
static int bound_elem(reader *r, size_t i, void *elem, void *ctx)
{
    int64_t *pair = ctx, x = 0;
    (void)elem;
    int rc = read_int(r, 0, r->lim->max_frame + 1, &x);
    if (i < 2)
        pair[i] = x;
    return rc;
}

static int range_elem(reader *r, size_t i, void *elem, void *ctx)
{
    static const char want[] = "a [start, end] pair";
    lp_geom_frame_range *range = elem;
    int64_t pair[2] = {0, 0};
    size_t k;
    (void)i;
    (void)ctx;
    int rc = expect_kind(r, LP_JT_ARRAY, want);
    if (rc != 0 || (rc = read_array(r, want, "ranges", 0, bound_elem, pair, NULL, &k)) < 0)
        return rc;
    range->start = pair[0];
    range->end = pair[1];
    return k == 2 ? rc : ferr(r, NULL, "must be a pair [start, end] (end exclusive), not %zu values", k);
}

/* [[start, end], …] */
static int read_ranges(reader *r, lp_geom_frame_range **out, size_t *n)
{
    void *ranges;
    int rc = read_array(r, "an array of [start, end] pairs", "ranges", sizeof **out, range_elem, NULL, &ranges, n);
    *out = ranges;
    return rc;
}

/* Checks a video annotation's frames: one type, at least one keyframe, the
 * ranges and hidden areas (through lp_geom_track_check). */
static int settle_video(reader *r, lp_ann *ann)
{
    int rc = 0, type = -1;
    size_t nkey = 0;
    for (size_t i = 0; i < ann->nframes; i++) {
        const lp_ann_frame *fr = &ann->frames[i];
        if (fr->body.geom.type < 0)
            continue;
        if (type < 0) {
            type = fr->body.geom.type;
        } else if (fr->body.geom.type != type) {
            char seg[48];
            snprintf(seg, sizeof seg, "frames.%lld", (long long)fr->frame);
            ferr(r, seg, "holds a %s, but earlier frames hold a %s; every frame has the same type",
                 lp_ann_type_name(fr->body.geom.type), lp_ann_type_name(type));
            rc = 1;
        }
        if (fr->keyframe)
            nkey++;
    }
    ann->type = type;
    if (!ann->ranges_given && ann->nframes) {
        ann->ranges = lp_arena_calloc(r->a, 1, sizeof *ann->ranges);
        if (!ann->ranges) {
            lp_error_set(r->err, LP_E_NOMEM, "out of memory");
            return -1;
        }
        ann->ranges[0].start = ann->frames[0].frame;
        ann->ranges[0].end = ann->frames[ann->nframes - 1].frame + 1;
        ann->nranges = 1;
    }
    lp_geom_keyframe *kf = lp_arena_calloc(r->a, nkey ? nkey : 1, sizeof *kf);
    if (!kf) {
        lp_error_set(r->err, LP_E_NOMEM, "out of memory");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < ann->nframes; i++) {
        if (!ann->frames[i].keyframe || ann->frames[i].body.geom.type < 0)
            continue; /* as counted above */
        kf[k].frame = ann->frames[i].frame;
        kf[k].shape.type = LP_GEOM_TAG; /* structure only: types were compared above */
        k++;
    }
    lp_geom_track tr = {.keyframes = kf, .nkeyframes = nkey, .ranges = ann->ranges, .nranges = ann->nranges,
                        .hidden = ann->hidden, .nhidden = ann->nhidden, .interpolate = ann->interpolated};
    size_t mark = r->err->nfields;
    if (lp_geom_track_check(&tr, r->err) != 0) {
        for (size_t i = mark; i < r->err->nfields; i++) {
            if (strncmp(r->err->fields[i].field, "keyframes", 9) == 0) {
                lp_strlcpy(r->err->fields[i].field, "frames", sizeof r->err->fields[i].field);
                lp_strlcpy(r->err->fields[i].message, "needs at least one frame with \"keyframe\": true",
                           sizeof r->err->fields[i].message);
            }
        }
        r->bad = true;
        rc = 1;
    }
    return rc;
}

/* ---- one annotation ------------------------------------------------------------ */

typedef struct ann_ctx {
    lp_ann *out;
    body_state st;
    const char *slot_names;  /* the one name of "slot_names" */
    bool has_interp;
    lp_jstr interp_key;  /* "interpolated" goes to data after the other keys */
    const char *interp_raw;
    size_t interp_len;
} ann_ctx;

static int read_source(reader *r, lp_ann_source *out)
{
    const char *sv = NULL;
    int rc = read_string(r, 32, &sv);
    if (rc != 0)
        return rc;
    if (lp_ann_source_from_name(sv, out) == 0)
        return 0;
    return ferr(r, NULL, "must be one of \"human\", \"model\", \"import\"");
}

/* slot_names: Loupe keeps one slot per annotation; [] names none (the
 * item's first slot). */
static int slot_name_elem(reader *r, size_t i, void *elem, void *ctx)
{
    const char **names = ctx;
    (void)elem;
    if (i > 0) {
        const char *sv;
        int rc = read_string(r, 255, &sv);
        return rc != 0 ? rc : ferr(r, NULL, "an annotation is on one slot; give one slot name");
    }
    return read_string(r, 255, &names[0]);
}

static int read_slot_names(reader *r, ann_ctx *c)
{
    const char *name = NULL;
    size_t n;
    int rc = read_array(r, "an array of one slot name", "slot_names", 0, slot_name_elem, &name, NULL, &n);
    if (rc != 0 || !name)
        return rc;
    c->slot_names = name;
    return 0;
}

static int annotation_key(reader *r, const lp_jstr *key, void *ctx)
{
    ann_ctx *c = ctx;
    lp_ann *out = c->out;
    int rc;
    if (lp_jstr_eq(key, "id"))
        return read_ann_id(r, &out->id);
    if (lp_jstr_eq(key, "class_id"))
        return read_uuid(r, &out->class_id);
    if (lp_jstr_eq(key, "name"))
        return read_string(r, r->lim->max_string, &out->class_name);
    if (lp_jstr_eq(key, "slot"))
        return read_string(r, 255, &out->slot);
    if (lp_jstr_eq(key, "slot_names"))
        return read_slot_names(r, c);
    if (lp_jstr_eq(key, "z")) {
        int64_t z = 0;
        rc = read_int(r, INT32_MIN, INT32_MAX, &z);
        out->has_z = rc == 0;
        out->z = (int32_t)z;
        return rc;
    }
    if (lp_jstr_eq(key, "source")) {
        out->has_source = true;
        return read_source(r, &out->source);
    }
    if (lp_jstr_eq(key, "confidence")) {
        rc = read_number(r, &out->confidence);
        if (rc == 0 && (out->confidence < 0 || out->confidence > 1))
            rc = ferr(r, NULL, "must be between 0 and 1");
        out->has_confidence = rc == 0;
        return rc;
    }
    if (lp_jstr_eq(key, "frames")) {
        out->video = true;
        return read_frames(r, out);
    }
    if (lp_jstr_eq(key, "ranges")) {
        out->ranges_given = true;
        return read_ranges(r, &out->ranges, &out->nranges);
    }
    if (lp_jstr_eq(key, "hidden_areas")) {
        out->has_hidden = true;
        return read_ranges(r, &out->hidden, &out->nhidden);
    }
    if (lp_jstr_eq(key, "version")) /* the stored annotation's counter, written on read: never kept */
        return read_int(r, 0, INT64_MAX, &(int64_t){0});
    if (lp_jstr_eq(key, "interpolated")) {
        c->interp_key = *key;
        c->interp_raw = value_start(r);
        rc = read_bool(r, &out->interpolated);
        c->interp_len = (size_t)(r->s->p - c->interp_raw);
        c->has_interp = rc == 0;
        return rc;
    }
    return body_key(r, key, &c->st);
}

static int read_annotation(reader *r, lp_ann_mode mode, lp_ann *out)
{
    ann_ctx c = {.out = out, .st = {.body = &out->body}};
    int rc = expect_kind(r, LP_JT_OBJECT, "an annotation object");
    if (rc != 0 || (rc = walk_object(r, annotation_key, &c)) < 0)
        return rc;
    if (!out->class_id && !out->class_name)
        rc = ferr(r, "class_id", "is required (or the class's \"name\")");
    if (c.slot_names && out->slot && strcmp(c.slot_names, out->slot) != 0)
        rc = ferr(r, "slot_names", "names slot \"%.100s\", but slot is \"%.100s\"", c.slot_names, out->slot);
    else if (c.slot_names) {
        out->slot = c.slot_names;
        out->slot_from_names = true;
    }
    if (mode == LP_ANN_UPDATE && !out->id)
        rc = ferr(r, "id", "is required to say which annotation to replace");
    if (c.has_interp && add_span(r, &c.st.data, &c.interp_key, c.interp_raw, c.interp_len) != 0)
        return -1;
    if (out->video) {
        for (int t = 0; t < LP_ANN_TYPE_COUNT; t++)
            if (c.st.geo[t].present && t != LP_GEOM_TEXT)
                rc = ferr(r, lp_ann_type_name(t), "must be given per frame in \"frames\" for a video annotation");
    } else if (out->ranges_given || out->has_hidden) {
        rc = ferr(r, out->ranges_given ? "ranges" : "hidden_areas",
                  "applies only to video annotations (with \"frames\")");
    }
    if (step_failed(&rc, settle_body(r, &c.st, !out->video)))
        return -1;
    if (!out->video)
        out->type = out->body.geom.type;
    else if ((rc == 0 || out->nframes) && step_failed(&rc, settle_video(r, out)))
        return -1;
    return rc;
}

int lp_darwin_read(lp_jscan *s, lp_arena *a, const lp_ann_limits *lim, lp_ann_mode mode, lp_ann *out, lp_error *err)
{
    reader r = {.s = s, .a = a, .lim = lim, .err = err};
    memset(out, 0, sizeof *out);
    out->type = -1;
    out->interpolated = false; /* absent: not interpolated, as the reference client reads it */
    int rc = read_annotation(&r, mode, out);
    free(r.stack);
    if (rc < 0)
        return -1;
    return rc || r.bad ? 1 : 0;
}

int lp_darwin_read_properties(lp_jscan *s, lp_arena *a, const lp_ann_limits *lim, lp_ann_body *out, lp_error *err)
{
    reader r = {.s = s, .a = a, .lim = lim, .err = err};
    body_state st = {.body = out};
    lp_jstr key = {.p = "properties", .n = 10};
    memset(out, 0, sizeof *out);
    out->geom.type = -1;
    int rc = read_properties(&r, &key, &st);
    free(r.stack);
    if (rc < 0)
        return -1;
    /* the array's text, without the member name keep_value put before it */
    out->data = st.data ? st.data->val : "[]";
    out->data_len = st.data ? st.data->val_len : 2;
    return rc || r.bad ? 1 : 0;
}


/* ---- output ------------------------------------------------------------------------- */

static int put_num(lp_buf *o, double v)
{
    char t[32];
    size_t n = lp_json_format_double(v, t);
    return lp_buf_append(o, t, n);
}

static int put_xy(lp_buf *o, double x, double y)
{
    char t[80];
    size_t n = 0;
    memcpy(t, "{\"x\":", 5);
    n = 5;
    n += lp_json_format_double(x, t + n);
    memcpy(t + n, ",\"y\":", 5);
    n += 5;
    n += lp_json_format_double(y, t + n);
    t[n++] = '}';
    return lp_buf_append(o, t, n);
}

static int put_path(lp_buf *o, const lp_geom_path *p)
{
    if (lp_buf_append(o, "[", 1) != 0)
        return -1;
    for (size_t i = 0; i < p->npoints; i++) {
        if ((i && lp_buf_append(o, ",", 1) != 0) || put_xy(o, p->points[i].x, p->points[i].y) != 0)
            return -1;
    }
    return lp_buf_append(o, "]", 1);
}

static int put_box_obj(lp_buf *o, const lp_geom_bbox *b)
{
    return lp_buf_puts(o, "{\"x\":") || put_num(o, b->x) || lp_buf_puts(o, ",\"y\":") || put_num(o, b->y) ||
                   lp_buf_puts(o, ",\"w\":") || put_num(o, b->w) || lp_buf_puts(o, ",\"h\":") || put_num(o, b->h) ||
                   lp_buf_puts(o, "}")
               ? -1
               : 0;
}

int lp_darwin_write_shape(lp_buf *o, const lp_geom_shape *s)
{
    const char *name = lp_geom_type_name(s->type);
    if (!name || lp_buf_printf(o, "\"%s\":", name) != 0)
        return -1;
    switch (s->type) {
    case LP_GEOM_BOUNDING_BOX: return put_box_obj(o, &s->u.bbox);
    case LP_GEOM_KEYPOINT: return put_xy(o, s->u.keypoint.x, s->u.keypoint.y);
    case LP_GEOM_ELLIPSE:
        return lp_buf_puts(o, "{\"center\":") || put_xy(o, s->u.ellipse.center.x, s->u.ellipse.center.y) ||
                       lp_buf_puts(o, ",\"radius\":") || put_xy(o, s->u.ellipse.radius.x, s->u.ellipse.radius.y) ||
                       lp_buf_puts(o, ",\"angle\":") || put_num(o, s->u.ellipse.angle) || lp_buf_puts(o, "}")
                   ? -1
                   : 0;
    case LP_GEOM_ROTATED_BOX:
        return lp_buf_puts(o, "{\"x\":") || put_num(o, s->u.rbox.x) || lp_buf_puts(o, ",\"y\":") ||
                       put_num(o, s->u.rbox.y) || lp_buf_puts(o, ",\"w\":") || put_num(o, s->u.rbox.w) ||
                       lp_buf_puts(o, ",\"h\":") || put_num(o, s->u.rbox.h) || lp_buf_puts(o, ",\"angle\":") ||
                       put_num(o, s->u.rbox.angle) || lp_buf_puts(o, "}")
                   ? -1
                   : 0;
    case LP_GEOM_CUBOID:
        return lp_buf_puts(o, "{\"front\":") || put_box_obj(o, &s->u.cuboid.front) || lp_buf_puts(o, ",\"back\":") ||
                       put_box_obj(o, &s->u.cuboid.back) || lp_buf_puts(o, "}")
                   ? -1
                   : 0;
    case LP_GEOM_LINE: return lp_buf_puts(o, "{\"path\":") || put_path(o, &s->u.line) || lp_buf_puts(o, "}") ? -1 : 0;
    case LP_GEOM_POLYGON:
        if (lp_buf_puts(o, "{\"paths\":[") != 0)
            return -1;
        for (size_t i = 0; i < s->u.polygon.npaths; i++)
            if ((i && lp_buf_append(o, ",", 1) != 0) || put_path(o, &s->u.polygon.paths[i]) != 0)
                return -1;
        return lp_buf_puts(o, "]}");
    case LP_GEOM_SKELETON:
        if (lp_buf_puts(o, "{\"nodes\":[") != 0)
            return -1;
        for (size_t i = 0; i < s->u.skeleton.nnodes; i++) {
            const lp_geom_skeleton_node *nd = &s->u.skeleton.nodes[i];
            if (i && lp_buf_append(o, ",", 1) != 0)
                return -1;
            if (lp_buf_puts(o, "{") != 0)
                return -1;
            if (nd->name && (lp_buf_puts(o, "\"name\":") || lp_json_write_string(o, nd->name, strlen(nd->name)) ||
                             lp_buf_puts(o, ",")))
                return -1;
            if (lp_buf_puts(o, "\"x\":") || put_num(o, nd->x) || lp_buf_puts(o, ",\"y\":") || put_num(o, nd->y) ||
                lp_buf_puts(o, nd->occluded ? ",\"occluded\":true}" : ",\"occluded\":false}"))
                return -1;
        }
        return lp_buf_puts(o, "]}");
    default: /* tag, mask, text without their stored value */
        return lp_buf_puts(o, "{}");
    }
}

/* {"path":[[…],…]} (complex_polygon) or {"path":[…]} (a legacy polygon). */
static int put_path_form(lp_buf *o, const lp_geom_polygon *pg, bool nested)
{
    if (lp_buf_puts(o, nested ? "{\"path\":[" : "{\"path\":") != 0)
        return -1;
    for (size_t i = 0; i < pg->npaths && (nested || i == 0); i++)
        if ((i && lp_buf_append(o, ",", 1) != 0) || put_path(o, &pg->paths[i]) != 0)
            return -1;
    return lp_buf_puts(o, nested ? "]}" : "}");
}

int lp_darwin_write_computed(lp_buf *o, const lp_ann_geom *like, const lp_geom_shape *s)
{
    if (s->type == LP_GEOM_POLYGON && (like->type == LP_ANN_COMPLEX_POLYGON || like->legacy_path))
        return lp_buf_printf(o, "\"%s\":", lp_ann_type_name(like->type)) ||
                       put_path_form(o, &s->u.polygon, like->type == LP_ANN_COMPLEX_POLYGON)
                   ? -1
                   : 0;
    return lp_darwin_write_shape(o, s);
}

int lp_darwin_write_geom(lp_buf *o, const lp_ann_geom *g)
{
    if (g->type == LP_ANN_RASTER_LAYER) {
        if (lp_buf_puts(o, "\"raster_layer\":{\"dense_rle\":[") != 0)
            return -1;
        for (size_t i = 0; i < g->ndense; i++)
            if (lp_buf_printf(o, i ? ",%u" : "%u", g->dense[i]) != 0)
                return -1;
        if (lp_buf_puts(o, "]") != 0)
            return -1;
        if (g->raw_len && (lp_buf_puts(o, ",") || lp_buf_append(o, g->raw, g->raw_len)))
            return -1;
        return lp_buf_puts(o, "}");
    }
    if (lp_ann_type_is_text(g->type)) {
        return lp_buf_printf(o, "\"%s\":", lp_ann_type_name(g->type)) ||
                       (g->raw_len ? lp_buf_append(o, g->raw, g->raw_len) : lp_buf_puts(o, "{}"))
                   ? -1
                   : 0;
    }
    return lp_darwin_write_computed(o, g, &g->shape);
}


/* ---- stored rows -------------------------------------------------------------------- */

/* `,"<name>":[[s,e],…]` for frame ranges that were sent ([] included);
 * nothing when they were not. */
static int write_ranges(lp_buf *o, const char *name, const lp_geom_frame_range *r, size_t n, bool sent)
{
    if (!sent)
        return 0;
    if (lp_buf_printf(o, ",\"%s\":[", name) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (lp_buf_printf(o, "%s[%lld,%lld]", i ? "," : "", (long long)r[i].start, (long long)r[i].end) != 0)
            return -1;
    return lp_buf_puts(o, "]");
}

/* The members a stored body adds to the object being written, each after a
 * comma: its shape, then the members of data and extra. */
static int write_stored(lp_buf *o, lp_arena *a, const lp_ann_stored *b, lp_error *err)
{
    lp_ann_geom g;
    if (b->geom && (lp_ann_geom_decode(b->geom, b->geom_len, a, &g, err) != 0 || lp_buf_append(o, ",", 1) != 0 ||
                    lp_darwin_write_geom(o, &g) != 0))
        return -1;
    return lp_json_write_members(o, b->data, b->data_len) || lp_json_write_members(o, b->extra, b->extra_len) ? -1
                                                                                                               : 0;
}

int lp_darwin_write_row(lp_buf *o, lp_arena *a, const lp_ann_row *r, lp_error *err)
{
    if (lp_buf_printf(o, "{\"id\":\"%s\",\"class_id\":\"%s\",\"slot\":", r->id, r->class_id) != 0 ||
        lp_json_write_string(o, r->slot, strlen(r->slot)) != 0 || lp_buf_puts(o, ",\"slot_names\":[") != 0 ||
        lp_json_write_string(o, r->slot, strlen(r->slot)) != 0 || lp_buf_puts(o, "]") != 0 ||
        (r->class_name && (lp_buf_puts(o, ",\"name\":") != 0 ||
                           lp_json_write_string(o, r->class_name, strlen(r->class_name)) != 0)) ||
        lp_buf_printf(o, ",\"version\":%lld,\"source\":\"%s\"", (long long)r->version,
                      lp_ann_source_name(r->source)) != 0)
        return -1;
    if (r->has_z && lp_buf_printf(o, ",\"z\":%d", (int)r->z) != 0)
        return -1;
    if (r->has_confidence) {
        char num[32];
        lp_json_format_double(r->confidence, num);
        if (lp_buf_printf(o, ",\"confidence\":%s", num) != 0)
            return -1;
    }
    if (write_stored(o, a, &r->body, err) != 0)
        return -1;
    if (!r->video)
        return lp_buf_puts(o, "}");
    return write_ranges(o, "ranges", r->ranges, r->nranges, r->ranges_given) ||
                   write_ranges(o, "hidden_areas", r->hidden, r->nhidden, r->has_hidden || r->nhidden) ||
                   lp_buf_puts(o, ",\"frames\":{")
               ? -1
               : 0;
}

int lp_darwin_write_frame(lp_buf *o, lp_arena *a, const lp_ann_frame_row *f, bool first, lp_error *err)
{
    return lp_buf_printf(o, "%s\"%lld\":{\"keyframe\":%s", first ? "" : ",", (long long)f->frame,
                         f->keyframe ? "true" : "false") ||
                   write_stored(o, a, &f->body, err) || lp_buf_puts(o, "}")
               ? -1
               : 0;
}

int lp_darwin_write_row_end(lp_buf *o, const lp_ann_row *r) { return r->video ? lp_buf_puts(o, "}}") : 0; }
