/* W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent`
 * value that ties a request, the jobs it creates and their log lines together.
 *
 *   traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
 *                ver trace-id (16 bytes)              parent-id (8)    flags
 *
 * The current trace is thread-local context like the log's request id: the
 * HTTP server sets it for the request it serves, a worker for the job it runs;
 * every log line written meanwhile carries "trace_id", and every job enqueued
 * meanwhile carries the traceparent in its message. */
#ifndef LOUPE_CORE_TRACE_H
#define LOUPE_CORE_TRACE_H

#include <stddef.h>

/* "00-" + 32 + "-" + 16 + "-" + 2, and the NUL. */
#define LP_TRACEPARENT_LEN 55

typedef struct lp_trace {
    char trace_id[33];   /* 32 lowercase hex digits, not all zero; "" = no trace */
    char span_id[17];    /* 16 lowercase hex digits, not all zero */
    unsigned char flags; /* trace-flags (bit 0: sampled) */
} lp_trace;

/* Parses a traceparent header value strictly: lowercase hex only, version
 * "00" exactly 55 characters; a later version (not "ff") may append
 * "-<more>" after the flags, which is ignored. All-zero ids are invalid.
 * Returns 0, or -1 (out cleared) when s is NULL or invalid. */
int lp_trace_parse(const char *s, lp_trace *out);

/* A new trace with random ids and flags 00 (not sampled: Loupe records no
 * spans itself). Returns 0, or -1 if no randomness was available. */
int lp_trace_new(lp_trace *out);

/* The next hop of parent: same trace id and flags, a new random span id.
 * A parent with no trace gives a new trace. Returns 0 or -1 (no randomness). */
int lp_trace_child(const lp_trace *parent, lp_trace *out);

/* Writes "00-<trace_id>-<span_id>-<flags>" (LP_TRACEPARENT_LEN characters)
 * into out; returns 0, or -1 when t holds no trace (out = ""). */
int lp_trace_format(const lp_trace *t, char out[LP_TRACEPARENT_LEN + 1]);

/* The calling thread's current trace (copied; NULL clears it), and a
 * borrowed view of it: never NULL, trace_id "" when there is none. */
void lp_trace_set_current(const lp_trace *t);
const lp_trace *lp_trace_current(void);

#endif
