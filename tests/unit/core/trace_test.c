/* W3C traceparent: strict parsing, new traces and child spans, the thread's
 * current trace, and the trace id on log lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "loupe/core/log.h"
#include "loupe/core/trace.h"

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static void parses_the_spec_example(void **state)
{
    lp_trace t;
    char out[LP_TRACEPARENT_LEN + 1];
    (void)state;
    assert_int_equal(lp_trace_parse(TP, &t), 0);
    assert_string_equal(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(t.span_id, "00f067aa0ba902b7");
    assert_int_equal(t.flags, 1);
    assert_int_equal(lp_trace_format(&t, out), 0);
    assert_string_equal(out, TP);
}

static void refuses_what_the_spec_refuses(void **state)
{
    static const char *const bad[] = {
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",          /* short */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",        /* v00 with more */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",         /* uppercase */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",         /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",         /* zero parent id */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",         /* forbidden version */
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",         /* not hex */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",         /* separator */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",         /* flags */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",        /* later version, no dash */
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        /* space */
    };
    lp_trace t;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(lp_trace_parse(bad[i], &t), -1);
        assert_string_equal(t.trace_id, "");
    }
    assert_int_equal(lp_trace_parse(NULL, &t), -1);
    /* a later version may append fields after a dash */
    assert_int_equal(lp_trace_parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-what-ever", &t), 0);
    assert_int_equal(t.flags, 1);
}

static void children_keep_the_trace(void **state)
{
    lp_trace a, b, c, none;
    char out[LP_TRACEPARENT_LEN + 1];
    (void)state;
    assert_int_equal(lp_trace_new(&a), 0);
    assert_int_equal(strlen(a.trace_id), 32);
    assert_int_equal(strlen(a.span_id), 16);
    assert_int_equal(lp_trace_format(&a, out), 0);
    assert_int_equal(lp_trace_parse(out, &b), 0); /* what we make, we accept */
    assert_int_equal(lp_trace_child(&a, &c), 0);
    assert_string_equal(c.trace_id, a.trace_id);
    assert_string_not_equal(c.span_id, a.span_id);
    memset(&none, 0, sizeof(none));
    assert_int_equal(lp_trace_format(&none, out), -1);
    assert_string_equal(out, "");
    assert_int_equal(lp_trace_child(&none, &c), 0); /* no parent: a new trace */
    assert_int_equal(strlen(c.trace_id), 32);
}

static void log_lines_carry_the_current_trace(void **state)
{
    int fds[2];
    char line[1024];
    lp_trace t;
    (void)state;
    assert_int_equal(pipe(fds), 0);
    lp_log_init(LP_LOG_INFO, fds[1]);
    assert_int_equal(lp_trace_parse(TP, &t), 0);
    lp_trace_set_current(&t);
    assert_string_equal(lp_trace_current()->trace_id, t.trace_id);
    lp_log(LP_LOG_INFO, "test", "with");
    lp_trace_set_current(NULL);
    assert_string_equal(lp_trace_current()->trace_id, "");
    lp_log(LP_LOG_INFO, "test", "without");
    lp_log_init(LP_LOG_INFO, 2);
    close(fds[1]);
    ssize_t n = read(fds[0], line, sizeof(line) - 1);
    close(fds[0]);
    assert_true(n > 0);
    line[n] = '\0';
    char *second = strchr(line, '\n');
    assert_non_null(second);
    *second++ = '\0';
    assert_non_null(strstr(line, "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\""));
    assert_null(strstr(second, "trace_id"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_the_spec_example),
        cmocka_unit_test(refuses_what_the_spec_refuses),
        cmocka_unit_test(children_keep_the_trace),
        cmocka_unit_test(log_lines_carry_the_current_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
