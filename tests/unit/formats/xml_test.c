/* XML in: a VOC file parsed in pieces of every size, and hostile documents
 * refused before any entity reaches a handler — billion laughs, an external
 * entity pointing at a local file (XXE), an external DTD — plus depth and
 * syntax errors named by line and column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "loupe/core/buf.h"
#include "loupe/formats/xml.h"

typedef struct seen {
    lp_buf log;
    int depth;
} seen;

static int on_start(void *ud, const char *name, const char **attrs, lp_error *err)
{
    seen *s = ud;
    (void)err;
    lp_buf_printf(&s->log, "<%s", name);
    for (size_t i = 0; attrs[i]; i += 2)
        lp_buf_printf(&s->log, " %s=%s", attrs[i], attrs[i + 1]);
    lp_buf_puts(&s->log, ">");
    return 0;
}

static int on_end(void *ud, const char *name, lp_error *err)
{
    seen *s = ud;
    (void)err;
    lp_buf_printf(&s->log, "</%s>", name);
    return 0;
}

static int on_text(void *ud, const char *t, size_t n, lp_error *err)
{
    seen *s = ud;
    (void)err;
    for (size_t i = 0; i < n; i++)
        if (t[i] != ' ' && t[i] != '\n')
            lp_buf_append(&s->log, t + i, 1);
    return 0;
}

/* Parses doc in pieces of step bytes; the log of what the handlers saw. */
static int parse(const char *doc, size_t step, seen *s, lp_error *err)
{
    lp_xml_handlers h = {on_start, on_end, on_text, s};
    lp_buf_init(&s->log, 1 << 20);
    lp_error_clear(err);
    lp_xml *x = lp_xml_new(&h, 8, err);
    assert_non_null(x);
    size_t n = strlen(doc);
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0; at += step) {
        size_t k = n - at < step ? n - at : step;
        rc = lp_xml_feed(x, doc + at, k, at + k == n, err);
    }
    lp_xml_free(x);
    return rc;
}

static void test_voc_in_pieces(void **state)
{
    (void)state;
    const char *doc = "<?xml version=\"1.0\"?>\n<annotation><filename>a&amp;b.jpg</filename>\n"
                      "<object><name>cat</name><bndbox><xmin>2</xmin></bndbox></object></annotation>\n";
    for (size_t step = 1; step <= strlen(doc); step++) {
        seen s;
        lp_error err;
        assert_int_equal(parse(doc, step, &s, &err), 0);
        assert_string_equal(s.log.data, "<annotation><filename>a&b.jpg</filename><object><name>cat</name>"
                                        "<bndbox><xmin>2</xmin></bndbox></object></annotation>");
        lp_buf_free(&s.log);
    }
}

static void refused(const char *doc, const char *says)
{
    seen s;
    lp_error err;
    assert_int_equal(parse(doc, 7, &s, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    if (!strstr(err.message, says))
        fail_msg("\"%s\" does not say \"%s\"", err.message, says);
    /* nothing from the file or the entities reached a handler */
    assert_null(strstr(s.log.data ? s.log.data : "", "root:"));
    assert_null(strstr(s.log.data ? s.log.data : "", "lol"));
    lp_buf_free(&s.log);
}

static void test_hostile_documents(void **state)
{
    (void)state;
    refused("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
            " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
            " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
            "]>\n<annotation>&lol2;</annotation>",
            "DOCTYPE");
    refused("<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
            "<annotation><filename>&xxe;</filename></annotation>",
            "line 2");
    refused("<!DOCTYPE annotation SYSTEM \"http://example.com/voc.dtd\"><annotation/>", "DOCTYPE");
    refused("<a><a><a><a><a><a><a><a><a></a></a></a></a></a></a></a></a></a>", "nested too deep");
    refused("<annotation>\n  <object></annotation>", "line 2, column");
    refused("<annotation>&undefined;</annotation>", "undefined entity");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_voc_in_pieces),
        cmocka_unit_test(test_hostile_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
