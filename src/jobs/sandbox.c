/* Child processes with resource limits for untrusted decoding. See sandbox.h. */
#define _GNU_SOURCE /* pipe2 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loupe/core/buf.h"
#include "loupe/core/util.h"

static void child_limits(const lp_sandbox_limits *lim, pid_t parent)
{
    struct rlimit rl;
    /* Die with the worker: an orphaned decoder would run on unsupervised. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(124);
    /* A crash must end the child, whatever handlers the parent installed. */
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGXCPU, SIGTERM};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        signal(fatal[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    rl.rlim_cur = rl.rlim_max = 0;
    setrlimit(RLIMIT_CORE, &rl);
    if (lim->memory_bytes > 0 && !LP_SANDBOX_NO_AS_LIMIT) {
        rl.rlim_cur = rl.rlim_max = (rlim_t)lim->memory_bytes;
        setrlimit(RLIMIT_AS, &rl);
    }
    if (lim->cpu_seconds > 0) {
        rl.rlim_cur = (rlim_t)lim->cpu_seconds;
        rl.rlim_max = (rlim_t)lim->cpu_seconds + 5; /* SIGXCPU first, SIGKILL 5 s later */
        setrlimit(RLIMIT_CPU, &rl);
    }
}

/* Reaps pid, waiting at most until deadline (then kills it). */
static int reap(pid_t pid, int64_t deadline, int *status, int *killed)
{
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid)
            return 0;
        if (w < 0 && errno != EINTR)
            return -1;
        if (!*killed && lp_now_mono_ms() >= deadline) {
            kill(pid, SIGKILL);
            *killed = 1;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int lp_sandbox_run(lp_sandbox_fn fn, void *arg, const lp_sandbox_limits *limits, lp_sandbox_result *out,
                   lp_error *err)
{
    int fds[2] = {-1, -1};
    int status = 0, killed = 0, too_much = 0, rc = -1;
    int64_t start = lp_now_mono_ms();
    pid_t parent = getpid(), pid;
    lp_buf buf;

    memset(out, 0, sizeof *out);
    lp_buf_init(&buf, LP_SANDBOX_OUTPUT_MAX);
    if (pipe2(fds, O_CLOEXEC) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "cannot create a pipe for the decoding process: %s",
                            strerror(errno));
    pid = fork();
    if (pid < 0) {
        lp_error_set(err, LP_E_UNAVAILABLE, "cannot start a decoding process: %s", strerror(errno));
        goto cleanup;
    }
    if (pid == 0) {
        close(fds[0]);
        child_limits(limits, parent);
        int code = fn(arg, fds[1]);
        close(fds[1]);
        _exit(code < 0 || code > 125 ? 125 : code);
    }
    close(fds[1]);
    fds[1] = -1;

    /* Collect the output until the child closes its end or the deadline. */
    for (;;) {
        int64_t left = limits->deadline_ms - lp_now_mono_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int n = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        char chunk[16384];
        ssize_t got = read(fds[0], chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (!too_much && lp_buf_append(&buf, chunk, (size_t)got) != 0)
            too_much = 1;
    }
    if (reap(pid, limits->deadline_ms, &status, &killed) != 0) {
        lp_error_set(err, LP_E_INTERNAL, "cannot wait for the decoding process: %s", strerror(errno));
        goto cleanup;
    }
    if (too_much) {
        lp_error_set(err, LP_E_INTERNAL, "the decoding process wrote more than %d bytes of results",
                     LP_SANDBOX_OUTPUT_MAX);
        goto cleanup;
    }
    out->elapsed_ms = lp_now_mono_ms() - start;
    if (killed) {
        out->end = LP_SANDBOX_TIMED_OUT;
        out->status = SIGKILL;
    } else if (WIFSIGNALED(status)) {
        out->end = LP_SANDBOX_SIGNALED;
        out->status = WTERMSIG(status);
    } else {
        out->end = LP_SANDBOX_EXITED;
        out->status = WEXITSTATUS(status);
    }
    if (buf.len == 0) {
        out->output = calloc(1, 1);
        out->output_len = 0;
    } else {
        out->output = lp_buf_steal(&buf, &out->output_len);
    }
    if (!out->output) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    lp_buf_free(&buf);
    return rc;
}

void lp_sandbox_result_free(lp_sandbox_result *r)
{
    if (!r)
        return;
    free(r->output);
    r->output = NULL;
    r->output_len = 0;
}
