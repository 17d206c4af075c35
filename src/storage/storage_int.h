/* Internals shared by the storage backends: the backend table, the common
 * parts of a handle and a writer, and helpers. */
#ifndef LOUPE_STORAGE_INT_H
#define LOUPE_STORAGE_INT_H

#include "loupe/core/config.h"
#include "loupe/crypto/sha256.h"
#include "loupe/storage/storage.h"

typedef struct lp_storage_ops {
    const char *name;
    /* Allocates the backend's writer (it embeds lp_storage_writer first). */
    lp_storage_writer *(*writer_open)(lp_storage *s, const char *key, const char *content_type, lp_error *err);
    int (*writer_write)(lp_storage_writer *w, const void *p, size_t n, lp_error *err);
    /* Publishes; out->size and out->sha256 are already filled, the backend
     * sets out->etag. Does not free w. */
    int (*writer_commit)(lp_storage_writer *w, lp_storage_object *out, lp_error *err);
    /* Discards what was written. Does not free w. */
    void (*writer_abort)(lp_storage_writer *w);
    void (*writer_free)(lp_storage_writer *w);
    int (*get)(lp_storage *s, const char *key, uint64_t offset, uint64_t length, lp_storage_sink sink, void *ud,
               lp_error *err);
    int (*stat)(lp_storage *s, const char *key, lp_storage_info *out, lp_error *err);
    int (*del)(lp_storage *s, const char *key, lp_error *err);
    /* Signs for [sign_time, sign_time + ttl_s); key already checked. */
    int (*presign)(lp_storage *s, lp_storage_method method, const char *key, int64_t sign_time, int64_t ttl_s,
                   lp_storage_url *out, lp_error *err);
    void (*free)(lp_storage *s);
} lp_storage_ops;

/* First member of every backend's handle. */
struct lp_storage {
    const lp_storage_ops *ops;
    int64_t ttl_ms;        /* cfg->signed_url_ttl */
    int64_t window_ms;     /* cfg->signed_url_window */
    uint64_t max_object;   /* cfg->upload_max_bytes */
};

/* First member of every backend's writer. */
struct lp_storage_writer {
    lp_storage *s;
    char key[LP_STORAGE_KEY_MAX + 1];
    lp_sha256_ctx *sha;    /* NULL: nobody wants the digest (put_file, put_mem without out) */
    uint64_t size;
    int failed;            /* a write failed: only abort is allowed */
};

/* Backends. Each returns a new handle with base fields other than ops left
 * for lp_storage_open to fill, or NULL with err set. */
lp_storage *lp_storage_local_open(const lp_config *cfg, lp_error *err);
lp_storage *lp_storage_s3_open(const lp_config *cfg, lp_error *err);

/* Fills the common part of a new writer (key copied, hash started). 0 or -1. */
int lp_storage_writer_init(lp_storage_writer *w, lp_storage *s, const char *key, lp_error *err);
void lp_storage_writer_fini(lp_storage_writer *w);

/* Resolves a requested range against an object of size bytes into the
 * number of bytes to send (*n). 0, or -1 with LP_E_RANGE. */
int lp_storage_range_resolve(const char *key, uint64_t size, uint64_t offset, uint64_t length, uint64_t *n,
                             lp_error *err);

#endif
