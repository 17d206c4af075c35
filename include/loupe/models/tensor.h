/* From an image to a model's input tensor (docs/MODELS.md "The input tensor"). Pure.
 *
 * The fit maps a pixel position of the source image to the tensor:
 * X = x·sx + dx, Y = y·sy + dy. letterbox keeps the aspect ratio
 * (sx = sy = min(W/w, H/h)) and centres the image; stretch scales each axis
 * on its own (dx = dy = 0). */
#ifndef LOUPE_MODELS_TENSOR_H
#define LOUPE_MODELS_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/models/spec.h"

typedef struct lp_model_fit {
    double sx, sy, dx, dy;
    int src_w, src_h; /* the source image */
    int dst_w, dst_h; /* the tensor's width and height */
} lp_model_fit;

/* The fit of a src_w × src_h image into in's width × height. 0, or -1
 * (LP_E_INVALID) for an empty image. */
int lp_model_fit_compute(const lp_model_input *in, int src_w, int src_h, lp_model_fit *out, lp_error *err);

/* A tensor position back in source pixels (not clipped). */
void lp_model_fit_unmap(const lp_model_fit *fit, double X, double Y, double *x, double *y);

/* Floats one image's tensor holds: 3 × width × height. */
size_t lp_model_tensor_len(const lp_model_input *in);

/* Packs the RGB image (rgb: src_h rows of stride bytes, 3 bytes a pixel)
 * into out (lp_model_tensor_len floats, caller-owned) in in's layout:
 * bilinear sampling through fit, each channel value v becoming
 * (v·scale − mean[c]) / std[c]; pixels outside the image (letterbox bars)
 * are v = 0. */
void lp_model_tensor_pack(const lp_model_input *in, const lp_model_fit *fit, const uint8_t *rgb, size_t stride,
                          float *out);

#endif
