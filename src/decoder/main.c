/* loupe-decoder: decodes untrusted media for the worker and louped, confined
 * (see README.md and decoder_int.h). It takes no arguments, reads no
 * environment and no configuration: what it needs comes with each request. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decoder_int.h"
#include "loupe/jobs/decoder.h"
#include "loupe/media/media.h"

/* Sanitizer builds (tests only): AddressSanitizer's options are built in,
 * since an empty environment brings no ASAN_OPTIONS. They keep the ways
 * the process ends those of the production build, under its unchanged
 * seccomp filter:
 *   handle_*=0      a crash or abort() ends it by its signal, which the
 *                   parent reports (ASan's handler would print a report
 *                   and exit with status 1 instead);
 *   detect_leaks=0  LeakSanitizer's check at exit stops the world with a
 *                   tracer process (clone without CLONE_THREAD, ptrace),
 *                   which the filter refuses.
 * Memory errors are still detected, reported on stderr and end the process
 * with status 1; leaks of the confined process go unchecked. */
#if LP_DECODER_ASAN
#include <sanitizer/asan_interface.h>

__attribute__((no_sanitize_address, visibility("default"), used)) const char *__asan_default_options(void)
{
    return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0:detect_leaks=0";
}
#endif

static int read_full(int fd, void *p, size_t n)
{
    char *c = p;
    while (n > 0) {
        ssize_t got = read(fd, c, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got == 0 && c == (char *)p ? 0 : -1;
        c += got;
        n -= (size_t)got;
    }
    return 1;
}

static int write_full(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int die(const char *what, const lp_error *err)
{
    fprintf(stderr, "loupe-decoder: %s: %s\n", what, err->message);
    return 2;
}

int main(void)
{
    lp_error err;
    char dir[4096];
    int landlock = 0;
    ssize_t n;

    lp_error_clear(&err);
    /* Temporary files of libvips go to the work directory, the only place
     * it may write. */
    if ((n = readlink("/proc/self/fd/3", dir, sizeof dir - 1)) <= 0 || fchdir(LP_DECODER_DIR_FD) != 0) {
        fprintf(stderr, "loupe-decoder: descriptor 3 must be its work directory (and 4 its scratch directory); it "
                        "is started by loupe-worker and louped, not by hand\n");
        return 2;
    }
    dir[n] = '\0';
    setenv("TMPDIR", dir, 1);
    /* libvips loads its modules now, while it may still read them. */
    if (lp_media_init("loupe-decoder", &err) != 0)
        return die("cannot start libvips", &err);
    if (lp_decoder_confine(LP_DECODER_DIR_FD, LP_DECODER_SCRATCH_FD, &landlock, &err) != 0)
        return die("cannot confine itself", &err);
    if (!landlock)
        fprintf(stderr, "loupe-decoder: this kernel has no Landlock: file access is not confined to %s\n", dir);

    for (;;) {
        uint32_t len;
        int r = read_full(STDIN_FILENO, &len, sizeof len);
        if (r == 0)
            break; /* the parent is done with us */
        if (r < 0 || len > LP_DECODER_REQUEST_MAX)
            return 2;
        char *req = malloc((size_t)len + 1);
        if (!req)
            return 3;
        if (read_full(STDIN_FILENO, req, len) != 1)
            return 2;
        req[len] = '\0';

        lp_buf reply;
        lp_buf_init(&reply, LP_DECODER_REPLY_MAX);
        int status = lp_decoder_serve(req, len, &reply);
        free(req);
        uint32_t head[2] = {(uint32_t)reply.len, (uint32_t)status};
        if (write_full(STDOUT_FILENO, head, sizeof head) != 0 || write_full(STDOUT_FILENO, reply.data, reply.len) != 0)
            return 1;
        lp_buf_free(&reply);
    }
    lp_decoder_serve_end();
    return 0;
}
