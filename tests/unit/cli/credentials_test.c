/* loupe's stored login (src/cli/credentials.c): where the file is (XDG_CONFIG_HOME, HOME), its
 * text read and written, mode 0600 in a 0700 folder, and the environment overriding it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "loupe/cli/credentials.h"

static char err[512];

static void test_path(void **state)
{
    (void)state;
    char p[256];
    assert_int_equal(lp_cli_credentials_path("/x/cfg", "/home/u", p, sizeof p, err, sizeof err), 0);
    assert_string_equal(p, "/x/cfg/loupe/credentials");
    assert_int_equal(lp_cli_credentials_path("", "/home/u", p, sizeof p, err, sizeof err), 0);
    assert_string_equal(p, "/home/u/.config/loupe/credentials");
    assert_int_equal(lp_cli_credentials_path(NULL, "/home/u", p, sizeof p, err, sizeof err), 0);
    assert_string_equal(p, "/home/u/.config/loupe/credentials");
    assert_int_equal(lp_cli_credentials_path(NULL, NULL, p, sizeof p, err, sizeof err), -1);
    assert_non_null(strstr(err, "HOME"));
    assert_int_equal(lp_cli_credentials_path("/a/very/long/folder", NULL, p, 10, err, sizeof err), -1);
}

static void test_parse_and_format(void **state)
{
    (void)state;
    lp_cli_credentials c;
    char text[2048];
    assert_int_equal(lp_cli_credentials_parse("# comment\n\n  url = http://h:8080/// \r\nkey=lp_ab_cd\n", &c, err,
                                              sizeof err),
                     0);
    assert_string_equal(c.url, "http://h:8080");
    assert_string_equal(c.key, "lp_ab_cd");
    int n = lp_cli_credentials_format(&c, text, sizeof text);
    assert_true(n > 0);
    lp_cli_credentials back;
    assert_int_equal(lp_cli_credentials_parse(text, &back, err, sizeof err), 0);
    assert_string_equal(back.url, c.url);
    assert_string_equal(back.key, c.key);

    assert_int_equal(lp_cli_credentials_parse("url = x\nsecret = y\n", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "secret"));
    assert_int_equal(lp_cli_credentials_parse("just words\n", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 1"));

    strcpy(c.key, "a\nurl = http://evil");
    assert_int_equal(lp_cli_credentials_format(&c, text, sizeof text), -1);
    assert_int_equal(lp_cli_credentials_format(&back, text, 8), -1);
}

static void test_save_and_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/loupe-cred-XXXXXX", path[512], sub[256];
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/cfg/loupe", dir);
    snprintf(path, sizeof path, "%s/credentials", sub);
    lp_cli_credentials c = {.url = "http://127.0.0.1:9", .key = "lp_12345678_secret"}, got;

    assert_int_equal(lp_cli_credentials_load(path, &got, err, sizeof err), 1); /* none yet */
    umask(022);
    assert_int_equal(lp_cli_credentials_save(path, &c, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(lp_cli_credentials_load(path, &got, err, sizeof err), 0);
    assert_string_equal(got.url, c.url);
    assert_string_equal(got.key, c.key);

    /* saved again over a file someone opened up: still 0600 */
    chmod(path, 0644);
    strcpy(c.key, "lp_87654321_other");
    assert_int_equal(lp_cli_credentials_save(path, &c, err, sizeof err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(lp_cli_credentials_load(path, &got, err, sizeof err), 0);
    assert_string_equal(got.key, "lp_87654321_other");

    FILE *f = fopen(path, "w");
    fputs("token = x\n", f);
    fclose(f);
    assert_int_equal(lp_cli_credentials_load(path, &got, err, sizeof err), -1);
    assert_non_null(strstr(err, "loupe login"));

    unlink(path);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/cfg", dir);
    rmdir(sub);
    rmdir(dir);
}

static void test_resolve(void **state)
{
    (void)state;
    lp_cli_credentials stored = {.url = "http://stored", .key = "lp_stored"}, out;
    lp_cli_credentials_resolve(&stored, NULL, NULL, NULL, &out);
    assert_string_equal(out.url, "http://stored");
    assert_string_equal(out.key, "lp_stored");
    lp_cli_credentials_resolve(&stored, NULL, "http://env/", "lp_env", &out);
    assert_string_equal(out.url, "http://env");
    assert_string_equal(out.key, "lp_env");
    lp_cli_credentials_resolve(&stored, "http://opt", "http://env", "", &out);
    assert_string_equal(out.url, "http://opt");
    assert_string_equal(out.key, "lp_stored");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_parse_and_format),
        cmocka_unit_test(test_save_and_load),
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
