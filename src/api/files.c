/* Stored files of the local storage backend, reached only through signed
 * URLs (lp_storage_presign):
 *
 *   GET|HEAD /files/{key*}?expires=…&sig=…   the object; Range → 206, ETag, Cache-Control
 *   PUT      /files/{key*}?expires=…&sig=…   the body becomes the object (presigned uploads)
 *
 * A missing, expired, tampered or wrongly-scoped signature (a GET URL used
 * for PUT) answers 403 before anything is read. An upload URL works only
 * while its upload is open (pending and the slot's latest: 403 once it was
 * confirmed or superseded), for the Content-Type (403) and size (413/422) it
 * was issued for. Derived files have
 * content-addressed keys, so they are served as immutable; anything else may
 * be cached privately until its URL expires. With the S3 backend these
 * routes answer 404: clients go to the bucket directly. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers_int.h"
#include "loupe/core/util.h"
#include "loupe/http/etag.h"
#include "loupe/http/range.h"
#include "slot_common_int.h"

/* Ranges up to this size are read into memory and answered with a length;
 * larger ones are streamed. */
#define BUFFERED_MAX (8u * 1024 * 1024)

static const char *content_type_of(const char *key)
{
    static const struct { const char *suffix, *type; } types[] = {
        {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".png", "image/png"},   {".webp", "image/webp"},
        {".tif", "image/tiff"}, {".tiff", "image/tiff"}, {".gif", "image/gif"},   {".mp4", "video/mp4"},
        {".mkv", "video/x-matroska"}, {".webm", "video/webm"}, {".json", "application/json"},
        {".dzi", "application/xml"},
    };
    size_t n = strlen(key);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t m = strlen(types[i].suffix);
        if (n > m && strcmp(key + n - m, types[i].suffix) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

static lp_storage *local_storage(lp_req *req)
{
    lp_storage *s = lp_slot_storage(req);
    if (s && strcmp(lp_storage_backend(s), "local") != 0) {
        lp_error_set(&req->err, LP_E_NOT_FOUND, "files are served by the S3 store, not by this node");
        return NULL;
    }
    return s;
}

static int check_signature(lp_req *req, lp_storage *s, lp_storage_method m, const char *key)
{
    lp_storage_sig v = lp_storage_local_verify(s, m, key, lp_req_query(req, "expires"), lp_req_query(req, "sig"),
                                               lp_now_wall_ms(), &req->err);
    return v == LP_STORAGE_SIG_OK ? 0 : -1;
}

/* 1 if the If-None-Match header lists etag (quoted) or "*". */
typedef struct stream_src {
    lp_storage *s;
    char *key;
    uint64_t off, len;
} stream_src;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_src *src = cls;
    size_t got;
    lp_error err;
    if (pos >= src->len)
        return 0;
    if (max > src->len - pos)
        max = (size_t)(src->len - pos);
    lp_error_clear(&err);
    if (lp_slot_read_object(src->s, src->key, src->off + pos, max, buf, max, &got, &err) != 0 || got == 0)
        return -1;
    return (ssize_t)got;
}

static void stream_free(void *cls)
{
    stream_src *src = cls;
    if (src)
        free(src->key);
    free(src);
}

int lp_api_files_get(lp_req *req)
{
    const char *key = lp_req_param(req, "key");
    lp_storage *s = local_storage(req);
    lp_storage_info info;
    uint64_t off = 0, len;
    char etag[LP_STORAGE_ETAG_MAX + 4], cache[96], range[96];
    int status = 200, r;

    if (!s || !key || check_signature(req, s, LP_STORAGE_GET, key) != 0)
        return -1;
    if (lp_storage_stat(s, key, &info, &req->err) != 0)
        return -1;
    snprintf(etag, sizeof etag, "\"%s\"", info.etag);
    if (lp_storage_key_kind_of(key) == LP_STORAGE_KEY_DERIVED) {
        snprintf(cache, sizeof cache, "public, max-age=31536000, immutable");
    } else {
        int64_t left = strtoll(lp_req_query(req, "expires"), NULL, 10) - lp_now_wall_ms() / 1000;
        snprintf(cache, sizeof cache, "private, max-age=%lld", (long long)(left > 0 ? left : 0));
    }
    lp_res_header(req, "ETag", etag);
    lp_res_header(req, "Cache-Control", cache);
    lp_res_header(req, "Accept-Ranges", "bytes");
    if (lp_req_etag_match(req, "If-None-Match", etag))
        return lp_res_empty(req, 304);
    len = info.size;
    r = lp_http_range_parse(lp_req_header(req, "Range"), info.size, &off, &len);
    if (r < 0) {
        snprintf(range, sizeof range, "bytes */%" PRIu64, info.size);
        lp_res_header(req, "Content-Range", range);
        return lp_error_set(&req->err, LP_E_RANGE, "the range is outside the file, which has %" PRIu64 " bytes",
                            info.size);
    }
    if (r > 0) {
        status = 206;
        snprintf(range, sizeof range, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off, off + len - 1, info.size);
        lp_res_header(req, "Content-Range", range);
    }
    if (len <= BUFFERED_MAX) {
        char *data = lp_arena_alloc(req->arena, (size_t)len + 1);
        size_t got = 0;
        if (!data)
            return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        if (len > 0 && lp_slot_read_object(s, key, off, len, data, (size_t)len, &got, &req->err) != 0)
            return -1;
        return lp_res_bytes(req, status, content_type_of(key), data, got);
    }
    stream_src *src = calloc(1, sizeof *src);
    if (!src || !(src->key = strdup(key))) {
        free(src);
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    }
    src->s = s;
    src->off = off;
    src->len = len;
    return lp_res_stream(req, status, content_type_of(key), stream_read, src, stream_free);
}

/* ---- PUT: a presigned upload ------------------------------------------------ */

typedef struct put_ctx {
    lp_storage_writer *w;
    int64_t declared; /* the size the upload URL was issued for; -1 = none */
    int64_t received;
} put_ctx;

static int put_chunk(lp_req *req, void *cls, const char *data, size_t len)
{
    put_ctx *c = cls;
    c->received += (int64_t)len;
    if (c->declared >= 0 && c->received > c->declared)
        return lp_error_set(&req->err, LP_E_TOO_LARGE, "this upload URL was issued for %lld bytes",
                            (long long)c->declared);
    return lp_storage_writer_write(c->w, data, len, &req->err);
}

static int put_end(lp_req *req, void *cls)
{
    put_ctx *c = cls;
    lp_storage_object obj;
    char etag[LP_STORAGE_ETAG_MAX + 4];
    lp_storage_writer *w = c->w;
    if (c->declared >= 0 && c->received != c->declared)
        return lp_error_set(&req->err, LP_E_INVALID, "this upload URL was issued for %lld bytes; %lld arrived",
                            (long long)c->declared, (long long)c->received);
    c->w = NULL;
    if (lp_storage_writer_commit(w, &obj, &req->err) != 0)
        return -1;
    snprintf(etag, sizeof etag, "\"%s\"", obj.etag);
    lp_res_header(req, "ETag", etag);
    return lp_res_json(req, 200, json_pack("{s:I, s:s}", "size", (json_int_t)obj.size, "sha256", obj.sha256));
}

static void put_cleanup(void *cls)
{
    put_ctx *c = cls;
    lp_storage_writer_abort(c->w);
    free(c);
}

/* An upload URL works once: only while its upload is pending and the latest
 * of its slot (not confirmed, failed or superseded), and only for the size
 * and Content-Type it was issued for. *declared receives the size (-1: none). */
static int check_upload_open(lp_req *req, const char *key, int64_t *declared)
{
    const char *ctype = lp_req_header(req, "Content-Type"), *clen = lp_req_header(req, "Content-Length");
    lp_media_upload u;
    lp_db *db;
    int rc;

    if (!(db = lp_req_db(req)))
        return -1;
    rc = lp_db_media_upload_open_by_key(db, req->arena, key, &u, &req->err);
    lp_req_db_release(req);
    if (rc != 0) {
        if (req->err.code != LP_E_NOT_FOUND)
            return -1;
        lp_error_clear(&req->err);
        lp_error_set(&req->err, LP_E_FORBIDDEN, "this upload URL can no longer be used: its upload was confirmed, "
                                                "failed or superseded by a newer one");
        return lp_error_hint(&req->err, "ask for a new upload URL with POST …/slots/{slot}/upload");
    }
    if (u.content_type && (!ctype || strcasecmp(ctype, u.content_type) != 0))
        return lp_error_set(&req->err, LP_E_FORBIDDEN, "this upload URL was issued for Content-Type %s",
                            u.content_type);
    *declared = u.size;
    if (u.size >= 0 && clen && strtoll(clen, NULL, 10) != u.size)
        return lp_error_set(&req->err, strtoll(clen, NULL, 10) > u.size ? LP_E_TOO_LARGE : LP_E_INVALID,
                            "this upload URL was issued for %lld bytes, not %s", (long long)u.size, clen);
    return 0;
}

int lp_api_files_put(lp_req *req)
{
    const char *key = lp_req_param(req, "key");
    lp_storage *s = local_storage(req);
    int64_t declared = -1;
    put_ctx *c;

    if (!s || !key || check_signature(req, s, LP_STORAGE_PUT, key) != 0 ||
        check_upload_open(req, key, &declared) != 0)
        return -1;
    if (!(c = calloc(1, sizeof *c)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    c->declared = declared;
    if (!(c->w = lp_storage_writer_open(s, key, lp_req_header(req, "Content-Type"), &req->err))) {
        free(c);
        return -1;
    }
    lp_body_sink sink = {.chunk = put_chunk, .end = put_end, .cleanup = put_cleanup, .cls = c};
    if (lp_req_stream_body(req, &sink) != 0) {
        put_cleanup(c);
        return -1;
    }
    return 0;
}
