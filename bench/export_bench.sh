#!/usr/bin/env bash
# Export benchmark: 1,000,000 shapes over 10,000 images (half boxes, half 8-point polygons)
# exported to COCO and to YOLO by the exports.write job (POST /api/v1/exports → the zip in
# storage), beside PostgreSQL's raw `COPY (SELECT …) TO STDOUT` of the same rows, all measured in
# this run. Each export runs in a fresh loupe-worker so that its peak RSS (VmHWM) is its own.
#
#   bench/export_bench.sh [BUILD_DIR]     (default build/release, else build/dev)
# Environment: BENCH_ITEMS (10000), BENCH_SHAPES_PER_ITEM (100).
# Goals: each export <= 60 s, worker peak RSS <= 100 MB, <= 5x the COPY time.
# Use a Release build for figures worth quoting (cmake --preset release).
set -euo pipefail
. "$(dirname "$0")/lib/bench.sh"
bench_init export_bench
build=${1:-}
if [[ -z "$build" ]]; then
    build=$root/build/release
    [[ -x "$build/src/app/louped" ]] || build=$root/build/dev
fi
items=${BENCH_ITEMS:-10000}
per_item=${BENCH_SHAPES_PER_ITEM:-100}
louped=$build/src/app/louped
worker=$build/src/worker/loupe-worker
[[ -x "$louped" && -x "$worker" ]] || bench_die "$louped or $worker not found (build them first)"
command -v curl >/dev/null || bench_die "curl is not installed"

bench_services
sql() { psql "$db_url" -qAtX "$@"; }

key=$("$louped" admin bootstrap --team bench --email bench@loupe.local | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
port=$(bench_free_port)
LOUPE_HTTP_PORT=$port bench_start "$louped" serve
base=http://127.0.0.1:$port
bench_wait_http "$base/healthz"

api() { # METHOD PATH [JSON] → body
    curl -fsS -X "$1" -H "Authorization: ApiKey $key" -H "Content-Type: application/json" ${3:+--data "$3"} "$base$2"
}
jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
ds=$(api POST /api/v1/datasets '{"name": "bench"}' | jget id)
cls=$(api POST /api/v1/classes '{"name": "shape", "annotation_types": ["bounding_box", "polygon"]}' | jget id)
template=$(api POST "/api/v1/datasets/$ds/items" \
    '{"name": "img000000.jpg", "slots": [{"name": "0", "type": "image", "width": 1920, "height": 1080}]}' | jget id)

# The template item's shapes through the API, then copied to every other item with set-based SQL.
python3 - "$cls" "$per_item" >"$work/body.json" <<'PY'
import json, math, random, sys
cls, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
anns = []
for i in range(n):
    cx, cy, r = random.uniform(100, 1800), random.uniform(100, 1000), random.uniform(10, 80)
    if i % 2:
        anns.append({"class_id": cls, "bounding_box": {"x": round(cx - r, 2), "y": round(cy - r, 2),
                                                       "w": round(2 * r, 2), "h": round(2 * r, 2)}})
    else:
        anns.append({"class_id": cls, "polygon": {"paths": [[
            {"x": round(cx + r * math.cos(2 * math.pi * k / 8), 3), "y": round(cy + r * math.sin(2 * math.pi * k / 8), 3)}
            for k in range(8)]]}})
json.dump({"create": anns}, sys.stdout, separators=(",", ":"))
PY
curl -fsS -o /dev/null -X POST -H "Authorization: ApiKey $key" -H "Content-Type: application/json" \
    --data-binary @"$work/body.json" "$base/api/v1/items/$template/annotations/batch"
sql -c "INSERT INTO items (team_id, dataset_id, name)
        SELECT team_id, dataset_id, 'img' || lpad(g::text, 6, '0') || '.jpg'
        FROM items, generate_series(1, $items - 1) g WHERE id = '$template'"
sql -c "INSERT INTO slots SELECT (jsonb_populate_record(NULL::slots, to_jsonb(s) ||
          jsonb_build_object('id', gen_random_uuid(), 'item_id', i.id))).*
        FROM slots s JOIN items i ON i.dataset_id = '$ds' AND i.id <> '$template' WHERE s.item_id = '$template'"
sql -c "INSERT INTO annotations (id, team_id, item_id, slot, class_id, type, geom, data, extra, source)
        SELECT gen_random_uuid(), a.team_id, i.id, a.slot, a.class_id, a.type, a.geom, a.data, a.extra, a.source
        FROM annotations a JOIN items i ON i.dataset_id = '$ds' AND i.id <> '$template' WHERE a.item_id = '$template'"
sql -c "ANALYZE"
shapes=$(sql -c "SELECT count(*) FROM annotations a JOIN items i ON i.id = a.item_id WHERE i.dataset_id = '$ds'")

# One export in a fresh worker: "<wall seconds> <job seconds> <peak RSS KiB> <archive bytes>" (wall:
# POST to succeeded, worker start included; job: the attempt's own start to finish).
export_once() { # FORMAT [VARIANT]
    local body='{"format": "'$1'", "filters": {"dataset_id": "'$ds'"}}' id w status t0 t1 hwm
    bench_start "$worker"
    w=${pids[-1]}
    t0=$(date +%s.%N)
    id=$(api POST /api/v1/exports "$body" | jget id)
    while :; do
        status=$(api GET "/api/v1/exports/$id" | jget status)
        [[ $status == succeeded ]] && break
        [[ $status == failed ]] && { api GET "/api/v1/exports/$id" >&2; exit 1; }
        sleep 0.05
    done
    t1=$(date +%s.%N)
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$w/status")
    kill "$w"
    wait "$w" 2>/dev/null || true
    local job
    job=$(sql -c "SELECT extract(epoch FROM j.finished_at - j.started_at) FROM exports e JOIN jobs j ON j.id = e.job_id
                  WHERE e.id = '$id'")
    echo "$(python3 -c "print($t1 - $t0)") $job $hwm $(api GET "/api/v1/exports/$id" | jget size_bytes)"
}
coco=$(export_once coco)
yolo=$(export_once yolo)

copy_ms() { # psql meta-commands → the \copy's own time in ms (psql's \timing)
    psql "$db_url" -qAtX -c '\timing on' -c "$1" | awk '/^Time:/ {print $2}' | tail -1
}
copy=$(copy_ms "\\copy (SELECT i.name, i.path, s.width, s.height, a.id, a.class_id, a.type, a.geom, a.data
                       FROM items i JOIN slots s ON s.item_id = i.id
                       JOIN annotations a ON a.item_id = i.id AND a.slot = s.name
                       WHERE i.dataset_id = '$ds' ORDER BY i.name, i.id) TO '$work/out.copy'")

python3 - "$items" "$shapes" "$copy" "$coco" "$yolo" <<'PY'
import sys
items, shapes, copy = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000
print(f"Export: {shapes} shapes over {items} images (half boxes, half 8-point polygons)")
print(f"  COPY (SELECT … the same rows) TO STDOUT  {copy:7.2f} s")
for name, figures in (("COCO", sys.argv[4]), ("YOLO", sys.argv[5])):
    wall, t, hwm, size = figures.split()
    wall, t, hwm, size = float(wall), float(t), int(hwm), int(size)
    print(f"  {name:4} export job                       {t:7.2f} s  {shapes / t:9.0f} shapes/s  "
          f"{t / copy:5.2f}x COPY (goal <= 5x, <= 60 s)")
    print(f"       POST → succeeded (wall)           {wall:7.2f} s  worker peak RSS {hwm / 1024:6.1f} MB "
          f"(goal <= 100)  archive {size / 1e6:.1f} MB")
PY
