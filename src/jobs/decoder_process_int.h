/* One loupe-decoder process at a time, started with exec and replaced as
 * needed: the mechanics under an lp_decoder pool (loupe/jobs/decoder.h).
 *
 * The process starts on the first lp_decoder_process_call. Between fork and
 * exec the child (async-signal-safe calls only) asks to be killed when its
 * parent dies (PR_SET_PDEATHSIG) and checks that the parent is still the
 * one that forked it, sets RLIMIT_AS (memory_bytes) and RLIMIT_CORE (0),
 * resets signal handling, keeps exactly four descriptors — 0 its request
 * pipe, 1 its reply pipe, 2 stderr, 3 the work directory (O_PATH) — and
 * execs the program with an empty environment and argv {program}.
 *
 * The caller waits for the reply until the request's deadline. A process
 * that passes it is killed (SIGKILL) and reaped; one that dies mid-request
 * (a crash, an abort under RLIMIT_AS, SIGSYS from its seccomp filter) is
 * reaped and reported; either way the next request starts a fresh process.
 * A process that died between requests is replaced before the next request
 * is sent: a request is only blamed for a death it could have caused. A
 * process is also replaced after max_requests requests, or once its
 * resident set passes max_rss_bytes after a reply; that successor is
 * started right away (it starts up while the caller works, so the next
 * request does not wait for it).
 *
 * CPU time: there is no RLIMIT_CPU (it is cumulative per process, so it
 * cannot bound one request of a long-lived process); the wall-clock
 * deadline does.
 *
 * Wire format: a request is a 4-byte length (host order, at most
 * LP_DECODER_REQUEST_MAX) and that many bytes; a reply is a 4-byte length
 * (at most LP_DECODER_REPLY_MAX), a 4-byte status and that many bytes. A
 * reply that breaks these bounds kills the process.
 *
 * DESIGN (threads and processes): each process manager owns one spawner
 * thread that forks every child, since PR_SET_PDEATHSIG fires when the
 * *thread* that forked a process ends: children forked by a job or HTTP
 * thread would die with it. One call runs at a time (a second caller waits);
 * every function here is thread-safe. */
#ifndef LOUPE_JOBS_DECODER_PROCESS_INT_H
#define LOUPE_JOBS_DECODER_PROCESS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loupe/core/error.h"
#include "loupe/jobs/decoder.h"

/* AddressSanitizer reserves terabytes of shadow address space before main,
 * so an address-space limit would fail every allocation: sanitizer builds
 * (tests only) run decoders without RLIMIT_AS. */
#define LP_DECODER_NO_AS_LIMIT LP_DECODER_ASAN

typedef struct lp_decoder_process lp_decoder_process;

/* A manager for spec's program (spec and its strings are copied; processes
 * is ignored). Starts its spawner thread, no process yet. NULL with err set
 * when the thread cannot start or the work directory cannot be opened. */
lp_decoder_process *lp_decoder_process_new(const lp_decoder_spec *spec, lp_error *err);

/* Starts the process now if none runs (see lp_decoder_start). */
int lp_decoder_process_start(lp_decoder_process *p, lp_error *err);

/* See lp_decoder_call. */
int lp_decoder_process_call(lp_decoder_process *p, const void *req, size_t req_len, int64_t deadline_ms,
                            lp_decoder_result *out, lp_error *err);

/* The pid of the current process, 0 when none is running (waits for a call
 * in progress to end). */
pid_t lp_decoder_process_pid(lp_decoder_process *p);

/* Kills and reaps the process, stops the spawner thread, frees p. NULL: no-op. */
void lp_decoder_process_free(lp_decoder_process *p);

#endif
