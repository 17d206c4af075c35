/* The volume requests: a NIfTI original becomes the normalized RAS+ volume
 * and its description (transform), and windowed slices are cut from that
 * volume on request (slice), keeping the most recently used volumes open. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decoder_int.h"
#include "loupe/core/util.h"
#include "loupe/jobs/decoder.h"
#include "loupe/volume/dicom.h"
#include "loupe/volume/meta.h"
#include "loupe/volume/orient.h"
#include "loupe/volume/slice.h"
#include "loupe/volume/volume.h"

/* Open volumes, most recently used first: scrolling through one volume
 * reads it once. */
#define OPEN_VOLUMES 2

static struct open_volume {
    char file[LP_MEDIA_PATH_MAX];
    lp_volume *v;
} open_volumes[OPEN_VOLUMES];

void lp_decoder_volume_end(void)
{
    for (int i = 0; i < OPEN_VOLUMES; i++) {
        lp_volume_free(open_volumes[i].v);
        memset(&open_volumes[i], 0, sizeof open_volumes[i]);
    }
}

static lp_volume_limits volume_limits(const lp_media_limits *l)
{
    return (lp_volume_limits){.max_voxels = l->volume_max_voxels, .max_side = l->volume_max_side};
}

/* The middle axial slice at the first preset, as a JPEG shrunk to max_side. */
static int poster(const lp_volume *v, const lp_volume_window *w, int max_side, const char *path, lp_error *err)
{
    int64_t width, height, count;
    lp_volume_plane_size(v, LP_PLANE_AXIAL, &width, &height, &count);
    uint8_t *px = malloc((size_t)(width * height));
    if (!px)
        return lp_error_set(err, LP_E_NOMEM, "out of memory for a slice");
    int rc = lp_volume_slice(v, LP_PLANE_AXIAL, count / 2, w, px, err) ||
             lp_media_save_grey(px, (int)width, (int)height, max_side, LP_MEDIA_JPEG, 85, path, err);
    free(px);
    return rc ? -1 : 0;
}

/* What the DICOM step found (hints, may be NULL): the modality into v, the
 * declared windows into out; returns how many windows. */
static int hints_read(const json_t *hints, lp_volume *v, lp_volume_window *out)
{
    const char *modality = json_string_value(json_object_get(hints, "modality"));
    const json_t *w;
    size_t i;
    int n = 0;
    if (modality)
        lp_strlcpy(v->modality, modality, sizeof v->modality);
    json_array_foreach(json_object_get(hints, "windows"), i, w) {
        const char *name = json_string_value(json_object_get(w, "name"));
        double width = json_number_value(json_object_get(w, "width"));
        if (!name || !(width > 0) || n >= LP_DICOM_MAX_WINDOWS)
            continue;
        lp_strlcpy(out[n].name, name, sizeof out[n].name);
        out[n].center = json_number_value(json_object_get(w, "center"));
        out[n++].width = width;
    }
    return n;
}

/* The histogram of a volume, made on a thread of its own. */
typedef struct histogram_job {
    const lp_volume *v;
    lp_volume_histogram *h;
    int64_t ms; /* how long it took */
} histogram_job;

static void *histogram_main(void *arg)
{
    histogram_job *j = arg;
    int64_t t0 = lp_now_mono_ms();
    lp_volume_histogram_compute(j->v, j->h);
    j->ms = lp_now_mono_ms() - t0;
    return NULL;
}

json_t *lp_decoder_volume_doc(const lp_decoder_transform_args *a, lp_error *err)
{
    lp_volume_limits vl = volume_limits(&a->limits);
    lp_volume_histogram h;
    lp_volume_window presets[LP_VOLUME_MAX_WINDOWS];
    char path[LP_MEDIA_PATH_MAX], thumb[LP_MEDIA_PATH_MAX], preview[LP_MEDIA_PATH_MAX], variant[64], pvariant[64];
    json_t *doc = NULL, *meta = NULL, *files = NULL;
    int64_t t0 = lp_now_mono_ms();
    lp_volume *v = lp_volume_read_nifti(a->src, &vl, err);
    int64_t t_read = lp_now_mono_ms();
    /* A DICOM series' NIfTI is the converter's intermediate file (in the
     * memory-backed scratch directory): gone once read, so that it and the
     * normalized volume never take room there at once. */
    if (a->hints)
        unlink(a->src);
    if (!v || lp_volume_to_ras(v, err) != 0)
        goto cleanup;
    int64_t t_ras = lp_now_mono_ms();
    lp_volume_window declared[LP_VOLUME_MAX_WINDOWS];
    int ndeclared = hints_read(a->hints, v, declared);
    /* the histogram on the second core while this thread writes the volume:
     * both only read the voxels */
    histogram_job hj = {.v = v, .h = &h};
    pthread_t tid;
    int threaded = pthread_create(&tid, NULL, histogram_main, &hj) == 0;
    /* gzip or not (volume_gzip_level): the 3D viewer reads either; the name says which */
    const char *name = a->limits.volume_gzip_level > 0 ? "volume.nii.gz" : "volume.nii";
    snprintf(path, sizeof path, "%s/%s", a->out_dir, name);
    snprintf(thumb, sizeof thumb, "%s/thumbnail.jpg", a->out_dir);
    snprintf(preview, sizeof preview, "%s/preview.jpg", a->out_dir);
    int written = lp_volume_write_nifti(v, path, a->limits.volume_gzip_level, err);
    int64_t t_write = lp_now_mono_ms();
    if (threaded)
        pthread_join(tid, NULL);
    else
        histogram_main(&hj);
    if (written != 0)
        goto cleanup;
    int n = lp_volume_presets(v, &h, declared, ndeclared, presets);
    int64_t t_joined = lp_now_mono_ms();
    if (poster(v, &presets[0], a->limits.thumbnail_size, thumb, err) ||
        poster(v, &presets[0], a->limits.preview_size, preview, err))
        goto cleanup;
    int64_t t_posters = lp_now_mono_ms();
    snprintf(variant, sizeof variant, "slice-%d.jpg", a->limits.thumbnail_size);
    snprintf(pvariant, sizeof pvariant, "slice-%d.jpg", a->limits.preview_size);
    files = json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}", "volume", "file", name,
                      "variant", a->limits.volume_gzip_level > 0 ? "volume-ras.nii.gz" : "volume-ras.nii",
                      "content_type", a->limits.volume_gzip_level > 0 ? "application/gzip" : "application/octet-stream",
                      "thumbnail", "file",
                      "thumbnail.jpg", "variant", variant, "content_type", "image/jpeg", "preview", "file",
                      "preview.jpg", "variant", pvariant, "content_type", "image/jpeg");
    meta = lp_volume_metadata(v, NULL, presets, n, &h);
    if (!files || !meta) {
        lp_error_set(err, LP_E_NOMEM, "out of memory describing the volume");
        goto cleanup;
    }
    json_object_set_new(meta, "kind", json_string("volume"));
    if (a->hints)
        json_object_set_new(meta, "source",
                            json_pack("{s:s, s:O?, s:b, s:s}", "format", "dicom", "files",
                                      json_object_get(a->hints, "files"), "deidentified", 1, "profile",
                                      LP_DICOM_PROFILE));
    /* width × height and frames: the primary (axial) plane, whose slice index is an annotation's frame */
    /* how long each step took (the worker logs them at debug level) */
    doc = json_pack("{s:b, s:I, s:I, s:i, s:s, s:I, s:O, s:O, s:{s:I, s:I, s:I, s:I, s:I}}", "ok", 1, "width",
                    (json_int_t)v->dim[0], "height", (json_int_t)v->dim[1], "rotation", 0, "format",
                    a->hints ? "dicom" : "nifti", "frame_count", (json_int_t)v->dim[2], "media", meta, "files", files,
                    "timings", "read_ms", (json_int_t)(t_read - t0), "ras_ms", (json_int_t)(t_ras - t_read),
                    "histogram_ms", (json_int_t)hj.ms, "write_ms", (json_int_t)(t_write - t_ras),
                    "posters_ms", (json_int_t)(t_posters - t_joined));
    if (!doc)
        lp_error_set(err, LP_E_NOMEM, "out of memory describing the volume");
cleanup:
    json_decref(meta);
    json_decref(files);
    lp_volume_free(v);
    return doc;
}

/* The open volume of file, reading it (evicting the least recently used). */
static const lp_volume *volume_for(const char *file, const lp_media_limits *l, lp_error *err)
{
    struct open_volume tmp;
    int i;
    for (i = 0; i < OPEN_VOLUMES; i++)
        if (open_volumes[i].v && strcmp(open_volumes[i].file, file) == 0)
            break;
    if (i == OPEN_VOLUMES) {
        i = OPEN_VOLUMES - 1;
        lp_volume_free(open_volumes[i].v);
        memset(&open_volumes[i], 0, sizeof open_volumes[i]);
        if (strlen(file) >= sizeof open_volumes[i].file) {
            lp_error_set(err, LP_E_INTERNAL, "the volume's path is too long");
            return NULL;
        }
        lp_volume_limits vl = volume_limits(l);
        lp_volume *v = lp_volume_read_nifti(file, &vl, err);
        if (!v || lp_volume_to_ras(v, err) != 0) { /* a normalized volume is RAS+ already: no copy */
            lp_volume_free(v);
            return NULL;
        }
        open_volumes[i].v = v;
        lp_strlcpy(open_volumes[i].file, file, sizeof open_volumes[i].file);
    }
    tmp = open_volumes[i];
    memmove(&open_volumes[1], &open_volumes[0], (size_t)i * sizeof open_volumes[0]);
    open_volumes[0] = tmp;
    return open_volumes[0].v;
}

int lp_decoder_volume_slice(json_t *req, const lp_media_limits *l, lp_buf *reply, lp_error *err)
{
    const char *op, *file, *plane_name, *format;
    json_int_t index;
    int quality;
    json_t *limits;
    lp_volume_window w = {"request", 0, 1};
    lp_volume_plane plane;
    lp_media_format fmt;
    lp_media_blob blob = {0};
    json_error_t jerr;
    if (json_unpack_ex(req, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:I, s:F, s:F, s:s, s:i, s:o}", "op", &op, "file",
                       &file, "plane", &plane_name, "index", &index, "center", &w.center, "width", &w.width, "format",
                       &format, "quality", &quality, "limits", &limits) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "the decoder received a malformed slice request: %s", jerr.text);
    if (lp_volume_plane_parse(plane_name, &plane) != 0 || !(w.width > 0) || lp_media_format_parse(format, &fmt) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "the decoder received a slice request it cannot serve");
    const lp_volume *v = volume_for(file, l, err);
    if (!v)
        return -1;
    int64_t width, height, count;
    lp_volume_plane_size(v, plane, &width, &height, &count);
    uint8_t *px = index >= 0 && index < count ? malloc((size_t)(width * height)) : NULL;
    if (index >= 0 && index < count && !px)
        return lp_error_set(err, LP_E_NOMEM, "out of memory for a slice");
    int rc = lp_volume_slice(v, plane, index, &w, px, err) ||
             lp_media_encode_grey(px, (int)width, (int)height, fmt, quality, &blob, err);
    free(px);
    if (rc)
        return -1;
    rc = lp_buf_append(reply, blob.data, blob.len);
    lp_media_blob_free(&blob);
    return rc == 0 ? 0 : lp_error_set(err, LP_E_TOO_LARGE, "the slice is larger than a reply may be");
}
