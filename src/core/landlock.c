/* Landlock rulesets (loupe/core/landlock.h). */
#define _GNU_SOURCE
#include "loupe/core/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's file-system rights of ABI abi: all of them are handled. */
static __u64 handled_rights(int abi)
{
    __u64 r = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
              LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
              LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
              LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
              LANDLOCK_ACCESS_FS_MAKE_SYM;
#ifdef LANDLOCK_ACCESS_FS_REFER
    if (abi >= 2)
        r |= LANDLOCK_ACCESS_FS_REFER;
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
    if (abi >= 3)
        r |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
    return r;
}

/* The kernel's rights for ours. */
static __u64 kernel_rights(uint64_t rights)
{
    __u64 r = 0;
    if (rights & LP_LANDLOCK_EXECUTE)
        r |= LANDLOCK_ACCESS_FS_EXECUTE;
    if (rights & LP_LANDLOCK_WRITE) {
        r |= LANDLOCK_ACCESS_FS_WRITE_FILE;
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
        r |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
    }
    if (rights & LP_LANDLOCK_READ)
        r |= LANDLOCK_ACCESS_FS_READ_FILE;
    if (rights & LP_LANDLOCK_LIST)
        r |= LANDLOCK_ACCESS_FS_READ_DIR;
    if (rights & LP_LANDLOCK_CREATE) {
        r |= LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
             LANDLOCK_ACCESS_FS_REMOVE_DIR;
#ifdef LANDLOCK_ACCESS_FS_REFER
        r |= LANDLOCK_ACCESS_FS_REFER;
#endif
    }
    return r;
}

/* The rights a file (not a directory) can be granted. */
static __u64 file_rights(void)
{
    __u64 r = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE;
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
    r |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
    return r;
}

int lp_landlock_new(lp_landlock *ll, lp_error *err)
{
    ll->fd = -1;
    ll->abi = 0;
    int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 0) {
        if (errno == ENOSYS || errno == EOPNOTSUPP || errno == EPERM)
            return 0;
        return lp_error_set(err, LP_E_INTERNAL, "cannot ask the kernel for Landlock: %s", strerror(errno));
    }
    struct landlock_ruleset_attr attr = {.handled_access_fs = handled_rights(abi)};
    int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (fd < 0)
        return lp_error_set(err, LP_E_INTERNAL, "cannot create a Landlock ruleset: %s", strerror(errno));
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        close(fd);
        return lp_error_set(err, LP_E_INTERNAL, "cannot mark the Landlock ruleset close-on-exec: %s", strerror(errno));
    }
    ll->fd = fd;
    ll->abi = abi;
    return 0;
}

int lp_landlock_allow(lp_landlock *ll, int fd, uint64_t rights, lp_error *err)
{
    struct stat st;
    if (ll->abi == 0)
        return 0;
    if (fstat(fd, &st) != 0)
        return lp_error_set(err, LP_E_IO, "cannot look at a path to allow in Landlock: %s", strerror(errno));
    __u64 allowed = kernel_rights(rights) & handled_rights(ll->abi);
    if (!S_ISDIR(st.st_mode))
        allowed &= file_rights();
    struct landlock_path_beneath_attr beneath = {.allowed_access = allowed, .parent_fd = fd};
    if (allowed && syscall(SYS_landlock_add_rule, ll->fd, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "cannot add a Landlock rule: %s", strerror(errno));
    return 0;
}

int lp_landlock_allow_path(lp_landlock *ll, const char *path, uint64_t rights, lp_error *err)
{
    if (ll->abi == 0)
        return 0;
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return lp_error_set(err, LP_E_IO, "cannot open %s to allow it in Landlock: %s", path, strerror(errno));
    }
    int rc = lp_landlock_allow(ll, fd, rights, err);
    close(fd);
    return rc;
}

int lp_landlock_enter(const lp_landlock *ll)
{
    if (ll->abi == 0)
        return 0;
    return syscall(SYS_landlock_restrict_self, ll->fd, 0) == 0 ? 0 : -1;
}

void lp_landlock_free(lp_landlock *ll)
{
    if (ll->fd >= 0)
        close(ll->fd);
    ll->fd = -1;
    ll->abi = 0;
}
