/* Consensus agreement: how far N annotators who annotated the same item
 * independently agree, per class (docs/WORKFLOWS.md, "consensus"). Pure.
 *
 * For each class and each pair of annotators, their shapes of that class
 * are matched one to one, greedily by decreasing IoU, counting only pairs
 * with IoU >= iou_threshold (boxes by box IoU, polygons and rotated boxes
 * by exact polygon IoU (lp_geom_shape_region), every other geometric type by the IoU of its bounding box — two boxes
 * without area, as of keypoints, match only when equal; a tag matches a tag,
 * a text the same text; shapes on different slots never match; a video
 * annotation is compared by its first keyframe; raster layers are left out,
 * their masks count). The pair's score for the class is
 * 2 * matches / (shapes of one + shapes of the other) — 1 when neither drew
 * the class. A class's score is the mean over all pairs; the item's is the
 * lowest class score (1 when nobody annotated anything). An annotator's
 * agreement is the mean, over the other annotators and over the classes, of
 * the pair scores they take part in; the best annotator has the highest
 * (ties: the first in input order). */
#ifndef LOUPE_WORKFLOW_CONSENSUS_H
#define LOUPE_WORKFLOW_CONSENSUS_H

#include <stdbool.h>
#include <stddef.h>

#include "loupe/annotation/annotation.h"
#include "loupe/core/arena.h"
#include "loupe/core/error.h"

/* One annotator's work (borrowed). */
typedef struct lp_wf_work {
    const char *user_id;
    const lp_ann *anns;
    size_t nanns;
} lp_wf_work;

typedef struct lp_wf_class_score {
    const char *class_id;         /* borrowed from the input */
    double score;
} lp_wf_class_score;

typedef struct lp_wf_agreement {
    double score;                 /* the item's agreement, 0..1 */
    bool agree;                   /* score >= agreement_threshold */
    double *per_annotator;        /* arena: n entries, 0..1 */
    size_t best;                  /* index of the best annotator */
    lp_wf_class_score *classes;   /* arena: every class anyone drew, in first-seen order */
    size_t nclasses;
} lp_wf_agreement;

/* Computes the agreement of n >= 2 annotators' work. max_crossings bounds
 * each polygon overlap (lp_geom_polygon_overlap). 0, or -1 with err
 * (LP_E_INVALID for n < 2, LP_E_TOO_LARGE, LP_E_NOMEM). */
int lp_wf_consensus(const lp_wf_work *work, size_t n, double iou_threshold, double agreement_threshold,
                    size_t max_crossings, lp_arena *a, lp_wf_agreement *out, lp_error *err);

#endif
