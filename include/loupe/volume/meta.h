/* A volume slot's metadata, in the shape V7 Darwin gives volume slots so that
 * tools written for Darwin JSON read it unchanged:
 *   {"shape": [nx, ny, nz], "pixdim": [dx, dy, dz], "affine": 4×4 rows,
 *    "original_affine": 4×4 rows, "primary_plane": "AXIAL",
 *    "plane_map": {"<slot>": "AXIAL"}, "orientation": "RAS", "modality": "CT",
 *    "dtype": "int16", "slices": {"axial": nz, "coronal": ny, "sagittal": nx},
 *    "windows": [{"name", "center", "width"}…],
 *    "histogram": {"min", "max", "counts": [256 numbers]}}
 * `affine` is that of the normalized (RAS+) volume Loupe serves;
 * `original_affine` that of the file as uploaded. */
#ifndef LOUPE_VOLUME_META_H
#define LOUPE_VOLUME_META_H

#include <jansson.h>

#include "loupe/volume/volume.h"
#include "loupe/volume/window.h"

/* New reference, or NULL when out of memory. slot is borrowed; NULL leaves
 * plane_map out (whoever knows the slot's name adds it). */
json_t *lp_volume_metadata(const lp_volume *v, const char *slot, const lp_volume_window *windows, int nwindows,
                           const lp_volume_histogram *h);

/* Reads back the presets of metadata written above (at most
 * LP_VOLUME_MAX_WINDOWS); returns how many, 0 when there are none. */
int lp_volume_metadata_windows(const json_t *meta, lp_volume_window *out);

/* Reads back the grid of metadata written above: shape, affine and
 * original_affine (each 4×4 of finite numbers, shape three sizes >= 1) into
 * v's dim, affine and original_affine (pixdim from the affine's columns).
 * 0, or -1 when one is missing or malformed. */
int lp_volume_metadata_grid(const json_t *meta, lp_volume *v);

#endif
