/* The masks decoder: instance masks to polygons. See loupe/models/shapes.h. */
#include <math.h>
#include <stdlib.h>

#include "contour_int.h"
#include "loupe/models/shapes.h"

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-fmin(fmax(x, -100.0), 100.0)));
}

/* The value of cell (i, j) of candidate k's mask. */
static double mask_value(const lp_model_output *spec, const lp_model_mask_outputs *o, size_t k, size_t i, size_t j)
{
    size_t plane = o->mask_w * o->mask_h, at = j * o->mask_w + i;
    double v = 0;
    if (spec->mask_layout == LP_MASK_PROTOTYPES)
        for (size_t c = 0; c < o->nprotos; c++)
            v += (double)o->masks[k * o->nprotos + c] * o->prototypes[c * plane + at];
    else
        v = o->masks[k * plane + at];
    return spec->mask_sigmoid ? sigmoid(v) : v;
}

static int check_sizes(const lp_model_output *spec, const lp_model_mask_outputs *o, lp_error *err)
{
    size_t plane = o->mask_w * o->mask_h;
    if (plane == 0)
        return lp_error_set(err, LP_E_INVALID, "the model's masks are empty");
    if (spec->mask_layout == LP_MASK_PROTOTYPES ? o->nprotos == 0 || o->masks_count != o->n * o->nprotos || !o->prototypes
                                                : o->masks_count != o->n * plane)
        return lp_error_set(err, LP_E_INVALID,
                            "the model gives %zu mask values for %zu candidates (masks of %zu × %zu%s)",
                            o->masks_count, o->n, o->mask_w, o->mask_h,
                            spec->mask_layout == LP_MASK_PROTOTYPES ? ", one coefficient per prototype" : "");
    return 0;
}

/* Candidate d's mask as a polygon on the source image; its npaths is 0 when the mask is empty. */
static int mask_polygon(const lp_model_spec *spec, const lp_model_fit *fit, const lp_model_mask_outputs *o,
                        const lp_model_det *d, uint8_t *bits, lp_arena *a, lp_geom_polygon *poly, lp_error *err)
{
    const lp_model_output *out = &spec->output;
    double box[4], x0 = 0, y0 = 0, cw = (double)fit->dst_w / (double)o->mask_w,
                   ch = (double)fit->dst_h / (double)o->mask_h;
    lp_model_box_to_xyxy(out->box_format, o->boxes + 4 * d->index, fit->dst_w, fit->dst_h, box);
    if (out->mask_layout == LP_MASK_BOX) {
        x0 = box[0];
        y0 = box[1];
        cw = (box[2] - box[0]) / (double)o->mask_w;
        ch = (box[3] - box[1]) / (double)o->mask_h;
    }
    for (size_t j = 0; j < o->mask_h; j++) {
        for (size_t i = 0; i < o->mask_w; i++) {
            double cx = x0 + ((double)i + 0.5) * cw, cy = y0 + ((double)j + 0.5) * ch;
            int in_box = out->mask_layout != LP_MASK_PROTOTYPES ||
                         (cx >= box[0] && cx <= box[2] && cy >= box[1] && cy <= box[3]);
            bits[j * o->mask_w + i] = in_box && lp_model_grid_on_image(fit, x0, y0, cw, ch, i, j) &&
                                      mask_value(out, o, d->index, i, j) >= out->mask_threshold;
        }
    }
    if (lp_model_contours(bits, o->mask_w, o->mask_h, a, poly, err) != 0)
        return -1;
    for (size_t p = 0; p < poly->npaths; p++)
        for (size_t k = 0; k < poly->paths[p].npoints; k++)
            lp_model_grid_unmap(fit, x0, y0, cw, ch, &poly->paths[p].points[k]);
    return 0;
}

long lp_model_decode_masks(const lp_model_spec *spec, const lp_model_fit *fit, const lp_model_mask_outputs *o,
                           lp_arena *a, lp_model_det **out, lp_error *err)
{
    lp_model_det *dets;
    uint8_t *bits = NULL;
    long k, kept = 0;

    *out = NULL;
    if (check_sizes(&spec->output, o, err) != 0)
        return -1;
    if (!(dets = lp_arena_calloc(a, o->n ? o->n : 1, sizeof *dets)) ||
        !(bits = malloc(o->mask_w * o->mask_h)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory decoding the model's masks");
    if ((k = lp_model_decode_bsc(spec, fit, o->boxes, o->scores, o->classes, o->n, dets, err)) < 0)
        goto fail;
    for (long i = 0; i < k; i++) {
        lp_geom_polygon poly;
        if (mask_polygon(spec, fit, o, &dets[i], bits, a, &poly, err) != 0)
            goto fail;
        if (poly.npaths == 0)
            continue;
        dets[kept] = dets[i];
        dets[kept].shape.type = LP_GEOM_POLYGON;
        dets[kept++].shape.u.polygon = poly;
    }
    free(bits);
    *out = dets;
    return kept;
fail:
    free(bits);
    return -1;
}
