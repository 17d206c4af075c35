/* Orientation: which patient axis each voxel axis runs along, and turning a
 * volume into RAS+ voxel order (nibabel's as_closest_canonical).
 *
 * After lp_volume_to_ras, index i increases toward the patient's right, j
 * toward anterior, k toward superior, and the affine still maps every voxel
 * to the same patient coordinate it had before: only the storage order and
 * the affine change, never a voxel's position (no resampling). */
#ifndef LOUPE_VOLUME_ORIENT_H
#define LOUPE_VOLUME_ORIENT_H

#include "loupe/core/error.h"
#include "loupe/volume/volume.h"

/* For each voxel axis c (0..2): world[c] is the patient axis (0 = x R/L, 1 =
 * y A/P, 2 = z S/I) it runs along most closely, and flip[c] is 1 when it runs
 * toward L, P or I. Axes are assigned greedily by the largest direction cosine,
 * so an oblique acquisition gets its nearest axes. Returns -1 when the 3×3
 * part of the affine is degenerate (a zero or non-finite column). */
int lp_volume_orientation(const double affine[4][4], int world[3], int flip[3]);

/* "RAS", "LPS", "PIR"…: the letters the voxel axes point toward. out holds 4 bytes. */
int lp_volume_axcodes(const double affine[4][4], char out[4]);

/* Reorders v's voxels into RAS+ order and updates dim, pixdim and affine.
 * original_affine is kept. Returns -1 with err set when the affine is
 * degenerate or memory runs out; v is unchanged then. */
int lp_volume_to_ras(lp_volume *v, lp_error *err);

/* The inverse of lp_volume_to_ras: reorders a RAS+ volume back into the
 * voxel order of v->original_affine (the file as uploaded) and sets affine
 * to it. Only axis order and direction change, so every voxel keeps its
 * patient coordinate. Returns -1 with err set when original_affine is
 * degenerate or memory runs out; v is unchanged then. */
int lp_volume_from_ras(lp_volume *v, lp_error *err);

#endif
