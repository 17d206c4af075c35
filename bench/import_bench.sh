#!/usr/bin/env bash
# Import benchmark: a COCO file of 1,000,000 shapes over 10,000 images (half boxes, half 8-point
# polygons) imported by the imports.run job (POST /api/v1/imports, PUT the file, start) into
# items that exist, beside PostgreSQL's raw `COPY … FROM` of the same annotation rows into a copy
# of the annotations table (its indexes included), both measured in this run.
#
#   bench/import_bench.sh [BUILD_DIR]     (default build/release, else build/dev)
# Environment: BENCH_ITEMS (10000), BENCH_SHAPES_PER_ITEM (100).
# Goal: the import job <= 3x the COPY FROM time.
# Use a Release build for figures worth quoting (cmake --preset release).
set -euo pipefail
. "$(dirname "$0")/lib/bench.sh"
bench_init import_bench
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
export LOUPE_JOB_TIMEOUT=1h
sql() { psql "$db_url" -qAtX "$@"; }

key=$("$louped" admin bootstrap --team bench --email bench@loupe.local | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
port=$(bench_free_port)
LOUPE_HTTP_PORT=$port bench_start "$louped" serve
base=http://127.0.0.1:$port
bench_wait_http "$base/healthz"
bench_start "$worker"
w=${pids[-1]}

api() { # METHOD PATH [JSON] → body
    curl -fsS -X "$1" -H "Authorization: ApiKey $key" -H "Content-Type: application/json" ${3:+--data "$3"} "$base$2"
}
jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
ds=$(api POST /api/v1/datasets '{"name": "bench"}' | jget id)
api POST /api/v1/classes '{"name": "shape", "annotation_types": ["bounding_box", "polygon"]}' >/dev/null
template=$(api POST "/api/v1/datasets/$ds/items" \
    '{"name": "img000000.jpg", "slots": [{"name": "0", "type": "image", "width": 1920, "height": 1080}]}' | jget id)
sql -c "INSERT INTO items (team_id, dataset_id, name)
        SELECT team_id, dataset_id, 'img' || lpad(g::text, 6, '0') || '.jpg'
        FROM items, generate_series(1, $items - 1) g WHERE id = '$template'"
sql -c "INSERT INTO slots SELECT (jsonb_populate_record(NULL::slots, to_jsonb(s) ||
          jsonb_build_object('id', gen_random_uuid(), 'item_id', i.id))).*
        FROM slots s JOIN items i ON i.dataset_id = '$ds' AND i.id <> '$template' WHERE s.item_id = '$template'"
sql -c "ANALYZE"

# The COCO file.
python3 - "$items" "$per_item" >"$work/instances.json" <<'PY'
import json, math, random, sys
items, n = int(sys.argv[1]), int(sys.argv[2])
random.seed(1)
out = sys.stdout
out.write('{"info":{},"licenses":[],"categories":[{"id":1,"name":"shape","supercategory":""}],"images":[')
out.write(",".join('{"id":%d,"file_name":"img%06d.jpg","width":1920,"height":1080}' % (i + 1, i) for i in range(items)))
out.write('],"annotations":[')
aid = 0
for img in range(items):
    for k in range(n):
        aid += 1
        cx, cy, r = random.uniform(100, 1800), random.uniform(100, 1000), random.uniform(10, 80)
        if k % 2:
            x, y, s = round(cx - r, 2), round(cy - r, 2), round(2 * r, 2)
            seg, bbox = [[x, y, x + s, y, x + s, y + s, x, y + s]], [x, y, s, s]
        else:
            pts = [(round(cx + r * math.cos(2 * math.pi * j / 8), 3), round(cy + r * math.sin(2 * math.pi * j / 8), 3))
                   for j in range(8)]
            seg = [[c for p in pts for c in p]]
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        out.write(("," if aid > 1 else "") + json.dumps({"id": aid, "image_id": img + 1, "category_id": 1,
                                                         "segmentation": seg, "bbox": bbox, "area": 0, "iscrowd": 0},
                                                        separators=(",", ":")))
out.write("]}")
PY
size=$(stat -c %s "$work/instances.json")

# The import: POST, PUT the file, start, wait.
t0=$(date +%s.%N)
id=$(api POST /api/v1/imports '{"format": "coco", "dataset_id": "'$ds'"}' | jget id)
curl -fsS -o /dev/null -X PUT -H "Authorization: ApiKey $key" -H "Content-Type: application/octet-stream" \
    --data-binary @"$work/instances.json" "$base/api/v1/imports/$id/file"
t_up=$(date +%s.%N)
api POST "/api/v1/imports/$id/start" >/dev/null
while :; do
    status=$(api GET "/api/v1/imports/$id" | jget status)
    [[ $status == succeeded ]] && break
    [[ $status == failed ]] && { api GET "/api/v1/imports/$id" >&2; exit 1; }
    sleep 0.2
done
t1=$(date +%s.%N)
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$w/status")
job=$(sql -c "SELECT extract(epoch FROM j.finished_at - j.started_at) FROM imports m JOIN jobs j ON j.id = m.job_id
              WHERE m.id = '$id'")
shapes=$(sql -c "SELECT count(*) FROM annotations a JOIN items i ON i.id = a.item_id WHERE i.dataset_id = '$ds'")

# The raw engine: the same rows out, then COPY FROM into a copy of the table with its indexes.
copy_ms() { # psql meta-commands → the \copy's own time in ms (psql's \timing)
    psql "$db_url" -qAtX -c '\timing on' -c "$1" | awk '/^Time:/ {print $2}' | tail -1
}
sql -c "CREATE TABLE bench_annotations (LIKE annotations INCLUDING DEFAULTS INCLUDING INDEXES)"
sql -c "\\copy (SELECT a.* FROM annotations a JOIN items i ON i.id = a.item_id WHERE i.dataset_id = '$ds') TO '$work/rows.copy'"
copy=$(copy_ms "\\copy bench_annotations FROM '$work/rows.copy'")

python3 - "$items" "$shapes" "$copy" "$job" "$(python3 -c "print($t1 - $t_up)")" "$hwm" "$size" <<'PY'
import sys
items, shapes, copy, job, wall, hwm, size = (int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000,
                                             float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
print(f"Import: COCO file of {shapes} shapes over {items} images ({size / 1e6:.0f} MB; half boxes, half 8-point polygons)")
print(f"  COPY annotations FROM (the same rows)    {copy:7.2f} s")
print(f"  COCO import job                          {job:7.2f} s  {shapes / job:9.0f} shapes/s  "
      f"{job / copy:5.2f}x COPY FROM (goal <= 3x)")
print(f"       start → succeeded (wall)            {wall:7.2f} s  worker peak RSS {hwm / 1024:6.1f} MB")
PY
