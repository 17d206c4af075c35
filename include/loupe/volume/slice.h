/* Planes and slices of a RAS+ volume (lp_volume_to_ras first).
 *
 * Slices are cut on the voxel grid (no resampling; pixdim says each pixel's
 * size) and drawn in the neurological convention, the default of NiiVue and
 * most research viewers — the patient's right on the image's right:
 *   axial    slice k: column = i, row = ny-1-j (anterior at the top)
 *   coronal  slice j: column = i, row = nz-1-k (superior at the top)
 *   sagittal slice i: column = j, row = nz-1-k (anterior on the right, superior at the top)
 * The primary plane is axial, so an annotation's frame is its axial index k. */
#ifndef LOUPE_VOLUME_SLICE_H
#define LOUPE_VOLUME_SLICE_H

#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/volume/volume.h"
#include "loupe/volume/window.h"

typedef enum lp_volume_plane { LP_PLANE_AXIAL = 0, LP_PLANE_CORONAL, LP_PLANE_SAGITTAL } lp_volume_plane;

/* "axial", "coronal", "sagittal" (case-insensitive) -> plane. Returns -1 otherwise. */
int lp_volume_plane_parse(const char *name, lp_volume_plane *out);
const char *lp_volume_plane_name(lp_volume_plane p); /* "axial", … */

/* Width, height and number of slices of plane p. */
void lp_volume_plane_size(const lp_volume *v, lp_volume_plane p, int64_t *width, int64_t *height, int64_t *count);

/* Where voxel (i, j, k) appears in plane p: slice index, column and row. */
void lp_volume_plane_pixel(const lp_volume *v, lp_volume_plane p, int64_t i, int64_t j, int64_t k,
                           int64_t *index, int64_t *col, int64_t *row);

/* Slice `index` of plane p windowed to 8-bit grey into out (width·height
 * bytes, caller-owned). Returns -1 (LP_E_INVALID naming "index") when index
 * is outside 0..count-1. */
int lp_volume_slice(const lp_volume *v, lp_volume_plane p, int64_t index, const lp_volume_window *w, uint8_t *out,
                    lp_error *err);

/* ---- plane coordinates ⇄ voxel and patient space ----
 * Continuous coordinates: pixel (col, row) of a slice covers [col, col + 1)
 * × [row, row + 1) (its centre at + 0.5, as an annotation's pixel
 * coordinates are read), voxel (i, j, k) is centred on the integers (as the
 * affine maps it), and a slice index is the voxel coordinate along the
 * plane's normal. So a point drawn on any plane has one place in voxel space
 * and, through the affine, in patient space (mm), and back: the same point
 * seen on another plane. */

/* Point (x, y) of plane p's slice `index` as voxel coordinates ijk. */
void lp_volume_plane_to_voxel(const lp_volume *v, lp_volume_plane p, double index, double x, double y, double ijk[3]);
/* The inverse: where voxel point ijk lies on plane p (slice index, x, y). */
void lp_volume_voxel_to_plane(const lp_volume *v, lp_volume_plane p, const double ijk[3], double *index, double *x,
                              double *y);
/* Voxel point ijk in patient space (mm, RAS+) through v's affine. */
void lp_volume_voxel_to_world(const lp_volume *v, const double ijk[3], double xyz[3]);
/* The inverse; -1 when the affine is singular. */
int lp_volume_world_to_voxel(const lp_volume *v, const double xyz[3], double ijk[3]);

/* ---- label volumes (one uint8 per voxel of grid's dim, x fastest) on any plane ---- */

/* Slice `index` of plane p of labels into out (width·height of that plane,
 * caller-owned), laid out as lp_volume_slice lays out an image. -1 (naming
 * "index") outside the plane. */
int lp_volume_labels_cut(const lp_volume *grid, const uint8_t *labels, lp_volume_plane p, int64_t index, uint8_t *out,
                         lp_error *err);
/* The inverse: every non-zero pixel of image (a slice of plane p, as cut
 * above) written into its voxel; zero pixels leave voxels as they are. So a
 * mask drawn on a coronal or sagittal slice lands in voxel space, from where
 * its axial slices (the frames annotations are stored on) are cut. */
int lp_volume_labels_paint(const lp_volume *grid, uint8_t *labels, lp_volume_plane p, int64_t index,
                           const uint8_t *image, lp_error *err);

#endif
