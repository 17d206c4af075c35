/* Routing (src/workflow/route.c): the sample bucket, logic rules, routes
 * through routing stages, deterministic sampling over 10,000 items, and
 * top-N batches. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/workflow/route.h"
#include "wf_test.h"

#define CARS "6a52a094-d998-4e6e-81b3-6beeebfaae0b"
#define BIKES "0b7e3f1c-5d1a-4c1e-9a55-1f0e2d3c4b5a"

static void load(wf_fixture *fx, const char *json)
{
    if (wf_read(fx, json, &WF_LIM) != 0)
        fail_msg("graph refused: %s", fx->err.message);
}

static size_t stage(const wf_fixture *fx, const char *id)
{
    int i = lp_wf_graph_find(&fx->g, id);
    if (i < 0)
        fail_msg("no stage %s", id);
    return (size_t)i;
}

/* A lower-case UUID made from a counter. */
static void item_id(char out[37], unsigned i)
{
    snprintf(out, 37, "%08x-0000-4000-8000-%012x", i * 2654435761u, i);
}

/* Routes n items from the entry. */
static void route_from_entry(wf_fixture *fx, int64_t seed, const lp_wf_facts *facts, size_t n, lp_wf_route *out)
{
    size_t *from = calloc(n, sizeof *from), *port = calloc(n, sizeof *port);
    assert_true(from && port);
    for (size_t i = 0; i < n; i++)
        from[i] = fx->g.entry;
    int rc = lp_wf_route_batch(&fx->g, seed, from, port, facts, n, fx->a, out, &fx->err);
    free(from);
    free(port);
    if (rc != 0)
        fail_msg("routing failed: %s", fx->err.message);
}

/* ---- the bucket ----------------------------------------------------------------------- */

/* Vectors from Python's hashlib, and checked against the SQL form in docs/WORKFLOWS.md. */
static void test_bucket_vectors(void **state)
{
    (void)state;
    assert_int_equal(lp_wf_sample_bucket(42, "0b7e3f1c-5d1a-4c1e-9a55-1f0e2d3c4b5a"), 1523);
    assert_int_equal(lp_wf_sample_bucket(-7, "6a52a094-d998-4e6e-81b3-6beeebfaae0b"), 7551);
    assert_int_equal(lp_wf_sample_bucket(INT64_MAX, "ffffffff-ffff-ffff-ffff-ffffffffffff"), 9535);
    /* a digest whose first byte has its high bit set (b5a42882) */
    assert_int_equal(lp_wf_sample_bucket(7, "00000000-0000-4000-8000-000000000001"), 4370);
}

/* ---- logic rules ---------------------------------------------------------------------- */

static void test_conditions(void **state)
{
    wf_fixture *fx = *state;
    json_t *meta = wf_json("{'camera':'left','rig':2,'night':true,'size':1.5,'nested':{'a':1}}");
    const char *classes[] = {CARS};
    const char *slots[] = {"image", "video"};
    lp_wf_prop props[] = {{"colour", "red"}, {"doors", "4"}};
    lp_wf_facts f = {.item_id = "x", .name = "frame_001.jpg", .path = "/city/day", .annotation_count = 3,
                     .class_ids = classes, .nclass_ids = 1, .props = props, .nprops = 2, .metadata = meta,
                     .slot_types = slots, .nslot_types = 2};
    static const struct {
        const char *when;
        bool holds;
    } cases[] = {
        {"{'class_present':'" CARS "'}", true},
        {"{'class_present':'" BIKES "'}", false},
        {"{'class_present':'6A52A094-D998-4E6E-81B3-6BEEEBFAAE0B'}", true},
        {"{'class_absent':'" BIKES "'}", true},
        {"{'class_absent':'" CARS "'}", false},
        {"{'annotation_count':{'gte':3}}", true},
        {"{'annotation_count':{'gte':4}}", false},
        {"{'annotation_count':{'lte':3}}", true},
        {"{'annotation_count':{'lte':2}}", false},
        {"{'annotation_count':{'gte':1,'lte':5}}", true},
        {"{'property':{'name':'colour','value':'red'}}", true},
        {"{'property':{'name':'colour','value':'blue'}}", false},
        {"{'property':{'name':'doors','value':4}}", true},
        {"{'property':{'name':'doors','value':4.0}}", true},
        {"{'property':{'name':'wheels','value':'red'}}", false},
        {"{'metadata':{'camera':'left'}}", true},
        {"{'metadata':{'camera':'right'}}", false},
        {"{'metadata':{'camera':'left','rig':2}}", true},
        {"{'metadata':{'camera':'left','rig':3}}", false},
        {"{'metadata':{'rig':'2'}}", true},
        {"{'metadata':{'night':true}}", true},
        {"{'metadata':{'night':false}}", false},
        {"{'metadata':{'size':1.5}}", true},
        {"{'metadata':{'nested':'x'}}", false},
        {"{'metadata':{'absent':'x'}}", false},
        {"{'path':'/'}", true},
        {"{'path':'/city'}", true},
        {"{'path':'/city/day'}", true},
        {"{'path':'/cit'}", false},
        {"{'path':'/city/day/x'}", false},
        {"{'name_pattern':'*.jpg'}", true},
        {"{'name_pattern':'*.JPG'}", false},
        {"{'name_pattern':'frame_00?.jpg'}", true},
        {"{'slot_type':'video'}", true},
        {"{'slot_type':'volume'}", false},
        {"{'class_present':'" CARS "','path':'/city','slot_type':'video'}", true},
        {"{'class_present':'" CARS "','path':'/country'}", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char def[1024];
        snprintf(def, sizeof def,
                 "{'stages':[{'id':'in','type':'dataset'},{'id':'l','type':'logic','config':{'rules':"
                 "[{'name':'r','when':%s}]}},{'id':'yes','type':'complete'},{'id':'no','type':'discard'}],"
                 "'edges':[{'from':'in','port':'next','to':'l'},{'from':'l','port':'r','to':'yes'},"
                 "{'from':'l','port':'default','to':'no'}]}",
                 cases[i].when);
        load(fx, def);
        const lp_wf_stage *l = &fx->g.stages[stage(fx, "l")];
        if (lp_wf_rule_matches(&l->rules[0], &f) != cases[i].holds)
            fail_msg("case %zu %s: want %s", i, cases[i].when, cases[i].holds ? "holds" : "does not hold");
        assert_int_equal(lp_wf_logic_port(l, &f), cases[i].holds ? 0 : 1);
    }
    json_decref(meta);
}

/* Facts with nothing known (a fresh item) hold for no positive condition. */
static void test_conditions_on_empty_facts(void **state)
{
    wf_fixture *fx = *state;
    load(fx, "{'stages':[{'id':'in','type':'dataset'},{'id':'l','type':'logic','config':{'rules':["
             "{'name':'a','when':{'class_present':'" CARS "'}},{'name':'b','when':{'metadata':{'k':'v'}}},"
             "{'name':'c','when':{'name_pattern':'*'}},{'name':'d','when':{'path':'/a'}},"
             "{'name':'e','when':{'annotation_count':{'lte':0}}}]}},{'id':'done','type':'complete'}],"
             "'edges':[{'from':'in','port':'next','to':'l'},{'from':'l','port':'a','to':'done'},"
             "{'from':'l','port':'b','to':'done'},{'from':'l','port':'c','to':'done'},"
             "{'from':'l','port':'d','to':'done'},{'from':'l','port':'e','to':'done'},"
             "{'from':'l','port':'default','to':'done'}]}");
    lp_wf_facts f = {0};
    const lp_wf_stage *l = &fx->g.stages[stage(fx, "l")];
    /* a, b, c, d fail on missing facts; e (no annotations) is the first to hold */
    assert_int_equal(lp_wf_logic_port(l, &f), 4);
}

/* The first rule that matches wins, in the order written; none: default. */
static void test_first_match_wins(void **state)
{
    wf_fixture *fx = *state;
    load(fx, "{'stages':[{'id':'in','type':'dataset'},{'id':'l','type':'logic','config':{'rules':["
             "{'name':'many','when':{'annotation_count':{'gte':10}}},"
             "{'name':'cars','when':{'class_present':'" CARS "'}},"
             "{'name':'some','when':{'annotation_count':{'gte':1}}}]}},"
             "{'id':'a','type':'complete'},{'id':'b','type':'complete'},{'id':'c','type':'complete'},"
             "{'id':'d','type':'discard'}],"
             "'edges':[{'from':'in','port':'next','to':'l'},{'from':'l','port':'many','to':'a'},"
             "{'from':'l','port':'cars','to':'b'},{'from':'l','port':'some','to':'c'},"
             "{'from':'l','port':'default','to':'d'}]}");
    const char *cars[] = {CARS};
    lp_wf_facts f[4] = {
        {.item_id = "1", .annotation_count = 12, .class_ids = cars, .nclass_ids = 1},
        {.item_id = "2", .annotation_count = 2, .class_ids = cars, .nclass_ids = 1},
        {.item_id = "3", .annotation_count = 2},
        {.item_id = "4", .annotation_count = 0},
    };
    lp_wf_route r[4];
    route_from_entry(fx, 1, f, 4, r);
    assert_int_equal(r[0].stage, stage(fx, "a"));
    assert_int_equal(r[1].stage, stage(fx, "b"));
    assert_int_equal(r[2].stage, stage(fx, "c"));
    assert_int_equal(r[3].stage, stage(fx, "d"));
    assert_int_equal(r[3].nhops, 2);
    assert_int_equal(r[3].hops[1].from, stage(fx, "l"));
    assert_int_equal(r[3].hops[1].port, 3); /* default */
}

/* ---- routes --------------------------------------------------------------------------- */

#define CHAIN                                                                                                 \
    "{'stages':[{'id':'in','type':'dataset'},{'id':'s','type':'sampling','config':{'percent':100}},"        \
    "{'id':'hook','type':'webhook'},{'id':'l','type':'logic','config':{'rules':[{'name':'cars','when':"     \
    "{'class_present':'" CARS "'}}]}},{'id':'ann','type':'annotate','config':{'assignees':'any'}},"         \
    "{'id':'rev','type':'review'},{'id':'wait','type':'webhook','config':{'wait':true}},"                  \
    "{'id':'done','type':'complete'},{'id':'skip','type':'discard'}],"                                      \
    "'edges':[{'from':'in','port':'next','to':'s'},{'from':'s','port':'sampled','to':'hook'},"             \
    "{'from':'s','port':'rest','to':'skip'},{'from':'hook','port':'next','to':'l'},"                       \
    "{'from':'l','port':'cars','to':'ann'},{'from':'l','port':'default','to':'skip'},"                     \
    "{'from':'ann','port':'done','to':'rev'},{'from':'rev','port':'approve','to':'wait'},"                 \
    "{'from':'rev','port':'reject','to':'l'},{'from':'wait','port':'next','to':'done'}]}"

/* dataset → sampling → webhook → logic → annotate: every stage passed is a hop. */
static void test_route_through_routing_stages(void **state)
{
    wf_fixture *fx = *state;
    load(fx, CHAIN);
    const char *cars[] = {CARS};
    lp_wf_facts f[2] = {{.item_id = "a", .class_ids = cars, .nclass_ids = 1}, {.item_id = "b"}};
    lp_wf_route r[2];
    route_from_entry(fx, 5, f, 2, r);
    assert_int_equal(r[0].stage, stage(fx, "ann"));
    assert_int_equal(r[0].nhops, 4);
    const char *want[] = {"s", "hook", "l", "ann"};
    for (size_t h = 0; h < 4; h++)
        assert_int_equal(r[0].hops[h].to, stage(fx, want[h]));
    assert_int_equal(r[0].hops[0].from, fx->g.entry);
    assert_int_equal(r[0].hops[3].port, 0); /* cars */
    assert_int_equal(r[1].stage, stage(fx, "skip"));
    assert_int_equal(r[1].nhops, 4);
}

/* From a resting stage: reject goes back through logic; approve rests on a waiting webhook;
 * a task leaving that webhook ends on complete. */
static void test_route_from_resting_stages(void **state)
{
    wf_fixture *fx = *state;
    load(fx, CHAIN);
    const char *cars[] = {CARS};
    lp_wf_facts f[3] = {{.item_id = "a", .class_ids = cars, .nclass_ids = 1}, {.item_id = "b"}, {.item_id = "c"}};
    size_t from[3] = {stage(fx, "rev"), stage(fx, "rev"), stage(fx, "wait")}, port[3] = {1, 0, 0};
    lp_wf_route r[3];
    assert_int_equal(lp_wf_route_batch(&fx->g, 5, from, port, f, 3, fx->a, r, &fx->err), 0);
    assert_int_equal(r[0].stage, stage(fx, "ann"));
    assert_int_equal(r[0].nhops, 2);
    assert_int_equal(r[0].hops[0].port, 1);
    assert_int_equal(r[1].stage, stage(fx, "wait"));
    assert_int_equal(r[1].nhops, 1);
    assert_int_equal(r[2].stage, stage(fx, "done"));
    assert_int_equal(r[2].nhops, 1);
}

/* A graph built by hand that loops through routing stages fails instead of spinning. */
static void test_unvalidated_loop_fails(void **state)
{
    wf_fixture *fx = *state;
    load(fx, CHAIN);
    size_t l = stage(fx, "l"), hook = stage(fx, "hook");
    fx->g.stages[l].next[1] = hook; /* default → hook → l → … */
    lp_wf_facts f = {.item_id = "b"};
    size_t from = fx->g.entry, port = 0;
    lp_wf_route r;
    assert_int_equal(lp_wf_route_batch(&fx->g, 5, &from, &port, &f, 1, fx->a, &r, &fx->err), -1);
    assert_int_equal(fx->err.code, LP_E_INVALID);
    lp_error_clear(&fx->err);
    from = 99;
    assert_int_equal(lp_wf_route_batch(&fx->g, 5, &from, &port, &f, 1, fx->a, &r, &fx->err), -1);
    assert_int_equal(fx->err.code, LP_E_INVALID);
    lp_error_clear(&fx->err);
    from = fx->g.entry;
    port = 7;
    assert_int_equal(lp_wf_route_batch(&fx->g, 5, &from, &port, &f, 1, fx->a, &r, &fx->err), -1);
    assert_int_equal(fx->err.code, LP_E_INVALID);
}

/* ---- deterministic sampling ----------------------------------------------------------- */

#define N_ITEMS 10000

static const char *sampling_def(char *buf, size_t cap, double percent)
{
    snprintf(buf, cap,
             "{'stages':[{'id':'in','type':'dataset'},{'id':'s','type':'sampling','config':{'percent':%g}},"
             "{'id':'ann','type':'annotate','config':{'assignees':'any'}},{'id':'rest','type':'complete'}],"
             "'edges':[{'from':'in','port':'next','to':'s'},{'from':'s','port':'sampled','to':'ann'},"
             "{'from':'s','port':'rest','to':'rest'},{'from':'ann','port':'done','to':'rest'}]}",
             percent);
    return buf;
}

/* Routes N_ITEMS items; sampled[i] says item i went to annotate; returns how many did. */
static size_t sample(wf_fixture *fx, double percent, int64_t seed, char (*ids)[37], bool *sampled)
{
    char def[1024];
    lp_wf_facts *f = calloc(N_ITEMS, sizeof *f);
    lp_wf_route *r = calloc(N_ITEMS, sizeof *r);
    assert_true(f && r);
    load(fx, sampling_def(def, sizeof def, percent));
    for (unsigned i = 0; i < N_ITEMS; i++)
        f[i].item_id = ids[i];
    route_from_entry(fx, seed, f, N_ITEMS, r);
    size_t n = 0, ann = stage(fx, "ann");
    for (unsigned i = 0; i < N_ITEMS; i++)
        n += sampled[i] = r[i].stage == ann;
    free(f);
    free(r);
    return n;
}

static void test_sampling_share_and_stability(void **state)
{
    wf_fixture *fx = *state;
    char(*ids)[37] = calloc(N_ITEMS, sizeof *ids);
    bool *first = calloc(N_ITEMS, 1), *again = calloc(N_ITEMS, 1), *other = calloc(N_ITEMS, 1);
    assert_true(ids && first && again && other);
    for (unsigned i = 0; i < N_ITEMS; i++)
        item_id(ids[i], i);
    const double shares[] = {30, 5, 50, 92.5};
    for (size_t s = 0; s < sizeof shares / sizeof *shares; s++) {
        size_t n = sample(fx, shares[s], 1234567, ids, first);
        double got = 100.0 * (double)n / N_ITEMS;
        if (got < shares[s] - 2 || got > shares[s] + 2)
            fail_msg("asked %g %%, sampled %g %%", shares[s], got);
        /* the same seed gives the same routes */
        assert_int_equal(sample(fx, shares[s], 1234567, ids, again), n);
        assert_memory_equal(first, again, N_ITEMS);
        /* another seed: about the same share, other items */
        size_t m = sample(fx, shares[s], 7654321, ids, other);
        got = 100.0 * (double)m / N_ITEMS;
        assert_true(got >= shares[s] - 2 && got <= shares[s] + 2);
        assert_memory_not_equal(first, other, N_ITEMS);
    }
    /* a larger share samples a superset of a smaller one */
    sample(fx, 10, 99, ids, first);
    sample(fx, 30, 99, ids, again);
    for (unsigned i = 0; i < N_ITEMS; i++)
        assert_true(!first[i] || again[i]);
    /* 0 % and 100 % */
    assert_int_equal(sample(fx, 0, 99, ids, first), 0);
    assert_int_equal(sample(fx, 100, 99, ids, first), N_ITEMS);
    free(ids);
    free(first);
    free(again);
    free(other);
}

/* ---- top N ---------------------------------------------------------------------------- */

#define TOP_DEF(n)                                                                                            \
    "{'stages':[{'id':'in','type':'dataset'},{'id':'top','type':'sampling','config':{'top':" #n           \
    ",'score':'priority'}},{'id':'ann','type':'annotate','config':{'assignees':'any'}},"                    \
    "{'id':'rest','type':'discard'},{'id':'done','type':'complete'}],"                                      \
    "'edges':[{'from':'in','port':'next','to':'top'},{'from':'top','port':'sampled','to':'ann'},"          \
    "{'from':'top','port':'rest','to':'rest'},{'from':'ann','port':'done','to':'done'}]}"

static void test_top_n_by_priority(void **state)
{
    wf_fixture *fx = *state;
    load(fx, TOP_DEF(3));
    int64_t prio[8] = {5, 1, 9, 5, 0, 7, -3, 2};
    char ids[8][37];
    lp_wf_facts f[8];
    lp_wf_route r[8];
    for (unsigned i = 0; i < 8; i++) {
        item_id(ids[i], i);
        f[i] = (lp_wf_facts){.item_id = ids[i], .priority = prio[i]};
    }
    route_from_entry(fx, 42, f, 8, r);
    size_t ann = stage(fx, "ann"), rest = stage(fx, "rest"), top = stage(fx, "top");
    /* 9, 7 and one of the two 5s: the one with the lower bucket */
    assert_int_equal(r[2].stage, ann);
    assert_int_equal(r[5].stage, ann);
    size_t fives_in = (r[0].stage == ann) + (r[3].stage == ann);
    assert_int_equal(fives_in, 1);
    size_t winner = lp_wf_sample_bucket(42, ids[0]) < lp_wf_sample_bucket(42, ids[3]) ? 0 : 3;
    assert_int_equal(r[winner].stage, ann);
    for (unsigned i = 0; i < 8; i++) {
        if (i != 2 && i != 5 && i != winner)
            assert_int_equal(r[i].stage, rest);
        assert_int_equal(r[i].nhops, 2);
        assert_int_equal(r[i].hops[1].from, top);
    }
    /* same batch, same answer; a batch smaller than N all goes through */
    lp_wf_route again[8];
    route_from_entry(fx, 42, f, 8, again);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(again[i].stage, r[i].stage);
    route_from_entry(fx, 42, f, 2, again);
    assert_int_equal(again[0].stage, ann);
    assert_int_equal(again[1].stage, ann);
}

#define TOP_SCORE_DEF(n, share)                                                                               \
    "{'stages':[{'id':'in','type':'dataset'},{'id':'top','type':'sampling','config':{'top':" #n               \
    ",'score':'entropy','model_id':'6a52a094-d998-4e6e-81b3-6beeebfaae0b','random_share':" #share "}},"        \
    "{'id':'ann','type':'annotate','config':{'assignees':'any'}},"                                              \
    "{'id':'rest','type':'discard'},{'id':'done','type':'complete'}],"                                          \
    "'edges':[{'from':'in','port':'next','to':'top'},{'from':'top','port':'sampled','to':'ann'},"              \
    "{'from':'top','port':'rest','to':'rest'},{'from':'ann','port':'done','to':'done'}]}"

/* A model's score ranks the batch (items without one last, whatever their priority); a random
 * share of the top comes from the rest by lowest bucket. */
static void test_top_n_by_model_score(void **state)
{
    wf_fixture *fx = *state;
    const double score[8] = {0.1, 0.9, 0.5, 0.7, NAN, 0.3, 0.2, NAN};
    double per_stage[8][5];
    char ids[8][37];
    lp_wf_facts f[8];
    lp_wf_route r[8];
    load(fx, TOP_SCORE_DEF(4, 0));
    size_t top = stage(fx, "top"), ann = stage(fx, "ann");
    assert_true(fx->g.nstages <= 5);
    for (unsigned i = 0; i < 8; i++) {
        item_id(ids[i], i);
        for (size_t s = 0; s < 5; s++)
            per_stage[i][s] = NAN;
        per_stage[i][top] = score[i];
        f[i] = (lp_wf_facts){.item_id = ids[i], .priority = 100 - i, .stage_scores = per_stage[i]};
    }
    /* random share 0: exactly the four best scores */
    route_from_entry(fx, 7, f, 8, r);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(r[i].stage == ann, i == 1 || i == 3 || i == 2 || i == 5);
    /* seven of eight: the unscored go last, the lower bucket of the two passes */
    load(fx, TOP_SCORE_DEF(7, 0));
    route_from_entry(fx, 7, f, 8, r);
    size_t out = lp_wf_sample_bucket(7, ids[4]) < lp_wf_sample_bucket(7, ids[7]) ? 7 : 4;
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(r[i].stage == ann, i != out);
    /* share 0.5 of 4: the two best (1, 3), then the two lowest buckets of the rest */
    load(fx, TOP_SCORE_DEF(4, 0.5));
    route_from_entry(fx, 7, f, 8, r);
    unsigned rest[6] = {0, 2, 4, 5, 6, 7};
    for (unsigned a = 0; a < 6; a++) /* sort the rest by bucket */
        for (unsigned b = a + 1; b < 6; b++)
            if (lp_wf_sample_bucket(7, ids[rest[b]]) < lp_wf_sample_bucket(7, ids[rest[a]])) {
                unsigned t = rest[a];
                rest[a] = rest[b];
                rest[b] = t;
            }
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(r[i].stage == ann, i == 1 || i == 3 || i == rest[0] || i == rest[1]);
    /* no scores at all (routing given none): by bucket alone */
    for (unsigned i = 0; i < 8; i++)
        f[i].stage_scores = NULL;
    load(fx, TOP_SCORE_DEF(1, 0));
    route_from_entry(fx, 7, f, 8, r);
    unsigned low = 0;
    for (unsigned i = 1; i < 8; i++)
        if (lp_wf_sample_bucket(7, ids[i]) < lp_wf_sample_bucket(7, ids[low]))
            low = i;
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(r[i].stage == ann, i == low);
}

/* Ties on score and bucket fall to the item id: the same item twice in a batch. */
static void test_top_n_ties(void **state)
{
    wf_fixture *fx = *state;
    load(fx, TOP_DEF(1));
    lp_wf_facts f[3] = {{.item_id = "b"}, {.item_id = "a"}, {.item_id = "b"}};
    lp_wf_route r[3];
    route_from_entry(fx, 1, f, 3, r);
    /* "a" and "b" have different buckets: whichever is lower wins; the two "b"s rank by task order */
    size_t ann = stage(fx, "ann");
    if (lp_wf_sample_bucket(1, "a") < lp_wf_sample_bucket(1, "b"))
        assert_true(r[1].stage == ann && r[0].stage != ann && r[2].stage != ann);
    else
        assert_true(r[0].stage == ann && r[1].stage != ann && r[2].stage != ann);
}

/* Two top stages in a row, reached through logic: the second judges the batch the first let
 * through, whatever the order of the tasks. */
static void test_top_n_batches_in_series(void **state)
{
    wf_fixture *fx = *state;
    load(fx, "{'stages':[{'id':'in','type':'dataset'},"
             "{'id':'t2','type':'sampling','config':{'top':2}},"
             "{'id':'l','type':'logic','config':{'rules':[{'name':'big','when':{'annotation_count':{'gte':1}}}]}},"
             "{'id':'t5','type':'sampling','config':{'top':5}},"
             "{'id':'ann','type':'annotate','config':{'assignees':'any'}},{'id':'rest','type':'discard'}],"
             "'edges':[{'from':'in','port':'next','to':'t5'},{'from':'t5','port':'sampled','to':'l'},"
             "{'from':'t5','port':'rest','to':'rest'},{'from':'l','port':'big','to':'t2'},"
             "{'from':'l','port':'default','to':'t2'},{'from':'t2','port':'sampled','to':'ann'},"
             "{'from':'t2','port':'rest','to':'rest'},{'from':'ann','port':'done','to':'rest'}]}");
    char ids[10][37];
    lp_wf_facts f[10];
    lp_wf_route r[10];
    for (unsigned i = 0; i < 10; i++) {
        item_id(ids[i], i);
        f[i] = (lp_wf_facts){.item_id = ids[i], .priority = (int64_t)(i * 7 % 10), .annotation_count = i % 2};
    }
    route_from_entry(fx, 3, f, 10, r);
    size_t ann = stage(fx, "ann"), n = 0;
    for (unsigned i = 0; i < 10; i++) {
        n += r[i].stage == ann;
        if (r[i].stage == ann) /* the two highest priorities of all: 9 (i=7) and 8 (i=4) */
            assert_true(i == 7 || i == 4);
    }
    assert_int_equal(n, 2);
    assert_int_equal(r[7].nhops, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_vectors),
        cmocka_unit_test_setup_teardown(test_conditions, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_conditions_on_empty_facts, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_first_match_wins, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_route_through_routing_stages, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_route_from_resting_stages, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_unvalidated_loop_fails, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_sampling_share_and_stability, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_top_n_by_priority, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_top_n_ties, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_top_n_by_model_score, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_top_n_batches_in_series, wf_setup, wf_teardown),
    };
    return cmocka_run_group_tests_name("workflow_route", tests, NULL, NULL);
}
