/* Planes and windowed slices of a RAS+ volume. See slice.h. */
#include <math.h>
#include <string.h>
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

/* How plane p's slice index walks a grid of dim (x fastest): the sample
 * index of its top-left pixel, and the steps to the next column and row. */
static void plane_walk(const int64_t dim[3], lp_volume_plane p, int64_t index, int64_t *base, int64_t *col_step,
                       int64_t *row_step)
{
    int64_t sx = 1, sy = dim[0], sz = dim[0] * dim[1];
    switch (p) {
    case LP_PLANE_CORONAL: *base = index * sy + (dim[2] - 1) * sz, *col_step = sx, *row_step = -sz; break;
    case LP_PLANE_SAGITTAL: *base = index * sx + (dim[2] - 1) * sz, *col_step = sy, *row_step = -sz; break;
    default: *base = index * sz + (dim[1] - 1) * sy, *col_step = sx, *row_step = -sy; break;
    }
}

/* The size of plane p's slices and their count, or an error naming "index"
 * when index is outside. */
static int plane_index(const lp_volume *v, lp_volume_plane p, int64_t index, int64_t *width, int64_t *height,
                       lp_error *err)
{
    int64_t count;
    lp_volume_plane_size(v, p, width, height, &count);
    if (index < 0 || index >= count)
        return lp_error_field(err, LP_E_INVALID, "index", "the %s plane has slices 0 to %lld",
                              lp_volume_plane_name(p), (long long)count - 1);
    return 0;
}

int lp_volume_slice(const lp_volume *v, lp_volume_plane p, int64_t index, const lp_volume_window *w, uint8_t *out,
                    lp_error *err)
{
    int64_t width, height, base, col_step, row_step;
    if (plane_index(v, p, index, &width, &height, err) != 0)
        return -1;
    plane_walk(v->dim, p, index, &base, &col_step, &row_step);
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

/* ---- plane coordinates ⇄ voxel and patient space ------------------------------------ */

void lp_volume_plane_to_voxel(const lp_volume *v, lp_volume_plane p, double index, double x, double y, double ijk[3])
{
    const int64_t *d = v->dim;
    switch (p) {
    case LP_PLANE_CORONAL: ijk[0] = x - 0.5, ijk[1] = index, ijk[2] = (double)d[2] - 0.5 - y; break;
    case LP_PLANE_SAGITTAL: ijk[0] = index, ijk[1] = x - 0.5, ijk[2] = (double)d[2] - 0.5 - y; break;
    default: ijk[0] = x - 0.5, ijk[1] = (double)d[1] - 0.5 - y, ijk[2] = index; break;
    }
}

void lp_volume_voxel_to_plane(const lp_volume *v, lp_volume_plane p, const double ijk[3], double *index, double *x,
                              double *y)
{
    const int64_t *d = v->dim;
    switch (p) {
    case LP_PLANE_CORONAL: *index = ijk[1], *x = ijk[0] + 0.5, *y = (double)d[2] - 0.5 - ijk[2]; break;
    case LP_PLANE_SAGITTAL: *index = ijk[0], *x = ijk[1] + 0.5, *y = (double)d[2] - 0.5 - ijk[2]; break;
    default: *index = ijk[2], *x = ijk[0] + 0.5, *y = (double)d[1] - 0.5 - ijk[1]; break;
    }
}

void lp_volume_voxel_to_world(const lp_volume *v, const double ijk[3], double xyz[3])
{
    for (int r = 0; r < 3; r++)
        xyz[r] = v->affine[r][0] * ijk[0] + v->affine[r][1] * ijk[1] + v->affine[r][2] * ijk[2] + v->affine[r][3];
}

static double det3(const double m[3][3])
{
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
           m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

int lp_volume_world_to_voxel(const lp_volume *v, const double xyz[3], double ijk[3])
{
    const double(*a)[4] = v->affine;
    double m[3][3] = {{a[0][0], a[0][1], a[0][2]}, {a[1][0], a[1][1], a[1][2]}, {a[2][0], a[2][1], a[2][2]}};
    double det = det3(m);
    if (!(det != 0) || !isfinite(det))
        return -1;
    double b[3] = {xyz[0] - a[0][3], xyz[1] - a[1][3], xyz[2] - a[2][3]};
    for (int c = 0; c < 3; c++) { /* Cramer's rule: column c replaced by b */
        double t[3][3];
        memcpy(t, m, sizeof t);
        for (int r = 0; r < 3; r++)
            t[r][c] = b[r];
        ijk[c] = det3(t) / det;
    }
    return 0;
}

/* ---- label volumes on any plane ----------------------------------------------------------- */

int lp_volume_labels_cut(const lp_volume *grid, const uint8_t *labels, lp_volume_plane p, int64_t index, uint8_t *out,
                         lp_error *err)
{
    int64_t width, height, base, col_step, row_step;
    if (plane_index(grid, p, index, &width, &height, err) != 0)
        return -1;
    plane_walk(grid->dim, p, index, &base, &col_step, &row_step);
    for (int64_t r = 0; r < height; r++) {
        int64_t at = base + r * row_step;
        for (int64_t c = 0; c < width; c++, at += col_step)
            out[r * width + c] = labels[at];
    }
    return 0;
}

int lp_volume_labels_paint(const lp_volume *grid, uint8_t *labels, lp_volume_plane p, int64_t index,
                           const uint8_t *image, lp_error *err)
{
    int64_t width, height, base, col_step, row_step;
    if (plane_index(grid, p, index, &width, &height, err) != 0)
        return -1;
    plane_walk(grid->dim, p, index, &base, &col_step, &row_step);
    for (int64_t r = 0; r < height; r++) {
        int64_t at = base + r * row_step;
        for (int64_t c = 0; c < width; c++, at += col_step)
            if (image[r * width + c])
                labels[at] = image[r * width + c];
    }
    return 0;
}
