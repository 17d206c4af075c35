/* Fuzzes the W3C traceparent reader (src/core/trace.c), which reads a header
 * every client may send and job messages carry. Invariants: what parses
 * formats back to the same text (the parser is strict: one spelling per
 * value), and a child of it parses too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), text[LP_TRACEPARENT_LEN + 1];
    lp_trace t, back, child;
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (lp_trace_parse(s, &t) == 0) {
        if (lp_trace_format(&t, text) != 0 || lp_trace_parse(text, &back) != 0 ||
            strcmp(back.trace_id, t.trace_id) != 0 || strcmp(back.span_id, t.span_id) != 0 || back.flags != t.flags)
            abort();
        if (lp_trace_child(&t, &child) == 0 &&
            (strcmp(child.trace_id, t.trace_id) != 0 || lp_trace_format(&child, text) != 0 ||
             lp_trace_parse(text, &back) != 0))
            abort();
    }
    free(s);
    return 0;
}
