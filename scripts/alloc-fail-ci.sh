#!/usr/bin/env bash
# alloc-fail-ci.sh — the allocation-failure step of `make test` (ctest asan/alloc_fail): the hook
# LP_ALLOC_FAIL_AT exists only in the asan preset (ASan + UBSan, LOUPE_ALLOC_FAIL), so this
# configures that preset (again: an older build/asan may predate the hook), builds only the test
# api_alloc_fail_test and the libraries it links, and runs it there: every counted allocation of
# its requests fails in turn, each answer must be a clean problem and LeakSanitizer must find
# nothing. See docs/CONTRIBUTING.md.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"

cmake --preset asan >/dev/null
cmake --build --preset asan -j 2 --target api_alloc_fail_test
exec ctest --preset asan -R '^unit/api_alloc_fail_test$' --no-tests=error
