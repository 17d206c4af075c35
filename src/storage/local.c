/* Local directory backend.
 *
 * An object is the file <storage_dir>/<key>. Writes go to a temporary file
 * ".tmp-<random>" in the object's directory, are fsync'ed and renamed over
 * the key, then the directory is fsync'ed: readers see the old or the new
 * file, and a crash leaves at most a stray temporary file (keys never start
 * with '.', so no key can name one). All paths are resolved relative to a
 * descriptor of storage_dir opened once; keys are checked before they get
 * here, so they cannot leave it. A big write starts going to disk as it
 * is made (every WRITEBACK_BYTES, asynchronously), so the fsync that
 * commits it waits for its last part only.
 *
 * Presigned URLs are "<public_url>/files/<key>?expires=<unix>&sig=<hex>",
 * sig = HMAC-SHA256(files_key, "<METHOD>\n<key>\n<expires>"), where files_key
 * = HMAC-SHA256(secret_key, "loupe storage files v1"). */
#define _GNU_SOURCE /* sync_file_range */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "loupe/core/buf.h"
#include "loupe/core/util.h"
#include "loupe/crypto/sigv4.h"
#include "storage_int.h"

#define SECRET_FILE ".secret"
#define WRITEBACK_BYTES (8u << 20)
#define SECRET_MAX 1024
#define READ_CHUNK (256 * 1024)

typedef struct local_storage {
    lp_storage base;
    int dirfd;                       /* storage_dir, O_DIRECTORY */
    char *dir;                       /* for messages */
    char *public_url;                /* no trailing '/' */
    uint8_t files_key[LP_SHA256_LEN];
} local_storage;

typedef struct local_writer {
    lp_storage_writer base;
    int fd;
    char tmp[LP_STORAGE_KEY_MAX + 32]; /* temporary file, relative to dirfd */
    uint64_t written, started;         /* bytes written; bytes whose writeback has been started */
} local_writer;

static const lp_storage_ops local_ops;

static local_storage *local_of(lp_storage *s)
{
    return (local_storage *)s;
}

/* --- secret -------------------------------------------------------------- */

/* Reads <dir>/.secret into out (trailing whitespace removed). 0, 1 if it
 * does not exist, -1 with err set. */
static int secret_read(local_storage *l, char *out, size_t cap, lp_error *err)
{
    ssize_t n;
    int fd = openat(l->dirfd, SECRET_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        return lp_error_set(err, LP_E_IO, "cannot open %s/" SECRET_FILE ": %s", l->dir, strerror(errno));
    }
    do
        n = read(fd, out, cap - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0)
        return lp_error_set(err, LP_E_IO, "cannot read %s/" SECRET_FILE ": %s", l->dir, strerror(errno));
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        n--;
    out[n] = '\0';
    if (n == 0 || (size_t)n != strlen(out)) {
        lp_error_set(err, LP_E_IO, "%s/" SECRET_FILE " is empty or not text", l->dir);
        return lp_error_hint(err, "delete the file to have a new key generated, or set secret_key");
    }
    return 0;
}

/* Creates <dir>/.secret with a random key unless another process did first
 * (written to a temporary file and linked into place, so no reader ever sees
 * a partial key). 0 or -1. */
static int secret_create(local_storage *l, lp_error *err)
{
    uint8_t raw[32], name[6];
    char hex[2 * sizeof raw + 2], namehex[2 * sizeof name + 1], tmp[64];
    int fd = -1, rc = -1;
    size_t off = 0, len;

    if (lp_random_bytes(raw, sizeof raw) || lp_random_bytes(name, sizeof name)) {
        lp_error_set(err, LP_E_INTERNAL, "cannot read random bytes for a new secret key");
        goto cleanup;
    }
    lp_hex_encode(raw, sizeof raw, hex);
    strcat(hex, "\n");
    len = strlen(hex);
    lp_hex_encode(name, sizeof name, namehex);
    snprintf(tmp, sizeof tmp, SECRET_FILE ".tmp-%s", namehex);
    if ((fd = openat(l->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
        lp_error_set(err, LP_E_IO, "cannot create %s/%s: %s", l->dir, tmp, strerror(errno));
        goto cleanup;
    }
    while (off < len) {
        ssize_t w = write(fd, hex + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            lp_error_set(err, LP_E_IO, "cannot write %s/%s: %s", l->dir, tmp, strerror(errno));
            goto cleanup;
        }
        off += (size_t)w;
    }
    if (fsync(fd)) {
        lp_error_set(err, LP_E_IO, "cannot sync %s/%s: %s", l->dir, tmp, strerror(errno));
        goto cleanup;
    }
    /* link() fails with EEXIST if another node won the race: use its key. */
    if (linkat(l->dirfd, tmp, l->dirfd, SECRET_FILE, 0) && errno != EEXIST) {
        lp_error_set(err, LP_E_IO, "cannot create %s/" SECRET_FILE ": %s", l->dir, strerror(errno));
        goto cleanup;
    }
    fsync(l->dirfd);
    rc = 0;
cleanup:
    if (fd >= 0) {
        close(fd);
        unlinkat(l->dirfd, tmp, 0);
    }
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(hex, sizeof hex);
    return rc;
}

static int derive_files_key(local_storage *l, const char *configured, lp_error *err)
{
    static const char label[] = "loupe storage files v1";
    char stored[SECRET_MAX];
    const char *secret = configured;
    int rc = -1, r;

    if (!secret || !*secret) {
        r = secret_read(l, stored, sizeof stored, err);
        if (r == 1) {
            if (secret_create(l, err))
                goto cleanup;
            r = secret_read(l, stored, sizeof stored, err);
        }
        if (r != 0) {
            if (r == 1)
                lp_error_set(err, LP_E_IO, "%s/" SECRET_FILE " vanished after it was created", l->dir);
            goto cleanup;
        }
        secret = stored;
    }
    if (lp_hmac_sha256(secret, strlen(secret), label, sizeof label - 1, l->files_key)) {
        lp_error_set(err, LP_E_INTERNAL, "HMAC-SHA256 failed deriving the file URL key");
        goto cleanup;
    }
    rc = 0;
cleanup:
    OPENSSL_cleanse(stored, sizeof stored);
    return rc;
}

/* --- open ---------------------------------------------------------------- */

static char *default_public_url(const lp_config *cfg)
{
    lp_buf b;
    const char *bind = cfg->http_bind && *cfg->http_bind ? cfg->http_bind : "127.0.0.1";
    lp_buf_init(&b, 1024);
    if (strchr(bind, ':') ? lp_buf_printf(&b, "http://[%s]:%lld", bind, (long long)cfg->http_port)
                          : lp_buf_printf(&b, "http://%s:%lld", bind, (long long)cfg->http_port)) {
        lp_buf_free(&b);
        return NULL;
    }
    return lp_buf_steal(&b, NULL);
}

lp_storage *lp_storage_local_open(const lp_config *cfg, lp_error *err)
{
    local_storage *l;
    const char *dir = cfg->storage_dir;
    size_t ulen;

    if (!dir || !*dir) {
        lp_error_field(err, LP_E_INVALID, "storage_dir", "must name a directory for the local backend");
        return NULL;
    }
    if (cfg->public_url && *cfg->public_url && strncmp(cfg->public_url, "http://", 7) != 0 &&
        strncmp(cfg->public_url, "https://", 8) != 0) {
        lp_error_field(err, LP_E_INVALID, "public_url", "must start with http:// or https://");
        return NULL;
    }
    if (!(l = calloc(1, sizeof *l))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory opening local storage");
        return NULL;
    }
    l->base.ops = &local_ops;
    l->dirfd = -1;
    if (!(l->dir = strdup(dir)))
        goto nomem;
    if (lp_mkdir_p(dir, 0750)) {
        lp_error_set(err, LP_E_IO, "cannot create storage_dir '%s': %s", dir, strerror(errno));
        goto fail;
    }
    if ((l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        lp_error_set(err, LP_E_IO, "cannot open storage_dir '%s': %s", dir, strerror(errno));
        goto fail;
    }
    l->public_url = cfg->public_url && *cfg->public_url ? strdup(cfg->public_url) : default_public_url(cfg);
    if (!l->public_url)
        goto nomem;
    ulen = strlen(l->public_url);
    while (ulen > 0 && l->public_url[ulen - 1] == '/')
        l->public_url[--ulen] = '\0';
    if (derive_files_key(l, cfg->secret_key, err))
        goto fail;
    return &l->base;
nomem:
    lp_error_set(err, LP_E_NOMEM, "out of memory opening local storage");
fail:
    local_ops.free(&l->base);
    return NULL;
}

static void local_free(lp_storage *s)
{
    local_storage *l = local_of(s);
    if (l->dirfd >= 0)
        close(l->dirfd);
    free(l->dir);
    free(l->public_url);
    OPENSSL_cleanse(l->files_key, sizeof l->files_key);
    free(l);
}

/* --- writing -------------------------------------------------------------- */

/* The code for a failed write, mkdir or sync: a full file system is the operator's to fix (507),
 * anything else a storage failure (500). */
static lp_code write_failure(int e)
{
    return e == ENOSPC || e == EDQUOT ? LP_E_NO_SPACE : LP_E_IO;
}

/* Fills err for a failed write step on object key and returns -1; a full file system says so, and
 * what to do about it, in words a person can act on (without the server's paths). */
static int write_error(lp_error *err, const char *what, const char *key, int e)
{
    if (write_failure(e) == LP_E_NO_SPACE) {
        lp_error_set(err, LP_E_NO_SPACE, "the storage is full: cannot %s object '%s'", what, key);
        return lp_error_hint(err, "nothing of it was kept; free some space in storage_dir (or give it more), "
                             "then send the file again");
    }
    return lp_error_set(err, LP_E_IO, "cannot %s object '%s': %s", what, key, strerror(e));
}

/* Creates the directories leading to key (relative to dirfd). 0 or -1 with err. */
static int make_parents(local_storage *l, const char *key, lp_error *err)
{
    char path[LP_STORAGE_KEY_MAX + 1];
    lp_strlcpy(path, key, sizeof path);
    for (char *p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdirat(l->dirfd, path, 0750)) {
            struct stat st;
            int e = errno;
            if (e == EEXIST && fstatat(l->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
                *p = '/';
                continue;
            }
            if (e == EEXIST || e == ENOTDIR)
                return lp_error_set(err, LP_E_CONFLICT, "cannot store object '%s': object '%s' is in the way",
                                    key, path);
            if (write_failure(e) == LP_E_NO_SPACE)
                return write_error(err, "create a directory for", key, e);
            return lp_error_set(err, LP_E_IO, "cannot create directory '%s' for object '%s': %s", path, key,
                                strerror(e));
        }
        *p = '/';
    }
    return 0;
}

static lp_storage_writer *local_writer_open(lp_storage *s, const char *key, const char *content_type, lp_error *err)
{
    local_storage *l = local_of(s);
    local_writer *w = calloc(1, sizeof *w);
    const char *slash = strrchr(key, '/');
    size_t dirlen = slash ? (size_t)(slash - key + 1) : 0;
    uint8_t rnd[8];
    char hex[17];

    if (!w) {
        lp_error_set(err, LP_E_NOMEM, "out of memory starting a write of '%s'", key);
        return NULL;
    }
    w->fd = -1;
    if (lp_storage_writer_init(&w->base, s, key, err))
        goto fail;
    if (make_parents(l, key, err))
        goto fail;
    for (int attempt = 0; attempt < 8 && w->fd < 0; attempt++) {
        if (lp_random_bytes(rnd, sizeof rnd)) {
            lp_error_set(err, LP_E_INTERNAL, "cannot read random bytes for a temporary file name");
            goto fail;
        }
        lp_hex_encode(rnd, sizeof rnd, hex);
        snprintf(w->tmp, sizeof w->tmp, "%.*s.tmp-%s", (int)dirlen, key, hex);
        w->fd = openat(l->dirfd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (w->fd < 0 && errno != EEXIST) {
            write_error(err, "create a temporary file for", key, errno);
            goto fail;
        }
    }
    if (w->fd < 0) {
        lp_error_set(err, LP_E_IO, "cannot find a free temporary file name for object '%s'", key);
        goto fail;
    }
    return &w->base;
fail:
    lp_storage_writer_fini(&w->base);
    free(w);
    return NULL;
}

static int local_writer_write(lp_storage_writer *base, const void *p, size_t n, lp_error *err)
{
    local_writer *w = (local_writer *)base;
    const char *c = p;
    while (n > 0) {
        ssize_t r = write(w->fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return write_error(err, "write", base->key, errno);
        c += r;
        n -= (size_t)r;
        w->written += (uint64_t)r;
    }
    if (w->written - w->started >= WRITEBACK_BYTES) { /* a hint: a failure changes nothing */
        sync_file_range(w->fd, (off64_t)w->started, (off64_t)(w->written - w->started), SYNC_FILE_RANGE_WRITE);
        w->started = w->written;
    }
    return 0;
}

static void etag_of(const struct stat *st, char out[LP_STORAGE_ETAG_MAX])
{
    snprintf(out, LP_STORAGE_ETAG_MAX, "%llx-%lx-%llx", (unsigned long long)st->st_mtim.tv_sec,
             (unsigned long)st->st_mtim.tv_nsec, (unsigned long long)st->st_size);
}

static void local_writer_abort(lp_storage_writer *base)
{
    local_writer *w = (local_writer *)base;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
        unlinkat(local_of(base->s)->dirfd, w->tmp, 0);
    }
}

static int local_writer_commit(lp_storage_writer *base, lp_storage_object *out, lp_error *err)
{
    local_writer *w = (local_writer *)base;
    local_storage *l = local_of(base->s);
    struct stat st;
    const char *slash = strrchr(base->key, '/');
    int dfd;

    if (fsync(w->fd) || fstat(w->fd, &st)) {
        write_error(err, "sync", base->key, errno);
        goto fail;
    }
    if (close(w->fd)) {
        int e = errno;
        w->fd = -1;
        unlinkat(l->dirfd, w->tmp, 0);
        return write_error(err, "close", base->key, e);
    }
    w->fd = -1;
    if (renameat(l->dirfd, w->tmp, l->dirfd, base->key)) {
        int e = errno;
        unlinkat(l->dirfd, w->tmp, 0);
        return lp_error_set(err, e == EISDIR || e == ENOTEMPTY ? LP_E_CONFLICT : LP_E_IO,
                            "cannot publish object '%s': %s", base->key, strerror(e));
    }
    /* Make the rename itself durable. */
    if (slash) {
        char parent[LP_STORAGE_KEY_MAX + 1];
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - base->key), base->key);
        dfd = openat(l->dirfd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
        dfd = dup(l->dirfd);
    }
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    etag_of(&st, out->etag);
    return 0;
fail:
    local_writer_abort(base);
    return -1;
}

static void local_writer_free(lp_storage_writer *base)
{
    local_writer *w = (local_writer *)base;
    if (w->fd >= 0)
        local_writer_abort(base);
    lp_storage_writer_fini(base);
    free(w);
}

/* --- reading ------------------------------------------------------------- */

static int not_found(const char *key, lp_error *err)
{
    return lp_error_set(err, LP_E_NOT_FOUND, "object '%s' does not exist", key);
}

static int local_get(lp_storage *s, const char *key, uint64_t offset, uint64_t length, lp_storage_sink sink,
                     void *ud, lp_error *err)
{
    local_storage *l = local_of(s);
    struct stat st;
    uint64_t left;
    char *buf = NULL;
    int fd, rc = -1;

    fd = openat(l->dirfd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR || errno == ELOOP
                   ? not_found(key, err)
                   : lp_error_set(err, LP_E_IO, "cannot open object '%s': %s", key, strerror(errno));
    if (fstat(fd, &st)) {
        lp_error_set(err, LP_E_IO, "cannot stat object '%s': %s", key, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        not_found(key, err);
        goto cleanup;
    }
    if (lp_storage_range_resolve(key, (uint64_t)st.st_size, offset, length, &left, err))
        goto cleanup;
    if (!(buf = malloc(READ_CHUNK))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory reading object '%s'", key);
        goto cleanup;
    }
    while (left > 0) {
        size_t want = left < READ_CHUNK ? (size_t)left : READ_CHUNK;
        ssize_t r = pread(fd, buf, want, (off_t)offset);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            lp_error_set(err, LP_E_IO, "cannot read object '%s': %s", key, strerror(errno));
            goto cleanup;
        }
        if (r == 0) {
            lp_error_set(err, LP_E_IO, "object '%s' became shorter while being read", key);
            goto cleanup;
        }
        if (sink(ud, buf, (size_t)r, err)) {
            if (!err || err->code == LP_OK)
                lp_error_set(err, LP_E_IO, "reading object '%s' was stopped by the receiver", key);
            goto cleanup;
        }
        offset += (uint64_t)r;
        left -= (uint64_t)r;
    }
    rc = 0;
cleanup:
    free(buf);
    close(fd);
    return rc;
}

static int local_stat(lp_storage *s, const char *key, lp_storage_info *out, lp_error *err)
{
    struct stat st;
    if (fstatat(local_of(s)->dirfd, key, &st, AT_SYMLINK_NOFOLLOW)) {
        if (errno == ENOENT || errno == ENOTDIR)
            return not_found(key, err);
        return lp_error_set(err, LP_E_IO, "cannot stat object '%s': %s", key, strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return not_found(key, err);
    out->size = (uint64_t)st.st_size;
    out->mtime = (int64_t)st.st_mtim.tv_sec;
    etag_of(&st, out->etag);
    return 0;
}

static int local_delete(lp_storage *s, const char *key, lp_error *err)
{
    struct stat st;
    local_storage *l = local_of(s);
    if (fstatat(l->dirfd, key, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        return 0; /* a prefix of other keys, not an object */
    if (unlinkat(l->dirfd, key, 0) && errno != ENOENT && errno != ENOTDIR)
        return lp_error_set(err, LP_E_IO, "cannot delete object '%s': %s", key, strerror(errno));
    return 0;
}

/* --- signed URLs ----------------------------------------------------------- */

static const char *method_name(lp_storage_method m)
{
    return m == LP_STORAGE_PUT ? "PUT" : "GET";
}

static int file_signature(const local_storage *l, lp_storage_method m, const char *key, int64_t expires,
                          char hex[LP_SHA256_HEX_LEN + 1])
{
    char msg[LP_STORAGE_KEY_MAX + 64];
    uint8_t mac[LP_SHA256_LEN];
    int n = snprintf(msg, sizeof msg, "%s\n%s\n%lld", method_name(m), key, (long long)expires);
    if (n < 0 || (size_t)n >= sizeof msg || lp_hmac_sha256(l->files_key, sizeof l->files_key, msg, (size_t)n, mac))
        return -1;
    lp_hex_encode(mac, sizeof mac, hex);
    return 0;
}

static int local_presign(lp_storage *s, lp_storage_method method, const char *key, int64_t sign_time,
                         int64_t ttl_s, lp_storage_url *out, lp_error *err)
{
    local_storage *l = local_of(s);
    char sig[LP_SHA256_HEX_LEN + 1];
    lp_buf b;
    int rc = -1;
    int64_t expires = sign_time + ttl_s;

    lp_buf_init(&b, sizeof out->url - 1);
    if (file_signature(l, method, key, expires, sig)) {
        lp_error_set(err, LP_E_INTERNAL, "HMAC-SHA256 failed signing a URL for '%s'", key);
        goto cleanup;
    }
    if (lp_buf_printf(&b, "%s/files/", l->public_url) || lp_sigv4_uri_encode(key, strlen(key), 1, &b) ||
        lp_buf_printf(&b, "?expires=%lld&sig=%s", (long long)expires, sig)) {
        lp_error_set(err, LP_E_INVALID, "signed URL for '%s' is longer than %zu bytes", key, sizeof out->url - 1);
        goto cleanup;
    }
    memcpy(out->url, b.data, b.len + 1);
    out->expires = expires;
    rc = 0;
cleanup:
    lp_buf_free(&b);
    return rc;
}

lp_storage_sig lp_storage_local_verify(const lp_storage *s, lp_storage_method method, const char *key,
                                       const char *expires, const char *sig, int64_t now_ms, lp_error *err)
{
    const local_storage *l = (const local_storage *)s;
    char want[LP_SHA256_HEX_LEN + 1], got[LP_SHA256_HEX_LEN + 1];
    int64_t exp = 0;
    size_t n;
    lp_error ignored;

    if (!s || s->ops != &local_ops) {
        lp_error_set(err, LP_E_FORBIDDEN, "file URLs are only served by the local storage backend");
        return LP_STORAGE_SIG_BAD;
    }
    if ((method != LP_STORAGE_GET && method != LP_STORAGE_PUT) || lp_storage_key_check(key, "key", &ignored)) {
        lp_error_set(err, LP_E_FORBIDDEN, "file URL names no valid object");
        return LP_STORAGE_SIG_BAD;
    }
    if (!expires || !sig) {
        lp_error_set(err, LP_E_FORBIDDEN, "file URL lacks its %s parameter", !expires ? "expires" : "sig");
        return LP_STORAGE_SIG_BAD;
    }
    n = strlen(expires);
    if (n == 0 || n > 18 || strspn(expires, "0123456789") != n || (n > 1 && expires[0] == '0')) {
        lp_error_set(err, LP_E_FORBIDDEN, "file URL parameter expires is not a Unix time");
        return LP_STORAGE_SIG_BAD;
    }
    for (size_t i = 0; i < n; i++)
        exp = exp * 10 + (expires[i] - '0');
    if (strlen(sig) != LP_SHA256_HEX_LEN) {
        lp_error_set(err, LP_E_FORBIDDEN, "file URL parameter sig is not %d hex characters", LP_SHA256_HEX_LEN);
        return LP_STORAGE_SIG_BAD;
    }
    for (size_t i = 0; i <= LP_SHA256_HEX_LEN; i++) /* compare lowercase hex */
        got[i] = (sig[i] >= 'A' && sig[i] <= 'F') ? (char)(sig[i] - 'A' + 'a') : sig[i];
    if (file_signature(l, method, key, exp, want)) {
        lp_error_set(err, LP_E_FORBIDDEN, "file URL signature cannot be checked");
        return LP_STORAGE_SIG_BAD;
    }
    if (!lp_const_time_eq(want, got, LP_SHA256_HEX_LEN)) {
        lp_error_set(err, LP_E_FORBIDDEN, "file URL signature does not match (wrong method, object or expiry)");
        return LP_STORAGE_SIG_BAD;
    }
    if (now_ms / 1000 >= exp) {
        lp_error_set(err, LP_E_FORBIDDEN, "file URL expired at %lld; ask for a new one", (long long)exp);
        return LP_STORAGE_SIG_EXPIRED;
    }
    return LP_STORAGE_SIG_OK;
}

static const lp_storage_ops local_ops = {
    .name = "local",
    .writer_open = local_writer_open,
    .writer_write = local_writer_write,
    .writer_commit = local_writer_commit,
    .writer_abort = local_writer_abort,
    .writer_free = local_writer_free,
    .get = local_get,
    .stat = local_stat,
    .del = local_delete,
    .presign = local_presign,
    .free = local_free,
};
