/* Helpers shared by the storage tests: scratch directories under the test's
 * working directory (the build tree), configurations, sinks. */
#ifndef LOUPE_TESTS_STORAGE_SUPPORT_H
#define LOUPE_TESTS_STORAGE_SUPPORT_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loupe/core/buf.h"
#include "loupe/core/config.h"
#include "loupe/core/error.h"

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
