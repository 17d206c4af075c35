/* The storage interface: backend choice, key rules, writer bookkeeping
 * (size limit, SHA-256), whole-file puts, ranges and presign time windows.
 * Everything backend-specific is behind lp_storage_ops. */
#include "loupe/storage/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/core/util.h"
#include "storage_int.h"

lp_storage *lp_storage_open(const lp_config *cfg, lp_error *err)
{
    lp_storage *s;
    const char *backend = cfg->storage_backend ? cfg->storage_backend : "";
    if (cfg->signed_url_window >= cfg->signed_url_ttl) {
        lp_error_field(err, LP_E_INVALID, "signed_url_window",
                       "must be shorter than signed_url_ttl (%lld ms), or URLs could be issued already expired",
                       (long long)cfg->signed_url_ttl);
        return NULL;
    }
    if (strcmp(backend, "local") == 0)
        s = lp_storage_local_open(cfg, err);
    else if (strcmp(backend, "s3") == 0)
        s = lp_storage_s3_open(cfg, err);
    else {
        lp_error_field(err, LP_E_INVALID, "storage_backend", "must be local or s3, not '%.64s'", backend);
        return NULL;
    }
    if (!s)
        return NULL;
    s->ttl_ms = cfg->signed_url_ttl;
    s->window_ms = cfg->signed_url_window;
    s->max_object = cfg->upload_max_bytes > 0 ? (uint64_t)cfg->upload_max_bytes : UINT64_MAX;
    return s;
}

void lp_storage_free(lp_storage *s)
{
    if (s)
        s->ops->free(s);
}

const char *lp_storage_backend(const lp_storage *s)
{
    return s->ops->name;
}

/* --- keys ---------------------------------------------------------------- */

static int key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
}

int lp_storage_key_check(const char *key, const char *field, lp_error *err)
{
    size_t len, seg = 0;
    if (!field)
        field = "key";
    if (!key || !*key)
        return lp_error_field(err, LP_E_INVALID, field, "must not be empty");
    len = strnlen(key, LP_STORAGE_KEY_MAX + 1);
    if (len > LP_STORAGE_KEY_MAX)
        return lp_error_field(err, LP_E_INVALID, field, "is longer than %d bytes", LP_STORAGE_KEY_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = key[i];
        if (c == '/') {
            if (seg == 0)
                return lp_error_field(err, LP_E_INVALID, field,
                                      i == 0 ? "must not start with '/'" : "must not contain an empty segment ('//')");
            seg = 0;
            continue;
        }
        if (!key_char(c))
            return lp_error_field(err, LP_E_INVALID, field,
                                  "may only contain A-Z, a-z, 0-9, '-', '_', '.' and '/' (byte %zu is not one)", i);
        if (seg == 0 && c == '.')
            return lp_error_field(err, LP_E_INVALID, field, "has a segment starting with '.' (byte %zu)", i);
        if (++seg > LP_STORAGE_SEGMENT_MAX)
            return lp_error_field(err, LP_E_INVALID, field, "has a segment longer than %d bytes",
                                  LP_STORAGE_SEGMENT_MAX);
    }
    if (seg == 0)
        return lp_error_field(err, LP_E_INVALID, field, "must not end with '/'");
    return 0;
}

int lp_storage_key_derived(const char *source_sha256, const char *variant, char *out, size_t cap, lp_error *err)
{
    int n;
    if (cap > 0)
        out[0] = '\0';
    if (!source_sha256 || strlen(source_sha256) != LP_SHA256_HEX_LEN ||
        strspn(source_sha256, "0123456789abcdef") != LP_SHA256_HEX_LEN)
        return lp_error_field(err, LP_E_INVALID, "source_sha256", "must be 64 lowercase hex characters");
    if (lp_storage_key_check(variant, "variant", err))
        return -1;
    n = snprintf(out, cap, LP_STORAGE_PREFIX_DERIVED "%.2s/%s/%s", source_sha256, source_sha256, variant);
    if (n < 0 || (size_t)n >= cap || n > LP_STORAGE_KEY_MAX) {
        if (cap > 0)
            out[0] = '\0';
        return lp_error_field(err, LP_E_INVALID, "variant", "makes the key longer than %d bytes",
                              LP_STORAGE_KEY_MAX);
    }
    return 0;
}

/* --- writers ------------------------------------------------------------- */

int lp_storage_writer_init(lp_storage_writer *w, lp_storage *s, const char *key, lp_error *err)
{
    w->s = s;
    lp_strlcpy(w->key, key, sizeof w->key);
    w->size = 0;
    w->failed = 0;
    if (!(w->sha = lp_sha256_new()))
        return lp_error_set(err, LP_E_NOMEM, "out of memory starting a write of '%s'", key);
    return 0;
}

void lp_storage_writer_fini(lp_storage_writer *w)
{
    lp_sha256_free(w->sha);
    w->sha = NULL;
}

lp_storage_writer *lp_storage_writer_open(lp_storage *s, const char *key, const char *content_type, lp_error *err)
{
    if (lp_storage_key_check(key, "key", err))
        return NULL;
    if (content_type && (strlen(content_type) > 255 || strpbrk(content_type, "\r\n"))) {
        lp_error_field(err, LP_E_INVALID, "content_type", "must be at most 255 characters on one line");
        return NULL;
    }
    return s->ops->writer_open(s, key, content_type, err);
}

int lp_storage_writer_write(lp_storage_writer *w, const void *p, size_t n, lp_error *err)
{
    if (w->failed)
        return lp_error_set(err, LP_E_INTERNAL, "write to '%s' after a failed write; abort it", w->key);
    if (n == 0)
        return 0;
    if (n > w->s->max_object - w->size) {
        w->failed = 1;
        lp_error_set(err, LP_E_TOO_LARGE, "object '%s' would pass the size limit of %llu bytes", w->key,
                     (unsigned long long)w->s->max_object);
        return lp_error_hint(err, "raise upload_max_bytes to accept larger files");
    }
    if (w->sha && lp_sha256_update(w->sha, p, n)) {
        w->failed = 1;
        return lp_error_set(err, LP_E_INTERNAL, "SHA-256 failed while writing '%s'", w->key);
    }
    if (w->s->ops->writer_write(w, p, n, err)) {
        w->failed = 1;
        return -1;
    }
    w->size += n;
    return 0;
}

int lp_storage_writer_commit(lp_storage_writer *w, lp_storage_object *out, lp_error *err)
{
    lp_storage_object obj;
    uint8_t digest[LP_SHA256_LEN];
    int rc = -1;
    memset(&obj, 0, sizeof obj);
    if (w->failed) {
        lp_error_set(err, LP_E_INTERNAL, "commit of '%s' after a failed write; abort it", w->key);
        w->s->ops->writer_abort(w);
        goto cleanup;
    }
    if (w->sha && lp_sha256_final(w->sha, digest, obj.sha256)) {
        lp_error_set(err, LP_E_INTERNAL, "SHA-256 failed while committing '%s'", w->key);
        w->s->ops->writer_abort(w);
        goto cleanup;
    }
    obj.size = w->size;
    if (w->s->ops->writer_commit(w, &obj, err))
        goto cleanup; /* the backend cleaned up after itself */
    if (out)
        *out = obj;
    rc = 0;
cleanup:
    w->s->ops->writer_free(w);
    return rc;
}

void lp_storage_writer_abort(lp_storage_writer *w)
{
    if (!w)
        return;
    w->s->ops->writer_abort(w);
    w->s->ops->writer_free(w);
}

/* A writer whose caller wants no digest: the bytes are not hashed (a
 * derived file of 150 MiB costs about 0.14 s of SHA-256). */
static void unhashed(lp_storage_writer *w)
{
    lp_sha256_free(w->sha);
    w->sha = NULL;
}

int lp_storage_put_mem(lp_storage *s, const char *key, const void *p, size_t n, const char *content_type,
                       lp_storage_object *out, lp_error *err)
{
    lp_storage_writer *w = lp_storage_writer_open(s, key, content_type, err);
    if (!w)
        return -1;
    if (!out)
        unhashed(w);
    if (lp_storage_writer_write(w, p, n, err)) {
        lp_storage_writer_abort(w);
        return -1;
    }
    return lp_storage_writer_commit(w, out, err);
}

int lp_storage_put_file(lp_storage *s, const char *key, const char *path, const char *content_type,
                        lp_storage_object *out, lp_error *err)
{
    enum { CHUNK = 256 * 1024 };
    lp_storage_writer *w = NULL;
    char *buf = NULL;
    int fd = -1, rc = -1;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        lp_error_set(err, errno == ENOENT ? LP_E_NOT_FOUND : LP_E_IO, "cannot open '%s' to store it: %s", path,
                     strerror(errno));
        goto cleanup;
    }
    if (!(buf = malloc(CHUNK))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory storing '%s'", path);
        goto cleanup;
    }
    if (!(w = lp_storage_writer_open(s, key, content_type, err)))
        goto cleanup;
    if (!out)
        unhashed(w);
    for (;;) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            lp_error_set(err, LP_E_IO, "cannot read '%s': %s", path, strerror(errno));
            goto cleanup;
        }
        if (r == 0)
            break;
        if (lp_storage_writer_write(w, buf, (size_t)r, err))
            goto cleanup;
    }
    rc = lp_storage_writer_commit(w, out, err);
    w = NULL;
cleanup:
    lp_storage_writer_abort(w);
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* --- reading ------------------------------------------------------------- */

int lp_storage_range_resolve(const char *key, uint64_t size, uint64_t offset, uint64_t length, uint64_t *n,
                             lp_error *err)
{
    if (offset == 0 && length == LP_STORAGE_TO_END) {
        *n = size;
        return 0;
    }
    if (length == 0 || offset >= size)
        return lp_error_set(err, LP_E_RANGE, "range at byte %llu (length %llu) is outside '%s' (%llu bytes)",
                            (unsigned long long)offset, (unsigned long long)length, key, (unsigned long long)size);
    *n = length > size - offset ? size - offset : length;
    return 0;
}

int lp_storage_get(lp_storage *s, const char *key, uint64_t offset, uint64_t length, lp_storage_sink sink,
                   void *ud, lp_error *err)
{
    if (lp_storage_key_check(key, "key", err))
        return -1;
    return s->ops->get(s, key, offset, length, sink, ud, err);
}

static int fd_sink(void *ud, const void *p, size_t n, lp_error *err)
{
    int fd = *(int *)ud;
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return lp_error_set(err, LP_E_IO, "cannot write to file descriptor %d: %s", fd, strerror(errno));
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int lp_storage_get_fd(lp_storage *s, const char *key, uint64_t offset, uint64_t length, int fd, lp_error *err)
{
    return lp_storage_get(s, key, offset, length, fd_sink, &fd, err);
}

int lp_storage_stat(lp_storage *s, const char *key, lp_storage_info *out, lp_error *err)
{
    memset(out, 0, sizeof *out);
    if (lp_storage_key_check(key, "key", err))
        return -1;
    return s->ops->stat(s, key, out, err);
}

int lp_storage_delete(lp_storage *s, const char *key, lp_error *err)
{
    if (lp_storage_key_check(key, "key", err))
        return -1;
    return s->ops->del(s, key, err);
}

/* --- presigned URLs ------------------------------------------------------- */

int lp_storage_presign(lp_storage *s, lp_storage_method method, const char *key, int64_t now_ms, int64_t ttl_ms,
                       lp_storage_url *out, lp_error *err)
{
    int64_t floor_ms;
    out->url[0] = '\0';
    out->expires = 0;
    if (method != LP_STORAGE_GET && method != LP_STORAGE_PUT)
        return lp_error_field(err, LP_E_INVALID, "method", "must be GET or PUT");
    if (lp_storage_key_check(key, "key", err))
        return -1;
    if (ttl_ms <= 0)
        ttl_ms = s->ttl_ms;
    if (ttl_ms <= s->window_ms || ttl_ms < 1000)
        return lp_error_field(err, LP_E_INVALID, "ttl", "must be at least 1 s and longer than signed_url_window (%lld ms)",
                              (long long)s->window_ms);
    if (now_ms < 0)
        return lp_error_field(err, LP_E_INVALID, "now", "must not be before 1970");
    floor_ms = now_ms - now_ms % s->window_ms;
    return s->ops->presign(s, method, key, floor_ms / 1000, ttl_ms / 1000, out, err);
}

void lp_storage_key_original(const char *team_id, const char *item_id, const char *upload_id, char *out, size_t cap)
{
    snprintf(out, cap, LP_STORAGE_PREFIX_ORIGINALS "%s/%s/%s", team_id, item_id, upload_id);
}

void lp_storage_key_original_file(const char *original_key, int64_t n, char *out, size_t cap)
{
    snprintf(out, cap, "%s.files/%06lld", original_key, (long long)n);
}

void lp_storage_key_export(const char *team_id, const char *export_id, char *out, size_t cap)
{
    snprintf(out, cap, LP_STORAGE_PREFIX_EXPORTS "%s/%s.zip", team_id, export_id);
}

void lp_storage_key_import(const char *team_id, const char *import_id, char *out, size_t cap)
{
    snprintf(out, cap, LP_STORAGE_PREFIX_IMPORTS "%s/%s", team_id, import_id);
}

void lp_storage_key_model(const char *team_id, const char *model_id, char *out, size_t cap)
{
    snprintf(out, cap, LP_STORAGE_PREFIX_MODELS "%s/%s.onnx", team_id, model_id);
}

void lp_storage_key_model_input(const char *team_id, const char *input_id, char *out, size_t cap)
{
    snprintf(out, cap, LP_STORAGE_PREFIX_MODELS "%s/inputs/%s", team_id, input_id);
}

int lp_storage_key_team_is(const char *key, const char *team_id)
{
    const char *rest = NULL;
    size_t n = strlen(team_id);
    if (strncmp(key, LP_STORAGE_PREFIX_EXPORTS, strlen(LP_STORAGE_PREFIX_EXPORTS)) == 0)
        rest = key + strlen(LP_STORAGE_PREFIX_EXPORTS);
    else if (strncmp(key, LP_STORAGE_PREFIX_IMPORTS, strlen(LP_STORAGE_PREFIX_IMPORTS)) == 0)
        rest = key + strlen(LP_STORAGE_PREFIX_IMPORTS);
    return rest && n > 0 && strncmp(rest, team_id, n) == 0 && rest[n] == '/';
}

lp_storage_key_kind lp_storage_key_kind_of(const char *key)
{
    if (strncmp(key, LP_STORAGE_PREFIX_DERIVED, strlen(LP_STORAGE_PREFIX_DERIVED)) == 0)
        return LP_STORAGE_KEY_DERIVED;
    if (strncmp(key, LP_STORAGE_PREFIX_ORIGINALS, strlen(LP_STORAGE_PREFIX_ORIGINALS)) == 0)
        return LP_STORAGE_KEY_ORIGINAL;
    if (strncmp(key, LP_STORAGE_PREFIX_EXPORTS, strlen(LP_STORAGE_PREFIX_EXPORTS)) == 0)
        return LP_STORAGE_KEY_EXPORT;
    if (strncmp(key, LP_STORAGE_PREFIX_IMPORTS, strlen(LP_STORAGE_PREFIX_IMPORTS)) == 0)
        return LP_STORAGE_KEY_IMPORT;
    if (strncmp(key, LP_STORAGE_PREFIX_MODELS, strlen(LP_STORAGE_PREFIX_MODELS)) == 0)
        return LP_STORAGE_KEY_MODEL;
    return LP_STORAGE_KEY_EXTERNAL;
}

int lp_storage_prefix_overlaps_managed(const char *prefix)
{
    static const char *const managed[] = {LP_STORAGE_PREFIX_ORIGINALS, LP_STORAGE_PREFIX_DERIVED,
                                          LP_STORAGE_PREFIX_EXPORTS, LP_STORAGE_PREFIX_IMPORTS,
                                          LP_STORAGE_PREFIX_MODELS};
    size_t n = strlen(prefix);
    for (size_t i = 0; i < sizeof managed / sizeof managed[0]; i++)
        if (strncmp(prefix, managed[i], strlen(managed[i])) == 0 || strncmp(managed[i], prefix, n) == 0)
            return 1;
    return 0;
}
