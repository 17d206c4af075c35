/* The shared command line (src/core/cli.c): --help prints the program's own usage, then the one
 * text of the shared options, then the settings; --version; a bad option is a usage error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "loupe/core/cli.h"

static void program_usage(FILE *out)
{
    fputs("Usage: prog [OPTIONS]\nDoes one thing.\n", out);
}

/* Runs lp_cli_load on args with stdout and stderr captured into out (NUL-terminated). */
static lp_cli_result run(char **args, int argc, char *out, size_t cap)
{
    char path[] = "/tmp/loupe-cli-test-XXXXXX";
    int fd = mkstemp(path), saved_out = dup(1), saved_err = dup(2), first = 0;
    lp_config cfg;
    lp_cli_result r;
    ssize_t n;
    assert_true(fd >= 0);
    fflush(stdout);
    fflush(stderr);
    dup2(fd, 1);
    dup2(fd, 2);
    r = lp_cli_load(argc, args, "prog", "1.2.3", program_usage, &cfg, &first);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    if (r == LP_CLI_RUN)
        lp_config_free(&cfg);
    n = pread(fd, out, cap - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return r;
}

static int count(const char *hay, const char *needle)
{
    int k = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        k++;
    return k;
}

static void help_is_usage_then_shared_options_then_settings(void **state)
{
    static char out[1 << 20];
    char *args[] = {"prog", "--help", NULL};
    (void)state;
    assert_int_equal(run(args, 2, out, sizeof out), LP_CLI_EXIT_OK);
    const char *usage = strstr(out, "Usage: prog [OPTIONS]"), *options = strstr(out, "Options:\n"),
               *settings = strstr(out, "http_port");
    assert_non_null(usage);
    assert_non_null(options);
    assert_non_null(settings);
    assert_true(usage < options && options < settings);
    assert_int_equal(count(out, "-c, --config FILE"), 1);
    assert_int_equal(count(out, "-s, --set NAME=VALUE"), 1);
    assert_int_equal(count(out, "-h, --help"), 1);
    assert_int_equal(count(out, "--version"), 1);
}

static void version_and_bad_option(void **state)
{
    static char out[1 << 20];
    char *version[] = {"prog", "--version", NULL}, *bad[] = {"prog", "--bogus", NULL};
    (void)state;
    assert_int_equal(run(version, 2, out, sizeof out), LP_CLI_EXIT_OK);
    assert_string_equal(out, "prog 1.2.3\n");
    assert_int_equal(run(bad, 2, out, sizeof out), LP_CLI_EXIT_USAGE);
    assert_int_equal(count(out, "-c, --config FILE"), 1); /* the help, on stderr */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_is_usage_then_shared_options_then_settings),
        cmocka_unit_test(version_and_bad_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
