/* Memory arena: bump allocation in chained blocks, freed in one go.
 *
 * Every request and every job owns one arena; everything it allocates for its
 * own lifetime comes from there, so error paths never free piecemeal.
 * An arena has a byte ceiling: an allocation that would pass it returns NULL
 * (the caller reports LP_E_TOO_LARGE or LP_E_NOMEM), so no input can make one
 * request grow without bound. Not thread-safe: one owner thread at a time. */
#ifndef LOUPE_CORE_ARENA_H
#define LOUPE_CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct lp_arena lp_arena;

/* New arena. block_size: first block size (0 = 8 KiB); max_bytes: ceiling on
 * everything it may hold (0 = 64 MiB). Returns NULL on out-of-memory. */
lp_arena *lp_arena_new(size_t block_size, size_t max_bytes);

/* Frees every block. NULL is a no-op. */
void lp_arena_free(lp_arena *a);

/* Forgets every allocation but keeps the first block for reuse. */
void lp_arena_reset(lp_arena *a);

/* n bytes aligned to 16, owned by the arena. NULL when over the ceiling or
 * out of memory. lp_arena_alloc(a, 0) returns a valid unique pointer. */
void *lp_arena_alloc(lp_arena *a, size_t n);

/* Zeroed array of n elements of size bytes; NULL on overflow as well. */
void *lp_arena_calloc(lp_arena *a, size_t n, size_t size);

/* Copies; NULL s gives NULL. */
char *lp_arena_strdup(lp_arena *a, const char *s);
char *lp_arena_strndup(lp_arena *a, const char *s, size_t n);
void *lp_arena_memdup(lp_arena *a, const void *p, size_t n);

/* printf into the arena. NULL on failure. */
char *lp_arena_printf(lp_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *lp_arena_vprintf(lp_arena *a, const char *fmt, va_list ap);

/* Ties an outside object to the arena: fn(arg) runs when the arena is
 * freed or reset, most recently deferred first (a parsed JSON document
 * whose strings the arena's structures borrow, for instance). 0, or -1
 * when out of memory (fn is then not registered: the caller releases arg). */
int lp_arena_defer(lp_arena *a, void (*fn)(void *), void *arg);

/* Bytes handed out so far (including alignment padding). */
size_t lp_arena_used(const lp_arena *a);

#endif
