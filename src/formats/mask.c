/* Masks out: one 8-bit palette PNG per image.
 *   semantic  masks/<path>/<stem>.png: each pixel the class index + 1 of the
 *             last shape covering it (0: background), the palette the
 *             classes' colours; class_mapping.csv lists index, class, colour;
 *   instance  instances/<path>/<stem>.png: each pixel the number (1..255) of
 *             the last shape covering it in that image; instances.csv maps
 *             image, number, class and annotation id.
 * Shapes are drawn in the item's order: a pixel belongs to a polygon (an
 * ellipse as a 64-point polygon, a rotated box as its 4 corners) or a box
 * when its centre lies inside
 * (src/geometry/raster.c); a mask takes its pixels from the raster layer.
 * The PNG is written row by row (loupe/formats/png.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_int.h"
#include "loupe/geometry/measure.h"
#include "loupe/formats/png.h"
#include "loupe/geometry/raster.h"

typedef struct mask {
    bool instance;
    FILE *table;       /* instance: rows of instances.csv */
    lp_buf row;
} mask;

static const char *const VARIANTS[] = {"semantic", "instance", NULL};

static int mask_begin(lp_fmt_writer *w, lp_error *err)
{
    mask *m = calloc(1, sizeof *m);
    if (!m)
        return lp_error_set(err, LP_E_NOMEM, "out of memory starting a mask export");
    w->state = m;
    lp_buf_init(&m->row, 4096);
    m->instance = strcmp(w->opt.variant, "instance") == 0;
    if (!m->instance && w->classes->n > 255)
        return lp_error_field(err, LP_E_INVALID, "format",
                              "semantic masks hold at most 255 classes; the team has %zu (use COCO or instance masks)",
                              w->classes->n);
    if (m->instance && !(m->table = tmpfile()))
        return lp_error_set(err, LP_E_IO, "could not create the spool file of a mask export: %s", strerror(errno));
    return 0;
}

/* ---- PNG --------------------------------------------------------------------------- */

/* Writes labels (width x height) as a palette PNG with npal entries of pal, draining the
 * file's buffer row by row. */
static int png_write(lp_fmt_writer *w, const uint8_t *labels, uint32_t width, uint32_t height,
                     const unsigned char pal[768], int npal, lp_error *err)
{
    lp_png *png = lp_png_begin(&w->buf, width, height, LP_PNG_PALETTE, pal, npal, 6, err);
    int rc = png ? 0 : -1;
    for (uint32_t y = 0; y < height && rc == 0; y++)
        rc = lp_png_row(png, labels + (size_t)y * width, err) || fmt_flush(w, false, err) ? -1 : 0;
    if (rc == 0)
        rc = lp_png_end(png, err) || fmt_flush(w, false, err) ? -1 : 0;
    lp_png_free(png);
    return rc;
}

/* ---- drawing --------------------------------------------------------------------------- */

/* Pixels whose centre lies in [x, x + w) x [y, y + h). */
static void fill_box(uint8_t *lab, uint32_t W, uint32_t H, const lp_geom_bbox *b, uint8_t v)
{
    double fx0 = ceil(b->x - 0.5), fx1 = ceil(b->x + b->w - 0.5), fy0 = ceil(b->y - 0.5), fy1 = ceil(b->y + b->h - 0.5);
    long x0 = fx0 < 0 ? 0 : (long)fx0, y0 = fy0 < 0 ? 0 : (long)fy0;
    long x1 = fx1 > W ? (long)W : (long)fx1, y1 = fy1 > H ? (long)H : (long)fy1;
    for (long y = y0; y < y1; y++)
        if (x1 > x0)
            memset(lab + (size_t)y * W + x0, v, (size_t)(x1 - x0));
}

int fmt_draw(const lp_fmt_ann *ann, const fmt_raster *r, uint8_t *lab, uint32_t W, uint32_t H, uint8_t v,
             lp_arena *a, lp_error *err)
{
    const lp_ann_geom *g = &ann->geom;
    uint64_t px = (uint64_t)W * H;
    lp_geom_polygon poly;
    lp_geom_bbox box;
    switch (g->type) {
    case LP_GEOM_BOUNDING_BOX:
        fill_box(lab, W, H, &g->shape.u.bbox, v);
        return 0;
    case LP_GEOM_CUBOID:
        if (lp_geom_shape_bbox(&g->shape, &box, err) != 0)
            return -1;
        fill_box(lab, W, H, &box, v);
        return 0;
    case LP_GEOM_ROTATED_BOX:
        if (fmt_rbox_polygon(&g->shape.u.rbox, a, &poly, err) != 0)
            return -1;
        return lp_geom_polygon_rasterize(&poly, W, H, px, v, lab, (size_t)px, err);
    case LP_GEOM_ELLIPSE:
        if (fmt_ellipse_polygon(&g->shape.u.ellipse, a, &poly, err) != 0)
            return -1;
        return lp_geom_polygon_rasterize(&poly, W, H, px, v, lab, (size_t)px, err);
    case LP_GEOM_POLYGON:
        return lp_geom_polygon_rasterize(&g->shape.u.polygon, W, H, px, v, lab, (size_t)px, err);
    case LP_GEOM_MASK: {
        uint8_t l = fmt_raster_label(r, ann->row.id);
        if (!l || r->width != W || r->height != H)
            return 1;
        for (size_t i = 0; i < (size_t)px; i++)
            if (r->labels[i] == l)
                lab[i] = v;
        return 0;
    }
    default:
        return 1;
    }
}

/* Palette entry k (1..255) of an instance: distinct, bright colours. */
static void instance_color(unsigned k, unsigned char rgb[3])
{
    unsigned h = (k * 137u) % 360u;
    double s = 0.75, l = 0.55, c = (1 - fabs(2 * l - 1)) * s, x = c * (1 - fabs(fmod(h / 60.0, 2) - 1)), m = l - c / 2;
    double rr = 0, gg = 0, bb = 0;
    if (h < 60)
        rr = c, gg = x;
    else if (h < 120)
        rr = x, gg = c;
    else if (h < 180)
        gg = c, bb = x;
    else if (h < 240)
        gg = x, bb = c;
    else if (h < 300)
        rr = x, bb = c;
    else
        rr = c, bb = x;
    rgb[0] = (unsigned char)lround((rr + m) * 255);
    rgb[1] = (unsigned char)lround((gg + m) * 255);
    rgb[2] = (unsigned char)lround((bb + m) * 255);
}

static int mask_item(lp_fmt_writer *w, const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a, lp_error *err)
{
    mask *m = w->state;
    if (!fmt_image_sized(it) || (uint64_t)it->width * (uint64_t)it->height > SIZE_MAX)
        return fmt_skip_item(w, b);
    uint32_t W = (uint32_t)it->width, H = (uint32_t)it->height;
    fmt_raster r;
    uint8_t *lab = lp_arena_calloc(a, (size_t)W * H, 1);
    char *name = fmt_file_name(a, m->instance ? "instances" : "masks", it, ".png");
    char *image = fmt_file_name(a, NULL, it, NULL);
    unsigned char pal[768];
    int npal = 1;
    if (!lab || !name || !image)
        return lp_error_set(err, LP_E_NOMEM, "out of memory drawing the mask of item %s (%ux%u)", it->id, W, H);
    if (fmt_raster_load(it, b, a, &r, err) != 0)
        return -1;
    memset(pal, 0, sizeof pal);
    for (size_t i = 0; i < b->n; i++) {
        const lp_fmt_ann *ann = &b->v[i];
        if (ann->row.type == LP_ANN_RASTER_LAYER)
            continue;
        uint8_t v = 0;
        if (ann->cls && !ann->row.video)
            v = m->instance ? (npal <= 255 ? (uint8_t)npal : 0) : (uint8_t)(ann->cls->index + 1);
        int rc = v ? fmt_draw(ann, &r, lab, W, H, v, a, err) : 1;
        if (rc < 0)
            return -1;
        if (rc > 0) {
            FMT_DROPPED(w, ann->row.type);
            continue;
        }
        if (ann->geom.type == LP_GEOM_POLYGON || ann->geom.type == LP_GEOM_MASK)
            FMT_WRITTEN(w, ann->geom.type);
        else
            FMT_CONVERTED(w, ann->geom.type);
        if (m->instance) {
            instance_color((unsigned)npal, pal + 3 * npal);
            lp_buf_reset(&m->row);
            if (fmt_csv(&m->row, image) || lp_buf_printf(&m->row, ",%d,", npal) || fmt_csv(&m->row, ann->cls->name) ||
                lp_buf_printf(&m->row, ",%s\n", ann->row.id))
                return lp_error_set(err, LP_E_NOMEM, "out of memory writing instances.csv");
            if (fmt_spool(m->table, m->row.data, m->row.len, err) != 0)
                return -1;
            npal++;
        }
    }
    if (!m->instance) {
        npal = (int)w->classes->n + 1;
        for (size_t i = 0; i < w->classes->n; i++) {
            unsigned rgb[3];
            fmt_color_rgb(w->classes->v[i].color, rgb);
            for (int k = 0; k < 3; k++)
                pal[3 * (w->classes->v[i].index + 1) + k] = (unsigned char)rgb[k];
        }
    }
    if (fmt_open(w, name, false, err) != 0 || png_write(w, lab, W, H, pal, npal, err) != 0)
        return -1;
    w->stats.items++;
    return 0;
}

int fmt_class_mapping(lp_fmt_writer *w, lp_error *err)
{
    lp_buf *b = &w->buf;
    if (fmt_open(w, "class_mapping.csv", true, err) != 0 || lp_buf_puts(b, "index,class,color\n0,background,#000000\n"))
        return err->code != LP_OK ? -1 : fmt_nomem(w, err);
    for (uint32_t i = 0; i < w->classes->n; i++) {
        const lp_fmt_class *c = lp_fmt_class_at(w->classes, i);
        unsigned rgb[3];
        fmt_color_rgb(c->color, rgb);
        if (lp_buf_printf(b, "%u,", i + 1) || fmt_csv(b, c->name) ||
            lp_buf_printf(b, ",#%02x%02x%02x\n", rgb[0], rgb[1], rgb[2]))
            return fmt_nomem(w, err);
    }
    return 0;
}

static int mask_end(lp_fmt_writer *w, lp_error *err)
{
    mask *m = w->state;
    lp_buf *b = &w->buf;
    if (fmt_class_mapping(w, err) != 0)
        return -1;
    if (!m->instance)
        return 0;
    if (fmt_open(w, "instances.csv", true, err) != 0 || lp_buf_puts(b, "image,instance,class,annotation_id\n"))
        return err->code != LP_OK ? -1 : fmt_nomem(w, err);
    return fmt_spool_copy(w, m->table, err);
}

static void mask_free(lp_fmt_writer *w)
{
    mask *m = w->state;
    if (!m)
        return;
    if (m->table)
        fclose(m->table);
    lp_buf_free(&m->row);
    free(m);
}

const lp_fmt_ops lp_fmt_mask_ops = {"mask", VARIANTS, mask_begin, mask_item, mask_end, mask_free, true};
