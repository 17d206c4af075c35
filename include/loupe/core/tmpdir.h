/* A process's temporary directories: made private, held for the process's
 * lifetime, removed when it ends — and, when it could not end properly
 * (kill -9, OOM, power loss), removed by the next process that sweeps the
 * same parent.
 *
 * Ownership is a lock, not a process id: the owner of
 * <parent>/<prefix>-XXXXXX holds flock(LOCK_EX) on the file LP_TMPDIR_LOCK
 * inside it, on a descriptor it keeps open (close-on-exec, so no program it
 * starts inherits it). The kernel drops the lock when the owner dies
 * however it dies, and the lock is seen alike by every process on the host
 * — in other PID namespaces and containers sharing the directory too — so
 * a sweep removes a directory only when it gets the lock itself.
 *
 * A directory of the prefix without a lock file (one made by an older
 * version, or a crash between its mkdtemp and its lock) counts as stale once
 * it has not changed for the sweep's unlocked_stale_ms (the setting
 * stale_dir_age); a younger one may be being made, and is kept.
 *
 * Trees are removed without following symbolic links (openat with
 * O_NOFOLLOW, unlinkat, fstatat with AT_SYMLINK_NOFOLLOW: a link is removed
 * as a name, never its target) and at most LP_TMPDIR_MAX_DEPTH levels deep;
 * only directories of the effective user are swept. */
#ifndef LOUPE_CORE_TMPDIR_H
#define LOUPE_CORE_TMPDIR_H

#include <stdint.h>

#include "loupe/core/error.h"

/* The lock file's name inside an owned directory. */
#define LP_TMPDIR_LOCK ".loupe-lock"

/* Directory levels below the removed one that removal goes down; a deeper
 * directory is left (and the removal reports failure). */
#define LP_TMPDIR_MAX_DEPTH 16

typedef struct lp_tmpdir lp_tmpdir;

/* Makes <parent>/<prefix>-XXXXXX (mode 0700) and takes its lock. parent
 * must exist. NULL with err (LP_E_IO) when it cannot be made. Free with
 * lp_tmpdir_free. Thread-safe. */
lp_tmpdir *lp_tmpdir_new(const char *parent, const char *prefix, lp_error *err);

/* Its path (borrowed; as long as d lives): parent as given, "/", the name. */
const char *lp_tmpdir_path(const lp_tmpdir *d);

/* Removes d's tree — whatever is in it — then releases its lock and frees
 * d. NULL is a no-op. */
void lp_tmpdir_free(lp_tmpdir *d);

typedef struct lp_tmpdir_swept {
    int removed;    /* stale directories removed */
    int kept;       /* directories of the prefix held by a running process (or too young to judge) */
    int failed;     /* stale directories that could not be removed whole */
    uint64_t bytes; /* in the regular files removed */
} lp_tmpdir_swept;

/* Removes from parent every <prefix>-* directory whose owner is gone: one
 * whose lock this call gets, or one without a lock file that has not
 * changed for unlocked_stale_ms. Counts into *out (set to zero first). Logs
 * at INFO how many it removed and their bytes (never a name: names inside
 * may carry what the files are about). 0, also when parent does not exist;
 * -1 when parent cannot be read. */
int lp_tmpdir_sweep(const char *parent, const char *prefix, int64_t unlocked_stale_ms, lp_tmpdir_swept *out);

/* Removes path and its tree at most max_depth levels below it, without
 * following symbolic links (path itself must be a directory, not a link).
 * Adds the bytes of the regular files removed to *bytes (may be NULL). 0
 * when path is gone (or was not there), else -1. */
int lp_rmtree(const char *path, int max_depth, uint64_t *bytes);

#endif
