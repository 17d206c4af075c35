/* Fuzzes the reader of workflow definitions (src/workflow/graph.c) and, for every definition it
 * accepts, routes a small batch out of every port of every stage (src/workflow/route.c): a
 * validated graph must route every task to a stage where it rests, in at most as many hops as
 * there are stages; anything else aborts. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "loupe/workflow/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NTASKS 4

static void route_everywhere(const lp_wf_graph *g, lp_arena *a)
{
    static const char *const classes[] = {"6a52a094-d998-4e6e-81b3-6beeebfaae0b"};
    static const char *const slots[] = {"video"};
    static const lp_wf_prop props[] = {{"colour", "red"}};
    json_t *meta = json_pack("{sssi}", "camera", "left", "rig", 2);
    lp_wf_facts f[NTASKS] = {
        {.item_id = "0b7e3f1c-5d1a-4c1e-9a55-1f0e2d3c4b5a", .name = "a.jpg", .path = "/", .priority = 3},
        {.item_id = "6a52a094-d998-4e6e-81b3-6beeebfaae0b", .name = "b.png", .path = "/city/day", .priority = 3,
         .annotation_count = 5, .class_ids = classes, .nclass_ids = 1, .props = props, .nprops = 1,
         .metadata = meta, .slot_types = slots, .nslot_types = 1},
        {.item_id = "00000000-0000-4000-8000-000000000001", .path = "/city", .priority = -1},
        {.item_id = "ffffffff-ffff-ffff-ffff-ffffffffffff", .name = "c", .path = "/x", .priority = 9,
         .annotation_count = 1},
    };
    size_t from[NTASKS], port[NTASKS];
    lp_wf_route out[NTASKS];
    for (size_t s = 0; s < g->nstages; s++)
        for (size_t k = 0; k < g->stages[s].nports; k++) {
            lp_error err;
            lp_error_clear(&err);
            for (size_t i = 0; i < NTASKS; i++) {
                from[i] = s;
                port[i] = k;
            }
            if (lp_wf_route_batch(g, 42, from, port, f, NTASKS, a, out, &err) != 0) {
                if (err.code == LP_E_NOMEM)
                    continue;
                abort(); /* a validated graph always routes */
            }
            for (size_t i = 0; i < NTASKS; i++)
                if (out[i].stage >= g->nstages || !lp_wf_stage_rests(&g->stages[out[i].stage]) ||
                    out[i].nhops < 1 || out[i].nhops > g->nstages)
                    abort();
        }
    json_decref(meta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    lp_arena *a = lp_arena_new(0, 16u << 20);
    lp_wf_limits lim = {.stages_max = 32, .states_max = 8, .rules_max = 8, .assignees_max = 8,
                        .id_max = LP_WF_ID_MAX, .name_max = 256};
    lp_wf_graph g;
    lp_error err;
    lp_error_clear(&err);
    if (doc && a) {
        if (lp_wf_graph_read(doc, &lim, a, &g, &err) == 0)
            route_everywhere(&g, a);
        else if (err.code != LP_E_INVALID && err.code != LP_E_NOMEM)
            abort();
    }
    lp_arena_free(a);
    json_decref(doc);
    return 0;
}
