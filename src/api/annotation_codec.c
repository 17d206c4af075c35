/* Annotations: Darwin JSON 2.0 in, stored blobs, JSON text out.
 * See include/loupe/api/annotation_codec.h and docs/ANNOTATIONS.md. */
#include "loupe/api/annotation_codec.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/util.h"

/* ---- type tables ---------------------------------------------------------- */

const char *lp_ann_type_name(int type)
{
    if (type == LP_ANN_RASTER_LAYER)
        return "raster_layer";
    return lp_geom_type_name((lp_geom_type)type);
}

int lp_ann_type_from_name(const char *name, size_t len, int *out)
{
    for (int t = 0; t < LP_ANN_TYPE_COUNT; t++) {
        const char *n = lp_ann_type_name(t);
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            *out = t;
            return 0;
        }
    }
    return -1;
}

unsigned lp_ann_sub_type_flag(const char *name)
{
    if (strcmp(name, "attributes") == 0)
        return LP_ANN_SUB_ATTRIBUTES;
    if (strcmp(name, "text") == 0)
        return LP_ANN_SUB_TEXT;
    if (strcmp(name, "instance_id") == 0)
        return LP_ANN_SUB_INSTANCE_ID;
    if (strcmp(name, "directional_vector") == 0)
        return LP_ANN_SUB_DIRECTIONAL_VECTOR;
    return 0;
}

static const char *const source_names[] = {"human", "model", "import"};

const char *lp_ann_source_name(lp_ann_source s) { return (unsigned)s < 3 ? source_names[s] : "human"; }

/* ---- the reader ----------------------------------------------------------- */

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
    lp_geom_point *pts; /* scratch for one path (malloc) */
    size_t pts_cap;
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

/* Field error at the current path plus suffix. Returns 1 (so callers can
 * `return ferr(...)` from a reader step that skipped the value). */
static int ferr(reader *r, const char *suffix, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ferr(reader *r, const char *suffix, const char *fmt, ...)
{
    char field[200], msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    render_path(r, suffix, field, sizeof field);
    lp_error_field(r->err, LP_E_INVALID, field, "%s", msg);
    r->bad = true;
    return 1;
}

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

/* Skips a value of the wrong kind, recording "must be <want>". 1, or -1 on a syntax error. */
static int wrong_kind(reader *r, const char *suffix, const char *want, lp_jtok got)
{
    if (got == LP_JT_ERROR)
        return -1;
    ferr(r, suffix, "must be %s, not %s", want, kind_name(got));
    return lp_jscan_skip(r->s, NULL, NULL) != 0 ? -1 : 1;
}

/* Reads a finite number at path+suffix. 0 ok, 1 field error, -1 syntax error. */
static int read_number(reader *r, const char *suffix, double *out)
{
    lp_jtok t = lp_jscan_peek(r->s);
    if (t != LP_JT_NUMBER)
        return wrong_kind(r, suffix, "a number", t);
    if (lp_jscan_number(r->s, out, NULL, NULL) != 0)
        return -1;
    if (!isfinite(*out))
        return ferr(r, suffix, "must be a finite number");
    return 0;
}

static int read_int(reader *r, const char *suffix, int64_t min, int64_t max, int64_t *out)
{
    lp_jtok t = lp_jscan_peek(r->s);
    bool is_int = false;
    double d;
    if (t != LP_JT_NUMBER)
        return wrong_kind(r, suffix, "an integer", t);
    if (lp_jscan_number(r->s, &d, &is_int, out) != 0)
        return -1;
    if (!is_int)
        return ferr(r, suffix, "must be an integer");
    if (*out < min || *out > max)
        return ferr(r, suffix, "must be between %lld and %lld", (long long)min, (long long)max);
    return 0;
}

static int read_bool(reader *r, const char *suffix, bool *out)
{
    lp_jtok t = lp_jscan_peek(r->s);
    int v;
    if (t != LP_JT_TRUE && t != LP_JT_FALSE)
        return wrong_kind(r, suffix, "true or false", t);
    if (lp_jscan_literal(r->s, &v) != 0)
        return -1;
    *out = v == 1;
    return 0;
}

/* Reads a string (decoded into the arena), non-empty, at most max bytes. */
static int read_string(reader *r, const char *suffix, size_t max, const char **out)
{
    lp_jtok t = lp_jscan_peek(r->s);
    size_t n;
    if (t != LP_JT_STRING)
        return wrong_kind(r, suffix, "a string", t);
    if (lp_jscan_string(r->s, r->a, out, &n) != 0)
        return -1;
    if (n == 0)
        return ferr(r, suffix, "must not be empty");
    if (n > max)
        return ferr(r, suffix, "is %zu bytes long; the limit is %zu", n, max);
    return 0;
}

/* Combines step results: -1 wins, then 1. */
#define STEP(acc, expr)                                                                                              \
    do {                                                                                                             \
        int step_rc_ = (expr);                                                                                       \
        if (step_rc_ < 0)                                                                                            \
            return -1;                                                                                               \
        if (step_rc_ > 0)                                                                                            \
            (acc) = 1;                                                                                               \
    } while (0)

/* Walks an object whose members are all listed in names (NULL-terminated);
 * calls member(r, index, ctx) for each, reports unknown members and missing
 * required ones (required: bit i set = names[i] required). */
typedef int (*member_fn)(reader *r, int index, void *ctx);

static int read_members(reader *r, const char *const *names, unsigned required, member_fn fn, void *ctx)
{
    lp_jstr key;
    unsigned seen = 0;
    int rc = 0, more;
    lp_jtok t = lp_jscan_peek(r->s);
    if (t != LP_JT_OBJECT)
        return wrong_kind(r, NULL, "an object", t);
    if (lp_jscan_object_begin(r->s) != 0)
        return -1;
    while ((more = lp_jscan_object_next(r->s, &key)) == 1) {
        int i;
        for (i = 0; names[i]; i++)
            if (lp_jstr_eq(&key, names[i]))
                break;
        if (!names[i]) {
            char suffix[80];
            snprintf(suffix, sizeof suffix, ".%.*s", (int)(key.n < 60 ? key.n : 60), key.p);
            ferr(r, suffix, "is not a known field");
            rc = 1;
            if (lp_jscan_skip(r->s, NULL, NULL) != 0)
                return -1;
            continue;
        }
        if (seen & (1u << i)) {
            char suffix[80];
            snprintf(suffix, sizeof suffix, ".%s", names[i]);
            ferr(r, suffix, "appears more than once");
            rc = 1;
            if (lp_jscan_skip(r->s, NULL, NULL) != 0)
                return -1;
            continue;
        }
        seen |= 1u << i;
        size_t saved = push_name(r, names[i], strlen(names[i]));
        int step = fn(r, i, ctx);
        path_pop(r, saved);
        if (step < 0)
            return -1;
        if (step > 0)
            rc = 1;
    }
    if (more < 0)
        return -1;
    for (int i = 0; names[i]; i++) {
        if ((required & (1u << i)) && !(seen & (1u << i))) {
            char suffix[80];
            snprintf(suffix, sizeof suffix, ".%s", names[i]);
            ferr(r, suffix, "is required");
            rc = 1;
        }
    }
    return rc;
}

/* {x, y} */
static int point_member(reader *r, int i, void *ctx)
{
    lp_geom_point *p = ctx;
    return read_number(r, NULL, i == 0 ? &p->x : &p->y);
}

static const char *const xy_names[] = {"x", "y", NULL};

static int read_point(reader *r, lp_geom_point *p)
{
    p->x = p->y = 0;
    return read_members(r, xy_names, 3, point_member, p);
}

static int bbox_member(reader *r, int i, void *ctx)
{
    double *v = ctx;
    return read_number(r, NULL, &v[i]);
}

static const char *const bbox_names[] = {"x", "y", "w", "h", NULL};

static int read_bbox(reader *r, lp_geom_bbox *b)
{
    double v[4] = {0, 0, 0, 0};
    int rc = read_members(r, bbox_names, 15, bbox_member, v);
    b->x = v[0];
    b->y = v[1];
    b->w = v[2];
    b->h = v[3];
    return rc;
}

/* An array of points into the arena. */
static int read_path(reader *r, lp_geom_path *out)
{
    int rc = 0, more;
    size_t n = 0;
    lp_jtok t = lp_jscan_peek(r->s);
    out->points = NULL;
    out->npoints = 0;
    if (t != LP_JT_ARRAY)
        return wrong_kind(r, NULL, "an array of points", t);
    if (lp_jscan_array_begin(r->s) != 0)
        return -1;
    while ((more = lp_jscan_array_next(r->s)) == 1) {
        if (n == r->pts_cap) {
            size_t cap = r->pts_cap ? r->pts_cap * 2 : 256;
            lp_geom_point *np = realloc(r->pts, cap * sizeof *np);
            if (!np) {
                lp_error_set(r->err, LP_E_NOMEM, "out of memory reading a path");
                return -1;
            }
            r->pts = np;
            r->pts_cap = cap;
        }
        size_t saved = push_index(r, n);
        int step = read_point(r, &r->pts[n]);
        path_pop(r, saved);
        if (step < 0)
            return -1;
        if (step > 0)
            rc = 1;
        n++;
    }
    if (more < 0)
        return -1;
    if (n) {
        out->points = lp_arena_memdup(r->a, r->pts, n * sizeof *r->pts);
        if (!out->points) {
            lp_error_set(r->err, LP_E_NOMEM, "out of memory reading a path");
            return -1;
        }
    }
    out->npoints = n;
    return rc;
}

static int polygon_member(reader *r, int i, void *ctx)
{
    lp_geom_polygon *pg = ctx;
    int rc = 0, more;
    size_t cap = 4, n = 0;
    lp_jtok t = lp_jscan_peek(r->s);
    (void)i;
    if (t != LP_JT_ARRAY)
        return wrong_kind(r, NULL, "an array of paths", t);
    lp_geom_path *paths = lp_arena_alloc(r->a, cap * sizeof *paths);
    if (!paths || lp_jscan_array_begin(r->s) != 0)
        goto fail;
    while ((more = lp_jscan_array_next(r->s)) == 1) {
        if (n == cap) {
            lp_geom_path *np = lp_arena_alloc(r->a, cap * 2 * sizeof *np);
            if (!np)
                goto fail;
            memcpy(np, paths, n * sizeof *np);
            paths = np;
            cap *= 2;
        }
        size_t saved = push_index(r, n);
        int step = read_path(r, &paths[n]);
        path_pop(r, saved);
        if (step < 0)
            return -1;
        if (step > 0)
            rc = 1;
        n++;
    }
    if (more < 0)
        return -1;
    pg->paths = paths;
    pg->npaths = n;
    return rc;
fail:
    if (!r->s->failed)
        lp_error_set(r->err, LP_E_NOMEM, "out of memory reading a polygon");
    return -1;
}

static const char *const polygon_names[] = {"paths", NULL};
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
    return read_number(r, NULL, &e->angle);
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
    case 0: return read_string(r, NULL, r->lim->max_string, &nd->name);
    case 1: return read_number(r, NULL, &nd->x);
    case 2: return read_number(r, NULL, &nd->y);
    default: return read_bool(r, NULL, &nd->occluded);
    }
}

static const char *const skeleton_names[] = {"nodes", NULL};

static int skeleton_member(reader *r, int i, void *ctx)
{
    lp_geom_skeleton *sk = ctx;
    int rc = 0, more;
    size_t cap = 8, n = 0;
    lp_jtok t = lp_jscan_peek(r->s);
    (void)i;
    if (t != LP_JT_ARRAY)
        return wrong_kind(r, NULL, "an array of nodes", t);
    lp_geom_skeleton_node *nodes = lp_arena_calloc(r->a, cap, sizeof *nodes);
    if (!nodes || lp_jscan_array_begin(r->s) != 0)
        goto fail;
    while ((more = lp_jscan_array_next(r->s)) == 1) {
        if (n == cap) {
            lp_geom_skeleton_node *nn = lp_arena_calloc(r->a, cap * 2, sizeof *nn);
            if (!nn)
                goto fail;
            memcpy(nn, nodes, n * sizeof *nn);
            nodes = nn;
            cap *= 2;
        }
        size_t saved = push_index(r, n);
        int step = read_members(r, node_names, 6, node_member, &nodes[n]);
        path_pop(r, saved);
        if (step < 0)
            return -1;
        if (step > 0)
            rc = 1;
        n++;
    }
    if (more < 0)
        return -1;
    sk->nodes = nodes;
    sk->nnodes = n;
    return rc;
fail:
    if (!r->s->failed)
        lp_error_set(r->err, LP_E_NOMEM, "out of memory reading a skeleton");
    return -1;
}

/* Raster layer: dense_rle checked, the other members kept as text. */
typedef struct raster_ctx {
    lp_ann_geom *g;
    int64_t total;
    bool has_total;
    uint64_t sum;
    span *rest;
} raster_ctx;

static int read_dense(reader *r, raster_ctx *c)
{
    int rc = 0, more;
    size_t n = 0, cap = 64;
    lp_jtok t = lp_jscan_peek(r->s);
    if (t != LP_JT_ARRAY)
        return wrong_kind(r, NULL, "an array of integers", t);
    uint32_t *v = malloc(cap * sizeof *v);
    if (!v || lp_jscan_array_begin(r->s) != 0)
        goto fail;
    while ((more = lp_jscan_array_next(r->s)) == 1) {
        int64_t x = 0;
        char suffix[32];
        snprintf(suffix, sizeof suffix, "[%zu]", n);
        int step = read_int(r, suffix, 0, (n % 2 == 0) ? 255 : (int64_t)UINT32_MAX, &x);
        if (step < 0) {
            free(v);
            return -1;
        }
        if (step > 0)
            rc = 1;
        if (n == cap) {
            uint32_t *nv = realloc(v, cap * 2 * sizeof *nv);
            if (!nv)
                goto fail;
            v = nv;
            cap *= 2;
        }
        v[n] = (uint32_t)x;
        if (n % 2 == 1)
            c->sum += (uint64_t)x;
        n++;
    }
    if (more < 0) {
        free(v);
        return -1;
    }
    if (n % 2 != 0)
        rc = ferr(r, NULL, "must hold pairs of label and count (an even number of values, not %zu)", n);
    c->g->dense = n ? lp_arena_memdup(r->a, v, n * sizeof *v) : NULL;
    c->g->ndense = n;
    free(v);
    if (n && !c->g->dense) {
        lp_error_set(r->err, LP_E_NOMEM, "out of memory reading a raster layer");
        return -1;
    }
    return rc;
fail:
    free(v);
    if (!r->s->failed)
        lp_error_set(r->err, LP_E_NOMEM, "out of memory reading a raster layer");
    return -1;
}

static int read_mapping(reader *r)
{
    lp_jstr key;
    int rc = 0, more;
    lp_jtok t = lp_jscan_peek(r->s);
    if (t != LP_JT_OBJECT)
        return wrong_kind(r, NULL, "an object of annotation ids to labels", t);
    if (lp_jscan_object_begin(r->s) != 0)
        return -1;
    while ((more = lp_jscan_object_next(r->s, &key)) == 1) {
        char suffix[80];
        int64_t label;
        snprintf(suffix, sizeof suffix, ".%.*s", (int)(key.n < 60 ? key.n : 60), key.p);
        int step = read_int(r, suffix, 1, 255, &label);
        if (step < 0)
            return -1;
        if (step > 0)
            rc = 1;
    }
    return more < 0 ? -1 : rc;
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
    if (!sp) {
        lp_error_set(r->err, LP_E_NOMEM, "out of memory reading an annotation");
        return -1;
    }
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

static int read_raster(reader *r, lp_ann_geom *g)
{
    raster_ctx c = {.g = g};
    lp_jstr key;
    int rc = 0, more;
    bool has_dense = false;
    lp_jtok t = lp_jscan_peek(r->s);
    if (t != LP_JT_OBJECT)
        return wrong_kind(r, NULL, "an object", t);
    if (lp_jscan_object_begin(r->s) != 0)
        return -1;
    while ((more = lp_jscan_object_next(r->s, &key)) == 1) {
        const char *val;
        size_t vlen;
        int step = 0;
        if (lp_jstr_eq(&key, "dense_rle")) {
            size_t saved = push_name(r, "dense_rle", 9);
            step = read_dense(r, &c);
            path_pop(r, saved);
            has_dense = true;
            if (step < 0)
                return -1;
            if (step > 0)
                rc = 1;
            continue;
        }
        const char *before = r->s->p;
        if (lp_jstr_eq(&key, "total_pixels")) {
            step = read_int(r, ".total_pixels", 1, (int64_t)r->lim->geom.max_pixels, &c.total);
            c.has_total = step == 0;
        } else if (lp_jstr_eq(&key, "mask_annotation_ids_mapping")) {
            size_t saved = push_name(r, "mask_annotation_ids_mapping", 27);
            step = read_mapping(r);
            path_pop(r, saved);
        } else {
            step = lp_jscan_skip(r->s, NULL, NULL);
        }
        if (step < 0)
            return -1;
        if (step > 0)
            rc = 1;
        while (before < r->s->p && (*before == ' ' || *before == '\n' || *before == '\t' || *before == '\r'))
            before++;
        val = before;
        vlen = (size_t)(r->s->p - before);
        if (add_span(r, &c.rest, &key, val, vlen) != 0)
            return -1;
    }
    if (more < 0)
        return -1;
    if (!has_dense)
        rc = ferr(r, ".dense_rle", "is required");
    if (!c.has_total && rc == 0)
        rc = ferr(r, ".total_pixels", "is required");
    if (rc == 0 && c.sum != (uint64_t)c.total)
        rc = ferr(r, ".dense_rle", "counts add up to %llu pixels, but total_pixels is %lld",
                  (unsigned long long)c.sum, (long long)c.total);
    g->type = LP_ANN_RASTER_LAYER;
    g->raw = join_spans(r, c.rest, false, &g->raw_len);
    if (!g->raw) {
        lp_error_set(r->err, LP_E_NOMEM, "out of memory reading a raster layer");
        return -1;
    }
    return rc;
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
    return read_string(r, NULL, r->lim->max_string, ctx);
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

/* Reads the value of a geometry key (type t) into f. 0/1/-1. */
static int read_geom_value(reader *r, int t, found_geom *f)
{
    lp_ann_geom *g = &f->g;
    const char *before;
    int rc;
    lp_jscan_peek(r->s);
    before = r->s->p;
    memset(g, 0, sizeof *g);
    g->type = t;
    g->shape.type = t < LP_ANN_RASTER_LAYER ? (lp_geom_type)t : LP_GEOM_MASK;
    switch (t) {
    case LP_GEOM_BOUNDING_BOX: rc = read_bbox(r, &g->shape.u.bbox); break;
    case LP_GEOM_POLYGON: rc = read_members(r, polygon_names, 1, polygon_member, &g->shape.u.polygon); break;
    case LP_GEOM_LINE: rc = read_members(r, line_names, 1, line_member, &g->shape.u.line); break;
    case LP_GEOM_KEYPOINT: rc = read_point(r, &g->shape.u.keypoint); break;
    case LP_GEOM_SKELETON: rc = read_members(r, skeleton_names, 1, skeleton_member, &g->shape.u.skeleton); break;
    case LP_GEOM_ELLIPSE: rc = read_members(r, ellipse_names, 7, ellipse_member, &g->shape.u.ellipse); break;
    case LP_GEOM_CUBOID: rc = read_members(r, cuboid_names, 3, cuboid_member, &g->shape.u.cuboid); break;
    case LP_ANN_RASTER_LAYER: rc = read_raster(r, g); break;
    case LP_GEOM_TEXT: {
        const char *txt = NULL;
        rc = read_members(r, text_names, 1, text_member, &txt);
        break;
    }
    default: { /* tag, mask: any object, kept as text */
        lp_jtok k = lp_jscan_peek(r->s);
        if (k != LP_JT_OBJECT)
            rc = wrong_kind(r, NULL, "an object", k);
        else
            rc = lp_jscan_skip(r->s, NULL, NULL);
        break;
    }
    }
    if (rc < 0)
        return -1;
    f->present = true;
    f->ok = rc == 0;
    f->raw = before;
    f->raw_len = (size_t)(r->s->p - before);
    if (t == LP_GEOM_TAG || t == LP_GEOM_MASK || t == LP_GEOM_TEXT) {
        g->raw = before;
        g->raw_len = f->raw_len;
    }
    return rc;
}

/* Sub-type values are checked, then kept as text in data. */
static int read_sub_type(reader *r, const lp_jstr *key, unsigned flag, body_state *st)
{
    lp_jscan_peek(r->s);
    const char *before = r->s->p;
    int rc = 0, more;
    lp_jtok t = lp_jscan_peek(r->s);
    if (flag == LP_ANN_SUB_INSTANCE_ID) {
        int64_t v;
        if (t != LP_JT_OBJECT) {
            rc = wrong_kind(r, NULL, "an object like {\"value\": 1}", t);
        } else {
            lp_jstr k;
            bool seen = false;
            if (lp_jscan_object_begin(r->s) != 0)
                return -1;
            while ((more = lp_jscan_object_next(r->s, &k)) == 1) {
                int step;
                if (lp_jstr_eq(&k, "value") && !seen) {
                    seen = true;
                    step = read_int(r, ".value", 0, INT32_MAX, &v);
                } else {
                    step = ferr(r, NULL, "may only hold \"value\"");
                    if (lp_jscan_skip(r->s, NULL, NULL) != 0)
                        return -1;
                }
                if (step < 0)
                    return -1;
                if (step > 0)
                    rc = 1;
            }
            if (more < 0)
                return -1;
            if (!seen)
                rc = ferr(r, ".value", "is required");
        }
    } else if (flag == LP_ANN_SUB_ATTRIBUTES) {
        if (t != LP_JT_ARRAY) {
            rc = wrong_kind(r, NULL, "an array of strings", t);
        } else {
            size_t n = 0;
            if (lp_jscan_array_begin(r->s) != 0)
                return -1;
            while ((more = lp_jscan_array_next(r->s)) == 1) {
                const char *sv;
                char suffix[32];
                snprintf(suffix, sizeof suffix, "[%zu]", n++);
                int step = read_string(r, suffix, r->lim->max_string, &sv);
                if (step < 0)
                    return -1;
                if (step > 0)
                    rc = 1;
            }
            if (more < 0)
                return -1;
        }
    } else if (flag == LP_ANN_SUB_DIRECTIONAL_VECTOR) {
        static const char *const names[] = {"angle", "length", NULL};
        double v[2];
        rc = read_members(r, names, 3, bbox_member, v);
        if (rc < 0)
            return -1;
    }
    if (rc < 0)
        return -1;
    st->body->sub_types |= flag;
    return add_span(r, &st->data, key, before, (size_t)(r->s->p - before)) != 0 ? -1 : rc;
}

/* "properties": [{"name", "value", "frame_index"?, …}] */
static int read_properties(reader *r, const lp_jstr *key, body_state *st)
{
    lp_jtok t = lp_jscan_peek(r->s);
    const char *before = r->s->p;
    int rc = 0, more;
    size_t n = 0, cap = 8;
    if (t != LP_JT_ARRAY)
        return wrong_kind(r, NULL, "an array of property values", t);
    lp_ann_prop *props = lp_arena_calloc(r->a, cap, sizeof *props);
    if (!props || lp_jscan_array_begin(r->s) != 0)
        goto fail;
    while ((more = lp_jscan_array_next(r->s)) == 1) {
        lp_jstr k;
        char suffix[48];
        if (n == cap) {
            lp_ann_prop *np = lp_arena_calloc(r->a, cap * 2, sizeof *np);
            if (!np)
                goto fail;
            memcpy(np, props, n * sizeof *np);
            props = np;
            cap *= 2;
        }
        lp_ann_prop *p = &props[n];
        size_t saved = push_index(r, n);
        n++;
        if (lp_jscan_peek(r->s) != LP_JT_OBJECT) {
            int step = wrong_kind(r, NULL, "an object like {\"name\": …, \"value\": …}", lp_jscan_peek(r->s));
            path_pop(r, saved);
            if (step < 0)
                return -1;
            rc = 1;
            continue;
        }
        if (lp_jscan_object_begin(r->s) != 0)
            return -1;
        p->kind = -1;
        while ((more = lp_jscan_object_next(r->s, &k)) == 1) {
            int step = 0;
            if (lp_jstr_eq(&k, "name")) {
                step = read_string(r, ".name", r->lim->max_string, &p->name);
            } else if (lp_jstr_eq(&k, "value")) {
                lp_jtok vt = lp_jscan_peek(r->s);
                if (vt == LP_JT_NULL) {
                    int lit;
                    p->kind = 0;
                    step = lp_jscan_literal(r->s, &lit);
                } else if (vt == LP_JT_STRING) {
                    p->kind = 1;
                    step = lp_jscan_string(r->s, r->a, &p->str, NULL);
                } else if (vt == LP_JT_NUMBER) {
                    p->kind = 2;
                    step = lp_jscan_number(r->s, &p->num, NULL, NULL);
                    if (step == 0 && !isfinite(p->num))
                        step = ferr(r, ".value", "must be a finite number");
                } else {
                    p->kind = 3;
                    step = lp_jscan_skip(r->s, NULL, NULL);
                }
            } else if (lp_jstr_eq(&k, "frame_index")) {
                lp_jtok vt = lp_jscan_peek(r->s);
                if (vt == LP_JT_STRING) {
                    const char *sv;
                    step = lp_jscan_string(r->s, r->a, &sv, NULL);
                    if (step == 0 && strcmp(sv, "global") != 0)
                        step = ferr(r, ".frame_index", "must be a frame number or \"global\"");
                } else {
                    int64_t fi;
                    step = read_int(r, ".frame_index", 0, r->lim->max_frame, &fi);
                }
            } else {
                step = lp_jscan_skip(r->s, NULL, NULL); /* kept as sent */
            }
            if (step < 0)
                return -1;
            if (step > 0)
                rc = 1;
        }
        if (more < 0)
            return -1;
        snprintf(suffix, sizeof suffix, ".name");
        if (!p->name)
            rc = ferr(r, suffix, "is required");
        if (p->kind < 0)
            rc = ferr(r, ".value", "is required");
        path_pop(r, saved);
    }
    if (more < 0)
        return -1;
    st->body->props = props;
    st->body->nprops = n;
    return add_span(r, &st->data, key, before, (size_t)(r->s->p - before)) != 0 ? -1 : rc;
fail:
    if (!r->s->failed)
        lp_error_set(r->err, LP_E_NOMEM, "out of memory reading properties");
    return -1;
}

/* Handles one body key (geometry, sub-type, properties, companion bbox);
 * returns 2 when the key is not a body key (the caller decides). */
static int body_key(reader *r, const lp_jstr *key, body_state *st)
{
    int t;
    if (!key->escaped && lp_ann_type_from_name(key->p, key->n, &t) == 0) {
        if (st->geo[t].present) {
            ferr(r, NULL, "appears more than once");
            return lp_jscan_skip(r->s, NULL, NULL) != 0 ? -1 : 1;
        }
        st->geo[t].key = *key;
        return read_geom_value(r, t, &st->geo[t]);
    }
    if (lp_jstr_eq(key, "properties"))
        return read_properties(r, key, st);
    static const char *const subs[] = {"instance_id", "attributes", "directional_vector", NULL};
    for (int i = 0; subs[i]; i++)
        if (lp_jstr_eq(key, subs[i]))
            return read_sub_type(r, key, lp_ann_sub_type_flag(subs[i]), st);
    return 2;
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
            rc = ferr(r, "", "needs a shape: one of bounding_box, polygon, line, keypoint, skeleton, ellipse, cuboid, "
                             "tag, mask, text or raster_layer");
    } else {
        found_geom *f = &st->geo[primary];
        b->geom = f->g;
        if (f->ok && primary < LP_ANN_RASTER_LAYER && primary != LP_GEOM_MASK && primary != LP_GEOM_TAG &&
            primary != LP_GEOM_TEXT && validate_shape(r, &f->g.shape) != 0)
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

static int read_frame_object(reader *r, lp_ann_frame *fr)
{
    body_state st;
    lp_jstr key;
    int rc = 0, more;
    bool seen_kf = false;
    memset(&st, 0, sizeof st);
    st.body = &fr->body;
    fr->keyframe = true;
    lp_jtok t = lp_jscan_peek(r->s);
    if (t != LP_JT_OBJECT)
        return wrong_kind(r, NULL, "an object", t);
    if (lp_jscan_object_begin(r->s) != 0)
        return -1;
    while ((more = lp_jscan_object_next(r->s, &key)) == 1) {
        size_t saved = push_name(r, key.p, key.n);
        int step;
        if (lp_jstr_eq(&key, "keyframe") && !seen_kf) {
            seen_kf = true;
            step = read_bool(r, NULL, &fr->keyframe);
        } else {
            step = body_key(r, &key, &st);
            if (step == 2) {
                const char *val;
                size_t vlen;
                step = lp_jscan_skip(r->s, &val, &vlen);
                if (step == 0 && add_span(r, &st.extra, &key, val, vlen) != 0)
                    step = -1;
            }
        }
        path_pop(r, saved);
        if (step < 0)
            return -1;
        if (step > 0)
            rc = 1;
    }
    if (more < 0)
        return -1;
    int s2 = settle_body(r, &st, true);
    if (s2 < 0)
        return -1;
    return rc || s2;
}

static int cmp_frame(const void *a, const void *b)
{
    int64_t x = ((const lp_ann_frame *)a)->frame, y = ((const lp_ann_frame *)b)->frame;
    return (x > y) - (x < y);
}

static int read_frames(reader *r, lp_ann *ann)
{
    lp_jstr key;
    int rc = 0, more;
    size_t n = 0, cap = 8;
    lp_jtok t = lp_jscan_peek(r->s);
    if (t != LP_JT_OBJECT)
        return wrong_kind(r, NULL, "an object of frame numbers to frames", t);
    lp_ann_frame *frames = lp_arena_calloc(r->a, cap, sizeof *frames);
    if (!frames || lp_jscan_object_begin(r->s) != 0)
        goto fail;
    while ((more = lp_jscan_object_next(r->s, &key)) == 1) {
        int64_t f = 0;
        bool okkey = key.n > 0 && key.n <= 10 && !key.escaped && !(key.n > 1 && key.p[0] == '0');
        for (size_t i = 0; okkey && i < key.n; i++) {
            if (key.p[i] < '0' || key.p[i] > '9')
                okkey = false;
            else
                f = f * 10 + (key.p[i] - '0');
        }
        size_t saved = push_name(r, key.p, key.n);
        if (!okkey || f > r->lim->max_frame) {
            ferr(r, NULL, "is not a frame number (0 to %lld, written without leading zeros)",
                 (long long)r->lim->max_frame);
            path_pop(r, saved);
            rc = 1;
            if (lp_jscan_skip(r->s, NULL, NULL) != 0)
                return -1;
            continue;
        }
        if (n == cap) {
            lp_ann_frame *nf = lp_arena_calloc(r->a, cap * 2, sizeof *nf);
            if (!nf)
                goto fail;
            memcpy(nf, frames, n * sizeof *nf);
            frames = nf;
            cap *= 2;
        }
        frames[n].frame = f;
        int step = read_frame_object(r, &frames[n]);
        path_pop(r, saved);
        if (step < 0)
            return -1;
        if (step > 0)
            rc = 1;
        n++;
    }
    if (more < 0)
        return -1;
    qsort(frames, n, sizeof *frames, cmp_frame);
    for (size_t i = 1; i < n; i++) {
        if (frames[i].frame == frames[i - 1].frame) {
            char seg[40];
            snprintf(seg, sizeof seg, ".%lld", (long long)frames[i].frame);
            rc = ferr(r, seg, "appears more than once");
        }
    }
    if (n == 0)
        rc = ferr(r, NULL, "needs at least one frame");
    ann->frames = frames;
    ann->nframes = n;
    return rc;
fail:
    if (!r->s->failed)
        lp_error_set(r->err, LP_E_NOMEM, "out of memory reading frames");
    return -1;
}

/* [[start, end], …] */
static int read_ranges(reader *r, lp_geom_frame_range **out, size_t *nout)
{
    int rc = 0, more;
    size_t n = 0, cap = 4;
    lp_jtok t = lp_jscan_peek(r->s);
    if (t != LP_JT_ARRAY)
        return wrong_kind(r, NULL, "an array of [start, end] pairs", t);
    lp_geom_frame_range *v = lp_arena_calloc(r->a, cap, sizeof *v);
    if (!v || lp_jscan_array_begin(r->s) != 0)
        goto fail;
    while ((more = lp_jscan_array_next(r->s)) == 1) {
        char suffix[48];
        if (n == cap) {
            lp_geom_frame_range *nv = lp_arena_calloc(r->a, cap * 2, sizeof *nv);
            if (!nv)
                goto fail;
            memcpy(nv, v, n * sizeof *nv);
            v = nv;
            cap *= 2;
        }
        snprintf(suffix, sizeof suffix, "[%zu]", n);
        lp_jtok et = lp_jscan_peek(r->s);
        if (et != LP_JT_ARRAY) {
            int step = wrong_kind(r, suffix, "a [start, end] pair", et);
            if (step < 0)
                return -1;
            rc = 1;
            n++;
            continue;
        }
        int64_t pair[2] = {0, 0};
        size_t k = 0;
        int inner;
        if (lp_jscan_array_begin(r->s) != 0)
            return -1;
        while ((inner = lp_jscan_array_next(r->s)) == 1) {
            char s2[64];
            snprintf(s2, sizeof s2, "[%zu][%zu]", n, k);
            int64_t x = 0;
            int step = read_int(r, s2, 0, r->lim->max_frame + 1, &x);
            if (step < 0)
                return -1;
            if (step > 0)
                rc = 1;
            if (k < 2)
                pair[k] = x;
            k++;
        }
        if (inner < 0)
            return -1;
        if (k != 2)
            rc = ferr(r, suffix, "must be a pair [start, end] (end exclusive), not %zu values", k);
        v[n].start = pair[0];
        v[n].end = pair[1];
        n++;
    }
    if (more < 0)
        return -1;
    *out = v;
    *nout = n;
    return rc;
fail:
    if (!r->s->failed)
        lp_error_set(r->err, LP_E_NOMEM, "out of memory reading ranges");
    return -1;
}

/* Checks a video annotation's frames: one type, at least one keyframe, the
 * ranges and hidden areas (through lp_geom_track_check). */
static int settle_video(reader *r, lp_ann *ann, bool has_ranges)
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
    if (!has_ranges && ann->nframes) {
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
        if (!ann->frames[i].keyframe)
            continue;
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

static int lower_uuid(reader *r, const char *suffix, const char **out)
{
    const char *sv;
    lp_jtok t = lp_jscan_peek(r->s);
    if (t != LP_JT_STRING)
        return wrong_kind(r, suffix, "a UUID string", t);
    if (lp_jscan_string(r->s, r->a, &sv, NULL) != 0)
        return -1;
    if (!lp_is_uuid(sv))
        return ferr(r, suffix, "must be a UUID");
    char *c = lp_arena_strdup(r->a, sv);
    if (!c) {
        lp_error_set(r->err, LP_E_NOMEM, "out of memory");
        return -1;
    }
    for (char *q = c; *q; q++)
        if (*q >= 'A' && *q <= 'F')
            *q = (char)(*q - 'A' + 'a');
    *out = c;
    return 0;
}

int lp_ann_read(lp_jscan *s, lp_arena *a, const lp_ann_limits *lim, lp_ann_mode mode, lp_ann *out, lp_error *err)
{
    reader r = {.s = s, .a = a, .lim = lim, .err = err};
    body_state st;
    lp_jstr key;
    int rc = 0, more;
    bool has_ranges = false, has_interp = false;
    const char *interp_raw = NULL;
    size_t interp_len = 0;
    lp_jstr interp_key = {0};

    memset(out, 0, sizeof *out);
    memset(&st, 0, sizeof st);
    st.body = &out->body;
    out->type = -1;
    out->interpolated = true;
    lp_jtok t = lp_jscan_peek(s);
    if (t != LP_JT_OBJECT) {
        rc = wrong_kind(&r, "", "an annotation object", t);
        return rc;
    }
    if (lp_jscan_object_begin(s) != 0)
        return -1;
    while ((more = lp_jscan_object_next(s, &key)) == 1) {
        int step;
        size_t saved = push_name(&r, key.p, key.n);
        if (lp_jstr_eq(&key, "id")) {
            step = lower_uuid(&r, NULL, &out->id);
        } else if (lp_jstr_eq(&key, "class_id")) {
            step = lower_uuid(&r, NULL, &out->class_id);
        } else if (lp_jstr_eq(&key, "slot")) {
            step = read_string(&r, NULL, 255, &out->slot);
        } else if (lp_jstr_eq(&key, "z")) {
            int64_t z = 0;
            step = read_int(&r, NULL, INT32_MIN, INT32_MAX, &z);
            out->has_z = step == 0;
            out->z = (int32_t)z;
        } else if (lp_jstr_eq(&key, "source")) {
            const char *sv = NULL;
            step = read_string(&r, NULL, 32, &sv);
            if (step == 0) {
                if (strcmp(sv, "human") == 0)
                    out->source = LP_ANN_HUMAN;
                else if (strcmp(sv, "model") == 0)
                    out->source = LP_ANN_MODEL;
                else if (strcmp(sv, "import") == 0)
                    out->source = LP_ANN_IMPORT;
                else
                    step = ferr(&r, NULL, "must be one of \"human\", \"model\", \"import\"");
            }
        } else if (lp_jstr_eq(&key, "confidence")) {
            step = read_number(&r, NULL, &out->confidence);
            if (step == 0 && (out->confidence < 0 || out->confidence > 1))
                step = ferr(&r, NULL, "must be between 0 and 1");
            out->has_confidence = step == 0;
        } else if (lp_jstr_eq(&key, "frames")) {
            out->video = true;
            step = read_frames(&r, out);
        } else if (lp_jstr_eq(&key, "ranges")) {
            has_ranges = true;
            step = read_ranges(&r, &out->ranges, &out->nranges);
        } else if (lp_jstr_eq(&key, "hidden_areas")) {
            step = read_ranges(&r, &out->hidden, &out->nhidden);
        } else if (lp_jstr_eq(&key, "interpolated")) {
            lp_jscan_peek(s);
            interp_raw = s->p;
            interp_key = key;
            step = read_bool(&r, NULL, &out->interpolated);
            interp_len = (size_t)(s->p - interp_raw);
            has_interp = step == 0;
        } else {
            step = body_key(&r, &key, &st);
            if (step == 2) {
                const char *val;
                size_t vlen;
                step = lp_jscan_skip(s, &val, &vlen);
                if (step == 0 && add_span(&r, &st.extra, &key, val, vlen) != 0)
                    step = -1;
            }
        }
        path_pop(&r, saved);
        if (step < 0)
            goto fail;
        if (step > 0)
            rc = 1;
    }
    if (more < 0)
        goto fail;
    if (!out->class_id) {
        ferr(&r, "class_id", "is required");
        rc = 1;
    }
    if (mode == LP_ANN_UPDATE && !out->id) {
        ferr(&r, "id", "is required to say which annotation to replace");
        rc = 1;
    }
    if (has_interp && add_span(&r, &st.data, &interp_key, interp_raw, interp_len) != 0)
        goto fail;
    if (out->video) {
        for (int ty = 0; ty < LP_ANN_TYPE_COUNT; ty++) {
            if (st.geo[ty].present && ty != LP_GEOM_TEXT) {
                char f[48];
                snprintf(f, sizeof f, "%s", lp_ann_type_name(ty));
                ferr(&r, f, "must be given per frame in \"frames\" for a video annotation");
                rc = 1;
            }
        }
    } else if (has_ranges || out->nhidden) {
        ferr(&r, has_ranges ? "ranges" : "hidden_areas", "applies only to video annotations (with \"frames\")");
        rc = 1;
    }
    int s2 = settle_body(&r, &st, !out->video);
    if (s2 < 0)
        goto fail;
    if (s2 > 0)
        rc = 1;
    if (!out->video) {
        out->type = out->body.geom.type;
    } else if (rc == 0 || out->nframes) {
        int s3 = settle_video(&r, out, has_ranges);
        if (s3 < 0)
            goto fail;
        if (s3 > 0)
            rc = 1;
    }
    free(r.pts);
    return rc || r.bad ? 1 : 0;
fail:
    free(r.pts);
    return -1;
}

/* ---- checks against class and slot ---------------------------------------------- */

static bool prop_value_ok(const lp_ann_prop *p, json_t *def, char *why, size_t cap)
{
    const char *type = json_string_value(json_object_get(def, "type"));
    if (p->kind == 0)
        return true;
    if (!type)
        return true;
    if (strcmp(type, "number") == 0) {
        if (p->kind != 2) {
            snprintf(why, cap, "must be a number for property \"%s\"", p->name);
            return false;
        }
        return true;
    }
    if (p->kind != 1) {
        snprintf(why, cap, "must be a string for property \"%s\"", p->name);
        return false;
    }
    if (strcmp(type, "text") == 0)
        return true;
    json_t *opts = json_object_get(def, "options"), *o;
    size_t i;
    json_array_foreach(opts, i, o) {
        const char *v = json_string_value(json_object_get(o, "value"));
        if (v && strcmp(v, p->str) == 0)
            return true;
    }
    snprintf(why, cap, "\"%.80s\" is not an option of property \"%.80s\"", p->str, p->name);
    return false;
}

static int check_props(const lp_ann_body *b, json_t *defs, const char *prefix, lp_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < b->nprops; i++) {
        const lp_ann_prop *p = &b->props[i];
        json_t *d, *def = NULL;
        size_t j;
        char field[160], why[256];
        if (!p->name)
            continue;
        json_array_foreach(defs, j, d) {
            const char *n = json_string_value(json_object_get(d, "name"));
            const char *id = json_string_value(json_object_get(d, "id"));
            if ((n && strcmp(n, p->name) == 0) || (id && strcmp(id, p->name) == 0)) {
                def = d;
                break;
            }
        }
        if (!def) {
            snprintf(field, sizeof field, "%sproperties[%zu].name", prefix, i);
            rc = lp_error_field(err, LP_E_INVALID, field, "the class has no property \"%.80s\"", p->name);
            continue;
        }
        if (!prop_value_ok(p, def, why, sizeof why)) {
            snprintf(field, sizeof field, "%sproperties[%zu].value", prefix, i);
            rc = lp_error_field(err, LP_E_INVALID, field, "%s", why);
        }
    }
    return rc;
}

static int check_body(const lp_ann_body *b, const lp_ann_class *cls, json_t *defs, const char *prefix,
                      lp_error *err)
{
    static const char *const sub_names[] = {"attributes", "text", "instance_id", "directional_vector"};
    int rc = 0;
    char field[160];
    for (int i = 0; i < 4; i++) {
        unsigned f = 1u << i;
        if ((b->sub_types & f) && !(cls->sub_types & f)) {
            snprintf(field, sizeof field, "%s%s", prefix, sub_names[i]);
            rc = lp_error_field(err, LP_E_INVALID, field, "class %s does not allow the %s sub-type (sub_types)",
                                cls->id, sub_names[i]);
        }
    }
    if (b->geom.type == LP_GEOM_SKELETON && cls->skeleton_nodes) {
        const lp_geom_skeleton *sk = &b->geom.shape.u.skeleton;
        if (sk->nnodes != cls->nskeleton_nodes) {
            snprintf(field, sizeof field, "%sskeleton.nodes", prefix);
            rc = lp_error_field(err, LP_E_INVALID, field, "must have the class's %zu nodes, not %zu",
                                cls->nskeleton_nodes, sk->nnodes);
        } else {
            for (size_t i = 0; i < sk->nnodes; i++) {
                const char *name = sk->nodes[i].name;
                size_t j;
                if (!name)
                    continue;
                for (j = 0; j < cls->nskeleton_nodes; j++)
                    if (strcmp(cls->skeleton_nodes[j], name) == 0)
                        break;
                if (j == cls->nskeleton_nodes) {
                    snprintf(field, sizeof field, "%sskeleton.nodes[%zu].name", prefix, i);
                    rc = lp_error_field(err, LP_E_INVALID, field, "\"%.80s\" is not a node of the class's skeleton",
                                        name);
                }
            }
        }
    }
    if (check_props(b, defs, prefix, err) != 0)
        rc = -1;
    return rc;
}

int lp_ann_check(const lp_ann *ann, const lp_ann_class *cls, const lp_ann_slot *slot, lp_arena *a, lp_error *err)
{
    int rc = 0;
    (void)a;
    if (!cls)
        return lp_error_field(err, LP_E_INVALID, "class_id", "no class %s in this team",
                              ann->class_id ? ann->class_id : "");
    if (!slot) {
        if (ann->slot)
            rc = lp_error_field(err, LP_E_INVALID, "slot", "the item has no slot named \"%.100s\"", ann->slot);
        else
            rc = lp_error_field(err, LP_E_INVALID, "slot", "is required: the item has several slots");
    }
    if (ann->type >= 0 && !(cls->types & (1u << ann->type)))
        rc = lp_error_field(err, LP_E_INVALID, lp_ann_type_name(ann->type),
                            "class %s does not allow %s annotations (its annotation_types)", cls->id,
                            lp_ann_type_name(ann->type));
    json_t *defs = json_loads(cls->properties_json ? cls->properties_json : "[]", 0, NULL);
    if (!defs)
        defs = json_array();
    if (check_body(&ann->body, cls, defs, "", err) != 0)
        rc = -1;
    for (size_t i = 0; i < ann->nframes; i++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "frames.%lld.", (long long)ann->frames[i].frame);
        if (check_body(&ann->frames[i].body, cls, defs, prefix, err) != 0)
            rc = -1;
    }
    json_decref(defs);
    if (slot && ann->video) {
        if (!slot->video) {
            rc = lp_error_field(err, LP_E_INVALID, "frames", "slot \"%.100s\" is an image; frames need a video or volume slot",
                                slot->name);
        } else if (slot->frame_count > 0 && ann->nframes &&
                   ann->frames[ann->nframes - 1].frame >= slot->frame_count) {
            char field[64];
            snprintf(field, sizeof field, "frames.%lld", (long long)ann->frames[ann->nframes - 1].frame);
            rc = lp_error_field(err, LP_E_INVALID, field, "is past the end of slot \"%.100s\" (%lld frames)",
                                slot->name, (long long)slot->frame_count);
        }
    }
    return rc ? -1 : 0;
}

/* ---- stored geometry --------------------------------------------------------------- */

#define BLOB_VERSION 1

static int put_u8(lp_buf *o, unsigned v)
{
    unsigned char c = (unsigned char)v;
    return lp_buf_append(o, &c, 1);
}

static int put_u32(lp_buf *o, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return lp_buf_append(o, b, 4);
}

static inline void le64(unsigned char *b, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_LE 1
#else
#define HOST_LE 0
#endif

static int put_f64s(lp_buf *o, const double *d, size_t n)
{
    if (HOST_LE)
        return lp_buf_append(o, d, n * sizeof *d);
    unsigned char b[8 * 16];
    while (n) {
        size_t k = n < 16 ? n : 16;
        for (size_t i = 0; i < k; i++)
            le64(b + 8 * i, d[i]);
        if (lp_buf_append(o, b, 8 * k) != 0)
            return -1;
        d += k;
        n -= k;
    }
    return 0;
}

static int put_points(lp_buf *o, const lp_geom_path *p)
{
    if (put_u32(o, (uint32_t)p->npoints) != 0)
        return -1;
    /* lp_geom_point is two doubles with no padding */
    return put_f64s(o, (const double *)(const void *)p->points, p->npoints * 2);
}

static int put_bbox(lp_buf *o, const lp_geom_bbox *b)
{
    double v[4] = {b->x, b->y, b->w, b->h};
    return put_f64s(o, v, 4);
}

int lp_ann_geom_encode(const lp_ann_geom *g, lp_buf *o)
{
    if (put_u8(o, BLOB_VERSION) != 0 || put_u8(o, (unsigned)g->type) != 0)
        return -1;
    const lp_geom_shape *s = &g->shape;
    switch (g->type) {
    case LP_GEOM_BOUNDING_BOX: return put_bbox(o, &s->u.bbox);
    case LP_GEOM_KEYPOINT: return put_f64s(o, &s->u.keypoint.x, 1) || put_f64s(o, &s->u.keypoint.y, 1) ? -1 : 0;
    case LP_GEOM_ELLIPSE: {
        double v[5] = {s->u.ellipse.center.x, s->u.ellipse.center.y, s->u.ellipse.radius.x, s->u.ellipse.radius.y,
                       s->u.ellipse.angle};
        return put_f64s(o, v, 5);
    }
    case LP_GEOM_CUBOID: return put_bbox(o, &s->u.cuboid.front) || put_bbox(o, &s->u.cuboid.back) ? -1 : 0;
    case LP_GEOM_LINE: return put_points(o, &s->u.line);
    case LP_GEOM_POLYGON:
        if (put_u32(o, (uint32_t)s->u.polygon.npaths) != 0)
            return -1;
        for (size_t i = 0; i < s->u.polygon.npaths; i++)
            if (put_points(o, &s->u.polygon.paths[i]) != 0)
                return -1;
        return 0;
    case LP_GEOM_SKELETON:
        if (put_u32(o, (uint32_t)s->u.skeleton.nnodes) != 0)
            return -1;
        for (size_t i = 0; i < s->u.skeleton.nnodes; i++) {
            const lp_geom_skeleton_node *nd = &s->u.skeleton.nodes[i];
            double v[2] = {nd->x, nd->y};
            size_t nl = nd->name ? strlen(nd->name) : 0;
            if (put_f64s(o, v, 2) != 0 || put_u8(o, nd->occluded ? 1 : 0) != 0 ||
                put_u32(o, nd->name ? (uint32_t)nl : UINT32_MAX) != 0 || lp_buf_append(o, nd->name, nl) != 0)
                return -1;
        }
        return 0;
    case LP_ANN_RASTER_LAYER:
        if (put_u32(o, (uint32_t)g->ndense) != 0)
            return -1;
        for (size_t i = 0; i < g->ndense; i++)
            if (put_u32(o, g->dense[i]) != 0)
                return -1;
        return put_u32(o, (uint32_t)g->raw_len) || lp_buf_append(o, g->raw, g->raw_len) ? -1 : 0;
    default: /* tag, mask, text: the JSON value as text */
        return put_u32(o, (uint32_t)g->raw_len) || lp_buf_append(o, g->raw, g->raw_len) ? -1 : 0;
    }
}

typedef struct blob_rd {
    const unsigned char *p, *end;
    bool bad;
} blob_rd;

static uint32_t get_u32(blob_rd *b)
{
    if (b->end - b->p < 4) {
        b->bad = true;
        return 0;
    }
    uint32_t v = (uint32_t)b->p[0] | (uint32_t)b->p[1] << 8 | (uint32_t)b->p[2] << 16 | (uint32_t)b->p[3] << 24;
    b->p += 4;
    return v;
}

static void get_f64s(blob_rd *b, double *d, size_t n)
{
    if ((size_t)(b->end - b->p) / 8 < n) {
        b->bad = true;
        memset(d, 0, n * sizeof *d);
        return;
    }
    if (HOST_LE) {
        memcpy(d, b->p, n * 8);
        b->p += n * 8;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 0;
        for (int k = 7; k >= 0; k--)
            v = (v << 8) | b->p[k];
        memcpy(&d[i], &v, 8);
        b->p += 8;
    }
}

static int get_points(blob_rd *b, lp_arena *a, lp_geom_path *p)
{
    uint32_t n = get_u32(b);
    if (b->bad || (size_t)(b->end - b->p) / 16 < n) {
        b->bad = true;
        return -1;
    }
    p->npoints = n;
    p->points = lp_arena_alloc(a, (size_t)n * sizeof *p->points + 1);
    if (!p->points)
        return -1;
    get_f64s(b, (double *)(void *)p->points, (size_t)n * 2);
    return 0;
}

static const char *get_text(blob_rd *b, size_t *len)
{
    uint32_t n = get_u32(b);
    if (b->bad || (size_t)(b->end - b->p) < n) {
        b->bad = true;
        return NULL;
    }
    const char *t = (const char *)b->p;
    b->p += n;
    *len = n;
    return t;
}

int lp_ann_geom_decode(const void *blob, size_t len, lp_arena *a, lp_ann_geom *g, lp_error *err)
{
    blob_rd b = {.p = blob, .end = (const unsigned char *)blob + len};
    memset(g, 0, sizeof *g);
    if (len < 2 || b.p[0] != BLOB_VERSION || b.p[1] >= LP_ANN_TYPE_COUNT)
        return lp_error_set(err, LP_E_INTERNAL, "a stored annotation shape is damaged (unknown layout)");
    g->type = b.p[1];
    b.p += 2;
    g->shape.type = g->type < LP_ANN_RASTER_LAYER ? (lp_geom_type)g->type : LP_GEOM_MASK;
    lp_geom_shape *s = &g->shape;
    switch (g->type) {
    case LP_GEOM_BOUNDING_BOX: get_f64s(&b, &s->u.bbox.x, 4); break;
    case LP_GEOM_KEYPOINT: get_f64s(&b, &s->u.keypoint.x, 2); break;
    case LP_GEOM_ELLIPSE: {
        double v[5];
        get_f64s(&b, v, 5);
        s->u.ellipse = (lp_geom_ellipse){{v[0], v[1]}, {v[2], v[3]}, v[4]};
        break;
    }
    case LP_GEOM_CUBOID: get_f64s(&b, &s->u.cuboid.front.x, 4); get_f64s(&b, &s->u.cuboid.back.x, 4); break;
    case LP_GEOM_LINE:
        if (get_points(&b, a, &s->u.line) != 0 && !b.bad)
            goto nomem;
        break;
    case LP_GEOM_POLYGON: {
        uint32_t n = get_u32(&b);
        if (b.bad || (size_t)(b.end - b.p) / 4 < n)
            goto damaged;
        s->u.polygon.npaths = n;
        s->u.polygon.paths = lp_arena_calloc(a, n ? n : 1, sizeof *s->u.polygon.paths);
        if (!s->u.polygon.paths)
            goto nomem;
        for (uint32_t i = 0; i < n && !b.bad; i++)
            if (get_points(&b, a, &s->u.polygon.paths[i]) != 0 && !b.bad)
                goto nomem;
        break;
    }
    case LP_GEOM_SKELETON: {
        uint32_t n = get_u32(&b);
        if (b.bad || (size_t)(b.end - b.p) / 21 < n)
            goto damaged;
        s->u.skeleton.nnodes = n;
        s->u.skeleton.nodes = lp_arena_calloc(a, n ? n : 1, sizeof *s->u.skeleton.nodes);
        if (!s->u.skeleton.nodes)
            goto nomem;
        for (uint32_t i = 0; i < n && !b.bad; i++) {
            lp_geom_skeleton_node *nd = &s->u.skeleton.nodes[i];
            double v[2];
            get_f64s(&b, v, 2);
            nd->x = v[0];
            nd->y = v[1];
            if (b.p >= b.end) {
                b.bad = true;
                break;
            }
            nd->occluded = *b.p++ != 0;
            uint32_t nl = get_u32(&b);
            if (nl != UINT32_MAX) {
                if ((size_t)(b.end - b.p) < nl) {
                    b.bad = true;
                    break;
                }
                char *name = lp_arena_strndup(a, (const char *)b.p, nl);
                if (!name)
                    goto nomem;
                nd->name = name;
                b.p += nl;
            }
        }
        break;
    }
    case LP_ANN_RASTER_LAYER: {
        uint32_t n = get_u32(&b);
        if (b.bad || (size_t)(b.end - b.p) / 4 < n)
            goto damaged;
        g->dense = lp_arena_alloc(a, (size_t)n * 4 + 4);
        if (!g->dense)
            goto nomem;
        for (uint32_t i = 0; i < n; i++)
            g->dense[i] = get_u32(&b);
        g->ndense = n;
        g->raw = get_text(&b, &g->raw_len);
        break;
    }
    default:
        g->raw = get_text(&b, &g->raw_len);
        break;
    }
    if (b.bad || b.p != b.end)
        goto damaged;
    return 0;
damaged:
    return lp_error_set(err, LP_E_INTERNAL, "a stored %s shape is damaged", lp_ann_type_name(g->type));
nomem:
    return lp_error_set(err, LP_E_NOMEM, "out of memory decoding a stored shape");
}

/* ---- output ------------------------------------------------------------------------- */

static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

size_t lp_ann_format_double(double v, char out[32])
{
    /* Fast path: v = m / 10^k with an integer m below 2^53 for a small k.
     * Dividing two exact doubles rounds correctly, so when m / 10^k == v the
     * decimal "m e-k" reads back as v, and the smallest such k is the
     * shortest. A cheap integrality test picks the candidate k; one division
     * confirms it. */
    double av = fabs(v);
    if (av < 1e15) {
        for (int k = 0; k <= 15; k++) {
            double scaled = av * p10[k];
            if (scaled >= 9007199254740992.0)
                break;
            double m = (double)(uint64_t)(scaled + 0.5);
            if (m != scaled && fabs(m - scaled) > scaled * 1e-15)
                continue;
            if (m / p10[k] != av)
                continue;
            char digits[24];
            int nd = 0;
            uint64_t u = (uint64_t)m;
            do {
                digits[nd++] = (char)('0' + u % 10);
                u /= 10;
            } while (u);
            char *o = out;
            if (v < 0 || (v == 0 && signbit(v)))
                *o++ = '-';
            if (nd <= k) {
                *o++ = '0';
                *o++ = '.';
                for (int z = 0; z < k - nd; z++)
                    *o++ = '0';
                for (int i = nd - 1; i >= 0; i--)
                    *o++ = digits[i];
            } else {
                for (int i = nd - 1; i >= 0; i--) {
                    *o++ = digits[i];
                    if (i == k && k > 0)
                        *o++ = '.';
                }
            }
            *o = '\0';
            return (size_t)(o - out);
        }
    }
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(out, 32, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v)
            return (size_t)n;
    }
    return 0;
}

static int put_num(lp_buf *o, double v)
{
    char t[32];
    size_t n = lp_ann_format_double(v, t);
    return lp_buf_append(o, t, n);
}

static int put_xy(lp_buf *o, double x, double y)
{
    char t[80];
    size_t n = 0;
    memcpy(t, "{\"x\":", 5);
    n = 5;
    n += lp_ann_format_double(x, t + n);
    memcpy(t + n, ",\"y\":", 5);
    n += 5;
    n += lp_ann_format_double(y, t + n);
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

int lp_ann_write_string(lp_buf *o, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (lp_buf_append(o, "\"", 1) != 0)
        return -1;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (lp_buf_append(o, s + start, i - start) != 0)
            return -1;
        char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
        const char *e = esc;
        size_t el = 6;
        if (c == '"') {
            e = "\\\"";
            el = 2;
        } else if (c == '\\') {
            e = "\\\\";
            el = 2;
        } else if (c == '\n') {
            e = "\\n";
            el = 2;
        } else if (c == '\t') {
            e = "\\t";
            el = 2;
        } else if (c == '\r') {
            e = "\\r";
            el = 2;
        }
        if (lp_buf_append(o, e, el) != 0)
            return -1;
        start = i + 1;
    }
    if (lp_buf_append(o, s + start, len - start) != 0)
        return -1;
    return lp_buf_append(o, "\"", 1);
}

int lp_ann_write_shape(lp_buf *o, const lp_geom_shape *s)
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
            if (nd->name && (lp_buf_puts(o, "\"name\":") || lp_ann_write_string(o, nd->name, strlen(nd->name)) ||
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

int lp_ann_write_geom(lp_buf *o, const lp_ann_geom *g)
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
    if (g->type == LP_GEOM_TAG || g->type == LP_GEOM_MASK || g->type == LP_GEOM_TEXT) {
        return lp_buf_printf(o, "\"%s\":", lp_ann_type_name(g->type)) ||
                       (g->raw_len ? lp_buf_append(o, g->raw, g->raw_len) : lp_buf_puts(o, "{}"))
                   ? -1
                   : 0;
    }
    return lp_ann_write_shape(o, &g->shape);
}

int lp_ann_write_members(lp_buf *o, const char *obj, size_t len)
{
    if (!obj)
        return 0;
    /* trim "{" … "}" and surrounding whitespace */
    size_t b = 0, e = len;
    while (b < e && obj[b] != '{')
        b++;
    while (e > b && obj[e - 1] != '}')
        e--;
    if (e - b < 2)
        return 0;
    b++;
    e--;
    while (b < e && (obj[b] == ' ' || obj[b] == '\n'))
        b++;
    if (b == e)
        return 0;
    return lp_buf_append(o, ",", 1) || lp_buf_append(o, obj + b, e - b) ? -1 : 0;
}
