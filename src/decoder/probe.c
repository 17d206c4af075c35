/* Test builds only (loupe-decoder-probe): requests {"op": "probe", "what",
 * "arg"} that try what the sandbox forbids, or misbehave on purpose, so the
 * tests can show what the confinement and the process manager do.
 *
 *   socket        tries socket(AF_INET) and socket(AF_UNIX): "denied" or "allowed"
 *   open  PATH    tries to open PATH for reading: "denied" or "allowed"
 *   create PATH   tries to create PATH: "denied" or "allowed"
 *   fork          tries fork(): "denied" or "allowed"
 *   exec          tries execve("/bin/true"): the filter kills the process
 *   environ       its environment (but TMPDIR and VIPSHOME, set by itself), or "empty"
 *   pid           its pid
 *   fds           its open descriptors among 0..255, as "0 1 2 3 "
 *   crash / hang / exit5 / hog (2 GiB) / big (a reply over the limit) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decoder_int.h"

extern char **environ;

static int answer(lp_buf *reply, int allowed)
{
    return lp_buf_puts(reply, allowed ? "allowed" : "denied");
}

int lp_decoder_probe(const char *what, const char *arg, lp_buf *reply)
{
    if (!what)
        return -1;
    if (!strcmp(what, "socket")) {
        int a = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_UNIX, SOCK_STREAM, 0);
        int allowed = a >= 0 || u >= 0;
        if (a >= 0)
            close(a);
        if (u >= 0)
            close(u);
        return answer(reply, allowed);
    }
    if (!strcmp(what, "open") && arg) {
        int fd = open(arg, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            close(fd);
        return answer(reply, fd >= 0);
    }
    if (!strcmp(what, "create") && arg) {
        int fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
        return answer(reply, fd >= 0);
    }
    if (!strcmp(what, "fork")) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid > 0)
            waitpid(pid, NULL, 0);
        return answer(reply, pid > 0);
    }
    if (!strcmp(what, "exec")) {
        char *const argv[] = {"/bin/true", NULL};
        execve(argv[0], argv, environ);
        return answer(reply, 0);
    }
    if (!strcmp(what, "environ")) {
        /* what it was given: all but what main.c (TMPDIR) and libvips
         * (VIPSHOME) set in it themselves */
        int n = 0;
        for (char **e = environ; e && *e; e++)
            if (strncmp(*e, "TMPDIR=", 7) != 0 && strncmp(*e, "VIPSHOME=", 9) != 0 &&
                lp_buf_printf(reply, "%s%s", n++ ? " " : "", *e) != 0)
                return -1;
        return n ? 0 : lp_buf_puts(reply, "empty");
    }
    if (!strcmp(what, "pid"))
        return lp_buf_printf(reply, "%d", (int)getpid());
    if (!strcmp(what, "fds")) {
        for (int fd = 0; fd < 256; fd++)
            if (fcntl(fd, F_GETFD) >= 0 && lp_buf_printf(reply, "%d ", fd) != 0)
                return -1;
        return 0;
    }
    if (!strcmp(what, "crash"))
        raise(SIGSEGV);
    if (!strcmp(what, "hang"))
        for (;;)
            sleep(1);
    if (!strcmp(what, "exit5"))
        _exit(5);
    if (!strcmp(what, "hog")) {
        size_t n = 2048u * 1024 * 1024;
        char *p = malloc(n);
        if (!p)
            return lp_buf_puts(reply, "refused");
        memset(p, 1, n);
        free(p);
        return lp_buf_puts(reply, "granted");
    }
    if (!strcmp(what, "big")) {
        /* more than a reply may hold: the decoder answers with an error instead */
        static char chunk[1024 * 1024];
        while (lp_buf_append(reply, chunk, sizeof chunk) == 0)
            ;
        return -1;
    }
    return -1;
}
