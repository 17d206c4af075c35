/* Media transforms: shared set-up, limits and encoded outputs.
 *
 * The media area turns local files into derived files (thumbnails,
 * previews, pyramids, frame indexes, encoded frames). It never touches the
 * database, HTTP or the queue: a worker downloads the original, calls these
 * functions with a path and an output directory, and uploads what they wrote.
 *
 * Every function fills a caller-owned lp_error on failure with a message a
 * person can act on ("PNG is 100000×100000 pixels; the limit is …"). Bad
 * input is LP_E_INVALID, LP_E_TOO_LARGE or LP_E_MEDIA_TYPE; a library
 * failure on a file that passed the checks is LP_E_INTERNAL; a file that
 * cannot be read or written is LP_E_IO. See docs/MEDIA.md. */
#ifndef LOUPE_MEDIA_MEDIA_H
#define LOUPE_MEDIA_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/config.h"
#include "loupe/core/error.h"

/* Longest path the media functions build or accept (including the NUL). */
#define LP_MEDIA_PATH_MAX 4096

/* Limits on input and sizes of outputs; each is a setting of config.def. */
typedef struct lp_media_limits {
    int64_t image_max_pixels;     /* width × height of an image (first page) */
    int64_t image_pyramid_pixels; /* at least this many pixels: a tiled pyramid */
    int thumbnail_size;           /* longest side of thumbnails */
    int preview_size;             /* longest side of web previews */
    int64_t video_max_duration_ms;
    int64_t video_max_frames;
    int64_t video_max_pixels;     /* width × height of one video frame */
    int64_t video_max_side;       /* longest side of one video frame (0: no limit) */
    char video_codecs[256];       /* accepted video codecs, comma-separated FFmpeg names ("": any) */
    int64_t volume_max_voxels;    /* nx × ny × nz of a volume */
    int64_t volume_max_side;      /* longest side of a volume, in voxels */
    int volume_gzip_level;        /* the normalized volume: 0 uncompressed .nii, 1..9 .nii.gz */
    int64_t dicom_max_files;      /* files of one DICOM series upload */
    int64_t dicom_max_bytes;      /* bytes of one DICOM series upload, unpacked */
    int dicom_threads;            /* threads that unpack, check and de-identify a series' files */
    int64_t dicom_max_series;     /* series of one DICOM upload */
} lp_media_limits;

/* Copies the media settings of cfg (borrowed) into out. */
void lp_media_limits_from_config(lp_media_limits *out, const lp_config *cfg);

/* Starts libvips (VIPS_INIT) once per process; later calls return 0 at
 * once. Thread-safe. Also switches off libvips' operation cache, so a file
 * rewritten at the same path is never served from a stale cache entry.
 * argv0 may be NULL. Returns 0, or -1 with err set if libvips cannot start. */
int lp_media_init(const char *argv0, lp_error *err);

/* Encoded output formats of thumbnails, previews, tiles and frames. */
typedef enum lp_media_format { LP_MEDIA_JPEG = 0, LP_MEDIA_WEBP } lp_media_format;

/* "jpeg" / "webp"; the file suffix without the dot is "jpg" / "webp". */
const char *lp_media_format_name(lp_media_format fmt);
const char *lp_media_format_suffix(lp_media_format fmt);
const char *lp_media_format_mime(lp_media_format fmt);

/* Parses "jpeg", "jpg" or "webp" (case-insensitive). Returns -1 if unknown. */
int lp_media_format_parse(const char *s, lp_media_format *out);

/* Encoded bytes handed to the caller. Owned by the blob: release with
 * lp_media_blob_free (which accepts an empty or already freed blob). */
typedef struct lp_media_blob {
    void *data;
    size_t len;
} lp_media_blob;

void lp_media_blob_free(lp_media_blob *b);

/* Encodes a packed 8-bit RGB (3 bytes a pixel) image of width × height with
 * rows stride bytes apart (borrowed; not kept) as fmt into out (new).
 * quality 1..100 (0 = 85). Returns 0, or -1 with err set. */
int lp_media_encode_rgb(const uint8_t *rgb, int width, int height, size_t stride, lp_media_format fmt,
                        int quality, lp_media_blob *out, lp_error *err);

/* Encodes a packed 8-bit grey image of width × height (borrowed) as fmt into
 * out (new). 0, or -1 with err set. */
int lp_media_encode_grey(const uint8_t *grey, int width, int height, lp_media_format fmt, int quality,
                         lp_media_blob *out, lp_error *err);

/* Writes that grey image as fmt to path, shrunk to fit max_side × max_side
 * (0: full size). 0, or -1 with err set. */
int lp_media_save_grey(const uint8_t *grey, int width, int height, int max_side, lp_media_format fmt, int quality,
                       const char *path, lp_error *err);

#endif
