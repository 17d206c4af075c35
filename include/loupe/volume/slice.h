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

#endif
