#!/bin/sh
# skip.sh — the one way a test script or ctest command skips (the harness's lh.skip() and the C
# tests' LP_TEST_SKIP() do the same in Python and C).
#
#   skip.sh REASON...            skip now: exit 77 (ctest's skip code) after writing
#                                "<test>: REASON" to $LOUPE_TEST_SKIP_LOG (`make test` prints it)
#   skip.sh --run COMMAND ARGS…  run COMMAND; when it exits 77, skip with its last output line
#                                as the reason; any other status is passed on
#
# With LOUPE_TEST_REQUIRE=all (CI) a skip is a failure: exit 1, naming what is missing.
# LOUPE_TEST_NAME (set by ctest) names the test in the line.
set -u

skip() {
    name=${LOUPE_TEST_NAME:-test}
    if [ "${LOUPE_TEST_REQUIRE:-}" = all ]; then
        echo "FAIL: $name cannot run: $* (LOUPE_TEST_REQUIRE=all turns skips into failures)" >&2
        exit 1
    fi
    if [ -n "${LOUPE_TEST_SKIP_LOG:-}" ]; then
        printf '%s: %s\n' "$name" "$*" >>"$LOUPE_TEST_SKIP_LOG"
    fi
    echo "SKIP: $*" >&2
    exit 77
}

if [ "${1:-}" = --run ]; then
    shift
    [ $# -gt 0 ] || { echo "usage: skip.sh --run COMMAND [ARGS...]" >&2; exit 2; }
    out=$(mktemp) || exit 1
    rc=0
    "$@" >"$out" 2>&1 || rc=$?
    cat "$out"
    reason=$(grep -v '^[[:space:]]*$' "$out" | tail -n 1)
    rm -f "$out"
    [ "$rc" = 77 ] || exit "$rc"
    skip "${reason:-$1 exited 77}"
fi
[ $# -gt 0 ] || { echo "usage: skip.sh REASON... | --run COMMAND [ARGS...]" >&2; exit 2; }
skip "$@"
