/* Allocation-failure injection, for tests: makes the n-th allocation of the
 * arena (lp_arena_new, every lp_arena_alloc and what is built on it) and of
 * bounded buffers (every growth of an lp_buf) fail as if
 * memory had run out, so that every error path of the code that handles a
 * request can be driven.
 *
 * Compiled in only when LOUPE_ALLOC_FAIL is defined: the asan preset turns on
 * the CMake option LOUPE_ALLOC_FAIL, which defines it for loupe_core and the
 * tests that arm the hook. Elsewhere lp_alloc_fail_now is a constant 0 and
 * the rest does not exist. Two ways to arm it:
 *   - LP_ALLOC_FAIL_AT=n in the environment: the n-th allocation counted
 *     from the first one of the process fails (once);
 *   - lp_alloc_fail_arm(n) from a test: the n-th allocation from now fails
 *     (once), and lp_alloc_fail_count says how many were counted since.
 * The counter is shared by all threads (atomic). */
#ifndef LOUPE_CORE_ALLOC_FAIL_H
#define LOUPE_CORE_ALLOC_FAIL_H

#ifdef LOUPE_ALLOC_FAIL
/* Counts one allocation; 1 when it must fail. */
int lp_alloc_fail_now(void);
/* Counts from 0 again; the n-th allocation from now fails (n = 0: none). */
void lp_alloc_fail_arm(long n);
/* Allocations counted since the last lp_alloc_fail_arm (or the first one). */
long lp_alloc_fail_count(void);
#else
static inline int lp_alloc_fail_now(void)
{
    return 0;
}
#endif

#endif
