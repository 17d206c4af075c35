/* loupe's HTTP client: libcurl, JSON answers, problem+json made readable. See
 * loupe/cli/client.h. */
#include "loupe/cli/client.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "loupe/cli/args.h"
#include "loupe/core/util.h"

#define ANSWER_MAX ((size_t)256 << 20) /* the largest JSON answer read (a page of 1000 items is far less) */
#define CONNECT_TIMEOUT_S 15L
#define LOW_SPEED_TIME_S 120L
#define PAGE_SIZE 1000                 /* items asked per page of a list (the default page_size_max) */

struct lp_cli_client {
    char *url;
    CURL *easy;                        /* lp_cli_request's, reused: keep-alive */
    struct curl_slist *headers[3];     /* by lp_cli_body: credential, Accept, Content-Type */
    char *auth;                        /* "Authorization: ApiKey …" or NULL */
    char *csrf;                        /* "X-CSRF-Token: …" in a session, else NULL */
    char *cookie;                      /* the last "name=value" a Set-Cookie gave, sent in a session */
};

void lp_cli_error_clear(lp_cli_error *err)
{
    json_decref(err->problem);
    memset(err, 0, sizeof *err);
}

int lp_cli_error_set(lp_cli_error *err, int exit_code, const char *fmt, ...)
{
    va_list ap;
    lp_cli_error_clear(err);
    err->exit_code = exit_code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

int lp_cli_exit_for_status(long status)
{
    if (status == 401 || status == 403)
        return LP_CLI_AUTH;
    if (status >= 500 || status == 0)
        return LP_CLI_UNREACHABLE;
    return LP_CLI_FAILED;
}

void lp_cli_problem_text(long status, const json_t *problem, const char *fallback, char *out, size_t cap)
{
    const char *detail = json_string_value(json_object_get(problem, "detail"));
    const char *title = json_string_value(json_object_get(problem, "title"));
    const char *hint = json_string_value(json_object_get(problem, "hint"));
    size_t n = 0;
#define ADD(...)                                                                                                   \
    do {                                                                                                           \
        if (n < cap) {                                                                                             \
            int k = snprintf(out + n, cap - n, __VA_ARGS__);                                                      \
            n = k < 0 ? cap : n + (size_t)k;                                                                       \
        }                                                                                                          \
    } while (0)
    if (cap)
        out[0] = '\0';
    if (detail)
        ADD("%s (%s, %ld)", detail, title ? title : "HTTP", status);
    else
        ADD("%s (HTTP %ld)", fallback && *fallback ? fallback : "the server refused the request", status);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(problem, "errors"), i, e)
    {
        const char *field = json_string_value(json_object_get(e, "field"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (field && msg)
            ADD("\n  %s: %s", field, msg);
    }
    if (hint)
        ADD("\n  hint: %s", hint);
#undef ADD
}

lp_cli_client *lp_cli_client_new(const char *url, const char *key)
{
    lp_cli_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->url = strdup(url);
    c->easy = curl_easy_init();
    if (key && *key) {
        size_t n = strlen(key) + 32;
        if ((c->auth = malloc(n)))
            snprintf(c->auth, n, "Authorization: ApiKey %s", key);
    }
    if (!c->url || !c->easy || (key && *key && !c->auth) || lp_cli_client_session(c, NULL) != 0) {
        lp_cli_client_free(c);
        return NULL;
    }
    return c;
}

void lp_cli_client_free(lp_cli_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < 3; i++)
        curl_slist_free_all(c->headers[i]);
    if (c->easy)
        curl_easy_cleanup(c->easy);
    free(c->auth);
    free(c->csrf);
    free(c->cookie);
    free(c->url);
    free(c);
}

const char *lp_cli_client_url(const lp_cli_client *c)
{
    return c->url;
}

/* (Re)builds the three header lists from auth and csrf. */
int lp_cli_client_session(lp_cli_client *c, const char *csrf)
{
    static const char *const types[3] = {NULL, "Content-Type: application/json",
                                         "Content-Type: application/octet-stream"};
    free(c->csrf);
    c->csrf = NULL;
    if (csrf) {
        size_t n = strlen(csrf) + 16;
        if (!(c->csrf = malloc(n)))
            return -1;
        snprintf(c->csrf, n, "X-CSRF-Token: %s", csrf);
    }
    for (size_t i = 0; i < 3; i++) {
        struct curl_slist *l = curl_slist_append(NULL, "Accept: application/json, application/problem+json");
        if (l && c->auth)
            l = curl_slist_append(l, c->auth);
        if (l && c->csrf)
            l = curl_slist_append(l, c->csrf);
        if (l && types[i])
            l = curl_slist_append(l, types[i]);
        /* curl_slist_append frees nothing on failure: keep the list whole or drop it */
        curl_slist_free_all(c->headers[i]);
        c->headers[i] = l;
        if (!l)
            return -1;
    }
    return 0;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    return lp_buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

/* Sets up h for method and path (or a whole URL). 0 or -1 (out of memory). */
static int prepare(lp_cli_client *c, CURL *h, const char *method, const char *path, lp_cli_body body,
                   lp_buf *answer)
{
    char *url = NULL;
    if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0) {
        url = strdup(path);
    } else {
        size_t n = strlen(c->url) + strlen(path) + 1;
        if ((url = malloc(n)))
            snprintf(url, n, "%s%s", c->url, path);
    }
    if (!url)
        return -1;
    CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, url);
    free(url); /* libcurl keeps its own copy */
    if (rc != CURLE_OK)
        return -1;
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "GET") == 0)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers[body]);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "loupe-cli/" LOUPE_VERSION);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME_S);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, answer);
    if (c->csrf && c->cookie)
        curl_easy_setopt(h, CURLOPT_COOKIE, c->cookie);
    return 0;
}

CURL *lp_cli_handle(lp_cli_client *c, const char *method, const char *path, lp_cli_body body, lp_buf *answer)
{
    CURL *h = curl_easy_init();
    if (h && prepare(c, h, method, path, body, answer) != 0) {
        curl_easy_cleanup(h);
        return NULL;
    }
    return h;
}

int lp_cli_finish(CURL *h, CURLcode result, const lp_buf *body, json_t **answer, lp_cli_error *err)
{
    long status = 0;
    const char *url = NULL;
    if (answer)
        *answer = NULL;
    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url);
    if (result != CURLE_OK)
        return lp_cli_error_set(err, LP_CLI_UNREACHABLE, "no answer from %s: %s", url ? url : "the server",
                                curl_easy_strerror(result));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    json_t *doc = NULL;
    if (body->len > 0) {
        json_error_t je;
        doc = json_loadb(body->data, body->len, JSON_DECODE_ANY, &je);
        if (!doc && status >= 200 && status < 300 && answer)
            return lp_cli_error_set(err, LP_CLI_FAILED, "the answer of %s is not JSON: %s", url, je.text);
    }
    if (status >= 200 && status < 300) {
        if (answer)
            *answer = doc;
        else
            json_decref(doc);
        return 0;
    }
    char text[sizeof err->message];
    char fallback[128];
    snprintf(fallback, sizeof fallback, "%s answered", url ? url : "the server");
    lp_cli_problem_text(status, json_is_object(doc) ? doc : NULL, fallback, text, sizeof text);
    lp_cli_error_set(err, lp_cli_exit_for_status(status), "%s", text);
    err->status = status;
    err->problem = json_is_object(doc) ? doc : NULL;
    if (!err->problem)
        json_decref(doc);
    return -1;
}

/* Keeps the name=value pair of a Set-Cookie header (the sign-in's session) for the session's
 * requests. */
static size_t keep_cookie(char *p, size_t size, size_t n, void *ud)
{
    lp_cli_client *c = ud;
    size_t len = size * n;
    static const char name[] = "set-cookie:";
    if (len > sizeof name && strncasecmp(p, name, sizeof name - 1) == 0) {
        const char *v = p + sizeof name - 1, *end = p + len;
        while (v < end && *v == ' ')
            v++;
        size_t k = 0;
        while (v + k < end && v[k] != ';' && v[k] != '\r' && v[k] != '\n')
            k++;
        char *copy = strndup(v, k);
        if (copy) {
            free(c->cookie);
            c->cookie = copy;
        }
    }
    return len;
}

long lp_cli_retry_delay_ms(long status, long retry_after_s, int attempt)
{
    if (attempt >= LP_CLI_RETRIES || (status != 429 && !(status == 503 && retry_after_s >= 0)))
        return -1;
    long ms = retry_after_s >= 0 ? retry_after_s * 1000L : 1000L << (attempt < 6 ? attempt : 6);
    return ms < LP_CLI_RETRY_WAIT_MAX_MS ? ms : LP_CLI_RETRY_WAIT_MAX_MS;
}

long lp_cli_retry_wait_ms(CURL *h, int attempt)
{
    long status = 0;
    curl_off_t after = -1;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &after) != CURLE_OK || after <= 0)
        after = -1; /* libcurl gives 0 for no header; a Retry-After of 0 means "at once" all the same */
    return status == 0 ? -1 : lp_cli_retry_delay_ms(status, after > LONG_MAX / 1000 ? LONG_MAX / 1000 : (long)after, attempt);
}

void lp_cli_pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Runs c's reused handle, set up by prepare, and sends it again (the collected body emptied, an
 * upload rewound to its start) while the server refuses it for load and retries are left
 * (lp_cli_retry_wait_ms). Returns the last attempt's result; its answer is in the handle. */
static CURLcode perform_retrying(lp_cli_client *c, lp_buf *body, FILE *upload)
{
    CURLcode rc;
    long wait;
    for (int attempt = 0;
         (rc = curl_easy_perform(c->easy)) == CURLE_OK && (wait = lp_cli_retry_wait_ms(c->easy, attempt)) >= 0;
         attempt++) {
        lp_buf_reset(body);
        if (upload)
            rewind(upload);
        lp_cli_pause_ms(wait);
    }
    return rc;
}

/* Runs c's reused handle (perform_retrying) and reads its JSON answer into body and answer. */
static int perform(lp_cli_client *c, lp_buf *body, FILE *upload, json_t **answer, lp_cli_error *err)
{
    curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, keep_cookie);
    curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
    CURLcode rc = perform_retrying(c, body, upload);
    if (rc == CURLE_WRITE_ERROR && body->len > 0)
        return lp_cli_error_set(err, LP_CLI_FAILED, "the server's answer is larger than %zu bytes", body->max);
    return lp_cli_finish(c->easy, rc, body, answer, err);
}

int lp_cli_request(lp_cli_client *c, const char *method, const char *path, const json_t *body, json_t **answer,
                   lp_cli_error *err)
{
    lp_buf got;
    char *text = NULL;
    int rc = -1;
    lp_buf_init(&got, ANSWER_MAX);
    curl_easy_reset(c->easy);
    if (body && !(text = json_dumps(body, JSON_COMPACT))) {
        lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
        goto cleanup;
    }
    if (prepare(c, c->easy, method, path, body ? LP_CLI_BODY_JSON : LP_CLI_BODY_NONE, &got) != 0) {
        lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
        goto cleanup;
    }
    if (text)
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, text);
    else if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, 0L), curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, "");
    rc = perform(c, &got, NULL, answer, err);
cleanup:
    free(text);
    lp_buf_free(&got);
    return rc;
}

/* Whether err is the server refusing page[size] (400: a page_size_max below PAGE_SIZE). */
static int page_size_refused(const lp_cli_error *err)
{
    size_t i;
    json_t *e;
    if (err->status != 400 && err->status != 422)
        return 0;
    json_array_foreach(json_object_get(err->problem, "errors"), i, e)
    {
        const char *field = json_string_value(json_object_get(e, "field"));
        if (field && strcmp(field, "page[size]") == 0)
            return 1;
    }
    return 0;
}

int lp_cli_get_all(lp_cli_client *c, const char *path, const char *member, json_t *into, lp_cli_error *err)
{
    size_t n = strlen(path) + 32;
    char *next = malloc(n);
    int rc = 0, first = 1;
    if (!next)
        return lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
    snprintf(next, n, "%s%cpage%%5Bsize%%5D=%d", path, strchr(path, '?') ? '&' : '?', PAGE_SIZE);
    while (rc == 0 && next) {
        json_t *page = NULL;
        rc = lp_cli_request(c, "GET", next, NULL, &page, err);
        free(next);
        next = NULL;
        if (rc != 0 && first && page_size_refused(err)) { /* the server's pages are smaller: take its own */
            lp_cli_error_clear(err);
            if (!(next = strdup(path)))
                return lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
            rc = 0;
            first = 0;
            continue;
        }
        first = 0;
        if (rc != 0)
            break;
        json_t *list = json_object_get(page, member);
        if (!json_is_array(list) || json_array_extend(into, list) != 0)
            rc = lp_cli_error_set(err, LP_CLI_FAILED, "the answer of %s has no \"%s\" list", path, member);
        const char *more = json_string_value(json_object_get(page, "next"));
        if (rc == 0 && more && !(next = strdup(more)))
            rc = lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
        json_decref(page);
    }
    free(next);
    return rc;
}

int lp_cli_upload(lp_cli_client *c, const char *method, const char *path, const char *file_path, json_t **answer,
                  lp_cli_error *err)
{
    struct stat st;
    lp_buf got;
    FILE *f = fopen(file_path, "rb");
    if (!f || fstat(fileno(f), &st) != 0) {
        if (f)
            fclose(f);
        return lp_cli_error_set(err, LP_CLI_FAILED, "cannot read %s: %s", file_path, strerror(errno));
    }
    lp_buf_init(&got, ANSWER_MAX);
    curl_easy_reset(c->easy);
    int rc = -1;
    if (prepare(c, c->easy, method, path, LP_CLI_BODY_FILE, &got) != 0) {
        lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
    } else {
        curl_easy_setopt(c->easy, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c->easy, CURLOPT_READDATA, f);
        curl_easy_setopt(c->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
        rc = perform(c, &got, f, answer, err);
    }
    fclose(f);
    lp_buf_free(&got);
    return rc;
}

typedef struct download {
    CURL *h;
    FILE *out;
    lp_buf *problem; /* an error answer's body */
} download;

/* Writes a 2xx body to the file and anything else (a problem) to the buffer. */
static size_t save(char *p, size_t size, size_t n, void *ud)
{
    download *d = ud;
    long status = 0;
    curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300)
        return fwrite(p, size, n, d->out) == n ? size * n : 0;
    return collect(p, size, n, d->problem);
}

int lp_cli_download(lp_cli_client *c, const char *path, FILE *out, lp_cli_error *err)
{
    lp_buf problem;
    lp_buf_init(&problem, (size_t)1 << 20);
    download d = {c->easy, out, &problem};
    curl_easy_reset(c->easy);
    int rc = -1;
    if (prepare(c, c->easy, "GET", path, LP_CLI_BODY_NONE, &problem) != 0) {
        lp_cli_error_set(err, LP_CLI_FAILED, "out of memory");
    } else {
        /* the signed URL needs no credential: libcurl sends the custom header to the same host only */
        curl_easy_setopt(c->easy, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c->easy, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, save);
        curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &d);
        CURLcode res = perform_retrying(c, &problem, NULL); /* a refusal's body went to problem, not out */
        if (res == CURLE_WRITE_ERROR && ferror(out))
            rc = lp_cli_error_set(err, LP_CLI_FAILED, "cannot write the download: %s", strerror(errno));
        else
            rc = lp_cli_finish(c->easy, res, &problem, NULL, err);
    }
    lp_buf_free(&problem);
    return rc;
}
