/* Hard-example mining: how far a model's predictions on an item disagree
 * with the item's human annotations (docs/MODELS.md, "Disagreement").
 *
 * Shapes match one to one within a class and slot, greedily by decreasing
 * IoU (ties: the earlier human shape, then the earlier prediction), counting
 * only pairs at IoU >= iou_threshold: boxes and every other geometric type
 * by the IoU of their bounding boxes (two boxes without area, as of
 * keypoints, match only when equal), two polygons or rotated boxes by
 * their exact polygon IoU (lp_geom_shape_region). A human shape left unmatched is missed, a prediction left unmatched
 * is extra. Per class and over the item:
 *   F1 = 2·matched / (2·matched + missed + extra)   (1 when there is nothing)
 *   disagreement = 1 − F1 over the item (matched, missed and extra summed
 *   over its classes).
 * Pure: no database, no I/O. */
#ifndef LOUPE_MODELS_DISAGREE_H
#define LOUPE_MODELS_DISAGREE_H

#include <stddef.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/geometry/shape.h"

/* One shape of either side (borrowed). */
typedef struct lp_dis_shape {
    const char *id;               /* the annotation's or the prediction's id */
    const char *class_id;
    const char *slot;
    const lp_geom_shape *shape;   /* a shape without extent (tag, text, mask without counts) is not compared */
} lp_dis_shape;

typedef struct lp_dis_class {
    const char *class_id;         /* borrowed */
    size_t matched, missed, extra;
    double f1;
} lp_dis_class;

typedef struct lp_dis_match {
    size_t human, predicted;      /* indices into the inputs */
    double iou;
} lp_dis_match;

typedef struct lp_disagreement {
    double value;                 /* 1 − f1 */
    double f1;
    size_t matched, missed, extra;
    lp_dis_class *classes;        /* every class of either side, by class id (arena) */
    size_t nclasses;
    lp_dis_match *matches;        /* in the order they were made (arena) */
    size_t nmatches;
    size_t *missed_idx;           /* human shapes left unmatched, in input order (arena) */
    size_t *extra_idx;            /* predictions left unmatched, in input order (arena) */
} lp_disagreement;

/* The disagreement of predicted[0..np) with human[0..nh) at iou_threshold
 * (in (0, 1]; 0.5 in the API). Shapes that are not compared count neither
 * way. 0, or -1 with err (LP_E_NOMEM; LP_E_TOO_LARGE from a polygon IoU
 * past max_crossings, see lp_geom_polygon_iou). */
int lp_disagreement_compute(const lp_dis_shape *human, size_t nh, const lp_dis_shape *predicted, size_t np,
                            double iou_threshold, size_t max_crossings, lp_arena *a, lp_disagreement *out,
                            lp_error *err);

#endif
