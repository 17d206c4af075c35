/* The streaming zip writer: archives read back by an independent reader
 * (Python's zipfile), stored and deflated members, bytes split at every
 * size, the zip64 end records past 65,535 members, and a receiver that
 * stops the archive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/core/buf.h"
#include "loupe/formats/zip.h"

static int to_file(void *ud, const void *p, size_t n, lp_error *err)
{
    (void)err;
    return fwrite(p, 1, n, ud) == n ? 0 : -1;
}

/* Runs a Python check on the archive at path; its exit status. */
static int python_check(const char *path, const char *script)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 -c '%s' %s", script, path);
    return system(cmd);
}

static void test_members_read_back(void **state)
{
    (void)state;
    char path[] = "/tmp/loupe-zip-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    lp_error err;
    lp_zip *z = lp_zip_new(to_file, f, 1700000000, &err);
    assert_non_null(z);
    /* a deflated text written in odd pieces, a stored binary, an empty member, a UTF-8 name */
    assert_int_equal(lp_zip_begin(z, "a/b.json", LP_ZIP_DEFLATE, 6, &err), 0);
    for (int i = 0; i < 20000; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "{\"n\":%d}\n", i);
        assert_int_equal(lp_zip_write(z, line, (size_t)n, &err), 0);
    }
    assert_int_equal(lp_zip_begin(z, "bin.dat", LP_ZIP_STORE, 0, &err), 0);
    unsigned char bytes[70000];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)(i * 7 + (i >> 8));
    assert_int_equal(lp_zip_write(z, bytes, sizeof bytes, &err), 0);
    assert_int_equal(lp_zip_begin(z, "empty.txt", LP_ZIP_DEFLATE, 1, &err), 0);
    assert_int_equal(lp_zip_begin(z, "caf\xc3\xa9/\xc3\xa9t\xc3\xa9.txt", LP_ZIP_STORE, 0, &err), 0);
    assert_int_equal(lp_zip_write(z, "x", 1, &err), 0);
    assert_int_equal(lp_zip_finish(z, &err), 0);
    assert_int_equal(lp_zip_members(z), 4);
    assert_int_equal(lp_zip_begin(z, "late", LP_ZIP_STORE, 0, &err), -1); /* finished */
    lp_zip_free(z);
    fclose(f);
    assert_int_equal(python_check(path, "import zipfile,sys\n"
                                        "z=zipfile.ZipFile(sys.argv[1])\n"
                                        "assert z.testzip() is None\n"
                                        "n=z.namelist()\n"
                                        "assert n==[\"a/b.json\",\"bin.dat\",\"empty.txt\",\"caf\\u00e9/\\u00e9t\\u00e9.txt\"],n\n"
                                        "t=z.read(\"a/b.json\").decode()\n"
                                        "assert t==\"\".join(\"{\\\"n\\\":%d}\\n\"%i for i in range(20000))\n"
                                        "b=z.read(\"bin.dat\")\n"
                                        "assert b==bytes((i*7+(i>>8))&255 for i in range(70000))\n"
                                        "assert z.read(\"empty.txt\")==b\"\"\n"
                                        "i=z.getinfo(\"a/b.json\")\n"
                                        "assert i.compress_type==8 and i.compress_size<i.file_size\n"
                                        "assert i.date_time==(2023,11,14,22,13,20),i.date_time\n"),
                     0);
    unlink(path);
}

static void test_zip64_member_count(void **state)
{
    (void)state;
    char path[] = "/tmp/loupe-zip64-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    lp_error err;
    lp_zip *z = lp_zip_new(to_file, f, 0, &err);
    assert_non_null(z);
    for (int i = 0; i < 70000; i++) {
        char name[32];
        snprintf(name, sizeof name, "labels/%05d.txt", i);
        assert_int_equal(lp_zip_begin(z, name, LP_ZIP_STORE, 0, &err), 0);
        assert_int_equal(lp_zip_write(z, name, 5, &err), 0);
    }
    assert_int_equal(lp_zip_finish(z, &err), 0);
    lp_zip_free(z);
    fclose(f);
    assert_int_equal(python_check(path, "import zipfile,sys\n"
                                        "z=zipfile.ZipFile(sys.argv[1])\n"
                                        "n=z.namelist()\n"
                                        "assert len(n)==70000,len(n)\n"
                                        "assert z.read(\"labels/69999.txt\")==b\"label\"\n"),
                     0);
    unlink(path);
}

static int stop_after(void *ud, const void *p, size_t n, lp_error *err)
{
    (void)p;
    size_t *left = ud;
    if (n > *left)
        return lp_error_set(err, LP_E_IO, "storage refused the write");
    *left -= n;
    return 0;
}

static void test_receiver_stops(void **state)
{
    (void)state;
    size_t left = 100000;
    lp_error err;
    lp_error_clear(&err);
    lp_zip *z = lp_zip_new(stop_after, &left, 0, &err);
    assert_non_null(z);
    assert_int_equal(lp_zip_begin(z, "x.bin", LP_ZIP_STORE, 0, &err), 0);
    unsigned char chunk[4096] = {0};
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = lp_zip_write(z, chunk, sizeof chunk, &err);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, LP_E_IO);
    assert_int_equal(lp_zip_finish(z, &err), -1); /* failed writers accept nothing more */
    lp_zip_free(z);
    /* bad names */
    z = lp_zip_new(stop_after, &left, 0, &err);
    assert_int_equal(lp_zip_begin(z, "/abs", LP_ZIP_STORE, 0, &err), -1);
    assert_int_equal(lp_zip_begin(z, "", LP_ZIP_STORE, 0, &err), -1);
    lp_zip_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_read_back),
        cmocka_unit_test(test_zip64_member_count),
        cmocka_unit_test(test_receiver_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
