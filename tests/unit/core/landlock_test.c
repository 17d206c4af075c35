/* Landlock rulesets (loupe/core/landlock.h): a process that enters one
 * reaches only what its rules grant — a directory's files with the rights
 * given, one file, nothing else — and may not make symbolic links even
 * where it may make files. Each case runs in a child, since entering
 * cannot be undone. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_skip.h"
#include "loupe/core/landlock.h"

static char root[64];

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", root, name);
}

static void write_file(const char *name, const char *text)
{
    char p[128];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* 1 when name can be opened with flags (O_CREAT makes it 0600). */
static int can_open(const char *name, int flags)
{
    char p[128];
    path_of(p, sizeof p, name);
    int fd = open(p, flags | O_CLOEXEC, 0600);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/loupe-landlock-XXXXXX");
    assert_non_null(mkdtemp(root));
    char p[128];
    path_of(p, sizeof p, "in");
    assert_int_equal(mkdir(p, 0700), 0);
    path_of(p, sizeof p, "out");
    assert_int_equal(mkdir(p, 0700), 0);
    path_of(p, sizeof p, "other");
    assert_int_equal(mkdir(p, 0700), 0);
    write_file("in/a", "a");
    write_file("other/secret", "s");
    write_file("one-file", "f");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    return system(cmd) == 0 ? 0 : -1;
}

/* The checks, in the confined child: a bit per expectation that failed. */
static int confined_checks(void)
{
    int bad = 0;
    bad |= !can_open("in/a", O_RDONLY) << 0;           /* read beneath in */
    bad |= can_open("in/new", O_WRONLY | O_CREAT) << 1; /* no making files in in */
    bad |= can_open("in/a", O_WRONLY) << 2;             /* no writing in in */
    bad |= !can_open("out/new", O_WRONLY | O_CREAT) << 3;
    bad |= can_open("other/secret", O_RDONLY) << 4; /* nothing granted beneath other */
    bad |= !can_open("one-file", O_RDONLY) << 5;    /* a rule on one file */
    bad |= can_open("one-file", O_WRONLY) << 6;
    char target[128], link[128];
    path_of(target, sizeof target, "out/new");
    path_of(link, sizeof link, "out/link");
    bad |= (symlink(target, link) == 0) << 7; /* never symbolic links */
    return bad;
}

static void grants_only_what_its_rules_say(void **state)
{
    (void)state;
    lp_landlock ll;
    lp_error err;
    char p[128];
    lp_error_clear(&err);
    assert_int_equal(lp_landlock_new(&ll, &err), 0);
    if (ll.abi == 0)
        LP_TEST_SKIP("this kernel has no Landlock (Linux 5.13+ with landlock in the lsm= list)");
    path_of(p, sizeof p, "in");
    assert_int_equal(lp_landlock_allow_path(&ll, p, LP_LANDLOCK_READ | LP_LANDLOCK_LIST, &err), 0);
    path_of(p, sizeof p, "out");
    assert_int_equal(lp_landlock_allow_path(&ll, p, LP_LANDLOCK_READ | LP_LANDLOCK_WRITE | LP_LANDLOCK_CREATE, &err),
                     0);
    path_of(p, sizeof p, "one-file"); /* directory rights on a file are dropped, not refused */
    assert_int_equal(lp_landlock_allow_path(&ll, p, LP_LANDLOCK_READ | LP_LANDLOCK_LIST, &err), 0);
    path_of(p, sizeof p, "no-such-directory"); /* skipped */
    assert_int_equal(lp_landlock_allow_path(&ll, p, LP_LANDLOCK_READ, &err), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || lp_landlock_enter(&ll) != 0)
            _exit(255);
        _exit(confined_checks());
    }
    lp_landlock_free(&ll);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* this process was never confined */
    assert_true(can_open("other/secret", O_RDONLY));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(grants_only_what_its_rules_say, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
