/* Active learning (docs/MODELS.md "Active learning"): how uncertain a model
 * is about an item, and how far an item lies from the others. Pure: no
 * database, no I/O.
 *
 * Uncertainty. A detection's class distribution p is its per-class
 * probabilities (probs, nprobs ≥ 1) divided by their sum, or, when the
 * model gives one score s per detection, the two-point distribution
 * (s, 1 − s) of "this label" against "not this label". With p sorted
 * highest first and K = its length:
 *   least confidence  1 − p1
 *   margin            1 − (p1 − p2)          (p2 = 0 when K = 1)
 *   entropy           −Σ p·ln p / ln K       (0 when K = 1; 0·ln 0 = 0)
 * each in [0, 1], higher = more uncertain. An item's score is that of its
 * most uncertain detection (the maximum); an item without detections
 * scores 0.
 *
 * Novelty. k-center greedy over the items' embeddings (Euclidean
 * distance), seeded with their centroid: the next pick is always the item
 * farthest from everything picked so far (the centroid included), ties to
 * the lowest index; its novelty is that distance. The sequence of novelties
 * never grows, so ranking by novelty is ranking by pick order. After picks
 * picks, the rest follow by their distance to the picked set.
 *
 * Embeddings are L2-normalised. Without a model embedding an item gets the
 * built-in descriptor of its image (lp_model_descriptor). */
#ifndef LOUPE_MODELS_SCORE_H
#define LOUPE_MODELS_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/models/detect.h"

/* The uncertainty scores of one detection or item. */
typedef struct lp_model_uncertainty {
    double least_confidence, margin, entropy;
} lp_model_uncertainty;

/* The scores of the distribution q (n ≥ 1 non-negative values, normalised
 * here; a sum of 0 counts as uniform). */
void lp_model_uncertainty_of(const double *q, size_t n, lp_model_uncertainty *out);

/* The scores of detection d (its probs, else (score, 1 − score)). */
void lp_model_det_uncertainty(const lp_model_det *d, lp_model_uncertainty *out);

/* An item's scores: the maximum of each over its n detections; all 0 when
 * n is 0. */
void lp_model_item_uncertainty(const lp_model_det *dets, size_t n, lp_model_uncertainty *out);

/* Scales v (n values) to unit length; a zero vector stays zero. */
void lp_model_l2_normalise(float *v, size_t n);

/* A random projection of v (d floats) to k values into out (k < d): out_j =
 * Σ_i s(i, j)·v_i, with s(i, j) = ±1 drawn from a fixed hash of (i, j)
 * (the same every time), then scaled to unit length. Distances between
 * unit vectors are kept up to a factor near 1 ± 1/√k (Johnson–Lindenstrauss
 * with Achlioptas' signs). */
void lp_model_project(const float *v, size_t d, float *out, size_t k);

/* k-center greedy over n embeddings of d floats (x, row after row): order
 * receives the n indices in rank order, novelty[i] item i's novelty (see
 * above); at most picks greedy picks (0: all n). LP_E_NOMEM, else 0. */
int lp_model_kcenter(const float *x, size_t n, size_t d, size_t picks, size_t *order, double *novelty,
                     lp_error *err);

/* The built-in image descriptor: LP_MODEL_DESCRIPTOR_DIMS values, then
 * L2-normalised:
 *   [0, 64)   colour histogram: a pixel (r, g, b) counts in bin
 *             16·(r >> 6) + 4·(g >> 6) + (b >> 6); counts / pixels
 *   [64, 72)  gradient orientations of the grey level Y = (r + g + b) / 3:
 *             gx = Y(x+1, y) − Y(x, y), gy = Y(x, y+1) − Y(x, y) for every
 *             pixel with a right and a lower neighbour, its angle
 *             atan2(gy, gx) in [0, 2π) in bin ⌊angle / (π/4)⌋, weighted by
 *             its magnitude √(gx² + gy²); weights / their sum (all 0 when
 *             the image is flat)
 * over the pixels of a grid of step ⌈max(w, h) / LP_MODEL_DESCRIPTOR_SIDE⌉
 * (every pixel of an image up to that side; neighbours one step away).
 * rgb: h rows of stride bytes, 3 bytes a pixel. */
#define LP_MODEL_DESCRIPTOR_DIMS 72
#define LP_MODEL_DESCRIPTOR_SIDE 256
void lp_model_descriptor(const uint8_t *rgb, int w, int h, size_t stride, float out[LP_MODEL_DESCRIPTOR_DIMS]);

#endif
