/* The zip reader for imports: a clean archive read back member by member,
 * and every hostile archive refused at open (or, for a lying header, at
 * read) with a message naming the member — zip slip, absolute paths and
 * drive letters, a symbolic link, a nested archive, a zip bomb by ratio, by
 * total size and by overlapping members, too many members, encryption, a
 * damaged file. Archives are made with the zip writer and patched. */
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
#include "loupe/formats/unzip.h"
#include "loupe/formats/zip.h"

static const lp_unzip_limits LIM = {.max_members = 100, .max_member_bytes = 64u << 20,
                                    .max_total_bytes = 128u << 20, .max_ratio = 100};

static int to_buf(void *ud, const void *p, size_t n, lp_error *err)
{
    (void)err;
    return lp_buf_append(ud, p, n) == 0 ? 0 : -1;
}

/* An archive of (name, text) pairs; big: bytes of zeros for the last member. */
static void make(lp_buf *out, const char *const *names, const char *const *texts, size_t n, size_t zeros)
{
    lp_error err;
    lp_buf_init(out, 256u << 20);
    lp_zip *z = lp_zip_new(to_buf, out, 0, &err);
    assert_non_null(z);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(lp_zip_begin(z, names[i], LP_ZIP_DEFLATE, 6, &err), 0);
        assert_int_equal(lp_zip_write(z, texts[i], strlen(texts[i]), &err), 0);
        if (zeros && i == n - 1) {
            static char block[65536];
            for (size_t k = 0; k < zeros; k += sizeof block)
                assert_int_equal(lp_zip_write(z, block, sizeof block, &err), 0);
        }
    }
    assert_int_equal(lp_zip_finish(z, &err), 0);
    lp_zip_free(z);
}

/* The central header of member name in an archive. */
static unsigned char *central(lp_buf *b, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i + 46 + n <= b->len; i++) {
        unsigned char *p = (unsigned char *)b->data + i;
        if (p[0] == 0x50 && p[1] == 0x4b && p[2] == 1 && p[3] == 2 && (size_t)(p[28] | p[29] << 8) == n &&
            memcmp(p + 46, name, n) == 0)
            return p;
    }
    fail_msg("no central header for %s", name);
    return NULL;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Opens the archive in b: the reader, or NULL with err. */
static lp_unzip *open_buf(lp_buf *b, const lp_unzip_limits *lim, lp_error *err, int *fd_out)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
    fflush(f);
    int fd = dup(fileno(f));
    fclose(f);
    lp_error_clear(err);
    *fd_out = fd;
    return lp_unzip_open(fd, b->len, lim, err);
}

static void refused(lp_buf *b, const lp_unzip_limits *lim, lp_code code, const char *says)
{
    lp_error err;
    int fd;
    lp_unzip *z = open_buf(b, lim ? lim : &LIM, &err, &fd);
    close(fd);
    if (z) {
        lp_unzip_free(z);
        fail_msg("an archive that should say \"%s\" was accepted", says);
    }
    assert_int_equal(err.code, code);
    if (!strstr(err.message, says))
        fail_msg("\"%s\" does not say \"%s\"", err.message, says);
    lp_buf_free(b);
}

static void test_clean_archive(void **state)
{
    (void)state;
    const char *names[] = {"annotations/instances.json", "labels/", "labels/a b/\xc3\xa9t\xc3\xa9.txt"};
    const char *texts[] = {"{\"images\":[]}", "", "0 0.5 0.5 1 1\n"};
    lp_buf b, got;
    lp_error err;
    int fd;
    make(&b, names, texts, 3, 0);
    lp_unzip *z = open_buf(&b, &LIM, &err, &fd);
    if (!z)
        fail_msg("%s", err.message);
    assert_int_equal(lp_unzip_count(z), 3);
    assert_true(lp_unzip_at(z, 1)->folder);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(lp_unzip_at(z, i)->name, names[i]);
        lp_buf_init(&got, 1 << 20);
        assert_int_equal(lp_unzip_read(z, i, to_buf, &got, &err), 0);
        assert_int_equal(got.len, strlen(texts[i]));
        assert_memory_equal(got.data ? got.data : "", texts[i], got.len);
        lp_buf_free(&got);
    }
    lp_unzip_free(z);
    close(fd);
    lp_buf_free(&b);
}

static void test_paths_links_and_nesting(void **state)
{
    (void)state;
    lp_buf b;
    const char *t[] = {"x"};
    const char *slip[] = {"../../x"}, *deep[] = {"a/../../x"}, *drive[] = {"C:/Windows/x"}, *back[] = {"a\\..\\x"},
               *nested[] = {"inner.ZIP"}, *tgz[] = {"data.tar.gz"};
    make(&b, slip, t, 1, 0);
    refused(&b, NULL, LP_E_INVALID, "zip slip");
    make(&b, deep, t, 1, 0);
    refused(&b, NULL, LP_E_INVALID, "zip slip");
    make(&b, drive, t, 1, 0);
    refused(&b, NULL, LP_E_INVALID, "drive letter");
    make(&b, back, t, 1, 0);
    refused(&b, NULL, LP_E_INVALID, "backslash");
    make(&b, nested, t, 1, 0);
    refused(&b, NULL, LP_E_INVALID, "nested archives");
    make(&b, tgz, t, 1, 0);
    refused(&b, NULL, LP_E_INVALID, "nested archives");
    /* a compressed NIfTI volume is one file */
    const char *nii[] = {"labels/head.nii.gz"};
    make(&b, nii, t, 1, 0);
    lp_error err;
    int fd;
    lp_unzip *z = open_buf(&b, &LIM, &err, &fd);
    if (!z)
        fail_msg("%s", err.message);
    lp_unzip_free(z);
    close(fd);
    lp_buf_free(&b);

    /* an absolute name: written as "Xetc/passwd", patched to "/etc/passwd" */
    const char *abs[] = {"Xetc/passwd"};
    make(&b, abs, t, 1, 0);
    central(&b, "Xetc/passwd")[46] = '/';
    refused(&b, NULL, LP_E_INVALID, "absolute path");

    /* a symbolic link: Unix mode 0120777 in the external attributes */
    const char *link[] = {"labels/a.txt"};
    make(&b, link, t, 1, 0);
    put32(central(&b, "labels/a.txt") + 38, 0120777u << 16);
    refused(&b, NULL, LP_E_INVALID, "symbolic link");

    /* encrypted */
    make(&b, link, t, 1, 0);
    central(&b, "labels/a.txt")[8] |= 1;
    refused(&b, NULL, LP_E_INVALID, "encrypted");

    /* invalid UTF-8 */
    const char *latin[] = {"caf\xe9.txt"};
    make(&b, latin, t, 1, 0);
    refused(&b, NULL, LP_E_INVALID, "UTF-8");

    /* the same name twice */
    const char *twice[] = {"a.txt", "a.txt"}, *t2[] = {"x", "y"};
    make(&b, twice, t2, 2, 0);
    refused(&b, NULL, LP_E_INVALID, "twice");
}

/* lp_unzip_read_all: the very bytes lp_unzip_read gives, for a deflated
 * member and a stored one; a header that lies about the size, or a CRC that
 * does not match, is refused without a byte written past the declared size. */
static void test_read_whole_members(void **state)
{
    (void)state;
    const char *names[] = {"slice-1.dcm", "empty.txt", "slice-2.dcm"};
    const char *texts[] = {"DICM and some pixels, DICM and some pixels", "", "the last member, then zeros"};
    lp_buf b, got;
    lp_error err;
    int fd;
    make(&b, names, texts, 3, 256u << 10);
    lp_unzip *z = open_buf(&b, &LIM, &err, &fd);
    if (!z)
        fail_msg("%s", err.message);
    for (size_t i = 0; i < 3; i++) {
        size_t size = (size_t)lp_unzip_at(z, i)->size;
        char *whole = malloc(size + 1);
        assert_non_null(whole);
        lp_buf_init(&got, 4u << 20);
        assert_int_equal(lp_unzip_read(z, i, to_buf, &got, &err), 0);
        assert_int_equal(lp_unzip_read_all(z, i, whole, &err), 0);
        assert_int_equal(got.len, size);
        assert_memory_equal(whole, got.data ? got.data : "", size);
        lp_buf_free(&got);
        free(whole);
    }
    lp_unzip_free(z);
    close(fd);
    lp_buf_free(&b);

    /* a stored member (what a multi-file upload becomes) */
    {
        lp_zip *zw;
        lp_buf_init(&b, 1 << 20);
        zw = lp_zip_new(to_buf, &b, 0, &err);
        assert_non_null(zw);
        assert_int_equal(lp_zip_begin(zw, "stored.dcm", LP_ZIP_STORE, 0, &err), 0);
        assert_int_equal(lp_zip_write(zw, "stored bytes", 12, &err), 0);
        assert_int_equal(lp_zip_finish(zw, &err), 0);
        lp_zip_free(zw);
    }
    z = open_buf(&b, &LIM, &err, &fd);
    if (!z)
        fail_msg("%s", err.message);
    char stored[13] = {0};
    assert_int_equal(lp_unzip_at(z, 0)->method, 0);
    assert_int_equal(lp_unzip_read_all(z, 0, stored, &err), 0);
    assert_string_equal(stored, "stored bytes");
    lp_unzip_free(z);
    close(fd);
    lp_buf_free(&b);

    /* declared 4 bytes, inflates to 15: refused, nothing past the 4 bytes touched */
    const char *liar[] = {"small.txt"}, *tl[] = {"fifteen bytes!!"};
    make(&b, liar, tl, 1, 0);
    put32(central(&b, "small.txt") + 24, 4);
    z = open_buf(&b, &LIM, &err, &fd);
    assert_non_null(z);
    char out[16];
    memset(out, '#', sizeof out);
    assert_int_equal(lp_unzip_read_all(z, 0, out, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_non_null(strstr(err.message, "more bytes than its header says"));
    for (size_t k = 4; k < sizeof out; k++)
        assert_int_equal(out[k], '#');
    lp_unzip_free(z);
    close(fd);
    lp_buf_free(&b);

    /* a CRC that does not match */
    make(&b, liar, tl, 1, 0);
    put32(central(&b, "small.txt") + 16, 0x12345678);
    z = open_buf(&b, &LIM, &err, &fd);
    assert_non_null(z);
    assert_int_equal(lp_unzip_read_all(z, 0, out, &err), -1);
    assert_non_null(strstr(err.message, "CRC does not match"));
    lp_unzip_free(z);
    close(fd);
    lp_buf_free(&b);
}

static void test_bombs(void **state)
{
    (void)state;
    lp_buf b;
    const char *one[] = {"zeros.bin"}, *t[] = {""};
    /* 8 MiB of zeros deflate about 1000 times */
    make(&b, one, t, 1, 8u << 20);
    refused(&b, NULL, LP_E_TOO_LARGE, "zip bomb");
    lp_unzip_limits small = LIM;
    small.max_ratio = 100000;
    small.max_member_bytes = 4u << 20;
    make(&b, one, t, 1, 8u << 20);
    refused(&b, &small, LP_E_TOO_LARGE, "over the limit");
    small.max_member_bytes = 64u << 20;
    small.max_total_bytes = 12u << 20;
    const char *two[] = {"a.bin", "b.bin"}, *t2[] = {"", ""};
    /* two 8 MiB members: each within its cap, together over the total */
    {
        lp_error err;
        lp_zip *z;
        static char block[65536];
        lp_buf_init(&b, 64u << 20);
        z = lp_zip_new(to_buf, &b, 0, &err);
        for (int m = 0; m < 2; m++) {
            assert_int_equal(lp_zip_begin(z, two[m], LP_ZIP_DEFLATE, 1, &err), 0);
            for (size_t k = 0; k < (8u << 20); k += sizeof block)
                assert_int_equal(lp_zip_write(z, block, sizeof block, &err), 0);
        }
        assert_int_equal(lp_zip_finish(z, &err), 0);
        lp_zip_free(z);
        (void)t2;
    }
    refused(&b, &small, LP_E_TOO_LARGE, "expands to more than");

    /* overlapping members: the second member's header is the first's */
    const char *pair[] = {"a.txt", "b.txt"}, *tp[] = {"aaaa", "bbbb"};
    make(&b, pair, tp, 2, 0);
    put32(central(&b, "b.txt") + 42, 0);
    refused(&b, NULL, LP_E_INVALID, "overlap");

    /* too many members */
    const char *three[] = {"1", "2", "3"}, *t3[] = {"", "", ""};
    lp_unzip_limits few = LIM;
    few.max_members = 2;
    make(&b, three, t3, 3, 0);
    refused(&b, &few, LP_E_TOO_LARGE, "members, over the limit");

    /* a lying header: declared 4 bytes, inflates to 15 — refused when read */
    const char *liar[] = {"small.txt"}, *tl[] = {"fifteen bytes!!"};
    make(&b, liar, tl, 1, 0);
    put32(central(&b, "small.txt") + 24, 4);
    lp_error err;
    int fd;
    lp_unzip *z = open_buf(&b, &LIM, &err, &fd);
    assert_non_null(z);
    lp_buf got;
    lp_buf_init(&got, 1 << 20);
    assert_int_equal(lp_unzip_read(z, 0, to_buf, &got, &err), -1);
    assert_non_null(strstr(err.message, "more bytes than its header says"));
    assert_true(got.len <= 4);
    lp_buf_free(&got);
    lp_unzip_free(z);
    close(fd);
    lp_buf_free(&b);

    /* not a zip at all */
    lp_buf_init(&b, 1 << 20);
    assert_int_equal(lp_buf_puts(&b, "{\"images\": [] , \"padding\": \"..........................\"}"), 0);
    refused(&b, NULL, LP_E_INVALID, "not a zip archive");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_archive),
        cmocka_unit_test(test_paths_links_and_nesting),
        cmocka_unit_test(test_read_whole_members),
        cmocka_unit_test(test_bombs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
