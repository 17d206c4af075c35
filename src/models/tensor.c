/* From an image to a model's input tensor. See loupe/models/tensor.h. */
#include "loupe/models/tensor.h"

#include <math.h>

int lp_model_fit_compute(const lp_model_input *in, int src_w, int src_h, lp_model_fit *out, lp_error *err)
{
    if (src_w <= 0 || src_h <= 0 || in->width <= 0 || in->height <= 0)
        return lp_error_set(err, LP_E_INVALID, "cannot fit a %d×%d image into a %d×%d tensor", src_w, src_h,
                            in->width, in->height);
    out->src_w = src_w;
    out->src_h = src_h;
    out->dst_w = in->width;
    out->dst_h = in->height;
    out->sx = (double)in->width / src_w;
    out->sy = (double)in->height / src_h;
    out->dx = out->dy = 0;
    if (in->resize == LP_MODEL_LETTERBOX) {
        double s = fmin(out->sx, out->sy);
        out->sx = out->sy = s;
        out->dx = (in->width - s * src_w) / 2;
        out->dy = (in->height - s * src_h) / 2;
    }
    return 0;
}

void lp_model_fit_unmap(const lp_model_fit *fit, double X, double Y, double *x, double *y)
{
    *x = (X - fit->dx) / fit->sx;
    *y = (Y - fit->dy) / fit->sy;
}

size_t lp_model_tensor_len(const lp_model_input *in) { return (size_t)3 * (size_t)in->width * (size_t)in->height; }

/* Channel c of the source at (x, y) in source pixel centres, bilinear, edges clamped. */
static double sample(const lp_model_fit *fit, const uint8_t *rgb, size_t stride, double x, double y, int c)
{
    double fx = fmin(fmax(x, 0), fit->src_w - 1), fy = fmin(fmax(y, 0), fit->src_h - 1);
    int x0 = (int)fx, y0 = (int)fy;
    int x1 = x0 + 1 < fit->src_w ? x0 + 1 : x0, y1 = y0 + 1 < fit->src_h ? y0 + 1 : y0;
    double ax = fx - x0, ay = fy - y0;
    const uint8_t *r0 = rgb + (size_t)y0 * stride, *r1 = rgb + (size_t)y1 * stride;
    double top = r0[x0 * 3 + c] * (1 - ax) + r0[x1 * 3 + c] * ax;
    double bottom = r1[x0 * 3 + c] * (1 - ax) + r1[x1 * 3 + c] * ax;
    return top * (1 - ay) + bottom * ay;
}

void lp_model_tensor_pack(const lp_model_input *in, const lp_model_fit *fit, const uint8_t *rgb, size_t stride,
                          float *out)
{
    size_t plane = (size_t)in->width * (size_t)in->height;
    for (int Y = 0; Y < in->height; Y++) {
        for (int X = 0; X < in->width; X++) {
            /* the tensor pixel's centre in source coordinates */
            double x = (X + 0.5 - fit->dx) / fit->sx - 0.5, y = (Y + 0.5 - fit->dy) / fit->sy - 0.5;
            int inside = x > -1 && y > -1 && x < fit->src_w && y < fit->src_h &&
                         X + 0.5 >= fit->dx && Y + 0.5 >= fit->dy && X + 0.5 <= fit->dx + fit->sx * fit->src_w &&
                         Y + 0.5 <= fit->dy + fit->sy * fit->src_h;
            size_t at = (size_t)Y * (size_t)in->width + (size_t)X;
            for (int c = 0; c < 3; c++) {
                double v = inside ? sample(fit, rgb, stride, x, y, c) : 0;
                float f = (float)((v * in->scale - in->mean[c]) / in->std[c]);
                if (in->layout == LP_MODEL_NCHW)
                    out[(size_t)c * plane + at] = f;
                else
                    out[at * 3 + (size_t)c] = f;
            }
        }
    }
}
