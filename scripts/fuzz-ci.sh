#!/usr/bin/env bash
# fuzz-ci.sh [RUNS] [SECONDS] — the fuzzing step of `make test` (ctest fuzz/ci): configures the
# fuzz preset when build/fuzz has no cache yet, builds only the fuzz targets and the libraries
# they link (target fuzz_targets; clang, ASan + UBSan, libFuzzer), then runs every target for
# RUNS inputs (default 20000), each capped at SECONDS (default 20) so a slow target cannot
# stretch the suite. Skips (tests/skip.sh) when clang or its libFuzzer runtime is missing.
set -euo pipefail

runs=${1:-20000}
seconds=${2:-20}
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"

command -v clang >/dev/null || exec tests/skip.sh "clang is not installed (scripts/deps.sh install)"
compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null ||
    exec tests/skip.sh "libFuzzer's runtime (libclang-rt-14-dev) is not installed"

[[ -f build/fuzz/CMakeCache.txt ]] || cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j 2 --target fuzz_targets
FUZZ_RUNS=$runs scripts/fuzz.sh build/fuzz "$seconds"
