/* Validated workflow graphs kept by (workflow id, version). See
 * loupe/workflow/graph_cache.h.
 *
 * A list of entries, most recently used first, under one mutex. An entry
 * owns its graph's arena and the JSON document whose strings the graph
 * borrows; every arena it is handed to holds a reference, so an entry the
 * cache lets go while borrowed is freed by its last borrower. */
#include "loupe/workflow/graph_cache.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    struct entry *next;
    char workflow_id[37];
    int version;
    int refs;                 /* arenas borrowing the graph */
    int kept;                 /* 1 while on the cache's list */
    json_t *doc;
    lp_arena *arena;
    lp_wf_graph graph;        /* in arena, strings in doc */
} entry;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static entry *g_head;          /* most recently used first */
static size_t g_count;

static void entry_free(entry *e)
{
    json_decref(e->doc);
    lp_arena_free(e->arena);
    free(e);
}

/* Unlinks e (on the list) from the cache; frees it when nobody borrows it.
 * Caller holds g_mu. */
static void drop_locked(entry **link, entry *e)
{
    *link = e->next;
    e->next = NULL;
    e->kept = 0;
    g_count--;
    if (e->refs == 0)
        entry_free(e);
}

static void release(void *arg)
{
    entry *e = arg;
    pthread_mutex_lock(&g_mu);
    int gone = --e->refs == 0 && !e->kept;
    pthread_mutex_unlock(&g_mu);
    if (gone)
        entry_free(e);
}

/* Hands e's graph to a (a reference is taken; caller holds g_mu). 0 or -1. */
static int lend_locked(entry *e, lp_arena *a, lp_wf_graph *out, lp_error *err)
{
    if (lp_arena_defer(a, release, e) != 0)
        return lp_error_set(err, LP_E_NOMEM, "out of memory lending workflow %s's graph", e->workflow_id);
    e->refs++;
    *out = e->graph;
    return 0;
}

/* The entry of (id, version), moved to the front; NULL. Caller holds g_mu. */
static entry *find_locked(const char *workflow_id, int version)
{
    for (entry **link = &g_head; *link; link = &(*link)->next) {
        entry *e = *link;
        if (e->version == version && strcmp(e->workflow_id, workflow_id) == 0) {
            *link = e->next;
            e->next = g_head;
            g_head = e;
            return e;
        }
    }
    return NULL;
}

int lp_wf_graph_cache_get(const char *workflow_id, int version, lp_arena *a, lp_wf_graph *out, lp_error *err)
{
    pthread_mutex_lock(&g_mu);
    entry *e = find_locked(workflow_id, version);
    int rc = e ? (lend_locked(e, a, out, err) == 0 ? 1 : -1) : 0;
    pthread_mutex_unlock(&g_mu);
    return rc;
}

int lp_wf_graph_cache_newest(const char *workflow_id, lp_arena *a, lp_wf_graph *out, int *version, lp_error *err)
{
    entry *newest = NULL;
    int rc = 0;
    pthread_mutex_lock(&g_mu);
    for (entry *e = g_head; e; e = e->next)
        if (strcmp(e->workflow_id, workflow_id) == 0 && (!newest || e->version > newest->version))
            newest = e;
    if (newest) {
        *version = newest->version;
        rc = lend_locked(newest, a, out, err) == 0 ? 1 : -1;
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

static void json_release(void *doc)
{
    json_decref(doc);
}

static json_t *parse(const char *workflow_id, const char *definition, lp_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loads(definition, 0, &jerr);
    if (!doc)
        lp_error_set(err, LP_E_INTERNAL, "workflow %s: stored definition unreadable: %s", workflow_id, jerr.text);
    return doc;
}

/* No cache: the graph lives in a, as the document does. */
static int read_uncached(const char *workflow_id, const char *definition, const lp_wf_limits *lim, lp_arena *a,
                         lp_wf_graph *out, lp_error *err)
{
    json_t *doc = parse(workflow_id, definition, err);
    if (!doc)
        return -1;
    if (lp_arena_defer(a, json_release, doc) != 0) {
        json_decref(doc);
        return lp_error_set(err, LP_E_NOMEM, "out of memory loading workflow %s", workflow_id);
    }
    return lp_wf_graph_read(doc, lim, a, out, err);
}

int lp_wf_graph_cache_read(const char *workflow_id, int version, const char *definition, const lp_wf_limits *lim,
                           size_t capacity, lp_arena *a, lp_wf_graph *out, lp_error *err)
{
    entry *e, *old;
    int rc;

    if (capacity == 0)
        return read_uncached(workflow_id, definition, lim, a, out, err);
    if (!(e = calloc(1, sizeof *e)) || !(e->arena = lp_arena_new(0, 0))) {
        free(e);
        return lp_error_set(err, LP_E_NOMEM, "out of memory loading workflow %s", workflow_id);
    }
    snprintf(e->workflow_id, sizeof e->workflow_id, "%s", workflow_id);
    e->version = version;
    if (!(e->doc = parse(workflow_id, definition, err)) ||
        lp_wf_graph_read(e->doc, lim, e->arena, &e->graph, err) != 0) {
        entry_free(e);
        return -1;
    }
    pthread_mutex_lock(&g_mu);
    if ((old = find_locked(workflow_id, version))) {
        /* another thread read the same version meanwhile */
        rc = lend_locked(old, a, out, err);
        pthread_mutex_unlock(&g_mu);
        entry_free(e);
        return rc;
    }
    while (g_count >= capacity) {
        entry **link = &g_head;
        while ((*link)->next)
            link = &(*link)->next;
        drop_locked(link, *link);
    }
    e->next = g_head;
    g_head = e;
    e->kept = 1;
    g_count++;
    rc = lend_locked(e, a, out, err);
    pthread_mutex_unlock(&g_mu);
    return rc;
}

void lp_wf_graph_cache_clear(void)
{
    pthread_mutex_lock(&g_mu);
    while (g_head)
        drop_locked(&g_head, g_head);
    pthread_mutex_unlock(&g_mu);
}
