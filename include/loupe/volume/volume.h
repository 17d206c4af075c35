/* A scalar 3D volume in memory, read from and written to NIfTI (nifticlib).
 *
 * Voxels are stored x fastest (index i + nx·(j + ny·k)), as NIfTI stores them,
 * either as int16 (integer sources whose values fit, without scaling) or as
 * float32 (anything else, with scl_slope/scl_inter applied), so a CT of 16-bit
 * samples costs two bytes a voxel. `affine` maps a voxel index (i, j, k, 1) to
 * patient coordinates in millimetres, NIfTI's RAS+ world (x to the patient's
 * right, y anterior, z superior). Untrusted files are checked from their header
 * bytes (lp_volume_nifti_header_parse) before nifticlib reads anything more.
 *
 * Every function fills a caller-owned lp_error on failure with a sentence that
 * says what is wrong with the file. */
#ifndef LOUPE_VOLUME_VOLUME_H
#define LOUPE_VOLUME_VOLUME_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"

typedef enum lp_volume_type { LP_VOLUME_I16 = 0, LP_VOLUME_F32 } lp_volume_type;

typedef struct lp_volume_limits {
    int64_t max_voxels; /* nx·ny·nz of the first 3D volume */
    int64_t max_side;   /* largest of nx, ny, nz */
} lp_volume_limits;

typedef struct lp_volume {
    int64_t dim[3];               /* nx, ny, nz (each >= 1) */
    double pixdim[3];             /* voxel size along each index axis, mm */
    double affine[4][4];          /* voxel index -> patient mm (RAS+ world) */
    double original_affine[4][4]; /* the affine of the file as read, before any reorientation */
    lp_volume_type type;
    void *voxels;                 /* owned; dim[0]·dim[1]·dim[2] samples of `type` */
    char modality[16];            /* "CT", "MR", … or "" when the source does not say */
} lp_volume;

/* Room for bytes of voxels (not zeroed; free with free()), or NULL. From
 * 2 MiB on, it is aligned to 2 MiB and advised to be backed by huge pages
 * (MADV_HUGEPAGE): filling 150 MiB of fresh memory then takes about 75 page
 * faults instead of 38,000, and reading a volume into it about 40 % less
 * time. */
void *lp_volume_voxels_alloc(size_t bytes);

/* What the header of a NIfTI-1 or NIfTI-2 single file (.nii) says. */
typedef struct lp_volume_nifti_header {
    int version;          /* 1 or 2 */
    int datatype;         /* NIfTI DT_* code */
    int64_t dim[3];       /* nx, ny, nz (1 where the file has fewer dimensions) */
    int64_t volumes;      /* product of the dimensions past the third (1 for 3D) */
    double vox_offset;
} lp_volume_nifti_header;

/* Parses and checks the header bytes of a single-file NIfTI (either byte
 * order): size field, magic ("n+1"/"n+2"; two-file and ASCII variants are
 * refused), dimensions (1..7, each >= 1, 3D volume within limits), a scalar
 * data type (no complex or RGB) and a data offset past the header. len may be
 * longer than the header. Returns 0, or -1 with LP_E_INVALID. */
int lp_volume_nifti_header_parse(const void *buf, size_t len, const lp_volume_limits *limits,
                                 lp_volume_nifti_header *out, lp_error *err);

/* Reads a .nii or .nii.gz (told apart by their first bytes, not the name):
 * the header is checked first (above), then the samples of the first 3D
 * volume are read — a .nii's straight into the volume's buffer, a .nii.gz's
 * inflated by nifticlib — and converted (see the top).
 * The affine is the sform when its code is set, else the qform, else the
 * Analyze-style default nibabel also uses (x flipped, centred). Returns a new
 * volume (lp_volume_free) or NULL. */
lp_volume *lp_volume_read_nifti(const char *path, const lp_volume_limits *limits, lp_error *err);

/* Reads a NIfTI file held in memory (data, len bytes: a .nii, or the same
 * gzip-compressed), as lp_volume_read_nifti reads a file: the header checked
 * against limits before anything else is inflated or allocated, the first
 * 3D volume converted the same way, the affine chosen the same way. A file
 * that ends before its voxels do is refused. Returns a new volume or NULL. */
lp_volume *lp_volume_read_nifti_mem(const void *data, size_t len, const lp_volume_limits *limits, lp_error *err);

/* Bytes of a NIfTI-1 single file holding a label map of v's size, affine and
 * pixdim as unsigned 8-bit voxels (sform and qform code 1, mm units): its
 * header and empty extension block, LP_VOLUME_LABELS_OFFSET bytes into out;
 * the voxels follow, dim[0]·dim[1]·dim[2] bytes x fastest. 0, or -1. */
#define LP_VOLUME_LABELS_OFFSET 352
int lp_volume_labels_header(const lp_volume *v, unsigned char out[LP_VOLUME_LABELS_OFFSET], lp_error *err);

/* Writes v as a NIfTI-1 file with its affine as both sform and qform (code
 * 1, scanner), mm units: gzip-compressed at gzip_level (1 fastest … 9
 * smallest; out of range is clamped) when path ends in .nii.gz, else
 * uncompressed (gzip_level unused). */
int lp_volume_write_nifti(const lp_volume *v, const char *path, int gzip_level, lp_error *err);

/* A new zero-filled volume of the given size and type, identity affine and
 * pixdim 1. NULL when a dimension is below 1 or allocation fails. */
lp_volume *lp_volume_new(const int64_t dim[3], lp_volume_type type, lp_error *err);

/* Frees v and its voxels. NULL is a no-op. */
void lp_volume_free(lp_volume *v);

/* Voxel (i, j, k) as a double; the index must be inside dim. */
double lp_volume_at(const lp_volume *v, int64_t i, int64_t j, int64_t k);

/* Number of voxels and bytes per voxel. */
int64_t lp_volume_count(const lp_volume *v);
size_t lp_volume_sample_size(lp_volume_type type);

#endif
