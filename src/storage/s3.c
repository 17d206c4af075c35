/* S3-compatible backend over libcurl, signed with AWS SigV4.
 *
 * Requests: PUT object (small writes, up to one part), multipart upload for
 * larger ones (CreateMultipartUpload, UploadPart every s3_part_size bytes,
 * CompleteMultipartUpload; AbortMultipartUpload on any failure), GET with
 * Range, HEAD, DELETE; presigned GET/PUT URLs. Each operation borrows a curl
 * easy handle from the backend's pool (a writer keeps one for all its parts)
 * and gives it back, so its open connection serves the next operation; the
 * pool keeps at most s3_connections idle handles. An idempotent call (GET,
 * HEAD, PUT, DELETE — never the multipart POSTs) that meets a 5xx/408/429
 * answer or a dropped connection before any body byte reached the caller is
 * retried up to s3_retry_attempts times, waiting s3_retry_backoff, then twice
 * that, … (with jitter). Every body is signed with its SHA-256: parts are
 * buffered in memory (at most s3_part_size per writer) anyway. Error bodies
 * and XML results are read into a bounded buffer (S3_XML_MAX) and parsed
 * minimally. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "loupe/core/buf.h"
#include "loupe/core/util.h"
#include "loupe/crypto/sigv4.h"
#include "s3_xml_int.h"
#include "storage_int.h"

#define S3_XML_MAX (256 * 1024)     /* largest XML body read */
#define S3_MAX_PARTS 10000          /* S3's limit on parts per upload */
#define S3_UPLOAD_ID_MAX 1024
#define S3_CONNECT_TIMEOUT_S 10L
#define S3_STALL_TIMEOUT_S 60L      /* abort a transfer slower than 1 byte/s for this long */

typedef struct s3_storage {
    lp_storage base;
    char *scheme;        /* "http" or "https" */
    char *host;          /* Host header and URL authority: endpoint or bucket.endpoint */
    char *path_prefix;   /* "/<bucket>" (path style) or "" */
    char *bucket;
    char *region;
    char *access_key;
    char *secret_key;
    size_t part_size;
    int retry_attempts;       /* s3_retry_attempts: 1 = no retry */
    int64_t retry_backoff_ms; /* s3_retry_backoff: the first wait */
    pthread_mutex_t pool_mu;  /* guards idle, nidle */
    CURL **idle;              /* handles whose connections stay open for the next call */
    size_t nidle, idle_max;   /* idle_max: s3_connections */
} s3_storage;

typedef struct s3_part_etag {
    char v[LP_STORAGE_ETAG_MAX]; /* as the server sent it, quotes included */
} s3_part_etag;

typedef struct s3_writer {
    lp_storage_writer base;
    CURL *curl;
    char *content_type;
    unsigned char *buf;  /* current part */
    size_t len, cap;
    char upload_id[S3_UPLOAD_ID_MAX + 1]; /* "" until a multipart upload starts */
    s3_part_etag *parts;
    size_t nparts, parts_cap;
} s3_writer;

static const lp_storage_ops s3_ops;

static s3_storage *s3_of(lp_storage *s)
{
    return (s3_storage *)s;
}

/* --- one request ------------------------------------------------------------ */

typedef struct s3_request {
    const char *method;              /* GET HEAD PUT POST DELETE */
    const char *key;
    const lp_sigv4_pair *query;
    size_t nquery;
    const void *body;                /* PUT/POST body (may be NULL with body_len 0) */
    size_t body_len;
    const char *content_type;        /* sent and signed when not NULL */
    const char *range;               /* "bytes=…" or NULL */
    uint64_t range_first;            /* with range: its first byte, and how many bytes at most */
    uint64_t range_len;              /* (UINT64_MAX: to the end) */
    lp_storage_sink sink;            /* receives a 2xx body (GET); else it is kept in resp.body */
    void *ud;
} s3_request;

typedef struct s3_response {
    long status;
    lp_buf body;                     /* non-sink body, at most S3_XML_MAX (the rest is dropped) */
    char etag[LP_STORAGE_ETAG_MAX];  /* raw header value */
    uint64_t content_length;
    int64_t last_modified;
    int sink_failed;
    int range_ignored;               /* a Range request answered with the whole object */
    int transient;                   /* failed in a way worth retrying (5xx, dropped connection) */
    uint64_t delivered;              /* body bytes handed to the sink (a retry needs 0) */
    int has_content_range;
    uint64_t content_range_first;    /* first byte of a 206 answer (Content-Range) */
    int range_outside;               /* a 206 whose Content-Range starts past the object's end */
    lp_error *err;                   /* for the sink */
    CURL *curl;
} s3_response;

typedef struct s3_transfer {
    const s3_request *req;
    s3_response *resp;
} s3_transfer;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    s3_transfer *t = ud;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(t->resp->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300 && t->req->sink) {
        size_t take = len;
        if (t->req->range) {
            /* the whole object, or another range: never hand it out as the range asked for */
            if (status != 206 || (t->resp->has_content_range && t->resp->content_range_first != t->req->range_first)) {
                t->resp->range_ignored = 1;
                return 0;
            }
            /* a server that sends more than asked (some do for "bytes=0-0"): only what was asked */
            if (t->req->range_len - t->resp->delivered < take)
                take = (size_t)(t->req->range_len - t->resp->delivered);
            if (take == 0)
                return len;
        }
        if (t->req->sink(t->req->ud, p, take, t->resp->err)) {
            t->resp->sink_failed = 1;
            return 0; /* makes curl stop with CURLE_WRITE_ERROR */
        }
        t->resp->delivered += take;
        return len;
    }
    if (t->resp->body.len < S3_XML_MAX) {
        size_t room = S3_XML_MAX - t->resp->body.len;
        if (lp_buf_append(&t->resp->body, p, len < room ? len : room))
            return 0;
    }
    return len;
}

static void trim_header_value(const char *p, size_t n, char *out, size_t cap)
{
    while (n > 0 && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    s3_response *r = ((s3_transfer *)ud)->resp;
    size_t len = size * n;
    char value[256];
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (after 100 Continue, say) */
        r->etag[0] = '\0';
        r->has_content_range = 0;
        r->content_length = 0;
        r->last_modified = 0;
    } else if (len > 5 && strncasecmp(p, "ETag:", 5) == 0) {
        trim_header_value(p + 5, len - 5, r->etag, sizeof r->etag);
    } else if (len > 15 && strncasecmp(p, "Content-Length:", 15) == 0) {
        trim_header_value(p + 15, len - 15, value, sizeof value);
        r->content_length = strtoull(value, NULL, 10);
    } else if (len > 14 && strncasecmp(p, "Content-Range:", 14) == 0) {
        const char *slash;
        trim_header_value(p + 14, len - 14, value, sizeof value);
        r->has_content_range = strncmp(value, "bytes ", 6) == 0;
        r->content_range_first = r->has_content_range ? strtoull(value + 6, NULL, 10) : 0;
        /* "bytes 0-0/0" for an empty object (some S3 look-alikes): S3 itself answers 416 */
        if (r->has_content_range && (slash = strchr(value, '/')) && slash[1] >= '0' && slash[1] <= '9' &&
            r->content_range_first >= strtoull(slash + 1, NULL, 10)) {
            r->range_outside = 1;
            return 0; /* stop: there is no such range */
        }
    } else if (len > 14 && strncasecmp(p, "Last-Modified:", 14) == 0) {
        trim_header_value(p + 14, len - 14, value, sizeof value);
        time_t t = curl_getdate(value, NULL);
        r->last_modified = t < 0 ? 0 : (int64_t)t;
    }
    return len;
}

/* Appends one header line to *list. 0, or -1 on out-of-memory. */
static int add_header(struct curl_slist **list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_header(struct curl_slist **list, const char *fmt, ...)
{
    lp_buf line;
    struct curl_slist *n = NULL;
    va_list ap;
    int rc;
    lp_buf_init(&line, 8192);
    va_start(ap, fmt);
    rc = lp_buf_vprintf(&line, fmt, ap);
    va_end(ap);
    if (rc == 0 && (n = curl_slist_append(*list, line.data)))
        *list = n;
    lp_buf_free(&line);
    return n ? 0 : -1;
}

/* The request path: "<prefix>/<key>". */
static int object_path(const s3_storage *s3, const char *key, lp_buf *out)
{
    return lp_buf_printf(out, "%s/%s", s3->path_prefix, key);
}

/* Maps a non-2xx answer to an error naming S3's code and message. */
static int status_error(const s3_storage *s3, const s3_request *req, s3_response *resp, lp_error *err)
{
    char code[128] = "", msg[256] = "";
    const char *xml = resp->body.data ? resp->body.data : "";
    lp_code c;
    lp_s3_xml_text(xml, resp->body.len, "Code", code, sizeof code);
    lp_s3_xml_text(xml, resp->body.len, "Message", msg, sizeof msg);
    switch (resp->status) {
    case 404: c = LP_E_NOT_FOUND; break;
    case 416: c = LP_E_RANGE; break;
    case 408: case 429: case 500: case 502: case 503: case 504: c = LP_E_UNAVAILABLE; break;
    default: c = LP_E_IO; break;
    }
    if (resp->status == 404 && (!*code || strcmp(code, "NoSuchKey") == 0))
        return lp_error_set(err, c, "object '%s' does not exist", req->key);
    if (resp->status == 416)
        return lp_error_set(err, c, "range %s is outside object '%s'", req->range ? req->range : "", req->key);
    lp_error_set(err, c, "S3 %s of '%s' in bucket '%s' failed with HTTP %ld%s%s%s%s", req->method, req->key,
                 s3->bucket, resp->status, *code ? " " : "", code, *msg ? ": " : "", msg);
    if (resp->status == 403)
        lp_error_hint(err, "check s3_access_key, s3_secret_key, s3_region and the bucket's policy");
    else if (strcmp(code, "NoSuchBucket") == 0)
        lp_error_hint(err, "create the bucket or correct s3_bucket");
    return -1;
}

/* Runs one signed request on curl (reset first). 0 on a 2xx answer, else -1
 * with err set. resp is initialized here; the caller frees resp->body. */
static int s3_perform(s3_storage *s3, CURL *curl, const s3_request *req, s3_response *resp, lp_error *err)
{
    lp_buf path, url, auth;
    struct curl_slist *hdrs = NULL;
    int64_t now;
    char amz_date[17], payload[LP_SHA256_HEX_LEN + 1], errbuf[CURL_ERROR_SIZE] = "";
    lp_sigv4_pair sh[4];
    size_t nsh = 0;
    s3_transfer t = {req, resp};
    lp_sigv4_credentials cred = {s3->access_key, s3->secret_key, s3->region, "s3"};
    lp_sigv4_request sr;
    CURLcode cc;
    int rc = -1;

    memset(resp, 0, sizeof *resp);
    lp_buf_init(&resp->body, S3_XML_MAX);
    resp->err = err;
    resp->curl = curl;
    lp_buf_init(&path, 4 * LP_STORAGE_KEY_MAX);
    lp_buf_init(&url, 16 * 1024);
    lp_buf_init(&auth, 4096);

    now = lp_now_wall_ms() / 1000; /* the x-amz-date header and the signature name the same second */
    if (lp_sigv4_amz_date(now, amz_date) || lp_sha256_hex(req->body, req->body_len, payload) ||
        object_path(s3, req->key, &path)) {
        lp_error_set(err, LP_E_INTERNAL, "cannot prepare the S3 request for '%s'", req->key);
        goto cleanup;
    }
    sh[nsh++] = (lp_sigv4_pair){"x-amz-content-sha256", payload};
    sh[nsh++] = (lp_sigv4_pair){"x-amz-date", amz_date};
    if (req->range)
        sh[nsh++] = (lp_sigv4_pair){"range", req->range};
    if (req->content_type)
        sh[nsh++] = (lp_sigv4_pair){"content-type", req->content_type};
    sr = (lp_sigv4_request){
        .method = req->method, .host = s3->host, .path = path.data, .query = req->query, .nquery = req->nquery,
        .headers = sh, .nheaders = nsh, .payload_hash = payload, .time = now,
    };
    if (lp_sigv4_authorization(&cred, &sr, &auth, err))
        goto cleanup;

    /* URL: the same encoding the signature used, so curl sends it verbatim. */
    if (lp_buf_printf(&url, "%s://%s", s3->scheme, s3->host) ||
        lp_sigv4_uri_encode(path.data, path.len, 1, &url))
        goto too_long;
    for (size_t i = 0; i < req->nquery; i++) {
        const char *v = req->query[i].value ? req->query[i].value : "";
        if (lp_buf_puts(&url, i == 0 ? "?" : "&") ||
            lp_sigv4_uri_encode(req->query[i].name, strlen(req->query[i].name), 0, &url) ||
            lp_buf_puts(&url, "=") || lp_sigv4_uri_encode(v, strlen(v), 0, &url))
            goto too_long;
    }

    if (add_header(&hdrs, "Host: %s", s3->host) || add_header(&hdrs, "x-amz-date: %s", amz_date) ||
        add_header(&hdrs, "x-amz-content-sha256: %s", payload) ||
        (req->range && add_header(&hdrs, "Range: %s", req->range)) ||
        /* "Content-Type:" with no value stops curl from adding one of its own. */
        add_header(&hdrs, "Content-Type:%s%s", req->content_type ? " " : "",
                   req->content_type ? req->content_type : "") ||
        add_header(&hdrs, "Expect:") || add_header(&hdrs, "Accept:") ||
        add_header(&hdrs, "Authorization: %s", auth.data))
        goto nomem;

    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.data);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, S3_CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, S3_STALL_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
    }

    cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    if (resp->sink_failed) {
        if (!err || err->code == LP_OK)
            lp_error_set(err, LP_E_IO, "reading object '%s' was stopped by the receiver", req->key);
        goto cleanup;
    }
    if (resp->range_outside) {
        lp_error_set(err, LP_E_RANGE, "range %s is outside object '%s'", req->range ? req->range : "", req->key);
        goto cleanup;
    }
    if (resp->range_ignored) {
        lp_error_set(err, LP_E_IO, "S3 endpoint ignored the Range header for '%s' (HTTP %ld)", req->key,
                     resp->status);
        goto cleanup;
    }
    if (cc != CURLE_OK) {
        resp->transient = cc == CURLE_COULDNT_CONNECT || cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR ||
                          cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE;
        lp_error_set(err, cc == CURLE_OPERATION_TIMEDOUT ? LP_E_TIMEOUT : LP_E_UNAVAILABLE,
                     "S3 %s of '%s' failed: %s", req->method, req->key, *errbuf ? errbuf : curl_easy_strerror(cc));
        lp_error_hint(err, "check that s3_endpoint (%s://%s) is reachable", s3->scheme, s3->host);
        goto cleanup;
    }
    if (resp->status < 200 || resp->status > 299) {
        resp->transient = resp->status == 408 || resp->status == 429 || resp->status == 500 ||
                          resp->status == 502 || resp->status == 503 || resp->status == 504;
        status_error(s3, req, resp, err);
        goto cleanup;
    }
    rc = 0;
    goto cleanup;
too_long:
    lp_error_set(err, LP_E_INVALID, "S3 request for '%s' is too long", req->key);
    goto cleanup;
nomem:
    lp_error_set(err, LP_E_NOMEM, "out of memory building an S3 request for '%s'", req->key);
cleanup:
    curl_slist_free_all(hdrs);
    lp_buf_free(&path);
    lp_buf_free(&url);
    lp_buf_free(&auth);
    return rc;
}

/* --- connection pool and retries ------------------------------------------- */

/* An idle handle from the pool (its connection still open), or a new one; NULL when out of memory. */
static CURL *handle_take(s3_storage *s3)
{
    CURL *c = NULL;
    pthread_mutex_lock(&s3->pool_mu);
    if (s3->nidle > 0)
        c = s3->idle[--s3->nidle];
    pthread_mutex_unlock(&s3->pool_mu);
    return c ? c : curl_easy_init();
}

/* Returns c to the pool, or closes it when the pool is full. */
static void handle_give(s3_storage *s3, CURL *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&s3->pool_mu);
    if (s3->nidle < s3->idle_max) {
        s3->idle[s3->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s3->pool_mu);
    if (c)
        curl_easy_cleanup(c);
}

/* Sleeps before retry number `retry` (1, 2, …): backoff · 2^(retry-1), less up to half of it. */
static void backoff_sleep(const s3_storage *s3, int retry)
{
    int64_t ms = s3->retry_backoff_ms << (retry - 1 < 20 ? retry - 1 : 20);
    uint16_t r = 0;
    struct timespec ts;
    lp_random_bytes(&r, sizeof r);
    ms -= ms / 2 * r / 65535;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* s3_perform, retried (see the top of this file) while the failure is transient, the method
 * idempotent, no body byte reached the sink and attempts remain. */
static int s3_call(s3_storage *s3, CURL *curl, const s3_request *req, s3_response *resp, lp_error *err)
{
    int idempotent = strcmp(req->method, "POST") != 0;
    for (int attempt = 1;; attempt++) {
        int rc = s3_perform(s3, curl, req, resp, err);
        if (rc == 0 || !idempotent || !resp->transient || resp->delivered > 0 || attempt >= s3->retry_attempts)
            return rc;
        lp_buf_free(&resp->body);
        lp_error_clear(err);
        backoff_sleep(s3, attempt);
    }
}

/* Runs a request on a pooled handle. */
static int s3_run(s3_storage *s3, const s3_request *req, s3_response *resp, lp_error *err)
{
    CURL *curl = handle_take(s3);
    int rc;
    if (!curl) {
        memset(resp, 0, sizeof *resp);
        lp_buf_init(&resp->body, S3_XML_MAX);
        return lp_error_set(err, LP_E_NOMEM, "cannot create a curl handle for '%s'", req->key);
    }
    rc = s3_call(s3, curl, req, resp, err);
    handle_give(s3, curl);
    return rc;
}

static void unquote(const char *in, char out[LP_STORAGE_ETAG_MAX])
{
    size_t n = strlen(in);
    if (n >= 2 && in[0] == '"' && in[n - 1] == '"') {
        in++;
        n -= 2;
    }
    if (n >= LP_STORAGE_ETAG_MAX)
        n = LP_STORAGE_ETAG_MAX - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}

/* --- writer ------------------------------------------------------------------ */

static lp_storage_writer *s3_writer_open(lp_storage *s, const char *key, const char *content_type, lp_error *err)
{
    s3_writer *w = calloc(1, sizeof *w);
    if (!w) {
        lp_error_set(err, LP_E_NOMEM, "out of memory starting a write of '%s'", key);
        return NULL;
    }
    if (lp_storage_writer_init(&w->base, s, key, err))
        goto fail;
    if (!(w->curl = handle_take(s3_of(s))) ||
        !(w->content_type = strdup(content_type ? content_type : "application/octet-stream"))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory starting a write of '%s'", key);
        goto fail;
    }
    return &w->base;
fail:
    lp_storage_writer_fini(&w->base);
    handle_give(s3_of(s), w->curl);
    free(w);
    return NULL;
}

static int create_upload(s3_writer *w, lp_error *err)
{
    s3_storage *s3 = s3_of(w->base.s);
    lp_sigv4_pair q[] = {{"uploads", ""}};
    s3_request req = {.method = "POST", .key = w->base.key, .query = q, .nquery = 1,
                      .content_type = w->content_type};
    s3_response resp;
    int rc = -1;
    if (s3_perform(s3, w->curl, &req, &resp, err))
        goto cleanup;
    if (lp_s3_xml_text(resp.body.data ? resp.body.data : "", resp.body.len, "UploadId", w->upload_id,
                       sizeof w->upload_id) != 0 ||
        !w->upload_id[0]) {
        w->upload_id[0] = '\0';
        lp_error_set(err, LP_E_IO, "S3 CreateMultipartUpload of '%s' answered without an UploadId", w->base.key);
        goto cleanup;
    }
    rc = 0;
cleanup:
    lp_buf_free(&resp.body);
    return rc;
}

/* Uploads the buffered bytes as the next part. */
static int upload_part(s3_writer *w, lp_error *err)
{
    s3_storage *s3 = s3_of(w->base.s);
    char number[16];
    lp_sigv4_pair q[2];
    s3_request req = {.method = "PUT", .key = w->base.key, .query = q, .nquery = 2, .body = w->buf,
                      .body_len = w->len};
    s3_response resp;
    int rc = -1;

    if (!w->upload_id[0] && create_upload(w, err))
        return -1;
    if (w->nparts >= S3_MAX_PARTS)
        return lp_error_set(err, LP_E_TOO_LARGE, "object '%s' needs more than %d parts; raise s3_part_size",
                            w->base.key, S3_MAX_PARTS);
    if (w->nparts == w->parts_cap) {
        size_t cap = w->parts_cap ? w->parts_cap * 2 : 16;
        s3_part_etag *p = realloc(w->parts, cap * sizeof *p);
        if (!p)
            return lp_error_set(err, LP_E_NOMEM, "out of memory uploading '%s'", w->base.key);
        w->parts = p;
        w->parts_cap = cap;
    }
    snprintf(number, sizeof number, "%zu", w->nparts + 1);
    q[0] = (lp_sigv4_pair){"partNumber", number};
    q[1] = (lp_sigv4_pair){"uploadId", w->upload_id};
    if (s3_call(s3, w->curl, &req, &resp, err))
        goto cleanup;
    if (!resp.etag[0]) {
        lp_error_set(err, LP_E_IO, "S3 UploadPart %s of '%s' answered without an ETag", number, w->base.key);
        goto cleanup;
    }
    lp_strlcpy(w->parts[w->nparts++].v, resp.etag, LP_STORAGE_ETAG_MAX);
    w->len = 0;
    rc = 0;
cleanup:
    lp_buf_free(&resp.body);
    return rc;
}

static int s3_writer_write(lp_storage_writer *base, const void *p, size_t n, lp_error *err)
{
    s3_writer *w = (s3_writer *)base;
    size_t part = s3_of(base->s)->part_size;
    const unsigned char *c = p;
    while (n > 0) {
        size_t take;
        if (w->len == part && upload_part(w, err))
            return -1;
        if (w->len == w->cap) { /* grow toward one part */
            size_t cap = w->cap ? w->cap * 2 : 256 * 1024;
            unsigned char *b;
            if (cap > part)
                cap = part;
            if (!(b = realloc(w->buf, cap)))
                return lp_error_set(err, LP_E_NOMEM, "out of memory buffering '%s'", base->key);
            w->buf = b;
            w->cap = cap;
        }
        take = w->cap - w->len < n ? w->cap - w->len : n;
        memcpy(w->buf + w->len, c, take);
        w->len += take;
        c += take;
        n -= take;
    }
    return 0;
}

static void s3_writer_abort(lp_storage_writer *base)
{
    s3_writer *w = (s3_writer *)base;
    lp_sigv4_pair q[1];
    s3_request req = {.method = "DELETE", .key = base->key, .query = q, .nquery = 1};
    s3_response resp;
    lp_error ignored;
    if (!w->upload_id[0])
        return;
    q[0] = (lp_sigv4_pair){"uploadId", w->upload_id};
    lp_error_clear(&ignored);
    s3_perform(s3_of(base->s), w->curl, &req, &resp, &ignored);
    lp_buf_free(&resp.body);
    w->upload_id[0] = '\0';
}

static int complete_upload(s3_writer *w, lp_storage_object *out, lp_error *err)
{
    lp_buf xml;
    lp_sigv4_pair q[1] = {{"uploadId", w->upload_id}};
    s3_request req = {.method = "POST", .key = w->base.key, .query = q, .nquery = 1,
                      .content_type = "application/xml"};
    s3_response resp;
    char etag[LP_STORAGE_ETAG_MAX];
    int rc = -1;

    memset(&resp, 0, sizeof resp);
    lp_buf_init(&xml, 256 + (size_t)S3_MAX_PARTS * (64 + LP_STORAGE_ETAG_MAX * 6));
    if (lp_buf_puts(&xml, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"))
        goto nomem;
    for (size_t i = 0; i < w->nparts; i++)
        if (lp_buf_printf(&xml, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1) ||
            lp_s3_xml_escape(&xml, w->parts[i].v) || lp_buf_puts(&xml, "</ETag></Part>"))
            goto nomem;
    if (lp_buf_puts(&xml, "</CompleteMultipartUpload>"))
        goto nomem;
    req.body = xml.data;
    req.body_len = xml.len;
    if (s3_perform(s3_of(w->base.s), w->curl, &req, &resp, err))
        goto cleanup;
    /* S3 may answer 200 and still report an error in the body. */
    if (lp_s3_xml_root_is(resp.body.data ? resp.body.data : "", resp.body.len, "Error")) {
        resp.status = 500;
        status_error(s3_of(w->base.s), &req, &resp, err);
        goto cleanup;
    }
    if (lp_s3_xml_text(resp.body.data ? resp.body.data : "", resp.body.len, "ETag", etag, sizeof etag) == 0)
        unquote(etag, out->etag);
    rc = 0;
    goto cleanup;
nomem:
    lp_error_set(err, LP_E_NOMEM, "out of memory completing the upload of '%s'", w->base.key);
cleanup:
    lp_buf_free(&xml);
    lp_buf_free(&resp.body);
    return rc;
}

static int s3_writer_commit(lp_storage_writer *base, lp_storage_object *out, lp_error *err)
{
    s3_writer *w = (s3_writer *)base;
    s3_response resp;
    int rc;

    if (!w->upload_id[0]) { /* everything fits in one request */
        s3_request req = {.method = "PUT", .key = base->key, .body = w->buf, .body_len = w->len,
                          .content_type = w->content_type};
        rc = s3_call(s3_of(base->s), w->curl, &req, &resp, err);
        if (rc == 0)
            unquote(resp.etag, out->etag);
        lp_buf_free(&resp.body);
        return rc;
    }
    if ((w->len > 0 && upload_part(w, err)) || complete_upload(w, out, err)) {
        s3_writer_abort(base);
        return -1;
    }
    w->upload_id[0] = '\0';
    return 0;
}

static void s3_writer_free(lp_storage_writer *base)
{
    s3_writer *w = (s3_writer *)base;
    s3_writer_abort(base);
    handle_give(s3_of(base->s), w->curl);
    free(w->content_type);
    free(w->buf);
    free(w->parts);
    lp_storage_writer_fini(base);
    free(w);
}

/* --- reading ------------------------------------------------------------------ */

static int s3_get(lp_storage *s, const char *key, uint64_t offset, uint64_t length, lp_storage_sink sink, void *ud,
                  lp_error *err)
{
    char range[64];
    s3_request req = {.method = "GET", .key = key, .sink = sink, .ud = ud};
    s3_response resp;
    int rc;

    if (!(offset == 0 && length == LP_STORAGE_TO_END)) {
        if (length == 0)
            return lp_error_set(err, LP_E_RANGE, "range of length 0 at byte %llu of '%s'",
                                (unsigned long long)offset, key);
        if (length == LP_STORAGE_TO_END || length - 1 > UINT64_MAX - offset)
            snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)offset);
        else
            snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)offset,
                     (unsigned long long)(offset + length - 1));
        req.range = range;
        req.range_first = offset;
        req.range_len = length;
    }
    rc = s3_run(s3_of(s), &req, &resp, err);
    lp_buf_free(&resp.body);
    return rc;
}

static int s3_stat(lp_storage *s, const char *key, lp_storage_info *out, lp_error *err)
{
    s3_request req = {.method = "HEAD", .key = key};
    s3_response resp;
    int rc = s3_run(s3_of(s), &req, &resp, err);
    if (rc == 0) {
        out->size = resp.content_length;
        out->mtime = resp.last_modified;
        unquote(resp.etag, out->etag);
    }
    lp_buf_free(&resp.body);
    return rc;
}

static int s3_delete(lp_storage *s, const char *key, lp_error *err)
{
    s3_request req = {.method = "DELETE", .key = key};
    s3_response resp;
    int rc = s3_run(s3_of(s), &req, &resp, err);
    if (rc != 0 && resp.status == 404 && err && err->code == LP_E_NOT_FOUND) {
        lp_error_clear(err);
        rc = 0;
    }
    lp_buf_free(&resp.body);
    return rc;
}

static int s3_presign(lp_storage *s, lp_storage_method method, const char *key, int64_t sign_time, int64_t ttl_s,
                      lp_storage_url *out, lp_error *err)
{
    s3_storage *s3 = s3_of(s);
    lp_sigv4_credentials cred = {s3->access_key, s3->secret_key, s3->region, "s3"};
    lp_buf path, url;
    int rc = -1;

    if (ttl_s > LP_SIGV4_MAX_EXPIRES)
        return lp_error_field(err, LP_E_INVALID, "ttl", "must be at most %d s (7 days) for S3", LP_SIGV4_MAX_EXPIRES);
    lp_buf_init(&path, 4 * LP_STORAGE_KEY_MAX);
    lp_buf_init(&url, sizeof out->url - 1);
    if (object_path(s3, key, &path)) {
        lp_error_set(err, LP_E_INVALID, "key '%s' is too long", key);
        goto cleanup;
    }
    lp_sigv4_presign p = {.method = method == LP_STORAGE_PUT ? "PUT" : "GET", .scheme = s3->scheme,
                          .host = s3->host, .path = path.data, .time = sign_time, .expires = ttl_s};
    if (lp_sigv4_presign_url(&cred, &p, &url, err))
        goto cleanup;
    memcpy(out->url, url.data, url.len + 1);
    out->expires = sign_time + ttl_s;
    rc = 0;
cleanup:
    lp_buf_free(&path);
    lp_buf_free(&url);
    return rc;
}

/* --- open ---------------------------------------------------------------------- */

static void s3_free(lp_storage *s)
{
    s3_storage *s3 = s3_of(s);
    while (s3->nidle > 0)
        curl_easy_cleanup(s3->idle[--s3->nidle]);
    free(s3->idle);
    pthread_mutex_destroy(&s3->pool_mu);
    free(s3->scheme);
    free(s3->host);
    free(s3->path_prefix);
    free(s3->bucket);
    free(s3->region);
    free(s3->access_key);
    if (s3->secret_key) {
        OPENSSL_cleanse(s3->secret_key, strlen(s3->secret_key));
        free(s3->secret_key);
    }
    free(s3);
    curl_global_cleanup();
}

/* Splits "http[s]://host[:port][/]" into scheme and authority (default port
 * dropped). 0 or -1 with a field error on s3_endpoint. */
static int parse_endpoint(const char *endpoint, char **scheme, char **authority, int *is_ip, lp_error *err)
{
    const char *rest, *end;
    size_t n;
    if (strncmp(endpoint, "https://", 8) == 0) {
        *scheme = strdup("https");
        rest = endpoint + 8;
    } else if (strncmp(endpoint, "http://", 7) == 0) {
        *scheme = strdup("http");
        rest = endpoint + 7;
    } else {
        return lp_error_field(err, LP_E_INVALID, "s3_endpoint", "must start with http:// or https://");
    }
    n = strlen(rest);
    while (n > 0 && rest[n - 1] == '/')
        n--;
    end = rest + n;
    if (n == 0 || n > 255)
        return lp_error_field(err, LP_E_INVALID, "s3_endpoint", "must name a host");
    for (const char *p = rest; p < end; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr(".-:[]", *p)))
            return lp_error_field(err, LP_E_INVALID, "s3_endpoint",
                                  "must be scheme://host[:port] without a path, user or query");
    /* Drop the scheme's default port: it is not part of the Host header. */
    if (n > 4 && strcmp(*scheme, "http") == 0 && memcmp(end - 3, ":80", 3) == 0)
        n -= 3;
    else if (n > 5 && strcmp(*scheme, "https") == 0 && memcmp(end - 4, ":443", 4) == 0)
        n -= 4;
    if (!(*authority = strndup(rest, n)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory opening S3 storage");
    *is_ip = rest[0] == '[' || strspn(*authority, "0123456789.:") == strlen(*authority);
    return 0;
}

static int check_bucket(const char *b, lp_error *err)
{
    size_t n = b ? strlen(b) : 0;
    if (n < 3 || n > 63 || strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n || b[0] == '.' || b[0] == '-' ||
        b[n - 1] == '.' || b[n - 1] == '-')
        return lp_error_field(err, LP_E_INVALID, "s3_bucket",
                              "must be 3 to 63 characters of a-z, 0-9, '.' and '-' (as S3 requires)");
    return 0;
}

lp_storage *lp_storage_s3_open(const lp_config *cfg, lp_error *err)
{
    s3_storage *s3;
    char *authority = NULL;
    int is_ip = 0, bad = 0;
    lp_buf b;

    bad |= check_bucket(cfg->s3_bucket, err) != 0;
    if (!cfg->s3_access_key || !*cfg->s3_access_key)
        bad |= lp_error_field(err, LP_E_INVALID, "s3_access_key", "must be set for the s3 backend") != 0;
    if (!cfg->s3_secret_key || !*cfg->s3_secret_key)
        bad |= lp_error_field(err, LP_E_INVALID, "s3_secret_key", "must be set for the s3 backend") != 0;
    if (!cfg->s3_region || !*cfg->s3_region || strlen(cfg->s3_region) > 64 ||
        strspn(cfg->s3_region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(cfg->s3_region))
        bad |= lp_error_field(err, LP_E_INVALID, "s3_region", "must be a region name like us-east-1") != 0;
    if (bad)
        return NULL;
    if (!(s3 = calloc(1, sizeof *s3))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory opening S3 storage");
        return NULL;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    s3->base.ops = &s3_ops;
    s3->part_size = (size_t)cfg->s3_part_size;
    s3->retry_attempts = (int)cfg->s3_retry_attempts;
    s3->retry_backoff_ms = cfg->s3_retry_backoff;
    s3->idle_max = (size_t)cfg->s3_connections;
    pthread_mutex_init(&s3->pool_mu, NULL);
    if (!(s3->idle = calloc(s3->idle_max, sizeof *s3->idle)))
        goto nomem;
    lp_buf_init(&b, 512);
    if (cfg->s3_endpoint && *cfg->s3_endpoint) {
        if (parse_endpoint(cfg->s3_endpoint, &s3->scheme, &authority, &is_ip, err))
            goto fail;
    } else {
        s3->scheme = strdup("https");
        if (lp_buf_printf(&b, "s3.%s.amazonaws.com", cfg->s3_region) || !(authority = lp_buf_steal(&b, NULL)))
            goto nomem;
    }
    if (!s3->scheme)
        goto nomem;
    if (!cfg->s3_path_style && is_ip) {
        lp_error_field(err, LP_E_INVALID, "s3_path_style",
                       "must be true when s3_endpoint is an IP address (no bucket host name can resolve)");
        goto fail;
    }
    lp_buf_reset(&b);
    if (cfg->s3_path_style ? lp_buf_puts(&b, authority) : lp_buf_printf(&b, "%s.%s", cfg->s3_bucket, authority))
        goto nomem;
    if (!(s3->host = lp_buf_steal(&b, NULL)))
        goto nomem;
    s3->path_prefix = cfg->s3_path_style ? malloc(strlen(cfg->s3_bucket) + 2) : strdup("");
    if (!s3->path_prefix)
        goto nomem;
    if (cfg->s3_path_style)
        sprintf(s3->path_prefix, "/%s", cfg->s3_bucket);
    if (!(s3->bucket = strdup(cfg->s3_bucket)) || !(s3->region = strdup(cfg->s3_region)) ||
        !(s3->access_key = strdup(cfg->s3_access_key)) || !(s3->secret_key = strdup(cfg->s3_secret_key)))
        goto nomem;
    free(authority);
    lp_buf_free(&b);
    /* Checks the credentials' form once, so requests fail only for real. */
    {
        lp_storage_url probe;
        lp_error e;
        lp_error_clear(&e);
        if (s3_presign(&s3->base, LP_STORAGE_GET, "probe", 0, 1, &probe, &e)) {
            lp_error_field(err, LP_E_INVALID, "s3_access_key", "%s", e.nfields ? e.fields[0].message : e.message);
            s3_free(&s3->base);
            return NULL;
        }
    }
    return &s3->base;
nomem:
    lp_error_set(err, LP_E_NOMEM, "out of memory opening S3 storage");
fail:
    lp_buf_free(&b);
    free(authority);
    s3_free(&s3->base);
    return NULL;
}

static const lp_storage_ops s3_ops = {
    .name = "s3",
    .writer_open = s3_writer_open,
    .writer_write = s3_writer_write,
    .writer_commit = s3_writer_commit,
    .writer_abort = s3_writer_abort,
    .writer_free = s3_writer_free,
    .get = s3_get,
    .stat = s3_stat,
    .del = s3_delete,
    .presign = s3_presign,
    .free = s3_free,
};
