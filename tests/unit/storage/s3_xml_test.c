/* The minimal S3 XML reader: element text, entities, bounds, malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "s3_xml_int.h"

static int text(const char *xml, const char *tag, char *out, size_t cap)
{
    return lp_s3_xml_text(xml, strlen(xml), tag, out, cap);
}

static void test_reads_results(void **state)
{
    const char *init = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<Bucket>b</Bucket><Key>k/x.bin</Key><UploadId>VXBsb2FkIElE-1</UploadId>"
                       "</InitiateMultipartUploadResult>";
    const char *done = "<CompleteMultipartUploadResult><Location>http://h/b/k</Location>"
                       "<ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag></CompleteMultipartUploadResult>";
    char out[128];
    (void)state;
    assert_int_equal(text(init, "UploadId", out, sizeof out), 0);
    assert_string_equal(out, "VXBsb2FkIElE-1");
    assert_int_equal(text(init, "Key", out, sizeof out), 0);
    assert_string_equal(out, "k/x.bin");
    assert_int_equal(lp_s3_xml_root_is(init, strlen(init), "InitiateMultipartUploadResult"), 1);
    assert_int_equal(lp_s3_xml_root_is(init, strlen(init), "Error"), 0);
    assert_int_equal(text(done, "ETag", out, sizeof out), 0);
    assert_string_equal(out, "\"3858f62230ac3c915f300c664312c11f-9\"");
    assert_int_equal(text(done, "UploadId", out, sizeof out), 1);
}

static void test_reads_errors(void **state)
{
    const char *err = "<?xml version=\"1.0\"?><!-- note --><Error><Code>NoSuchKey</Code>"
                      "<Message>The key &lt;a&gt; &amp; &#39;b&#x27; does not exist</Message></Error>";
    char out[128];
    (void)state;
    assert_int_equal(lp_s3_xml_root_is(err, strlen(err), "Error"), 1);
    assert_int_equal(text(err, "Code", out, sizeof out), 0);
    assert_string_equal(out, "NoSuchKey");
    assert_int_equal(text(err, "Message", out, sizeof out), 0);
    assert_string_equal(out, "The key <a> & 'b' does not exist");
}

static void test_rejects_malformed_and_bounds(void **state)
{
    char out[8];
    (void)state;
    assert_int_equal(text("<Code>unterminated", "Code", out, sizeof out), -1);
    assert_string_equal(out, "");
    assert_int_equal(text("<Code>a&bogus;b</Code>", "Code", out, sizeof out), -1);
    assert_int_equal(text("<Code>a&#0;</Code>", "Code", out, sizeof out), -1);
    assert_int_equal(text("<Code>&#200;</Code>", "Code", out, sizeof out), -1);
    assert_int_equal(text("<Code><X>nested</X></Code>", "Code", out, sizeof out), -1);
    assert_int_equal(text("<Code>12345678</Code>", "Code", out, sizeof out), -1); /* does not fit in 8 */
    assert_int_equal(text("<Code>1234567</Code>", "Code", out, sizeof out), 0);
    assert_int_equal(text("<CodeX>a</CodeX>", "Code", out, sizeof out), 1);         /* prefix is not a match */
    assert_int_equal(text("<Code/>", "Code", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(text("<Code", "Code", out, sizeof out), 1);
    assert_int_equal(lp_s3_xml_root_is("", 0, "Error"), 0);
    assert_int_equal(lp_s3_xml_root_is("<?xml", 5, "Error"), 0);
    assert_int_equal(lp_s3_xml_root_is("<Errors>", 8, "Error"), 0);
    /* Only len bytes are read: the closing tag outside the window is unseen. */
    assert_int_equal(lp_s3_xml_text("<Code>a</Code>", 9, "Code", out, sizeof out), -1);
}

static void test_escape(void **state)
{
    lp_buf b;
    (void)state;
    lp_buf_init(&b, 64);
    assert_int_equal(lp_s3_xml_escape(&b, "\"e<t>&'"), 0);
    assert_string_equal(b.data, "&quot;e&lt;t&gt;&amp;&apos;");
    lp_buf_free(&b);
    lp_buf_init(&b, 4);
    assert_int_equal(lp_s3_xml_escape(&b, "&&"), -1);
    lp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_results),
        cmocka_unit_test(test_reads_errors),
        cmocka_unit_test(test_rejects_malformed_and_bounds),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
