#!/usr/bin/env bash
# Annotation save/load benchmark: one request saving 10,000 polygons of 64
# points (POST /api/v1/items/{id}/annotations/batch), then loading them back
# (GET /api/v1/items/{id}/annotations), against PostgreSQL's raw COPY of the
# same rows into and out of the same table, all measured in this run.
#
#   bench/annotations_bench.sh [BUILD_DIR]     (default build/release, else build/dev)
# Environment: BENCH_SHAPES (10000), BENCH_POINTS (64), BENCH_RUNS (3; the best run counts).
# Goals: save >= 0.3x the COPY-in rate; load <= 2x the COPY-out time.
# Use a Release build for figures worth quoting (cmake --preset release).
set -euo pipefail
. "$(dirname "$0")/lib/bench.sh"
bench_init annotations_bench
build=${1:-}
if [[ -z "$build" ]]; then
    build=$root/build/release
    [[ -x "$build/src/app/louped" ]] || build=$root/build/dev
fi
shapes=${BENCH_SHAPES:-10000}
points=${BENCH_POINTS:-64}
runs=${BENCH_RUNS:-3}
louped=$build/src/app/louped
[[ -x "$louped" ]] || { echo "annotations_bench: $louped not found (build it first)" >&2; exit 77; }
command -v curl >/dev/null || { echo "annotations_bench: curl is not installed" >&2; exit 77; }


bench_services
sql() { psql "$db_url" -qAtX "$@"; }

key=$("$louped" admin bootstrap --team bench --email bench@loupe.local | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
port=$(bench_free_port)
LOUPE_HTTP_PORT=$port bench_start "$louped" serve
base=http://127.0.0.1:$port
bench_wait_http "$base/healthz"

ds=$(bench_api POST /api/v1/datasets '{"name": "bench"}' | bench_jget id)
cls=$(bench_api POST /api/v1/classes '{"name": "shape", "annotation_types": ["polygon"]}' | bench_jget id)
new_item() { bench_api POST "/api/v1/datasets/$ds/items" "{\"name\": \"$1\", \"slots\": [{\"name\": \"0\", \"type\": \"image\"}]}" | bench_jget id; }

python3 - "$cls" "$shapes" "$points" >"$work/body.json" <<'PY'
import json, math, random, sys
cls, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(1)
anns = []
for _ in range(n):
    cx, cy, r = random.uniform(100, 1800), random.uniform(100, 1000), random.uniform(10, 80)
    anns.append({"class_id": cls, "polygon": {"paths": [[
        {"x": round(cx + r * math.cos(2 * math.pi * i / k), 3), "y": round(cy + r * math.sin(2 * math.pi * i / k), 3)}
        for i in range(k)]]}})
json.dump({"create": anns}, sys.stdout, separators=(",", ":"))
PY
bytes=$(stat -c %s "$work/body.json")

# Loupe: save into a fresh item each run, load the first one back.
best_save=; best_load=
for r in $(seq "$runs"); do
    item=$(new_item "save-$r.jpg")
    [[ $r == 1 ]] && first=$item
    t=$(curl -fsS -o "$work/save.out" -w '%{time_total}' -X POST -H "Authorization: ApiKey $key" \
        -H "Content-Type: application/json" --data-binary @"$work/body.json" "$base/api/v1/items/$item/annotations/batch")
    best_save=$(python3 -c "import sys; a=sys.argv[1]; print(min(float(a), float(sys.argv[2])) if a else sys.argv[2])" "$best_save" "$t")
done
count=$(sql -c "SELECT count(*) FROM annotations WHERE item_id = '$first'")
[[ $count == "$shapes" ]] || { echo "annotations_bench: saved $count annotations, expected $shapes" >&2; exit 1; }
for r in $(seq "$runs"); do
    t=$(curl -fsS -o "$work/load.json" -w '%{time_total}' -H "Authorization: ApiKey $key" \
        "$base/api/v1/items/$first/annotations")
    best_load=$(python3 -c "import sys; a=sys.argv[1]; print(min(float(a), float(sys.argv[2])) if a else sys.argv[2])" "$best_load" "$t")
done
python3 - "$work/load.json" "$shapes" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert len(doc["annotations"]) == int(sys.argv[2]), "the load returned a different number of annotations"
PY

# Raw COPY of the same rows: out of the table, and into it (fresh ids, another item).
cols="id, team_id, item_id, slot, class_id, type, geom, data, extra, z, source, confidence, ranges, hidden, version, created_by, updated_by, created_at, updated_at"
copy_ms() { # psql meta-commands → the \copy's own time in ms (psql's \timing)
    psql "$db_url" -qAtX -c '\timing on' -c "$1" | awk '/^Time:/ {print $2}' | tail -1
}
best_out=; best_in=
for r in $(seq "$runs"); do
    t=$(copy_ms "\\copy (SELECT $cols FROM annotations WHERE item_id = '$first') TO '$work/out.copy'")
    best_out=$(python3 -c "import sys; a=sys.argv[1]; print(min(float(a), float(sys.argv[2])) if a else sys.argv[2])" "$best_out" "$t")
done
for r in $(seq "$runs"); do
    target=$(new_item "copy-$r.jpg")
    sql -c "\\copy (SELECT gen_random_uuid(), team_id, '$target'::uuid, slot, class_id, type, geom, data, extra, z, source, confidence, ranges, hidden, version, created_by, updated_by, created_at, updated_at FROM annotations WHERE item_id = '$first') TO '$work/in.copy'"
    t=$(copy_ms "\\copy annotations ($cols) FROM '$work/in.copy'")
    best_in=$(python3 -c "import sys; a=sys.argv[1]; print(min(float(a), float(sys.argv[2])) if a else sys.argv[2])" "$best_in" "$t")
done

python3 - "$shapes" "$points" "$bytes" "$best_save" "$best_load" "$best_in" "$best_out" "$runs" <<'PY'
import sys
n, k, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
save, load = float(sys.argv[4]), float(sys.argv[5])            # seconds (curl)
copy_in, copy_out = float(sys.argv[6]) / 1000, float(sys.argv[7]) / 1000  # ms → s (psql)
print(f"Annotations: {n} polygons of {k} points ({size / 1e6:.1f} MB of JSON), best of {sys.argv[8]} runs")
print(f"  save  POST …/annotations/batch   {save * 1000:8.0f} ms  {n / save:9.0f} shapes/s")
print(f"        COPY annotations FROM STDIN {copy_in * 1000:8.0f} ms  {n / copy_in:9.0f} rows/s")
print(f"        save rate / COPY-in rate    {copy_in / save:8.2f}x   (goal >= 0.30x)")
print(f"  load  GET …/annotations          {load * 1000:8.0f} ms  {n / load:9.0f} shapes/s")
print(f"        COPY (SELECT …) TO STDOUT   {copy_out * 1000:8.0f} ms  {n / copy_out:9.0f} rows/s")
print(f"        load time / COPY-out time   {load / copy_out:8.2f}x   (goal <= 2.00x)")
PY
