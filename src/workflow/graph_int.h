/* What graph.c and route.c share and nobody else needs. */
#ifndef LOUPE_SRC_WORKFLOW_GRAPH_INT_H
#define LOUPE_SRC_WORKFLOW_GRAPH_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Room for the text of any scalar (an int64, a double with 17 digits). */
#define LP_WF_SCALAR_TEXT_MAX 40

/* The text of a scalar as conditions compare it: a string as itself (*out
 * borrows it), an integer in decimal, a real as %.17g, true/false; buf
 * (LP_WF_SCALAR_TEXT_MAX bytes) holds the formatted ones. 0, or -1 for null,
 * arrays and objects. */
int lp_wf_scalar_text(const json_t *v, char buf[LP_WF_SCALAR_TEXT_MAX], const char **out);

/* Whether two condition values are the same: equal text, or both numbers
 * (the whole text) of equal value, so "2", "2.0" and "2e0" are one value. */
bool lp_wf_values_equal(const char *x, const char *y);

#endif
