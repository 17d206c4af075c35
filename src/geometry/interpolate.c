/* Interpolation between two shapes of one type; arc-length resampling of
 * paths and the choice of the starting point of a polygon path. */
#include "loupe/geometry/interpolate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


/* Above this many points the best rotation is searched on every
 * stride-th point first, then refined around the winner on all points. */
#define ROTATION_EXACT_POINTS 2048

static double lerp(double a, double b, double t)
{
    return (1 - t) * a + t * b;
}

static lp_geom_point lerp_point(lp_geom_point a, lp_geom_point b, double t)
{
    return (lp_geom_point){lerp(a.x, b.x, t), lerp(a.y, b.y, t)};
}

static lp_geom_bbox lerp_bbox(const lp_geom_bbox *a, const lp_geom_bbox *b, double t)
{
    return (lp_geom_bbox){lerp(a->x, b->x, t), lerp(a->y, b->y, t), lerp(a->w, b->w, t), lerp(a->h, b->h, t)};
}

/* a moved by t of the way to b along the shorter arc (ties turn positive).
 * Any finite angles: when b - a overflows, each is taken modulo a turn first,
 * so the turn stays finite (never remainder(inf) = NaN). */
static double lerp_angle(double a, double b, double t)
{
    double diff = b - a;
    if (!isfinite(diff))
        diff = remainder(b, 2 * M_PI) - remainder(a, 2 * M_PI);
    double d = remainder(diff, 2 * M_PI); /* in [-pi, pi] */
    if (d == -M_PI)
        d = M_PI;
    return a + t * d;
}

static int nomem(lp_error *err)
{
    return lp_error_set(err, LP_E_NOMEM, "Out of memory while interpolating a shape.");
}

int lp_geom_path_resample(const lp_geom_path *p, size_t n, bool closed, lp_arena *ar, lp_geom_path *out,
                          lp_error *err)
{
    size_t m = p->npoints;
    if (m == 0 || n == 0 || (!closed && n < 2))
        return lp_error_set(err, LP_E_INVALID, "Cannot resample a path of %zu points to %zu points.", m, n);
    lp_geom_point *pts = lp_arena_calloc(ar, n, sizeof *pts);
    double *cum = lp_arena_calloc(ar, m + 1, sizeof *cum);
    if (!pts || !cum)
        return nomem(err);
    size_t nseg = closed ? m : m - 1;
    for (size_t j = 0; j < nseg; j++) {
        lp_geom_point a = p->points[j], b = p->points[(j + 1) % m];
        cum[j + 1] = cum[j] + hypot(b.x - a.x, b.y - a.y);
    }
    double total = cum[nseg];
    double step = total / (double)(closed ? n : n - 1);
    size_t j = 0;
    for (size_t k = 0; k < n; k++) {
        if (total == 0 || k == 0) {
            pts[k] = p->points[0];
            continue;
        }
        if (!closed && k == n - 1) {
            pts[k] = p->points[m - 1];
            continue;
        }
        double s = (double)k * step;
        while (j + 1 < nseg && cum[j + 1] <= s)
            j++;
        double len = cum[j + 1] - cum[j];
        lp_geom_point a = p->points[j], b = p->points[(j + 1) % m];
        double f = len > 0 ? (s - cum[j]) / len : 0;
        pts[k] = (lp_geom_point){a.x + f * (b.x - a.x), a.y + f * (b.y - a.y)};
    }
    *out = (lp_geom_path){pts, n};
    return 0;
}

/* Sum of squared distances between a[i] and b[(i + r) % n] over every
 * stride-th i. */
static double rotation_cost(const lp_geom_point *a, const lp_geom_point *b, size_t n, size_t r, size_t stride)
{
    double sum = 0;
    for (size_t i = 0; i < n; i += stride) {
        const lp_geom_point *q = &b[(i + r) % n];
        double dx = a[i].x - q->x, dy = a[i].y - q->y;
        sum += dx * dx + dy * dy;
    }
    return sum;
}

/* The rotation r minimising rotation_cost(a, b, n, r, 1), whose cost goes
 * to *cost; the smallest r on ties. Exhaustive up to ROTATION_EXACT_POINTS
 * points; beyond, a coarse search over every stride-th rotation on every
 * stride-th point, refined over the rotations within one stride of the
 * coarse winner. */
static size_t best_rotation(const lp_geom_point *a, const lp_geom_point *b, size_t n, double *cost)
{
    size_t stride = (n + ROTATION_EXACT_POINTS - 1) / ROTATION_EXACT_POINTS, best = 0;
    double best_cost = INFINITY;
    for (size_t r = 0; r < n; r += stride) {
        double c = rotation_cost(a, b, n, r, stride);
        if (c < best_cost) {
            best_cost = c;
            best = r;
        }
    }
    if (stride > 1) {
        size_t centre = best;
        best_cost = INFINITY;
        for (size_t d = 0; d <= 2 * stride; d++) {
            size_t r = (centre + n - stride + d) % n;
            double c = rotation_cost(a, b, n, r, 1);
            if (c < best_cost || (c == best_cost && r < best)) {
                best_cost = c;
                best = r;
            }
        }
    }
    *cost = best_cost;
    return best;
}

static int lerp_points(const lp_geom_point *a, const lp_geom_point *b, size_t n, size_t rot, double t,
                       lp_arena *ar, lp_geom_path *out, lp_error *err)
{
    lp_geom_point *pts = lp_arena_calloc(ar, n ? n : 1, sizeof *pts);
    if (!pts)
        return nomem(err);
    for (size_t i = 0; i < n; i++)
        pts[i] = lerp_point(a[i], b[(i + rot) % n], t);
    *out = (lp_geom_path){pts, n};
    return 0;
}

/* p walked the other way: a closed path keeps its first point first, an
 * open one starts at its last. out->points is new in ar. 0 or -1. */
static int path_reversed(const lp_geom_path *p, bool closed, lp_arena *ar, lp_geom_path *out, lp_error *err)
{
    size_t n = p->npoints;
    lp_geom_point *pts = lp_arena_calloc(ar, n ? n : 1, sizeof *pts);
    if (!pts)
        return nomem(err);
    for (size_t i = 0; i < n; i++)
        pts[i] = closed ? p->points[(n - i) % n] : p->points[n - 1 - i];
    *out = (lp_geom_path){pts, n};
    return 0;
}

/* a and b have n points each (resampled when their counts differed). The
 * pairing of b's points with a's of least total squared distance: b's own
 * direction or the other one, and for a closed path every rotation of the
 * starting point. Ties keep b's direction, then the smaller rotation, so
 * shapes edited point by point keep the annotator's correspondence. */
static int pair_and_lerp(const lp_geom_path *a, const lp_geom_path *b, bool closed, double t, lp_arena *ar,
                         lp_geom_path *out, lp_error *err)
{
    size_t n = a->npoints;
    lp_geom_path rb;
    if (path_reversed(b, closed, ar, &rb, err) < 0)
        return -1;
    double cost_f, cost_r;
    size_t rot_f = 0, rot_r = 0;
    if (closed) {
        rot_f = best_rotation(a->points, b->points, n, &cost_f);
        rot_r = best_rotation(a->points, rb.points, n, &cost_r);
    } else {
        cost_f = rotation_cost(a->points, b->points, n, 0, 1);
        cost_r = rotation_cost(a->points, rb.points, n, 0, 1);
    }
    if (cost_r < cost_f)
        return lerp_points(a->points, rb.points, n, rot_r, t, ar, out, err);
    return lerp_points(a->points, b->points, n, rot_f, t, ar, out, err);
}

static int interpolate_path(const lp_geom_path *a, const lp_geom_path *b, bool closed, double t, lp_arena *ar,
                            lp_geom_path *out, lp_error *err)
{
    if (a->npoints == b->npoints)
        return pair_and_lerp(a, b, closed, t, ar, out, err);
    size_t n = a->npoints > b->npoints ? a->npoints : b->npoints;
    lp_geom_path ra, rb;
    if (lp_geom_path_resample(a, n, closed, ar, &ra, err) < 0 || lp_geom_path_resample(b, n, closed, ar, &rb, err) < 0)
        return -1;
    return pair_and_lerp(&ra, &rb, closed, t, ar, out, err);
}

static int interpolate_polygon(const lp_geom_polygon *a, const lp_geom_polygon *b, double t, lp_arena *ar,
                               lp_geom_polygon *out, lp_error *err)
{
    lp_geom_path *paths = lp_arena_calloc(ar, a->npaths ? a->npaths : 1, sizeof *paths);
    if (!paths)
        return nomem(err);
    for (size_t i = 0; i < a->npaths; i++) {
        if (i < b->npaths) {
            if (interpolate_path(&a->paths[i], &b->paths[i], true, t, ar, &paths[i], err) < 0)
                return -1;
        } else {
            /* no partner in b: held until b's keyframe */
            paths[i].npoints = a->paths[i].npoints;
            paths[i].points = lp_arena_memdup(ar, a->paths[i].points, a->paths[i].npoints * sizeof(lp_geom_point));
            if (!paths[i].points && a->paths[i].npoints)
                return nomem(err);
        }
    }
    *out = (lp_geom_polygon){paths, a->npaths};
    return 0;
}

/* ---- skeletons: nodes matched by name, else by index ---- */

typedef struct named_node {
    const char *name;
    size_t index;
} named_node;

static int cmp_named(const void *x, const void *y)
{
    return strcmp(((const named_node *)x)->name, ((const named_node *)y)->name);
}

static const lp_geom_skeleton_node *partner(const lp_geom_skeleton *b, const named_node *sorted, size_t nsorted,
                                            const lp_geom_skeleton_node *node, size_t i)
{
    if (node->name) {
        named_node key = {node->name, 0};
        const named_node *hit = bsearch(&key, sorted, nsorted, sizeof *sorted, cmp_named);
        if (hit)
            return &b->nodes[hit->index];
    }
    if (i < b->nnodes && (!node->name || !b->nodes[i].name))
        return &b->nodes[i];
    return NULL;
}

static int interpolate_skeleton(const lp_geom_skeleton *a, const lp_geom_skeleton *b, double t, lp_arena *ar,
                                lp_geom_skeleton *out, lp_error *err)
{
    lp_geom_skeleton_node *nodes = lp_arena_calloc(ar, a->nnodes ? a->nnodes : 1, sizeof *nodes);
    named_node *sorted = lp_arena_calloc(ar, b->nnodes ? b->nnodes : 1, sizeof *sorted);
    if (!nodes || !sorted)
        return nomem(err);
    size_t nsorted = 0;
    for (size_t i = 0; i < b->nnodes; i++)
        if (b->nodes[i].name)
            sorted[nsorted++] = (named_node){b->nodes[i].name, i};
    qsort(sorted, nsorted, sizeof *sorted, cmp_named);
    for (size_t i = 0; i < a->nnodes; i++) {
        const lp_geom_skeleton_node *na = &a->nodes[i], *nb = partner(b, sorted, nsorted, na, i);
        nodes[i] = *na;
        if (na->name && !(nodes[i].name = lp_arena_strdup(ar, na->name)))
            return nomem(err);
        if (nb) {
            nodes[i].x = lerp(na->x, nb->x, t);
            nodes[i].y = lerp(na->y, nb->y, t);
        }
    }
    *out = (lp_geom_skeleton){nodes, a->nnodes};
    return 0;
}

int lp_geom_interpolate(const lp_geom_shape *a, const lp_geom_shape *b, double t, lp_arena *ar,
                        lp_geom_shape *out, lp_error *err)
{
    if (a->type != b->type) {
        const char *na = lp_geom_type_name(a->type), *nb = lp_geom_type_name(b->type);
        return lp_error_set(err, LP_E_INVALID, "Cannot interpolate between a %s and a %s.", na ? na : "?",
                            nb ? nb : "?");
    }
    if (!isfinite(t))
        return lp_error_set(err, LP_E_INVALID, "The interpolation position must be a finite number.");
    memset(out, 0, sizeof *out);
    out->type = a->type;
    switch (a->type) {
    case LP_GEOM_BOUNDING_BOX:
        out->u.bbox = lerp_bbox(&a->u.bbox, &b->u.bbox, t);
        return 0;
    case LP_GEOM_KEYPOINT:
        out->u.keypoint = lerp_point(a->u.keypoint, b->u.keypoint, t);
        return 0;
    case LP_GEOM_ELLIPSE: {
        const lp_geom_ellipse *ea = &a->u.ellipse, *eb = &b->u.ellipse;
        out->u.ellipse = (lp_geom_ellipse){lerp_point(ea->center, eb->center, t),
                                           lerp_point(ea->radius, eb->radius, t),
                                           lerp_angle(ea->angle, eb->angle, t)};
        return 0;
    }
    case LP_GEOM_ROTATED_BOX: {
        /* corner and size lerp, so the centre lerps too; the angle by the shorter arc */
        const lp_geom_rbox *ra = &a->u.rbox, *rb = &b->u.rbox;
        lp_geom_bbox box = lerp_bbox(&(lp_geom_bbox){ra->x, ra->y, ra->w, ra->h},
                                     &(lp_geom_bbox){rb->x, rb->y, rb->w, rb->h}, t);
        out->u.rbox = (lp_geom_rbox){box.x, box.y, box.w, box.h, lerp_angle(ra->angle, rb->angle, t)};
        return 0;
    }
    case LP_GEOM_CUBOID:
        out->u.cuboid.front = lerp_bbox(&a->u.cuboid.front, &b->u.cuboid.front, t);
        out->u.cuboid.back = lerp_bbox(&a->u.cuboid.back, &b->u.cuboid.back, t);
        return 0;
    case LP_GEOM_LINE:
        if (a->u.line.npoints < 2 || b->u.line.npoints < 2)
            return lp_error_set(err, LP_E_INVALID, "Cannot interpolate a line of fewer than 2 points.");
        return interpolate_path(&a->u.line, &b->u.line, false, t, ar, &out->u.line, err);
    case LP_GEOM_POLYGON:
        for (size_t i = 0; i < a->u.polygon.npaths && i < b->u.polygon.npaths; i++)
            if (a->u.polygon.paths[i].npoints == 0 || b->u.polygon.paths[i].npoints == 0)
                return lp_error_set(err, LP_E_INVALID, "Cannot interpolate a polygon with an empty path.");
        return interpolate_polygon(&a->u.polygon, &b->u.polygon, t, ar, &out->u.polygon, err);
    case LP_GEOM_SKELETON:
        return interpolate_skeleton(&a->u.skeleton, &b->u.skeleton, t, ar, &out->u.skeleton, err);
    case LP_GEOM_MASK:
        if (a->u.mask.ncounts == 0 || b->u.mask.ncounts == 0 || a->u.mask.width != b->u.mask.width ||
            a->u.mask.height != b->u.mask.height)
            return lp_geom_shape_copy(ar, out, a, err); /* pixels elsewhere, or sizes differ: held */
        return lp_geom_mask_interpolate(&a->u.mask, &b->u.mask, t, ar, &out->u.mask, err);
    default: /* tag, text: held */
        return lp_geom_shape_copy(ar, out, a, err);
    }
}
