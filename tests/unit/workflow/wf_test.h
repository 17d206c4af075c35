/* What the workflow unit tests share. JSON is written with single quotes for legibility:
 * wf_json("{'a':1}") parses it with the quotes made double (new reference; the test fails when
 * it does not parse). A wf_fixture holds an arena, a definition and the graph read from it.
 * Include after <cmocka.h>. */
#ifndef LOUPE_TESTS_UNIT_WORKFLOW_WF_TEST_H
#define LOUPE_TESTS_UNIT_WORKFLOW_WF_TEST_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/workflow/graph.h"

static const lp_wf_limits WF_LIM = {.stages_max = 100, .states_max = 20, .rules_max = 50, .assignees_max = 1000,
                                    .id_max = LP_WF_ID_MAX, .name_max = 4096};

static inline json_t *wf_json(const char *single_quoted)
{
    char *text = strdup(single_quoted);
    json_error_t jerr;
    assert_non_null(text);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_t *doc = json_loads(text, 0, &jerr);
    if (!doc)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    free(text);
    return doc;
}

typedef struct wf_fixture {
    lp_arena *a;
    json_t *doc;
    lp_wf_graph g;
    lp_error err;
} wf_fixture;

static inline int wf_setup(void **state)
{
    wf_fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_non_null(fx->a = lp_arena_new(0, 0));
    *state = fx;
    return 0;
}

static inline int wf_teardown(void **state)
{
    wf_fixture *fx = *state;
    json_decref(fx->doc);
    lp_arena_free(fx->a);
    free(fx);
    return 0;
}

/* Reads the definition json (single quotes) into fx->g with limits lim; the reader's rc. */
static inline int wf_read(wf_fixture *fx, const char *json, const lp_wf_limits *lim)
{
    json_decref(fx->doc);
    fx->doc = wf_json(json);
    lp_error_clear(&fx->err);
    return lp_wf_graph_read(fx->doc, lim, fx->a, &fx->g, &fx->err);
}

#endif
