/* Images: probe, then derive a thumbnail, a web preview and — for large
 * images — a tiled pyramid with its DeepZoom descriptor (see deepzoom.h).
 *
 * The format is sniffed from the content, never the file name, and only
 * these libvips loaders are allowed: jpeg, png, webp, tiff (BigTIFF too),
 * gif, heif (HEIC/AVIF) and jp2k. Dimensions are read from the header and
 * checked against image_max_pixels before a single pixel is decoded.
 * Decoding fails on the first error (libvips fail_on=error): a truncated
 * or corrupt file is refused instead of yielding a half-grey image.
 * Multi-page files (GIF, TIFF, HEIF) are handled by their first page.
 * lp_media_init must have been called. */
#ifndef LOUPE_MEDIA_IMAGE_H
#define LOUPE_MEDIA_IMAGE_H

#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/media/media.h"

/* What the header says about an image. */
typedef struct lp_image_info {
    char format[16];         /* "jpeg", "png", "webp", "tiff", "gif", "heif", "jp2k", "wsi" (OpenSlide) */
    char loader[24];         /* the libvips loader used, e.g. "jpegload" */
    int64_t stored_width;    /* as stored, before EXIF orientation */
    int64_t stored_height;
    int64_t width;           /* as displayed: after EXIF orientation */
    int64_t height;
    int orientation;         /* EXIF orientation 1..8 (1 when absent or invalid) */
    int rotation;            /* clockwise degrees applied by autorotation: 0, 90, 180, 270 */
    int flipped;             /* 1 if autorotation also mirrors (orientations 2, 4, 5, 7) */
    int bands;               /* of the original, including alpha */
    int has_alpha;
    int bits;                /* bits per sample of the original: 8, 16, 32, … */
    char interpretation[16]; /* of the original, libvips name: "srgb", "cmyk", "rgb16", "b-w", … */
    int pages;               /* pages in the file (1 for single-image formats) */
    /* whole-slide images (loader openslideload) only: */
    char vendor[32];         /* OpenSlide's vendor: "aperio", "hamamatsu", "generic-tiff", … */
    double mpp_x, mpp_y;     /* microns per pixel of level 0; 0 when the slide does not say */
    int has_label, has_macro; /* associated label and macro images */
} lp_image_info;

/* Reads the header of path (borrowed) and checks it against limits. Decodes
 * no pixels. Errors: LP_E_IO (cannot read), LP_E_INVALID (empty file),
 * LP_E_MEDIA_TYPE (not an allowed format), LP_E_TOO_LARGE (over
 * image_max_pixels), LP_E_INVALID (corrupt header). */
int lp_image_probe(const char *path, const lp_media_limits *limits, lp_image_info *info, lp_error *err);

/* Files written by lp_image_process, as paths inside the output directory.
 * Empty strings for files that were not made. */
typedef struct lp_image_outputs {
    char thumbnail[LP_MEDIA_PATH_MAX]; /* thumbnail.<jpg|webp>: longest side thumbnail_size */
    char preview[LP_MEDIA_PATH_MAX];   /* preview.<jpg|webp>: longest side preview_size */
    char pyramid[LP_MEDIA_PATH_MAX];   /* pyramid.tif: tiled pyramidal BigTIFF, JPEG tiles */
    char dzi[LP_MEDIA_PATH_MAX];       /* image.dzi: DeepZoom descriptor of the pyramid */
    char label[LP_MEDIA_PATH_MAX];     /* label.<jpg|webp>: a slide's associated label image */
    char macro[LP_MEDIA_PATH_MAX];     /* macro.<jpg|webp>: a slide's associated macro (overview) image */
} lp_image_outputs;

typedef struct lp_image_result {
    lp_image_info info;
    int64_t thumbnail_width, thumbnail_height;
    int64_t preview_width, preview_height;
    int has_pyramid;
    lp_image_outputs files;
} lp_image_result;

/* Probes path, then writes into out_dir (an existing directory; borrowed):
 * a thumbnail and a preview encoded as fmt (both upright per EXIF, 8-bit
 * sRGB, metadata stripped, alpha kept for WebP and flattened on white for
 * JPEG, never enlarged), and when width × height >= image_pyramid_pixels a
 * pyramid and its .dzi (tiles served as fmt); for a whole-slide image also
 * its associated label and macro images. Existing files of those names
 * are replaced. Returns 0, or -1 with err set; files written before a
 * failure may remain and should be discarded with the directory. */
int lp_image_process(const char *path, const char *out_dir, const lp_media_limits *limits, lp_media_format fmt,
                     lp_image_result *result, lp_error *err);

/* The box a model's input is cut from (lp_image_pixels): the image is
 * decoded no larger than needed to fill width × height — contain: the
 * whole image inside the box (a letterboxed input), cover: the box inside
 * the image (a stretched input, each side at least the box's). */
typedef struct lp_image_fit {
    int width, height; /* > 0 */
    int cover;         /* 0 contain, 1 cover */
} lp_image_fit;

/* The longest side lp_image_pixels decodes a width × height (upright)
 * image at: the image's own, at most max_side (when > 0), at most what fit
 * (may be NULL) needs (rounded up; at least 1). Never more than the image's. */
int64_t lp_image_fit_side(int64_t width, int64_t height, int max_side, const lp_image_fit *fit);

/* 1 when the ICC profile data (len bytes) is an RGB profile whose
 * description names sRGB ("sRGB IEC61966-2.1", …; v2 text or v4
 * multi-language), else 0. Pure; reads within len only. */
int lp_icc_is_srgb(const void *data, size_t len);

/* The pixels of path (an allowed image, probed as lp_image_probe does):
 * upright per EXIF, 8-bit sRGB (an embedded sRGB profile is taken as is,
 * lp_icc_is_srgb; any other is applied), alpha flattened on black, shrunk to the
 * longest side lp_image_fit_side gives (never enlarged; JPEGs shrink while
 * they are decoded), as a binary PPM ("P6\n<w> <h>\n255\n" then w × h × 3
 * bytes) in out (new; free with lp_media_blob_free). 0, or -1 with err. */
int lp_image_pixels(const char *path, const lp_media_limits *limits, int max_side, const lp_image_fit *fit,
                    lp_media_blob *out, lp_error *err);

/* Reads the header of a PPM that lp_image_pixels wrote: width, height and
 * the offset of the pixels. 0, or -1 (LP_E_INVALID) when data is not one. */
int lp_image_ppm_parse(const void *data, size_t len, int *width, int *height, size_t *offset, lp_error *err);

#endif
