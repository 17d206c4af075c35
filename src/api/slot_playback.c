/* Playback of a video slot: the frame manifest and the HLS playlists.
 *
 *   GET /api/v1/items/{id}/slots/{slot}/manifest           every frame's pts, segment and keyframe flag
 *   GET /api/v1/items/{id}/slots/{slot}/hls/master.m3u8    the multivariant playlist
 *   GET /api/v1/items/{id}/slots/{slot}/hls/{track}.m3u8   a media playlist ("1080p", "360p", "audio")
 *
 * The worker wrote the manifest and the tracks (loupe/media/video_ingest.h,
 * video_manifest.h) under content-addressed keys: the manifest and the
 * multivariant playlist are immutable (ETag from the original's hash). A
 * media playlist as stored names its one fragmented MP4 by file name; the
 * answer names it by a signed URL instead (segments are byte ranges of that
 * file, served like every derived file: Range, long cache), so it is cached
 * only as long as those URLs stay valid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers_int.h"
#include "loupe/core/buf.h"
#include "loupe/core/util.h"
#include "loupe/http/etag.h"
#include "slot_common_int.h"

/* Largest stored manifest or playlist read into memory. */
#define PLAYBACK_FILE_MAX (64u * 1024 * 1024)
#define PLAYLIST_TYPE "application/vnd.apple.mpegurl"
#define IMMUTABLE "private, max-age=31536000, immutable"

static const char *member(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

/* The ready video slot of the route with its storage document. */
static int video_slot(lp_req *req, lp_slot_row *slot, json_t **storage)
{
    if (lp_slot_load(req, slot, storage) != 0)
        return -1;
    if (lp_slot_require_ready(req, slot) == 0 && strcmp(slot->type, "video") != 0)
        lp_error_set(&req->err, LP_E_NOT_FOUND, "slot \"%s\" of item %s is not a video", slot->name, slot->item_id);
    if (req->err.code == LP_OK)
        return 0;
    json_decref(*storage);
    *storage = NULL;
    return -1;
}

/* 1 after a 304 for etag; 0 to answer. */
static int not_modified(lp_req *req, const char *etag)
{
    lp_res_header(req, "ETag", etag);
    lp_res_header(req, "Cache-Control", IMMUTABLE);
    if (!lp_req_etag_match(req, "If-None-Match", etag))
        return 0;
    lp_res_empty(req, 304);
    return 1;
}

/* Object key read whole into *out (malloc'ed, NUL-terminated). */
static int read_all(lp_req *req, lp_storage *s, const char *key, char **out, size_t *len)
{
    lp_storage_info info;
    *out = NULL;
    if (lp_storage_stat(s, key, &info, &req->err) != 0)
        return -1;
    if (info.size > PLAYBACK_FILE_MAX)
        return lp_error_set(&req->err, LP_E_INTERNAL, "stored file %s is larger than %u bytes", key,
                            PLAYBACK_FILE_MAX);
    if (!(*out = malloc((size_t)info.size + 1)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    if (lp_slot_read_object(s, key, 0, LP_STORAGE_TO_END, *out, (size_t)info.size, len, &req->err) != 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    (*out)[*len] = '\0';
    return 0;
}

/* What a slot processed before playback existed answers. */
static int made_before(lp_req *req, const lp_slot_row *slot, const char *what)
{
    return lp_error_set(&req->err, LP_E_NOT_FOUND,
                        "slot \"%s\" of item %s has no %s; it was processed before they were made: upload the "
                        "video again",
                        slot->name, slot->item_id, what);
}

/* ---- GET …/manifest ------------------------------------------------------------------- */

int lp_api_slot_manifest(lp_req *req)
{
    lp_slot_row slot;
    json_t *storage = NULL;
    lp_storage *s = lp_slot_storage(req);
    char *body = NULL;
    size_t len = 0;
    int rc = -1;

    if (!s || video_slot(req, &slot, &storage) != 0)
        return -1;
    const char *key = member(storage, "manifest"), *sha = member(storage, "sha256");
    if (!key || !sha) {
        made_before(req, &slot, "frame manifest");
        goto cleanup;
    }
    const char *etag = lp_arena_printf(req->arena, "\"%s-manifest-%d\"", sha, 1);
    if (!etag) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        goto cleanup;
    }
    if (not_modified(req, etag)) {
        rc = 0;
        goto cleanup;
    }
    if (read_all(req, s, key, &body, &len) != 0)
        goto cleanup;
    rc = lp_res_bytes(req, 200, "application/json", body, len);
cleanup:
    free(body);
    json_decref(storage);
    return rc;
}

/* ---- GET …/hls/{name} ----------------------------------------------------------------- */

/* Answers the playlist in b (freed), or the failure of an append to it. */
static int respond_playlist(lp_req *req, lp_buf *b, int bad)
{
    int rc;
    if (bad) {
        rc = lp_error_set(&req->err, lp_buf_failure(b), "a playlist could not be written (out of memory or over %u "
                          "bytes)", PLAYBACK_FILE_MAX);
    } else {
        rc = lp_res_bytes(req, 200, PLAYLIST_TYPE, b->data, b->len);
    }
    lp_buf_free(b);
    return rc;
}

/* The multivariant playlist, from the storage record's "hls". */
static int master(lp_req *req, const json_t *hls)
{
    const json_t *audio = json_object_get(hls, "audio"), *r;
    int64_t audio_bw = json_is_object(audio) ? json_integer_value(json_object_get(audio, "bandwidth")) : 0;
    int64_t audio_avg = json_is_object(audio) ? json_integer_value(json_object_get(audio, "average_bandwidth")) : 0;
    lp_buf b;
    size_t i;
    int bad;
    lp_buf_init(&b, PLAYBACK_FILE_MAX);
    bad = lp_buf_puts(&b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    if (json_is_object(audio))
        bad |= lp_buf_puts(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio\",DEFAULT=YES,AUTOSELECT=YES,"
                           "URI=\"audio.m3u8\"\n");
    json_array_foreach(json_object_get(hls, "renditions"), i, r) {
        bad |= lp_buf_printf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%lld,AVERAGE-BANDWIDTH=%lld,RESOLUTION=%lldx%lld,CODECS=\"%s%s\"%s\n%s.m3u8\n",
                       (long long)(json_integer_value(json_object_get(r, "bandwidth")) + audio_bw),
                       (long long)(json_integer_value(json_object_get(r, "average_bandwidth")) + audio_avg),
                       (long long)json_integer_value(json_object_get(r, "width")),
                       (long long)json_integer_value(json_object_get(r, "height")), member(r, "codecs"),
                       json_is_object(audio) ? ",mp4a.40.2" : "", json_is_object(audio) ? ",AUDIO=\"audio\"" : "",
                       member(r, "name"));
    }
    return respond_playlist(req, &b, bad);
}

/* Where line (n bytes) names file (flen bytes) as a whole: the line itself,
 * or a quoted attribute value; NULL if it does not. */
static const char *find_name(const char *line, size_t n, const char *file, size_t flen)
{
    for (size_t i = 0; i + flen <= n; i++) {
        const char *q = line + i;
        if (memcmp(q, file, flen) == 0 && (i == 0 || q[-1] == '"') && (i + flen == n || q[flen] == '"'))
            return q;
    }
    return NULL;
}

/* The stored media playlist with its file name turned into url. */
static int media_playlist(lp_req *req, const char *text, const char *file, const char *url)
{
    lp_buf b;
    size_t flen = strlen(file);
    int bad = 0;
    lp_buf_init(&b, PLAYBACK_FILE_MAX);
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        const char *q = find_name(p, n, file, flen);
        if (q) {
            bad |= lp_buf_append(&b, p, (size_t)(q - p));
            bad |= lp_buf_puts(&b, url);
            bad |= lp_buf_append(&b, q + flen, (size_t)(p + n - (q + flen)));
        } else {
            bad |= lp_buf_append(&b, p, n);
        }
        bad |= lp_buf_append(&b, "\n", 1);
        p += n;
        if (*p == '\n')
            p++;
    }
    return respond_playlist(req, &b, bad);
}

int lp_api_slot_hls(lp_req *req)
{
    lp_slot_row slot;
    json_t *storage = NULL;
    lp_storage *s = lp_slot_storage(req);
    const char *name = lp_req_param(req, "name");
    char *text = NULL, track[32], key_name[64], file[64];
    size_t len = 0, n = name ? strlen(name) : 0;
    int rc = -1;

    if (!s || video_slot(req, &slot, &storage) != 0)
        return -1;
    const json_t *hls = json_object_get(storage, "hls");
    const char *sha = member(storage, "sha256");
    if (!json_is_object(hls) || !sha) {
        made_before(req, &slot, "playback renditions");
        goto cleanup;
    }
    if (n < 6 || n - 5 >= sizeof track || strcmp(name + n - 5, ".m3u8") != 0) {
        lp_error_set(&req->err, LP_E_NOT_FOUND, "no playlist \"%s\"; ask for master.m3u8", name ? name : "");
        goto cleanup;
    }
    memcpy(track, name, n - 5);
    track[n - 5] = '\0';
    if (strcmp(track, "master") == 0) {
        const char *etag = lp_arena_printf(req->arena, "\"%s-hls-%lld\"", sha,
                                           (long long)json_integer_value(json_object_get(hls, "segment_frames")));
        if (!etag) {
            lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
            goto cleanup;
        }
        rc = not_modified(req, etag) ? 0 : master(req, hls);
        goto cleanup;
    }
    snprintf(key_name, sizeof key_name, "hls_%s", track);
    const char *media = member(storage, key_name);
    snprintf(key_name, sizeof key_name, "hls_%s_playlist", track);
    const char *playlist = member(storage, key_name);
    if (!media || !playlist || strchr(track, '/')) {
        lp_error_set(&req->err, LP_E_NOT_FOUND, "slot \"%s\" has no playlist \"%s\"", slot.name, name);
        goto cleanup;
    }
    lp_storage_url *u = lp_arena_alloc(req->arena, sizeof *u);
    if (!u) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        goto cleanup;
    }
    int64_t now = lp_now_wall_ms();
    if (lp_storage_presign(s, LP_STORAGE_GET, media, now, 0, u, &req->err) != 0 ||
        read_all(req, s, playlist, &text, &len) != 0)
        goto cleanup;
    /* Cached no longer than the signed URL inside stays valid. */
    int64_t left = u->expires - now / 1000;
    char cache[64];
    snprintf(cache, sizeof cache, "private, max-age=%lld", (long long)(left > 0 ? left : 0));
    lp_res_header(req, "Cache-Control", cache);
    snprintf(file, sizeof file, "hls-%s.mp4", track);
    rc = media_playlist(req, text, file, u->url);
cleanup:
    free(text);
    json_decref(storage);
    return rc;
}

/* ---- In GET …/media --------------------------------------------------------------------- */

/* {"url", "expires_at", "name", "width", "height", "codecs", "bandwidth", "playlist"} of one track. */
static json_t *track_json(lp_req *req, lp_storage *s, const char *base, const json_t *storage, const json_t *t)
{
    char key_name[64];
    const char *name = member(t, "name");
    snprintf(key_name, sizeof key_name, "hls_%s", name ? name : "");
    json_t *out = lp_slot_signed_url(req, s, member(storage, key_name));
    if (!json_is_object(out)) {
        json_decref(out);
        return NULL;
    }
    json_object_update(out, (json_t *)t);
    json_object_set_new(out, "playlist", json_string(lp_arena_printf(req->arena, "%s/hls/%s.m3u8", base, name)));
    return out;
}

json_t *lp_slot_playback_json(lp_req *req, lp_storage *s, const char *base, const json_t *storage)
{
    const json_t *hls = json_object_get(storage, "hls"), *t;
    json_t *renditions = json_array(), *audio = json_null(), *out;
    size_t i;
    if (!json_is_object(hls) || !renditions) {
        json_decref(renditions);
        return json_null();
    }
    json_array_foreach(json_object_get(hls, "renditions"), i, t) {
        json_t *r = track_json(req, s, base, storage, t);
        if (!r || json_array_append_new(renditions, r)) {
            json_decref(renditions);
            return NULL;
        }
    }
    if (json_is_object(json_object_get(hls, "audio")) &&
        !(audio = track_json(req, s, base, storage, json_object_get(hls, "audio")))) {
        json_decref(renditions);
        return NULL;
    }
    out = json_pack("{s:s, s:s, s:O, s:O, s:o, s:o}", "master", lp_arena_printf(req->arena, "%s/hls/master.m3u8", base),
                    "manifest", lp_arena_printf(req->arena, "%s/manifest", base), "segment_frames",
                    json_object_get(hls, "segment_frames"), "segments", json_object_get(hls, "segments"),
                    "renditions", renditions, "audio", audio);
    return out;
}
