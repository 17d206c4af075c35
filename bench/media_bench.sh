#!/usr/bin/env bash
# Media benchmark: Loupe's media.normalize against the raw engines, all in this run.
#
#   bench/media_bench.sh [BUILD_DIR]     (default build/dev)
#
# Images — BENCH_IMAGES (8) generated 12-megapixel JPEGs (preview 2048 + thumbnail 256 each), then
# one 100-megapixel JPEG (preview + thumbnail + tiled pyramid):
#   loupe            lp_image_process in one long-lived process (bench/media_normalize_bench.c)
#   loupe sandboxed  the same, through the worker's long-lived sandboxed decoder, as loupe-worker runs a job
#   vips             one long-lived libvips process doing the same operations (bench/vips_baseline.c)
#   convert          ImageMagick `convert -thumbnail`, one process per file (preview and thumbnail
#                    written by the same process); the pyramid only with BENCH_IM_PYRAMID=1
# Throughput (files/s) and peak RSS (GNU time -v); goals: loupe >= 0.9x vips, >= 3x convert.
#
# Frames — a 1080p H.264 video with GOPs of 60 frames is uploaded through the API (the worker makes
# its short-GOP mezzanine), then BENCH_FRAMES (30) random exact frames are fetched warm over HTTP
# and compared with `ffmpeg -ss T -i file -frames:v 1` for the same frames; goal <= 0.3x the CLI.
set -euo pipefail
. "$(dirname "$0")/lib/bench.sh"
bench_init media_bench
build=${1:-$root/build/dev}
nimg=${BENCH_IMAGES:-8}
nframes=${BENCH_FRAMES:-30}

for tool in ffmpeg /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "media_bench: $tool is not installed" >&2; exit 77; }
done
convert_bin=""
for c in convert-im6.q16 magick convert; do
    if command -v "$c" >/dev/null && "$c" -version 2>/dev/null | grep -q ImageMagick; then convert_bin=$(command -v "$c"); break; fi
done
[ -n "$convert_bin" ] || { echo "media_bench: ImageMagick is not installed (apt-get install imagemagick)" >&2; exit 77; }
for b in "$build/bench/media_normalize_bench" "$build/bench/vips_baseline" "$build/src/app/louped" \
         "$build/src/worker/loupe-worker" "$build/src/decoder/loupe-decoder"; do
    [ -x "$b" ] || { echo "media_bench: $b is not built (cmake --build $build)" >&2; exit 77; }
done


# measure NAME NFILES CMD... → appends "NAME seconds rss_kib nfiles" to $work/results
measure() {
    local name=$1 n=$2; shift 2
    rm -rf "$work/out"; mkdir -p "$work/out"
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null
    t1=$(date +%s.%N)
    local rss
    rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$work/time.txt")
    echo "$name $(echo "$t1 - $t0" | bc) $rss $n" >> "$work/results"
}

echo "media_bench: making $nimg 12-megapixel JPEGs and one 100-megapixel JPEG ..." >&2
imgs=()
for i in $(seq 1 "$nimg"); do
    f=$work/img$i.jpg
    ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=4000x3000:rate=1" -ss "$i" \
        -vf "noise=alls=12:allf=u:all_seed=$i" -frames:v 1 -q:v 3 "$f"
    imgs+=("$f")
done
big=$work/big.jpg
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=10000x10000:rate=1" -vf "noise=alls=8:allf=u" \
    -frames:v 1 -q:v 3 "$big"

export LOUPE_DECODER_PATH=$build/src/decoder/loupe-decoder
export LOUPE_LOG_LEVEL=warn LOUPE_THUMBNAIL_SIZE=256 LOUPE_PREVIEW_SIZE=2048 LOUPE_IMAGE_PYRAMID_PIXELS=25000000
: > "$work/results"
convert_one() { "$convert_bin" "$1" -thumbnail '2048x2048>' -quality 85 -write "$2/p.jpg" -thumbnail '256x256>' -quality 80 "$2/t.jpg"; }
export -f convert_one
export convert_bin

measure "small/loupe" "$nimg" "$build/bench/media_normalize_bench" "$work/out" "${imgs[@]}"
measure "small/loupe-sandboxed" "$nimg" "$build/bench/media_normalize_bench" --sandbox "$work/out" "${imgs[@]}"
measure "small/vips" "$nimg" "$build/bench/vips_baseline" "$work/out" 2048 256 25000000 "${imgs[@]}"
measure "small/convert" "$nimg" bash -c 'for f in "$@"; do convert_one "$f" "'"$work/out"'"; done' _ "${imgs[@]}"
measure "big/loupe" 1 "$build/bench/media_normalize_bench" "$work/out" "$big"
measure "big/loupe-sandboxed" 1 "$build/bench/media_normalize_bench" --sandbox "$work/out" "$big"
measure "big/vips" 1 "$build/bench/vips_baseline" "$work/out" 2048 256 25000000 "$big"
if [ "${BENCH_IM_PYRAMID:-0}" = 1 ]; then
    measure "big/convert" 1 bash -c 'convert_one "$1" "$2" && "$convert_bin" "$1" -define tiff:tile-geometry=256x256 -compress jpeg -quality 85 "ptif:$2/p.tif"' _ "$big" "$work/out"
fi

echo "media_bench: making a 1080p H.264 video (GOP 60) ..." >&2
video=$work/video.mp4
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" -t 20 -c:v libx264 -preset veryfast \
    -g 60 -keyint_min 60 -sc_threshold 0 -pix_fmt yuv420p "$video"

bench_services
port=$(bench_free_port)
export LOUPE_MEDIA_CACHE_DIR=$work/cache LOUPE_HTTP_PORT=$port LOUPE_HTTP_THREADS=2
key=$("$build/src/app/louped" admin bootstrap --team bench --email bench@loupe.local |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
bench_start "$build/src/app/louped" serve
bench_start "$build/src/worker/loupe-worker"

python3 - "$port" "$key" "$video" "$nframes" "$work" "$work/results" <<'PY'
import http.client, json, random, subprocess, sys, time
port, key, video, nframes, work, results = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
H = {"Authorization": "ApiKey " + key}
def conn():
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=120); c.request("GET", "/healthz"); c.getresponse().read(); return c
        except OSError:
            time.sleep(0.1)
    sys.exit("media_bench: louped did not start")
c = conn()
def call(method, path, body=None, headers=None):
    h = dict(H); h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse(); data = r.read()
    return r.status, data
st, d = call("POST", "/api/v1/datasets", json.dumps({"name": "bench", "slug": "bench"}), {"Content-Type": "application/json"})
ds = json.loads(d)["id"]
st, d = call("POST", "/api/v1/datasets/%s/items" % ds, json.dumps({"name": "video.mp4", "slots": [{"name": "0", "type": "video"}]}),
             {"Content-Type": "application/json"})
item = json.loads(d)["id"]
with open(video, "rb") as f:
    st, d = call("PUT", "/api/v1/items/%s/slots/0/file" % item, f.read(), {"Content-Type": "video/mp4"})
assert st == 202, d
t0 = time.time()
while True:
    st, d = call("GET", "/api/v1/items/%s" % item)
    it = json.loads(d)
    if it["status"] in ("ready", "error"):
        break
    time.sleep(0.5)
ingest = time.time() - t0
assert it["status"] == "ready", it
count = it["slots"][0]["frame_count"]
st, d = call("GET", "/api/v1/items/%s/slots/0/media" % item)
mezz = json.loads(d)["media"]["mezzanine"]
rng = random.Random(7)
frames = [rng.randrange(count) for _ in range(nframes)]
st, _ = call("GET", "/api/v1/items/%s/slots/0/frames/0?format=jpeg" % item)  # warm: reader open, file cached
assert st == 200
api = []
for n in frames:
    t = time.perf_counter()
    st, data = call("GET", "/api/v1/items/%s/slots/0/frames/%d?format=jpeg" % (item, n))
    api.append(time.perf_counter() - t)
    assert st == 200 and data[:2] == b"\xff\xd8", (st, data[:200])
cli = []
for n in frames:
    t = time.perf_counter()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", "%.6f" % (n / 30.0), "-i", video, "-frames:v", "1",
                    work + "/cli.jpg"], check=True)
    cli.append(time.perf_counter() - t)
with open(results, "a") as f:
    f.write("frames/api %.6f 0 %d\n" % (sum(api), nframes))
    f.write("frames/ffmpeg-cli %.6f 0 %d\n" % (sum(cli), nframes))
    f.write("frames/ingest %.6f 0 1\n" % ingest)
print("video: %d frames, mezzanine %s, ingest (probe, index, mezzanine, poster, sprite) %.1f s" % (count, mezz, ingest))
PY

python3 - "$work/results" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, secs, rss, n = line.split()
    rows[name] = (float(secs), int(rss), int(n))
def show(name):
    if name not in rows:
        return
    s, rss, n = rows[name]
    if name.startswith("frames/"):
        print("%-24s %8.1f ms per %s" % (name, 1000 * s / n, "frame" if name != "frames/ingest" else "video"))
    else:
        print("%-24s %8.2f files/s   %8.1f s   peak RSS %7.1f MiB" % (name, n / s, s, rss / 1024.0))
def ratio(a, b, goal, better="higher"):
    if a in rows and b in rows:
        ta = rows[a][2] / rows[a][0]; tb = rows[b][2] / rows[b][0]
        r = ta / tb
        ok = r >= goal if better == "higher" else r <= goal
        print("  %-22s / %-20s = %5.2fx   (goal %s %.1fx: %s)" % (a, b, r, ">=" if better == "higher" else "<=", goal,
                                                                  "met" if ok else "NOT met"))
print("== images: 12-megapixel JPEGs, preview 2048 + thumbnail 256")
for k in ("small/loupe", "small/loupe-sandboxed", "small/vips", "small/convert"):
    show(k)
ratio("small/loupe", "small/vips", 0.9)
ratio("small/loupe-sandboxed", "small/vips", 0.9)
ratio("small/loupe", "small/convert", 3.0)
ratio("small/loupe-sandboxed", "small/convert", 3.0)
print("== images: one 100-megapixel JPEG, preview + thumbnail + tiled pyramid")
for k in ("big/loupe", "big/loupe-sandboxed", "big/vips", "big/convert"):
    show(k)
ratio("big/loupe", "big/vips", 0.9)
ratio("big/loupe-sandboxed", "big/vips", 0.9)
ratio("big/loupe", "big/convert", 3.0)
print("== exact random frame of a 1080p H.264 video (GOP 60), warm")
for k in ("frames/api", "frames/ffmpeg-cli", "frames/ingest"):
    show(k)
if "frames/api" in rows and "frames/ffmpeg-cli" in rows:
    r = rows["frames/api"][0] / rows["frames/ffmpeg-cli"][0]
    print("  API time / CLI time = %.2fx   (goal <= 0.3x: %s)" % (r, "met" if r <= 0.3 else "NOT met"))
PY
