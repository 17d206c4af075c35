#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "loupe/core/config.h"

static void defaults_load(void **state)
{
    lp_config cfg;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_config_defaults(&cfg, &err), 0);
    assert_string_equal(cfg.http_bind, "127.0.0.1");
    assert_int_equal(cfg.http_port, 8470);
    assert_int_equal(cfg.http_body_limit, 1024 * 1024);
    assert_int_equal(cfg.http_idle_timeout, 60000);
    assert_true(cfg.db_migrate_on_start);
    lp_config_free(&cfg);
}

static void parsers(void **state)
{
    int64_t v;
    assert_int_equal(lp_parse_size("64M", &v), 0);
    assert_int_equal(v, 64 * 1024 * 1024);
    assert_int_equal(lp_parse_size("10k", &v), 0);
    assert_int_equal(v, 10240);
    assert_int_equal(lp_parse_size("2GiB", &v), 0);
    assert_int_equal(v, 2LL * 1024 * 1024 * 1024);
    assert_int_equal(lp_parse_size("12", &v), 0);
    assert_int_equal(v, 12);
    assert_int_equal(lp_parse_size("-1", &v), -1);
    assert_int_equal(lp_parse_size("1X", &v), -1);
    assert_int_equal(lp_parse_size("99999999999999999999", &v), -1);
    assert_int_equal(lp_parse_size("9000000000T", &v), -1);
    assert_int_equal(lp_parse_duration_ms("250ms", &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(lp_parse_duration_ms("5s", &v), 0);
    assert_int_equal(v, 5000);
    assert_int_equal(lp_parse_duration_ms("2m", &v), 0);
    assert_int_equal(v, 120000);
    assert_int_equal(lp_parse_duration_ms("1h", &v), 0);
    assert_int_equal(v, 3600000);
    assert_int_equal(lp_parse_duration_ms("soon", &v), -1);
    int b;
    assert_int_equal(lp_parse_bool("yes", &b), 0);
    assert_true(b);
    assert_int_equal(lp_parse_bool("OFF", &b), 0);
    assert_false(b);
    assert_int_equal(lp_parse_bool("maybe", &b), -1);
}

static void errors_name_the_setting_and_source(void **state)
{
    lp_config cfg;
    lp_error err;
    lp_error_clear(&err);
    lp_config_defaults(&cfg, &err);
    assert_int_equal(lp_config_set(&cfg, "http_port", "70000", "test", &err), -1);
    assert_non_null(strstr(err.message, "http_port"));
    assert_non_null(strstr(err.message, "65535"));
    lp_error_clear(&err);
    assert_int_equal(lp_config_set(&cfg, "no_such_thing", "1", "test", &err), -1);
    assert_non_null(strstr(err.message, "unknown setting"));
    lp_error_clear(&err);
    /* a retired setting is ignored with a warning, so an older configuration file still starts */
    assert_int_equal(lp_config_set(&cfg, "signin_tracked_keys", "100", "test", &err), 0);
    lp_error_clear(&err);
    assert_int_equal(lp_config_set(&cfg, "http_body_limit", "lots", "LOUPE_HTTP_BODY_LIMIT", &err), -1);
    assert_non_null(strstr(err.message, "LOUPE_HTTP_BODY_LIMIT"));
    lp_config_free(&cfg);
}

static void file_then_env(void **state)
{
    char path[] = "/tmp/loupe-config-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# comment\n\nhttp_port = 9000\nstorage_dir = \"/srv/loupe data\"\n"
                       "log_level = debug  # trailing comment\nhttp_body_limit=2M\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char *env[] = {"LOUPE_HTTP_PORT=9001", "LOUPE_UNRELATED_TOOL=x", "PATH=/bin", NULL};
    lp_config cfg;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_config_load(&cfg, path, env, &err), 0);
    assert_int_equal(cfg.http_port, 9001);
    assert_string_equal(cfg.storage_dir, "/srv/loupe data");
    assert_string_equal(cfg.log_level, "debug");
    assert_int_equal(cfg.http_body_limit, 2 * 1024 * 1024);
    assert_int_equal(lp_config_set_pair(&cfg, "http_port=9002", "--set", &err), 0);
    assert_int_equal(cfg.http_port, 9002);
    assert_int_equal(lp_config_set_pair(&cfg, "=9002", "--set", &err), -1);
    lp_config_free(&cfg);

    FILE *f = fopen(path, "w");
    fputs("http_port 9000\n", f);
    fclose(f);
    lp_error_clear(&err);
    assert_int_equal(lp_config_load(&cfg, path, NULL, &err), -1);
    assert_non_null(strstr(err.message, ":1:"));
    lp_config_free(&cfg);
    unlink(path);
}

static void table_is_complete(void **state)
{
    size_t n;
    const lp_cfg_entry *t = lp_config_table(&n);
    assert_true(n > 20);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(t[i].help);
        assert_true(strlen(t[i].help) > 10);
        assert_ptr_equal(lp_config_find(t[i].name), &t[i]);
    }
    lp_config cfg;
    lp_error err;
    lp_error_clear(&err);
    lp_config_defaults(&cfg, &err);
    lp_config_set(&cfg, "secret_key", "hunter2", "test", &err);
    char out[64];
    lp_config_format(&cfg, lp_config_find("secret_key"), out, sizeof(out));
    assert_string_equal(out, "(set)");
    lp_config_free(&cfg);
}

static void real_settings(void **state)
{
    lp_config cfg;
    lp_error err;
    char out[64];
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_config_defaults(&cfg, &err), 0);
    assert_true(cfg.webhook_retry_scale == 1.0);
    assert_int_equal(lp_config_set(&cfg, "webhook_retry_scale", "0.001", "test", &err), 0);
    assert_true(cfg.webhook_retry_scale > 0.00099 && cfg.webhook_retry_scale < 0.00101);
    lp_config_format(&cfg, lp_config_find("webhook_retry_scale"), out, sizeof(out));
    assert_string_equal(out, "0.001");
    assert_int_equal(lp_config_set(&cfg, "webhook_retry_scale", "fast", "test", &err), -1);
    assert_non_null(strstr(err.message, "is not a number"));
    lp_error_clear(&err);
    assert_int_equal(lp_config_set(&cfg, "webhook_retry_scale", "-1", "test", &err), -1);
    assert_int_equal(lp_config_set(&cfg, "webhook_retry_scale", "nan", "test", &err), -1);
    lp_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_load), cmocka_unit_test(parsers), cmocka_unit_test(errors_name_the_setting_and_source),
        cmocka_unit_test(file_then_env), cmocka_unit_test(table_is_complete), cmocka_unit_test(real_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
