/* DICOM series: checking untrusted files, de-identifying them and ordering
 * a series' slices, before a converter (dcm2niix) ever reads them.
 *
 * lp_dicom_parse reads a DICOM Part 10 file held in memory (preamble,
 * "DICM", the file meta group, then the data set in implicit or explicit VR
 * little endian; sequences and undefined lengths are walked, nested at most
 * LP_DICOM_MAX_DEPTH deep) and keeps what a volume needs. It refuses, with
 * a sentence that names no tag value: files that are not Part 10, other
 * transfer syntaxes (compressed, big endian, deflated), multi-frame and
 * colour images, missing or short pixel data, dimensions past the volume
 * limits, burned-in annotations.
 *
 * lp_dicom_deidentify writes a new file that keeps only the attributes of
 * the retain list in dicom.c (geometry, pixel description, modality,
 * windows, pixel data; docs/VOLUMES.md lists them) and replaces the study,
 * series, instance and frame-of-reference UIDs by "2.25." UIDs derived from
 * a per-upload secret key: everything else — names, identifiers, dates,
 * descriptions, private tags, sequences — is left out. That is the PS3.15
 * Basic Application Level Confidentiality Profile applied as a retain list
 * (no "Retain" option), so a tag the profile's table misses cannot leak.
 *
 * lp_dicom_series_group sorts an upload's files into series by Series
 * Instance UID; lp_dicom_series_order checks that one series' files form one volume and orders them
 * by position along the slice normal (never by file name or
 * InstanceNumber).
 *
 * Pure: libc and sha256 only. Thread-safe. */
#ifndef LOUPE_VOLUME_DICOM_H
#define LOUPE_VOLUME_DICOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/buf.h"
#include "loupe/core/error.h"
#include "loupe/volume/volume.h"
#include "loupe/volume/window.h"

#define LP_DICOM_MAX_DEPTH 8
#define LP_DICOM_MAX_WINDOWS 4
#define LP_DICOM_KEY_LEN 32
#define LP_DICOM_PROFILE "PS3.15 Basic Profile, retain list"

typedef struct lp_dicom_info {
    char transfer_syntax[65];
    char series_uid[65];    /* as in the file: compare only, never log or store */
    int64_t series_number;  /* Series Number (kept by de-identification), -1 when absent */
    char modality[17];      /* upper-case letters and digits only, "" when absent */
    int64_t rows, cols;
    int bits_allocated, pixel_rep;
    bool has_position, has_orientation, has_spacing;
    double position[3];     /* Image Position (Patient), LPS mm */
    double orientation[6];  /* Image Orientation (Patient): row then column cosines */
    double spacing[2];      /* Pixel Spacing: between rows, between columns */
    double gantry_tilt;     /* degrees, 0 when absent */
    int nwindows;           /* Window Center / Width pairs */
    double window_center[LP_DICOM_MAX_WINDOWS], window_width[LP_DICOM_MAX_WINDOWS];
} lp_dicom_info;

/* Checks file (len bytes, borrowed) and fills out. 0, or -1 with err
 * (LP_E_INVALID, or LP_E_TOO_LARGE for a dimension past lim). */
int lp_dicom_parse(const void *file, size_t len, const lp_volume_limits *lim, lp_dicom_info *out, lp_error *err);

/* Appends to out the de-identified copy of file (already accepted by
 * lp_dicom_parse), in explicit VR little endian, its Instance Number set to
 * instance (0..9999999999). UIDs are replaced through key (LP_DICOM_KEY_LEN
 * secret bytes: one key per upload keeps a series together). The Instance
 * Number's value is LP_DICOM_INSTANCE_WIDTH characters (padded with
 * spaces) at *instance_at (may be NULL) bytes from the start of the copy,
 * so it can be rewritten in place once the slices are ordered. 0, or -1
 * with err. */
#define LP_DICOM_INSTANCE_WIDTH 10
int lp_dicom_deidentify(const void *file, size_t len, const uint8_t key[LP_DICOM_KEY_LEN], int64_t instance,
                        lp_buf *out, size_t *instance_at, lp_error *err);

/* The same copy without its pixel data's bytes: out receives everything up to
 * and including the Pixel Data element's header, and *tail says where that
 * element's value lies in file (offset, len) and whether one zero byte of
 * padding follows it in the copy. out, the len bytes at file + offset, then
 * the pad, are lp_dicom_deidentify's copy, byte for byte — so a caller can
 * write the pixels straight from the file (writev) instead of copying them.
 * A file without pixel data leaves *tail zero. 0, or -1 with err. */
typedef struct lp_dicom_tail {
    size_t offset, len;
    bool pad;
} lp_dicom_tail;
int lp_dicom_deidentify_head(const void *file, size_t len, const uint8_t key[LP_DICOM_KEY_LEN], int64_t instance,
                             lp_buf *out, size_t *instance_at, lp_dicom_tail *tail, lp_error *err);

/* Checks that the n files (borrowed) form one volume — one series, one
 * size, pixel type and orientation, no gantry tilt, every file placed, no
 * two slices at one position and evenly spaced slices (no slice missing) —
 * and writes into order (n entries) their indices from the lowest position
 * along the slice normal to the highest. 0, or -1 with err (LP_E_INVALID)
 * saying what is wrong, naming files by their index + 1. */
int lp_dicom_series_order(const lp_dicom_info *files, size_t n, size_t *order, lp_error *err);

/* Groups the n files (borrowed) by Series Instance UID: group[i] (n
 * entries) receives the rank of file i's series, series ordered by Series
 * Number (absent last), then by where their first file is in the upload, so
 * the same upload always ranks its series alike. *nseries receives how many.
 * 0, or -1 with err (LP_E_TOO_LARGE past max_series). */
int lp_dicom_series_group(const lp_dicom_info *files, size_t n, size_t max_series, size_t *group, size_t *nseries,
                          lp_error *err);

/* The windows the file declares as presets ("source", "source_2", …);
 * returns how many (at most LP_DICOM_MAX_WINDOWS). */
int lp_dicom_windows(const lp_dicom_info *info, lp_volume_window *out);

/* 1 when the n bytes at p are a DICOMDIR (a medium's index, Media Storage
 * SOP Class 1.2.840.10008.1.3.10): it holds no image and is skipped. */
int lp_dicom_is_directory(const void *p, size_t n);

/* 1 when the n bytes at p start like a DICOM Part 10 file ("DICM" at 128). */
int lp_dicom_sniff(const void *p, size_t n);

#endif
