/* Allocation-failure injection (tests only; see alloc_fail.h). */
#include "loupe/core/alloc_fail.h"

#ifdef LOUPE_ALLOC_FAIL
#include <stdatomic.h>
#include <stdlib.h>

static atomic_long counted;
static atomic_long fail_at = -1; /* -1: not yet read from the environment */

int lp_alloc_fail_now(void)
{
    long at = atomic_load(&fail_at);
    if (at < 0) {
        const char *env = getenv("LP_ALLOC_FAIL_AT");
        long want = env ? strtol(env, NULL, 10) : 0;
        atomic_compare_exchange_strong(&fail_at, &at, want > 0 ? want : 0);
        at = atomic_load(&fail_at);
    }
    long n = atomic_fetch_add(&counted, 1) + 1;
    return at > 0 && n == at;
}

void lp_alloc_fail_arm(long n)
{
    atomic_store(&fail_at, n > 0 ? n : 0);
    atomic_store(&counted, 0);
}

long lp_alloc_fail_count(void)
{
    return atomic_load(&counted);
}
#else
typedef int lp_alloc_fail_unused; /* an empty translation unit is not ISO C */
#endif
