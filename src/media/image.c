/* Images: allow-listed loaders, header checks before decoding, thumbnail,
 * preview and pyramid. See image.h for the contract and docs/MEDIA.md. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openslide.h>

#include "loupe/core/util.h"
#include "loupe/media/deepzoom.h"
#include "loupe/media/image.h"
#include "media_int.h"

/* The allow-list: libvips loaders we trust with uploads, in sniffing order. */
static const struct loader {
    const char *name;   /* libvips loader */
    const char *format; /* lp_image_info.format */
    const char *label;  /* for messages */
} loaders[] = {
    {"jpegload", "jpeg", "JPEG"}, {"pngload", "png", "PNG"},   {"webpload", "webp", "WebP"},
    /* before tiffload: a slide (SVS, NDPI, SCN, a tiled pyramidal TIFF …) is read level by level */
    {"openslideload", "wsi", "Whole-slide image"},
    {"tiffload", "tiff", "TIFF"}, {"gifload", "gif", "GIF"},   {"heifload", "heif", "HEIF"},
    {"jp2kload", "jp2k", "JPEG 2000"},
};

static const struct loader *sniff(const char *path)
{
    for (size_t i = 0; i < sizeof loaders / sizeof loaders[0]; i++)
        if (vips_foreign_is_a(loaders[i].name, path))
            return &loaders[i];
    vips_error_clear();
    return NULL;
}

/* EXIF orientation → what libvips' autorot does (vips_autorot). */
static void orientation_effect(int orientation, int *rotation, int *flipped)
{
    static const int rot[9] = {0, 0, 0, 180, 180, 90, 90, 270, 270};
    static const int flip[9] = {0, 0, 1, 0, 1, 1, 0, 1, 0};
    if (orientation < 1 || orientation > 8)
        orientation = 1;
    *rotation = rot[orientation];
    *flipped = flip[orientation];
}

/* Opens path with its allow-listed loader; pixels are decoded lazily. */
static int open_with(const struct loader *ld, const char *path, VipsAccess access, VipsImage **out, lp_error *err)
{
    if (vips_call(ld->name, path, out, "access", access, "fail_on", VIPS_FAIL_ON_ERROR, NULL))
        return lp_media_vips_fail(err, LP_E_INVALID, "%s file \"%s\" is damaged or truncated: its header cannot be read",
                                  ld->label, lp_media_basename(path));
    return 0;
}

/* OpenSlide's properties of a slide: vendor, microns per pixel, associated images. */
static void slide_info(VipsImage *img, lp_image_info *info)
{
    const char *s = NULL;
    if (!vips_image_get_string(img, "openslide.vendor", &s))
        lp_strlcpy(info->vendor, s, sizeof info->vendor);
    if (!vips_image_get_string(img, "openslide.mpp-x", &s))
        info->mpp_x = g_ascii_strtod(s, NULL);
    if (!vips_image_get_string(img, "openslide.mpp-y", &s))
        info->mpp_y = g_ascii_strtod(s, NULL);
    if (!(info->mpp_x > 0 && info->mpp_x < 1e6 && info->mpp_y > 0 && info->mpp_y < 1e6))
        info->mpp_x = info->mpp_y = 0;
    if (!vips_image_get_string(img, "slide-associated-images", &s)) {
        gchar **names = g_strsplit(s, ",", 0);
        for (gchar **n = names; n && *n; n++) {
            info->has_label |= strcmp(g_strstrip(*n), "label") == 0;
            info->has_macro |= strcmp(*n, "macro") == 0;
        }
        g_strfreev(names);
    }
    vips_error_clear();
}

static int probe(const char *path, const lp_media_limits *limits, lp_image_info *info, const struct loader **ld_out,
                 lp_error *err)
{
    memset(info, 0, sizeof *info);
    if (lp_media_check_file(path, "image", err))
        return -1;
    const struct loader *ld = sniff(path);
    if (!ld) {
        const char *other = vips_foreign_find_load(path); /* a class name: report its nickname */
        if (other)
            other = vips_nickname_find(g_type_from_name(other));
        vips_error_clear();
        lp_error_set(err, LP_E_MEDIA_TYPE, "\"%s\" is not a supported image format (%s%s)", lp_media_basename(path),
                     other ? "detected: " : "content not recognised", other ? other : "");
        return lp_error_hint(err, "Upload JPEG, PNG, WebP, TIFF, GIF, HEIF/AVIF, JPEG 2000 or a whole slide (SVS, NDPI, SCN, MRXS, tiled TIFF).");
    }
    VipsImage *img = NULL;
    if (open_with(ld, path, VIPS_ACCESS_SEQUENTIAL, &img, err))
        return -1;
    lp_strlcpy(info->format, ld->format, sizeof info->format);
    lp_strlcpy(info->loader, ld->name, sizeof info->loader);
    info->stored_width = img->Xsize;
    info->stored_height = img->Ysize;
    info->orientation = vips_image_get_orientation(img);
    orientation_effect(info->orientation, &info->rotation, &info->flipped);
    if (info->orientation < 1 || info->orientation > 8)
        info->orientation = 1;
    int swap = info->rotation == 90 || info->rotation == 270;
    info->width = swap ? info->stored_height : info->stored_width;
    info->height = swap ? info->stored_width : info->stored_height;
    info->bands = img->Bands;
    info->has_alpha = vips_image_hasalpha(img);
    info->bits = (int)vips_format_sizeof(img->BandFmt) * 8;
    lp_strlcpy(info->interpretation, vips_enum_nick(VIPS_TYPE_INTERPRETATION, img->Type), sizeof info->interpretation);
    info->pages = vips_image_get_n_pages(img);
    if (strcmp(ld->name, "openslideload") == 0)
        slide_info(img, info);
    g_object_unref(img);

    int64_t pixels = info->stored_width * info->stored_height;
    if (pixels <= 0)
        return lp_error_set(err, LP_E_INVALID, "%s \"%s\" declares an empty size (%" PRId64 "×%" PRId64 ")", ld->label,
                            lp_media_basename(path), info->stored_width, info->stored_height);
    if (pixels > limits->image_max_pixels) {
        lp_error_set(err, LP_E_TOO_LARGE, "%s is %" PRId64 "×%" PRId64 " pixels; the limit is %" PRId64
                     " pixels (image_max_pixels)", ld->label, info->stored_width, info->stored_height,
                     limits->image_max_pixels);
        return lp_error_hint(err, "Downscale or split the image, or raise image_max_pixels.");
    }
    *ld_out = ld;
    return 0;
}

int lp_image_probe(const char *path, const lp_media_limits *limits, lp_image_info *info, lp_error *err)
{
    const struct loader *ld;
    return probe(path, limits, info, &ld, err);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int lp_icc_is_srgb(const void *data, size_t len)
{
    const unsigned char *p = data;
    if (!p || len < 132 || memcmp(p + 16, "RGB ", 4) != 0)
        return 0;
    uint32_t n = be32(p + 128);
    for (uint32_t i = 0; i < n && 132 + 12 * (size_t)(i + 1) <= len; i++) {
        const unsigned char *e = p + 132 + 12 * (size_t)i;
        uint32_t at = be32(e + 4), size = be32(e + 8);
        if (memcmp(e, "desc", 4) != 0 || at > len || size > len - at || size < 12)
            continue;
        const unsigned char *t = p + at;
        if (memcmp(t, "desc", 4) == 0) { /* ICC v2 textDescriptionType: ASCII */
            uint32_t count = be32(t + 8);
            for (size_t k = 12; count <= size - 12 && k + 4 <= 12 + (size_t)count; k++)
                if (memcmp(t + k, "sRGB", 4) == 0)
                    return 1;
        } else if (memcmp(t, "mluc", 4) == 0 && size >= 16) { /* ICC v4: UTF-16BE records */
            uint32_t records = be32(t + 8), rsize = be32(t + 12);
            for (uint32_t r = 0; rsize >= 12 && r < records && 16 + (size_t)rsize * (r + 1) <= size; r++) {
                const unsigned char *rec = t + 16 + (size_t)rsize * r;
                uint32_t slen = be32(rec + 4), soff = be32(rec + 8);
                if (soff > size || slen > size - soff)
                    continue;
                for (size_t k = soff; k + 8 <= (size_t)soff + slen; k += 2)
                    if (memcmp(t + k, "\0s\0R\0G\0B", 8) == 0)
                        return 1;
            }
        }
        return 0;
    }
    return 0;
}

/* Any image → 8-bit sRGB (1 band grey stays grey only via sRGB: 3 bands),
 * alpha kept, ICC profile applied and then dropped — unless trust_srgb and
 * the profile says it is sRGB: then the pixels are taken as they are (no
 * colour transform to build). *out is new. */
static int to_srgb8(VipsImage *in, int trust_srgb, VipsImage **out, lp_error *err)
{
    VipsImage *t = NULL;
    int icc = vips_image_get_typeof(in, VIPS_META_ICC_NAME) != 0;
    if (icc && trust_srgb) {
        const void *blob = NULL;
        size_t len = 0;
        if (vips_image_get_blob(in, VIPS_META_ICC_NAME, &blob, &len) == 0 && lp_icc_is_srgb(blob, len))
            icc = 0;
        vips_error_clear();
    }
    if (in->Type == VIPS_INTERPRETATION_CMYK) {
        if (vips_icc_transform(in, &t, "srgb", "input_profile", "cmyk", "embedded", TRUE, "depth", 8, NULL))
            return lp_media_vips_fail(err, LP_E_INVALID, "converting CMYK to sRGB failed");
    } else if (icc && in->Bands >= 3 &&
               !vips_icc_transform(in, &t, "srgb", "embedded", TRUE, "depth", 8, NULL)) {
        /* converted with the embedded profile */
    } else {
        vips_error_clear(); /* a broken embedded profile: fall back to plain conversion */
        if (vips_colourspace(in, &t, VIPS_INTERPRETATION_sRGB, NULL))
            return lp_media_vips_fail(err, LP_E_INVALID, "converting %s to sRGB failed",
                                      vips_enum_nick(VIPS_TYPE_INTERPRETATION, in->Type));
    }
    if (t->BandFmt != VIPS_FORMAT_UCHAR) {
        VipsImage *c = NULL;
        int rc = vips_cast_uchar(t, &c, NULL);
        g_object_unref(t);
        if (rc)
            return lp_media_vips_fail(err, LP_E_INTERNAL, "converting to 8 bits per sample failed");
        t = c;
    }
    VipsImage *c = NULL;
    int rc = vips_copy(t, &c, NULL);
    g_object_unref(t);
    if (rc)
        return lp_media_vips_fail(err, LP_E_INTERNAL, "copying the converted image failed");
    vips_image_remove(c, VIPS_META_ICC_NAME);
    c->Type = VIPS_INTERPRETATION_sRGB;
    *out = c;
    return 0;
}

/* Rotations other than a horizontal flip read the source out of order. */
static VipsAccess access_for(const lp_image_info *info)
{
    return info->orientation <= 2 ? VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM;
}

/* The factor a JPEG of longest side `longest` is shrunk by while it is decoded (libjpeg scales its
 * blocks: 8, 4 or 2) for a longest side of at least size: the largest that keeps that many pixels,
 * 1 when none does. */
static int jpeg_shrink(int64_t longest, int size)
{
    int k = 8;
    while (k > 1 && (longest + k - 1) / k < size)
        k /= 2;
    return k;
}

/* Upright image of longest side at most size, shrinking on load when
 * libvips would open path with the same loader we allow. A model's pixels
 * (trust_srgb) of a JPEG are shrunk by the JPEG decoder as far as size
 * allows (vips_thumbnail leaves a factor of 2 to 4 to its own resampling,
 * decoding a 480 × 480 JPEG whole for a 128 × 128 input); the rest as
 * vips_thumbnail would. *out is new. */
static int shrink(const char *path, const struct loader *ld, const lp_image_info *info, int size, int trust_srgb,
                  VipsImage **out, lp_error *err)
{
    VipsImage *t = NULL;
    int k = trust_srgb && strcmp(ld->name, "jpegload") == 0
                ? jpeg_shrink(info->stored_width > info->stored_height ? info->stored_width : info->stored_height, size)
                : 1;
    if (k > 1) {
        VipsImage *img = NULL;
        if (vips_jpegload(path, &img, "shrink", k, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR,
                          NULL))
            return lp_media_vips_fail(err, LP_E_INVALID, "%s \"%s\" cannot be decoded", ld->label,
                                      lp_media_basename(path));
        int rc = vips_thumbnail_image(img, &t, size, "height", size, "size", VIPS_SIZE_DOWN, NULL);
        g_object_unref(img);
        if (rc)
            return lp_media_vips_fail(err, LP_E_INVALID, "%s \"%s\" cannot be decoded", ld->label,
                                      lp_media_basename(path));
        rc = to_srgb8(t, trust_srgb, out, err);
        g_object_unref(t);
        return rc;
    }
    /* vips_foreign_find_load names a class; compare its nickname ("jpegload") */
    const char *vips_choice = vips_foreign_find_load(path);
    if (vips_choice)
        vips_choice = vips_nickname_find(g_type_from_name(vips_choice));
    vips_error_clear();
    if (vips_choice && !strcmp(vips_choice, ld->name)) {
        if (vips_thumbnail(path, &t, size, "height", size, "size", VIPS_SIZE_DOWN, "fail_on", VIPS_FAIL_ON_ERROR,
                           NULL))
            return lp_media_vips_fail(err, LP_E_INVALID, "%s \"%s\" cannot be decoded", ld->label,
                                      lp_media_basename(path));
    } else {
        VipsImage *img = NULL;
        if (open_with(ld, path, access_for(info), &img, err))
            return -1;
        int rc = vips_thumbnail_image(img, &t, size, "height", size, "size", VIPS_SIZE_DOWN, NULL);
        g_object_unref(img);
        if (rc)
            return lp_media_vips_fail(err, LP_E_INVALID, "%s \"%s\" cannot be decoded", ld->label,
                                      lp_media_basename(path));
    }
    int rc = to_srgb8(t, trust_srgb, out, err);
    g_object_unref(t);
    return rc;
}

static int make_pyramid(const char *path, const struct loader *ld, const lp_image_info *info, const char *out_path,
                        lp_error *err)
{
    VipsImage *img = NULL, *up = NULL, *srgb = NULL, *flat = NULL;
    int rc = -1;
    if (open_with(ld, path, access_for(info), &img, err))
        goto cleanup;
    if (vips_autorot(img, &up, NULL)) {
        lp_media_vips_fail(err, LP_E_INVALID, "%s \"%s\" cannot be rotated upright", ld->label, lp_media_basename(path));
        goto cleanup;
    }
    if (to_srgb8(up, 0, &srgb, err))
        goto cleanup;
    if (vips_image_hasalpha(srgb)) {
        VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
        int frc = vips_flatten(srgb, &flat, "background", white, NULL);
        vips_area_unref(VIPS_AREA(white));
        if (frc) {
            lp_media_vips_fail(err, LP_E_INTERNAL, "flattening the alpha channel failed");
            goto cleanup;
        }
    } else {
        flat = srgb;
        g_object_ref(flat);
    }
    if (vips_tiffsave(flat, out_path, "tile", TRUE, "tile_width", 256, "tile_height", 256, "pyramid", TRUE,
                      "compression", VIPS_FOREIGN_TIFF_COMPRESSION_JPEG, "Q", 85, "bigtiff", TRUE, "strip", TRUE,
                      NULL)) {
        lp_media_vips_fail(err, LP_E_INVALID, "%s \"%s\" could not be decoded into a pyramid", ld->label,
                           lp_media_basename(path));
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (flat)
        g_object_unref(flat);
    if (srgb)
        g_object_unref(srgb);
    if (up)
        g_object_unref(up);
    if (img)
        g_object_unref(img);
    return rc;
}

/* A slide's associated image `name` (at most max_pixels) as fmt into out_path.
 * Read through OpenSlide itself: libvips 8.14's openslideload crashes on
 * associated images. OpenSlide gives premultiplied ARGB; the saved image is
 * RGB (un-premultiplied; associated images are opaque in practice). */
static int save_associated(const char *path, const char *name, int64_t max_pixels, lp_media_format fmt,
                           const char *out_path, lp_error *err)
{
    openslide_t *osr = openslide_open(path);
    uint32_t *argb = NULL;
    uint8_t *rgb = NULL;
    VipsImage *img = NULL;
    int64_t w = -1, h = -1;
    int rc = -1;
    if (!osr || openslide_get_error(osr)) {
        lp_error_set(err, LP_E_INVALID, "the slide's %s image cannot be read", name);
        goto cleanup;
    }
    openslide_get_associated_image_dimensions(osr, name, &w, &h);
    if (w < 1 || h < 1 || w > max_pixels / h) {
        lp_error_set(err, w < 1 || h < 1 ? LP_E_INVALID : LP_E_TOO_LARGE,
                     "the slide's %s image is missing or larger than image_max_pixels", name);
        goto cleanup;
    }
    size_t n = (size_t)w * (size_t)h;
    if (!(argb = malloc(n * 4)) || !(rgb = malloc(n * 3))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory for the slide's %s image", name);
        goto cleanup;
    }
    openslide_read_associated_image(osr, name, argb);
    if (openslide_get_error(osr)) {
        lp_error_set(err, LP_E_INVALID, "the slide's %s image cannot be read", name);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t p = argb[i], a = p >> 24;
        for (int c = 0; c < 3; c++) {
            uint32_t v = (p >> (16 - 8 * c)) & 0xFF; /* R, G, B */
            if (a == 0)
                v = 255; /* transparent: white, as a slide's background */
            else if (a < 255)
                v = (v * 255 + a / 2) / a > 255 ? 255 : (v * 255 + a / 2) / a;
            rgb[3 * i + (size_t)c] = (uint8_t)v;
        }
    }
    if (!(img = vips_image_new_from_memory(rgb, n * 3, (int)w, (int)h, 3, VIPS_FORMAT_UCHAR))) {
        lp_media_vips_fail(err, LP_E_NOMEM, "the slide's %s image cannot be made", name);
        goto cleanup;
    }
    img->Type = VIPS_INTERPRETATION_sRGB;
    rc = lp_media_save_file(img, fmt, 85, out_path, err);
cleanup:
    if (img)
        g_object_unref(img);
    free(rgb);
    free(argb);
    if (osr)
        openslide_close(osr);
    return rc;
}

int lp_image_process(const char *path, const char *out_dir, const lp_media_limits *limits, lp_media_format fmt,
                     lp_image_result *result, lp_error *err)
{
    const struct loader *ld = NULL;
    VipsImage *preview = NULL, *preview_mem = NULL, *thumb = NULL;
    char name[32];
    int rc = -1;
    memset(result, 0, sizeof *result);
    if (probe(path, limits, &result->info, &ld, err))
        return -1;
    const lp_image_info *info = &result->info;
    lp_image_outputs *files = &result->files;

    /* Preview first, kept in memory: the thumbnail is cut from it. */
    if (shrink(path, ld, info, limits->preview_size, 0, &preview, err))
        goto cleanup;
    if (!(preview_mem = vips_image_copy_memory(preview))) {
        lp_media_vips_fail(err, LP_E_INVALID, "%s \"%s\" cannot be decoded", ld->label, lp_media_basename(path));
        goto cleanup;
    }
    snprintf(name, sizeof name, "preview.%s", lp_media_format_suffix(fmt));
    if (lp_media_join(files->preview, out_dir, name, err) ||
        lp_media_save_file(preview_mem, fmt, 85, files->preview, err))
        goto cleanup;
    result->preview_width = preview_mem->Xsize;
    result->preview_height = preview_mem->Ysize;

    if (limits->thumbnail_size <= limits->preview_size) {
        int ts = limits->thumbnail_size;
        if (vips_thumbnail_image(preview_mem, &thumb, ts, "height", ts, "size", VIPS_SIZE_DOWN, NULL)) {
            lp_media_vips_fail(err, LP_E_INTERNAL, "making the thumbnail of \"%s\" failed", lp_media_basename(path));
            goto cleanup;
        }
    } else if (shrink(path, ld, info, limits->thumbnail_size, 0, &thumb, err)) {
        goto cleanup;
    }
    snprintf(name, sizeof name, "thumbnail.%s", lp_media_format_suffix(fmt));
    if (lp_media_join(files->thumbnail, out_dir, name, err) ||
        lp_media_save_file(thumb, fmt, 80, files->thumbnail, err))
        goto cleanup;
    result->thumbnail_width = thumb->Xsize;
    result->thumbnail_height = thumb->Ysize;

    if (info->width * info->height >= limits->image_pyramid_pixels) {
        if (lp_media_join(files->pyramid, out_dir, "pyramid.tif", err) ||
            make_pyramid(path, ld, info, files->pyramid, err) ||
            lp_media_join(files->dzi, out_dir, "image.dzi", err) ||
            lp_deepzoom_write_dzi(files->dzi, info->width, info->height, fmt, err))
            goto cleanup;
        result->has_pyramid = 1;
    }
    snprintf(name, sizeof name, "label.%s", lp_media_format_suffix(fmt));
    if (info->has_label &&
        (lp_media_join(files->label, out_dir, name, err) ||
         save_associated(path, "label", limits->image_max_pixels, fmt, files->label, err)))
        goto cleanup;
    snprintf(name, sizeof name, "macro.%s", lp_media_format_suffix(fmt));
    if (info->has_macro &&
        (lp_media_join(files->macro, out_dir, name, err) ||
         save_associated(path, "macro", limits->image_max_pixels, fmt, files->macro, err)))
        goto cleanup;
    rc = 0;
cleanup:
    if (thumb)
        g_object_unref(thumb);
    if (preview_mem)
        g_object_unref(preview_mem);
    if (preview)
        g_object_unref(preview);
    return rc;
}

int64_t lp_image_fit_side(int64_t width, int64_t height, int max_side, const lp_image_fit *fit)
{
    int64_t longest = width > height ? width : height, side = longest;
    if (max_side > 0 && max_side < side)
        side = max_side;
    if (fit && fit->width > 0 && fit->height > 0 && width > 0 && height > 0) {
        double sx = (double)fit->width / (double)width, sy = (double)fit->height / (double)height;
        double s = fit->cover ? (sx > sy ? sx : sy) : (sx < sy ? sx : sy);
        double need = ceil(s * (double)longest - 1e-9);
        if (need < (double)side)
            side = need < 1 ? 1 : (int64_t)need;
    }
    return side;
}

int lp_image_pixels(const char *path, const lp_media_limits *limits, int max_side, const lp_image_fit *fit,
                    lp_media_blob *out, lp_error *err)
{
    const struct loader *ld = NULL;
    lp_image_info info;
    VipsImage *img = NULL, *flat = NULL, *rgb = NULL;
    void *mem = NULL;
    size_t len = 0;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (probe(path, limits, &info, &ld, err))
        return -1;
    /* an sRGB-tagged image (most photographs) needs no colour transform to be sRGB: building one
     * per image cost more than decoding it */
    if (shrink(path, ld, &info, (int)lp_image_fit_side(info.width, info.height, max_side, fit), 1, &img, err))
        return -1;
    if (vips_image_hasalpha(img) ? vips_flatten(img, &flat, NULL) : vips_copy(img, &flat, NULL)) {
        lp_media_vips_fail(err, LP_E_INVALID, "%s \"%s\" cannot be flattened", ld->label, lp_media_basename(path));
        goto cleanup;
    }
    if (vips_extract_band(flat, &rgb, 0, "n", 3, NULL) || !(mem = vips_image_write_to_memory(rgb, &len))) {
        lp_media_vips_fail(err, LP_E_INVALID, "%s \"%s\" cannot be decoded", ld->label, lp_media_basename(path));
        goto cleanup;
    }
    char head[48];
    int n = snprintf(head, sizeof head, "P6\n%d %d\n255\n", rgb->Xsize, rgb->Ysize);
    if (!(out->data = g_try_malloc((size_t)n + len))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory holding the pixels of \"%s\"", lp_media_basename(path));
        goto cleanup;
    }
    memcpy(out->data, head, (size_t)n);
    memcpy((char *)out->data + n, mem, len);
    out->len = (size_t)n + len;
    rc = 0;

cleanup:
    g_free(mem);
    if (rgb)
        g_object_unref(rgb);
    if (flat)
        g_object_unref(flat);
    if (img)
        g_object_unref(img);
    return rc;
}

int lp_image_ppm_parse(const void *data, size_t len, int *width, int *height, size_t *offset, lp_error *err)
{
    char head[48];
    int n = 0, w = 0, h = 0;
    size_t k = len < sizeof head - 1 ? len : sizeof head - 1;
    memcpy(head, data, k);
    head[k] = '\0';
    /* the one byte after "255" ends the header: pixels may start with white space */
    if (sscanf(head, "P6\n%d %d\n255%n", &w, &h, &n) != 2 || n <= 0 || (size_t)n >= k || head[n++] != '\n' ||
        w <= 0 || h <= 0 || (uint64_t)w * (uint64_t)h * 3 != len - (size_t)n)
        return lp_error_set(err, LP_E_INVALID, "the decoder's pixels are not a %s", "P6 image of the size it says");
    *width = w;
    *height = h;
    *offset = (size_t)n;
    return 0;
}
