/* loupe's HTTP client (libcurl + jansson): one server, one credential, JSON in and out, and what
 * went wrong told the way people read it — the server's problem+json detail, its field errors and
 * hint, and an exit status (loupe/cli/args.h). One thread; the handles it hands out are for the
 * caller's own curl multi loop. */
#ifndef LOUPE_CLI_CLIENT_H
#define LOUPE_CLI_CLIENT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "loupe/core/buf.h"

typedef struct lp_cli_client lp_cli_client;

typedef struct lp_cli_error {
    int exit_code;      /* LP_CLI_FAILED, LP_CLI_AUTH or LP_CLI_UNREACHABLE */
    long status;        /* the HTTP status, 0 when there was no answer */
    char message[2048]; /* for people: one line, then the field errors and hint on lines of their own */
    json_t *problem;    /* owned: the server's problem+json, or NULL */
} lp_cli_error;

/* Frees err->problem and empties err. */
void lp_cli_error_clear(lp_cli_error *err);

/* Sets err to a failure of ours (no HTTP status) with this exit code and message. Returns -1. */
int lp_cli_error_set(lp_cli_error *err, int exit_code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The message of a problem+json answer (borrowed; NULL when the body was not one): "detail
 * (title, status)", then "  field: message" per field error and "  hint: …". Pure. */
void lp_cli_problem_text(long status, const json_t *problem, const char *fallback, char *out, size_t cap);

/* The exit status an HTTP status maps to: 401/403 → LP_CLI_AUTH, 5xx → LP_CLI_UNREACHABLE,
 * else LP_CLI_FAILED. Pure. */
int lp_cli_exit_for_status(long status);

/* Requests the server refused for load — 429, or 503 with a Retry-After (a file still being
 * prepared) — are sent again, at most LP_CLI_RETRIES times, after the wait the server asked for
 * (at most LP_CLI_RETRY_WAIT_MAX_MS), else 1 s doubled per retry. */
#define LP_CLI_RETRIES 6
#define LP_CLI_RETRY_WAIT_MAX_MS 60000L

/* How long to wait before sending again a request answered with status and the server's
 * Retry-After in seconds (-1: none), after `attempt` earlier retries (0: none yet); -1 when it is
 * not sent again (another status, a 503 without Retry-After, or the retries spent). Pure. */
long lp_cli_retry_delay_ms(long status, long retry_after_s, int attempt);

/* lp_cli_retry_delay_ms for the finished transfer h (its status and Retry-After header); -1 when
 * it got no answer. */
long lp_cli_retry_wait_ms(CURL *h, int attempt);

/* Sleeps ms milliseconds (signals do not cut it short). */
void lp_cli_pause_ms(long ms);

/* A client of url (no trailing "/") with key (NULL: none yet; see lp_cli_client_session).
 * NULL when memory ran out. */
lp_cli_client *lp_cli_client_new(const char *url, const char *key);
void lp_cli_client_free(lp_cli_client *c);
const char *lp_cli_client_url(const lp_cli_client *c);

/* Acts with the session cookie the last sign-in answer set, sending csrf on every request (the
 * login command's key-making step). 0 or -1 (out of memory). */
int lp_cli_client_session(lp_cli_client *c, const char *csrf);

/* One request and its JSON answer: method, a path ("/api/v1/…", appended to the URL) or a whole
 * URL, body (borrowed; NULL = none); sent again while the server refuses it for load (above).
 * 0 on a 2xx, *answer (new; NULL for an empty body) when
 * answer is not NULL; -1 otherwise (err filled). */
int lp_cli_request(lp_cli_client *c, const char *method, const char *path, const json_t *body, json_t **answer,
                   lp_cli_error *err);

/* GETs path and every next page, appending each page's `member` array to into (borrowed). Asks
 * for pages of 1000, or of the server's default size when it allows fewer. */
int lp_cli_get_all(lp_cli_client *c, const char *path, const char *member, json_t *into, lp_cli_error *err);

/* What a request's body is: its Content-Type. */
typedef enum lp_cli_body { LP_CLI_BODY_NONE, LP_CLI_BODY_JSON, LP_CLI_BODY_FILE } lp_cli_body;

/* A new easy handle for a transfer the caller runs (in its own curl multi loop): method and path
 * as for lp_cli_request, body saying the Content-Type (a file goes as application/octet-stream),
 * the answer's body collected into answer (borrowed, initialised by the caller). The caller sets
 * the body itself (CURLOPT_POSTFIELDS, CURLOPT_READDATA …) and frees the handle with
 * curl_easy_cleanup; the client's headers outlive it. NULL when memory ran out. */
CURL *lp_cli_handle(lp_cli_client *c, const char *method, const char *path, lp_cli_body body, lp_buf *answer);

/* Reads how a finished transfer of h went (result: its CURLcode): 0 on a 2xx with *answer (new,
 * NULL for an empty body or when answer is NULL); -1 otherwise (err). */
int lp_cli_finish(CURL *h, CURLcode result, const lp_buf *body, json_t **answer, lp_cli_error *err);

/* Sends the file at file_path as the body of method path, for the JSON answer as
 * lp_cli_request (retries included). */
int lp_cli_upload(lp_cli_client *c, const char *method, const char *path, const char *file_path, json_t **answer,
                  lp_cli_error *err);

/* GETs path, following redirects (a signed URL), into out, retrying as lp_cli_request. 0 on a 2xx; -1 otherwise (err; out
 * then holds nothing of an error answer). */
int lp_cli_download(lp_cli_client *c, const char *path, FILE *out, lp_cli_error *err);

#endif
