/* The decoders whose results are shapes other than boxes (docs/MODELS.md
 * "Output decoders"): masks (task segment) and text_polygons (task
 * text_detect) give polygons, keypoints a skeleton, logits (task classify)
 * tags. Pure.
 *
 * Every geometry is mapped back through the fit like a detector's boxes
 * (x = (X − dx)/sx) and clipped to the image. Each decoder allocates its
 * detections and their arrays in the arena a: *out holds the returned number
 * of them, best score first. -1 with err set (LP_E_INVALID naming what does
 * not fit) when the outputs do not match the spec. */
#ifndef LOUPE_MODELS_SHAPES_H
#define LOUPE_MODELS_SHAPES_H

#include <stddef.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/models/detect.h"
#include "loupe/models/spec.h"
#include "loupe/models/tensor.h"

/* The outputs of a masks decoder (borrowed). */
typedef struct lp_model_mask_outputs {
    const float *boxes, *scores, *classes; /* n candidates as boxes_scores_classes reads them; classes may be NULL */
    size_t n;
    const float *masks;      /* image and box layouts: n × mask_h × mask_w values; prototypes: n × nprotos coefficients */
    size_t masks_count;      /* values in masks */
    const float *prototypes; /* prototypes layout: nprotos × mask_h × mask_w */
    size_t nprotos;
    size_t mask_w, mask_h;   /* the masks' (or prototypes') grid */
} lp_model_mask_outputs;

/* masks: candidates kept as boxes_scores_classes keeps them (threshold,
 * NMS, max_detections); each one's mask is thresholded (mask_threshold,
 * after a sigmoid when mask_sigmoid) on its grid — covering the input tensor
 * (image, prototypes: Σ coefficient × prototype, cut to the candidate's box)
 * or the candidate's box (box) — and becomes a polygon along the edges of its
 * grid cells (holes and separate parts as more paths, even-odd rule), cells
 * in the letterbox bars left out. A candidate whose mask is empty is dropped. */
long lp_model_decode_masks(const lp_model_spec *spec, const lp_model_fit *fit, const lp_model_mask_outputs *o,
                           lp_arena *a, lp_model_det **out, lp_error *err);

/* keypoints: candidates as boxes_scores_classes without classes (label 0);
 * each one's keypoints_count points are (x, y) or (x, y, score) in the
 * box_format's units (pixels of the input tensor for xyxy, else 0–1), npoints
 * values for all n candidates; a point scored under keypoint_threshold is
 * occluded. The shape is a skeleton of unnamed nodes (see
 * lp_model_keypoints_name). */
long lp_model_decode_keypoints(const lp_model_spec *spec, const lp_model_fit *fit, const float *boxes,
                               const float *scores, size_t n, const float *points, size_t npoints, lp_arena *a,
                               lp_model_det **out, lp_error *err);

/* Names a keypoints detection's nodes after its class's skeleton (names:
 * nnames node names, borrowed) when the counts match; a single point whose
 * class has no skeleton (nnames 0) becomes a keypoint. */
void lp_model_keypoints_name(lp_model_det *d, const char *const *names, size_t nnames);

/* text_polygons: the probability map (map_w × map_h, covering the input
 * tensor) over binary_threshold, in 8-connected regions; each region's
 * smallest rotated rectangle (around its cells) whose shorter side is at
 * least min_size cells and whose mean probability is at least
 * score_threshold, grown by d = area × unclip_ratio / perimeter on every
 * side, becomes a polygon of four corners (clockwise, the first nearest the
 * top-left), label 0. At most max_detections, best first. */
long lp_model_decode_text(const lp_model_spec *spec, const lp_model_fit *fit, const float *map, size_t map_w,
                          size_t map_h, lp_arena *a, lp_model_det **out, lp_error *err);

/* logits: one value per label (n must be the number of labels), turned into
 * probabilities by a softmax when softmax (else taken as probabilities,
 * clipped to 0–1); the top_k best at or over score_threshold become tags
 * (box: the whole image). */
long lp_model_decode_logits(const lp_model_spec *spec, const lp_model_fit *fit, const float *logits, size_t n,
                            lp_arena *a, lp_model_det **out, lp_error *err);

#endif
