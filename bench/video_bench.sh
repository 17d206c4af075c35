#!/usr/bin/env bash
# Video benchmark.
#
#   bench/video_bench.sh [BUILD_DIR]     (default build/dev; use build/release for figures)
#   BENCH_PARTS="a b c d e" (default all five) picks the parts.
#
# (a) Ingest of a long 720p H.264 video: BENCH_INGEST_FRAMES frames (default 100000, the figure of
#     record; a few thousand for a quick run) at 30 fps, GOP 250, with a stereo AAC track, generated
#     by the ffmpeg tool (untimed). Timed in one process by video_ingest_bench, as the worker's
#     decoder runs them: the packet index alone (goal <= 15 s for 100,000 frames); everything
#     media.normalize makes but the 1080p rendition (index, the one decoding pass with the
#     mezzanine, the 360p rendition, the AAC track and the peaks, the mezzanine's index, posters and
#     sprite) against the video's duration (goal <= 0.25x real time); the 1080p rendition's extra
#     time apart. Baseline in the same run: the ffmpeg tool decoding the video alone
#     (ffmpeg -i FILE -f null -).
#
# (b) Sequential frame windows at 1080p: a 1080p 30 fps H.264 video (GOP 60, BENCH_SECONDS = 20 s) is
#     uploaded through the API (the worker makes its short-GOP mezzanine); then the whole video is
#     fetched warm, in order, as windows of BENCH_WINDOW (32) frames at full size
#     (GET …/frames?from=&count=&size=1920), and, in the same run, frame by frame through
#     GET …/frames/{n}. Frames/s of each against the video's own rate; goal: windows >= 4x real time.
#
# (c) Random exact frames: on the video of (b), BENCH_RANDOM (30) frames at random fetched warm through
#     GET …/frames/{n}, against the ffmpeg tool cutting the same frames from the same file in the same
#     run (ffmpeg -ss T -i FILE -frames:v 1). Goal: <= 0.3x the tool's time.
#
# (d) Playback in the browser: the web app's video editor in headless Chromium (tests/e2e/video.spec.mjs
#     with LOUPE_E2E_PLAY_ONLY) plays BENCH_PLAY_SECONDS (60) of a 1280x720 30 fps H.264 video with
#     BENCH_TRACKS (20) box tracks drawn over it (keyframes every 50 frames, interpolated), frames
#     and vectors loaded ahead of the playhead as an annotator's browser does; prints the frames
#     shown, late (due before their pixels were loaded), the stalls and their time, and the frames the
#     screen skipped (a refresh rate below the video's). Goal: 0 stalls. Needs web/dist (make web),
#     /usr/bin/chromium and tests/e2e's npm packages; skipped with a message otherwise.
#
# (e) The mezzanine's memory and open time: 256x144 30 fps H.264 videos with AAC (small frames, so
#     that the encoders' fixed buffers stay small and the growth shows) of BENCH_OPEN_FRAMES
#     ("3000 12000") frames, generated (untimed). For each length the whole run of (a)
#     (video_ingest_bench: peak resident memory), and, as the baseline in the same run, the ffmpeg
#     tool making the same mezzanine (libx264 veryfast, CRF 18, GOP 12, no B-frames, audio copied) as
#     a plain MP4 and as a fragmented one (peak resident memory by /usr/bin/time): the growth per
#     frame between the lengths of each. Then the longest video's mezzanine opened for frame access
#     as louped opens it (video_open_bench: median open time, memory one open reader holds) against
#     the same mezzanine remuxed into a plain MP4 (ffmpeg -c copy).
set -euo pipefail
. "$(dirname "$0")/lib/bench.sh"
bench_init video_bench
build=${1:-$root/build/dev}
seconds=${BENCH_SECONDS:-20}
window=${BENCH_WINDOW:-32}
size=${BENCH_SIZE:-1920}

parts=${BENCH_PARTS:-a b c d e}
ingest_frames=${BENCH_INGEST_FRAMES:-100000}

command -v ffmpeg >/dev/null || bench_die "ffmpeg is not installed"

if [[ " $parts " == *" a "* ]]; then
    [ -x "$build/bench/video_ingest_bench" ] || bench_die "$build/bench/video_ingest_bench is not built"
    echo "video_bench: making a ${ingest_frames}-frame 720p H.264 video (30 fps, GOP 250, AAC) ..." >&2
    long=$work/long720.mp4
    ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1280x720:rate=30" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000" -frames:v "$ingest_frames" -ac 2 -c:a aac \
        -c:v libx264 -preset ultrafast -g 250 -pix_fmt yuv420p -shortest "$long"
    t0=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$work/decode.cpu" ffmpeg -nostdin -v error -i "$long" -map 0:v -f null -
    decode=$(echo "$(date +%s.%N) - $t0" | bc)
    mkdir -p "$work/ingest"
    "$build/bench/video_ingest_bench" "$long" "$work/ingest" > "$work/ingest.txt"
    python3 - "$work/ingest.txt" "$decode" "$(cat "$work/decode.cpu")" "$(nproc)" <<'PY'
import sys
v = dict(line.split("=", 1) for line in open(sys.argv[1]).read().split() if "=" in line)
f = {k: float(x) for k, x in v.items()}
dur, decode, cores = f["duration_seconds"], float(sys.argv[2]), int(sys.argv[4])
decode_cpu = sum(float(x) for x in sys.argv[3].split())
print("== (a) ingest of a %d-frame 720p H.264 video (%.1f s at 30 fps, with AAC audio), %d cores"
      % (f["frames"], dur, cores))
print("  %-38s %9s %9s  %s" % ("", "wall s", "CPU s", "wall / duration; CPU / (cores x duration)"))
rows = (("packet index alone", "index"),
        ("everything but the 1080p rendition", "ingest_without_1080p"),
        ("  of which the one decoding pass", "one_pass_without_1080p"),
        ("  mezzanine index, posters, sprite", "mezzanine_index_and_thumbnails"),
        ("1080p rendition (extra, apart)", "rendition_1080p"))
for name, key in rows:
    secs, c = f[key + "_seconds"], f[key + "_cpu"]
    print("  %-38s %9.2f %9.2f  %6.3fx  %6.3fx" % (name, secs, c, secs / dur, c / cores / dur))
print("  %-38s %9.2f %9.2f  %6.3fx  %6.3fx" % ("ffmpeg tool: decode alone", decode, decode_cpu, decode / dur,
                                              decode_cpu / cores / dur))
r = f["ingest_without_1080p_seconds"] / dur
rc = f["ingest_without_1080p_cpu"] / cores / dur
print("  ingest without 1080p: %.3fx real time by the wall clock, %.3fx by CPU time on %d cores (goal <= 0.25x: %s)"
      % (r, rc, cores, "met" if r <= 0.25 else "met by CPU time only" if rc <= 0.25 else "NOT met"))
idx = f["index_seconds"] * 100000 / f["frames"]
print("  packet index: %.2f s, %.2f s per 100,000 frames (goal <= 15 s: %s)" % (f["index_seconds"], idx,
      "met" if idx <= 15 else "NOT met"))
print("  one pass vs the ffmpeg tool's decode alone (CPU): %.2fx" % (f["one_pass_without_1080p_cpu"] / decode_cpu))
print("  peak resident memory of the whole run: %.0f MiB" % f["max_rss_mib"])
PY
fi
if [[ " $parts " == *" e "* ]]; then
    for b in video_ingest_bench video_open_bench; do
        [ -x "$build/bench/$b" ] || bench_die "$build/bench/$b is not built"
    done
    read -r -a lengths <<< "${BENCH_OPEN_FRAMES:-3000 12000}"
    : > "$work/memory.txt"
    for n in "${lengths[@]}"; do
        echo "video_bench: (e) a ${n}-frame 256x144 H.264 video with AAC: ingest, and the ffmpeg tool's mezzanines ..." >&2
        src=$work/small$n.mp4
        ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=256x144:rate=30" \
            -f lavfi -i "sine=frequency=440:sample_rate=48000" -frames:v "$n" -ac 2 -c:a aac \
            -c:v libx264 -preset ultrafast -g 250 -pix_fmt yuv420p -shortest "$src"
        mkdir -p "$work/ingest$n"
        "$build/bench/video_ingest_bench" "$src" "$work/ingest$n" > "$work/ingest$n.txt"
        for kind in plain fragmented; do
            flags=()
            [ "$kind" = fragmented ] && flags=(-movflags +frag_keyframe+empty_moov+default_base_moof)
            /usr/bin/time -f %M -o "$work/$kind$n.kib" ffmpeg -nostdin -v error -y -i "$src" -map 0:v -map 0:a \
                -c:v libx264 -preset veryfast -crf 18 -g 12 -bf 0 -sc_threshold 0 -c:a copy "${flags[@]}" "$work/$kind$n.mp4"
        done
        echo "$n $(sed -n 's/^max_rss_mib=//p' "$work/ingest$n.txt") $(cat "$work/plain$n.kib") $(cat "$work/fragmented$n.kib")" \
            >> "$work/memory.txt"
    done
    mezz=$work/ingest${lengths[-1]}/without-1080p/mezzanine.mp4
    ffmpeg -nostdin -v error -y -i "$mezz" -map 0 -c copy "$work/mezzanine-plain.mp4"
    "$build/bench/video_open_bench" "$mezz" > "$work/open-fragmented.json"
    "$build/bench/video_open_bench" "$work/mezzanine-plain.mp4" > "$work/open-plain.json"
    python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
rows = [[float(x) for x in line.split()] for line in open(os.path.join(work, "memory.txt")) if line.strip()]
print("== (e) the mezzanine: memory per frame and open time (256x144 30 fps H.264 with AAC)")
print("  %8s %18s %24s %24s" % ("frames", "ingest peak MiB", "ffmpeg plain MP4 MiB", "ffmpeg fragmented MiB"))
for n, ingest, plain, frag in rows:
    print("  %8d %18.1f %24.1f %24.1f" % (n, ingest, plain / 1024, frag / 1024))
if len(rows) >= 2:
    (n0, i0, p0, f0), (n1, i1, p1, f1) = rows[0], rows[-1]
    per = lambda a, b: (b - a) / (n1 - n0)
    print("  growth per frame, %d -> %d frames: ingest (fragmented mezzanine) %.2f KB; ffmpeg tool: plain MP4 %.2f KB, "
          "fragmented %.2f KB" % (n0, n1, per(i0, i1) * 1024, per(p0, p1), per(f0, f1)))
fr = json.load(open(os.path.join(work, "open-fragmented.json")))
pl = json.load(open(os.path.join(work, "open-plain.json")))
print("  open for frame access, %d frames: fragmented mezzanine %.1f ms (first %.1f ms, holds %d KiB); "
      "its plain-MP4 remux %.1f ms (first %.1f ms, holds %d KiB): %.2fx" % (
          fr["frames"], fr["open_ms"], fr["first_open_ms"], fr["held_kib"], pl["open_ms"], pl["first_open_ms"],
          pl["held_kib"], fr["open_ms"] / pl["open_ms"]))
PY
fi
[[ " $parts " == *" b "* || " $parts " == *" c "* || " $parts " == *" d "* ]] || exit 0
for b in "$build/src/app/louped" "$build/src/worker/loupe-worker" "$build/src/decoder/loupe-decoder"; do
    [ -x "$b" ] || bench_die "$b is not built (cmake --build $build)"
done

bench_services
port=$(bench_free_port)
password="bench video player"
export LOUPE_DECODER_PATH=$build/src/decoder/loupe-decoder LOUPE_MEDIA_CACHE_DIR=$work/cache \
    LOUPE_HTTP_PORT=$port LOUPE_HTTP_THREADS=2 LOUPE_FRAME_WINDOW_MAX_PIXELS=1000000000 LOUPE_WEB_DIR=$root/web/dist
key=$(echo "$password" | "$build/src/app/louped" admin bootstrap --team bench --email bench@loupe.local --password-stdin |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
bench_start "$build/src/app/louped" serve
bench_start "$build/src/worker/loupe-worker"

if [[ " $parts " == *" b "* || " $parts " == *" c "* ]]; then
echo "video_bench: making a ${seconds} s 1080p H.264 video (30 fps, GOP 60) ..." >&2
video=$work/video.mp4
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" -t "$seconds" -c:v libx264 \
    -preset veryfast -g 60 -keyint_min 60 -sc_threshold 0 -pix_fmt yuv420p "$video"

python3 - "$port" "$key" "$video" "$window" "$size" "$parts" "${BENCH_RANDOM:-30}" "$work" <<'PY'
import http.client, json, random, subprocess, sys, time
port, key, video, window, size = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
parts, nrandom, work = sys.argv[6].split(), int(sys.argv[7]), sys.argv[8]
H = {"Authorization": "ApiKey " + key}
def conn():
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=300); c.request("GET", "/healthz"); c.getresponse().read(); return c
        except OSError:
            time.sleep(0.1)
    sys.exit("video_bench: louped did not start")
c = conn()
def call(method, path, body=None, headers=None):
    h = dict(H); h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse(); data = r.read()
    return r.status, data, r
st, d, _ = call("POST", "/api/v1/datasets", json.dumps({"name": "bench", "slug": "bench"}), {"Content-Type": "application/json"})
ds = json.loads(d)["id"]
st, d, _ = call("POST", "/api/v1/datasets/%s/items" % ds, json.dumps({"name": "video.mp4", "slots": [{"name": "0", "type": "video"}]}),
                {"Content-Type": "application/json"})
item = json.loads(d)["id"]
with open(video, "rb") as f:
    st, d, _ = call("PUT", "/api/v1/items/%s/slots/0/file" % item, f.read(), {"Content-Type": "video/mp4"})
assert st == 202, d
while True:
    st, d, _ = call("GET", "/api/v1/items/%s" % item)
    it = json.loads(d)
    if it["status"] in ("ready", "error"):
        break
    time.sleep(0.5)
assert it["status"] == "ready", it
slot = it["slots"][0]
count, fps = slot["frame_count"], slot["fps"]
base = "/api/v1/items/%s/slots/0/frames" % item
st, _, _ = call("GET", base + "/0?format=jpeg")  # warm: file cached, reader open
assert st == 200
if "c" in parts:
    picks = random.Random(7).sample(range(count), min(nrandom, count))
    api = cli = 0.0
    for n in picks:
        t = time.perf_counter()
        st, data, _ = call("GET", "%s/%d?format=jpeg" % (base, n))
        api += time.perf_counter() - t
        assert st == 200 and data[:2] == b"\xff\xd8", (st, data[:300])
        t = time.perf_counter()
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", "%.6f" % (n / fps), "-i", video, "-frames:v", "1",
                        work + "/cli.jpg"], check=True)
        cli += time.perf_counter() - t
    print("== (c) %d random exact frames of a %dx%d video (GOP 60), warm" % (len(picks), slot["width"], slot["height"]))
    print("  GET …/frames/{n}: %.1f ms per frame; ffmpeg -ss T -i FILE -frames:v 1: %.1f ms per frame"
          % (1000 * api / len(picks), 1000 * cli / len(picks)))
    print("  API / tool = %.2fx (goal <= 0.3x: %s)" % (api / cli, "met" if api / cli <= 0.3 else "NOT met"))
    if "b" not in parts:
        sys.exit(0)
t = time.perf_counter()
n = 0
while n < count:
    k = min(window, count - n)
    st, data, r = call("GET", "%s?from=%d&count=%d&size=%d" % (base, n, k, size))
    assert st == 200 and data[:2] == b"\xff\xd8", (st, data[:300])
    n += k
win = time.perf_counter() - t
t = time.perf_counter()
for i in range(count):
    st, data, _ = call("GET", "%s/%d?format=jpeg" % (base, i))
    assert st == 200 and data[:2] == b"\xff\xd8", (st, data[:300])
single = time.perf_counter() - t
print("== (b) sequential exact frames of a %dx%d %.0f fps video, %d frames (%.1f s), warm"
      % (slot["width"], slot["height"], fps, count, count / fps))
for name, secs in (("windows of %d at size %d" % (window, size), win), ("single frames (frames/{n})", single)):
    rate = count / secs
    print("  %-30s %8.1f frames/s = %5.2fx real time" % (name, rate, rate / fps))
r = (count / win) / fps
print("  windows: %.2fx real time (goal >= 4x: %s)" % (r, "met" if r >= 4 else "NOT met"))
PY
fi

[[ " $parts " == *" d "* ]] || exit 0
play=${BENCH_PLAY_SECONDS:-60}
e2e=$root/tests/e2e
if [ ! -f "$root/web/dist/index.html" ] || [ ! -x /usr/bin/chromium ] || [ ! -d "$e2e/node_modules/playwright-core" ]; then
    echo "video_bench: (d) skipped: needs web/dist (make web), /usr/bin/chromium and tests/e2e/node_modules (npm ci)" >&2
    exit 0
fi
echo "video_bench: making a $((play + 5)) s 720p H.264 video (30 fps, GOP 60) ..." >&2
clip=$work/clip.mp4
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1280x720:rate=30" -t "$((play + 5))" -c:v libx264 \
    -preset veryfast -g 60 -pix_fmt yuv420p "$clip"
item=$(python3 - "$port" "$key" "$clip" <<'PY'
import json, sys, time, urllib.request
port, key, clip = sys.argv[1], sys.argv[2], sys.argv[3]
def call(method, path, body=None, ctype="application/json"):
    r = urllib.request.Request("http://127.0.0.1:%s%s" % (port, path), data=body, method=method,
                               headers={"Authorization": "ApiKey " + key, "Content-Type": ctype})
    with urllib.request.urlopen(r, timeout=300) as a:
        return json.loads(a.read() or b"null")
ds = call("POST", "/api/v1/datasets", json.dumps({"name": "player", "slug": "player"}).encode())["id"]
item = call("POST", "/api/v1/datasets/%s/items" % ds,
            json.dumps({"name": "clip.mp4", "slots": [{"name": "0", "type": "video"}]}).encode())["id"]
with open(clip, "rb") as f:
    call("PUT", "/api/v1/items/%s/slots/0/file" % item, f.read(), "video/mp4")
while True:
    it = call("GET", "/api/v1/items/" + item)
    if it["status"] in ("ready", "error"):
        break
    time.sleep(0.5)
if it["status"] != "ready":
    sys.exit("video_bench: (d) the clip did not become ready: %s" % it.get("error"))
print(item)
PY
) || bench_die "(d) no item to play"
out=$(cd "$e2e" && LOUPE_E2E_URL=http://127.0.0.1:$port LOUPE_E2E_EMAIL=bench@loupe.local LOUPE_E2E_PASSWORD="$password" \
      LOUPE_E2E_API_KEY=$key LOUPE_E2E_VIDEO_ITEM=$item LOUPE_E2E_ARTIFACTS=$work/shots LOUPE_E2E_TIMEOUT_MS=60000 \
      LOUPE_E2E_PLAY_SECONDS=$play LOUPE_E2E_PLAY_ONLY=1 LOUPE_E2E_TRACKS=${BENCH_TRACKS:-20} node video.spec.mjs 2>&1) ||
    { echo "$out" >&2; bench_die "(d) the playback run failed"; }
python3 - "$play" "${BENCH_TRACKS:-20}" "$out" <<'PY'
import re, sys
play, tracks, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
m = re.search(r"video_player: shown=(\d+) late=(\d+) stalls=(\d+) stall_ms=(\d+) skipped=(\d+)", out)
if not m:
    sys.exit("video_bench: (d) no figures in the output:\n" + out[-2000:])
shown, late, stalls, stall_ms, skipped = map(int, m.groups())
print("== (d) %d s of playback in headless Chromium, 1280x720 30 fps, %d interpolated box tracks drawn over it"
      % (play, tracks))
print("  frames shown %d, skipped by the screen %d (of %d due)" % (shown, skipped, play * 30))
print("  late frames %d, stalls %d (%d ms in all) (goal 0 stalls: %s)" % (late, stalls, stall_ms,
      "met" if stalls == 0 else "NOT met"))
PY
