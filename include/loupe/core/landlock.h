/* Landlock: confining a process's file access to what its rules grant
 * (Linux 5.13 and later).
 *
 * A ruleset handles every file-system right the running kernel knows
 * (its Landlock ABI), so whatever no rule grants is denied once a process
 * enters it: reading, writing, executing, listing, making and removing
 * files, and, from ABI 2, moving them between directories. Rules grant
 * rights beneath a directory, or on one file (only the rights a file can
 * have: execute, read, write, truncate).
 *
 * A kernel without Landlock (not built in, disabled at boot, or refused by
 * a supervisor's own system-call filter) gives a ruleset with abi 0: every
 * call then succeeds and confines nothing, and the caller decides whether
 * to carry on (loupe-decoder and dcm2niix do, under their seccomp filters).
 *
 * Entering a ruleset needs no_new_privs (PR_SET_NO_NEW_PRIVS) first, binds
 * the calling thread and what it starts or execs, and cannot be undone.
 * lp_landlock_enter is async-signal-safe, so a ruleset prepared before fork
 * can be entered by the child between fork and exec. */
#ifndef LOUPE_CORE_LANDLOCK_H
#define LOUPE_CORE_LANDLOCK_H

#include <stdint.h>

#include "loupe/core/error.h"

/* Rights to grant (a rule's rights beyond what the kernel handles are
 * dropped, as are directory rights on a file). */
#define LP_LANDLOCK_EXECUTE ((uint64_t)1 << 0)
#define LP_LANDLOCK_WRITE ((uint64_t)1 << 1)  /* write to (and, ABI 3, truncate) existing files */
#define LP_LANDLOCK_READ ((uint64_t)1 << 2)   /* read files */
#define LP_LANDLOCK_LIST ((uint64_t)1 << 3)   /* list directories */
#define LP_LANDLOCK_CREATE ((uint64_t)1 << 4) /* make and remove regular files and directories, move them */
/* never granted: making symbolic links, devices, sockets and pipes */

typedef struct lp_landlock {
    int fd;  /* the ruleset; -1 when abi is 0 */
    int abi; /* the kernel's Landlock ABI (1, 2 …), or 0: none */
} lp_landlock;

/* A new ruleset into ll. 0 (abi 0 when the kernel has no Landlock), or -1
 * with err. */
int lp_landlock_new(lp_landlock *ll, lp_error *err);

/* Grants rights beneath the directory (or on the file) fd (borrowed; an
 * O_PATH descriptor will do). 0, or -1 with err. */
int lp_landlock_allow(lp_landlock *ll, int fd, uint64_t rights, lp_error *err);

/* As lp_landlock_allow, for path; a path that does not exist is skipped
 * (0), so that a rule for a directory one system lacks (/lib64) is no
 * error. */
int lp_landlock_allow_path(lp_landlock *ll, const char *path, uint64_t rights, lp_error *err);

/* Confines the calling thread (and what it starts or execs) to ll's rules.
 * 0 (also with abi 0), or -1 with errno. Async-signal-safe. */
int lp_landlock_enter(const lp_landlock *ll);

/* Closes the ruleset (ll itself is the caller's). */
void lp_landlock_free(lp_landlock *ll);

#endif
