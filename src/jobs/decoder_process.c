/* One loupe-decoder process at a time, started with exec and replaced as
 * needed. See decoder_process_int.h. */
#define _GNU_SOURCE /* close_range */
#include "decoder_process_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loupe/core/log.h"
#include "loupe/core/util.h"

/* The descriptors the decoder starts with (src/decoder/decoder_int.h). */
#define CHILD_SOCKET_IN 0
#define CHILD_SOCKET_OUT 1
#define CHILD_DIR_FD 3
#define CHILD_SCRATCH_FD 4

enum { SPAWN_IDLE = 0, SPAWN_WANTED, SPAWN_STOP };

struct lp_decoder_process {
    lp_decoder_spec spec;
    char *program;      /* spec.program, owned */
    int dir_fd;         /* the work directory, O_PATH */
    int scratch_fd;     /* the scratch directory (or the work directory again), O_PATH */
    pthread_mutex_t mu; /* one call at a time; guards pid, fd, served */
    pid_t pid;          /* the serving child, 0 when none */
    int fd;             /* our end of its socket, -1 when none */
    int served;         /* requests the child has answered */

    /* The spawner thread that forks children (see decoder_process_int.h, DESIGN). */
    pthread_t spawner;
    pthread_mutex_t spawn_mu; /* guards the members below */
    pthread_cond_t spawn_cond;
    int spawn_state;          /* SPAWN_* */
    int spawn_done;
    pid_t spawn_pid;
    int spawn_fd;
    int spawn_errno;
};

/* ---- Starting children --------------------------------------------------- */

/* In the forked child: only async-signal-safe calls until exec. */
static void child_exec(const lp_decoder_process *sb, int sock, pid_t parent)
{
    static char *const envp[] = {NULL};
    char *const argv[] = {sb->program, NULL};
    struct rlimit rl;
    struct sigaction dfl;
    sigset_t none;

    /* Die with the parent: an orphaned decoder would run on unsupervised. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(124);
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL); /* fails harmlessly for SIGKILL, SIGSTOP and the reserved ones */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    /* 0 and 1 the socket, 2 stderr, 3 the work directory, 4 the scratch
     * directory; nothing else. */
    int dir = fcntl(sb->dir_fd, F_DUPFD_CLOEXEC, 10), s = fcntl(sock, F_DUPFD_CLOEXEC, 10);
    int scratch = fcntl(sb->scratch_fd, F_DUPFD_CLOEXEC, 10);
    if (dir < 0 || s < 0 || scratch < 0 || dup2(s, CHILD_SOCKET_IN) != CHILD_SOCKET_IN ||
        dup2(s, CHILD_SOCKET_OUT) != CHILD_SOCKET_OUT || dup2(dir, CHILD_DIR_FD) != CHILD_DIR_FD ||
        dup2(scratch, CHILD_SCRATCH_FD) != CHILD_SCRATCH_FD)
        _exit(125);
    if (close_range(CHILD_SCRATCH_FD + 1, ~0U, 0) != 0) {
        for (int i = CHILD_SCRATCH_FD + 1; i < 65536; i++)
            close(i);
    }

    rl.rlim_cur = rl.rlim_max = 0;
    setrlimit(RLIMIT_CORE, &rl);
    if (sb->spec.memory_bytes > 0 && !LP_DECODER_NO_AS_LIMIT) {
        rl.rlim_cur = rl.rlim_max = (rlim_t)sb->spec.memory_bytes;
        setrlimit(RLIMIT_AS, &rl);
    }
    execve(sb->program, argv, envp);
    _exit(127);
}

static void spawn_now(lp_decoder_process *sb, pid_t *pid_out, int *fd_out, int *errno_out)
{
    int sv[2];
    pid_t parent = getpid();
    *pid_out = -1;
    *fd_out = -1;
    *errno_out = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        *errno_out = errno;
        return;
    }
    pid_t pid = fork();
    if (pid == 0)
        child_exec(sb, sv[1], parent);
    if (pid < 0)
        *errno_out = errno;
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return;
    }
    *pid_out = pid;
    *fd_out = sv[0];
}

static void *spawner_main(void *arg)
{
    lp_decoder_process *sb = arg;
    pthread_mutex_lock(&sb->spawn_mu);
    for (;;) {
        while (sb->spawn_state == SPAWN_IDLE)
            pthread_cond_wait(&sb->spawn_cond, &sb->spawn_mu);
        if (sb->spawn_state == SPAWN_STOP)
            break;
        pthread_mutex_unlock(&sb->spawn_mu);
        pid_t pid;
        int fd, e;
        spawn_now(sb, &pid, &fd, &e);
        pthread_mutex_lock(&sb->spawn_mu);
        sb->spawn_pid = pid;
        sb->spawn_fd = fd;
        sb->spawn_errno = e;
        sb->spawn_done = 1;
        if (sb->spawn_state == SPAWN_WANTED)
            sb->spawn_state = SPAWN_IDLE;
        pthread_cond_broadcast(&sb->spawn_cond);
    }
    pthread_mutex_unlock(&sb->spawn_mu);
    return NULL;
}

/* Has the spawner thread fork a child; called with sb->mu held. */
static int spawn(lp_decoder_process *sb, lp_error *err)
{
    pthread_mutex_lock(&sb->spawn_mu);
    sb->spawn_done = 0;
    sb->spawn_state = SPAWN_WANTED;
    pthread_cond_broadcast(&sb->spawn_cond);
    while (!sb->spawn_done)
        pthread_cond_wait(&sb->spawn_cond, &sb->spawn_mu);
    pid_t pid = sb->spawn_pid;
    int fd = sb->spawn_fd, e = sb->spawn_errno;
    pthread_mutex_unlock(&sb->spawn_mu);
    if (pid < 0)
        return lp_error_set(err, LP_E_UNAVAILABLE, "cannot start a decoding process: %s", strerror(e));
    sb->pid = pid;
    sb->fd = fd;
    sb->served = 0;
    LP_DEBUG("decoder", "decoding process %d started", (int)pid);
    return 0;
}

/* ---- Ending children ----------------------------------------------------- */

static void wait_for(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

/* Kills and reaps the child, if any; the next call starts a new one. */
static void retire(lp_decoder_process *sb)
{
    int status;
    if (sb->pid > 0) {
        kill(sb->pid, SIGKILL);
        wait_for(sb->pid, &status);
    }
    if (sb->fd >= 0)
        close(sb->fd);
    sb->pid = 0;
    sb->fd = -1;
    sb->served = 0;
}

/* Retires a healthy child that has served its time and starts its
 * successor at once, so that it starts up while the caller does other work
 * and the next request finds it ready. A failure to start is left to the
 * next request (send_request starts one when none runs). */
static void replace_now(lp_decoder_process *sb)
{
    lp_error ignored;
    retire(sb);
    lp_error_clear(&ignored);
    if (spawn(sb, &ignored) != 0)
        LP_DEBUG("decoder", "%s; the next request tries again", ignored.message);
}

/* The child has closed its socket (it is ending): reaps it, killing it
 * once deadline passes. Sets out->end and out->status. */
static void reap_ended(lp_decoder_process *sb, int64_t deadline, lp_decoder_result *out)
{
    int status = 0, killed = 0;
    for (;;) {
        pid_t w = waitpid(sb->pid, &status, WNOHANG);
        if (w == sb->pid || (w < 0 && errno != EINTR))
            break;
        if (!killed && lp_now_mono_ms() >= deadline) {
            kill(sb->pid, SIGKILL);
            killed = 1;
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (killed) {
        out->end = LP_DECODER_TIMED_OUT;
        out->status = SIGKILL;
    } else if (WIFSIGNALED(status)) {
        out->end = LP_DECODER_SIGNALED;
        out->status = WTERMSIG(status);
    } else {
        out->end = LP_DECODER_EXITED;
        out->status = WEXITSTATUS(status);
    }
    close(sb->fd);
    sb->pid = 0;
    sb->fd = -1;
    sb->served = 0;
}

/* 1 if the child ended while it was idle (it is reaped then). */
static int ended_while_idle(lp_decoder_process *sb)
{
    int status;
    if (sb->pid <= 0 || waitpid(sb->pid, &status, WNOHANG) != sb->pid)
        return 0;
    LP_WARN("decoder", "decoding process %d ended between jobs (%s %d); starting a new one", (int)sb->pid,
            WIFSIGNALED(status) ? "signal" : "exit status", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    close(sb->fd);
    sb->pid = 0;
    sb->fd = -1;
    sb->served = 0;
    return 1;
}

static int64_t resident_bytes(pid_t pid)
{
    char path[64];
    long long size = 0, resident = 0;
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    if (fscanf(f, "%lld %lld", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

/* ---- Talking to the child ------------------------------------------------ */

enum { IO_OK = 1, IO_EOF = 0, IO_ERROR = -1, IO_TIMEOUT = -2 };

/* Waits until fd is ready for events or deadline passes. */
static int wait_ready(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - lp_now_mono_ms();
        if (left <= 0)
            return IO_TIMEOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (n > 0)
            return IO_OK;
        if (n < 0 && errno != EINTR)
            return IO_ERROR;
    }
}

static int send_by(int fd, const void *p, size_t n, int64_t deadline)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            c += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_ready(fd, POLLOUT, deadline);
            if (r != IO_OK)
                return r;
        } else if (!(w < 0 && errno == EINTR)) {
            return IO_ERROR;
        }
    }
    return IO_OK;
}

/* Reads exactly n bytes: IO_OK, IO_EOF (the child closed or reset its end),
 * IO_TIMEOUT or IO_ERROR. */
static int recv_by(int fd, void *p, size_t n, int64_t deadline)
{
    char *c = p;
    while (n > 0) {
        ssize_t got = recv(fd, c, n, MSG_DONTWAIT);
        if (got > 0) {
            c += got;
            n -= (size_t)got;
        } else if (got == 0 || (got < 0 && errno == ECONNRESET)) {
            return IO_EOF;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int r = wait_ready(fd, POLLIN, deadline);
            if (r != IO_OK)
                return r;
        } else if (errno != EINTR) {
            return IO_ERROR;
        }
    }
    return IO_OK;
}

/* Sends the request, replacing a child that is gone before it could read
 * it (once). IO_OK, IO_TIMEOUT, or -1 with err. */
static int send_request(lp_decoder_process *sb, const void *req, size_t len, int64_t deadline, lp_error *err)
{
    uint32_t head = (uint32_t)len;
    for (int tries = 0;; tries++) {
        ended_while_idle(sb);
        if (sb->pid == 0 && spawn(sb, err) != 0)
            return -1;
        int r = send_by(sb->fd, &head, sizeof head, deadline);
        if (r == IO_OK)
            r = send_by(sb->fd, req, len, deadline);
        if (r == IO_OK || r == IO_TIMEOUT)
            return r;
        int e = errno;
        retire(sb);
        if (tries > 0)
            return lp_error_set(err, LP_E_INTERNAL, "cannot send a request to the decoding process: %s",
                                strerror(e));
    }
}

static int call_locked(lp_decoder_process *sb, const void *req, size_t req_len, int64_t deadline,
                       lp_decoder_result *out, lp_error *err)
{
    uint32_t head[2];
    int r = send_request(sb, req, req_len, deadline, err);
    if (r < 0)
        return -1;
    out->pid = sb->pid;
    if (r == IO_OK)
        r = recv_by(sb->fd, head, sizeof head, deadline);
    if (r == IO_OK) {
        if (head[0] > LP_DECODER_REPLY_MAX) {
            retire(sb);
            return lp_error_set(err, LP_E_INTERNAL, "the decoding process wrote more than %d bytes of results",
                                LP_DECODER_REPLY_MAX);
        }
        if (!(out->output = malloc((size_t)head[0] + 1))) {
            retire(sb);
            return lp_error_set(err, LP_E_NOMEM, "out of memory");
        }
        r = recv_by(sb->fd, out->output, head[0], deadline);
    }
    switch (r) {
    case IO_OK:
        out->end = LP_DECODER_REPLIED;
        out->status = (int)head[1];
        out->output_len = head[0];
        out->output[head[0]] = '\0';
        sb->served++;
        if (sb->spec.max_requests > 0 && sb->served >= sb->spec.max_requests) {
            LP_DEBUG("decoder", "decoding process %d served %d requests; replacing it", (int)sb->pid, sb->served);
            replace_now(sb);
        } else if (sb->spec.max_rss_bytes > 0 && resident_bytes(sb->pid) > sb->spec.max_rss_bytes) {
            LP_DEBUG("decoder", "decoding process %d holds more than %lld bytes; replacing it", (int)sb->pid,
                     (long long)sb->spec.max_rss_bytes);
            replace_now(sb);
        }
        return 0;
    case IO_TIMEOUT:
        retire(sb);
        out->end = LP_DECODER_TIMED_OUT;
        out->status = SIGKILL;
        break;
    case IO_EOF:
        reap_ended(sb, deadline, out);
        break;
    default: {
        int e = errno;
        retire(sb);
        return lp_error_set(err, LP_E_INTERNAL, "cannot read from the decoding process: %s", strerror(e));
    }
    }
    /* The child ended mid-request: whatever it sent of a reply is dropped. */
    free(out->output);
    out->output = calloc(1, 1);
    out->output_len = 0;
    if (!out->output)
        return lp_error_set(err, LP_E_NOMEM, "out of memory");
    return 0;
}

/* Frees what lp_decoder_process_new made (no thread, no child left). */
static void destroy(lp_decoder_process *sb)
{
    pthread_cond_destroy(&sb->spawn_cond);
    pthread_mutex_destroy(&sb->spawn_mu);
    pthread_mutex_destroy(&sb->mu);
    close(sb->dir_fd);
    close(sb->scratch_fd);
    free(sb->program);
    free(sb);
}

/* ---- Public functions ------------------------------------------------------ */

lp_decoder_process *lp_decoder_process_new(const lp_decoder_spec *spec, lp_error *err)
{
    lp_decoder_process *sb = calloc(1, sizeof *sb);
    pthread_attr_t attr;
    sigset_t all, old;
    int rc;

    if (!sb) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    sb->spec = *spec;
    sb->fd = -1;
    sb->program = strdup(spec->program ? spec->program : "");
    sb->spec.program = sb->program;
    sb->spec.work_dir = NULL;
    sb->spec.scratch_dir = NULL;
    sb->dir_fd = open(spec->work_dir ? spec->work_dir : "", O_PATH | O_DIRECTORY | O_CLOEXEC);
    sb->scratch_fd = sb->dir_fd < 0       ? -1
                     : spec->scratch_dir ? open(spec->scratch_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)
                                         : fcntl(sb->dir_fd, F_DUPFD_CLOEXEC, 0);
    if (!sb->program || sb->dir_fd < 0 || sb->scratch_fd < 0) {
        lp_error_set(err, sb->program ? LP_E_IO : LP_E_NOMEM, "cannot open the decoder's %s directory %s: %s",
                     sb->dir_fd < 0 ? "work" : "scratch",
                     sb->dir_fd < 0    ? (spec->work_dir ? spec->work_dir : "(none)")
                     : spec->scratch_dir ? spec->scratch_dir
                                         : "(the work directory)",
                     strerror(errno));
        if (sb->dir_fd >= 0)
            close(sb->dir_fd);
        if (sb->scratch_fd >= 0)
            close(sb->scratch_fd);
        free(sb->program);
        free(sb);
        return NULL;
    }
    pthread_mutex_init(&sb->mu, NULL);
    pthread_mutex_init(&sb->spawn_mu, NULL);
    pthread_cond_init(&sb->spawn_cond, NULL);
    /* Signals are for other threads. */
    pthread_attr_init(&attr);
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&sb->spawner, &attr, spawner_main, sb);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        lp_error_set(err, LP_E_UNAVAILABLE, "cannot start the thread that starts decoding processes: %s",
                     strerror(rc));
        destroy(sb);
        return NULL;
    }
    return sb;
}

int lp_decoder_process_call(lp_decoder_process *sb, const void *req, size_t req_len, int64_t deadline_ms,
                            lp_decoder_result *out, lp_error *err)
{
    int64_t start = lp_now_mono_ms();
    memset(out, 0, sizeof *out);
    if (req_len > LP_DECODER_REQUEST_MAX)
        return lp_error_set(err, LP_E_INTERNAL, "a request to the decoding process is %zu bytes; the limit is %d",
                            req_len, LP_DECODER_REQUEST_MAX);
    pthread_mutex_lock(&sb->mu);
    int rc = call_locked(sb, req, req_len, deadline_ms, out, err);
    pthread_mutex_unlock(&sb->mu);
    if (rc != 0)
        lp_decoder_result_free(out);
    out->elapsed_ms = lp_now_mono_ms() - start;
    return rc;
}

int lp_decoder_process_start(lp_decoder_process *sb, lp_error *err)
{
    pthread_mutex_lock(&sb->mu);
    int rc = sb->pid > 0 ? 0 : spawn(sb, err);
    pthread_mutex_unlock(&sb->mu);
    return rc;
}

pid_t lp_decoder_process_pid(lp_decoder_process *sb)
{
    pthread_mutex_lock(&sb->mu);
    pid_t pid = sb->pid;
    pthread_mutex_unlock(&sb->mu);
    return pid;
}

void lp_decoder_process_free(lp_decoder_process *sb)
{
    if (!sb)
        return;
    pthread_mutex_lock(&sb->mu);
    retire(sb);
    pthread_mutex_unlock(&sb->mu);
    pthread_mutex_lock(&sb->spawn_mu);
    sb->spawn_state = SPAWN_STOP;
    pthread_cond_broadcast(&sb->spawn_cond);
    pthread_mutex_unlock(&sb->spawn_mu);
    pthread_join(sb->spawner, NULL);
    destroy(sb);
}

void lp_decoder_result_free(lp_decoder_result *r)
{
    if (!r)
        return;
    free(r->output);
    r->output = NULL;
    r->output_len = 0;
}
