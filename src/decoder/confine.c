/* The decoder's confinement: no new privileges, Landlock (file access only
 * beneath the work and scratch directories) and a seccomp allow-list. See decoder_int.h
 * and README.md.
 *
 * The allow-list is what libvips, FFmpeg, glib and glibc need to decode,
 * encode and write files on threads, found by running the media tests with
 * every other system call trapped. Everything not listed stops the process
 * with SIGSYS (after a line on stderr naming the call), except:
 *   socket, socketpair           fail with EACCES (nothing to talk to)
 *   execve, execveat             kill the process at once
 *   clone without CLONE_THREAD   fails with EPERM (threads yes, processes no)
 *   clone3                       fails with ENOSYS (its flags are behind a
 *                                pointer; glibc then falls back to clone)
 *   prctl                        only PR_SET_NAME / PR_GET_NAME (thread names)
 *   ioctl                        fails with ENOTTY (isatty and friends)
 * The filter is checked against the architecture it was built for; a system
 * call of another ABI (x32, i386 on x86-64) kills the process. */
#define _GNU_SOURCE
#include "decoder_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "loupe/core/landlock.h"

#if defined(__x86_64__)
#define LP_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define LP_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "loupe-decoder's seccomp filter knows x86-64 and aarch64 only"
#endif

/* ---- seccomp --------------------------------------------------------------- */

#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define ANSWER(nr, errno_) \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (errno_))
#define KILL(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)
/* The low 32 bits of argument i (little-endian). */
#define LOAD_ARG(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]))
#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))

static const struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, LP_AUDIT_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    LOAD_NR,
#if defined(__x86_64__)
    /* x32 system calls share the architecture but set this bit. */
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
    /* Threads, but no processes. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4),
    LOAD_ARG(0),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    /* Thread names only. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, 6),
    LOAD_ARG(0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_NAME, 2, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_GET_NAME, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    LOAD_NR,
    KILL(__NR_execve),
    KILL(__NR_execveat),
    ANSWER(__NR_socket, EACCES),
    ANSWER(__NR_socketpair, EACCES),
    ANSWER(__NR_clone3, ENOSYS),
    ANSWER(__NR_ioctl, ENOTTY),
    /* Files (Landlock decides which). */
    ALLOW(__NR_read), ALLOW(__NR_write), ALLOW(__NR_readv), ALLOW(__NR_writev), ALLOW(__NR_pread64),
    ALLOW(__NR_pwrite64), ALLOW(__NR_lseek), ALLOW(__NR_close), ALLOW(__NR_openat), ALLOW(__NR_fstat),
    ALLOW(__NR_newfstatat), ALLOW(__NR_statx), ALLOW(__NR_faccessat), ALLOW(__NR_faccessat2),
    ALLOW(__NR_fcntl), ALLOW(__NR_dup), ALLOW(__NR_dup3), ALLOW(__NR_ftruncate), ALLOW(__NR_fallocate),
    ALLOW(__NR_fsync), ALLOW(__NR_fdatasync), ALLOW(__NR_unlinkat), ALLOW(__NR_renameat), ALLOW(__NR_renameat2),
    ALLOW(__NR_mkdirat), ALLOW(__NR_getdents64), ALLOW(__NR_readlinkat), ALLOW(__NR_getcwd),
    ALLOW(__NR_fadvise64),
#if defined(__x86_64__)
    ALLOW(__NR_open), ALLOW(__NR_stat), ALLOW(__NR_lstat), ALLOW(__NR_access), ALLOW(__NR_unlink),
    ALLOW(__NR_rename), ALLOW(__NR_mkdir), ALLOW(__NR_readlink), ALLOW(__NR_dup2), ALLOW(__NR_poll),
#endif
    /* Memory. */
    ALLOW(__NR_mmap), ALLOW(__NR_munmap), ALLOW(__NR_mprotect), ALLOW(__NR_mremap), ALLOW(__NR_madvise),
    ALLOW(__NR_brk), ALLOW(__NR_mincore),
    /* Threads and their synchronisation. */
    ALLOW(__NR_futex), ALLOW(__NR_set_robust_list), ALLOW(__NR_get_robust_list), ALLOW(__NR_rseq),
    ALLOW(__NR_set_tid_address), ALLOW(__NR_gettid), ALLOW(__NR_getpid), ALLOW(__NR_getppid),
    ALLOW(__NR_sched_yield), ALLOW(__NR_sched_getaffinity), ALLOW(__NR_membarrier), ALLOW(__NR_eventfd2),
    ALLOW(__NR_pipe2), ALLOW(__NR_ppoll), ALLOW(__NR_pselect6),
    /* Signals: its own (abort() raises SIGABRT on itself). */
    ALLOW(__NR_rt_sigaction), ALLOW(__NR_rt_sigprocmask), ALLOW(__NR_rt_sigreturn), ALLOW(__NR_sigaltstack),
    ALLOW(__NR_tgkill),
    /* Time, identity, limits, randomness. */
    ALLOW(__NR_clock_gettime), ALLOW(__NR_clock_getres), ALLOW(__NR_clock_nanosleep), ALLOW(__NR_nanosleep),
    ALLOW(__NR_gettimeofday), ALLOW(__NR_getrandom), ALLOW(__NR_getuid), ALLOW(__NR_geteuid),
    ALLOW(__NR_getgid), ALLOW(__NR_getegid), ALLOW(__NR_getrusage), ALLOW(__NR_prlimit64), ALLOW(__NR_uname),
    ALLOW(__NR_sysinfo), ALLOW(__NR_umask), ALLOW(__NR_times),
    ALLOW(__NR_exit), ALLOW(__NR_exit_group),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
};

/* SIGSYS from SECCOMP_RET_TRAP: name the refused call, then end. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    char line[80] = "loupe-decoder: system call ";
    char num[16];
    int n = 0, v = si->si_syscall;
    size_t len = strlen(line);
    (void)sig;
    (void)uc;
    do
        num[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0 && n < (int)sizeof num);
    while (n > 0)
        line[len++] = num[--n];
    memcpy(line + len, " is not allowed\n", 17);
    len += 16;
    if (write(STDERR_FILENO, line, len) < 0) {
        /* nothing more to say */
    }
    _exit(159);
}

static int install_seccomp(lp_error *err)
{
    struct sock_fprog prog = {.len = (unsigned short)(sizeof filter / sizeof filter[0]),
                              .filter = (struct sock_filter *)filter};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "cannot handle SIGSYS: %s", strerror(errno));
    /* TSYNC: every thread of the process, should a library have started one. */
    if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "cannot install the seccomp filter: %s", strerror(errno));
    return 0;
}

/* ---- Landlock -------------------------------------------------------------- */

/* Beneath the work and scratch directories: reading, writing, listing,
 * making and removing files and directories; nothing anywhere else. 0 with
 * *abi_out the ABI used (0: none in this kernel), or -1 with err. */
static int install_landlock(int dirfd, int scratchfd, int *abi_out, lp_error *err)
{
    const uint64_t rights = LP_LANDLOCK_READ | LP_LANDLOCK_WRITE | LP_LANDLOCK_LIST | LP_LANDLOCK_CREATE;
    lp_landlock ll;
    *abi_out = 0;
    if (lp_landlock_new(&ll, err) != 0)
        return -1;
    int rc = 0;
    if (lp_landlock_allow(&ll, dirfd, rights, err) != 0 || (scratchfd >= 0 && lp_landlock_allow(&ll, scratchfd, rights, err) != 0))
        rc = -1;
    else if (lp_landlock_enter(&ll) != 0)
        rc = lp_error_set(err, LP_E_INTERNAL, "cannot enter Landlock: %s", strerror(errno));
    if (rc == 0)
        *abi_out = ll.abi;
    lp_landlock_free(&ll);
    return rc;
}

/* Landlock binds the calling thread only: confinement must come before any
 * other thread exists. 1 if this process has exactly one. */
static int single_threaded(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[128];
    int threads = -1;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &threads) == 1)
            break;
    fclose(f);
    return threads == 1;
}

int lp_decoder_confine(int dirfd, int scratchfd, int *landlock_out, lp_error *err)
{
    int abi = 0;
    if (landlock_out)
        *landlock_out = 0;
    if (!single_threaded())
        return lp_error_set(err, LP_E_INTERNAL, "the decoder must confine itself before it starts a thread");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "cannot set no_new_privs: %s", strerror(errno));
    if (install_landlock(dirfd, scratchfd, &abi, err) != 0 || install_seccomp(err) != 0)
        return -1;
    if (landlock_out)
        *landlock_out = abi;
    return 0;
}
