/* A process's temporary directories, held by a lock and swept when their
 * owner is gone. See loupe/core/tmpdir.h. */
#include "loupe/core/tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loupe/core/log.h"
#include "loupe/core/util.h"

/* A sweep that lost the race for a fresh directory's lock, or removed it
 * between our mkdtemp and our lock: a few new names are tried. */
#define MAKE_TRIES 4

/* Times a directory is read while its removal makes progress. */
#define MAX_PASSES 8

struct lp_tmpdir {
    int lock_fd;
    char path[];
};

/* ---- Removing trees --------------------------------------------------------- */

/* Removes the entries of the directory open on fd, going down at most depth
 * more levels; closes fd. Entries are removed by name relative to their
 * directory's descriptor, and a subdirectory is opened with O_NOFOLLOW, so
 * no symbolic link is ever followed, whatever replaces what meanwhile. The
 * directory is read again until a pass finds it empty or removes nothing
 * (a file system need not list every entry to a reader that removes them as
 * it goes), at most MAX_PASSES times. 0 when it is empty, else -1. */
static int empty_dir(int fd, int depth, uint64_t *bytes)
{
    DIR *d = fdopendir(fd);
    struct dirent *e;
    int seen, gone, passes = 0;
    if (!d) {
        close(fd);
        return -1;
    }
    do {
        seen = gone = 0;
        rewinddir(d);
        while ((e = readdir(d))) {
            struct stat sb;
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            seen++;
            if (fstatat(fd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
                gone += errno == ENOENT;
                continue;
            }
            if (S_ISDIR(sb.st_mode)) {
                int sub = depth > 0 ? openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
                if (sub >= 0)
                    empty_dir(sub, depth - 1, bytes);
                if (unlinkat(fd, e->d_name, AT_REMOVEDIR) == 0 || errno == ENOENT)
                    gone++;
            } else if (unlinkat(fd, e->d_name, 0) == 0) {
                gone++;
                if (S_ISREG(sb.st_mode) && bytes)
                    *bytes += (uint64_t)sb.st_size;
            } else if (errno == ENOENT) {
                gone++;
            }
        }
    } while (seen > 0 && gone > 0 && ++passes < MAX_PASSES);
    closedir(d);
    return seen == 0 ? 0 : -1;
}

/* Removes name in the directory open on at, as lp_rmtree. */
static int remove_at(int at, const char *name, int max_depth, uint64_t *bytes)
{
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    empty_dir(fd, max_depth - 1, bytes);
    return unlinkat(at, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -1;
}

int lp_rmtree(const char *path, int max_depth, uint64_t *bytes)
{
    return remove_at(AT_FDCWD, path, max_depth, bytes);
}

/* ---- Owned directories -------------------------------------------------------- */

/* 1 when the lock on lock_fd (held) still guards dir_fd's directory at
 * path: the lock file is linked, and path still names that directory. A
 * sweep that got the lock first removed them. */
static int still_ours(int lock_fd, int dir_fd, const char *path)
{
    struct stat lk, dir, named;
    return fstat(lock_fd, &lk) == 0 && lk.st_nlink > 0 && fstat(dir_fd, &dir) == 0 &&
           lstat(path, &named) == 0 && named.st_dev == dir.st_dev && named.st_ino == dir.st_ino;
}

lp_tmpdir *lp_tmpdir_new(const char *parent, const char *prefix, lp_error *err)
{
    size_t cap = strlen(parent) + strlen(prefix) + sizeof "/-XXXXXX";
    lp_tmpdir *d = malloc(sizeof *d + cap);
    if (!d) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < MAKE_TRIES; i++) {
        snprintf(d->path, cap, "%s/%s-XXXXXX", parent, prefix);
        if (!mkdtemp(d->path)) {
            lp_error_set(err, LP_E_IO, "cannot create a directory in %s: %s", parent, strerror(errno));
            free(d);
            return NULL;
        }
        int dir_fd = open(d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int lock_fd = dir_fd < 0 ? -1
                                 : openat(dir_fd, LP_TMPDIR_LOCK,
                                          O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
        int locked = lock_fd >= 0 && flock(lock_fd, LOCK_EX | LOCK_NB) == 0;
        int e = errno;
        int ours = locked && still_ours(lock_fd, dir_fd, d->path);
        if (dir_fd >= 0)
            close(dir_fd);
        if (ours) {
            d->lock_fd = lock_fd;
            return d;
        }
        if (lock_fd >= 0)
            close(lock_fd);
        /* A sweep took it (its lock first, or the directory away): a new
         * name. Anything else is a real failure. */
        if (!locked && !(lock_fd >= 0 ? e == EWOULDBLOCK : e == ENOENT)) {
            lp_rmtree(d->path, 1, NULL);
            lp_error_set(err, LP_E_IO, "cannot lock a new directory in %s: %s", parent, strerror(e));
            free(d);
            return NULL;
        }
    }
    lp_error_set(err, LP_E_IO, "cannot keep a new directory in %s: other processes removed it %d times", parent,
                 MAKE_TRIES);
    free(d);
    return NULL;
}

const char *lp_tmpdir_path(const lp_tmpdir *d)
{
    return d->path;
}

void lp_tmpdir_free(lp_tmpdir *d)
{
    if (!d)
        return;
    lp_rmtree(d->path, LP_TMPDIR_MAX_DEPTH, NULL); /* the lock is released after: no sweep races the removal */
    close(d->lock_fd);
    free(d);
}

/* ---- Sweeping ------------------------------------------------------------------ */

/* 1 when the directory name (open on dir_fd, its stat in sb) has no running
 * owner; *lock_fd is then the lock this process holds on it, or -1 when it
 * has none. */
static int stale(int dir_fd, const struct stat *sb, int64_t unlocked_stale_ms, int *lock_fd)
{
    *lock_fd = openat(dir_fd, LP_TMPDIR_LOCK, O_RDWR | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (*lock_fd >= 0) {
        if (flock(*lock_fd, LOCK_EX | LOCK_NB) == 0)
            return 1;
        close(*lock_fd);
        *lock_fd = -1;
        return 0; /* held: its owner runs */
    }
    if (errno != ENOENT)
        return 0; /* a lock file this process cannot take: not ours to judge */
    int64_t changed_ms = (int64_t)sb->st_mtim.tv_sec * 1000 + sb->st_mtim.tv_nsec / 1000000;
    return lp_now_wall_ms() - changed_ms >= unlocked_stale_ms;
}

int lp_tmpdir_sweep(const char *parent, const char *prefix, int64_t unlocked_stale_ms, lp_tmpdir_swept *out)
{
    size_t plen = strlen(prefix);
    int parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;
    struct dirent *e;

    memset(out, 0, sizeof *out);
    if (parent_fd < 0)
        return errno == ENOENT ? 0 : -1;
    if (!(d = fdopendir(parent_fd))) {
        close(parent_fd);
        return -1;
    }
    while ((e = readdir(d))) {
        struct stat sb;
        int dir_fd, lock_fd;
        if (strncmp(e->d_name, prefix, plen) != 0 || e->d_name[plen] != '-' ||
            fstatat(parent_fd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sb.st_mode) ||
            sb.st_uid != geteuid())
            continue;
        if ((dir_fd = openat(parent_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
            continue;
        if (!stale(dir_fd, &sb, unlocked_stale_ms, &lock_fd)) {
            close(dir_fd);
            out->kept++;
            continue;
        }
        /* Emptied through the descriptor opened above (the directory that
         * was judged), then its name removed, then the lock released. */
        uint64_t bytes = 0;
        empty_dir(dir_fd, LP_TMPDIR_MAX_DEPTH - 1, &bytes);
        if (unlinkat(parent_fd, e->d_name, AT_REMOVEDIR) == 0 || errno == ENOENT)
            out->removed++;
        else
            out->failed++;
        out->bytes += bytes;
        if (lock_fd >= 0)
            close(lock_fd);
    }
    closedir(d);
    if (out->removed)
        LP_INFO("tmpdir", "removed %d %s-* director%s (%llu bytes of files) that stopped processes left in %s",
                out->removed, prefix, out->removed == 1 ? "y" : "ies", (unsigned long long)out->bytes, parent);
    if (out->failed)
        LP_WARN("tmpdir", "%d %s-* director%s that stopped processes left in %s could not be removed whole",
                out->failed, prefix, out->failed == 1 ? "y" : "ies", parent);
    return 0;
}
