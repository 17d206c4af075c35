#!/usr/bin/env bash
# Editor benchmark: an item with 5,000 polygons of 64 points (and one with 500, to show how cost
# grows), opened in the web editor in headless Chromium (playwright-core, Debian's chromium):
# time to first full render, frames per second while panning and zooming for 5 s
# (requestAnimationFrame), click-to-selected, and the save of one edited shape (If-Match batch).
# Beside it, the raw Canvas 2D time to draw the same polygons once, measured in the same page.
#
#   bench/editor_bench.sh [BUILD_DIR]     (default build/release, else build/dev)
# Environment: BENCH_SHAPES ("5000 500"), BENCH_POINTS (64).
# Goals: first render <= 1 s, pan/zoom >= 30 fps, select <= 50 ms, save <= 200 ms.
# Needs the built web app (make web), tests/e2e's npm packages (npm ci there) and chromium.
set -euo pipefail
. "$(dirname "$0")/lib/bench.sh"
bench_init editor_bench
build=${1:-}
if [[ -z "$build" ]]; then
    build=$root/build/release
    [[ -x "$build/src/app/louped" ]] || build=$root/build/dev
fi
louped=$build/src/app/louped
worker=$build/src/worker/loupe-worker
[[ -x "$louped" && -x "$worker" ]] || bench_die "$louped or $worker not found (build first)"
[[ -f "$root/web/dist/index.html" ]] || bench_die "the web app is not built (make web)"
[[ -d "$root/tests/e2e/node_modules/playwright-core" ]] || bench_die "run npm ci in tests/e2e"
command -v ffmpeg >/dev/null || bench_die "ffmpeg is not installed"
points=${BENCH_POINTS:-64}

bench_services
password="bench horse battery staple"
key=$(echo "$password" | "$louped" admin bootstrap --team bench --email bench@loupe.local --password-stdin |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
port=$(bench_free_port)
LOUPE_HTTP_PORT=$port LOUPE_WEB_DIR=$root/web/dist bench_start "$louped" serve
bench_start "$worker"
base=http://127.0.0.1:$port
bench_wait_http "$base/healthz"

api() { # METHOD PATH [JSON-FILE] → body
    curl -fsS -X "$1" -H "Authorization: ApiKey $key" -H "Content-Type: application/json" ${3:+--data-binary @"$3"} "$base$2"
}
jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
echo '{"name": "bench"}' > "$work/ds.json"
ds=$(api POST /api/v1/datasets "$work/ds.json" | jget id)
echo '{"name": "cell", "annotation_types": ["polygon"], "color": "#e4572e"}' > "$work/class.json"
class=$(api POST /api/v1/classes "$work/class.json" | jget id)
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=s=4000x3000" -frames:v 1 "$work/image.jpg"

for n in ${BENCH_SHAPES:-5000 500}; do
    echo "{\"name\": \"bench-$n.jpg\", \"slots\": [{\"name\": \"0\", \"type\": \"image\"}]}" > "$work/item.json"
    item=$(api POST "/api/v1/datasets/$ds/items" "$work/item.json" | jget id)
    curl -fsS -X PUT -H "Authorization: ApiKey $key" -H "Content-Type: image/jpeg" --data-binary @"$work/image.jpg" \
        "$base/api/v1/items/$item/slots/0/file" >/dev/null
    for _ in $(seq 600); do
        [[ $(api GET "/api/v1/items/$item" | jget status) == ready ]] && break
        sleep 0.2
    done
    # n polygons of $points points: small circles on a grid over the 4000 x 3000 image
    python3 - "$n" "$points" "$class" > "$work/batch.json" <<'PY'
import json, math, sys
n, points, cls = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cols = math.ceil(math.sqrt(n * 4 / 3))
step = 4000 / cols
r = step * 0.4
out = []
for i in range(n):
    cx, cy = (i % cols + 0.5) * step, (i // cols + 0.5) * step
    path = [{"x": round(cx + r * math.cos(2 * math.pi * k / points), 2), "y": round(cy + r * math.sin(2 * math.pi * k / points), 2)}
            for k in range(points)]
    out.append({"class_id": cls, "polygon": {"paths": [path]}})
print(json.dumps({"create": out}))
PY
    api POST "/api/v1/items/$item/annotations/batch" "$work/batch.json" >/dev/null
    (cd "$root" && node bench/editor_bench.mjs "$base" bench@loupe.local "$password" "$item" "$n")
    # the server alone: the same one-shape update batch with If-Match, by curl
    tl=$(curl -fsS -o "$work/set.json" -w '%{time_total}' -H "Authorization: ApiKey $key" "$base/api/v1/items/$item/annotations")
    python3 - "$work/set.json" > "$work/one.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
a = s["annotations"][0]
for k in ("version", "source"):
    a.pop(k, None)
a["polygon"]["paths"][0][0]["x"] += 1
print(json.dumps({"update": [a]}))
PY
    version=$(jget version < "$work/set.json")
    t=$(curl -fsS -o /dev/null -w '%{time_total}' -X POST -H "Authorization: ApiKey $key" -H "Content-Type: application/json" \
        -H "If-Match: \"$version\"" --data-binary @"$work/one.json" "$base/api/v1/items/$item/annotations/batch")
    echo "{\"shapes\": $n, \"server_load_ms\": $(python3 -c "print(round($tl * 1000, 1))"), \"server_save_ms\": $(python3 -c "print(round($t * 1000, 1))"), \"annotations_bytes\": $(stat -c %s "$work/set.json")}"
done
echo "goals: first_render_ms <= 1000, pan_zoom_fps >= 30, select_ms <= 50, save_ms <= 200"
