#!/usr/bin/env bash
# fuzz.sh BUILD_DIR [SECONDS] — runs every libFuzzer target (*_fuzz) built in BUILD_DIR for
# SECONDS each (default 60). The corpus of target NAME grows in BUILD_DIR/corpus/NAME, seeded
# from tests/fuzz/corpus/NAME when that exists; tests/fuzz/NAME.dict is used as a dictionary.
# Crashing inputs land in BUILD_DIR/artifacts/NAME/. Exits 1 when any target found a crash.
# FUZZ_RUNS=N in the environment stops each target after N inputs as well (CI: scripts/fuzz-ci.sh).
set -euo pipefail

build=${1:?usage: fuzz.sh BUILD_DIR [SECONDS]}
seconds=${2:-60}
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2; }
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)

mapfile -t targets < <(find "$build" -type f -name '*_fuzz' -perm -u+x | sort)
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "fuzz.sh: no *_fuzz targets in $build (configure with: cmake --preset fuzz)" >&2
    exit 1
fi

failed=()
for t in "${targets[@]}"; do
    name=$(basename "$t")
    corpus=$build/corpus/$name
    artifacts=$build/artifacts/$name
    mkdir -p "$corpus" "$artifacts"
    seeds=()
    [[ -d "$src/tests/fuzz/corpus/$name" ]] && seeds=("$src/tests/fuzz/corpus/$name")
    opts=(-max_total_time="$seconds" -artifact_prefix="$artifacts/" -print_final_stats=1)
    [[ -n "${FUZZ_RUNS:-}" ]] && opts+=(-runs="$FUZZ_RUNS")
    [[ -f "$src/tests/fuzz/$name.dict" ]] && opts+=(-dict="$src/tests/fuzz/$name.dict")
    echo "=== $name: ${seconds}s"
    if ! "$t" "${opts[@]}" "$corpus" "${seeds[@]}" > "$build/artifacts/$name.log" 2>&1; then
        tail -n 40 "$build/artifacts/$name.log"
        failed+=("$name")
    else
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$build/artifacts/$name.log" || true
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz.sh: crashes found by: ${failed[*]} (inputs in $build/artifacts/)" >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets ran ${seconds}s each without a crash"
