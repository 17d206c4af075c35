/* From a detector's output tensors to boxes on the source image
 * (docs/MODELS.md "Output decoders"). Pure.
 *
 * The boxes_scores_classes decoder reads boxes [N×4] in the model's
 * box_format, scores [N] and class indexes [N] (floats, as models give
 * them), keeps those at or over the score threshold, suppresses overlaps
 * per class (greedy NMS at nms_iou), keeps the best max_detections, and maps
 * each box back to source pixels through the fit, clipped to the image. */
#ifndef LOUPE_MODELS_DETECT_H
#define LOUPE_MODELS_DETECT_H

#include <stddef.h>

#include "loupe/core/error.h"
#include "loupe/geometry/shape.h"
#include "loupe/models/spec.h"
#include "loupe/models/tensor.h"

/* One thing a model found. Every decoder fills the box (the extent of what
 * it found; a classification's is the whole image) and, for shapes other than
 * a box, shape: a polygon (masks, text_polygons), a skeleton (keypoints) or
 * a tag (logits), its arrays in the decoder's arena. */
typedef struct lp_model_det {
    double x, y, w, h;   /* pixels of the image the coordinates are in */
    float score;
    int label;           /* index into the model's labels */
    lp_geom_shape shape; /* type LP_GEOM_BOUNDING_BOX (0): the box above is the shape */
    size_t index;        /* the candidate (row of the outputs) it was decoded from */
    const float *probs;  /* per-class probabilities in labels order, nprobs of them; NULL when the model gives
                          * one score per detection (borrowed: from the output tensor, or the caller's copy) */
    size_t nprobs;
} lp_model_det;

/* One box of a box_format as xyxy in tensor pixels (w × h the tensor's size). */
void lp_model_box_to_xyxy(lp_model_box_format f, const float b[4], int w, int h, double out[4]);

/* Greedy non-maximum suppression in place: dets sorted by score (highest
 * first, ties by index), a box dropped when its IoU with a kept box of the
 * same label is over iou; at most max kept. Returns how many are kept
 * (the first ones of dets). */
size_t lp_model_nms(lp_model_det *dets, size_t n, double iou, size_t max);

/* Decodes boxes_scores_classes outputs of n candidates into out (n
 * entries, caller-owned) with spec's thresholds and fit. classes may be
 * NULL (every box label 0). A class index outside labels is LP_E_INVALID.
 * Returns the number of detections, or -1 with err set. */
long lp_model_decode_bsc(const lp_model_spec *spec, const lp_model_fit *fit, const float *boxes, const float *scores,
                         const float *classes, size_t n, lp_model_det *out, lp_error *err);

/* lp_model_decode_bsc for a model that gives a score per label: probs
 * holds n rows of one value per label (labels order); a candidate's label
 * is its highest value (the first of equals), its score that value, and
 * its detection's probs its row (borrowed from probs). LP_E_INVALID with
 * fewer than two labels. */
long lp_model_decode_bsc_probs(const lp_model_spec *spec, const lp_model_fit *fit, const float *boxes,
                               const float *probs, size_t n, lp_model_det *out, lp_error *err);

/* Anchors of an ssd_anchors decoder: Σ over strides of (width/stride) ×
 * (height/stride) cells × anchors_per_cell (cell sides rounded up). */
size_t lp_model_ssd_anchor_count(const lp_model_spec *spec);

/* Decodes ssd_anchors outputs into out (n entries, caller-owned): n
 * anchors, boxes of box_len (≥ 4) values per anchor, the first four the box
 * (centre offset x, y and size w, h, in pixels of a box_scale side — 0: the
 * input width — relative to the anchor's cell centre), one score per anchor
 * (a logit when score_sigmoid). Anchors run stride by stride, cells row by
 * row, anchors_per_cell per cell. Every detection has label 0. Thresholds,
 * NMS and the fit as lp_model_decode_bsc. LP_E_INVALID when n is not the
 * decoder's anchor count. Returns the number of detections, or -1. */
long lp_model_decode_ssd(const lp_model_spec *spec, const lp_model_fit *fit, const float *boxes, size_t box_len,
                         const float *scores, size_t n, lp_model_det *out, lp_error *err);

/* Scales a detection (box and shape) by sx, sy: from the pixels of the
 * image the model ran on to those of the slot. */
void lp_model_det_scale(lp_model_det *d, double sx, double sy);

/* The Loupe class id the model's label i maps to through class_map
 * (borrowed), or NULL when it maps to none. */
const char *lp_model_class_of(const lp_model_spec *spec, int label);

#endif
