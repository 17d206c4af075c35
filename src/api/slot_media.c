/* Serving a slot's media:
 *
 *   GET /api/v1/items/{id}/slots/{slot}/media                  what the slot holds, with signed URLs
 *   GET /api/v1/items/{id}/slots/{slot}/thumbnail|preview|original   302 to a signed URL
 *   GET /api/v1/items/{id}/slots/{slot}/frames/{n}             exact frame n (JPEG, or WebP by Accept or ?format=)
 *   GET /api/v1/items/{id}/slots/{slot}/tiles/image.dzi        DeepZoom descriptor of a large image
 *   GET /api/v1/items/{id}/slots/{slot}/tiles/image_files/{level}/{col}_{row}.jpg|webp   one tile
 *   GET /api/v1/items/{id}/slots/{slot}/volume                 302 to the normalized volume (.nii.gz)
 *   GET /api/v1/items/{id}/slots/{slot}/volume/{plane}/{index}?window=   one windowed slice
 *
 * Frames and tiles come only from files a worker produced — the video's
 * frame source (always the decoder's own re-encoded copy, never the
 * original) with its index, and the image's pyramidal TIFF — and are cut
 * by loupe-decoder processes, never in this process: louped decodes
 * nothing itself.
 *
 * DESIGN (threads): the files are local copies in the node's media cache
 * (loupe/storage/media_cache.h: bounded in bytes by media_cache_bytes,
 * fetched by background threads; a request waits at most media_cache_wait
 * for a cold file and then answers 503 with Retry-After). The cutting is
 * done by a pool of media_decoders loupe-decoder processes
 * (loupe/jobs/decoder.h) whose work directory is the cache's directory;
 * requests for one file go to one process, which keeps that video's reader
 * (or that volume) open, so n, n+1, … cost one decode each. An HTTP thread holds cache
 * references while its decoder works, so the files it names stay. The
 * cache and the pool are made on first use and live until
 * lp_api_slot_media_free, once the HTTP server has stopped: the decoders
 * stop and the cache's directory goes with its copies. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers_int.h"
#include "loupe/api/input.h"
#include "loupe/api/slot_media.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/http/etag.h"
#include "loupe/jobs/decoder.h"
#include "loupe/media/deepzoom.h"
#include "loupe/media/media.h"
#include "loupe/storage/media_cache.h"
#include "loupe/volume/meta.h"
#include "loupe/volume/slice.h"
#include "loupe/volume/window.h"
#include "slot_common_int.h"

#define DZI_MAX 1024
#define CACHE_FETCHERS 2
#define RETRY_AFTER "2"

/* ---- The cache and the decoders -------------------------------------------- */

static struct {
    pthread_mutex_t lock;
    lp_media_cache *cache;
    lp_decoder *decoders;
    lp_storage *storage;
} node = {.lock = PTHREAD_MUTEX_INITIALIZER};

void lp_api_slot_media_free(void)
{
    pthread_mutex_lock(&node.lock);
    lp_decoder_free(node.decoders); /* first: its processes work in the cache's directory */
    lp_media_cache_free(node.cache);
    node.decoders = NULL;
    node.cache = NULL;
    node.storage = NULL;
    pthread_mutex_unlock(&node.lock);
}

/* lp_media_cache_fetch_fn: the whole object, on a fetcher thread. */
static int fetch_object(void *ud, const char *key, int fd, lp_error *err)
{
    return lp_storage_get_fd(ud, key, 0, LP_STORAGE_TO_END, fd, err);
}

/* The node's cache and decoder pool, made on first use. 0 or -1 (503). */
static int media_ready(lp_req *req, lp_storage *s)
{
    const lp_config *cfg = req->svc->cfg;
    int rc = 0;
    pthread_mutex_lock(&node.lock);
    if (!node.cache) {
        lp_media_cache_spec spec = {.dir = cfg->media_cache_dir,
                                    .stale_ms = cfg->stale_dir_age,
                                    .max_bytes = (uint64_t)cfg->media_cache_bytes,
                                    .fetchers = CACHE_FETCHERS,
                                    .fetch = fetch_object,
                                    .ud = s};
        node.storage = s;
        node.cache = lp_media_cache_new(&spec, &req->err);
    }
    if (node.cache && !node.decoders)
        node.decoders = lp_decoder_new_from_config(cfg, lp_media_cache_dir(node.cache), NULL, (int)cfg->media_decoders,
                                                    &req->err);
    if (!node.cache || !node.decoders) {
        LP_ERROR("media", "frames and tiles cannot be served: %s", req->err.message);
        req->err.code = LP_E_UNAVAILABLE;
        rc = -1;
    }
    pthread_mutex_unlock(&node.lock);
    return rc;
}

/* The cached copy of key, or -1 with req->err (503 with Retry-After while
 * it is on its way). */
static int cached(lp_req *req, const char *key, lp_media_cache_file **out)
{
    if (lp_media_cache_acquire(node.cache, key, req->svc->cfg->media_cache_wait, out, &req->err) == 0)
        return 0;
    if (req->err.code == LP_E_UNAVAILABLE)
        lp_res_header(req, "Retry-After", RETRY_AFTER);
    return -1;
}

/* The deadline of one decoder request. */
static int64_t decode_deadline(const lp_req *req)
{
    return lp_now_mono_ms() + req->svc->cfg->media_decode_timeout;
}

/* ---- Helpers ------------------------------------------------------------------ */



static const char *member(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}



static int respond_image(lp_req *req, lp_media_blob *blob, lp_media_format fmt)
{
    int rc;
    lp_res_header(req, "Cache-Control", "private, no-cache");
    rc = lp_res_bytes(req, 200, lp_media_format_mime(fmt), blob->data, blob->len);
    lp_media_blob_free(blob);
    return rc;
}

/* 1 after answering 304 because the client holds the answer cached under
 * etag; 0 to make it; -1 when etag is NULL (out of memory making it). */
static int not_modified(lp_req *req, const char *etag)
{
    if (!etag)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    if (!lp_req_etag_match(req, "If-None-Match", etag))
        return 0;
    lp_res_header(req, "ETag", etag);
    lp_res_header(req, "Cache-Control", "private, no-cache");
    lp_res_empty(req, 304);
    return 1;
}

/* ---- GET …/media ------------------------------------------------------------------ */

int lp_api_slot_media_get(lp_req *req)
{
    lp_slot_row slot;
    lp_media_upload up;
    json_t *storage = NULL, *doc = NULL, *files, *meta, *media = NULL, *upload = json_null();
    json_error_t jerr;
    lp_storage *s = lp_slot_storage(req);
    const char *names[] = {"original", "thumbnail", "preview", "sprite", "peaks", "volume", "label", "macro"};
    char *base;
    lp_db *db;

    if (!s || !(db = lp_req_db(req)))
        return -1;
    if (lp_slot_from_route(req, db, 0, &slot) != 0) {
        lp_req_db_release(req);
        return -1;
    }
    if (lp_db_media_upload_get(db, req->arena, slot.id, NULL, &up, &req->err) == 0)
        upload = lp_slot_upload_json(&up);
    else if (req->err.code == LP_E_NOT_FOUND)
        lp_error_clear(&req->err);
    lp_req_db_release(req);
    if (req->err.code != LP_OK) {
        json_decref(upload);
        return -1;
    }
    storage = json_loads(slot.storage, 0, &jerr);
    meta = json_loads(slot.metadata, 0, &jerr);
    media = json_object_get(meta, "media");
    if (json_is_object(media) && strcmp(slot.type, "volume") == 0)
        json_object_set_new(media, "plane_map", json_pack("{s:s}", slot.name, "AXIAL")); /* Darwin's: slot → plane */
    const char *seg = lp_slot_path_segment(req->arena, slot.name);
    base = seg ? lp_arena_printf(req->arena, "/api/v1/items/%s/slots/%s", slot.item_id, seg) : NULL;
    if (!base || !(files = json_object()))
        goto nomem;
    int ready = strcmp(slot.status, "ready") == 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *key = member(storage, names[i]);
        json_t *u = lp_slot_signed_url(req, s, i == 0 || ready ? key : NULL);
        if (!u) {
            json_decref(files);
            goto fail;
        }
        json_object_set_new(files, names[i], u);
    }
    doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:i, s:o, s:O, s:o, s:O, s:o, s:o, s:o}",
                    "item_id", slot.item_id, "slot", slot.name, "type", slot.type, "status", slot.status, "error",
                    slot.error ? json_string(slot.error) : json_null(), "width",
                    slot.width > 0 ? json_integer(slot.width) : json_null(), "height",
                    slot.height > 0 ? json_integer(slot.height) : json_null(), "frame_count",
                    slot.frame_count > 0 ? json_integer(slot.frame_count) : json_null(), "fps",
                    slot.fps > 0 ? json_real(slot.fps) : json_null(), "rotation", slot.rotation, "format",
                    slot.format ? json_string(slot.format) : json_null(), "media", media ? media : json_null(),
                    "files", files, "sprite_layout",
                    ready && json_object_get(storage, "sprite_layout") ? json_object_get(storage, "sprite_layout")
                                                                       : json_null(),
                    "tiles",
                    ready && member(storage, "pyramid")
                        ? json_pack("{s:s, s:s}", "dzi", lp_arena_printf(req->arena, "%s/tiles/image.dzi", base),
                                    "format", "jpeg")
                        : json_null(),
                    "frames",
                    ready && member(storage, "frames")
                        ? json_string(lp_arena_printf(req->arena, "%s/frames/{n}", base))
                        : json_null(),
                    "upload", upload);
    if (doc && json_object_set_new(doc, "slices", ready && member(storage, "volume")
                                                      ? json_string(lp_arena_printf(req->arena,
                                                                                    "%s/volume/{plane}/{index}", base))
                                                      : json_null()) != 0) {
        json_decref(doc);
        doc = NULL;
    }
    upload = NULL;
    if (!doc)
        goto nomem;
    json_t *playback = ready ? lp_slot_playback_json(req, s, base, storage) : json_null();
    if (!playback || json_object_set_new(doc, "playback", playback)) {
        json_decref(doc);
        if (playback)
            goto nomem;
        goto fail;
    }
    json_decref(storage);
    json_decref(meta);
    return lp_res_json(req, 200, doc);
nomem:
    lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
fail:
    json_decref(upload);
    json_decref(storage);
    json_decref(meta);
    return -1;
}

/* ---- 302 to a stored file ------------------------------------------------------------- */

static int redirect_to(lp_req *req, const char *what)
{
    lp_slot_row slot;
    json_t *storage;
    lp_storage *s = lp_slot_storage(req);
    lp_storage_url *u;
    int rc = -1;

    if (!s || lp_slot_load(req, &slot, &storage) != 0)
        return -1;
    const char *key = member(storage, what);
    if (strcmp(what, "original") != 0 && lp_slot_require_ready(req, &slot) != 0)
        goto cleanup;
    if (!key) {
        lp_error_set(&req->err, LP_E_NOT_FOUND, "slot \"%s\" of item %s has no %s", slot.name, slot.item_id, what);
        goto cleanup;
    }
    if (!(u = lp_arena_alloc(req->arena, sizeof *u))) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        goto cleanup;
    }
    if (lp_storage_presign(s, LP_STORAGE_GET, key, lp_now_wall_ms(), 0, u, &req->err) != 0)
        goto cleanup;
    lp_res_header(req, "Cache-Control", "private, no-cache");
    rc = lp_res_redirect(req, 302, u->url);
cleanup:
    json_decref(storage);
    return rc;
}

int lp_api_slot_thumbnail(lp_req *req)
{
    return redirect_to(req, "thumbnail");
}

int lp_api_slot_preview(lp_req *req)
{
    return redirect_to(req, "preview");
}

int lp_api_slot_original(lp_req *req)
{
    return redirect_to(req, "original");
}

/* ---- Frames ------------------------------------------------------------------------------ */

/* ?format= wins; else WebP when the client accepts it; else JPEG. */
static int frame_format(lp_req *req, lp_media_format *fmt)
{
    const char *q = lp_req_query(req, "format");
    const char *accept = lp_req_header(req, "Accept");
    if (q) {
        if (lp_media_format_parse(q, fmt) != 0)
            return lp_error_field(&req->err, LP_E_MALFORMED, "format", "must be jpeg or webp");
        return 0;
    }
    *fmt = accept && strstr(accept, "image/webp") ? LP_MEDIA_WEBP : LP_MEDIA_JPEG;
    return 0;
}

static int parse_count(const char *s, int64_t *out)
{
    int64_t v = 0;
    if (!s || !*s || strlen(s) > 12)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

/* The frame source of the route's video slot: its keys in storage (borrowed
 * from *storage, a new reference the caller drops). 0, or -1 with req->err. */
typedef struct frame_source {
    lp_slot_row slot;
    json_t *storage;
    const char *frames, *frames_index, *sha;
} frame_source;

static int frame_source_load(lp_req *req, frame_source *fs)
{
    memset(fs, 0, sizeof *fs);
    if (lp_slot_load(req, &fs->slot, &fs->storage) != 0)
        return -1;
    lp_slot_row *slot = &fs->slot;
    if (strcmp(slot->type, "video") != 0)
        return lp_error_set(&req->err, LP_E_NOT_FOUND, "slot \"%s\" holds an image; frames exist only for videos",
                            slot->name);
    if (lp_slot_require_ready(req, slot) != 0)
        return -1;
    fs->frames = member(fs->storage, "frames");
    fs->frames_index = member(fs->storage, "frames_index");
    fs->sha = member(fs->storage, "sha256");
    const char *original = member(fs->storage, "original");
    /* Only a frame source a worker wrote: slots processed before there
     * always was one may name the original itself. */
    if (!fs->frames || !fs->frames_index || !fs->sha || (original && strcmp(fs->frames, original) == 0))
        return lp_error_set(&req->err, LP_E_NOT_FOUND, "slot \"%s\" has no frame source; upload the video again",
                            slot->name);
    return 0;
}

/* Decodes with the cached copies of fs's files: a single frame (w NULL) or
 * a window, into blob. */
static int frame_source_decode(lp_req *req, lp_storage *s, const frame_source *fs, int64_t n,
                               const lp_video_window *w, lp_media_format fmt, int quality, lp_media_blob *blob)
{
    lp_media_cache_file *file = NULL, *index = NULL;
    lp_media_limits limits;
    int rc = -1;
    if (media_ready(req, s) != 0 || cached(req, fs->frames, &file) != 0 || cached(req, fs->frames_index, &index) != 0)
        goto cleanup;
    lp_media_limits_from_config(&limits, req->svc->cfg);
    rc = w ? lp_decoder_window(node.decoders, lp_media_cache_path(file), lp_media_cache_path(index), w, quality,
                               &limits, decode_deadline(req), blob, &req->err)
           : lp_decoder_frame(node.decoders, lp_media_cache_path(file), lp_media_cache_path(index), n, fmt, quality,
                              &limits, decode_deadline(req), blob, &req->err);
cleanup:
    lp_media_cache_release(node.cache, index);
    lp_media_cache_release(node.cache, file);
    return rc;
}

int lp_api_slot_frame(lp_req *req)
{
    const char *nparam = lp_req_param(req, "n");
    frame_source fs;
    lp_media_format fmt;
    lp_media_blob blob = {0};
    lp_storage *s = lp_slot_storage(req);
    int64_t n, quality;
    int rc = -1, fresh;

    if (frame_format(req, &fmt) != 0 || lp_query_int(req, "quality", 1, 100, 85, &quality) != 0)
        return -1;
    if (parse_count(nparam, &n) != 0)
        return lp_error_set(&req->err, LP_E_NOT_FOUND, "\"%.32s\" is not a frame number (0, 1, 2, …)", nparam);
    if (!s)
        return -1;
    lp_res_header(req, "Vary", "Accept");
    if (frame_source_load(req, &fs) != 0)
        goto cleanup;
    if (n >= fs.slot.frame_count) {
        lp_error_set(&req->err, LP_E_NOT_FOUND, "frame %lld is outside the video, which has frames 0 to %lld",
                     (long long)n, (long long)fs.slot.frame_count - 1);
        goto cleanup;
    }
    char *etag = lp_arena_printf(req->arena, "\"%.16s-%lld-q%lld.%s\"", fs.sha, (long long)n, (long long)quality,
                                 lp_media_format_suffix(fmt));
    if ((fresh = not_modified(req, etag)) != 0) {
        rc = fresh > 0 ? 0 : -1;
        goto cleanup;
    }
    if (frame_source_decode(req, s, &fs, n, NULL, fmt, (int)quality, &blob) == 0) {
        lp_res_header(req, "ETag", etag);
        rc = respond_image(req, &blob, fmt);
    }
cleanup:
    json_decref(fs.storage);
    return rc;
}

/* Frames per row of a window's sprite. */
#define WINDOW_COLUMNS 8

/* The size of each frame of a window: the upright video fitted into
 * size × size, never enlarged. */
static void window_tile(const lp_slot_row *slot, int64_t size, lp_video_window *w)
{
    int64_t vw = slot->width > 0 ? slot->width : size, vh = slot->height > 0 ? slot->height : size;
    int64_t long_side = vw > vh ? vw : vh;
    if (long_side > size) {
        vw = (vw * size + long_side / 2) / long_side;
        vh = (vh * size + long_side / 2) / long_side;
    }
    w->tile_width = (int)(vw > 0 ? vw : 1);
    w->tile_height = (int)(vh > 0 ? vh : 1);
}

int lp_api_slot_frames_window(lp_req *req)
{
    const lp_config *cfg = req->svc->cfg;
    frame_source fs;
    lp_video_window w = {0};
    lp_media_blob blob = {0};
    lp_storage *s = lp_slot_storage(req);
    int64_t from, count, size, quality;
    int rc = -1, fresh;

    memset(&fs, 0, sizeof fs);
    if (!lp_req_query(req, "from"))
        return lp_error_field(&req->err, LP_E_INVALID, "from", "is required: the first frame of the window");
    if (lp_query_int(req, "from", 0, INT64_MAX, 0, &from) != 0 ||
        lp_query_int(req, "count", 1, cfg->frame_window_max, cfg->frame_window_max < 16 ? cfg->frame_window_max : 16,
                     &count) != 0 ||
        lp_query_int(req, "size", 16, cfg->frame_window_max_size,
                     cfg->frame_window_max_size < 640 ? cfg->frame_window_max_size : 640, &size) != 0 ||
        lp_query_int(req, "quality", 1, 100, 85, &quality) != 0) {
        req->err.code = LP_E_INVALID;
        return -1;
    }
    if (!s || frame_source_load(req, &fs) != 0)
        goto cleanup;
    if (from >= fs.slot.frame_count) {
        lp_error_field(&req->err, LP_E_INVALID, "from", "frame %lld is outside the video, which has %lld frames (0 to %lld)",
                       (long long)from, (long long)fs.slot.frame_count, (long long)fs.slot.frame_count - 1);
        goto cleanup;
    }
    if (from + count > fs.slot.frame_count) {
        lp_error_field(&req->err, LP_E_INVALID, "count",
                       "frames %lld to %lld go past the end of the video, which has %lld frames; at most %lld from %lld",
                       (long long)from, (long long)(from + count - 1), (long long)fs.slot.frame_count,
                       (long long)(fs.slot.frame_count - from), (long long)from);
        goto cleanup;
    }
    w.from = from;
    w.count = (int)count;
    w.columns = count < WINDOW_COLUMNS ? (int)count : WINDOW_COLUMNS;
    window_tile(&fs.slot, size, &w);
    if ((int64_t)w.tile_width * w.tile_height * count > cfg->frame_window_max_pixels) {
        lp_error_field(&req->err, LP_E_INVALID, "count",
                       "%lld frames of %d×%d pixels are more than frame_window_max_pixels (%lld); ask for fewer or "
                       "smaller frames",
                       (long long)count, w.tile_width, w.tile_height, (long long)cfg->frame_window_max_pixels);
        goto cleanup;
    }
    char *etag = lp_arena_printf(req->arena, "\"%.16s-w%lld-%lld-s%lld-q%lld.jpg\"", fs.sha, (long long)from,
                                 (long long)count, (long long)size, (long long)quality);
    if ((fresh = not_modified(req, etag)) != 0) {
        rc = fresh > 0 ? 0 : -1;
        goto cleanup;
    }
    if (frame_source_decode(req, s, &fs, 0, &w, LP_MEDIA_JPEG, (int)quality, &blob) == 0) {
        lp_res_header(req, "ETag", etag);
        lp_res_header(req, "Loupe-Frame-Window",
                      lp_arena_printf(req->arena, "from=%lld; count=%d; columns=%d; width=%d; height=%d",
                                      (long long)from, w.count, w.columns, w.tile_width, w.tile_height));
        rc = respond_image(req, &blob, LP_MEDIA_JPEG);
    }
cleanup:
    json_decref(fs.storage);
    return rc;
}

/* ---- DeepZoom tiles --------------------------------------------------------------------- */

/* "image_files/<level>/<col>_<row>.<jpg|jpeg|webp>" */
static int parse_tile(const char *p, int *level, int64_t *col, int64_t *row, lp_media_format *fmt)
{
    char *end;
    long l;
    long long c, r;
    if (strncmp(p, "image_files/", 12) != 0)
        return -1;
    p += 12;
    if (*p < '0' || *p > '9' || (l = strtol(p, &end, 10)) > 62 || *end != '/')
        return -1;
    p = end + 1;
    if (*p < '0' || *p > '9' || (c = strtoll(p, &end, 10)) < 0 || *end != '_')
        return -1;
    p = end + 1;
    if (*p < '0' || *p > '9' || (r = strtoll(p, &end, 10)) < 0 || *end != '.')
        return -1;
    if (lp_media_format_parse(end + 1, fmt) != 0)
        return -1;
    *level = (int)l;
    *col = c;
    *row = r;
    return 0;
}

int lp_api_slot_tiles(lp_req *req)
{
    const char *path = lp_req_param(req, "path");
    lp_slot_row slot;
    lp_media_format fmt = LP_MEDIA_JPEG;
    lp_media_blob blob = {0};
    json_t *storage = NULL;
    lp_storage *s = lp_slot_storage(req);
    lp_media_cache_file *file = NULL;
    int level = 0, is_dzi = path && strcmp(path, "image.dzi") == 0, rc = -1, fresh;
    int64_t col = 0, row = 0;

    if (!path || (!is_dzi && parse_tile(path, &level, &col, &row, &fmt) != 0))
        return lp_error_set(&req->err, LP_E_NOT_FOUND,
                            "tiles are image.dzi and image_files/<level>/<column>_<row>.jpg (or .webp)");
    if (!s || lp_slot_load(req, &slot, &storage) != 0)
        return -1;
    if (lp_slot_require_ready(req, &slot) != 0)
        goto cleanup;
    const char *pyramid = member(storage, "pyramid"), *sha = member(storage, "sha256");
    if (!pyramid || !sha) {
        lp_error_set(&req->err, LP_E_NOT_FOUND,
                     "slot \"%s\" has no tile pyramid (only images of at least image_pyramid_pixels get one); "
                     "use its preview",
                     slot.name);
        goto cleanup;
    }
    if (is_dzi) {
        char xml[DZI_MAX];
        int len = lp_deepzoom_dzi_xml(slot.width, slot.height, LP_MEDIA_JPEG, xml, sizeof xml);
        if (len < 0) {
            lp_error_set(&req->err, LP_E_INTERNAL, "cannot describe the pyramid of slot \"%s\"", slot.name);
            goto cleanup;
        }
        lp_res_header(req, "Cache-Control", "private, no-cache");
        rc = lp_res_bytes(req, 200, "application/xml", xml, (size_t)len);
        goto cleanup;
    }
    char *etag = lp_arena_printf(req->arena, "\"%.16s-%d-%lld-%lld.%s\"", sha, level, (long long)col, (long long)row,
                                 lp_media_format_suffix(fmt));
    if ((fresh = not_modified(req, etag)) != 0) {
        rc = fresh > 0 ? 0 : -1;
        goto cleanup;
    }
    /* The file stays while we hold a reference; tiles are cut in parallel. */
    if (media_ready(req, s) == 0 && cached(req, pyramid, &file) == 0 &&
        lp_decoder_tile(node.decoders, lp_media_cache_path(file), level, col, row, fmt, decode_deadline(req), &blob,
                        &req->err) == 0) {
        lp_res_header(req, "ETag", etag);
        rc = respond_image(req, &blob, fmt);
    }
cleanup:
    lp_media_cache_release(node.cache, file);
    json_decref(storage);
    return rc;
}

/* ---- Volumes ----------------------------------------------------------------------- */

int lp_api_slot_volume(lp_req *req)
{
    return redirect_to(req, "volume");
}

/* The size of the route's volume slot from its metadata (voxels unused). */
static int volume_shape(lp_req *req, const lp_slot_row *slot, const json_t *media, lp_volume *shape)
{
    json_t *dims = json_object_get(media, "shape");
    memset(shape, 0, sizeof *shape);
    for (int i = 0; i < 3; i++) {
        json_t *d = json_array_get(dims, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 1)
            return lp_error_set(&req->err, LP_E_NOT_FOUND, "slot \"%s\" has no volume; upload the file again",
                                slot->name);
        shape->dim[i] = json_integer_value(d);
    }
    return 0;
}

int lp_api_slot_volume_slice(lp_req *req)
{
    const char *plane_name = lp_req_param(req, "plane"), *iparam = lp_req_param(req, "index");
    lp_slot_row slot;
    json_t *storage = NULL, *meta = NULL;
    lp_storage *s = lp_slot_storage(req);
    lp_media_cache_file *file = NULL;
    lp_media_blob blob = {0};
    lp_media_format fmt;
    lp_volume_plane plane;
    lp_volume shape;
    lp_volume_window presets[LP_VOLUME_MAX_WINDOWS], w;
    int64_t index, quality, width, height, count;
    int rc = -1, fresh;
    json_error_t jerr;

    if (frame_format(req, &fmt) != 0 || lp_query_int(req, "quality", 1, 100, 90, &quality) != 0)
        return -1;
    if (lp_volume_plane_parse(plane_name, &plane) != 0)
        return lp_error_set(&req->err, LP_E_NOT_FOUND, "\"%.32s\" is not a plane (axial, coronal, sagittal)",
                            plane_name);
    if (parse_count(iparam, &index) != 0)
        return lp_error_set(&req->err, LP_E_NOT_FOUND, "\"%.32s\" is not a slice number (0, 1, 2, …)", iparam);
    if (!s || lp_slot_load(req, &slot, &storage) != 0)
        return -1;
    lp_res_header(req, "Vary", "Accept");
    if (strcmp(slot.type, "volume") != 0) {
        lp_error_set(&req->err, LP_E_NOT_FOUND, "slot \"%s\" is a%s %s slot; slices exist only for volumes", slot.name,
                     strchr("aeiou", slot.type[0]) ? "n" : "",
                     slot.type);
        goto cleanup;
    }
    if (lp_slot_require_ready(req, &slot) != 0)
        goto cleanup;
    const char *key = member(storage, "volume"), *sha = member(storage, "sha256");
    meta = json_loads(slot.metadata, 0, &jerr);
    json_t *media = json_object_get(meta, "media");
    if (!key || !sha) {
        lp_error_set(&req->err, LP_E_NOT_FOUND, "slot \"%s\" has no volume; upload the file again", slot.name);
        goto cleanup;
    }
    if (volume_shape(req, &slot, media, &shape) != 0)
        goto cleanup;
    lp_volume_plane_size(&shape, plane, &width, &height, &count);
    if (index >= count) {
        lp_error_set(&req->err, LP_E_NOT_FOUND, "slice %lld is outside the %s plane, which has slices 0 to %lld",
                     (long long)index, lp_volume_plane_name(plane), (long long)count - 1);
        goto cleanup;
    }
    int n = lp_volume_metadata_windows(media, presets);
    if (lp_volume_window_parse(lp_req_query(req, "window"), presets, n, &w, &req->err) != 0)
        goto cleanup;
    char *etag = lp_arena_printf(req->arena, "\"%.16s-%s-%lld-%.17g-%.17g-q%lld.%s\"", sha,
                                 lp_volume_plane_name(plane), (long long)index, w.center, w.width, (long long)quality,
                                 lp_media_format_suffix(fmt));
    if ((fresh = not_modified(req, etag)) != 0) {
        rc = fresh > 0 ? 0 : -1;
        goto cleanup;
    }
    lp_media_limits limits;
    lp_media_limits_from_config(&limits, req->svc->cfg);
    if (media_ready(req, s) != 0 || cached(req, key, &file) != 0 ||
        lp_decoder_slice(node.decoders, lp_media_cache_path(file), lp_volume_plane_name(plane), index, w.center,
                         w.width, fmt, (int)quality, &limits, decode_deadline(req), &blob, &req->err) != 0)
        goto cleanup;
    lp_res_header(req, "ETag", etag);
    rc = respond_image(req, &blob, fmt);
cleanup:
    lp_media_cache_release(node.cache, file);
    json_decref(meta);
    json_decref(storage);
    return rc;
}
