/* The transform request (src/decoder/transform.c through src/jobs/decoder.c):
 * the worker's decoder turns image after image into derived files in one
 * process, reports unusable files and unknown slot types in its reply, and
 * after a transform killed at its deadline the next one succeeds on a fresh
 * process. The test images are made in a short-lived child. */
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
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "loupe/jobs/decoder.h"
#include "loupe/core/util.h"

static char dir[512];
static lp_config cfg;

static const char *path_in(const char *name)
{
    static char bufs[4][1024];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

/* Writes a width × height JPEG (a gradient) at path, from a child process. */
static void make_jpeg(const char *path, int width, int height)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lp_error err;
        lp_media_blob blob = {0};
        uint8_t *rgb = malloc((size_t)width * height * 3);
        if (!rgb || lp_media_init("decoder_transform_test", &err) != 0)
            _exit(1);
        for (int i = 0; i < width * height * 3; i++)
            rgb[i] = (uint8_t)(i % 251);
        if (lp_media_encode_rgb(rgb, width, height, (size_t)width * 3, LP_MEDIA_JPEG, 90, &blob, &err) != 0)
            _exit(1);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(blob.data, 1, blob.len, f) != blob.len || fclose(f) != 0)
            _exit(1);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int setup(void **state)
{
    (void)state;
    lp_error err;
    char *env[] = {NULL};
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/loupe-transform-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir) || lp_config_load(&cfg, NULL, env, &err) != 0)
        return -1;
    make_jpeg(path_in("a.jpg"), 640, 480);
    make_jpeg(path_in("b.jpg"), 300, 400);
    FILE *f = fopen(path_in("junk.jpg"), "wb");
    if (!f)
        return -1;
    fputs("\xff\xd8\xff this is not really a JPEG", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    lp_config_free(&cfg);
    return system(cmd) == 0 ? 0 : -1;
}

static lp_decoder *new_decoder(lp_error *err)
{
    lp_decoder_spec spec = {.program = LOUPE_DECODER_PROBE_PATH, .work_dir = dir, .processes = 1};
    return lp_decoder_new(&spec, err);
}

/* Runs one transform of src (type) into a new directory out; returns the
 * reply document (new) and the decoder's pid. */
static json_t *transform(lp_decoder *d, const char *src, const char *type, const char *out, int64_t ms,
                         lp_decoder_result *res)
{
    lp_decoder_transform_args a = {.src = path_in(src), .out_dir = path_in(out), .type = type};
    lp_error err;
    json_error_t jerr;
    lp_error_clear(&err);
    lp_media_limits_from_config(&a.limits, &cfg);
    assert_int_equal(mkdir(a.out_dir, 0700), 0);
    if (lp_decoder_transform(d, &a, lp_now_mono_ms() + ms, res, &err) != 0)
        fail_msg("lp_decoder_transform: %s", err.message);
    if (res->end != LP_DECODER_REPLIED)
        return NULL;
    assert_int_equal(res->status, 0);
    json_t *doc = json_loadb(res->output, res->output_len, 0, &jerr);
    assert_non_null(doc);
    return doc;
}

static void test_one_decoder_serves_image_after_image(void **state)
{
    (void)state;
    lp_error err;
    lp_decoder_result r1, r2;
    lp_decoder *d = new_decoder(&err);
    assert_non_null(d);

    json_t *doc = transform(d, "a.jpg", "image", "out-a", 30000, &r1);
    assert_non_null(doc);
    assert_true(json_is_true(json_object_get(doc, "ok")));
    assert_int_equal(json_integer_value(json_object_get(doc, "width")), 640);
    assert_int_equal(json_integer_value(json_object_get(doc, "height")), 480);
    const char *thumb = json_string_value(json_object_get(json_object_get(json_object_get(doc, "files"), "thumbnail"),
                                                          "file"));
    assert_non_null(thumb);
    char path[1100];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", path_in("out-a"), thumb);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 100);
    json_decref(doc);

    doc = transform(d, "b.jpg", "image", "out-b", 30000, &r2);
    assert_non_null(doc);
    assert_true(json_is_true(json_object_get(doc, "ok")));
    assert_int_equal(json_integer_value(json_object_get(doc, "width")), 300);
    json_decref(doc);
    assert_int_equal(r2.pid, r1.pid);
    assert_int_not_equal(r1.pid, getpid());
    lp_decoder_result_free(&r1);
    lp_decoder_result_free(&r2);
    lp_decoder_free(d);
}

static void test_unusable_files_are_answered_not_fatal(void **state)
{
    (void)state;
    lp_error err;
    lp_decoder_result r1, r2, r3;
    lp_decoder *d = new_decoder(&err);
    assert_non_null(d);

    json_t *doc = transform(d, "junk.jpg", "image", "out-junk", 30000, &r1);
    assert_non_null(doc);
    assert_true(json_is_false(json_object_get(doc, "ok")));
    assert_non_null(json_string_value(json_object_get(doc, "message")));
    json_decref(doc);

    doc = transform(d, "a.jpg", "audio", "out-audio", 30000, &r2);
    assert_non_null(doc);
    assert_true(json_is_false(json_object_get(doc, "ok")));
    assert_string_equal(json_string_value(json_object_get(doc, "message")),
                        "slots of type audio are not normalized yet; use an image, video or volume slot");
    json_decref(doc);

    doc = transform(d, "a.jpg", "image", "out-after-junk", 30000, &r3);
    assert_true(json_is_true(json_object_get(doc, "ok")));
    json_decref(doc);
    assert_int_equal(r2.pid, r1.pid);
    assert_int_equal(r3.pid, r1.pid);
    lp_decoder_result_free(&r1);
    lp_decoder_result_free(&r2);
    lp_decoder_result_free(&r3);
    lp_decoder_free(d);
}

/* A pool made with a relative work directory names it absolutely: its
 * processes run inside it, so requests must not carry relative paths. */
static void test_a_relative_work_directory_is_made_absolute(void **state)
{
    (void)state;
    char cwd[1024], rel[600], src[1200];
    lp_error err;
    lp_decoder_result r;
    json_error_t jerr;
    assert_non_null(getcwd(cwd, sizeof cwd));
    const char *slash = strrchr(dir, '/');
    assert_non_null(slash);
    snprintf(rel, sizeof rel, "%.*s", (int)(slash - dir), dir);
    assert_int_equal(chdir(rel), 0);
    lp_decoder_spec spec = {.program = LOUPE_DECODER_PROBE_PATH, .work_dir = slash + 1, .processes = 1};
    lp_error_clear(&err);
    lp_decoder *d = lp_decoder_new(&spec, &err);
    assert_int_equal(chdir(cwd), 0);
    assert_non_null(d);
    char *abs = realpath(dir, NULL);
    assert_non_null(abs);
    assert_string_equal(lp_decoder_work_dir(d), abs);
    free(abs);
    snprintf(src, sizeof src, "%s/a.jpg", lp_decoder_work_dir(d));
    lp_decoder_transform_args a = {.src = src, .out_dir = path_in("out-rel"), .type = "image"};
    lp_media_limits_from_config(&a.limits, &cfg);
    assert_int_equal(mkdir(a.out_dir, 0700), 0);
    assert_int_equal(lp_decoder_transform(d, &a, lp_now_mono_ms() + 30000, &r, &err), 0);
    json_t *doc = json_loadb(r.output, r.output_len, 0, &jerr);
    assert_true(json_is_true(json_object_get(doc, "ok")));
    json_decref(doc);
    lp_decoder_result_free(&r);
    lp_decoder_free(d);
}

static void test_a_transform_past_its_deadline_is_killed_and_the_next_succeeds(void **state)
{
    (void)state;
    lp_error err;
    lp_decoder_result r1, r2, r3;
    lp_decoder *d = new_decoder(&err);
    assert_non_null(d);

    json_decref(transform(d, "a.jpg", "image", "out-warm", 30000, &r1));
    /* 1 ms is too short for any decode */
    assert_null(transform(d, "a.jpg", "image", "out-late", 1, &r2));
    assert_int_equal(r2.end, LP_DECODER_TIMED_OUT);
    assert_int_equal(r2.pid, r1.pid);
    assert_int_equal(kill(r1.pid, 0), -1); /* killed and reaped */

    json_t *doc = transform(d, "b.jpg", "image", "out-next", 30000, &r3);
    assert_non_null(doc);
    assert_true(json_is_true(json_object_get(doc, "ok")));
    assert_int_not_equal(r3.pid, r1.pid);
    json_decref(doc);
    lp_decoder_result_free(&r1);
    lp_decoder_result_free(&r2);
    lp_decoder_result_free(&r3);
    lp_decoder_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_decoder_serves_image_after_image),
        cmocka_unit_test(test_unusable_files_are_answered_not_fatal),
        cmocka_unit_test(test_a_transform_past_its_deadline_is_killed_and_the_next_succeeds),
        cmocka_unit_test(test_a_relative_work_directory_is_made_absolute),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
