/* The one way a cmocka test skips (tests/skip.sh and the integration harness's lh.skip() do the
 * same for scripts and Python): LP_TEST_SKIP("PostgreSQL is not installed") writes
 * "<test>: <reason>" to $LOUPE_TEST_SKIP_LOG (`make test` prints the list at the end) and skips;
 * under LOUPE_TEST_REQUIRE=all (CI) it fails the test instead, so nothing passes by being
 * skipped. A program whose every test skipped exits lp_test_skip_status() (77, or 1 when
 * skips are failures). Include after <cmocka.h>. */
#ifndef LOUPE_TESTS_UNIT_TEST_SKIP_H
#define LOUPE_TESTS_UNIT_TEST_SKIP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when LOUPE_TEST_REQUIRE=all: every skip is a failure. */
static inline int lp_test_skips_fail(void)
{
    const char *r = getenv("LOUPE_TEST_REQUIRE");
    return r && strcmp(r, "all") == 0;
}

/* Appends "<LOUPE_TEST_NAME>: <reason>" to $LOUPE_TEST_SKIP_LOG (when set) and to stderr. */
static inline void lp_test_skip_record(const char *reason)
{
    const char *log = getenv("LOUPE_TEST_SKIP_LOG"), *name = getenv("LOUPE_TEST_NAME");
    FILE *fp;
    fprintf(stderr, "SKIP: %s\n", reason);
    if (log && *log && (fp = fopen(log, "a"))) {
        fprintf(fp, "%s: %s\n", name && *name ? name : "unit test", reason);
        fclose(fp);
    }
}

/* The exit status of a program whose server-bound tests all skipped. */
static inline int lp_test_skip_status(void)
{
    return lp_test_skips_fail() ? 1 : 77;
}

#define LP_TEST_SKIP(reason)                                                                                     \
    do {                                                                                                         \
        if (lp_test_skips_fail())                                                                                \
            fail_msg("cannot run: %s (LOUPE_TEST_REQUIRE=all turns skips into failures)", (reason));             \
        lp_test_skip_record(reason);                                                                             \
        skip();                                                                                                  \
    } while (0)

#endif
