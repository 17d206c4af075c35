/* The body of a job message on the broker:
 *
 *   {"v":1,"job_id":"<uuid>","kind":"system.echo","attempt":2,
 *    "traceparent":"00-<trace id>-<span id>-00"}
 *
 * v is the schema version (1). attempt is the attempt the message asks for
 * (absent = 1): retries carry the next attempt number, so a stale duplicate
 * of an earlier message is recognised and dropped. Dead-lettered messages add
 * "error". traceparent (optional, W3C trace context) names the trace of the
 * request that created the job: the worker logs the job under that trace id;
 * a missing or invalid one is ignored (older messages have none, and tracing
 * never fails a job). Unknown members are ignored (newer senders may add some). */
#ifndef LOUPE_JOBS_MESSAGE_H
#define LOUPE_JOBS_MESSAGE_H

#include <stddef.h>

#include "loupe/core/error.h"
#include "loupe/core/trace.h"

#define LP_JOB_MSG_VERSION 1
#define LP_JOB_KIND_MAX 64

typedef struct lp_job_msg {
    int v;
    char job_id[37];
    char kind[LP_JOB_KIND_MAX + 1];
    int attempt;
    char traceparent[LP_TRACEPARENT_LEN + 1]; /* "" = none */
} lp_job_msg;

/* Parses body (len bytes, need not be NUL-terminated). LP_E_MALFORMED for
 * bad JSON or a non-object; LP_E_INVALID with field errors ("v", "job_id",
 * "kind", "attempt") for wrong members. */
int lp_job_msg_parse(const char *body, size_t len, lp_job_msg *out, lp_error *err);

/* Writes the message as compact JSON into out (cap bytes); error may be NULL
 * (else added as "error"); traceparent is written when not "". Returns the length, or -1 if it does not fit or m
 * is invalid. */
int lp_job_msg_format(const lp_job_msg *m, const char *error, char *out, size_t cap);

/* 1 if s is a valid kind name: dot-separated lowercase words
 * ("system.echo"), at most LP_JOB_KIND_MAX bytes. */
int lp_job_kind_name_valid(const char *s);

#endif
