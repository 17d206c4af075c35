/* The transform request: an original becomes the derived files Loupe
 * serves, described by one JSON document (loupe/jobs/decoder.h). */
#include "decoder_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/jobs/decoder.h"
#include "loupe/media/image.h"
#include "loupe/media/video.h"
#include "loupe/media/video_index.h"
#include "loupe/media/video_ingest.h"
#include "loupe/media/video_manifest.h"
#include "loupe/media/video_mezzanine.h"
#include "loupe/media/video_reader.h"
#include "loupe/media/video_thumbs.h"

#define SPRITE_TILE_SIDE 160
#define SPRITE_COLUMNS 10
#define SPRITE_MAX_TILES 60
#define SPRITE_MIN_INTERVAL_MS 1000

/* Adds files[name] = {file, variant, content_type} when path is set. */
static int add_file(json_t *files, const char *name, const char *path, const char *variant, const char *type)
{
    if (!path || !*path)
        return 0;
    const char *slash = strrchr(path, '/');
    return json_object_set_new(files, name,
                               json_pack("{s:s, s:s, s:s}", "file", slash ? slash + 1 : path, "variant", variant,
                                         "content_type", type));
}

static json_t *image_doc(const lp_decoder_transform_args *a, lp_error *err)
{
    lp_image_result res;
    char thumb[64], preview[64];
    if (lp_image_process(a->src, a->out_dir, &a->limits, LP_MEDIA_JPEG, &res, err))
        return NULL;
    const lp_image_info *in = &res.info;
    snprintf(thumb, sizeof thumb, "thumb-%d.jpg", a->limits.thumbnail_size);
    snprintf(preview, sizeof preview, "preview-%d.jpg", a->limits.preview_size);
    json_t *files = json_object();
    add_file(files, "thumbnail", res.files.thumbnail, thumb, "image/jpeg");
    add_file(files, "preview", res.files.preview, preview, "image/jpeg");
    if (res.has_pyramid)
        add_file(files, "pyramid", res.files.pyramid, "pyramid.tif", "image/tiff");
    add_file(files, "label", res.files.label, "slide-label.jpg", "image/jpeg");
    add_file(files, "macro", res.files.macro, "slide-macro.jpg", "image/jpeg");
    json_t *doc = json_pack("{s:b, s:I, s:I, s:i, s:s, s:{s:s, s:s, s:I, s:I, s:i, s:i, s:b, s:i, s:b, s:i, s:s, s:i, "
                     "s:I, s:I, s:I, s:I, s:b}, s:o}",
                     "ok", 1, "width", (json_int_t)in->width, "height", (json_int_t)in->height, "rotation",
                     in->rotation, "format", in->format, "media", "kind", "image", "loader", in->loader,
                     "stored_width", (json_int_t)in->stored_width, "stored_height", (json_int_t)in->stored_height,
                     "orientation", in->orientation, "rotation", in->rotation, "flipped", in->flipped, "bands",
                     in->bands, "has_alpha", in->has_alpha, "bits", in->bits, "interpretation", in->interpretation,
                     "pages", in->pages, "thumbnail_width", (json_int_t)res.thumbnail_width, "thumbnail_height",
                     (json_int_t)res.thumbnail_height, "preview_width", (json_int_t)res.preview_width,
                     "preview_height", (json_int_t)res.preview_height, "pyramid", res.has_pyramid, "files", files);
    json_t *media = json_object_get(doc, "media");
    if (media && in->vendor[0]) { /* a whole slide: what a pathologist's tools need, mpp null when unknown */
        json_t *slide = json_pack("{s:s, s:o, s:o}", "vendor", in->vendor, "mpp_x",
                                  in->mpp_x > 0 ? json_real(in->mpp_x) : json_null(), "mpp_y",
                                  in->mpp_y > 0 ? json_real(in->mpp_y) : json_null());
        json_object_update(media, slide);
        json_decref(slide);
    }
    return doc;
}

/* "mov,mp4,m4a,3gp,3g2,mj2" → "mp4", "matroska,webm" → "matroska", else the first name. */
static void container_format(const char *container, char *out, size_t cap)
{
    if (strstr(container, "mp4")) {
        snprintf(out, cap, "mp4");
        return;
    }
    size_t n = strcspn(container, ",");
    snprintf(out, cap, "%.*s", (int)n, container);
}

static json_t *sprite_json(const lp_video_sprite *s)
{
    json_t *frames = json_array(), *times = json_array();
    for (int64_t i = 0; i < s->count; i++) {
        json_array_append_new(frames, json_integer(s->frames[i]));
        json_array_append_new(times, json_integer(s->times_ms[i]));
    }
    return json_pack("{s:i, s:i, s:i, s:i, s:I, s:I, s:o, s:o}", "tile_width", s->tile_width, "tile_height",
                     s->tile_height, "columns", s->columns, "rows", s->rows, "count", (json_int_t)s->count,
                     "interval_ms", (json_int_t)s->interval_ms, "frames", frames, "times_ms", times);
}

static json_t *track_json(const lp_video_track *t)
{
    return json_pack("{s:s, s:i, s:i, s:s, s:I, s:I, s:I}", "name", t->name, "width", t->width, "height", t->height,
                     "codecs", t->codecs, "bandwidth", (json_int_t)t->bandwidth, "average_bandwidth",
                     (json_int_t)t->average_bandwidth, "segments", (json_int_t)t->segments);
}

/* Adds the HLS tracks to files (hls_<name> and hls_<name>_playlist) and
 * returns their description (new), or null when none was made. */
static json_t *hls_json(const lp_video_ingest_result *in, json_t *files)
{
    char name[64], variant[64];
    json_t *renditions = json_array();
    for (int i = 0; i < in->renditions + in->has_audio_track; i++) {
        const lp_video_track *t = i < in->renditions ? &in->rendition[i] : &in->audio;
        snprintf(name, sizeof name, "hls_%s", t->name);
        snprintf(variant, sizeof variant, "hls-%s-s%d.mp4", t->name, in->segment_frames);
        add_file(files, name, t->media, variant, t->width ? "video/mp4" : "audio/mp4");
        snprintf(name, sizeof name, "hls_%s_playlist", t->name);
        snprintf(variant, sizeof variant, "hls-%s-s%d.m3u8", t->name, in->segment_frames);
        add_file(files, name, t->playlist, variant, "application/vnd.apple.mpegurl");
        if (i < in->renditions)
            json_array_append_new(renditions, track_json(t));
    }
    if (!in->renditions) {
        json_decref(renditions);
        return json_null();
    }
    return json_pack("{s:i, s:I, s:o, s:o}", "segment_frames", in->segment_frames, "segments",
                     (json_int_t)in->segments, "renditions", renditions, "audio",
                     in->has_audio_track ? track_json(&in->audio) : json_null());
}

static json_t *video_doc(const lp_decoder_transform_args *a, lp_error *err)
{
    lp_video_info info;
    lp_video_index *ix = NULL, *mix = NULL;
    lp_video_reader *r = NULL;
    lp_video_ingest_result *in = calloc(1, sizeof *in);
    lp_video_mezzanine_result mz;
    lp_video_sprite sprite;
    json_t *doc = NULL, *files = NULL, *mezz = json_null(), *hls = NULL;
    char path[LP_MEDIA_PATH_MAX], thumb[LP_MEDIA_PATH_MAX], preview[LP_MEDIA_PATH_MAX], sheet[LP_MEDIA_PATH_MAX];
    char variant[64], pvariant[64], format[32];
    int64_t poster = 0;

    memset(&sprite, 0, sizeof sprite);
    memset(&mz, 0, sizeof mz);
    if (!in) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        goto cleanup;
    }
    if (lp_video_probe(a->src, &a->limits, &info, err) || lp_video_index_build(a->src, &a->limits, &ix, err))
        goto cleanup;
    files = json_object();
    snprintf(path, sizeof path, "%s/index.lpvidx", a->out_dir);
    if (lp_video_index_save(ix, path, err))
        goto cleanup;
    add_file(files, "index", path, "index.lpvidx", "application/octet-stream");

    /* The frame source louped serves is always this decoder's own copy, so
     * no byte of the original reaches anything but a decoder. */
    if (lp_video_ingest(a->src, a->out_dir, &a->limits, NULL, in, err))
        goto cleanup;
    mz = in->mezzanine;
    if (lp_video_index_build(mz.path, &a->limits, &mix, err))
        goto cleanup;
    if (mix->count != ix->count) {
        lp_error_set(err, LP_E_INTERNAL, "the fast-seek copy of the video has %lld frames but the original has %lld",
                     (long long)mix->count, (long long)ix->count);
        goto cleanup;
    }
    snprintf(path, sizeof path, "%s/frames.lpvidx", a->out_dir);
    if (lp_video_index_save(mix, path, err))
        goto cleanup;
    /* the variant names the recipe (fragmented MP4 since "g12f"), and the index goes with its file */
    snprintf(variant, sizeof variant, "mezzanine-g%d%s", mz.gop, strcmp(mz.codec, "h264") ? ".mkv" : "f.mp4");
    add_file(files, "mezzanine", mz.path, variant, strcmp(mz.codec, "h264") ? "video/x-matroska" : "video/mp4");
    snprintf(variant, sizeof variant, "mezzanine-g%d%s.lpvidx", mz.gop, strcmp(mz.codec, "h264") ? "" : "f");
    add_file(files, "frames_index", path, variant, "application/octet-stream");
    json_decref(mezz);
    mezz = json_pack("{s:s, s:i, s:s?}", "codec", mz.codec, "gop", mz.gop, "audio",
                     in->mezzanine_audio[0] ? in->mezzanine_audio : NULL);
    hls = hls_json(in, files);
    if (in->peaks[0])
        add_file(files, "peaks", in->peaks, "peaks-10ms.bin", "application/octet-stream");
    lp_video_manifest_layout layout = {
        .mezzanine_gop = mz.gop, .segment_frames = in->segment_frames, .segments = in->segments};
    snprintf(path, sizeof path, "%s/manifest.json", a->out_dir);
    if (lp_video_manifest_write(ix, &layout, path, err))
        goto cleanup;
    add_file(files, "manifest", path, "manifest-v1.json", "application/json");
    const char *frames_path = mz.path;
    const lp_video_index *frames_ix = mix;
    if (!(r = lp_video_reader_open(frames_path, frames_ix, &a->limits, err)))
        goto cleanup;
    snprintf(thumb, sizeof thumb, "%s/thumbnail.jpg", a->out_dir);
    snprintf(preview, sizeof preview, "%s/preview.jpg", a->out_dir);
    if (lp_video_poster(r, a->limits.thumbnail_size, LP_MEDIA_JPEG, thumb, &poster, err) ||
        lp_video_poster(r, a->limits.preview_size, LP_MEDIA_JPEG, preview, NULL, err))
        goto cleanup;
    snprintf(variant, sizeof variant, "poster-%d.jpg", a->limits.thumbnail_size);
    snprintf(pvariant, sizeof pvariant, "poster-%d.jpg", a->limits.preview_size);
    add_file(files, "thumbnail", thumb, variant, "image/jpeg");
    add_file(files, "preview", preview, pvariant, "image/jpeg");

    int64_t duration = lp_video_index_time_ms(ix, ix->count - 1);
    int64_t interval = duration / SPRITE_MAX_TILES;
    if (interval < SPRITE_MIN_INTERVAL_MS)
        interval = SPRITE_MIN_INTERVAL_MS;
    snprintf(sheet, sizeof sheet, "%s/sprite.jpg", a->out_dir);
    if (lp_video_sprite_make(r, interval, SPRITE_TILE_SIDE, SPRITE_COLUMNS, SPRITE_MAX_TILES, LP_MEDIA_JPEG, sheet,
                             &sprite, err))
        goto cleanup;
    add_file(files, "sprite", sheet, "sprite-160.jpg", "image/jpeg");

    double fps = -1;
    if (info.avg_rate_num > 0 && info.avg_rate_den > 0)
        fps = (double)info.avg_rate_num / info.avg_rate_den;
    else if (duration > 0)
        fps = (double)(ix->count - 1) * 1000.0 / (double)duration;
    container_format(info.container, format, sizeof format);
    doc = json_pack("{s:b, s:I, s:I, s:i, s:s, s:I, s:f, s:{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:b, s:I, s:I, "
                    "s:I, s:o, s:I}, s:O, s:o, s:o}",
                    "ok", 1, "width", (json_int_t)info.display_width, "height", (json_int_t)info.display_height,
                    "rotation", info.rotation, "format", format, "frame_count", (json_int_t)ix->count, "fps",
                    fps > 0 ? fps : 0.0, "media", "kind", "video", "container", info.container, "codec",
                    info.codec, "pixel_format", info.pixel_format, "coded_width", (json_int_t)info.width,
                    "coded_height", (json_int_t)info.height, "duration_ms", (json_int_t)info.duration_ms,
                    "variable_frame_rate", (ix->flags & LP_VIDEO_INDEX_VFR) ? 1 : 0, "has_audio", info.has_audio,
                    "keyframes", (json_int_t)ix->keyframes, "max_gop", (json_int_t)ix->max_gop, "poster_frame",
                    (json_int_t)poster, "mezzanine", mezz, "peak_buckets", (json_int_t)in->peak_buckets, "files",
                    files, "sprite_layout", sprite_json(&sprite), "hls", hls);
    mezz = NULL;
    hls = NULL;
    if (!doc)
        lp_error_set(err, LP_E_NOMEM, "out of memory describing the video");
cleanup:
    json_decref(mezz);
    json_decref(hls);
    json_decref(files);
    lp_video_sprite_free(&sprite);
    lp_video_reader_close(r);
    lp_video_index_free(mix);
    lp_video_index_free(ix);
    free(in);
    return doc;
}

json_t *lp_decoder_transform_doc(const lp_decoder_transform_args *a, lp_error *err)
{
    if (strcmp(a->type, "image") == 0)
        return image_doc(a, err);
    if (strcmp(a->type, "video") == 0)
        return video_doc(a, err);
    if (strcmp(a->type, "volume") == 0)
        return lp_decoder_volume_doc(a, err);
    if (strcmp(a->type, "dicom") == 0)
        return lp_decoder_dicom_doc(a, err);
    lp_error_set(err, LP_E_MEDIA_TYPE, "slots of type %s are not normalized yet; use an image, video or volume slot",
                 a->type);
    return NULL;
}
