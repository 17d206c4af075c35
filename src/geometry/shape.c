/* Shape type table, deep copies and validation. */
#include "loupe/geometry/shape.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "loupe/geometry/rle.h"

static const char *const type_names[LP_GEOM_TYPE_COUNT] = {
    [LP_GEOM_BOUNDING_BOX] = "bounding_box",
    [LP_GEOM_POLYGON] = "polygon",
    [LP_GEOM_LINE] = "line",
    [LP_GEOM_KEYPOINT] = "keypoint",
    [LP_GEOM_SKELETON] = "skeleton",
    [LP_GEOM_ELLIPSE] = "ellipse",
    [LP_GEOM_CUBOID] = "cuboid",
    [LP_GEOM_TAG] = "tag",
    [LP_GEOM_MASK] = "mask",
    [LP_GEOM_TEXT] = "text",
    [LP_GEOM_ROTATED_BOX] = "rotated_box",
};

const char *lp_geom_type_name(lp_geom_type t)
{
    if ((unsigned)t >= LP_GEOM_TYPE_COUNT)
        return NULL;
    return type_names[t];
}

int lp_geom_type_from_name(const char *name, lp_geom_type *out)
{
    if (!name)
        return -1;
    for (int i = 0; i < LP_GEOM_TYPE_COUNT; i++) {
        if (strcmp(name, type_names[i]) == 0) {
            *out = (lp_geom_type)i;
            return 0;
        }
    }
    return -1;
}

bool lp_geom_type_has_geometry(lp_geom_type t)
{
    return (unsigned)t < LP_GEOM_TYPE_COUNT && t != LP_GEOM_TAG && t != LP_GEOM_TEXT;
}

void lp_geom_rbox_corners(const lp_geom_rbox *b, lp_geom_point out[4])
{
    double c = cos(b->angle), sn = sin(b->angle);
    double cx = b->x + b->w / 2, cy = b->y + b->h / 2, hw = b->w / 2, hh = b->h / 2;
    const double dx[4] = {-hw, hw, hw, -hw}, dy[4] = {-hh, -hh, hh, hh};
    for (int i = 0; i < 4; i++)
        out[i] = (lp_geom_point){cx + dx[i] * c - dy[i] * sn, cy + dx[i] * sn + dy[i] * c};
}

/* ---- copy ---- */

static int copy_path(lp_arena *a, lp_geom_path *dst, const lp_geom_path *src)
{
    dst->npoints = src->npoints;
    dst->points = lp_arena_memdup(a, src->points, src->npoints * sizeof *src->points);
    return (src->npoints > 0 && !dst->points) ? -1 : 0;
}

int lp_geom_shape_copy(lp_arena *a, lp_geom_shape *dst, const lp_geom_shape *src, lp_error *err)
{
    *dst = *src;
    switch (src->type) {
    case LP_GEOM_POLYGON: {
        const lp_geom_polygon *sp = &src->u.polygon;
        lp_geom_polygon *dp = &dst->u.polygon;
        dp->paths = lp_arena_calloc(a, sp->npaths ? sp->npaths : 1, sizeof *dp->paths);
        if (!dp->paths)
            goto nomem;
        for (size_t i = 0; i < sp->npaths; i++)
            if (copy_path(a, &dp->paths[i], &sp->paths[i]) < 0)
                goto nomem;
        break;
    }
    case LP_GEOM_LINE:
        if (copy_path(a, &dst->u.line, &src->u.line) < 0)
            goto nomem;
        break;
    case LP_GEOM_SKELETON: {
        const lp_geom_skeleton *ss = &src->u.skeleton;
        lp_geom_skeleton *ds = &dst->u.skeleton;
        ds->nodes = lp_arena_memdup(a, ss->nodes, ss->nnodes * sizeof *ss->nodes);
        if (!ds->nodes && ss->nnodes)
            goto nomem;
        for (size_t i = 0; i < ss->nnodes; i++) {
            if (ss->nodes[i].name && !(ds->nodes[i].name = lp_arena_strdup(a, ss->nodes[i].name)))
                goto nomem;
        }
        break;
    }
    case LP_GEOM_MASK: {
        const lp_geom_rle *sr = &src->u.mask;
        dst->u.mask.counts = lp_arena_memdup(a, sr->counts, sr->ncounts * sizeof *sr->counts);
        if (!dst->u.mask.counts && sr->ncounts)
            goto nomem;
        break;
    }
    default:
        break; /* no pointers inside */
    }
    return 0;
nomem:
    memset(dst, 0, sizeof *dst);
    return lp_error_set(err, LP_E_NOMEM, "Out of memory while copying a %s shape.",
                        lp_geom_type_name(src->type) ? lp_geom_type_name(src->type) : "geometry");
}

/* ---- validation ---- */

typedef struct vctx {
    lp_error *err;
    const char *type; /* field names start with it */
    int problems;
} vctx;

static void problem(vctx *v, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void problem(vctx *v, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (v->problems++ == 0)
        lp_error_set(v->err, LP_E_INVALID, "The %s annotation has invalid geometry.", v->type);
    lp_error_field(v->err, LP_E_INVALID, field, "%s", msg);
}

static void check_number(vctx *v, double d, const char *field)
{
    if (!isfinite(d))
        problem(v, field, "must be a finite number");
}

static void check_point(vctx *v, lp_geom_point p, const char *prefix)
{
    char f[128];
    snprintf(f, sizeof f, "%s.x", prefix);
    check_number(v, p.x, f);
    snprintf(f, sizeof f, "%s.y", prefix);
    check_number(v, p.y, f);
}

static void check_bbox(vctx *v, const lp_geom_bbox *b, const char *prefix)
{
    char f[128];
    const double vals[4] = {b->x, b->y, b->w, b->h};
    const char *names[4] = {"x", "y", "w", "h"};
    for (int i = 0; i < 4; i++) {
        snprintf(f, sizeof f, "%s.%s", prefix, names[i]);
        if (!isfinite(vals[i]))
            problem(v, f, "must be a finite number");
        else if (i >= 2 && vals[i] < 0)
            problem(v, f, "must be at least 0 (got %g)", vals[i]);
        else if (i >= 2 && isfinite(vals[i - 2]) && !isfinite(vals[i - 2] + vals[i]))
            problem(v, f, "takes the box's far edge (%s + %s) past the largest number; make it smaller", names[i - 2],
                    names[i]);
    }
}

/* A rotated box whose members are all finite but a corner is not. */
static void check_rbox_corners(vctx *v, const lp_geom_rbox *r)
{
    lp_geom_point c[4];
    lp_geom_rbox_corners(r, c);
    for (int i = 0; i < 4; i++) {
        if (!isfinite(c[i].x) || !isfinite(c[i].y)) {
            problem(v, "rotated_box", "its corners lie past the largest number; make x, y, w or h smaller");
            return;
        }
    }
}

/* A path of [min_points, max_points] finite points; field names
 * "<prefix>[i].x". */
static void check_path(vctx *v, const lp_geom_path *p, size_t min_points, size_t max_points, const char *prefix)
{
    char f[128];
    if (p->npoints < min_points) {
        problem(v, prefix, "needs at least %zu points (got %zu)", min_points, p->npoints);
        return;
    }
    if (p->npoints > max_points) {
        problem(v, prefix, "has %zu points; at most %zu are allowed", p->npoints, max_points);
        return;
    }
    for (size_t i = 0; i < p->npoints; i++) {
        if (isfinite(p->points[i].x) && isfinite(p->points[i].y))
            continue;
        snprintf(f, sizeof f, "%s[%zu]", prefix, i);
        check_point(v, p->points[i], f);
    }
}

static void check_polygon(vctx *v, const lp_geom_polygon *p, const lp_geom_limits *lim)
{
    char f[128];
    if (p->npaths == 0) {
        problem(v, "polygon.paths", "needs at least one path");
        return;
    }
    if (p->npaths > lim->max_paths) {
        problem(v, "polygon.paths", "has %zu paths; at most %zu are allowed", p->npaths, lim->max_paths);
        return;
    }
    for (size_t i = 0; i < p->npaths; i++) {
        snprintf(f, sizeof f, "polygon.paths[%zu]", i);
        check_path(v, &p->paths[i], 3, lim->max_points, f);
    }
}

static void check_skeleton(vctx *v, const lp_geom_skeleton *s, const lp_geom_limits *lim)
{
    char f[128];
    if (s->nnodes == 0) {
        problem(v, "skeleton.nodes", "needs at least one node");
        return;
    }
    if (s->nnodes > lim->max_points) {
        problem(v, "skeleton.nodes", "has %zu nodes; at most %zu are allowed", s->nnodes, lim->max_points);
        return;
    }
    for (size_t i = 0; i < s->nnodes; i++) {
        snprintf(f, sizeof f, "skeleton.nodes[%zu]", i);
        check_point(v, (lp_geom_point){s->nodes[i].x, s->nodes[i].y}, f);
    }
}

static void check_mask(vctx *v, const lp_geom_rle *r, const lp_geom_limits *lim)
{
    uint64_t pixels = (uint64_t)r->width * r->height;
    if (pixels > lim->max_pixels) {
        problem(v, "mask", "is %ux%u pixels; at most %llu pixels are allowed", r->width, r->height,
                (unsigned long long)lim->max_pixels);
        return;
    }
    if (r->ncounts == 0)
        return; /* pixels kept elsewhere (raster layer) */
    uint64_t sum = 0;
    for (size_t i = 0; i < r->ncounts && sum <= pixels; i++)
        sum += r->counts[i]; /* stops before it could wrap */
    if (sum != pixels)
        problem(v, "mask.counts", "run lengths must add up to the %llu pixels of a %ux%u mask",
                (unsigned long long)pixels, r->width, r->height);
}

int lp_geom_validate(const lp_geom_shape *s, const lp_geom_limits *lim, lp_error *err)
{
    const char *name = lp_geom_type_name(s->type);
    if (!name)
        return lp_error_field(err, LP_E_INVALID, "type", "is not a known annotation type (%d)", (int)s->type);
    vctx v = {err, name, 0};
    switch (s->type) {
    case LP_GEOM_BOUNDING_BOX:
        check_bbox(&v, &s->u.bbox, "bounding_box");
        break;
    case LP_GEOM_POLYGON:
        check_polygon(&v, &s->u.polygon, lim);
        break;
    case LP_GEOM_LINE:
        check_path(&v, &s->u.line, 2, lim->max_points, "line.path");
        break;
    case LP_GEOM_KEYPOINT:
        check_point(&v, s->u.keypoint, "keypoint");
        break;
    case LP_GEOM_SKELETON:
        check_skeleton(&v, &s->u.skeleton, lim);
        break;
    case LP_GEOM_ELLIPSE: {
        const lp_geom_ellipse *e = &s->u.ellipse;
        check_point(&v, e->center, "ellipse.center");
        check_number(&v, e->angle, "ellipse.angle");
        check_number(&v, e->radius.x, "ellipse.radius.x");
        check_number(&v, e->radius.y, "ellipse.radius.y");
        if (e->radius.x < 0)
            problem(&v, "ellipse.radius.x", "must be at least 0 (got %g)", e->radius.x);
        if (e->radius.y < 0)
            problem(&v, "ellipse.radius.y", "must be at least 0 (got %g)", e->radius.y);
        break;
    }
    case LP_GEOM_ROTATED_BOX: {
        const lp_geom_rbox *r = &s->u.rbox;
        check_bbox(&v, &(lp_geom_bbox){r->x, r->y, r->w, r->h}, "rotated_box");
        check_number(&v, r->angle, "rotated_box.angle");
        if (v.problems == 0)
            check_rbox_corners(&v, r);
        break;
    }
    case LP_GEOM_CUBOID:
        check_bbox(&v, &s->u.cuboid.front, "cuboid.front");
        check_bbox(&v, &s->u.cuboid.back, "cuboid.back");
        break;
    case LP_GEOM_MASK:
        check_mask(&v, &s->u.mask, lim);
        break;
    case LP_GEOM_TAG:
    case LP_GEOM_TEXT:
    case LP_GEOM_TYPE_COUNT:
        break;
    }
    return v.problems ? -1 : 0;
}
