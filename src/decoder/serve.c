/* Requests to loupe-decoder: transform, frame, window, tile, slice (and probe in test
 * builds). See loupe/jobs/decoder.h for the protocol. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "decoder_int.h"
#include "loupe/core/util.h"
#include "loupe/jobs/decoder.h"
#include "loupe/media/deepzoom.h"
#include "loupe/media/image.h"
#include "loupe/media/video_index.h"
#include "loupe/media/video_reader.h"
#include "loupe/media/video_thumbs.h"

/* Open frame sources, most recently used first: stepping through one video
 * costs one decode per frame. */
#define READERS 2

static struct reader_slot {
    char file[LP_MEDIA_PATH_MAX];
    lp_video_index *index;
    lp_video_reader *reader;
} readers[READERS];

static void reader_close(struct reader_slot *r)
{
    lp_video_reader_close(r->reader);
    lp_video_index_free(r->index);
    memset(r, 0, sizeof *r);
}

void lp_decoder_serve_end(void)
{
    for (int i = 0; i < READERS; i++)
        reader_close(&readers[i]);
    lp_decoder_volume_end();
}

static int reply_json(lp_buf *reply, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    int rc = text ? lp_buf_puts(reply, text) : -1;
    free(text);
    json_decref(doc);
    return rc;
}

static json_t *error_json(const lp_error *err)
{
    return json_pack("{s:s, s:s, s:s}", "code", lp_code_name(err->code), "message",
                     err->message[0] ? err->message : "processing failed without a message", "detail", err->detail);
}

static int limits_parse(json_t *o, lp_media_limits *l, lp_error *err)
{
    json_error_t jerr;
    const char *codecs = NULL;
    memset(l, 0, sizeof *l);
    if (json_unpack_ex(o, &jerr, JSON_STRICT, "{s:I, s:I, s:i, s:i, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:i, s:I, s:I, s:i, s:I}", "image_max_pixels",
                       &l->image_max_pixels, "image_pyramid_pixels", &l->image_pyramid_pixels, "thumbnail_size",
                       &l->thumbnail_size, "preview_size", &l->preview_size, "video_max_duration_ms",
                       &l->video_max_duration_ms, "video_max_frames", &l->video_max_frames, "video_max_pixels",
                       &l->video_max_pixels, "video_max_side", &l->video_max_side, "video_codecs", &codecs,
                       "volume_max_voxels", &l->volume_max_voxels, "volume_max_side", &l->volume_max_side,
                       "volume_gzip_level", &l->volume_gzip_level,
                       "dicom_max_files", &l->dicom_max_files, "dicom_max_bytes", &l->dicom_max_bytes,
                       "dicom_threads", &l->dicom_threads, "dicom_max_series", &l->dicom_max_series) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "the decoder received malformed limits: %s", jerr.text);
    if (strlen(codecs) >= sizeof l->video_codecs)
        return lp_error_set(err, LP_E_INTERNAL, "the decoder received malformed limits: video_codecs is too long");
    memcpy(l->video_codecs, codecs, strlen(codecs) + 1);
    return 0;
}

static int format_parse(const char *s, lp_media_format *fmt, lp_error *err)
{
    if (lp_media_format_parse(s, fmt) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "the decoder received an unknown image format");
    return 0;
}

/* The open reader of file, opening it (evicting the least recently used). */
static lp_video_reader *reader_for(const char *file, const char *index, const lp_media_limits *l, lp_error *err)
{
    struct reader_slot tmp;
    int i;
    for (i = 0; i < READERS; i++)
        if (readers[i].reader && strcmp(readers[i].file, file) == 0)
            break;
    if (i == READERS) {
        i = READERS - 1;
        reader_close(&readers[i]);
        if (strlen(file) >= sizeof readers[i].file) {
            lp_error_set(err, LP_E_INTERNAL, "the frame source's path is too long");
            return NULL;
        }
        if (lp_video_index_load(index, l->video_max_frames, &readers[i].index, err) != 0)
            return NULL;
        if (!(readers[i].reader = lp_video_reader_open(file, readers[i].index, l, err))) {
            reader_close(&readers[i]);
            return NULL;
        }
        lp_strlcpy(readers[i].file, file, sizeof readers[i].file);
    }
    tmp = readers[i];
    memmove(&readers[1], &readers[0], (size_t)i * sizeof readers[0]);
    readers[0] = tmp;
    return readers[0].reader;
}

static int frame(json_t *req, lp_buf *reply, lp_error *err)
{
    const char *file, *index, *format;
    json_int_t n;
    int quality;
    json_t *limits;
    lp_media_limits l;
    lp_media_format fmt;
    lp_media_blob blob = {0};
    json_error_t jerr;
    if (json_unpack_ex(req, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:I, s:s, s:i, s:o}", "op", &format, "file", &file,
                       "index", &index, "n", &n, "format", &format, "quality", &quality, "limits", &limits) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "the decoder received a malformed frame request: %s", jerr.text);
    if (limits_parse(limits, &l, err) || format_parse(format, &fmt, err))
        return -1;
    lp_video_reader *r = reader_for(file, index, &l, err);
    if (!r)
        return -1;
    if (lp_video_reader_encode(r, n, fmt, quality, &blob, err) != 0) {
        /* a reader that failed may be mid-way: start afresh next time */
        reader_close(&readers[0]);
        return -1;
    }
    int rc = lp_buf_append(reply, blob.data, blob.len);
    lp_media_blob_free(&blob);
    return rc == 0 ? 0 : lp_error_set(err, LP_E_TOO_LARGE, "the frame is larger than a reply may be");
}

static int window(json_t *req, lp_buf *reply, lp_error *err)
{
    const char *file, *index, *op;
    lp_video_window w;
    json_int_t from;
    int quality;
    json_t *limits;
    lp_media_limits l;
    lp_media_blob blob = {0};
    json_error_t jerr;
    if (json_unpack_ex(req, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:o}", "op", &op,
                       "file", &file, "index", &index, "from", &from, "count", &w.count, "width", &w.tile_width,
                       "height", &w.tile_height, "columns", &w.columns, "quality", &quality, "limits", &limits) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "the decoder received a malformed window request: %s", jerr.text);
    w.from = from;
    if (limits_parse(limits, &l, err))
        return -1;
    lp_video_reader *r = reader_for(file, index, &l, err);
    if (!r)
        return -1;
    if (lp_video_window_encode(r, &w, LP_MEDIA_JPEG, quality, &blob, err) != 0) {
        reader_close(&readers[0]);
        return -1;
    }
    int rc = lp_buf_append(reply, blob.data, blob.len);
    lp_media_blob_free(&blob);
    return rc == 0 ? 0 : lp_error_set(err, LP_E_TOO_LARGE, "the window is larger than a reply may be");
}

static int tile(json_t *req, lp_buf *reply, lp_error *err)
{
    const char *file, *format;
    int level;
    json_int_t col, row;
    lp_media_format fmt;
    lp_media_blob blob = {0};
    json_error_t jerr;
    if (json_unpack_ex(req, &jerr, JSON_STRICT, "{s:s, s:s, s:i, s:I, s:I, s:s}", "op", &format, "file", &file,
                       "level", &level, "col", &col, "row", &row, "format", &format) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "the decoder received a malformed tile request: %s", jerr.text);
    if (format_parse(format, &fmt, err) || lp_deepzoom_tile(file, level, col, row, fmt, &blob, err) != 0)
        return -1;
    int rc = lp_buf_append(reply, blob.data, blob.len);
    lp_media_blob_free(&blob);
    return rc == 0 ? 0 : lp_error_set(err, LP_E_TOO_LARGE, "the tile is larger than a reply may be");
}

static int transform(json_t *req, lp_buf *reply, lp_error *err)
{
    lp_decoder_transform_args a;
    json_t *limits, *doc;
    const char *op;
    json_error_t jerr;
    memset(&a, 0, sizeof a);
    if (json_unpack_ex(req, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:s, s:o, s?s, s?o}", "op", &op, "src", &a.src,
                       "out_dir", &a.out_dir, "type", &a.type, "limits", &limits, "key", &a.key, "hints", &a.hints) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "the decoder received a malformed request: %s", jerr.text);
    if (limits_parse(limits, &a.limits, err))
        return -1;
    /* A file's problems are part of the document, not a failed request. */
    doc = lp_decoder_transform_doc(&a, err);
    if (!doc) {
        if (err->code == LP_OK)
            lp_error_set(err, LP_E_INTERNAL, "processing failed without a message");
        doc = error_json(err);
        if (doc)
            json_object_set_new(doc, "ok", json_false());
        lp_error_clear(err);
    }
    if (reply_json(reply, doc) != 0)
        return lp_error_set(err, LP_E_NOMEM, "out of memory describing the result");
    return 0;
}

static int pixels(json_t *req, lp_buf *reply, lp_error *err)
{
    const char *file, *op, *mode = NULL;
    int max_side;
    json_t *limits, *fit_doc = NULL;
    lp_media_limits l;
    lp_media_blob blob = {0};
    lp_image_fit fit = {0, 0, 0};
    json_error_t jerr;
    if (json_unpack_ex(req, &jerr, JSON_STRICT, "{s:s, s:s, s:i, s:o, s?o}", "op", &op, "file", &file, "max_side",
                       &max_side, "limits", &limits, "fit", &fit_doc) != 0 ||
        (fit_doc && json_unpack_ex(fit_doc, &jerr, JSON_STRICT, "{s:i, s:i, s:s}", "width", &fit.width, "height",
                                   &fit.height, "mode", &mode) != 0))
        return lp_error_set(err, LP_E_INTERNAL, "the decoder received a malformed pixels request: %s", jerr.text);
    fit.cover = mode && strcmp(mode, "cover") == 0;
    if (limits_parse(limits, &l, err) || lp_image_pixels(file, &l, max_side, fit_doc ? &fit : NULL, &blob, err) != 0)
        return -1;
    int rc = lp_buf_append(reply, blob.data, blob.len);
    lp_media_blob_free(&blob);
    return rc == 0 ? 0 : lp_error_set(err, LP_E_TOO_LARGE, "the image is larger than a reply may be");
}

static int slice(json_t *req, lp_buf *reply, lp_error *err)
{
    lp_media_limits l;
    if (limits_parse(json_object_get(req, "limits"), &l, err))
        return -1;
    return lp_decoder_volume_slice(req, &l, reply, err);
}

int lp_decoder_serve(const char *text, size_t len, lp_buf *reply)
{
    lp_error err;
    json_error_t jerr;
    json_t *req = json_loadb(text, len, 0, &jerr);
    const char *op = json_string_value(json_object_get(req, "op"));
    int rc = -1;

    lp_error_clear(&err);
    if (!op)
        lp_error_set(&err, LP_E_INTERNAL, "the decoder received a request without an op");
    else if (lp_media_init(NULL, &err) != 0)
        ;
    else if (strcmp(op, "transform") == 0)
        rc = transform(req, reply, &err);
    else if (strcmp(op, "frame") == 0)
        rc = frame(req, reply, &err);
    else if (strcmp(op, "window") == 0)
        rc = window(req, reply, &err);
    else if (strcmp(op, "tile") == 0)
        rc = tile(req, reply, &err);
    else if (strcmp(op, "slice") == 0)
        rc = slice(req, reply, &err);
    else if (strcmp(op, "pixels") == 0)
        rc = pixels(req, reply, &err);
#ifdef LP_DECODER_PROBE
    else if (strcmp(op, "probe") == 0)
        rc = lp_decoder_probe(json_string_value(json_object_get(req, "what")),
                              json_string_value(json_object_get(req, "arg")), reply);
#endif
    else
        lp_error_set(&err, LP_E_INTERNAL, "the decoder knows no op \"%.32s\"", op);
    json_decref(req);
    if (rc == 0)
        return LP_DECODER_OK;
    lp_buf_reset(reply);
    if (err.code == LP_OK)
        lp_error_set(&err, LP_E_INTERNAL, "decoding failed without a message");
    reply_json(reply, error_json(&err));
    return LP_DECODER_FAILED;
}
