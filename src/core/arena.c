/* Memory arena: chained blocks, bump allocation, one free. See arena.h. */
#include "loupe/core/arena.h"

#include "loupe/core/alloc_fail.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16u
#define ARENA_DEFAULT_BLOCK (8u * 1024u)
#define ARENA_DEFAULT_MAX (64u * 1024u * 1024u)

typedef struct arena_block {
    struct arena_block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    _Alignas(16) unsigned char data[];
} arena_block;

/* A function lp_arena_defer registered (the node lives in the arena). */
typedef struct arena_deferred {
    struct arena_deferred *next;
    void (*fn)(void *);
    void *arg;
} arena_deferred;

struct lp_arena {
    arena_block *head;  /* current block (most recent) */
    arena_deferred *deferred; /* most recent first */
    size_t block_size;
    size_t max_bytes;
    size_t reserved;    /* bytes in all blocks, counted against max_bytes */
    size_t used;
};

static arena_block *block_new(size_t size)
{
    arena_block *b = malloc(sizeof(*b) + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

lp_arena *lp_arena_new(size_t block_size, size_t max_bytes)
{
    if (lp_alloc_fail_now())
        return NULL;
    lp_arena *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->block_size = block_size ? block_size : ARENA_DEFAULT_BLOCK;
    a->max_bytes = max_bytes ? max_bytes : ARENA_DEFAULT_MAX;
    if (a->block_size > a->max_bytes)
        a->block_size = a->max_bytes;
    a->head = block_new(a->block_size);
    if (!a->head) {
        free(a);
        return NULL;
    }
    a->reserved = a->block_size;
    return a;
}

/* Runs the deferred functions, most recent first, and forgets them. */
static void run_deferred(lp_arena *a)
{
    while (a->deferred) {
        arena_deferred *d = a->deferred;
        a->deferred = d->next;
        d->fn(d->arg);
    }
}

int lp_arena_defer(lp_arena *a, void (*fn)(void *), void *arg)
{
    arena_deferred *d = lp_arena_alloc(a, sizeof *d);
    if (!d)
        return -1;
    d->fn = fn;
    d->arg = arg;
    d->next = a->deferred;
    a->deferred = d;
    return 0;
}

void lp_arena_free(lp_arena *a)
{
    if (!a)
        return;
    run_deferred(a);
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

void lp_arena_reset(lp_arena *a)
{
    if (!a)
        return;
    run_deferred(a);
    /* keep the oldest block (the first, of block_size), free the rest */
    arena_block *b = a->head, *keep = NULL;
    while (b) {
        arena_block *next = b->next;
        if (!next)
            keep = b;
        else
            free(b);
        b = next;
    }
    a->head = keep;
    if (keep) {
        keep->used = 0;
        a->reserved = keep->size;
    } else {
        a->reserved = 0;
    }
    a->used = 0;
}

void *lp_arena_alloc(lp_arena *a, size_t n)
{
    if (!a || lp_alloc_fail_now())
        return NULL;
    if (n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    size_t need = (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    arena_block *b = a->head;
    if (!b || b->size - b->used < need) {
        size_t size = a->block_size;
        /* grow block size geometrically up to 1 MiB so big requests use few blocks */
        if (b && b->size * 2 <= (1u << 20) && b->size * 2 > size)
            size = b->size * 2;
        if (size < need)
            size = need;
        if (size > a->max_bytes - a->reserved || a->reserved > a->max_bytes) {
            if (need > a->max_bytes - a->reserved || a->reserved > a->max_bytes)
                return NULL;
            size = need;
        }
        arena_block *nb = block_new(size);
        if (!nb)
            return NULL;
        nb->next = a->head;
        a->head = nb;
        a->reserved += size;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used += need;
    return p;
}

void *lp_arena_calloc(lp_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = lp_arena_alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *lp_arena_memdup(lp_arena *a, const void *p, size_t n)
{
    void *q = lp_arena_alloc(a, n);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

char *lp_arena_strndup(lp_arena *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    size_t len = strnlen(s, n);
    char *q = lp_arena_alloc(a, len + 1);
    if (!q)
        return NULL;
    memcpy(q, s, len);
    q[len] = '\0';
    return q;
}

char *lp_arena_strdup(lp_arena *a, const char *s)
{
    return s ? lp_arena_strndup(a, s, strlen(s)) : NULL;
}

char *lp_arena_vprintf(lp_arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *q = lp_arena_alloc(a, (size_t)n + 1);
    if (!q)
        return NULL;
    vsnprintf(q, (size_t)n + 1, fmt, ap);
    return q;
}

char *lp_arena_printf(lp_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *q = lp_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return q;
}

size_t lp_arena_used(const lp_arena *a)
{
    return a ? a->used : 0;
}
