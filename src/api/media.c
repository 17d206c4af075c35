/* Serving a slot's media:
 *
 *   GET /api/v1/items/{id}/slots/{slot}/media                  what the slot holds, with signed URLs
 *   GET /api/v1/items/{id}/slots/{slot}/thumbnail|preview|original   302 to a signed URL
 *   GET /api/v1/items/{id}/slots/{slot}/frames/{n}             exact frame n (JPEG, or WebP by Accept or ?format=)
 *   GET /api/v1/items/{id}/slots/{slot}/tiles/image.dzi        DeepZoom descriptor of a large image
 *   GET /api/v1/items/{id}/slots/{slot}/tiles/image_files/{level}/{col}_{row}.jpg|webp   one tile
 *
 * Frames and tiles are cut here, in louped, from local copies of the
 * slot's frame source (the short-GOP mezzanine or the original) and of its
 * pyramidal TIFF.
 *
 * DESIGN (threads): the local copies live in one process-wide cache, an LRU
 * list bounded by media_cache_files under one mutex that is held only to
 * find, add, reference or evict an entry — never during I/O or decoding.
 * Each entry has its own mutex guarding its download and its open video
 * reader (an lp_video_reader serves one thread at a time), so requests for
 * frames of one video take turns on one reader — which is what makes n,
 * n+1, … cost one decode each — while other videos and tiles proceed in
 * parallel. An entry in use (refs > 0) is never evicted; an evicted entry's
 * reader is closed and its file removed. The files live in
 * <media_cache_dir>/node-<pid>; directories of processes that no longer run
 * are removed when the cache starts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers_int.h"
#include "loupe/api/input.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/crypto/sha256.h"
#include "loupe/media/deepzoom.h"
#include "loupe/media/media.h"
#include "loupe/media/video_index.h"
#include "loupe/media/video_reader.h"
#include "media_api.h"

#define CACHE_PATH_MAX 4096
#define DZI_MAX 1024

/* ---- The cache of local copies -------------------------------------------- */

typedef struct cache_entry {
    struct cache_entry *next;
    char key[LP_STORAGE_KEY_MAX + 1];
    char path[CACHE_PATH_MAX];
    int refs;                 /* cache.lock */
    uint64_t used;            /* cache.lock */
    pthread_mutex_t lock;     /* guards everything below */
    int fetched;
    lp_video_index *index;
    lp_video_reader *reader;
} cache_entry;

static struct {
    pthread_mutex_t lock;
    cache_entry *head;
    size_t count;
    uint64_t tick;
    int ready;
    char dir[CACHE_PATH_MAX];
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void remove_flat_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[CACHE_PATH_MAX];
    if (d) {
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static int mkdir_p(const char *dir)
{
    char tmp[CACHE_PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* Under cache.lock: creates this process's directory, removing those of
 * processes that are gone. */
static int cache_init(const lp_config *cfg, lp_error *err)
{
    DIR *d;
    struct dirent *e;
    char path[CACHE_PATH_MAX];
    if (cache.ready)
        return 0;
    if (mkdir_p(cfg->media_cache_dir) != 0)
        return lp_error_set(err, LP_E_IO, "cannot create media_cache_dir %s: %s", cfg->media_cache_dir,
                            strerror(errno));
    if ((d = opendir(cfg->media_cache_dir))) {
        while ((e = readdir(d))) {
            long pid;
            char *end;
            if (strncmp(e->d_name, "node-", 5) != 0)
                continue;
            pid = strtol(e->d_name + 5, &end, 10);
            if (*end || pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH) || pid == (long)getpid()) {
                if (snprintf(path, sizeof path, "%s/%s", cfg->media_cache_dir, e->d_name) < (int)sizeof path)
                    remove_flat_dir(path);
            }
        }
        closedir(d);
    }
    if (snprintf(cache.dir, sizeof cache.dir, "%s/node-%ld", cfg->media_cache_dir, (long)getpid()) >=
            (int)sizeof cache.dir ||
        mkdir_p(cache.dir) != 0)
        return lp_error_set(err, LP_E_IO, "cannot create a directory in media_cache_dir %s", cfg->media_cache_dir);
    cache.ready = 1;
    return 0;
}

static void entry_free(cache_entry *e)
{
    lp_video_reader_close(e->reader);
    lp_video_index_free(e->index);
    unlink(e->path);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

/* The entry for key, referenced (release with cache_release). */
static cache_entry *cache_acquire(lp_req *req, const char *key)
{
    cache_entry *e, *victims = NULL;
    char hex[LP_SHA256_HEX_LEN + 1];

    if (lp_sha256_hex(key, strlen(key), hex) != 0) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_lock(&cache.lock);
    if (cache_init(req->svc->cfg, &req->err) != 0) {
        pthread_mutex_unlock(&cache.lock);
        return NULL;
    }
    for (e = cache.head; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            break;
    if (!e && (e = calloc(1, sizeof *e))) {
        lp_strlcpy(e->key, key, sizeof e->key);
        snprintf(e->path, sizeof e->path, "%s/%s", cache.dir, hex);
        pthread_mutex_init(&e->lock, NULL);
        e->next = cache.head;
        cache.head = e;
        cache.count++;
    }
    if (e) {
        e->refs++;
        e->used = ++cache.tick;
        while (cache.count > (size_t)req->svc->cfg->media_cache_files) {
            cache_entry **pp, **victim = NULL;
            for (pp = &cache.head; *pp; pp = &(*pp)->next)
                if ((*pp)->refs == 0 && (!victim || (*pp)->used < (*victim)->used))
                    victim = pp;
            if (!victim)
                break;
            cache_entry *v = *victim;
            *victim = v->next;
            v->next = victims;
            victims = v;
            cache.count--;
        }
    }
    pthread_mutex_unlock(&cache.lock);
    while (victims) {
        cache_entry *next = victims->next;
        entry_free(victims);
        victims = next;
    }
    if (!e)
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    return e;
}

static void cache_release(cache_entry *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&cache.lock);
    e->refs--;
    pthread_mutex_unlock(&cache.lock);
}

/* Under e->lock: downloads the object once. */
static int cache_fetch(lp_req *req, lp_storage *s, cache_entry *e)
{
    char tmp[CACHE_PATH_MAX + 8];
    int fd, rc;
    if (e->fetched)
        return 0;
    snprintf(tmp, sizeof tmp, "%s.part", e->path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return lp_error_set(&req->err, LP_E_IO, "cannot create a file in media_cache_dir: %s", strerror(errno));
    rc = lp_storage_get_fd(s, e->key, 0, LP_STORAGE_TO_END, fd, &req->err);
    if (close(fd) != 0 && rc == 0)
        rc = lp_error_set(&req->err, LP_E_IO, "cannot write a file in media_cache_dir: %s", strerror(errno));
    if (rc == 0 && rename(tmp, e->path) != 0)
        rc = lp_error_set(&req->err, LP_E_IO, "cannot rename a file in media_cache_dir: %s", strerror(errno));
    if (rc != 0) {
        unlink(tmp);
        return -1;
    }
    e->fetched = 1;
    return 0;
}

/* Under e->lock: the entry's video reader, opened on first use. */
static lp_video_reader *cache_reader(lp_req *req, lp_storage *s, cache_entry *e, const char *index_key)
{
    const lp_config *cfg = req->svc->cfg;
    lp_media_limits limits;
    lp_storage_info info;
    char *data;
    size_t max, len;

    if (e->reader)
        return e->reader;
    if (cache_fetch(req, s, e) != 0 || lp_storage_stat(s, index_key, &info, &req->err) != 0)
        return NULL;
    max = LP_VIDEO_INDEX_HEADER_SIZE + (size_t)LP_VIDEO_INDEX_RECORD_SIZE * (size_t)cfg->video_max_frames;
    if (info.size > max) {
        lp_error_set(&req->err, LP_E_INVALID, "the frame index is larger than video_max_frames allows");
        return NULL;
    }
    if (!(data = malloc(info.size ? (size_t)info.size : 1))) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    lp_media_limits_from_config(&limits, cfg);
    if (lp_media_api_read(s, index_key, 0, LP_STORAGE_TO_END, data, (size_t)info.size, &len, &req->err) == 0 &&
        lp_video_index_parse(data, len, cfg->video_max_frames, &e->index, &req->err) == 0)
        e->reader = lp_video_reader_open(e->path, e->index, &limits, &req->err);
    free(data);
    if (!e->reader) {
        lp_video_index_free(e->index);
        e->index = NULL;
    }
    return e->reader;
}

/* ---- Helpers ------------------------------------------------------------------ */

static int media_ready(lp_req *req)
{
    return lp_media_init(NULL, &req->err);
}

/* The slot with its storage document (new reference in *storage). */
static int load_slot(lp_req *req, lp_media_slot *slot, json_t **storage)
{
    json_error_t jerr;
    lp_db *db = lp_req_db(req);
    int rc;
    if (!db)
        return -1;
    rc = lp_media_api_slot(req, db, 0, slot);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    *storage = json_loads(slot->storage, 0, &jerr);
    if (!json_is_object(*storage)) {
        json_decref(*storage);
        *storage = NULL;
        return lp_error_set(&req->err, LP_E_INTERNAL, "the storage record of slot %s is not a JSON object", slot->id);
    }
    return 0;
}

/* Fails unless the slot is ready: 409 saying what it is doing instead. */
static int require_ready(lp_req *req, const lp_media_slot *slot)
{
    if (strcmp(slot->status, "ready") == 0)
        return 0;
    if (strcmp(slot->status, "error") == 0)
        return lp_error_set(&req->err, LP_E_CONFLICT, "slot \"%s\" could not be processed: %s", slot->name,
                            slot->error ? slot->error : "no reason recorded");
    if (strcmp(slot->status, "empty") == 0)
        return lp_error_set(&req->err, LP_E_CONFLICT, "slot \"%s\" has no file yet; upload one first", slot->name);
    return lp_error_set(&req->err, LP_E_CONFLICT, "slot \"%s\" is %s; try again when it is ready", slot->name,
                        slot->status);
}

static const char *member(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

/* Percent-encodes a path segment into the arena. */
static char *segment(lp_arena *a, const char *s)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = lp_arena_alloc(a, n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hexd[c >> 4];
            *o++ = hexd[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* {"url", "expires_at"} for key, or null when key is NULL. */
static json_t *signed_url(lp_req *req, lp_storage *s, const char *key)
{
    lp_storage_url *u;
    char when[25];
    if (!key)
        return json_null();
    if (!(u = lp_arena_alloc(req->arena, sizeof *u)) || lp_storage_presign(s, LP_STORAGE_GET, key, lp_now_wall_ms(), 0, u, &req->err) != 0)
        return NULL;
    lp_time_iso8601(u->expires * 1000, when);
    return json_pack("{s:s, s:s}", "url", u->url, "expires_at", when);
}

static int respond_image(lp_req *req, lp_media_blob *blob, lp_media_format fmt, const char *etag)
{
    int rc;
    lp_res_header(req, "ETag", etag);
    lp_res_header(req, "Cache-Control", "private, no-cache");
    rc = lp_res_bytes(req, 200, lp_media_format_mime(fmt), blob->data, blob->len);
    lp_media_blob_free(blob);
    return rc;
}

static int not_modified(lp_req *req, const char *etag)
{
    const char *h = lp_req_header(req, "If-None-Match");
    if (!h || !strstr(h, etag))
        return 0;
    lp_res_header(req, "ETag", etag);
    lp_res_header(req, "Cache-Control", "private, no-cache");
    lp_res_empty(req, 304);
    return 1;
}

/* For an answer cached under etag (NULL: out of memory making it): 1 after
 * answering 304 because the client holds it, or 0 with *e the referenced
 * cache entry of key to make it from; -1 on failure. */
static int revalidate(lp_req *req, const char *etag, const char *key, cache_entry **e)
{
    if (!etag)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    if (not_modified(req, etag))
        return 1;
    return (*e = cache_acquire(req, key)) ? 0 : -1;
}

/* ---- GET …/media ------------------------------------------------------------------ */

int lp_api_slot_media_get(lp_req *req)
{
    lp_media_slot slot;
    lp_media_upload up;
    json_t *storage = NULL, *doc = NULL, *files, *meta, *media = NULL, *upload = json_null();
    json_error_t jerr;
    lp_storage *s = lp_media_api_storage(req);
    const char *names[] = {"original", "thumbnail", "preview", "sprite"};
    char *base;
    lp_db *db;

    if (!s || !(db = lp_req_db(req)))
        return -1;
    if (lp_media_api_slot(req, db, 0, &slot) != 0) {
        lp_req_db_release(req);
        return -1;
    }
    if (lp_db_media_upload_get(db, req->arena, slot.id, NULL, &up, &req->err) == 0)
        upload = lp_media_api_upload_json(&up);
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
    const char *seg = segment(req->arena, slot.name);
    base = seg ? lp_arena_printf(req->arena, "/api/v1/items/%s/slots/%s", slot.item_id, seg) : NULL;
    if (!base || !(files = json_object()))
        goto nomem;
    int ready = strcmp(slot.status, "ready") == 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *key = member(storage, names[i]);
        json_t *u = signed_url(req, s, i == 0 || ready ? key : NULL);
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
    upload = NULL;
    if (!doc)
        goto nomem;
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
    lp_media_slot slot;
    json_t *storage;
    lp_storage *s = lp_media_api_storage(req);
    lp_storage_url *u;
    int rc = -1;

    if (!s || load_slot(req, &slot, &storage) != 0)
        return -1;
    const char *key = member(storage, what);
    if (strcmp(what, "original") != 0 && require_ready(req, &slot) != 0)
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

int lp_api_slot_frame(lp_req *req)
{
    const char *nparam = lp_req_param(req, "n");
    lp_media_slot slot;
    lp_media_format fmt;
    lp_media_blob blob = {0};
    json_t *storage = NULL;
    lp_storage *s = lp_media_api_storage(req);
    cache_entry *e = NULL;
    int64_t n, quality;
    char *etag;
    int rc = -1, fresh;

    if (frame_format(req, &fmt) != 0 || lp_query_int(req, "quality", 1, 100, 85, &quality) != 0)
        return -1;
    if (parse_count(nparam, &n) != 0)
        return lp_error_set(&req->err, LP_E_NOT_FOUND, "\"%.32s\" is not a frame number (0, 1, 2, …)", nparam);
    if (!s || media_ready(req) != 0 || load_slot(req, &slot, &storage) != 0)
        return -1;
    lp_res_header(req, "Vary", "Accept");
    if (strcmp(slot.type, "video") != 0) {
        lp_error_set(&req->err, LP_E_NOT_FOUND, "slot \"%s\" holds an image; frames exist only for videos", slot.name);
        goto cleanup;
    }
    if (require_ready(req, &slot) != 0)
        goto cleanup;
    const char *frames = member(storage, "frames"), *index = member(storage, "frames_index");
    const char *sha = member(storage, "sha256");
    if (!frames || !index || !sha) {
        lp_error_set(&req->err, LP_E_NOT_FOUND, "slot \"%s\" has no frame index; upload the video again", slot.name);
        goto cleanup;
    }
    if (n >= slot.frame_count) {
        lp_error_set(&req->err, LP_E_NOT_FOUND, "frame %lld is outside the video, which has frames 0 to %lld",
                     (long long)n, (long long)slot.frame_count - 1);
        goto cleanup;
    }
    etag = lp_arena_printf(req->arena, "\"%.16s-%lld-q%lld.%s\"", sha, (long long)n, (long long)quality,
                           lp_media_format_suffix(fmt));
    if ((fresh = revalidate(req, etag, frames, &e)) != 0) {
        rc = fresh > 0 ? 0 : -1;
        goto cleanup;
    }
    pthread_mutex_lock(&e->lock);
    lp_video_reader *r = cache_reader(req, s, e, index);
    int enc = r ? lp_video_reader_encode(r, n, fmt, (int)quality, &blob, &req->err) : -1;
    if (r && enc != 0) { /* a reader that failed may be mid-way: start afresh next time */
        lp_video_reader_close(e->reader);
        e->reader = NULL;
        lp_video_index_free(e->index);
        e->index = NULL;
    }
    pthread_mutex_unlock(&e->lock);
    if (enc == 0)
        rc = respond_image(req, &blob, fmt, etag);
cleanup:
    cache_release(e);
    json_decref(storage);
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
    lp_media_slot slot;
    lp_media_format fmt = LP_MEDIA_JPEG;
    lp_media_blob blob = {0};
    json_t *storage = NULL;
    lp_storage *s = lp_media_api_storage(req);
    cache_entry *e = NULL;
    int level = 0, is_dzi = path && strcmp(path, "image.dzi") == 0, rc = -1, fresh;
    int64_t col = 0, row = 0;

    if (!path || (!is_dzi && parse_tile(path, &level, &col, &row, &fmt) != 0))
        return lp_error_set(&req->err, LP_E_NOT_FOUND,
                            "tiles are image.dzi and image_files/<level>/<column>_<row>.jpg (or .webp)");
    if (!s || media_ready(req) != 0 || load_slot(req, &slot, &storage) != 0)
        return -1;
    if (require_ready(req, &slot) != 0)
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
    if ((fresh = revalidate(req, etag, pyramid, &e)) != 0) {
        rc = fresh > 0 ? 0 : -1;
        goto cleanup;
    }
    pthread_mutex_lock(&e->lock);
    int fetched = cache_fetch(req, s, e);
    pthread_mutex_unlock(&e->lock);
    /* The file stays while we hold a reference; tiles are cut in parallel. */
    if (fetched == 0 && lp_deepzoom_tile(e->path, level, col, row, fmt, &blob, &req->err) == 0)
        rc = respond_image(req, &blob, fmt, etag);
cleanup:
    cache_release(e);
    json_decref(storage);
    return rc;
}
