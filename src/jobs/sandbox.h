/* A long-lived child process that serves requests under resource limits,
 * for untrusted decoding.
 *
 * lp_sandbox_new prepares a sandbox; its child starts on the first
 * lp_sandbox_call. The child sets RLIMIT_AS (address space) and RLIMIT_CORE
 * (0), asks to be killed when its parent dies (PR_SET_PDEATHSIG), closes
 * every inherited file descriptor but 0, 1, 2 and its socket, runs start
 * once, then serves requests one at a time: each request's bytes go to serve,
 * and what serve appends to its reply (at most LP_SANDBOX_OUTPUT_MAX bytes)
 * comes back with serve's return value as the status.
 *
 * The caller waits for the reply until the request's deadline. A child that
 * passes it is killed (SIGKILL) and reaped; one that dies mid-request (a
 * crash, an abort under RLIMIT_AS) is reaped and reported; either way the
 * next request starts a fresh child. So a file that crashes, exhausts or
 * hangs a decoder costs one child process, never its parent.
 *
 * A child that died between requests (killed from outside) is replaced
 * before the next request is sent: a request is only blamed for a death it
 * could have caused. A child is also replaced after max_requests requests,
 * or once its resident set passes max_rss_bytes after a reply, so what a
 * decoder leaks or fragments is bounded.
 *
 * CPU time: there is no RLIMIT_CPU. The limit is cumulative per process, so
 * it cannot bound one request of a long-lived child; the wall-clock deadline
 * does (a request is killed when it passes, whatever it is doing).
 *
 * Wire format, on a socketpair: a request is a 4-byte length (host order,
 * at most LP_SANDBOX_REQUEST_MAX) and that many bytes; a reply is a 4-byte
 * length (at most LP_SANDBOX_OUTPUT_MAX), a 4-byte status and that many
 * bytes. A reply that breaks these bounds kills the child.
 *
 * DESIGN (threads and processes): a sandbox owns one spawner thread that
 * forks every child, since PR_SET_PDEATHSIG fires when the *thread* that
 * forked a process ends: children forked by a job thread would die with it.
 * The child is a fork of a threaded process: start and serve may call
 * libraries that start after the fork (libvips, FFmpeg), but must not rely
 * on anything another parent thread may have held at fork time. The parent
 * must not have started libvips itself. A child runs on the spawner thread's
 * stack (LP_SANDBOX_STACK bytes). One lp_sandbox_call runs at a time (a
 * second caller waits); every function here is thread-safe. */
#ifndef LOUPE_JOBS_SANDBOX_H
#define LOUPE_JOBS_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loupe/core/buf.h"
#include "loupe/core/error.h"

#define LP_SANDBOX_REQUEST_MAX (64 * 1024)
#define LP_SANDBOX_OUTPUT_MAX (1024 * 1024)
#define LP_SANDBOX_STACK (8 * 1024 * 1024)

/* AddressSanitizer reserves terabytes of shadow address space before main,
 * so an address-space limit would fail every allocation: sanitizer builds
 * (tests only) run children without RLIMIT_AS. */
#if defined(__SANITIZE_ADDRESS__)
#define LP_SANDBOX_NO_AS_LIMIT 1
#else
#define LP_SANDBOX_NO_AS_LIMIT 0
#endif

/* In the child, once, before the first request (e.g. start libvips). */
typedef void (*lp_sandbox_start_fn)(void *arg);

/* In the child, for each request: req is req_len bytes (borrowed,
 * NUL-terminated for convenience); appends the answer to reply (empty, at
 * most LP_SANDBOX_OUTPUT_MAX bytes). Returns the status (0..125) sent with
 * the reply. */
typedef int (*lp_sandbox_serve_fn)(void *arg, const char *req, size_t req_len, lp_buf *reply);

typedef struct lp_sandbox_spec {
    lp_sandbox_start_fn start; /* may be NULL */
    lp_sandbox_serve_fn serve;
    void *arg;                 /* borrowed; each child sees it as it was when it was forked */
    int64_t memory_bytes;      /* RLIMIT_AS of the child; 0 = none */
    int max_requests;          /* a child serves at most this many, then is replaced; 0 = no limit */
    int64_t max_rss_bytes;     /* replaced once its resident set passes this after a reply; 0 = no limit */
} lp_sandbox_spec;

typedef enum lp_sandbox_end {
    LP_SANDBOX_REPLIED = 0, /* the child answered: status is serve's return, output its reply */
    LP_SANDBOX_EXITED,      /* the child exited mid-request: status is its exit status */
    LP_SANDBOX_SIGNALED,    /* killed mid-request by signal number status (not by us) */
    LP_SANDBOX_TIMED_OUT    /* the deadline passed; we killed it */
} lp_sandbox_end;

typedef struct lp_sandbox_result {
    lp_sandbox_end end;
    int status;       /* see lp_sandbox_end */
    char *output;     /* the reply (malloc'ed, NUL-terminated; free with lp_sandbox_result_free) */
    size_t output_len;
    pid_t pid;        /* the child that handled the request */
    int64_t elapsed_ms;
} lp_sandbox_result;

typedef struct lp_sandbox lp_sandbox;

/* A sandbox for spec (copied; spec->arg stays borrowed). Starts its spawner
 * thread, no child yet. NULL with err set when the thread cannot start. */
lp_sandbox *lp_sandbox_new(const lp_sandbox_spec *spec, lp_error *err);

/* Sends req (req_len bytes, borrowed) to the child, starting one if there is
 * none, and waits for the reply until deadline_ms (lp_now_mono_ms() time).
 * Returns 0 when the request ran, however it ended (see out; free it with
 * lp_sandbox_result_free), or -1 with err set when it could not be run: the
 * request is too long, a child cannot be started (socketpair, fork), or the
 * child broke the wire format (it is killed then). */
int lp_sandbox_call(lp_sandbox *sb, const void *req, size_t req_len, int64_t deadline_ms, lp_sandbox_result *out,
                    lp_error *err);

/* The pid of the current child, 0 when none is running (waits for a call
 * in progress to end). */
pid_t lp_sandbox_pid(lp_sandbox *sb);

/* Kills and reaps the child, stops the spawner thread, frees sb. NULL: no-op. */
void lp_sandbox_free(lp_sandbox *sb);

void lp_sandbox_result_free(lp_sandbox_result *r);

#endif
