/* YOLO in (Ultralytics layout): data.yaml's class names, then one item per
 * labels/<path>/<stem>.txt, each line "class cx cy w h" (detect: a
 * bounding_box) or "class x1 y1 x2 y2 …" (segment: a polygon of three or
 * more points), or, for pose (variant pose, or data.yaml's task: pose),
 * "class cx cy w h x1 y1 [v1] …" with kpt_shape: [K, 2|3] keypoints: a
 * skeleton of the class's nodes — as many as data.yaml's kpt_names lists for
 * the class (the export writes them, with kpt_edges), else K, named by
 * kpt_names when given —, a node occluded when its v is below 2 (the box is
 * not kept: a skeleton's box is its nodes'), or, for obb (variant obb, or
 * data.yaml's task: obb), "class x1 y1 x2 y2 x3 y3 x4 y4": a rotated_box.
 *
 * YOLO's numbers are fractions of the image's width and height, and a
 * label file does not say the image's size or extension: the reader asks
 * the import (lp_imp_options.image) for the item at <path> named <stem>.*
 * with its stored size, and multiplies — x = (cx − w/2) × width,
 * y = (cy − h/2) × height, w × width, h × height; points x × width,
 * y × height. An item not found, or of unknown size, is a problem leaving
 * it out. docs/FORMATS.md. */
#define _GNU_SOURCE /* memrchr */
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_int.h"

/* Class names at most this many (ids 0 … MAX_CLASSES − 1). */
#define MAX_CLASSES 100000

/* One class's skeleton as data.yaml gives it (kpt_names, kpt_edges). */
typedef struct kpt_class {
    char **nodes;                /* node names, malloc */
    size_t nnodes;
    uint32_t *edges;             /* 2 * nedges node indices */
    size_t nedges;
} kpt_class;

typedef struct yolo_in {
    char **names;                /* by class id; NULL where data.yaml gave none */
    size_t nnames;
    bool segment, pose, obb;
    size_t kpts, kdims;          /* pose: kpt_shape [kpts, kdims]; 0 when not given */
    kpt_class *kc;               /* by class id, nkc of them */
    size_t nkc;
} yolo_in;

static const char *const VARIANTS[] = {"detect", "segment", "pose", "obb", NULL};

static lp_imp_role yolo_role(const lp_imp_reader *r, const char *name)
{
    (void)r;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (imp_has_ext(base, ".yaml") || imp_has_ext(base, ".yml"))
        return base == name ? LP_IMP_ROLE_META : LP_IMP_ROLE_SKIP;
    if (strncmp(name, "labels/", 7) == 0 && imp_has_ext(name, ".txt"))
        return LP_IMP_ROLE_ITEMS;
    return LP_IMP_ROLE_SKIP;
}

/* The reader's state, made on first use. Class names live here, as long as
 * the reader: annotations borrow them. */
static yolo_in *state(lp_imp_reader *r, lp_error *err)
{
    if (r->state)
        return r->state;
    yolo_in *y = calloc(1, sizeof *y);
    if (!y) {
        lp_error_set(err, LP_E_NOMEM, "out of memory starting a YOLO reader");
        return NULL;
    }
    y->segment = strcmp(r->opt.variant, "segment") == 0;
    y->pose = strcmp(r->opt.variant, "pose") == 0;
    y->obb = strcmp(r->opt.variant, "obb") == 0;
    return r->state = y;
}

static void yolo_free(lp_imp_reader *r)
{
    yolo_in *y = r->state;
    if (!y)
        return;
    for (size_t i = 0; i < y->nnames; i++)
        free(y->names[i]);
    free(y->names);
    for (size_t i = 0; i < y->nkc; i++) {
        for (size_t k = 0; k < y->kc[i].nnodes; k++)
            free(y->kc[i].nodes[k]);
        free(y->kc[i].nodes);
        free(y->kc[i].edges);
    }
    free(y->kc);
    free(y);
}

/* ---- data.yaml (the subset Ultralytics writes) ---------------------------------- */

/* A YAML scalar: "double-quoted" (JSON escapes), 'single-quoted' or plain
 * (trimmed, a "#" comment cut). New with malloc, or NULL. */
static char *scalar(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= 2 && s[0] == '"') {
        json_t *v = json_loadb(s, n, JSON_DECODE_ANY, NULL);
        char *out = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
        json_decref(v);
        return out;
    }
    if (n >= 2 && s[0] == '\'' && s[n - 1] == '\'') {
        char *out = malloc(n), *o = out;
        for (size_t i = 1; out && i + 1 < n; i++) {
            *o++ = s[i];
            if (s[i] == '\'' && s[i + 1] == '\'')
                i++;
        }
        if (out)
            *o = '\0';
        return out;
    }
    const char *hash = memchr(s, '#', n);
    if (hash && (hash == s || isspace((unsigned char)hash[-1])))
        n = (size_t)(hash - s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return n ? strndup(s, n) : NULL;
}

static int set_name(yolo_in *y, size_t id, char *name, lp_error *err)
{
    if (id >= MAX_CLASSES) {
        free(name);
        return 0;
    }
    if (id >= y->nnames) {
        char **nv = realloc(y->names, (id + 1) * sizeof *nv);
        if (!nv) {
            free(name);
            return lp_error_set(err, LP_E_NOMEM, "out of memory reading YOLO class names");
        }
        memset(nv + y->nnames, 0, (id + 1 - y->nnames) * sizeof *nv);
        y->names = nv;
        y->nnames = id + 1;
    }
    free(y->names[id]);
    y->names[id] = name;
    return 0;
}

/* The skeleton of class id (made empty on first use); NULL past
 * MAX_CLASSES or on NOMEM (*err set). */
static kpt_class *kpt_of(yolo_in *y, size_t id, lp_error *err)
{
    if (id >= MAX_CLASSES)
        return NULL;
    if (id >= y->nkc) {
        kpt_class *v = realloc(y->kc, (id + 1) * sizeof *v);
        if (!v) {
            lp_error_set(err, LP_E_NOMEM, "out of memory reading YOLO keypoint names");
            return NULL;
        }
        memset(v + y->nkc, 0, (id + 1 - y->nkc) * sizeof *v);
        y->kc = v;
        y->nkc = id + 1;
    }
    return &y->kc[id];
}

/* Where a value of a name list goes: a class name, or a node of a skeleton. */
typedef struct name_dst {
    yolo_in *y;
    kpt_class *kc;               /* NULL: class names */
    size_t max_nodes;
} name_dst;

static int put_name(name_dst *d, size_t id, char *v, lp_error *err)
{
    if (!d->kc)
        return set_name(d->y, id, v, err);
    if (d->kc->nnodes >= d->max_nodes) { /* a skeleton past the limit: the class's lines say so */
        free(v);
        return 0;
    }
    char **nv = realloc(d->kc->nodes, (d->kc->nnodes + 1) * sizeof *nv);
    if (!nv) {
        free(v);
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading YOLO keypoint names");
    }
    d->kc->nodes = nv;
    nv[d->kc->nnodes++] = v;
    return 0;
}

/* Splits "[a, b]" or "{0: a, 1: b}" (the text between the brackets) at
 * commas outside quotes, calling put_name for each. */
static int inline_names(name_dst *d, const char *s, size_t n, bool map, lp_error *err)
{
    size_t id = 0, start = 0;
    char q = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && q) {
            if (s[i] == q && !(q == '"' && s[i - 1] == '\\'))
                q = 0;
            continue;
        }
        if (i < n && (s[i] == '"' || s[i] == '\'')) {
            q = s[i];
            continue;
        }
        if (i < n && s[i] != ',')
            continue;
        const char *e = s + start;
        size_t len = i - start;
        size_t key = id;
        if (map) {
            char *end;
            unsigned long k = strtoul(e, &end, 10);
            const char *colon = memchr(e, ':', len);
            if (!colon || end == e)
                return 0;
            key = (size_t)k;
            len -= (size_t)(colon + 1 - e);
            e = colon + 1;
        }
        char *v = scalar(e, len);
        if (v && put_name(d, key, v, err) != 0)
            return -1;
        id++;
        start = i + 1;
    }
    return 0;
}

/* The unsigned integers of s (n bytes) in order, at most cap; how many. */
static size_t integers(const char *s, size_t n, unsigned long *v, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap;) {
        if (!isdigit((unsigned char)s[i])) {
            i++;
            continue;
        }
        unsigned long x = 0;
        while (i < n && isdigit((unsigned char)s[i]) && x < 100000000UL)
            x = x * 10 + (unsigned long)(s[i++] - '0');
        v[k++] = x;
    }
    return k;
}

/* "[[a, b], [c, d]]" as the edges of kc (indices past max_nodes dropped). */
static int inline_edges(kpt_class *kc, const char *s, size_t n, size_t max_nodes, lp_error *err)
{
    unsigned long v[2];
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '[' || (i + 1 < n && s[i + 1] == '['))
            continue;
        const char *close = memchr(s + i, ']', n - i);
        if (!close)
            return 0;
        size_t got = integers(s + i, (size_t)(close - s - i), v, 2);
        i = (size_t)(close - s);
        if (got != 2 || v[0] >= max_nodes || v[1] >= max_nodes)
            continue;
        uint32_t *e = realloc(kc->edges, (kc->nedges + 1) * 2 * sizeof *e);
        if (!e)
            return lp_error_set(err, LP_E_NOMEM, "out of memory reading YOLO keypoint edges");
        kc->edges = e;
        e[2 * kc->nedges] = (uint32_t)v[0];
        e[2 * kc->nedges + 1] = (uint32_t)v[1];
        kc->nedges++;
    }
    return 0;
}

/* The top-level keys of data.yaml whose indented lines the reader reads. */
typedef enum { SEC_NONE = 0, SEC_NAMES, SEC_KPT_NAMES, SEC_KPT_EDGES } yaml_section;

static bool key_is(const char *t, size_t n, const char *key)
{
    size_t k = strlen(key);
    return n >= k && strncmp(t, key, k) == 0;
}

static int read_yaml(lp_imp_reader *r, yolo_in *y, const char *file, const char *data, size_t len, lp_error *err)
{
    const char *p = data, *end = data + len;
    yaml_section sec = SEC_NONE;
    size_t list_id = 0, max_nodes = r->opt.lim->geom.max_points;
    name_dst names = {y, NULL, 0}, nodes = {y, NULL, max_nodes};
    (void)file;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
        const char *s = p;
        p = nl ? nl + 1 : end;
        size_t indent = 0;
        while (s + indent < e && s[indent] == ' ')
            indent++;
        const char *t = s + indent;
        size_t n = (size_t)(e - t);
        if (n && t[n - 1] == '\r')
            n--;
        if (n == 0 || *t == '#')
            continue;
        if (indent == 0) {
            sec = SEC_NONE;
            if (key_is(t, n, "names:")) {
                const char *v = t + 6, *ve = t + n;
                while (v < ve && isspace((unsigned char)*v))
                    v++;
                if (v < ve && (*v == '[' || *v == '{')) {
                    const char *close = memchr(v, *v == '[' ? ']' : '}', (size_t)(ve - v));
                    if (!close)
                        close = ve;
                    if (inline_names(&names, v + 1, (size_t)(close - v - 1), *v == '{', err) != 0)
                        return -1;
                } else {
                    sec = SEC_NAMES;
                    list_id = 0;
                }
            } else if (key_is(t, n, "kpt_names:")) {
                sec = SEC_KPT_NAMES;
                nodes.kc = NULL;
            } else if (key_is(t, n, "kpt_edges:")) {
                sec = SEC_KPT_EDGES;
            } else if (key_is(t, n, "kpt_shape:")) {
                unsigned long v[2];
                if (integers(t + 10, n - 10, v, 2) == 2 && v[0] >= 1 && v[0] <= max_nodes && (v[1] == 2 || v[1] == 3)) {
                    y->kpts = v[0];
                    y->kdims = v[1];
                }
            } else if (key_is(t, n, "task:")) {
                char *task = scalar(t + 5, n - 5);
                if (task && strcmp(task, "segment") == 0)
                    y->segment = true;
                if (task && strcmp(task, "obb") == 0)
                    y->obb = true;
                if (task && strcmp(task, "pose") == 0)
                    y->pose = true;
                free(task);
            }
            continue;
        }
        if (sec == SEC_NONE)
            continue;
        if (*t == '-') { /* "- name": a class name, or a node of the class being read */
            char *v = scalar(t + 1, n - 1);
            if (v && sec == SEC_NAMES && set_name(y, list_id++, v, err) != 0)
                return -1;
            if (v && sec == SEC_KPT_NAMES && nodes.kc && put_name(&nodes, 0, v, err) != 0)
                return -1;
            if (v && !(sec == SEC_NAMES || (sec == SEC_KPT_NAMES && nodes.kc)))
                free(v);
            continue;
        }
        /* "id: value" */
        char *endp;
        unsigned long id = strtoul(t, &endp, 10);
        const char *colon = memchr(t, ':', n);
        if (endp == t || !colon)
            continue;
        const char *v = colon + 1, *ve = t + n;
        while (v < ve && isspace((unsigned char)*v))
            v++;
        if (sec == SEC_NAMES) {
            char *name = scalar(v, (size_t)(ve - v));
            if (name && set_name(y, (size_t)id, name, err) != 0)
                return -1;
            continue;
        }
        kpt_class *kc = kpt_of(y, (size_t)id, err);
        if (!kc) {
            if (err->code != LP_OK)
                return -1;
            continue;
        }
        if (sec == SEC_KPT_EDGES) {
            if (inline_edges(kc, v, (size_t)(ve - v), max_nodes, err) != 0)
                return -1;
            continue;
        }
        nodes.kc = kc; /* kpt_names: an inline list, or "- name" lines to follow */
        if (v < ve && *v == '[') {
            const char *close = memrchr(v, ']', (size_t)(ve - v));
            if (inline_names(&nodes, v + 1, (size_t)((close ? close : ve) - v - 1), false, err) != 0)
                return -1;
        }
    }
    unsigned types = y->pose      ? 1u << LP_GEOM_SKELETON
                     : y->obb     ? 1u << LP_GEOM_ROTATED_BOX
                     : y->segment ? 1u << LP_GEOM_POLYGON
                                  : 1u << LP_GEOM_BOUNDING_BOX;
    for (size_t i = 0; i < y->nnames; i++) {
        lp_imp_class c = {.name = y->names[i], .types = types};
        if (y->pose && i < y->nkc) {
            kpt_class *kc = &y->kc[i];
            size_t kept = 0; /* edges between nodes the class has */
            for (size_t k = 0; k < kc->nedges; k++)
                if (kc->edges[2 * k] < kc->nnodes && kc->edges[2 * k + 1] < kc->nnodes) {
                    kc->edges[2 * kept] = kc->edges[2 * k];
                    kc->edges[2 * kept + 1] = kc->edges[2 * k + 1];
                    kept++;
                }
            kc->nedges = kept;
            c.nodes = (const char *const *)y->kc[i].nodes;
            c.nnodes = y->kc[i].nnodes;
            c.edges = y->kc[i].edges;
            c.nedges = y->kc[i].nedges;
        }
        if (y->names[i] && r->sink.cls(r->sink.ud, &c, err) != 0)
            return -1;
    }
    return 0;
}

/* ---- one label file ---------------------------------------------------------------- */

/* Up to cap numbers of one line; the count, or -1 when a token is not a
 * finite number. */
static long numbers(const char *s, size_t n, double *v, size_t cap)
{
    char buf[64];
    size_t k = 0, i = 0;
    while (i < n) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i == n)
            break;
        size_t j = i;
        while (j < n && !isspace((unsigned char)s[j]))
            j++;
        if (j - i >= sizeof buf || k == cap)
            return -1;
        memcpy(buf, s + i, j - i);
        buf[j - i] = '\0';
        char *end;
        double d = strtod(buf, &end);
        if (*end || !isfinite(d))
            return -1;
        v[k++] = d;
        i = j;
    }
    return (long)k;
}

/* An OBB line's four corners (v: class first, then x1 y1 … x4 y4 as
 * fractions) as a rotated box: the first edge gives its width and angle, the
 * second its height, the corners' mean its centre — the exact inverse of the
 * export's corners (lp_geom_rbox_corners), angle in (-pi, pi]. */
static lp_geom_rbox obb_box(const double *v, double W, double H)
{
    lp_geom_point p[4];
    double cx = 0, cy = 0;
    for (int i = 0; i < 4; i++) {
        p[i] = (lp_geom_point){v[1 + 2 * i] * W, v[2 + 2 * i] * H};
        cx += p[i].x / 4;
        cy += p[i].y / 4;
    }
    double w = hypot(p[1].x - p[0].x, p[1].y - p[0].y), h = hypot(p[2].x - p[1].x, p[2].y - p[1].y);
    double angle = w > 0 ? atan2(p[1].y - p[0].y, p[1].x - p[0].x) : 0;
    return (lp_geom_rbox){cx - w / 2, cy - h / 2, w, h, angle};
}

/* A pose line's skeleton (v: its n numbers, class first): the class's nodes
 * (kpt_names' count, else kpt_shape's), named when kpt_names names them.
 * NULL with *why for a line that is not one, or on NOMEM (*why NULL). */
static lp_geom_skeleton_node *pose_nodes(const yolo_in *y, const double *v, long n, size_t cls, double W, double H,
                                         lp_arena *a, size_t *count, const char **why)
{
    const kpt_class *kc = cls < y->nkc && y->kc[cls].nnodes ? &y->kc[cls] : NULL;
    size_t k = kc ? kc->nnodes : y->kpts, d = y->kdims;
    if (!y->kpts) {
        *why = "is a pose line, but data.yaml gives no kpt_shape: [keypoints, 2 or 3]";
        return NULL;
    }
    if (n != (long)(5 + y->kpts * d)) {
        *why = "is not a pose line (class cx cy w h, then kpt_shape's keypoints × dimensions numbers)";
        return NULL;
    }
    if (k > y->kpts) {
        *why = "names a class whose kpt_names list more keypoints than kpt_shape";
        return NULL;
    }
    lp_geom_skeleton_node *nodes = lp_arena_calloc(a, k ? k : 1, sizeof *nodes);
    for (size_t i = 0; nodes && i < k; i++) {
        const double *q = v + 5 + d * i;
        nodes[i] = (lp_geom_skeleton_node){kc ? kc->nodes[i] : NULL, q[0] * W, q[1] * H, d == 3 && q[2] < 2};
    }
    *count = k;
    return nodes;
}

static int yolo_file(lp_imp_reader *r, const char *file, const char *data, size_t len, lp_arena *a, lp_error *err)
{
    yolo_in *y = state(r, err);
    if (!y)
        return -1;
    if (yolo_role(r, file) == LP_IMP_ROLE_META)
        return read_yaml(r, y, file, data, len, err);
    lp_imp_item it = {.file = file, .where = ""};
    lp_imp_slot *slot = lp_arena_calloc(a, 1, sizeof *slot);
    const char *stem = imp_stem(a, file, NULL);
    int64_t W = -1, H = -1;
    int found = 0;
    it.path = imp_folder(a, file, "labels");
    if (!slot || !stem || !it.path)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
    if (r->opt.image &&
        (found = r->opt.image(r->opt.image_ud, it.path, stem, a, &it.name, &W, &H, err)) < 0)
        return -1;
    if (found != 1 || W <= 0 || H <= 0 || !it.name)
        return imp_problem(r, file, "", LP_IMP_SKIP_ITEM, err,
                           "no item at %s named %s.* with a known width and height: YOLO coordinates are fractions "
                           "of the image's size; register the item with its size (or upload its file) first",
                           it.path, stem);
    *slot = (lp_imp_slot){.name = "0", .type = "image", .width = W, .height = H, .frame_count = -1};
    it.slots = slot;
    it.nslots = 1;
    /* the longest line: a pose line of max_points keypoints of 3 numbers (a polygon's is shorter) */
    size_t cap_anns = 0, nwhere = 0, cap_where = 0, max = 3 * r->opt.lim->geom.max_points + 5;
    const char **where = NULL;
    double *v = lp_arena_alloc(a, (max + 1) * sizeof *v);
    if (!v)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
    const char *p = data, *end = data + len;
    for (size_t line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
        const char *s = p;
        p = nl ? nl + 1 : end;
        long n = numbers(s, (size_t)(e - s), v, max);
        if (n == 0)
            continue;
        const char *at = lp_arena_printf(a, "line %zu", line);
        if (!at)
            return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        const char *why = NULL;
        /* converted only when in range (a double out of range has no size_t) */
        size_t cls = n > 0 && v[0] >= 0 && v[0] < MAX_CLASSES ? (size_t)v[0] : SIZE_MAX;
        if (n < 0)
            why = "holds something that is not a number (or too many numbers)";
        else if (v[0] < 0 || v[0] != floor(v[0]) || cls >= y->nnames || !y->names[cls])
            why = "names a class that data.yaml does not name";
        else if (y->obb && n != 9)
            why = "is not an oriented box (class x1 y1 x2 y2 x3 y3 x4 y4)";
        else if (!y->pose && n != 5 && (n < 7 || n % 2 == 0))
            why = "is neither a box (class cx cy w h) nor a polygon (class x1 y1 … of 3 or more points)";
        lp_geom_shape sh = {.type = y->pose  ? LP_GEOM_SKELETON
                                    : y->obb ? LP_GEOM_ROTATED_BOX
                                    : n == 5 ? LP_GEOM_BOUNDING_BOX
                                             : LP_GEOM_POLYGON};
        if (!why && y->obb) {
            sh.u.rbox = obb_box(v, (double)W, (double)H);
        } else if (!why && y->pose) {
            sh.u.skeleton.nodes = pose_nodes(y, v, n, cls, (double)W, (double)H, a, &sh.u.skeleton.nnodes, &why);
            if (!sh.u.skeleton.nodes && !why)
                return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        } else if (!why && n == 5) {
            sh.u.bbox = (lp_geom_bbox){(v[1] - v[3] / 2) * (double)W, (v[2] - v[4] / 2) * (double)H,
                                       v[3] * (double)W, v[4] * (double)H};
        } else if (!why) {
            size_t k = (size_t)(n - 1) / 2;
            lp_geom_path *path = lp_arena_alloc(a, sizeof *path);
            lp_geom_point *pts = lp_arena_alloc(a, k * sizeof *pts);
            if (!path || !pts)
                return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
            for (size_t i = 0; i < k; i++)
                pts[i] = (lp_geom_point){v[1 + 2 * i] * (double)W, v[2 + 2 * i] * (double)H};
            *path = (lp_geom_path){pts, k};
            sh.u.polygon = (lp_geom_polygon){path, 1};
        }
        lp_error ge;
        lp_error_clear(&ge);
        if (!why && lp_geom_validate(&sh, &r->opt.lim->geom, &ge) != 0 && !(why = imp_geom_why(a, &ge)))
            return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        if (why) {
            if (imp_problem(r, file, at, LP_IMP_SKIP_ANNOTATION, err, "the line %s; it was not read", why) != 0)
                return -1;
            continue;
        }
        lp_ann *ann = imp_push(a, (void **)&it.anns, &it.nanns, &cap_anns, sizeof *ann);
        const char **w = imp_push(a, (void **)&where, &nwhere, &cap_where, sizeof *w);
        if (!ann || !w)
            return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        ann->class_name = y->names[cls];
        ann->type = (int)sh.type;
        ann->body.geom.type = (int)sh.type;
        ann->body.geom.shape = sh;
        ann->body.data = "{}";
        ann->body.data_len = 2;
        *w = at;
    }
    it.ann_where = where;
    it.done = 1;
    return imp_item(r, &it, err);
}

const lp_imp_ops lp_imp_yolo_ops = {"yolo", VARIANTS, yolo_role, yolo_file, NULL, yolo_free};
