/* Workflow graphs (src/workflow/graph.c): valid definitions read into the
 * graph, and one case per validation rule, each asserting the field that
 * the error names. JSON is written with single quotes for legibility. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/workflow/graph.h"
#include "wf_test.h"

/* Stage "x" sits between the entry and the end: stages[1]; its out-edges come second. */
#define DEF(stages, edges) "{'stages':[" stages "],'edges':[" edges "]}"
#define S_IN "{'id':'in','type':'dataset'}"
#define S_DONE "{'id':'done','type':'complete'}"
#define MID(stage, out) DEF(S_IN "," stage "," S_DONE, "{'from':'in','port':'next','to':'x'}," out)
#define X_DONE "{'from':'x','port':'done','to':'done'}"
#define X_NEXT "{'from':'x','port':'next','to':'done'}"
#define X_REVIEW "{'from':'x','port':'approve','to':'done'},{'from':'x','port':'reject','to':'done'}"
#define X_CONS "{'from':'x','port':'agree','to':'done'},{'from':'x','port':'disagree','to':'done'}"
#define X_SAMPLE "{'from':'x','port':'sampled','to':'done'},{'from':'x','port':'rest','to':'done'}"
#define X_LOGIC "{'from':'x','port':'r1','to':'done'},{'from':'x','port':'default','to':'done'}"
#define ANN(cfg) MID("{'id':'x','type':'annotate','config':" cfg "}", X_DONE)
#define REVIEW(cfg) MID("{'id':'x','type':'review','config':" cfg "}", X_REVIEW)
#define CONS(cfg) MID("{'id':'x','type':'consensus','config':" cfg "}", X_CONS)
#define SAMPLE(cfg) MID("{'id':'x','type':'sampling','config':" cfg "}", X_SAMPLE)
#define WHEN(when) MID("{'id':'x','type':'logic','config':{'rules':[{'name':'r1','when':" when "}]}}", X_LOGIC)
#define U1 "'6a52a094-d998-4e6e-81b3-6beeebfaae0b'"
#define U2 "'0b7e3f1c-5d1a-4c1e-9a55-1f0e2d3c4b5a'"

static bool has_field(const lp_error *err, const char *field, const char *words)
{
    for (size_t i = 0; i < err->nfields; i++)
        if (strcmp(err->fields[i].field, field) == 0 && (!words || strstr(err->fields[i].message, words)))
            return true;
    return false;
}

static void print_fields(const lp_error *err)
{
    for (size_t i = 0; i < err->nfields; i++)
        print_error("  %s: %s\n", err->fields[i].field, err->fields[i].message);
}

/* ---- valid definitions ----------------------------------------------------------------- */

static void test_minimal(void **state)
{
    wf_fixture *fx = *state;
    int rc = wf_read(fx, DEF(S_IN ",{'id':'ann','type':'annotate','name':'Label it','config':{'assignees':'any'}},"
                                   "{'id':'rev','type':'review'}," S_DONE,
                              "{'from':'in','port':'next','to':'ann'},{'from':'ann','port':'done','to':'rev'},"
                              "{'from':'rev','port':'approve','to':'done'},{'from':'rev','port':'reject','to':'ann'}"),
                      &WF_LIM);
    print_fields(&fx->err);
    assert_int_equal(rc, 0);
    lp_wf_graph *g = &fx->g;
    assert_int_equal(g->nstages, 4);
    assert_int_equal(g->entry, 0);
    assert_int_equal(lp_wf_graph_find(g, "rev"), 2);
    assert_int_equal(lp_wf_graph_find(g, "nope"), -1);
    const lp_wf_stage *ann = &g->stages[1], *rev = &g->stages[2];
    assert_string_equal(ann->name, "Label it");
    assert_string_equal(rev->name, "rev");
    assert_true(ann->pool.any);
    assert_int_equal(ann->nstates, 1);
    assert_string_equal(ann->states[0], "new");
    assert_int_equal(rev->nports, 2);
    assert_int_equal(lp_wf_stage_port(rev, "reject"), 1);
    assert_int_equal(lp_wf_stage_port(rev, "done"), -1);
    assert_int_equal(rev->next[0], 3);
    assert_int_equal(rev->next[1], 1); /* the review loop is allowed */
    assert_null(rev->config);
    assert_int_equal(g->stages[3].nports, 0);
    assert_true(lp_wf_stage_human(rev));
    assert_true(lp_wf_stage_rests(rev));
    assert_false(lp_wf_stage_rests(&g->stages[0]));
    assert_true(lp_wf_stage_rests(&g->stages[3]));
}

static void test_every_type(void **state)
{
    wf_fixture *fx = *state;
    int rc = wf_read(
        fx,
        DEF(S_IN ","
                 "{'id':'s','type':'sampling','config':{'percent':30,'states':['queued']}},"
                 "{'id':'top','type':'sampling','config':{'top':10,'score':'priority'}},"
                 "{'id':'a','type':'annotate','config':{'assignees':[" U1 "],'max_open_tasks':5,"
                 "'states':['new','in_progress','blocked']}},"
                 "{'id':'c','type':'consensus','config':{'annotators':3}},"
                 "{'id':'c2','type':'consensus','config':{'annotators':2,'iou_threshold':0.7,"
                 "'agreement_threshold':0.8,'assignees':[" U1 "," U2 "]}},"
                 "{'id':'r','type':'review','config':{'reviewers':'any'}},"
                 "{'id':'l','type':'logic','config':{'rules':[{'name':'cars','when':{'class_present':" U1 ","
                 "'annotation_count':{'gte':1,'lte':9},'metadata':{'camera':'left','rig':2}}},"
                 "{'name':'empty','when':{'annotation_count':{'lte':0}}}]}},"
                 "{'id':'w','type':'webhook','config':{'wait':true}},"
                 "{'id':'w2','type':'webhook'},"
                 "{'id':'d','type':'discard'}," S_DONE,
            "{'from':'in','port':'next','to':'s'},{'from':'s','port':'sampled','to':'a'},"
            "{'from':'s','port':'rest','to':'top'},{'from':'top','port':'sampled','to':'c'},"
            "{'from':'top','port':'rest','to':'d'},{'from':'a','port':'done','to':'r'},"
            "{'from':'c','port':'agree','to':'l'},{'from':'c','port':'disagree','to':'c2'},"
            "{'from':'c2','port':'agree','to':'l'},{'from':'c2','port':'disagree','to':'r'},"
            "{'from':'r','port':'approve','to':'l'},{'from':'r','port':'reject','to':'a'},"
            "{'from':'l','port':'cars','to':'w'},{'from':'l','port':'empty','to':'d'},"
            "{'from':'l','port':'default','to':'w2'},{'from':'w','port':'next','to':'done'},"
            "{'from':'w2','port':'next','to':'done'}"),
        &WF_LIM);
    print_fields(&fx->err);
    assert_int_equal(rc, 0);
    lp_wf_graph *g = &fx->g;
    const lp_wf_stage *s = &g->stages[lp_wf_graph_find(g, "s")];
    assert_int_equal(s->sampling, LP_WF_SAMPLE_PERCENT);
    assert_true(s->percent == 30);
    assert_string_equal(s->states[0], "queued");
    const lp_wf_stage *top = &g->stages[lp_wf_graph_find(g, "top")];
    assert_int_equal(top->sampling, LP_WF_SAMPLE_TOP);
    assert_int_equal(top->top, 10);
    const lp_wf_stage *a = &g->stages[lp_wf_graph_find(g, "a")];
    assert_false(a->pool.any);
    assert_int_equal(a->pool.nuser_ids, 1);
    assert_string_equal(a->pool.user_ids[0], "6a52a094-d998-4e6e-81b3-6beeebfaae0b");
    assert_int_equal(a->max_open_tasks, 5);
    assert_int_equal(a->nstates, 3);
    assert_int_equal(lp_wf_stage_state(a, "blocked"), 2);
    assert_int_equal(lp_wf_stage_state(a, "done"), -1);
    const lp_wf_stage *c = &g->stages[lp_wf_graph_find(g, "c")];
    assert_int_equal(c->annotators, 3);
    assert_true(c->iou_threshold == 0.5 && c->agreement_threshold == 1.0 && c->pool.any);
    const lp_wf_stage *c2 = &g->stages[lp_wf_graph_find(g, "c2")];
    assert_true(c2->iou_threshold == 0.7 && c2->agreement_threshold == 0.8 && c2->pool.nuser_ids == 2);
    const lp_wf_stage *l = &g->stages[lp_wf_graph_find(g, "l")];
    assert_int_equal(l->nrules, 2);
    assert_int_equal(l->nports, 3);
    assert_string_equal(l->ports[0], "cars");
    assert_string_equal(l->ports[2], "default");
    assert_int_equal(l->rules[0].nconds, 4); /* class, count, two metadata keys */
    assert_int_equal(l->rules[0].conds[2].kind, LP_WF_COND_METADATA);
    assert_string_equal(l->rules[0].conds[3].a, "rig");
    assert_string_equal(l->rules[0].conds[3].b, "2");
    assert_true(l->rules[1].conds[0].has_lte && !l->rules[1].conds[0].has_gte);
    assert_true(g->stages[lp_wf_graph_find(g, "w")].wait);
    assert_true(lp_wf_stage_rests(&g->stages[lp_wf_graph_find(g, "w")]));
    assert_false(lp_wf_stage_rests(&g->stages[lp_wf_graph_find(g, "w2")]));
    assert_false(lp_wf_stage_rests(l));
}

static void test_upper_case_uuids_read_lower(void **state)
{
    wf_fixture *fx = *state;
    assert_int_equal(wf_read(fx, ANN("{'assignees':['6A52A094-D998-4E6E-81B3-6BEEEBFAAE0B']}"), &WF_LIM), 0);
    assert_string_equal(fx->g.stages[1].pool.user_ids[0], "6a52a094-d998-4e6e-81b3-6beeebfaae0b");
}

static void test_names_and_types(void **state)
{
    (void)state;
    for (int t = 0; t < LP_WF_STAGE_TYPE_COUNT; t++) {
        lp_wf_stage_type back;
        assert_non_null(lp_wf_stage_type_name((lp_wf_stage_type)t));
        assert_int_equal(lp_wf_stage_type_from_name(lp_wf_stage_type_name((lp_wf_stage_type)t), &back), 0);
        assert_int_equal(back, t);
    }
    lp_wf_stage_type x;
    assert_null(lp_wf_stage_type_name(LP_WF_STAGE_TYPE_COUNT));
    assert_int_equal(lp_wf_stage_type_from_name("Review", &x), -1);
    assert_int_equal(lp_wf_stage_type_from_name(NULL, &x), -1);
}

static void test_limits_from_config(void **state)
{
    (void)state;
    lp_config cfg;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_config_defaults(&cfg, &err), 0);
    lp_wf_limits lim;
    lp_wf_limits_from_config(&cfg, &lim);
    assert_int_equal(lim.stages_max, 100);
    assert_int_equal(lim.states_max, 20);
    assert_int_equal(lim.rules_max, 50);
    assert_int_equal(lim.assignees_max, 1000);
    assert_int_equal(lim.id_max, LP_WF_ID_MAX);
    assert_int_equal(lim.name_max, cfg.string_max_length);
    assert_int_equal(cfg.task_claim_ttl, 30 * 60 * 1000);
    lp_config_free(&cfg);
}

/* Every rule broken is listed in one answer. */
static void test_errors_listed_together(void **state)
{
    wf_fixture *fx = *state;
    assert_int_equal(wf_read(fx, MID("{'id':'x','type':'sampling','config':{'percent':101,'colour':1}}",
                                      "{'from':'x','port':'sampled','to':'nowhere'}"),
                              &WF_LIM),
                     -1);
    assert_int_equal(fx->err.code, LP_E_INVALID);
    assert_true(has_field(&fx->err, "stages[1].config.percent", NULL));
    assert_true(has_field(&fx->err, "stages[1].config.colour", NULL));
    assert_true(has_field(&fx->err, "edges[1].to", "nowhere"));
    assert_true(has_field(&fx->err, "stages[1]", "\"rest\""));
    assert_true(has_field(&fx->err, "stages[2]", "cannot be reached"));
    assert_int_equal(fx->err.nfields, 5);
}

static void test_not_an_object(void **state)
{
    wf_fixture *fx = *state;
    assert_int_equal(wf_read(fx, "[1,2]", &WF_LIM), -1);
    assert_int_equal(fx->err.code, LP_E_INVALID);
}

static void test_model_stage(void **state)
{
    wf_fixture *fx = *state;
    int rc = wf_read(fx, MID("{'id':'x','type':'model','config':{'model_id':" U1 ",'slot':'0','min_score':0.8,"
                                 "'accept':true}}",
                                 X_DONE),
                     &WF_LIM);
    print_fields(&fx->err);
    assert_int_equal(rc, 0);
    const lp_wf_stage *m = &fx->g.stages[1];
    assert_int_equal(m->type, LP_WF_MODEL);
    assert_string_equal(m->model_id, "6a52a094-d998-4e6e-81b3-6beeebfaae0b");
    assert_string_equal(m->model_slot, "0");
    assert_true(m->min_score == 0.8);
    assert_true(m->accept);
    assert_true(lp_wf_stage_rests(m));
    assert_false(lp_wf_stage_human(m));
    assert_int_equal(lp_wf_stage_port(m, "done"), 0);
    /* defaults */
    assert_int_equal(wf_read(fx, MID("{'id':'x','type':'model','config':{'model_id':" U1 "}}", X_DONE), &WF_LIM), 0);
    assert_null(fx->g.stages[1].model_slot);
    assert_true(fx->g.stages[1].min_score == 0.5);
    assert_false(fx->g.stages[1].accept);
}

/* ---- one case per rule ------------------------------------------------------------------- */

typedef struct rule_case {
    const char *name;
    const char *json;
    const char *field;   /* the field the error must name */
    const char *words;   /* words its message must hold, or NULL */
    lp_wf_limits lim;    /* a member left zero: WF_LIM's */
} rule_case;

#define SMALL(field, n) {field = n}

#define OR_LIM(m) (c->lim.m ? c->lim.m : WF_LIM.m)

static const rule_case CASES[] = {
    /* the document */
    {"stages_missing", "{'edges':[]}", "stages", NULL, {0}},
    {"stages_empty", DEF("", ""), "stages", NULL, {0}},
    {"stages_over_limit", MID("{'id':'x','type':'webhook'}", X_NEXT), "stages", "1 to 2", SMALL(.stages_max, 2)},
    {"edges_missing", "{'stages':[" S_IN "]}", "edges", NULL, {0}},
    {"edges_over_limit", DEF(S_IN "," S_DONE, "{},{},{},{},{}"), "edges", "at most 4", SMALL(.rules_max, 1)},
    /* a stage */
    {"stage_not_object", DEF(S_IN ",7", ""), "stages[1]", "object", {0}},
    {"stage_unknown_member", DEF("{'id':'in','type':'dataset','colour':'red'}", ""), "stages[0].colour", NULL, {0}},
    {"stage_id_missing", DEF("{'type':'dataset'}", ""), "stages[0].id", "string", {0}},
    {"stage_id_characters", DEF("{'id':'in put','type':'dataset'}", ""), "stages[0].id", "letters", {0}},
    {"stage_id_too_long", DEF("{'id':'abcdefghi','type':'dataset'}", ""), "stages[0].id", "1 to 8",
     SMALL(.id_max, 8)},
    {"stage_id_duplicate", DEF(S_IN ",{'id':'in','type':'complete'}", "{'from':'in','port':'next','to':'in'}"),
     "stages[1].id", "stages[0]", {0}},
    {"stage_name_not_text", DEF("{'id':'in','type':'dataset','name':3}", ""), "stages[0].name", NULL, {0}},
    {"stage_name_too_long", DEF("{'id':'in','type':'dataset','name':'abcdefghij'}", ""), "stages[0].name",
     "at most 4", SMALL(.name_max, 4)},
    {"stage_type_unknown", MID("{'id':'x','type':'filter'}", X_DONE), "stages[1].type", "one of", {0}},
    {"stage_type_missing", MID("{'id':'x'}", X_DONE), "stages[1].type", NULL, {0}},
    {"model_id_missing", MID("{'id':'x','type':'model'}", X_DONE), "stages[1].config.model_id", "required", {0}},
    {"model_id_not_uuid", MID("{'id':'x','type':'model','config':{'model_id':'faces'}}", X_DONE),
     "stages[1].config.model_id", "UUID", {0}},
    {"model_min_score", MID("{'id':'x','type':'model','config':{'model_id':" U1 ",'min_score':1.5}}", X_DONE),
     "stages[1].config.min_score", "0 to 1", {0}},
    {"model_accept", MID("{'id':'x','type':'model','config':{'model_id':" U1 ",'accept':'yes'}}", X_DONE),
     "stages[1].config.accept", "true or false", {0}},
    {"model_slot", MID("{'id':'x','type':'model','config':{'model_id':" U1 ",'slot':7}}", X_DONE),
     "stages[1].config.slot", "string", {0}},
    {"model_unknown_member", MID("{'id':'x','type':'model','config':{'model_id':" U1 ",'top':7}}", X_DONE),
     "stages[1].config.top", "model", {0}},
    {"config_not_object", MID("{'id':'x','type':'webhook','config':[]}", X_NEXT), "stages[1].config", "object", {0}},
    {"config_unknown_member", ANN("{'assignees':'any','percent':5}"), "stages[1].config.percent", "annotate", {0}},
    {"config_member_of_other_type", MID("{'id':'x','type':'webhook','config':{'assignees':'any'}}", X_NEXT),
     "stages[1].config.assignees", "webhook", {0}},
    /* states */
    {"states_empty", ANN("{'assignees':'any','states':[]}"), "stages[1].config.states", NULL, {0}},
    {"states_over_limit", ANN("{'assignees':'any','states':['a','b','c']}"), "stages[1].config.states", "1 to 2",
     SMALL(.states_max, 2)},
    {"states_name", ANN("{'assignees':'any','states':['new','in progress']}"), "stages[1].config.states[1]",
     "letters", {0}},
    {"states_duplicate", ANN("{'assignees':'any','states':['new','new']}"), "stages[1].config.states[1]", "twice",
     {0}},
    /* pools */
    {"annotate_assignees_missing", ANN("{}"), "stages[1].config.assignees", "required", {0}},
    {"annotate_assignees_empty", ANN("{'assignees':[]}"), "stages[1].config.assignees", NULL, {0}},
    {"annotate_assignees_word", ANN("{'assignees':'all'}"), "stages[1].config.assignees", "any", {0}},
    {"annotate_assignees_not_uuid", ANN("{'assignees':['bob']}"), "stages[1].config.assignees[0]", "UUID", {0}},
    {"annotate_assignees_duplicate", ANN("{'assignees':[" U1 "," U1 "]}"), "stages[1].config.assignees[1]", "twice",
     {0}},
    {"annotate_assignees_over_limit", ANN("{'assignees':[" U1 "," U2 "]}"), "stages[1].config.assignees", "1 to 1",
     SMALL(.assignees_max, 1)},
    {"annotate_max_open_tasks", ANN("{'assignees':'any','max_open_tasks':-1}"), "stages[1].config.max_open_tasks",
     NULL, {0}},
    {"annotate_max_open_tasks_type", ANN("{'assignees':'any','max_open_tasks':'5'}"),
     "stages[1].config.max_open_tasks", NULL, {0}},
    {"review_reviewers", REVIEW("{'reviewers':[1]}"), "stages[1].config.reviewers[0]", "UUID", {0}},
    /* consensus */
    {"consensus_annotators_missing", CONS("{}"), "stages[1].config.annotators", "required", {0}},
    {"consensus_annotators_one", CONS("{'annotators':1}"), "stages[1].config.annotators", "2 to 5", {0}},
    {"consensus_annotators_six", CONS("{'annotators':6}"), "stages[1].config.annotators", "2 to 5", {0}},
    {"consensus_iou_zero", CONS("{'annotators':2,'iou_threshold':0}"), "stages[1].config.iou_threshold", NULL, {0}},
    {"consensus_iou_above_one", CONS("{'annotators':2,'iou_threshold':1.5}"), "stages[1].config.iou_threshold", NULL,
     {0}},
    {"consensus_agreement", CONS("{'annotators':2,'agreement_threshold':-0.1}"),
     "stages[1].config.agreement_threshold", NULL, {0}},
    {"consensus_pool_too_small", CONS("{'annotators':3,'assignees':[" U1 "," U2 "]}"), "stages[1].config.assignees",
     "fewer than the 3", {0}},
    /* logic */
    {"logic_rules_missing", MID("{'id':'x','type':'logic','config':{}}", "{'from':'x','port':'default','to':'done'}"),
     "stages[1].config.rules", "required", {0}},
    {"logic_rules_over_limit",
     MID("{'id':'x','type':'logic','config':{'rules':[{'name':'r1','when':{'path':'/'}},"
         "{'name':'r2','when':{'path':'/'}}]}}", X_LOGIC),
     "stages[1].config.rules", "1 to 1", SMALL(.rules_max, 1)},
    {"logic_rule_not_object", MID("{'id':'x','type':'logic','config':{'rules':['r1']}}", X_LOGIC),
     "stages[1].config.rules[0]", NULL, {0}},
    {"logic_rule_unknown_member",
     MID("{'id':'x','type':'logic','config':{'rules':[{'name':'r1','when':{'path':'/'},'then':'x'}]}}", X_LOGIC),
     "stages[1].config.rules[0].then", NULL, {0}},
    {"logic_rule_name", MID("{'id':'x','type':'logic','config':{'rules':[{'name':'r 1','when':{'path':'/'}}]}}",
                            X_LOGIC), "stages[1].config.rules[0].name", "letters", {0}},
    {"logic_rule_named_default",
     MID("{'id':'x','type':'logic','config':{'rules':[{'name':'default','when':{'path':'/'}}]}}",
         "{'from':'x','port':'default','to':'done'}"),
     "stages[1].config.rules[0].name", "default", {0}},
    {"logic_rule_name_duplicate",
     MID("{'id':'x','type':'logic','config':{'rules':[{'name':'r1','when':{'path':'/'}},"
         "{'name':'r1','when':{'path':'/a'}}]}}", X_LOGIC),
     "stages[1].config.rules[1].name", "rules[0]", {0}},
    {"logic_when_missing", MID("{'id':'x','type':'logic','config':{'rules':[{'name':'r1'}]}}", X_LOGIC),
     "stages[1].config.rules[0].when", NULL, {0}},
    {"logic_when_empty", WHEN("{}"), "stages[1].config.rules[0].when", "at least one", {0}},
    {"logic_condition_unknown", WHEN("{'colour':'red'}"), "stages[1].config.rules[0].when.colour", "not a condition",
     {0}},
    {"logic_class_present", WHEN("{'class_present':'car'}"), "stages[1].config.rules[0].when.class_present", "UUID",
     {0}},
    {"logic_class_absent", WHEN("{'class_absent':7}"), "stages[1].config.rules[0].when.class_absent", "UUID", {0}},
    {"logic_count_empty", WHEN("{'annotation_count':{}}"), "stages[1].config.rules[0].when.annotation_count", NULL,
     {0}},
    {"logic_count_negative", WHEN("{'annotation_count':{'gte':-1}}"),
     "stages[1].config.rules[0].when.annotation_count.gte", NULL, {0}},
    {"logic_count_order", WHEN("{'annotation_count':{'gte':5,'lte':2}}"),
     "stages[1].config.rules[0].when.annotation_count.lte", "gte", {0}},
    {"logic_count_member", WHEN("{'annotation_count':{'gte':1,'gt':2}}"),
     "stages[1].config.rules[0].when.annotation_count.gt", NULL, {0}},
    {"logic_property_name", WHEN("{'property':{'value':'x'}}"), "stages[1].config.rules[0].when.property.name", NULL,
     {0}},
    {"logic_property_value", WHEN("{'property':{'name':'colour','value':{'a':1}}}"),
     "stages[1].config.rules[0].when.property.value", "string, a number or a boolean", {0}},
    {"logic_metadata_empty", WHEN("{'metadata':{}}"), "stages[1].config.rules[0].when.metadata", NULL, {0}},
    {"logic_metadata_value", WHEN("{'metadata':{'camera':['l']}}"), "stages[1].config.rules[0].when.metadata.camera",
     NULL, {0}},
    {"logic_path_relative", WHEN("{'path':'a/b'}"), "stages[1].config.rules[0].when.path", "folder path", {0}},
    {"logic_path_trailing_slash", WHEN("{'path':'/a/'}"), "stages[1].config.rules[0].when.path", NULL, {0}},
    {"logic_name_pattern_empty", WHEN("{'name_pattern':''}"), "stages[1].config.rules[0].when.name_pattern", NULL,
     {0}},
    {"logic_slot_type", WHEN("{'slot_type':'audio'}"), "stages[1].config.rules[0].when.slot_type", "video", {0}},
    /* sampling */
    {"sampling_nothing", SAMPLE("{}"), "stages[1].config.percent", "required", {0}},
    {"sampling_percent_range", SAMPLE("{'percent':100.5}"), "stages[1].config.percent", "0 to 100", {0}},
    {"sampling_percent_type", SAMPLE("{'percent':'30'}"), "stages[1].config.percent", NULL, {0}},
    {"sampling_both", SAMPLE("{'percent':30,'top':5}"), "stages[1].config.top", "not both", {0}},
    {"sampling_top_zero", SAMPLE("{'top':0,'score':'priority'}"), "stages[1].config.top", NULL, {0}},
    {"sampling_score", SAMPLE("{'top':5,'score':'uncertainty'}"), "stages[1].config.score", "priority", {0}},
    {"sampling_score_needs_model", SAMPLE("{'top':5,'score':'entropy'}"), "stages[1].config.model_id", "required",
     {0}},
    {"sampling_model_id", SAMPLE("{'top':5,'score':'margin','model_id':'m1'}"), "stages[1].config.model_id", "UUID",
     {0}},
    {"sampling_model_for_priority", SAMPLE("{'top':5,'model_id':" U1 "}"), "stages[1].config.model_id",
     "only for a model's score", {0}},
    {"sampling_random_share", SAMPLE("{'top':5,'random_share':1.5}"), "stages[1].config.random_share", "0 to 1",
     {0}},
    {"sampling_share_of_percent", SAMPLE("{'percent':5,'random_share':0.5}"), "stages[1].config.random_share",
     "not both", {0}},
    /* webhook */
    {"webhook_wait", MID("{'id':'x','type':'webhook','config':{'wait':'yes'}}", X_NEXT), "stages[1].config.wait",
     NULL, {0}},
    /* the entry */
    {"no_dataset", DEF("{'id':'x','type':'webhook'}," S_DONE, "{'from':'x','port':'next','to':'done'}"), "stages",
     "dataset", {0}},
    {"two_datasets", DEF(S_IN ",{'id':'in2','type':'dataset'}," S_DONE,
                         "{'from':'in','port':'next','to':'done'},{'from':'in2','port':'next','to':'done'}"),
     "stages[1].type", "exactly one", {0}},
    /* edges */
    {"edge_not_object", DEF(S_IN "," S_DONE, "'in'"), "edges[0]", NULL, {0}},
    {"edge_unknown_member", DEF(S_IN "," S_DONE, "{'from':'in','port':'next','to':'done','label':'x'}"),
     "edges[0].label", NULL, {0}},
    {"edge_from_missing", DEF(S_IN "," S_DONE, "{'port':'next','to':'done'}"), "edges[0].from", "required", {0}},
    {"edge_from_unknown", DEF(S_IN "," S_DONE, "{'from':'start','port':'next','to':'done'}"), "edges[0].from",
     "start", {0}},
    {"edge_to_missing", DEF(S_IN "," S_DONE, "{'from':'in','port':'next'}"), "edges[0].to", "required", {0}},
    {"edge_to_unknown", DEF(S_IN "," S_DONE, "{'from':'in','port':'next','to':'end'}"), "edges[0].to", "end", {0}},
    {"edge_port_missing", DEF(S_IN "," S_DONE, "{'from':'in','to':'done'}"), "edges[0].port", "required", {0}},
    {"edge_port_unknown", DEF(S_IN "," S_DONE, "{'from':'in','port':'done','to':'done'}"), "edges[0].port",
     "no port \"done\"", {0}},
    {"edge_port_joined_twice", MID("{'id':'x','type':'review'}", X_REVIEW ",{'from':'x','port':'approve','to':'x'}"),
     "edges[3].port", "edges[1]", {0}},
    {"edge_from_complete", DEF(S_IN "," S_DONE ",{'id':'d','type':'discard'}",
                               "{'from':'in','port':'next','to':'done'},{'from':'done','port':'next','to':'d'}"),
     "edges[1].from", "complete", {0}},
    {"edge_to_dataset", MID("{'id':'x','type':'review'}", "{'from':'x','port':'approve','to':'done'},"
                                                          "{'from':'x','port':'reject','to':'in'}"),
     "edges[2].to", "entry", {0}},
    /* the graph */
    {"port_not_joined", MID("{'id':'x','type':'review'}", "{'from':'x','port':'approve','to':'done'}"), "stages[1]",
     "\"reject\"", {0}},
    {"stage_unreachable", DEF(S_IN "," S_DONE ",{'id':'lost','type':'complete'}",
                              "{'from':'in','port':'next','to':'done'}"), "stages[2]", "cannot be reached", {0}},
    {"automatic_loop",
     DEF(S_IN ",{'id':'s','type':'sampling','config':{'percent':50}},"
              "{'id':'l','type':'logic','config':{'rules':[{'name':'big','when':{'annotation_count':{'gte':9}}}]}},"
         S_DONE,
         "{'from':'in','port':'next','to':'s'},{'from':'s','port':'sampled','to':'done'},"
         "{'from':'s','port':'rest','to':'l'},{'from':'l','port':'big','to':'done'},"
         "{'from':'l','port':'default','to':'s'}"),
     "edges[4].to", "loop", {0}},
    {"webhook_self_loop", MID("{'id':'x','type':'webhook'}", "{'from':'x','port':'next','to':'x'}"), "edges[1].to",
     "loop", {0}},
};

static void run_case(void **state)
{
    const rule_case *c = *state;
    wf_fixture fx = {0};
    assert_non_null(fx.a = lp_arena_new(0, 0));
    lp_wf_limits lim = {OR_LIM(stages_max), OR_LIM(states_max), OR_LIM(rules_max), OR_LIM(assignees_max),
                        OR_LIM(id_max), OR_LIM(name_max)};
    int rc = wf_read(&fx, c->json, &lim);
    if (rc != -1 || fx.err.code != LP_E_INVALID || !has_field(&fx.err, c->field, c->words)) {
        print_error("case %s: want %s (\"%s\"), got rc %d code %d:\n", c->name, c->field, c->words ? c->words : "",
                    rc, (int)fx.err.code);
        print_fields(&fx.err);
        json_decref(fx.doc);
        lp_arena_free(fx.a);
        fail();
    }
    json_decref(fx.doc);
    lp_arena_free(fx.a);
}

/* A top stage ranked by a model's score: the score, the model (lower case) and the random share. */
static void test_sampling_by_model_score(void **state)
{
    wf_fixture *fx = *state;
    int rc = wf_read(fx, SAMPLE("{'top':100,'score':'entropy','model_id':'6A52A094-D998-4E6E-81B3-6BEEEBFAAE0B',"
                                "'random_share':0.2}"),
                     &WF_LIM);
    print_fields(&fx->err);
    assert_int_equal(rc, 0);
    const lp_wf_stage *x = &fx->g.stages[lp_wf_graph_find(&fx->g, "x")];
    assert_int_equal(x->sampling, LP_WF_SAMPLE_TOP);
    assert_int_equal(x->top, 100);
    assert_int_equal(x->score, LP_WF_SCORE_ENTROPY);
    assert_string_equal(lp_wf_score_name(x->score), "entropy");
    assert_string_equal(x->model_id, "6a52a094-d998-4e6e-81b3-6beeebfaae0b");
    assert_true(x->random_share == 0.2);
    assert_int_equal(wf_read(fx, SAMPLE("{'top':3}"), &WF_LIM), 0);
    x = &fx->g.stages[lp_wf_graph_find(&fx->g, "x")];
    assert_int_equal(x->score, LP_WF_SCORE_PRIORITY);
    assert_null(x->model_id);
    assert_true(x->random_share == 0);
    assert_null(lp_wf_score_name(LP_WF_SCORE_COUNT));
}

int main(void)
{
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test_setup_teardown(test_minimal, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_every_type, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_sampling_by_model_score, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_upper_case_uuids_read_lower, wf_setup, wf_teardown),
        cmocka_unit_test(test_names_and_types),
        cmocka_unit_test(test_limits_from_config),
        cmocka_unit_test_setup_teardown(test_errors_listed_together, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_not_an_object, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_model_stage, wf_setup, wf_teardown),
    };
    size_t nfixed = sizeof fixed / sizeof *fixed, ncases = sizeof CASES / sizeof *CASES;
    struct CMUnitTest *tests = calloc(nfixed + ncases, sizeof *tests);
    if (!tests)
        return 1;
    memcpy(tests, fixed, sizeof fixed);
    for (size_t i = 0; i < ncases; i++)
        tests[nfixed + i] = (struct CMUnitTest){.name = CASES[i].name, .test_func = run_case,
                                                .initial_state = (void *)&CASES[i]};
    int rc = _cmocka_run_group_tests("workflow_graph", tests, nfixed + ncases, NULL, NULL);
    free(tests);
    return rc;
}
