/* loupe's command line (src/cli/args.c): commands and sub-commands, operands, options in any
 * place and both spellings, values checked, options of other commands refused, help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/cli/args.h"

static char err[512];

/* Parses a NULL-terminated list of words after "loupe". */
static int parse(lp_cli_args *a, ...)
{
    char *argv[32] = {"loupe"};
    int argc = 1;
    va_list ap;
    va_start(ap, a);
    for (char *w; (w = va_arg(ap, char *));)
        argv[argc++] = w;
    va_end(ap);
    return lp_cli_args_parse(argc, argv, a, err, sizeof err);
}

static void test_push_with_options_anywhere(void **state)
{
    (void)state;
    lp_cli_args a;
    assert_int_equal(parse(&a, "--json", "push", "-j", "8", "photos/", "--dataset=street", "--path", "/cam1", NULL), 0);
    assert_string_equal(a.command, "push");
    assert_null(a.sub);
    assert_int_equal(a.noperands, 1);
    assert_string_equal(a.operands[0], "photos/");
    assert_string_equal(a.dataset, "street");
    assert_string_equal(a.path, "/cam1");
    assert_int_equal(a.parallel, 8);
    assert_true(a.json);
    assert_int_equal(a.interval_ms, 500);
    assert_null(a.dicom_series);
    assert_int_equal(parse(&a, "push", "scans/", "-d", "ct", "--dicom-series", "items", NULL), 0);
    assert_string_equal(a.dicom_series, "items");
}

static void test_subcommands(void **state)
{
    (void)state;
    lp_cli_args a;
    assert_int_equal(parse(&a, "datasets", "create", "Street Scenes", "--slug", "street", NULL), 0);
    assert_string_equal(a.sub, "create");
    assert_string_equal(a.operands[0], "Street Scenes");
    assert_string_equal(a.slug, "street");
    assert_int_equal(parse(&a, "datasets", "list", NULL), 0);
    assert_int_equal(a.noperands, 0);
    assert_int_equal(parse(&a, "jobs", "watch", "0190-id", "--interval", "100", NULL), 0);
    assert_int_equal(a.interval_ms, 100);
    assert_int_equal(parse(&a, "datasets", NULL), -1);
    assert_non_null(strstr(err, "needs a sub-command"));
    assert_int_equal(parse(&a, "datasets", "drop", NULL), -1);
    assert_non_null(strstr(err, "datasets drop"));
}

static void test_usage_errors_name_what_is_wrong(void **state)
{
    (void)state;
    lp_cli_args a;
    assert_int_equal(parse(&a, NULL), -1);
    assert_non_null(strstr(err, "no command"));
    assert_int_equal(parse(&a, "fetch", NULL), -1);
    assert_non_null(strstr(err, "\"fetch\""));
    assert_int_equal(parse(&a, "push", "dir", NULL), -1);
    assert_non_null(strstr(err, "--dataset"));
    assert_int_equal(parse(&a, "push", "a", "b", "--dataset", "d", NULL), -1);
    assert_non_null(strstr(err, "usage: loupe push DIR"));
    assert_int_equal(parse(&a, "push", "dir", "--dataset", "d", "--parallel", "0", NULL), -1);
    assert_non_null(strstr(err, "--parallel must be a whole number from 1 to 32"));
    assert_int_equal(parse(&a, "push", "dir", "--dataset", "d", "--parallel", "4x", NULL), -1);
    assert_int_equal(parse(&a, "push", "dir", "--dataset", NULL), -1);
    assert_non_null(strstr(err, "--dataset needs a value"));
    assert_int_equal(parse(&a, "pull", "d", "--format", "coco", "--replace", NULL), -1);
    assert_non_null(strstr(err, "--replace does not apply to pull"));
    assert_int_equal(parse(&a, "pull", "d", "--format", "coco", "--nope", NULL), -1);
    assert_non_null(strstr(err, "unknown option --nope"));
    assert_int_equal(parse(&a, "pull", "d", "--format", "coco", "--path", "rel", NULL), -1);
    assert_non_null(strstr(err, "--path must start with \"/\""));
    assert_int_equal(parse(&a, "login", "--json=yes", NULL), -1);
    assert_non_null(strstr(err, "--json takes no value"));
    assert_int_equal(parse(&a, "login", "--key-stdin", "--email", "a@b", NULL), -1);
    assert_int_equal(parse(&a, "login", "--password-stdin", NULL), -1);
    assert_int_equal(parse(&a, "import", "f.json", "--dataset", "d", NULL), -1);
    assert_non_null(strstr(err, "--format"));
}

static void test_double_dash_and_help(void **state)
{
    (void)state;
    lp_cli_args a;
    assert_int_equal(parse(&a, "push", "--dataset", "d", "--", "--odd-dir", NULL), 0);
    assert_string_equal(a.operands[0], "--odd-dir");
    assert_int_equal(parse(&a, "--help", NULL), 0);
    assert_true(a.help);
    assert_null(a.command);
    assert_int_equal(parse(&a, "push", "-h", NULL), 0); /* help needs no operands */
    assert_string_equal(a.command, "push");
    assert_int_equal(parse(&a, "--version", NULL), 0);
    assert_true(a.version);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    lp_cli_args_help(f, "push");
    fclose(f);
    assert_non_null(strstr(text, "Usage: loupe push DIR --dataset SLUG"));
    assert_non_null(strstr(text, "--parallel N"));
    assert_null(strstr(text, "--format")); /* another command's option */
    free(text);
    f = open_memstream(&text, &len);
    lp_cli_args_help(f, NULL);
    fclose(f);
    assert_non_null(strstr(text, "jobs watch"));
    assert_non_null(strstr(text, "LOUPE_API_KEY"));
    assert_null(strstr(text, "--parallel"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_with_options_anywhere),
        cmocka_unit_test(test_subcommands),
        cmocka_unit_test(test_usage_errors_name_what_is_wrong),
        cmocka_unit_test(test_double_dash_and_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
