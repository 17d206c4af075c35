/* The confined launcher of dcm2niix (loupe/jobs/dcm2niix.h). */
#define _GNU_SOURCE /* close_range, unshare */
#include "loupe/jobs/dcm2niix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loupe/core/landlock.h"
#include "loupe/core/util.h"

#if defined(__x86_64__)
#define LP_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define LP_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "dcm2niix.c: add the audit architecture of this machine"
#endif

#define DENY(nr, errno_)                                                                                          \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (errno_))

/* Everything is allowed but the network, tracing and a second exec by descriptor. */
static struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, LP_AUDIT_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    DENY(__NR_socket, EACCES),
    DENY(__NR_socketpair, EACCES),
    DENY(__NR_ptrace, EPERM),
    DENY(__NR_execveat, EPERM),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

int lp_dcm2niix_find(const char *name, char *out, size_t cap, lp_error *err)
{
    static const char *const dirs[] = {"/usr/local/bin", "/usr/bin", "/bin"};
    if (!name || !*name)
        return lp_error_field(err, LP_E_UNAVAILABLE, "dicom_converter", "is empty; name the dcm2niix executable");
    if (strchr(name, '/')) {
        if (access(name, X_OK) != 0 || strlen(name) >= cap)
            return lp_error_set(err, LP_E_UNAVAILABLE, "dicom_converter %s is not an executable file", name);
        lp_strlcpy(out, name, cap);
        return 0;
    }
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        if (snprintf(out, cap, "%s/%s", dirs[i], name) < (int)cap && access(out, X_OK) == 0)
            return 0;
    }
    return lp_error_set(err, LP_E_UNAVAILABLE,
                        "the DICOM converter %s (dicom_converter) is not installed in /usr/local/bin, /usr/bin or "
                        "/bin; install dcm2niix",
                        name);
}

/* Writes "<id> <id> 1" into a /proc/self map file (no stdio: after fork). */
static void map_id(const char *file, unsigned id)
{
    char text[40], digits[12];
    int n = 0, len = 0;
    do {
        digits[n++] = (char)('0' + id % 10);
        id /= 10;
    } while (id);
    for (int rep = 0; rep < 2; rep++) {
        for (int i = n - 1; i >= 0; i--)
            text[len++] = digits[i];
        text[len++] = ' ';
    }
    text[len++] = '1';
    int fd = open(file, O_WRONLY);
    if (fd >= 0) {
        (void)!write(fd, text, (size_t)len);
        close(fd);
    }
}

/* A network namespace of its own: directly when privileged, else inside a
 * new user namespace mapping only our own ids. Nothing when the kernel
 * refuses both (the seccomp filter still refuses sockets). */
static void own_network(void)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWNET) == 0 || unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
        return;
    int fd = open("/proc/self/setgroups", O_WRONLY);
    if (fd >= 0) {
        (void)!write(fd, "deny", 4);
        close(fd);
    }
    map_id("/proc/self/uid_map", uid);
    map_id("/proc/self/gid_map", gid);
}

static void limit(int resource, rlim_t value)
{
    struct rlimit rl = {value, value};
    setrlimit(resource, &rl);
}

/* In the forked child: only async-signal-safe calls until exec. */
static void child_exec(const lp_dcm2niix_spec *s, char *const argv[], int log_fd, const lp_landlock *ll, pid_t parent,
                       rlim_t cpu_s)
{
    static char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
    struct sock_fprog prog = {.len = sizeof filter / sizeof *filter, .filter = filter};
    struct sigaction dfl;
    sigset_t none;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(124);
    setpgid(0, 0);
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) != 0 || dup2(log_fd, 1) != 1 || dup2(log_fd, 2) != 2)
        _exit(125);
    if (chdir(s->out_dir) != 0)
        _exit(125);
    own_network(); /* writes /proc/self's maps: before Landlock */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || lp_landlock_enter(ll) != 0)
        _exit(126);
    if (close_range(3, ~0U, 0) != 0) {
        for (int i = 3; i < 65536; i++)
            close(i);
    }
    limit(RLIMIT_CORE, 0);
    limit(RLIMIT_NOFILE, 64);
    limit(RLIMIT_CPU, cpu_s);
    if (s->file_bytes > 0)
        limit(RLIMIT_FSIZE, (rlim_t)s->file_bytes);
    if (s->memory_bytes > 0)
        limit(RLIMIT_AS, (rlim_t)s->memory_bytes);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        _exit(126);
    execve(s->program, argv, envp);
    _exit(127);
}

/* What the converter may touch: run its program and read the system's
 * programs and libraries (and the loader's cache), read its input
 * directory, and read, write, make and remove files in its output
 * directory; nothing else (another job's files, storage, configuration,
 * keys). */
static int files_ruleset(const lp_dcm2niix_spec *s, lp_landlock *ll, lp_error *err)
{
    static const char *const system_dirs[] = {"/usr", "/lib", "/lib64", "/bin", "/sbin"};
    const uint64_t run = LP_LANDLOCK_EXECUTE | LP_LANDLOCK_READ | LP_LANDLOCK_LIST;
    if (lp_landlock_new(ll, err) != 0)
        return -1;
    int rc = lp_landlock_allow_path(ll, s->program, LP_LANDLOCK_EXECUTE | LP_LANDLOCK_READ, err);
    for (size_t i = 0; rc == 0 && i < sizeof system_dirs / sizeof *system_dirs; i++)
        rc = lp_landlock_allow_path(ll, system_dirs[i], run, err);
    if (rc == 0)
        rc = lp_landlock_allow_path(ll, "/etc/ld.so.cache", LP_LANDLOCK_READ, err);
    if (rc == 0)
        rc = lp_landlock_allow_path(ll, s->in_dir, LP_LANDLOCK_READ | LP_LANDLOCK_LIST, err);
    if (rc == 0)
        rc = lp_landlock_allow_path(ll, s->out_dir,
                                    LP_LANDLOCK_READ | LP_LANDLOCK_LIST | LP_LANDLOCK_WRITE | LP_LANDLOCK_CREATE, err);
    if (rc != 0)
        lp_landlock_free(ll);
    return rc;
}

/* Waits for child pid to end, until deadline_ms: pid (its status in
 * *status), 0 at the deadline, or -1 (errno). Woken by its exit through a
 * pidfd where the kernel has them, else by polling (1 ms at first, then up
 * to 20 ms). */
static pid_t wait_until(pid_t pid, int *status, int64_t deadline_ms)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    pid_t got;
    for (long nap_us = 1000;;) {
        got = waitpid(pid, status, WNOHANG);
        if (got == pid || (got < 0 && errno != EINTR))
            break;
        int64_t left = deadline_ms - lp_now_mono_ms();
        if (left <= 0) {
            got = 0;
            break;
        }
        if (pfd >= 0) {
            struct pollfd p = {.fd = pfd, .events = POLLIN};
            (void)poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
            continue;
        }
        struct timespec ts = {0, nap_us * 1000};
        nanosleep(&ts, NULL);
        if (nap_us < 20000)
            nap_us *= 2;
    }
    if (pfd >= 0)
        close(pfd);
    return got;
}

int lp_dcm2niix_run(const lp_dcm2niix_spec *s, lp_dcm2niix_result *out, lp_error *err)
{
    /* -z n: an uncompressed .nii (Loupe compresses what it keeps); -b n: no
     * sidecar; -i n -m 2: every slice of the one series; -x n: no cropping. */
    char *const argv[] = {(char *)s->program, "-z", "n", "-b", "n", "-f", "volume", "-o", (char *)s->out_dir,
                          "-w", "1", "-x", "n", "-v", "0", (char *)s->in_dir, NULL};
    int64_t start = lp_now_mono_ms(), left = s->deadline_ms - start;
    rlim_t cpu_s = (rlim_t)(left > 0 ? left / 1000 + 1 : 1);
    int status = 0, log_fd;
    pid_t parent = getpid(), pid, got;

    memset(out, 0, sizeof *out);
    if (left <= 0)
        return lp_error_set(err, LP_E_TIMEOUT, "no time is left to convert the series");
    lp_landlock ll;
    if (files_ruleset(s, &ll, err) != 0)
        return -1;
    log_fd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        lp_landlock_free(&ll);
        return lp_error_set(err, LP_E_IO, "cannot create %s: %s", s->log_path, strerror(errno));
    }
    pid = fork();
    if (pid == 0)
        child_exec(s, argv, log_fd, &ll, parent, cpu_s);
    close(log_fd);
    lp_landlock_free(&ll);
    if (pid < 0)
        return lp_error_set(err, LP_E_UNAVAILABLE, "cannot start dcm2niix: %s", strerror(errno));
    got = wait_until(pid, &status, s->deadline_ms);
    if (got == 0) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        out->end = LP_DCM2NIIX_TIMED_OUT;
        out->elapsed_ms = lp_now_mono_ms() - start;
        return 0;
    }
    kill(-pid, SIGKILL); /* anything it left behind in its group */
    out->elapsed_ms = lp_now_mono_ms() - start;
    if (got < 0)
        return lp_error_set(err, LP_E_INTERNAL, "cannot wait for dcm2niix: %s", strerror(errno));
    if (WIFSIGNALED(status)) {
        out->end = LP_DCM2NIIX_SIGNALED;
        out->status = WTERMSIG(status);
    } else {
        out->end = LP_DCM2NIIX_EXITED;
        out->status = WEXITSTATUS(status);
    }
    return 0;
}
