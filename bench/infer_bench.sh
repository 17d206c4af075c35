#!/usr/bin/env bash
# Model inference benchmark: BlazeFace (the integration tests' face detector) over BENCH_IMAGES
# items through a batch run — POST /api/v1/models/{id}/runs, loupe-worker with ONNX Runtime, end to
# end from the job's creation to its last stored prediction — against the same model on the same
# files run by a minimal C program with ONNX Runtime (bench/infer_baseline.c) in the same run; then
# live inference (POST /api/v1/models/{id}/infer) one request at a time, p50/p99; and the colour
# transform's cost per image beside the plain shrink (bench/icc_bench, on up to 64 of the images,
# at the model's 128 px: libvips alone as the baseline, the same with the embedded sRGB profile
# applied, and Loupe's model decode, which takes an sRGB profile as it is).
#
#   bench/infer_bench.sh [BUILD_DIR]     (default build/dev)
# Environment: BENCH_IMAGES (1000), BENCH_LIVE (200 live requests), BENCH_MODEL_FILES (the
# directory tests/integration/models/install.sh fills; default BUILD_DIR/tests/integration/model-files,
# filled when missing).
# Prints the batch rate (images/s) with where its time went per image (the run's stages_ms), the
# baseline's rate and the ratio (goal >= 0.7x), the model's own time per image (ONNX Runtime's
# run, p50 of the baseline), live p50/p99 (goal: p50 <= 2 x the model's time + 10 ms) with the
# p50 of the worker's share and of its stages (Server-Timing), and the load average at the end.
set -euo pipefail
. "$(dirname "$0")/lib/bench.sh"
bench_init infer_bench
build=${1:-$root/build/dev}
n=${BENCH_IMAGES:-1000}
live=${BENCH_LIVE:-200}
files=${BENCH_MODEL_FILES:-$build/tests/integration/model-files}
[ -x "$build/bench/infer_baseline" ] && [ -x "$build/bench/icc_bench" ] ||
    bench_die "build the benchmarks first ($build/bench/infer_baseline, $build/bench/icc_bench)"
if [ ! -f "$files/blazeface.onnx" ]; then
    "$root/tests/integration/models/install.sh" "$files" >&2 || bench_die "cannot fetch ONNX Runtime and the model"
fi
ort=$files/lib/libonnxruntime.so.1

bench_services
export LOUPE_WORKER_QUEUES=system,media,cpu LOUPE_ONNX_RUNTIME_PATH=$ort LOUPE_MODEL_RUN_BATCH=64
boot=$("$build/src/app/louped" admin bootstrap --team bench --email bench@loupe.local)
key=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["api_key"])' "$boot")
port=$(bench_free_port)
LOUPE_HTTP_PORT=$port bench_start "$build/src/app/louped" serve
bench_wait_http "http://127.0.0.1:$port/healthz"
bench_start "$build/src/worker/loupe-worker"

python3 - "$port" "$key" "$n" "$live" "$files" "$work" "$build/bench/infer_baseline" "$ort" "$build/bench/icc_bench" <<'PY'
import json, os, statistics, subprocess, sys, time, urllib.request

port, key, n, live, files, work, baseline, ort = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8]
icc_bench = sys.argv[9]
base = "http://127.0.0.1:%s" % port

timings = {}  # the worker's share of each live answer and its stages (Server-Timing: name -> [ms])

def call(method, path, body=None, data=None, ctype="application/json"):
    if body is not None:
        data = json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": "ApiKey " + key, "Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=600) as r:
        text = r.read()
        for metric in (r.headers.get("Server-Timing") or "").split(","):
            name, _, dur = metric.strip().partition(";dur=")
            if dur:
                timings.setdefault(name, []).append(float(dur))
        return json.loads(text) if text else None

spec = {"name": "BlazeFace", "task": "detect", "runtime": "onnx",
        "input": {"width": 128, "height": 128, "layout": "NHWC", "resize": "letterbox", "scale": 2 / 255,
                  "mean": [1], "std": [1]},
        "output": {"decoder": "ssd_anchors",
                   "names": {"boxes": ["Identity_2:0", "Identity_3:0"], "scores": ["Identity:0", "Identity_1:0"]},
                   "strides": [8, 16], "anchors_per_cell": [2, 6], "box_scale": 128, "score_sigmoid": True},
        "labels": ["face"], "score_threshold": 0.75, "nms_iou": 0.3}
with open(os.path.join(work, "spec.json"), "w") as f:
    json.dump(spec, f)

# the images: astronaut.png shifted by a few pixels each (distinct files, same face)
photo = os.path.join(files, "astronaut.png")
paths = []
for i in range(n):
    p = os.path.join(work, "img%04d.jpg" % i)
    dx, dy = i % 32, (i // 32) % 32
    subprocess.run(["vips", "crop", photo, p + "[Q=90]", str(dx), str(dy), str(480), str(480)], check=True)
    paths.append(p)

ds = call("POST", "/api/v1/datasets", {"name": "bench"})
ids = []
for i, p in enumerate(paths):
    it = call("POST", "/api/v1/datasets/%s/items" % ds["id"],
              {"name": os.path.basename(p), "slots": [{"name": "0", "type": "image"}]})
    with open(p, "rb") as f:
        call("PUT", "/api/v1/items/%s/slots/0/file" % it["id"], data=f.read(), ctype="application/octet-stream")
    ids.append(it["id"])
deadline = time.time() + 1800
while True:
    done = json.loads(subprocess.run(["psql", os.environ["LOUPE_DB_URL"], "-Atc",
                                      "SELECT count(*) FROM items WHERE status IN ('ready','error')"],
                                     capture_output=True, text=True, check=True).stdout or "0")
    if done >= n:
        break
    if time.time() > deadline:
        sys.exit("infer_bench: the images were not ready in time")
    time.sleep(0.5)

m = call("POST", "/api/v1/models", spec)
with open(os.path.join(files, "blazeface.onnx"), "rb") as f:
    call("PUT", "/api/v1/models/%s/file" % m["id"], data=f.read(), ctype="application/octet-stream")

# warm the worker's session once (live), so the batch rate is the steady one
call("POST", "/api/v1/models/%s/infer" % m["id"], {"item_id": ids[0]})

t0 = time.time()
job = call("POST", "/api/v1/models/%s/runs" % m["id"], {"filters": {"dataset_id": ds["id"]}})["job"]
while True:
    j = call("GET", "/api/v1/jobs/" + job["id"])
    if j["status"] in ("succeeded", "failed"):
        break
    time.sleep(0.05)
if j["status"] != "succeeded":
    sys.exit("infer_bench: the run failed: %s" % j.get("error"))
finished = subprocess.run(["psql", os.environ["LOUPE_DB_URL"], "-Atc",
                           "SELECT extract(epoch FROM finished_at - created_at) FROM jobs WHERE id = '%s'" % job["id"]],
                          capture_output=True, text=True, check=True).stdout.strip()
batch_s = float(finished) if finished else time.time() - t0
batch_rate = n / batch_s

out = subprocess.run([baseline, ort, os.path.join(files, "blazeface.onnx"), os.path.join(work, "spec.json")] + paths,
                     capture_output=True, text=True, check=True).stdout
b = json.loads(out)

lat = []
timings.clear()
for i in range(live):
    s = time.time()
    r = call("POST", "/api/v1/models/%s/infer" % m["id"], {"item_id": ids[i % n]})
    lat.append((time.time() - s) * 1000)
    assert len(r["predictions"]) >= 1, r
lat.sort()
p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
goal = 2 * b["model_ms_p50"] + 10
print("batch run:   %d images in %.2f s = %.1f images/s (predictions stored: %s)" % (n, batch_s, batch_rate, j["result"]["predictions"]))
st = j["result"].get("stages_ms") or {}
if st:
    print("  stages:    per image, ms: fetch %.2f, decode %.2f (decoding thread); wait %.2f, pack %.2f, run %.2f, "
          "outputs %.2f, store %.2f (model thread; %d runs)" % tuple(
              [st[k] / max(1, n) for k in ("fetch", "decode", "wait", "pack", "run", "outputs", "store")] + [st["runs"]]))
print("baseline:    %d images in %.2f s = %.1f images/s (detections: %d)" % (b["images"], b["seconds"], b["images_per_s"], b["detections"]))
print("ratio:       %.2fx (goal >= 0.7x)" % (batch_rate / b["images_per_s"]))
print("model:       %.2f ms per image (ONNX Runtime's run, p50)" % b["model_ms_p50"])
print("live:        p50 %.1f ms, p99 %.1f ms over %d requests (goal p50 <= %.1f ms)" % (p50, p99, live, goal))
def p50_of(values):
    return sorted(values)[len(values) // 2]
if timings.get("worker"):
    print("  worker:    p50 %.1f ms of it (Server-Timing: the worker's own time; the rest is HTTP, louped, RabbitMQ)"
          % p50_of(timings["worker"]))
    stages = [k for k in ("lookup", "fetch", "decode", "model") if timings.get(k)]
    if stages:
        print("  stages:    p50, ms: " + ", ".join("%s %.2f" % (k, p50_of(timings[k])) for k in stages) +
              " (the worker's rows read, file copied, sandboxed decode, model)")
icc = json.loads(subprocess.run([icc_bench, "128"] + paths[:64], capture_output=True, text=True, check=True).stdout)
print("colour:      per image at %d px (median of %d, %d with an ICC profile): plain shrink %.2f ms (libvips alone, "
      "the baseline); profile applied %.2f ms (%.2fx); Loupe's model decode %.2f ms (%.2fx)"
      % (icc["side"], icc["images"], icc["with_profile"], icc["shrink_ms"], icc["transform_ms"],
         icc["transform_ms"] / icc["shrink_ms"], icc["loupe_ms"], icc["loupe_ms"] / icc["shrink_ms"]))
print("load:        %s (1, 5, 15 min; the machine's other work counts)" % " ".join(open("/proc/loadavg").read().split()[:3]))
PY
