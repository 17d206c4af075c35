/* Planes and windowed slices of a RAS+ volume. See slice.h. */
#include <strings.h>

#include "loupe/volume/slice.h"

static const char *const plane_names[] = {"axial", "coronal", "sagittal"};

int lp_volume_plane_parse(const char *name, lp_volume_plane *out)
{
    for (int p = 0; p < 3 && name; p++)
        if (strcasecmp(name, plane_names[p]) == 0) {
            *out = (lp_volume_plane)p;
            return 0;
        }
    return -1;
}

const char *lp_volume_plane_name(lp_volume_plane p)
{
    return (unsigned)p < 3 ? plane_names[p] : "axial";
}

void lp_volume_plane_size(const lp_volume *v, lp_volume_plane p, int64_t *width, int64_t *height, int64_t *count)
{
    const int64_t *d = v->dim;
    switch (p) {
    case LP_PLANE_CORONAL: *width = d[0], *height = d[2], *count = d[1]; break;
    case LP_PLANE_SAGITTAL: *width = d[1], *height = d[2], *count = d[0]; break;
    default: *width = d[0], *height = d[1], *count = d[2]; break;
    }
}

void lp_volume_plane_pixel(const lp_volume *v, lp_volume_plane p, int64_t i, int64_t j, int64_t k,
                           int64_t *index, int64_t *col, int64_t *row)
{
    const int64_t *d = v->dim;
    switch (p) {
    case LP_PLANE_CORONAL: *index = j, *col = i, *row = d[2] - 1 - k; break;
    case LP_PLANE_SAGITTAL: *index = i, *col = j, *row = d[2] - 1 - k; break;
    default: *index = k, *col = i, *row = d[1] - 1 - j; break;
    }
}

int lp_volume_slice(const lp_volume *v, lp_volume_plane p, int64_t index, const lp_volume_window *w, uint8_t *out,
                    lp_error *err)
{
    int64_t width, height, count;
    lp_volume_plane_size(v, p, &width, &height, &count);
    if (index < 0 || index >= count)
        return lp_error_field(err, LP_E_INVALID, "index", "the %s plane has slices 0 to %lld",
                              lp_volume_plane_name(p), (long long)count - 1);
    /* Each output row walks the volume with a fixed stride: i, j or k. */
    int64_t sx = 1, sy = v->dim[0], sz = v->dim[0] * v->dim[1], base, col_step, row_step;
    switch (p) {
    case LP_PLANE_CORONAL: base = index * sy + (height - 1) * sz, col_step = sx, row_step = -sz; break;
    case LP_PLANE_SAGITTAL: base = index * sx + (height - 1) * sz, col_step = sy, row_step = -sz; break;
    default: base = index * sz + (height - 1) * sy, col_step = sx, row_step = -sy; break;
    }
    for (int64_t r = 0; r < height; r++) {
        int64_t at = base + r * row_step;
        uint8_t *o = out + r * width;
        if (v->type == LP_VOLUME_I16) {
            const int16_t *s = v->voxels;
            for (int64_t c = 0; c < width; c++, at += col_step)
                o[c] = lp_volume_window_apply(w, s[at]);
        } else {
            const float *s = v->voxels;
            for (int64_t c = 0; c < width; c++, at += col_step)
                o[c] = lp_volume_window_apply(w, s[at]);
        }
    }
    return 0;
}
