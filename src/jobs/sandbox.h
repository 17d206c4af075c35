/* Running untrusted decoding in a child process with resource limits.
 *
 * lp_sandbox_run forks; the child sets RLIMIT_AS (address space), RLIMIT_CPU
 * and RLIMIT_CORE (0), asks to be killed when its parent dies, runs fn and
 * _exits with its return value. What fn writes to out_fd (at most
 * LP_SANDBOX_OUTPUT_MAX bytes) comes back to the parent. The parent kills
 * the child (SIGKILL) once the wall-clock deadline passes. So a file that
 * crashes, exhausts or hangs a decoder costs one child process, never the
 * worker.
 *
 * The child is a fork of a threaded process: fn may call libraries that
 * start after the fork (libvips, FFmpeg), but must not rely on anything
 * another parent thread may have held at fork time. The parent must not
 * have started libvips itself. */
#ifndef LOUPE_JOBS_SANDBOX_H
#define LOUPE_JOBS_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"

#define LP_SANDBOX_OUTPUT_MAX (1024 * 1024)

/* AddressSanitizer reserves terabytes of shadow address space before main,
 * so an address-space limit would fail every allocation: sanitizer builds
 * (tests only) run children without RLIMIT_AS. */
#if defined(__SANITIZE_ADDRESS__)
#define LP_SANDBOX_NO_AS_LIMIT 1
#else
#define LP_SANDBOX_NO_AS_LIMIT 0
#endif

typedef struct lp_sandbox_limits {
    int64_t memory_bytes;  /* RLIMIT_AS; 0 = none */
    int64_t deadline_ms;   /* lp_now_mono_ms() time at which the child is killed */
    int64_t cpu_seconds;   /* RLIMIT_CPU soft limit (SIGXCPU); 0 = none */
} lp_sandbox_limits;

typedef enum lp_sandbox_end {
    LP_SANDBOX_EXITED = 0, /* exit status in status */
    LP_SANDBOX_SIGNALED,   /* killed by signal number status (not by us) */
    LP_SANDBOX_TIMED_OUT   /* the deadline passed; we killed it */
} lp_sandbox_end;

typedef struct lp_sandbox_result {
    lp_sandbox_end end;
    int status;            /* exit status or signal number */
    char *output;          /* what the child wrote (malloc'ed, NUL-terminated; free()) */
    size_t output_len;
    int64_t elapsed_ms;
} lp_sandbox_result;

/* The child's body: returns its exit status (0..125). */
typedef int (*lp_sandbox_fn)(void *arg, int out_fd);

/* Runs fn(arg, out_fd) in a child under limits and waits for it. Returns 0
 * when the child ran (however it ended: see out), or -1 with err set when it
 * could not be started (fork, pipe) or the output passed its maximum. */
int lp_sandbox_run(lp_sandbox_fn fn, void *arg, const lp_sandbox_limits *limits, lp_sandbox_result *out,
                   lp_error *err);

void lp_sandbox_result_free(lp_sandbox_result *r);

#endif
