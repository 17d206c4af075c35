#!/usr/bin/env bash
# Volume benchmark.
#
#   bench/volume_bench.sh [BUILD_DIR]     (default build/dev; use build/release for figures)
#
# A generated 16-bit CT series (BENCH_NX × BENCH_NY × BENCH_NZ, default 512 × 512 × 300: a body
# of soft tissue in air with a bone ring and noise, 0.7 × 0.7 mm pixels, 1.25 mm apart, patient
# attributes in every file) is zipped (deflate) and uploaded through the API into a volume slot;
# louped and one loupe-worker run against a throwaway PostgreSQL and RabbitMQ.
#
# BENCH_ZIP=stored uploads an uncompressed zip (what a multi-file upload becomes) instead of a
# deflated one (level 1).
#
# (1) Ingest: time from the upload's first byte to the item being ready (the upload, the
#     decoder's check and de-identification, dcm2niix, the NIfTI read, RAS+ reordering, the
#     compressed normalized volume, posters, storage and the database), and the job's own time
#     (jobs.started_at → finished_at), against dcm2niix alone on the same series unpacked in a
#     directory, in the same run (-z n, an uncompressed .nii; and -z y, gzip; BENCH_GZ=0 skips
#     the gzip run). Goal: total <= 1.5x dcm2niix alone. The total is also split into the upload
#     (the HTTP body into storage, until the PUT's answer) and the processing (from that answer
#     to the item seen ready: the job, its queueing and the polling), each with its ratio, so
#     that what the ingest itself costs reads apart from the transfer.
# (2) Random slices, warm: BENCH_SLICES (200) GETs of …/volume/{plane}/{index}?window=soft_tissue,
#     plane and index drawn at random (seeded), after one request has opened the volume; median,
#     95th percentile and mean. Goal: <= 20 ms.
# (3) Peak resident memory (VmHWM) of the worker process and of its decoder after the ingest,
#     against the volume's size (nx·ny·nz·2 bytes). Goal: <= 2x the volume's size.
set -euo pipefail
. "$(dirname "$0")/lib/bench.sh"
bench_init volume_bench
build=${1:-$root/build/dev}
nx=${BENCH_NX:-512}
ny=${BENCH_NY:-512}
nz=${BENCH_NZ:-300}
slices=${BENCH_SLICES:-200}
gz_baseline=${BENCH_GZ:-1}
runs=${BENCH_RUNS:-3}  # dcm2niix runs and ingests measured; each figure is the median
zip_method=${BENCH_ZIP:-deflate} # deflate (level 1), or stored: the zip a multi-file upload becomes

command -v dcm2niix >/dev/null || bench_die "dcm2niix is not installed"
for b in "$build/src/app/louped" "$build/src/worker/loupe-worker" "$build/src/decoder/loupe-decoder"; do
    [ -x "$b" ] || bench_die "$b is not built (cmake --build $build)"
done

echo "volume_bench: writing a ${nx}x${ny}x${nz} 16-bit CT series ..." >&2
mkdir -p "$work/series"
python3 - "$root/tests/integration" "$work" "$nx" "$ny" "$nz" "$zip_method" <<'PY'
import array, math, random, sys, zipfile
sys.path.insert(0, sys.argv[1])
import dicom_testlib as dt
work, nx, ny, nz = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
method = zipfile.ZIP_STORED if sys.argv[6] == "stored" else zipfile.ZIP_DEFLATED
rnd = random.Random(7)
cx, cy, r = nx / 2, ny / 2, min(nx, ny) * 0.42
base = array.array("h")
for j in range(ny):
    for i in range(nx):
        d = math.hypot(i - cx, j - cy) / r
        v = -1000 if d > 1 else (900 if d > 0.9 else 40)
        base.append(v + rnd.randint(-20, 20))
raw = base.tobytes()
phi = {"PatientName": "BENCH^PATIENT", "PatientID": "BENCH-0001", "PatientBirthDate": "19800101"}
with zipfile.ZipFile(work + "/series.zip", "w", method, compresslevel=1) as z:
    for k in range(nz):
        shift = 2 * ((k * 131) % (nx * ny))  # the pattern moves from slice to slice
        px = raw[shift:] + raw[:shift]
        data = dt.slice_file(px, ny, nx, (-179.2, -179.2, -200 + 1.25 * k), spacing=(0.7, 0.7),
                             instance=k + 1, phi=phi)
        name = "IM%05d.dcm" % ((k * 7919) % 100003)
        z.writestr(name, data)
        with open("%s/series/%s" % (work, name), "wb") as f:
            f.write(data)
PY
volume_bytes=$((nx * ny * nz * 2))
zip_bytes=$(stat -c %s "$work/series.zip")

# dcm2niix alone: one run to warm the page cache, then BENCH_RUNS runs; the median is the figure
base() { # name, then dcm2niix's options
    local name=$1 t0 t1 r; shift
    rm -rf "$work/$name"; mkdir -p "$work/$name"
    dcm2niix "$@" -b n -f base -o "$work/$name" "$work/series" >/dev/null
    for ((r = 0; r < runs; r++)); do
        rm -rf "$work/$name"; mkdir -p "$work/$name"
        t0=$(date +%s.%N)
        /usr/bin/time -f "%M" -o "$work/$name.rss" dcm2niix "$@" -b n -f base -o "$work/$name" "$work/series" >/dev/null
        t1=$(date +%s.%N)
        echo "$t1 - $t0" | bc
    done | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}
echo "volume_bench: load average before (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
raw=$(base raw -z n)
gz=0
[ "$gz_baseline" = 0 ] || gz=$(base gz -z y)

bench_services
port=$(bench_free_port)
export LOUPE_DECODER_PATH=$build/src/decoder/loupe-decoder LOUPE_MEDIA_CACHE_DIR=$work/cache \
    LOUPE_HTTP_PORT=$port LOUPE_HTTP_THREADS=2 LOUPE_WORKER_TMP_DIR=$work
key=$(echo "bench volume" | "$build/src/app/louped" admin bootstrap --team bench --email bench@loupe.local --password-stdin |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
bench_start "$build/src/app/louped" serve
LOUPE_LOG_LEVEL=debug bench_start "$build/src/worker/loupe-worker"  # its debug lines time the job's steps
worker_pid=${pids[-1]}

python3 - "$port" "$key" "$work" "$slices" "$raw" "$gz" "$(cat "$work/raw.rss")" "$volume_bytes" "$zip_bytes" \
    "$worker_pid" "$db_url" "$work/loupe-worker.log" "$zip_method" "$runs" <<'PY'
import http.client, json, os, random, re, statistics, subprocess, sys, time
port, key, work, nslices = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
raw, gz, raw_rss_kib = float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
volume_bytes, zip_bytes, worker_pid, db_url = int(sys.argv[8]), int(sys.argv[9]), int(sys.argv[10]), sys.argv[11]
H = {"Authorization": "ApiKey " + key}
def conn():
    for _ in range(300):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=600); c.request("GET", "/healthz"); c.getresponse().read(); return c
        except OSError:
            time.sleep(0.1)
    sys.exit("volume_bench: louped did not start")
c = conn()
def call(method, path, body=None, headers=None):
    h = dict(H); h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse(); data = r.read()
    return r.status, data
st, d = call("POST", "/api/v1/datasets", json.dumps({"name": "bench", "slug": "bench"}), {"Content-Type": "application/json"})
ds = json.loads(d)["id"]
runs = int(sys.argv[14])
with open(work + "/series.zip", "rb") as f:
    body = f.read()
def job_seconds(item):  # the item's job row is finished just after its slot
    for _ in range(600):
        job = subprocess.run(["psql", db_url, "-tAc", "SELECT extract(epoch FROM finished_at - started_at) FROM jobs "
                              "WHERE kind = 'media.normalize' AND payload->>'item_id' = '%s' "
                              "AND finished_at IS NOT NULL" % item],
                             capture_output=True, text=True, check=True).stdout.strip()
        if job:
            return float(job)
        time.sleep(0.1)
    sys.exit("volume_bench: the job of item %s did not finish" % item)
# BENCH_RUNS ingests one after the other, each into an item of its own; every figure is the median
totals, uploads, jobs = [], [], []
for r in range(runs):
    st, d = call("POST", "/api/v1/datasets/%s/items" % ds,
                 json.dumps({"name": "ct-%d.zip" % r, "slots": [{"name": "0", "type": "volume"}]}),
                 {"Content-Type": "application/json"})
    item = json.loads(d)["id"]
    t0 = time.perf_counter()
    st, d = call("PUT", "/api/v1/items/%s/slots/0/file" % item, body, {"Content-Type": "application/zip"})
    assert st == 202, d
    uploads.append(time.perf_counter() - t0)
    while True:
        st, d = call("GET", "/api/v1/items/%s" % item)
        it = json.loads(d)
        if it["status"] in ("ready", "error"):
            break
        time.sleep(0.05)
    totals.append(time.perf_counter() - t0)
    assert it["status"] == "ready", it
    jobs.append(job_seconds(item))
total, upload, job = statistics.median(totals), statistics.median(uploads), statistics.median(jobs)
slot = it["slots"][0]
st, d = call("GET", "/api/v1/items/%s/slots/0/media" % item)
meta = json.loads(d)["media"]
print("== (1) ingest of a %s 16-bit CT series, %d files (zip %.0f MiB, %s; volume %.0f MiB); medians of %d runs"
      % ("x".join(map(str, meta["shape"])), meta["source"]["files"], zip_bytes / 2**20, sys.argv[13],
         volume_bytes / 2**20, runs))
print("  each run, upload to ready: %s s" % ", ".join("%.2f" % t for t in totals))
print("  dcm2niix alone, -z n (uncompressed .nii):  %6.2f s   (peak RSS %.0f MiB)" % (raw, raw_rss_kib / 1024))
if gz > 0:
    print("  dcm2niix alone, -z y (gzip):              %6.2f s" % gz)
print("  Loupe, upload to ready:                   %6.2f s = %.2fx dcm2niix -z n%s (goal <= 1.5x: %s)"
      % (total, total / raw, ", %.2fx dcm2niix -z y" % (total / gz) if gz > 0 else "",
         "met" if total <= 1.5 * raw else "NOT met"))
print("    upload (HTTP body into storage):        %6.2f s = %.2fx dcm2niix -z n" % (upload, upload / raw))
print("    processing (answer to ready):           %6.2f s = %.2fx dcm2niix -z n (goal <= 1.5x: %s)"
      % (total - upload, (total - upload) / raw, "met" if total - upload <= 1.5 * raw else "NOT met"))
print("  Loupe, the media.normalize job alone:     %6.2f s = %.2fx dcm2niix -z n" % (job, job / raw))
log = open(sys.argv[12]).read()
def medians(pattern):  # the median of each group over the runs' log lines, in seconds; None if absent
    found = [[int(x) for x in (m if isinstance(m, tuple) else (m,))] for m in re.findall(pattern, log)]
    return [statistics.median(col) / 1000 for col in zip(*found)] if found else None
steps = medians(r"checked and de-identified in (\d+) ms")
converted = medians(r"DICOM series \d+ converted in (\d+) ms")
more = medians(r"fetched in (\d+) ms, decoded in (\d+) ms, stored in (\d+) ms, recorded in (\d+) ms")
if steps and converted and more:
    f, d, st_, rec = more
    chk, conv = steps[0], converted[0]
    print("    its steps: original fetched %.2f s; decoded %.2f s = checked and de-identified %.2f s + dcm2niix %.2f s"
          " + NIfTI read, RAS+, histogram, volume and posters %.2f s; stored %.2f s; recorded %.2f s"
          % (f, d, chk, conv, d - chk - conv, st_, rec))
deid = medians(r"files read, checked and written in (\d+) ms, ordered in (\d+) ms")
vol = medians(r"volume read in (\d+) ms, turned RAS\+ in (\d+) ms, histogram and windows in (\d+) ms, "
              r"written in (\d+) ms, posters in (\d+) ms")
if deid:
    print("    de-identification: files unpacked, checked and written %.2f s, ordered and numbered %.2f s" % tuple(deid))
if vol:
    print("    the volume: NIfTI read %.2f s, RAS+ %.2f s, histogram and windows %.2f s (beside the write), written %.2f s,"
          " posters %.2f s" % tuple(vol))
print("  load average (1, 5, 15 min) after the ingest: %.2f %.2f %.2f" % os.getloadavg())

rnd = random.Random(14)
planes = meta["slices"]
st, d = call("GET", "/api/v1/items/%s/slots/0/volume/axial/0?window=soft_tissue" % item)
assert st == 200, d[:300]
times = []
for _ in range(nslices):
    plane = rnd.choice(sorted(planes))
    idx = rnd.randrange(planes[plane])
    t = time.perf_counter()
    st, d = call("GET", "/api/v1/items/%s/slots/0/volume/%s/%d?window=soft_tissue" % (item, plane, idx))
    times.append((time.perf_counter() - t) * 1000)
    assert st == 200 and d[:2] == b"\xff\xd8", (st, d[:300])
times.sort()
p95 = times[int(0.95 * (len(times) - 1))]
print("== (2) %d random slices of any plane, warm, window soft_tissue (JPEG)" % nslices)
print("  median %.1f ms, p95 %.1f ms, mean %.1f ms, slowest %.1f ms (goal <= 20 ms: %s)"
      % (statistics.median(times), p95, statistics.mean(times), times[-1], "met" if p95 <= 20 else "NOT met (p95)"))

def hwm(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0
children = subprocess.run(["pgrep", "-P", str(worker_pid)], capture_output=True, text=True).stdout.split()
dec = [int(p) for p in children if os.path.basename(os.readlink("/proc/%s/exe" % p)) == "loupe-decoder"]
w = hwm(worker_pid)
dpeak = max([hwm(p) for p in dec] or [0])
print("== (3) peak resident memory after the ingest (volume %.0f MiB)" % (volume_bytes / 2**20))
print("  worker %.0f MiB = %.2fx the volume (goal <= 2x: %s)" % (w / 2**20, w / volume_bytes, "met" if w <= 2 * volume_bytes else "NOT met"))
print("  its decoder %.0f MiB = %.2fx the volume (goal <= 2x: %s)" % (dpeak / 2**20, dpeak / volume_bytes,
      "met" if dpeak <= 2 * volume_bytes else "NOT met"))
PY
