/* A process-wide cache of validated workflow graphs, kept by (workflow id,
 * version): a stored version never changes (a new definition is a new
 * version), so a task action need not read and validate its workflow's
 * definition again, only look up the version it reads with the task.
 *
 * Thread-safe. A graph handed out is borrowed until the arena it was handed
 * to is freed or reset (the arena holds a reference), even when the cache
 * lets it go meanwhile. */
#ifndef LOUPE_WORKFLOW_GRAPH_CACHE_H
#define LOUPE_WORKFLOW_GRAPH_CACHE_H

#include <stddef.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/workflow/graph.h"

/* 1 with *out the cached graph of (workflow_id, version), borrowed as said
 * above; 0 when it is not cached; -1 when out of memory. */
int lp_wf_graph_cache_get(const char *workflow_id, int version, lp_arena *a, lp_wf_graph *out, lp_error *err);

/* 1 with *out the graph of the newest version of workflow_id cached and
 * *version that version (which need not be the workflow's current one: the
 * caller checks it with its statement), borrowed as said above; 0 when none
 * is cached; -1 when out of memory. */
int lp_wf_graph_cache_newest(const char *workflow_id, lp_arena *a, lp_wf_graph *out, int *version, lp_error *err);

/* Reads definition (a stored definition's JSON text) with lp_wf_graph_read
 * and keeps the graph under (workflow_id, version), the least recently used
 * one making way when capacity graphs are kept already; *out as with
 * lp_wf_graph_cache_get. capacity 0 keeps nothing: the graph is read into
 * a. 0, or -1 (LP_E_INTERNAL for unreadable JSON, LP_E_INVALID with field
 * errors for a graph that does not validate). */
int lp_wf_graph_cache_read(const char *workflow_id, int version, const char *definition, const lp_wf_limits *lim,
                           size_t capacity, lp_arena *a, lp_wf_graph *out, lp_error *err);

/* Lets every cached graph go (graphs still borrowed are freed when their
 * arenas let them go). For tests and shutdown. */
void lp_wf_graph_cache_clear(void);

#endif
