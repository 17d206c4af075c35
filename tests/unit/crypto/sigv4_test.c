/* AWS Signature Version 4 against AWS's published examples:
 *  - S3 "Authenticating Requests: Using Query Parameters" presigned GET example;
 *  - S3 "Signature Calculations for the Authorization Header" GET Object example
 *    (with a Range header);
 *  - aws-sig-v4-test-suite get-vanilla and get-vanilla-query-order-key-case;
 *  - the IAM ListUsers walkthrough (signing key, canonical request hash,
 *    signature) of the SigV4 documentation.
 * Plus URI-encoding edge cases and input validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/core/util.h"
#include "loupe/crypto/sha256.h"
#include "loupe/crypto/sigv4.h"

#define T_20130524 1369353600 /* 20130524T000000Z */
#define T_20150830 1440938160 /* 20150830T123600Z */

static const lp_sigv4_credentials s3_example = {
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
static const lp_sigv4_credentials suite = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"};

static void test_amz_date(void **state)
{
    char d[17];
    (void)state;
    assert_int_equal(lp_sigv4_amz_date(T_20130524, d), 0);
    assert_string_equal(d, "20130524T000000Z");
    assert_int_equal(lp_sigv4_amz_date(T_20150830, d), 0);
    assert_string_equal(d, "20150830T123600Z");
    assert_int_equal(lp_sigv4_amz_date(-1, d), -1);
}

static void test_presigned_get_example(void **state)
{
    lp_buf url, url2;
    lp_error err;
    lp_sigv4_presign p = {.method = "GET", .scheme = "https", .host = "examplebucket.s3.amazonaws.com",
                          .path = "/test.txt", .time = T_20130524, .expires = 86400};
    (void)state;
    lp_error_clear(&err);
    lp_buf_init(&url, 4096);
    lp_buf_init(&url2, 4096);
    assert_int_equal(lp_sigv4_presign_url(&s3_example, &p, &url, &err), 0);
    assert_string_equal(url.data,
                        "https://examplebucket.s3.amazonaws.com/test.txt"
                        "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    /* Deterministic: the same inputs give the same URL. */
    assert_int_equal(lp_sigv4_presign_url(&s3_example, &p, &url2, &err), 0);
    assert_string_equal(url.data, url2.data);
    /* Any change of input changes the signature. */
    p.time += 1;
    lp_buf_reset(&url2);
    assert_int_equal(lp_sigv4_presign_url(&s3_example, &p, &url2, &err), 0);
    assert_null(strstr(url2.data, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"));
    lp_buf_free(&url);
    lp_buf_free(&url2);
}

static void test_get_object_with_range_example(void **state)
{
    const lp_sigv4_pair headers[] = {
        {"Range", "bytes=0-9"},
        {"x-amz-content-sha256", LP_SHA256_EMPTY_HEX},
        {"x-amz-date", "20130524T000000Z"},
    };
    lp_sigv4_request r = {.method = "GET", .host = "examplebucket.s3.amazonaws.com", .path = "/test.txt",
                          .headers = headers, .nheaders = 3, .payload_hash = LP_SHA256_EMPTY_HEX,
                          .time = T_20130524};
    lp_buf canon, auth;
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    lp_buf_init(&canon, 4096);
    lp_buf_init(&auth, 4096);
    assert_int_equal(lp_sigv4_canonical_request(&r, &canon, &err), 0);
    assert_string_equal(canon.data, "GET\n/test.txt\n\n"
                                    "host:examplebucket.s3.amazonaws.com\n"
                                    "range:bytes=0-9\n"
                                    "x-amz-content-sha256:" LP_SHA256_EMPTY_HEX "\n"
                                    "x-amz-date:20130524T000000Z\n\n"
                                    "host;range;x-amz-content-sha256;x-amz-date\n" LP_SHA256_EMPTY_HEX);
    assert_int_equal(lp_sigv4_authorization(&s3_example, &r, &auth, &err), 0);
    assert_string_equal(auth.data,
                        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    lp_buf_free(&canon);
    lp_buf_free(&auth);
}

static void test_suite_get_vanilla(void **state)
{
    const lp_sigv4_pair headers[] = {{"X-Amz-Date", "20150830T123600Z"}};
    const lp_sigv4_pair query[] = {{"Param2", "value2"}, {"Param1", "value1"}};
    lp_sigv4_request r = {.method = "GET", .host = "example.amazonaws.com", .path = "/", .headers = headers,
                          .nheaders = 1, .payload_hash = LP_SHA256_EMPTY_HEX, .time = T_20150830};
    lp_buf auth;
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    lp_buf_init(&auth, 4096);
    assert_int_equal(lp_sigv4_authorization(&suite, &r, &auth, &err), 0);
    assert_string_equal(auth.data,
                        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                        "SignedHeaders=host;x-amz-date, "
                        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    /* get-vanilla-query-order-key-case: parameters given out of order. */
    r.query = query;
    r.nquery = 2;
    lp_buf_reset(&auth);
    assert_int_equal(lp_sigv4_authorization(&suite, &r, &auth, &err), 0);
    assert_non_null(strstr(auth.data, "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
    lp_buf_free(&auth);
}

static void test_iam_walkthrough(void **state)
{
    const lp_sigv4_credentials iam = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "iam"};
    const lp_sigv4_pair headers[] = {
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
        {"X-Amz-Date", "20150830T123600Z"},
    };
    const lp_sigv4_pair query[] = {{"Version", "2010-05-08"}, {"Action", "ListUsers"}};
    lp_sigv4_request r = {.method = "GET", .host = "iam.amazonaws.com", .path = "/", .query = query, .nquery = 2,
                          .headers = headers, .nheaders = 2, .payload_hash = LP_SHA256_EMPTY_HEX,
                          .time = T_20150830};
    uint8_t key[32];
    char hex[65];
    lp_buf canon, sts, auth;
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_sigv4_signing_key(iam.secret_key, "20150830", "us-east-1", "iam", key), 0);
    lp_hex_encode(key, 32, hex);
    assert_string_equal(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");

    lp_buf_init(&canon, 4096);
    lp_buf_init(&sts, 4096);
    lp_buf_init(&auth, 4096);
    assert_int_equal(lp_sigv4_canonical_request(&r, &canon, &err), 0);
    assert_int_equal(lp_sha256_hex(canon.data, canon.len, hex), 0);
    assert_string_equal(hex, "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    assert_int_equal(lp_sigv4_string_to_sign(&iam, T_20150830, canon.data, canon.len, &sts, &err), 0);
    assert_string_equal(sts.data, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
                                  "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    assert_int_equal(lp_sigv4_authorization(&iam, &r, &auth, &err), 0);
    assert_non_null(strstr(auth.data, "SignedHeaders=content-type;host;x-amz-date, "
                                      "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"));
    lp_buf_free(&canon);
    lp_buf_free(&sts);
    lp_buf_free(&auth);
}

static void check_encode(const char *in, int keep_slash, const char *want)
{
    lp_buf b;
    lp_buf_init(&b, 1024);
    assert_int_equal(lp_sigv4_uri_encode(in, strlen(in), keep_slash, &b), 0);
    assert_string_equal(b.data ? b.data : "", want);
    lp_buf_free(&b);
}

static void test_uri_encode(void **state)
{
    lp_buf b;
    (void)state;
    check_encode("", 1, "");
    check_encode("AZaz09-._~", 0, "AZaz09-._~");
    check_encode("a b", 0, "a%20b");
    check_encode("a+b=c&d", 0, "a%2Bb%3Dc%26d");
    check_encode("*!'()", 0, "%2A%21%27%28%29");
    check_encode("photos/2024/a b.jpg", 1, "photos/2024/a%20b.jpg");
    check_encode("photos/2024/a b.jpg", 0, "photos%2F2024%2Fa%20b.jpg");
    check_encode("caf\xc3\xa9", 0, "caf%C3%A9"); /* UTF-8 bytes, uppercase hex */
    check_encode("%2F", 1, "%252F");             /* '%' itself is encoded */
    /* A bounded buffer: failure leaves it as it was. */
    lp_buf_init(&b, 8);
    assert_int_equal(lp_buf_puts(&b, "ab"), 0);
    assert_int_equal(lp_sigv4_uri_encode("   ", 3, 0, &b), -1);
    assert_string_equal(b.data, "ab");
    lp_buf_free(&b);
}

static void test_canonical_details(void **state)
{
    /* Header values are trimmed and runs of spaces collapsed; names lowercased
     * and sorted; query sorted by name then value; a value-less parameter
     * becomes "name=". */
    const lp_sigv4_pair headers[] = {{"X-Amz-Meta-B", "  two   words  "}, {"x-amz-date", "20150830T123600Z"}};
    const lp_sigv4_pair query[] = {{"b", "2"}, {"a", "y"}, {"a", "x"}, {"uploads", NULL}};
    lp_sigv4_request r = {.method = "PUT", .host = "h", .path = "/k", .query = query, .nquery = 4,
                          .headers = headers, .nheaders = 2, .payload_hash = LP_SIGV4_UNSIGNED_PAYLOAD,
                          .time = T_20150830};
    lp_buf canon;
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    lp_buf_init(&canon, 4096);
    assert_int_equal(lp_sigv4_canonical_request(&r, &canon, &err), 0);
    assert_string_equal(canon.data, "PUT\n/k\na=x&a=y&b=2&uploads=\n"
                                    "host:h\nx-amz-date:20150830T123600Z\nx-amz-meta-b:two words\n\n"
                                    "host;x-amz-date;x-amz-meta-b\nUNSIGNED-PAYLOAD");
    lp_buf_free(&canon);
}

static void test_rejects_bad_input(void **state)
{
    const lp_sigv4_pair dup[] = {{"X-Amz-Date", "1"}, {"x-amz-date", "2"}};
    const lp_sigv4_pair host[] = {{"Host", "other"}};
    const lp_sigv4_pair crlf[] = {{"x-amz-meta", "a\r\nInjected: 1"}};
    const lp_sigv4_pair colon[] = {{"bad:name", "v"}};
    lp_sigv4_request r = {.method = "GET", .host = "h", .path = "/", .payload_hash = LP_SHA256_EMPTY_HEX,
                          .time = T_20150830};
    lp_sigv4_credentials c = suite;
    lp_sigv4_presign p = {.method = "GET", .scheme = "ftp", .host = "h", .path = "/k", .time = 0, .expires = 10};
    lp_buf out;
    lp_error err;
    (void)state;
    lp_buf_init(&out, 4096);

    r.headers = dup, r.nheaders = 2;
    lp_error_clear(&err);
    assert_int_equal(lp_sigv4_authorization(&suite, &r, &out, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    r.headers = host, r.nheaders = 1;
    lp_error_clear(&err);
    assert_int_equal(lp_sigv4_authorization(&suite, &r, &out, &err), -1);
    r.headers = crlf;
    lp_error_clear(&err);
    assert_int_equal(lp_sigv4_authorization(&suite, &r, &out, &err), -1);
    assert_string_equal(err.fields[0].field, "sigv4.headers[0].value");
    r.headers = colon;
    lp_error_clear(&err);
    assert_int_equal(lp_sigv4_authorization(&suite, &r, &out, &err), -1);
    assert_string_equal(err.fields[0].field, "sigv4.headers[0].name");
    r.nheaders = 0;
    r.path = "no-slash";
    lp_error_clear(&err);
    assert_int_equal(lp_sigv4_authorization(&suite, &r, &out, &err), -1);
    assert_string_equal(err.fields[0].field, "sigv4.path");
    r.path = "/";
    r.payload_hash = "ABC";
    lp_error_clear(&err);
    assert_int_equal(lp_sigv4_authorization(&suite, &r, &out, &err), -1);
    assert_string_equal(err.fields[0].field, "sigv4.payload_hash");
    r.payload_hash = LP_SHA256_EMPTY_HEX;
    r.host = "h\r\nx";
    lp_error_clear(&err);
    assert_int_equal(lp_sigv4_authorization(&suite, &r, &out, &err), -1);
    assert_string_equal(err.fields[0].field, "sigv4.host");

    c.region = "US East";
    r.host = "h";
    lp_error_clear(&err);
    assert_int_equal(lp_sigv4_authorization(&c, &r, &out, &err), -1);
    assert_string_equal(err.fields[0].field, "sigv4.region");

    lp_error_clear(&err);
    assert_int_equal(lp_sigv4_presign_url(&suite, &p, &out, &err), -1);
    assert_string_equal(err.fields[0].field, "sigv4.scheme");
    p.scheme = "https";
    p.expires = LP_SIGV4_MAX_EXPIRES + 1;
    lp_error_clear(&err);
    assert_int_equal(lp_sigv4_presign_url(&suite, &p, &out, &err), -1);
    assert_string_equal(err.fields[0].field, "sigv4.expires");
    lp_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amz_date),
        cmocka_unit_test(test_presigned_get_example),
        cmocka_unit_test(test_get_object_with_range_example),
        cmocka_unit_test(test_suite_get_vanilla),
        cmocka_unit_test(test_iam_walkthrough),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_canonical_details),
        cmocka_unit_test(test_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
