/* src/core/tmpdir.c: an owned directory is removed whole when freed; a
 * sweep removes the directories of owners that are gone (also one whose
 * owner started a program that outlives it: the lock is not inherited) and
 * those without a lock file once old enough, and keeps those of running
 * owners — in this process or another — and young ones; removal never
 * follows a symbolic link out of the tree, and goes only so deep. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "loupe/core/tmpdir.h"

#define PREFIX "loupe-decoder"
#define STALE_MS 60000

static char root[] = "/tmp/loupe-tmpdir-test-XXXXXX";
static char parent[512];  /* swept */
static char outside[512]; /* what links point to */

static void put_file(const char *path, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < bytes; i++)
        fputc('x', f);
    assert_int_equal(fclose(f), 0);
}

static int exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static void make_old(const char *path)
{
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= 2 * STALE_MS / 1000;
    t[1] = t[0];
    assert_int_equal(utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW), 0);
}

/* A directory with a file, a nested directory two levels down, and links
 * out of the tree to outside's file and directory. */
static void fill(const char *dir)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/original", dir);
    put_file(p, 1000);
    snprintf(p, sizeof p, "%s/series", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/series/1", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/series/1/slice.dcm", dir);
    put_file(p, 24);
    snprintf(p, sizeof p, "%s/series/1/up", dir);
    assert_int_equal(symlink(outside, p), 0);
    snprintf(p, sizeof p, "%s/kept-file", dir);
    char target[1024];
    snprintf(target, sizeof target, "%s/keep.txt", outside);
    assert_int_equal(symlink(target, p), 0);
}

static void assert_outside_intact(void)
{
    char p[1024];
    struct stat sb;
    snprintf(p, sizeof p, "%s/keep.txt", outside);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_size, 7);
    snprintf(p, sizeof p, "%s/inner/deep.txt", outside);
    assert_true(exists(p));
}

static int entries(const char *dir)
{
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *f = popen(cmd, "r");
    int n = -1;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &n), 1);
    pclose(f);
    return n;
}

static int setup(void **state)
{
    char p[1024];
    (void)state;
    if (!mkdtemp(root))
        return -1;
    snprintf(parent, sizeof parent, "%s/parent", root);
    snprintf(outside, sizeof outside, "%s/outside", root);
    if (mkdir(parent, 0700) != 0 || mkdir(outside, 0700) != 0)
        return -1;
    snprintf(p, sizeof p, "%s/inner", outside);
    if (mkdir(p, 0700) != 0)
        return -1;
    snprintf(p, sizeof p, "%s/keep.txt", outside);
    put_file(p, 7);
    snprintf(p, sizeof p, "%s/inner/deep.txt", outside);
    put_file(p, 3);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return lp_rmtree(root, LP_TMPDIR_MAX_DEPTH, NULL);
}

/* Freeing removes the tree, whatever a job left in it, and nothing a link in
 * it points to. */
static void freed_directory_is_gone(void **state)
{
    lp_error err;
    char p[1024];
    (void)state;
    lp_error_clear(&err);
    lp_tmpdir *d = lp_tmpdir_new(parent, PREFIX, &err);
    assert_non_null(d);
    const char *path = lp_tmpdir_path(d);
    assert_int_equal(strncmp(path, parent, strlen(parent)), 0);
    assert_int_equal(strncmp(path + strlen(parent), "/" PREFIX "-", strlen(PREFIX) + 2), 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    snprintf(p, sizeof p, "%s/%s", path, LP_TMPDIR_LOCK);
    assert_true(exists(p));
    fill(path);
    snprintf(p, sizeof p, "%s", path);
    lp_tmpdir_free(d);
    assert_false(exists(p));
    assert_outside_intact();
    assert_int_equal(entries(parent), 0);
    lp_tmpdir_free(NULL);
}

/* A directory whose owner runs — this process, or another one — is kept; once
 * the other one has died without freeing it, the next sweep removes it and
 * counts its bytes. */
static void live_kept_dead_removed(void **state)
{
    lp_error err;
    lp_tmpdir_swept swept;
    int ready[2], hold[2];
    char path[1024] = "";
    (void)state;
    lp_error_clear(&err);
    lp_tmpdir *mine = lp_tmpdir_new(parent, PREFIX, &err);
    assert_non_null(mine);

    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(hold), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        char c;
        lp_error cerr;
        lp_error_clear(&cerr);
        lp_tmpdir *d = lp_tmpdir_new(parent, PREFIX, &cerr);
        if (!d)
            _exit(1);
        fill(lp_tmpdir_path(d));
        if (write(ready[1], lp_tmpdir_path(d), strlen(lp_tmpdir_path(d))) < 0)
            _exit(1);
        close(ready[1]);
        close(hold[1]);
        while (read(hold[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0); /* dies without freeing it: as kill -9 would */
    }
    close(ready[1]);
    close(hold[0]);
    ssize_t n = read(ready[0], path, sizeof path - 1);
    assert_true(n > 0);
    path[n] = '\0';
    close(ready[0]);

    assert_int_equal(lp_tmpdir_sweep(parent, PREFIX, STALE_MS, &swept), 0);
    assert_int_equal(swept.removed, 0);
    assert_int_equal(swept.kept, 2);
    assert_true(exists(path));
    assert_true(exists(lp_tmpdir_path(mine)));

    close(hold[1]); /* the child exits */
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(lp_tmpdir_sweep(parent, PREFIX, STALE_MS, &swept), 0);
    assert_int_equal(swept.removed, 1);
    assert_int_equal(swept.kept, 1);
    assert_int_equal(swept.failed, 0);
    assert_int_equal(swept.bytes, 1024);
    assert_false(exists(path));
    assert_true(exists(lp_tmpdir_path(mine)));
    assert_outside_intact();

    lp_tmpdir_free(mine);
    assert_int_equal(entries(parent), 0);
}

/* The lock is not inherited across exec: an owner that died while a
 * program it started (a decoder) still runs leaves a directory the next
 * sweep removes. */
static void lock_not_inherited_by_programs(void **state)
{
    lp_tmpdir_swept swept;
    int report[2];
    pid_t pids[2] = {0, 0};
    char path[1024] = "";
    (void)state;
    assert_int_equal(pipe(report), 0);
    pid_t owner = fork();
    assert_true(owner >= 0);
    if (owner == 0) {
        lp_error cerr;
        lp_error_clear(&cerr);
        close(report[0]);
        lp_tmpdir *d = lp_tmpdir_new(parent, PREFIX, &cerr);
        if (!d)
            _exit(1);
        pid_t prog = fork();
        if (prog == 0) {
            close(report[1]);
            execl("/bin/sleep", "sleep", "30", (char *)NULL);
            _exit(127);
        }
        if (write(report[1], &prog, sizeof prog) != sizeof prog ||
            write(report[1], lp_tmpdir_path(d), strlen(lp_tmpdir_path(d))) < 0)
            _exit(1);
        _exit(0);
    }
    close(report[1]);
    assert_int_equal(read(report[0], &pids[1], sizeof pids[1]), (ssize_t)sizeof pids[1]);
    ssize_t n = read(report[0], path, sizeof path - 1);
    assert_true(n > 0);
    path[n] = '\0';
    close(report[0]);
    int status;
    assert_int_equal(waitpid(owner, &status, 0), owner);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* the program runs (exec'd: the descriptors it inherited across fork
     * are gone or kept by now) */
    char comm_path[64], comm[32] = "";
    snprintf(comm_path, sizeof comm_path, "/proc/%d/comm", (int)pids[1]);
    for (int i = 0; i < 500 && strcmp(comm, "sleep\n") != 0; i++) {
        FILE *f = fopen(comm_path, "r");
        comm[0] = '\0';
        if (f) {
            if (!fgets(comm, sizeof comm, f))
                comm[0] = '\0';
            fclose(f);
        }
        if (strcmp(comm, "sleep\n") != 0)
            usleep(10000);
    }
    assert_string_equal(comm, "sleep\n");

    /* exec names the program a moment before it closes the descriptors marked close-on-exec,
     * so the sweep is tried until the lock is free, for at most 5 s: an inherited lock would be
     * held for the program's 30 s */
    int removed = 0;
    for (int i = 0; i < 500 && removed == 0; i++) {
        assert_int_equal(lp_tmpdir_sweep(parent, PREFIX, STALE_MS, &swept), 0);
        removed = swept.removed;
        if (removed == 0)
            usleep(10000);
    }
    kill(pids[1], SIGKILL);
    assert_int_equal(removed, 1);
    assert_false(exists(path));
}

/* A stale directory's links — to a file, to a directory, a level down — are
 * removed as names; what they point to survives. A <prefix>-* name that is
 * itself a link to a directory is not a directory: left alone, and so is
 * its target. Other names are never touched. */
static void links_never_followed(void **state)
{
    lp_tmpdir_swept swept;
    char dir[1024], link[1024], other[1024], nodash[1024];
    (void)state;
    snprintf(dir, sizeof dir, "%s/%s-crash1", parent, PREFIX);
    assert_int_equal(mkdir(dir, 0700), 0);
    fill(dir); /* no lock file: made by hand, as an older version would */
    make_old(dir);
    snprintf(link, sizeof link, "%s/%s-link", parent, PREFIX);
    assert_int_equal(symlink(outside, link), 0);
    snprintf(other, sizeof other, "%s/other-dir", parent);
    assert_int_equal(mkdir(other, 0700), 0);
    make_old(other);
    snprintf(nodash, sizeof nodash, "%s/%sX", parent, PREFIX);
    assert_int_equal(mkdir(nodash, 0700), 0);
    make_old(nodash);

    assert_int_equal(lp_tmpdir_sweep(parent, PREFIX, STALE_MS, &swept), 0);
    assert_int_equal(swept.removed, 1);
    assert_int_equal(swept.failed, 0);
    assert_int_equal(swept.bytes, 1024);
    assert_false(exists(dir));
    assert_true(exists(link));
    assert_true(exists(other));
    assert_true(exists(nodash));
    assert_outside_intact();
    assert_int_equal(entries(outside), 2);
    unlink(link);
    rmdir(other);
    rmdir(nodash);
}

/* Without a lock file, only an old directory is stale: a young one may be
 * being made by a process that has not taken its lock yet. A lock file
 * nobody holds makes a directory stale at any age. */
static void unlocked_young_kept(void **state)
{
    lp_tmpdir_swept swept;
    char dir[1024], locked[1024], lock[1100];
    (void)state;
    snprintf(dir, sizeof dir, "%s/%s-young1", parent, PREFIX);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(locked, sizeof locked, "%s/%s-young2", parent, PREFIX);
    assert_int_equal(mkdir(locked, 0700), 0);
    snprintf(lock, sizeof lock, "%s/%s", locked, LP_TMPDIR_LOCK);
    put_file(lock, 0);
    assert_int_equal(lp_tmpdir_sweep(parent, PREFIX, STALE_MS, &swept), 0);
    assert_int_equal(swept.removed, 1);
    assert_int_equal(swept.kept, 1);
    assert_true(exists(dir));
    assert_false(exists(locked));
    make_old(dir);
    assert_int_equal(lp_tmpdir_sweep(parent, PREFIX, STALE_MS, &swept), 0);
    assert_int_equal(swept.removed, 1);
    assert_false(exists(dir));
    /* a parent that is not there: nothing to do */
    assert_int_equal(lp_tmpdir_sweep("/nonexistent/loupe", PREFIX, STALE_MS, &swept), 0);
    assert_int_equal(swept.removed + swept.kept, 0);
}

/* lp_rmtree goes max_depth levels down and no further, and refuses a path
 * that is a link. */
static void rmtree_bounded(void **state)
{
    char base[512], p[1024], link[1024];
    uint64_t bytes = 0;
    (void)state;
    snprintf(base, sizeof base, "%s/deep", root);
    snprintf(p, sizeof p, "%s/a/b/c", base);
    assert_int_equal(mkdir(base, 0700), 0);
    snprintf(p, sizeof p, "%s/a", base);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/a/b", base);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/a/b/c", base);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/a/b/c/f", base);
    put_file(p, 5);
    snprintf(p, sizeof p, "%s/a/g", base);
    put_file(p, 6);
    assert_int_equal(lp_rmtree(base, 2, &bytes), -1); /* what a/b holds is three levels down */
    assert_int_equal(bytes, 6);
    snprintf(p, sizeof p, "%s/a/b/c/f", base);
    assert_true(exists(p));
    assert_int_equal(lp_rmtree(base, 4, &bytes), 0);
    assert_int_equal(bytes, 11);
    assert_false(exists(base));
    assert_int_equal(lp_rmtree(base, 4, NULL), 0); /* already gone */

    snprintf(link, sizeof link, "%s/to-outside", root);
    assert_int_equal(symlink(outside, link), 0);
    assert_int_equal(lp_rmtree(link, 4, NULL), -1);
    assert_outside_intact();
    unlink(link);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(freed_directory_is_gone),
        cmocka_unit_test(live_kept_dead_removed),
        cmocka_unit_test(lock_not_inherited_by_programs),
        cmocka_unit_test(links_never_followed),
        cmocka_unit_test(unlocked_young_kept),
        cmocka_unit_test(rmtree_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
