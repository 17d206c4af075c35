/* Media set-up, limits, output formats and the helpers shared by the image
 * and video files: error reporting from libvips and FFmpeg, paths, and
 * encoding libvips images as JPEG or WebP. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <libavutil/error.h>
#include <libavutil/log.h>

#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "media_int.h"

void lp_media_limits_from_config(lp_media_limits *out, const lp_config *cfg)
{
    out->image_max_pixels = cfg->image_max_pixels;
    out->image_pyramid_pixels = cfg->image_pyramid_pixels;
    out->thumbnail_size = (int)cfg->thumbnail_size;
    out->preview_size = (int)cfg->preview_size;
    out->video_max_duration_ms = cfg->video_max_duration;
    out->video_max_frames = cfg->video_max_frames;
    out->video_max_pixels = cfg->video_max_pixels;
    out->video_max_side = cfg->video_max_side;
    lp_strlcpy(out->video_codecs, cfg->video_codecs ? cfg->video_codecs : "", sizeof out->video_codecs);
    out->volume_max_voxels = cfg->volume_max_voxels;
    out->volume_max_side = cfg->volume_max_side;
    out->volume_gzip_level = (int)cfg->volume_gzip_level;
    out->dicom_max_files = cfg->dicom_max_files;
    out->dicom_max_bytes = cfg->dicom_max_bytes;
    out->dicom_threads = (int)cfg->dicom_threads;
    out->dicom_max_series = cfg->dicom_max_series;
}

/* FFmpeg and libvips talk on stderr; their words go to the debug log
 * instead, since every failure is reported through lp_error anyway. */
static void av_log_to_debug(void *avcl, int level, const char *fmt, va_list ap)
{
    if (level > AV_LOG_WARNING || !lp_log_enabled(LP_LOG_DEBUG))
        return;
    char line[512];
    int prefix = 1;
    av_log_format_line2(avcl, level, fmt, ap, line, sizeof line, &prefix);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    if (n > 0)
        lp_log(LP_LOG_DEBUG, "media", "ffmpeg: %s", line);
}

static void vips_log_to_debug(const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
    LP_DEBUG("media", "%s: %s", domain ? domain : "glib", message);
}

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int init_done;

int lp_media_init(const char *argv0, lp_error *err)
{
    int rc = 0;
    pthread_mutex_lock(&init_lock);
    if (!init_done) {
        if (VIPS_INIT(argv0 ? argv0 : "loupe")) {
            rc = lp_media_vips_fail(err, LP_E_INTERNAL, "libvips could not be started");
        } else {
            /* Derived files are written once and each input is read once:
             * a cache would only risk answering for a replaced file. */
            vips_cache_set_max(0);
            g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO,
                              vips_log_to_debug, NULL);
            av_log_set_callback(av_log_to_debug);
            init_done = 1;
        }
    }
    pthread_mutex_unlock(&init_lock);
    return rc;
}

const char *lp_media_format_name(lp_media_format fmt)
{
    return fmt == LP_MEDIA_WEBP ? "webp" : "jpeg";
}

const char *lp_media_format_suffix(lp_media_format fmt)
{
    return fmt == LP_MEDIA_WEBP ? "webp" : "jpg";
}

const char *lp_media_format_mime(lp_media_format fmt)
{
    return fmt == LP_MEDIA_WEBP ? "image/webp" : "image/jpeg";
}

int lp_media_format_parse(const char *s, lp_media_format *out)
{
    if (!s)
        return -1;
    if (!strcasecmp(s, "jpeg") || !strcasecmp(s, "jpg")) {
        *out = LP_MEDIA_JPEG;
        return 0;
    }
    if (!strcasecmp(s, "webp")) {
        *out = LP_MEDIA_WEBP;
        return 0;
    }
    return -1;
}

void lp_media_blob_free(lp_media_blob *b)
{
    if (!b)
        return;
    g_free(b->data);
    b->data = NULL;
    b->len = 0;
}

int lp_media_vips_fail(lp_error *err, lp_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lp_error_vset(err, code, fmt, ap);
    va_end(ap);
    char detail[512];
    lp_strlcpy(detail, vips_error_buffer(), sizeof detail);
    vips_error_clear();
    size_t n = strlen(detail);
    while (n > 0 && (detail[n - 1] == '\n' || detail[n - 1] == ' '))
        detail[--n] = '\0';
    for (char *p = detail; *p; p++)
        if (*p == '\n')
            *p = ' ';
    if (n > 0)
        lp_error_detail(err, "%s", detail);
    return -1;
}

int lp_media_av_fail(lp_error *err, lp_code code, int averr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lp_error_vset(err, code, fmt, ap);
    va_end(ap);
    char text[AV_ERROR_MAX_STRING_SIZE];
    if (av_strerror(averr, text, sizeof text) == 0)
        lp_error_detail(err, "FFmpeg: %s", text);
    return -1;
}

int lp_media_join(char out[LP_MEDIA_PATH_MAX], const char *dir, const char *name, lp_error *err)
{
    int n = snprintf(out, LP_MEDIA_PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= LP_MEDIA_PATH_MAX)
        return lp_error_set(err, LP_E_INVALID, "output directory path is too long (%zu bytes; the limit is %d)",
                            strlen(dir), LP_MEDIA_PATH_MAX - 64);
    return 0;
}

const char *lp_media_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int lp_media_check_file(const char *path, const char *what, lp_error *err)
{
    struct stat st;
    if (!path || !*path)
        return lp_error_set(err, LP_E_INVALID, "no %s file was given", what);
    if (stat(path, &st) != 0)
        return lp_error_set(err, LP_E_IO, "%s file \"%s\" cannot be read: %s", what, lp_media_basename(path),
                            strerror(errno));
    if (!S_ISREG(st.st_mode))
        return lp_error_set(err, LP_E_INVALID, "%s \"%s\" is not a regular file", what, lp_media_basename(path));
    if (st.st_size == 0)
        return lp_error_set(err, LP_E_INVALID, "%s file \"%s\" is empty (0 bytes); upload the file again", what,
                            lp_media_basename(path));
    return 0;
}

/* The image to hand to a saver: JPEG has no alpha, so flatten on white. */
static int saveable(VipsImage *img, lp_media_format fmt, VipsImage **out, lp_error *err)
{
    if (fmt == LP_MEDIA_JPEG && vips_image_hasalpha(img)) {
        VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
        int rc = vips_flatten(img, out, "background", white, NULL);
        vips_area_unref(VIPS_AREA(white));
        if (rc)
            return lp_media_vips_fail(err, LP_E_INTERNAL, "flattening the alpha channel failed");
        return 0;
    }
    g_object_ref(img);
    *out = img;
    return 0;
}

static int quality_or_default(int quality)
{
    return quality >= 1 && quality <= 100 ? quality : 85;
}

int lp_media_save_blob(VipsImage *img, lp_media_format fmt, int quality, lp_media_blob *out, lp_error *err)
{
    VipsImage *in = NULL;
    void *buf = NULL;
    size_t len = 0;
    int q = quality_or_default(quality), rc;
    out->data = NULL;
    out->len = 0;
    if (saveable(img, fmt, &in, err))
        return -1;
    if (fmt == LP_MEDIA_WEBP)
        rc = vips_webpsave_buffer(in, &buf, &len, "Q", q, "strip", TRUE, NULL);
    else
        rc = vips_jpegsave_buffer(in, &buf, &len, "Q", q, "strip", TRUE, NULL);
    g_object_unref(in);
    if (rc)
        return lp_media_vips_fail(err, LP_E_INTERNAL, "encoding a %d×%d image as %s failed", img->Xsize, img->Ysize,
                                  lp_media_format_name(fmt));
    out->data = buf;
    out->len = len;
    return 0;
}

int lp_media_save_file(VipsImage *img, lp_media_format fmt, int quality, const char *path, lp_error *err)
{
    VipsImage *in = NULL;
    int q = quality_or_default(quality), rc;
    if (saveable(img, fmt, &in, err))
        return -1;
    if (fmt == LP_MEDIA_WEBP)
        rc = vips_webpsave(in, path, "Q", q, "strip", TRUE, NULL);
    else
        rc = vips_jpegsave(in, path, "Q", q, "strip", TRUE, NULL);
    g_object_unref(in);
    if (rc)
        return lp_media_vips_fail(err, LP_E_IO, "writing %s \"%s\" failed", lp_media_format_name(fmt),
                                  lp_media_basename(path));
    return 0;
}

/* A packed 8-bit image of `bands` bands (1 grey, 3 sRGB) wrapped without a copy. */
static VipsImage *wrap_packed(const uint8_t *pixels, int width, int height, int bands, lp_error *err)
{
    VipsImage *img = vips_image_new_from_memory(pixels, (size_t)width * (size_t)bands * (size_t)height, width, height,
                                                bands, VIPS_FORMAT_UCHAR);
    if (!img) {
        lp_media_vips_fail(err, LP_E_INTERNAL, "wrapping a %d×%d image failed", width, height);
        return NULL;
    }
    img->Type = bands == 1 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB;
    return img;
}

int lp_media_encode_rgb(const uint8_t *rgb, int width, int height, size_t stride, lp_media_format fmt,
                        int quality, lp_media_blob *out, lp_error *err)
{
    out->data = NULL;
    out->len = 0;
    if (!rgb || width <= 0 || height <= 0 || stride < (size_t)width * 3)
        return lp_error_set(err, LP_E_INVALID, "cannot encode a %d×%d RGB image with rows %zu bytes apart", width,
                            height, stride);
    const size_t row = (size_t)width * 3;
    uint8_t *packed = NULL;
    const uint8_t *pixels = rgb;
    if (stride != row) {
        packed = g_try_malloc(row * (size_t)height);
        if (!packed)
            return lp_error_set(err, LP_E_NOMEM, "out of memory encoding a %d×%d image", width, height);
        for (int y = 0; y < height; y++)
            memcpy(packed + row * (size_t)y, rgb + stride * (size_t)y, row);
        pixels = packed;
    }
    VipsImage *img = wrap_packed(pixels, width, height, 3, err);
    int rc = img ? lp_media_save_blob(img, fmt, quality, out, err) : -1;
    if (img)
        g_object_unref(img);
    g_free(packed);
    return rc;
}

int lp_media_encode_grey(const uint8_t *grey, int width, int height, lp_media_format fmt, int quality,
                         lp_media_blob *out, lp_error *err)
{
    out->data = NULL;
    out->len = 0;
    if (!grey || width <= 0 || height <= 0)
        return lp_error_set(err, LP_E_INVALID, "cannot encode a %d×%d grey image", width, height);
    VipsImage *img = wrap_packed(grey, width, height, 1, err);
    int rc = img ? lp_media_save_blob(img, fmt, quality, out, err) : -1;
    if (img)
        g_object_unref(img);
    return rc;
}

int lp_media_save_grey(const uint8_t *grey, int width, int height, int max_side, lp_media_format fmt, int quality,
                       const char *path, lp_error *err)
{
    if (!grey || width <= 0 || height <= 0)
        return lp_error_set(err, LP_E_INVALID, "cannot write a %d×%d grey image", width, height);
    VipsImage *img = wrap_packed(grey, width, height, 1, err), *small = NULL;
    int rc = -1;
    if (!img)
        return -1;
    if (max_side > 0 && (width > max_side || height > max_side)) {
        if (vips_thumbnail_image(img, &small, max_side, "height", max_side, NULL)) {
            rc = lp_media_vips_fail(err, LP_E_INTERNAL, "shrinking a %d×%d image failed", width, height);
            goto cleanup;
        }
    }
    rc = lp_media_save_file(small ? small : img, fmt, quality, path, err);
cleanup:
    if (small)
        g_object_unref(small);
    g_object_unref(img);
    return rc;
}
