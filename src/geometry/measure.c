/* Bounding boxes, areas, box IoU and point containment. */
#include "loupe/geometry/measure.h"

#include <math.h>

#include "geometry_int.h"
#include "loupe/geometry/rle.h"

typedef struct extent {
    double x0, y0, x1, y1;
    bool any;
} extent;

static void extent_add(extent *e, double x, double y)
{
    if (!e->any) {
        *e = (extent){x, y, x, y, true};
        return;
    }
    e->x0 = fmin(e->x0, x);
    e->y0 = fmin(e->y0, y);
    e->x1 = fmax(e->x1, x);
    e->y1 = fmax(e->y1, y);
}

static void extent_add_bbox(extent *e, const lp_geom_bbox *b)
{
    extent_add(e, b->x, b->y);
    extent_add(e, b->x + b->w, b->y + b->h);
}

static void extent_add_path(extent *e, const lp_geom_path *p)
{
    for (size_t i = 0; i < p->npoints; i++)
        extent_add(e, p->points[i].x, p->points[i].y);
}

static int no_geometry(const lp_geom_shape *s, lp_error *err)
{
    const char *name = lp_geom_type_name(s->type);
    return lp_error_set(err, LP_E_INVALID, "A %s annotation has no geometry to measure.", name ? name : "unknown");
}

/* Mask measures need the pixels; a mask's own limit is its size. */
static uint64_t mask_pixels(const lp_geom_rle *r)
{
    return (uint64_t)r->width * r->height;
}

int lp_geom_shape_bbox(const lp_geom_shape *s, lp_geom_bbox *out, lp_error *err)
{
    extent e = {0, 0, 0, 0, false};
    switch (s->type) {
    case LP_GEOM_BOUNDING_BOX:
        extent_add_bbox(&e, &s->u.bbox);
        break;
    case LP_GEOM_POLYGON:
        for (size_t i = 0; i < s->u.polygon.npaths; i++)
            extent_add_path(&e, &s->u.polygon.paths[i]);
        break;
    case LP_GEOM_LINE:
        extent_add_path(&e, &s->u.line);
        break;
    case LP_GEOM_KEYPOINT:
        extent_add(&e, s->u.keypoint.x, s->u.keypoint.y);
        break;
    case LP_GEOM_SKELETON:
        for (size_t i = 0; i < s->u.skeleton.nnodes; i++)
            extent_add(&e, s->u.skeleton.nodes[i].x, s->u.skeleton.nodes[i].y);
        break;
    case LP_GEOM_ELLIPSE: {
        const lp_geom_ellipse *el = &s->u.ellipse;
        double c = cos(el->angle), sn = sin(el->angle);
        double hx = hypot(el->radius.x * c, el->radius.y * sn);
        double hy = hypot(el->radius.x * sn, el->radius.y * c);
        extent_add(&e, el->center.x - hx, el->center.y - hy);
        extent_add(&e, el->center.x + hx, el->center.y + hy);
        break;
    }
    case LP_GEOM_ROTATED_BOX: {
        /* the extent of the corners: half-sizes |w/2 cos| + |h/2 sin| and |w/2 sin| + |h/2 cos| about the centre */
        const lp_geom_rbox *r = &s->u.rbox;
        double c = fabs(cos(r->angle)), sn = fabs(sin(r->angle));
        double hx = r->w / 2 * c + r->h / 2 * sn, hy = r->w / 2 * sn + r->h / 2 * c;
        double cx = r->x + r->w / 2, cy = r->y + r->h / 2;
        extent_add(&e, cx - hx, cy - hy);
        extent_add(&e, cx + hx, cy + hy);
        break;
    }
    case LP_GEOM_CUBOID:
        extent_add_bbox(&e, &s->u.cuboid.front);
        extent_add_bbox(&e, &s->u.cuboid.back);
        break;
    case LP_GEOM_MASK:
        if (s->u.mask.ncounts == 0)
            return lp_error_set(err, LP_E_INVALID, "The mask has no pixels attached to measure.");
        return lp_geom_rle_bbox(&s->u.mask, mask_pixels(&s->u.mask), out, err);
    default:
        return no_geometry(s, err);
    }
    if (!e.any)
        return lp_error_set(err, LP_E_INVALID, "The %s annotation has no points to measure.",
                            lp_geom_type_name(s->type));
    *out = (lp_geom_bbox){e.x0, e.y0, e.x1 - e.x0, e.y1 - e.y0};
    return 0;
}

double lp_geom_path_signed_area(const lp_geom_path *p)
{
    double sum = 0;
    for (size_t i = 0; i < p->npoints; i++) {
        lp_geom_point a = p->points[i], b = p->points[(i + 1) % p->npoints];
        sum += a.x * b.y - b.x * a.y;
    }
    return sum / 2;
}

/* Crossing-number test against one path; see lp_geom_polygon_contains. */
static bool path_contains(const lp_geom_path *path, lp_geom_point pt)
{
    bool inside = false;
    for (size_t i = 0; i < path->npoints; i++) {
        lp_geom_point a = path->points[i], b = path->points[(i + 1) % path->npoints];
        if ((a.y > pt.y) != (b.y > pt.y) && pt.x < geom_edge_x_at(a, b, pt.y))
            inside = !inside;
    }
    return inside;
}

bool lp_geom_polygon_contains(const lp_geom_polygon *p, lp_geom_point pt)
{
    bool inside = false;
    for (size_t i = 0; i < p->npaths; i++)
        if (path_contains(&p->paths[i], pt))
            inside = !inside;
    return inside;
}

double lp_geom_polygon_area(const lp_geom_polygon *p)
{
    double area = 0;
    for (size_t i = 0; i < p->npaths; i++) {
        const lp_geom_path *path = &p->paths[i];
        if (path->npoints == 0)
            continue;
        size_t depth = 0;
        for (size_t j = 0; j < p->npaths; j++)
            if (j != i && path_contains(&p->paths[j], path->points[0]))
                depth++;
        double a = fabs(lp_geom_path_signed_area(path));
        area += (depth % 2) ? -a : a;
    }
    return area;
}

int lp_geom_shape_area(const lp_geom_shape *s, double *out, lp_error *err)
{
    switch (s->type) {
    case LP_GEOM_BOUNDING_BOX:
        *out = s->u.bbox.w * s->u.bbox.h;
        return 0;
    case LP_GEOM_ROTATED_BOX:
        *out = s->u.rbox.w * s->u.rbox.h;
        return 0;
    case LP_GEOM_POLYGON:
        *out = lp_geom_polygon_area(&s->u.polygon);
        return 0;
    case LP_GEOM_ELLIPSE:
        *out = M_PI * s->u.ellipse.radius.x * s->u.ellipse.radius.y;
        return 0;
    case LP_GEOM_CUBOID: {
        lp_geom_bbox b;
        if (lp_geom_shape_bbox(s, &b, err) < 0)
            return -1;
        *out = b.w * b.h;
        return 0;
    }
    case LP_GEOM_MASK:
        if (s->u.mask.ncounts == 0)
            return lp_error_set(err, LP_E_INVALID, "The mask has no pixels attached to measure.");
        if (lp_geom_rle_check(&s->u.mask, mask_pixels(&s->u.mask), err) < 0)
            return -1;
        *out = (double)lp_geom_rle_area(&s->u.mask);
        return 0;
    case LP_GEOM_LINE:
    case LP_GEOM_KEYPOINT:
    case LP_GEOM_SKELETON:
        *out = 0;
        return 0;
    default:
        return no_geometry(s, err);
    }
}

bool lp_geom_shape_region(const lp_geom_shape *s, lp_geom_quad *q, lp_geom_polygon *out)
{
    if (s->type == LP_GEOM_POLYGON) {
        *out = s->u.polygon;
        return true;
    }
    if (s->type != LP_GEOM_ROTATED_BOX)
        return false;
    lp_geom_rbox_corners(&s->u.rbox, q->points);
    q->path = (lp_geom_path){q->points, 4};
    *out = (lp_geom_polygon){&q->path, 1};
    return true;
}

double lp_geom_bbox_iou(const lp_geom_bbox *a, const lp_geom_bbox *b)
{
    double iw = fmin(a->x + a->w, b->x + b->w) - fmax(a->x, b->x);
    double ih = fmin(a->y + a->h, b->y + b->h) - fmax(a->y, b->y);
    double inter = (iw > 0 && ih > 0) ? iw * ih : 0;
    double uni = a->w * a->h + b->w * b->h - inter;
    return uni > 0 ? inter / uni : 0;
}
