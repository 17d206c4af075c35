/* Object storage: one interface, two backends (a local directory, or any
 * S3-compatible store), chosen by cfg->storage_backend.
 *
 * Objects are named by keys (see lp_storage_key_check for the rules and
 * docs/STORAGE.md for the layout). Writes are all-or-nothing: an object
 * appears under its key only when its writer commits, and a reader sees
 * either the old or the new object, never part of one.
 *
 * Threads: an lp_storage is immutable after lp_storage_open and may be used
 * from any number of threads at once; a writer belongs to one thread at a
 * time. Every call that talks to S3 blocks on the network (timeouts: 10 s to
 * connect, 60 s without progress). */
#ifndef LOUPE_STORAGE_STORAGE_H
#define LOUPE_STORAGE_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/crypto/sha256.h"

typedef struct lp_storage lp_storage;
typedef struct lp_storage_writer lp_storage_writer;

#define LP_STORAGE_KEY_MAX 1024          /* bytes, as S3 allows */
#define LP_STORAGE_SEGMENT_MAX 255       /* bytes between two '/', as file systems allow */
#define LP_STORAGE_URL_MAX 8192          /* room for any URL lp_storage_presign writes */
#define LP_STORAGE_ETAG_MAX 128
#define LP_STORAGE_TO_END UINT64_MAX     /* a range length meaning "to the end" */

typedef enum lp_storage_method { LP_STORAGE_GET, LP_STORAGE_PUT } lp_storage_method;

/* What a committed write produced. */
typedef struct lp_storage_object {
    uint64_t size;
    char sha256[LP_SHA256_HEX_LEN + 1]; /* hex SHA-256 of the bytes written */
    char etag[LP_STORAGE_ETAG_MAX];     /* the backend's entity tag, without quotes */
} lp_storage_object;

typedef struct lp_storage_info {
    uint64_t size;
    char etag[LP_STORAGE_ETAG_MAX];     /* without quotes; changes whenever the object does */
    int64_t mtime;                      /* last modification, Unix seconds */
} lp_storage_info;

/* A presigned URL and the moment it stops working. */
typedef struct lp_storage_url {
    char url[LP_STORAGE_URL_MAX];
    int64_t expires;                    /* Unix seconds */
} lp_storage_url;

/* Receives the bytes of a get, in order, in chunks. Returns 0 to go on, or
 * -1 to stop (the get then fails with LP_E_IO "stopped by the receiver"
 * unless the receiver set an error of its own in err). */
typedef int (*lp_storage_sink)(void *ud, const void *p, size_t n, lp_error *err);

/* --- handle -------------------------------------------------------------- */

/* Opens the backend cfg->storage_backend ("local" or "s3") with the storage_*,
 * secret_key, signed_url_*, s3_*, public_url, http_* and upload_max_bytes
 * settings. cfg is only read during the call (values are copied).
 *   local: creates storage_dir if missing; if secret_key is empty, reads the
 *          key in <storage_dir>/.secret, creating it (random, mode 0600) the
 *          first time — every node sharing the directory then agrees on it.
 *   s3:    needs s3_bucket, s3_access_key and s3_secret_key; makes no request.
 * Returns a new handle (free with lp_storage_free), or NULL with err set:
 * LP_E_INVALID with a field error naming the setting, or LP_E_IO. */
lp_storage *lp_storage_open(const lp_config *cfg, lp_error *err);

/* NULL is a no-op. Writers still open must be finished first. */
void lp_storage_free(lp_storage *s);

/* "local" or "s3". */
const char *lp_storage_backend(const lp_storage *s);

/* --- keys ---------------------------------------------------------------- */

/* Checks a key: 1 to LP_STORAGE_KEY_MAX bytes of segments separated by single
 * '/'; each segment 1 to LP_STORAGE_SEGMENT_MAX characters of A-Z a-z 0-9
 * '-' '_' '.', not starting with '.' (so no "." or "..", no hidden files); no
 * leading or trailing '/'. Returns 0, or -1 with a field error on field
 * ("key" when NULL) saying what is wrong (LP_E_INVALID). */
int lp_storage_key_check(const char *key, const char *field, lp_error *err);

/* Writes the content-addressed key of a derived object into out (cap bytes):
 * "derived/<h0h1>/<h>/<variant>" where h is the lowercase hex SHA-256 of the
 * original's bytes and variant names the recipe ("thumb-256.jpg",
 * "tiles/12/3_4.jpg"). The same original and recipe always give the same key,
 * so derived objects are immutable and retries overwrite with equal bytes.
 * Returns 0, or -1 with err set (LP_E_INVALID: bad hash, bad variant, too long). */
int lp_storage_key_derived(const char *source_sha256, const char *variant, char *out, size_t cap, lp_error *err);

/* The key prefixes are this module's alone: every other module builds and
 * recognises keys through these functions. */
#define LP_STORAGE_PREFIX_ORIGINALS "originals/"
#define LP_STORAGE_PREFIX_DERIVED "derived/"
#define LP_STORAGE_PREFIX_EXPORTS "exports/"
#define LP_STORAGE_PREFIX_IMPORTS "imports/"
#define LP_STORAGE_PREFIX_MODELS "models/"

/* Writes the key of an uploaded original into out (cap bytes):
 * "originals/<team>/<item>/<upload id>" (a new upload never overwrites the
 * file of an earlier one). */
void lp_storage_key_original(const char *team_id, const char *item_id, const char *upload_id, char *out, size_t cap);

/* Writes the key of file n (1, 2, …) of a multi-file upload whose files
 * become the original original_key into out (cap bytes):
 * "<original_key>.files/<n, six digits or more>". */
void lp_storage_key_original_file(const char *original_key, int64_t n, char *out, size_t cap);

/* Writes the key of an export's archive into out (cap bytes):
 * "exports/<team>/<export id>.zip". */
void lp_storage_key_export(const char *team_id, const char *export_id, char *out, size_t cap);

/* Writes the key of an import's uploaded file into out (cap bytes):
 * "imports/<team>/<import id>". */
void lp_storage_key_import(const char *team_id, const char *import_id, char *out, size_t cap);

/* 1 if key is an export's archive or an import's file of team team_id
 * (exports/<team>/…, imports/<team>/…), else 0. */
int lp_storage_key_team_is(const char *key, const char *team_id);

/* Writes the key of a registered model's uploaded file into out (cap bytes):
 * "models/<team>/<model id>.onnx". */
void lp_storage_key_model(const char *team_id, const char *model_id, char *out, size_t cap);

/* Writes the key of an image sent to live inference into out (cap bytes):
 * "models/<team>/inputs/<input id>" (louped writes it, a worker reads it,
 * louped deletes it once answered). */
void lp_storage_key_model_input(const char *team_id, const char *input_id, char *out, size_t cap);

/* Who owns a key's name. */
typedef enum lp_storage_key_kind {
    LP_STORAGE_KEY_EXTERNAL = 0, /* named by a client (register-external) */
    LP_STORAGE_KEY_ORIGINAL,     /* an upload (lp_storage_key_original) */
    LP_STORAGE_KEY_DERIVED,      /* content-addressed output (lp_storage_key_derived): immutable */
    LP_STORAGE_KEY_EXPORT,       /* an export's archive (lp_storage_key_export) */
    LP_STORAGE_KEY_IMPORT,       /* an import's uploaded file (lp_storage_key_import) */
    LP_STORAGE_KEY_MODEL         /* a model's uploaded file (lp_storage_key_model) */
} lp_storage_key_kind;

lp_storage_key_kind lp_storage_key_kind_of(const char *key);

/* 1 if a folder prefix (ending in '/') overlaps the keys Loupe names
 * itself — it lies inside originals/, derived/, exports/, imports/ or models/, or contains them — so no
 * external storage location may use it. */
int lp_storage_prefix_overlaps_managed(const char *prefix);

/* --- writing -------------------------------------------------------------- */

/* Starts writing the object key. content_type (may be NULL) is stored where
 * the backend keeps one (S3) and ignored otherwise. Nothing is visible under
 * key until lp_storage_writer_commit. Returns a new writer, or NULL with err
 * set (LP_E_INVALID naming "key" or "content_type"; local: LP_E_CONFLICT when
 * an object is in the way of the key's directory, LP_E_IO). */
lp_storage_writer *lp_storage_writer_open(lp_storage *s, const char *key, const char *content_type, lp_error *err);

/* Appends n bytes. Fails with LP_E_TOO_LARGE past cfg->upload_max_bytes.
 * After a failure the writer can only be aborted. Returns 0 or -1. */
int lp_storage_writer_write(lp_storage_writer *w, const void *p, size_t n, lp_error *err);

/* Makes the object visible under its key (replacing any object there) and
 * fills out (may be NULL). Always frees w; on failure nothing changed under
 * key. Returns 0 or -1 with err set. */
int lp_storage_writer_commit(lp_storage_writer *w, lp_storage_object *out, lp_error *err);

/* Discards everything written and frees w. NULL is a no-op. */
void lp_storage_writer_abort(lp_storage_writer *w);

/* The whole content of the file at path as object key (a writer fed from
 * the file). out may be NULL: then the bytes are not hashed at all.
 * Returns 0 or -1 with err set (LP_E_IO naming path). */
int lp_storage_put_file(lp_storage *s, const char *key, const char *path, const char *content_type,
                        lp_storage_object *out, lp_error *err);

/* n bytes at p as object key (out may be NULL, as for lp_storage_put_file).
 * Returns 0 or -1 with err set. */
int lp_storage_put_mem(lp_storage *s, const char *key, const void *p, size_t n, const char *content_type,
                       lp_storage_object *out, lp_error *err);

/* --- reading ------------------------------------------------------------- */

/* Sends bytes [offset, offset + length) of object key to sink (length
 * LP_STORAGE_TO_END: to the end; a range passing the end is cut at the end,
 * like HTTP). offset 0 with LP_STORAGE_TO_END reads any object, even an empty
 * one; otherwise offset must lie inside the object and length be at least 1.
 * Returns 0, or -1 with err set: LP_E_NOT_FOUND, LP_E_RANGE (nothing was
 * sent), LP_E_IO / LP_E_UNAVAILABLE (possibly after some bytes were sent), or
 * the sink's error. */
int lp_storage_get(lp_storage *s, const char *key, uint64_t offset, uint64_t length, lp_storage_sink sink,
                   void *ud, lp_error *err);

/* The same range written to the file descriptor fd. */
int lp_storage_get_fd(lp_storage *s, const char *key, uint64_t offset, uint64_t length, int fd, lp_error *err);

/* Size, entity tag and modification time of object key. Returns 0, or -1
 * with err set (LP_E_NOT_FOUND when there is no such object). */
int lp_storage_stat(lp_storage *s, const char *key, lp_storage_info *out, lp_error *err);

/* Removes object key. Removing a missing object succeeds (as S3 does).
 * Returns 0 or -1 with err set. */
int lp_storage_delete(lp_storage *s, const char *key, lp_error *err);

/* --- presigned URLs ------------------------------------------------------- */

/* A URL that lets its holder GET or PUT object key without credentials
 * until out->expires. Deterministic: now_ms (the caller's clock,
 * lp_now_wall_ms()) is floored to cfg->signed_url_window; the signing time is
 * that floor and out->expires = floor + ttl, so every node with the same
 * settings issues the same URL for the same key within one window (cacheable
 * by browsers and CDNs). ttl_ms <= 0 means cfg->signed_url_ttl; it must be
 * longer than the window, and a URL stays valid for between ttl - window and
 * ttl after it is issued.
 *   local: <public_url>/files/<key>?expires=<unix>&sig=<hex>, checked by
 *          lp_storage_local_verify.
 *   s3:    an AWS SigV4 presigned URL (X-Amz-Expires = ttl, at most 7 days).
 * Returns 0, or -1 with err set (LP_E_INVALID for a bad key or ttl). */
int lp_storage_presign(lp_storage *s, lp_storage_method method, const char *key, int64_t now_ms, int64_t ttl_ms,
                       lp_storage_url *out, lp_error *err);

/* --- local signed URLs ----------------------------------------------------- */

typedef enum lp_storage_sig {
    LP_STORAGE_SIG_OK = 0,
    LP_STORAGE_SIG_EXPIRED,  /* well signed, but its expiry has passed */
    LP_STORAGE_SIG_BAD,      /* missing, malformed or wrong signature, bad key, or not the local backend */
} lp_storage_sig;

/* Checks a request for /files/<key> against the local backend's signature:
 * method, the decoded key, and the raw "expires" and "sig" query values (may
 * be NULL when absent) at time now_ms. On anything but LP_STORAGE_SIG_OK, err
 * gets LP_E_FORBIDDEN and a message saying why (never the expected value).
 * Comparison is in constant time. */
lp_storage_sig lp_storage_local_verify(const lp_storage *s, lp_storage_method method, const char *key,
                                       const char *expires, const char *sig, int64_t now_ms, lp_error *err);

#endif
