/* Helpers shared by the storage tests: scratch directories under the test's
 * working directory (the build tree), configurations, sinks. */
#ifndef LOUPE_TESTS_STORAGE_SUPPORT_H
#define LOUPE_TESTS_STORAGE_SUPPORT_H

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loupe/core/buf.h"
#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/storage/storage.h"

/* Removes a scratch directory and everything in it (no symlinks followed). */
static inline void scratch_remove(const char *dir)
{
    DIR *d;
    struct dirent *e;
    if (!dir || !*dir || !(d = opendir(dir)))
        return;
    while ((e = readdir(d))) {
        char path[4096];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            scratch_remove(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Creates "<cwd>/<prefix>-XXXXXX" into out (absolute). 0 or -1. */
static inline int scratch_make(const char *prefix, char *out, size_t cap)
{
    char cwd[1024];
    if (!getcwd(cwd, sizeof cwd) || (size_t)snprintf(out, cap, "%s/%s-XXXXXX", cwd, prefix) >= cap)
        return -1;
    return mkdtemp(out) ? 0 : -1;
}

/* Defaults plus name=value pairs (NULL-terminated). Fails the test on error. */
static inline void config_with(lp_config *cfg, const char *const *pairs)
{
    lp_error err;
    lp_error_clear(&err);
    if (lp_config_defaults(cfg, &err) != 0) {
        fprintf(stderr, "config defaults: %s\n", err.message);
        abort();
    }
    for (size_t i = 0; pairs && pairs[i]; i += 2) {
        if (lp_config_set(cfg, pairs[i], pairs[i + 1], "test", &err) != 0) {
            fprintf(stderr, "config %s: %s\n", pairs[i], err.message);
            abort();
        }
    }
}

/* A storage handle on defaults plus the name=value pairs (NULL-terminated), the settings left in
 * cfg (free with lp_config_free). NULL, reported on stderr, when it cannot be opened. */
static inline lp_storage *storage_open_with(lp_config *cfg, const char *const *pairs)
{
    lp_error err;
    lp_storage *s;
    config_with(cfg, pairs);
    lp_error_clear(&err);
    if (!(s = lp_storage_open(cfg, &err)))
        fprintf(stderr, "open storage: %s\n", err.message);
    return s;
}

/* One storage handle, its settings and a scratch directory (may stay ""): the fixture of the
 * storage tests; storage_fixture_teardown frees it (cmocka teardown). */
typedef struct storage_fixture {
    char dir[1024];
    lp_config cfg;
    lp_storage *s;
} storage_fixture;

static inline int storage_fixture_teardown(void **state)
{
    storage_fixture *f = *state;
    if (f) {
        lp_storage_free(f->s);
        lp_config_free(&f->cfg);
        scratch_remove(f->dir);
        free(f);
    }
    return 0;
}

/* Starts argv[0] (found on PATH) with stdout and stderr going to logpath; the child's pid or -1. */
static inline pid_t server_spawn(char *const argv[], const char *logpath)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Stops a helper server the test started (SIGTERM, then reaps it) and removes its scratch
 * directory; *pid becomes -1. */
static inline void server_stop(pid_t *pid, const char *dir)
{
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
        *pid = -1;
    }
    scratch_remove(dir);
}

/* A sink collecting into an lp_buf (max set by the test). */
static inline int buf_sink(void *ud, const void *p, size_t n, lp_error *err)
{
    if (lp_buf_append(ud, p, n) != 0)
        return lp_error_set(err, LP_E_TOO_LARGE, "test sink is full");
    return 0;
}

/* Deterministic test bytes: a simple LCG so ranges are checkable. */
static inline void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)(x >> 16);
    }
}

#endif
