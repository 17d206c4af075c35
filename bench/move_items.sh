#!/usr/bin/env bash
# Bulk move benchmark: moving N items (default 1,000,000) from one dataset to
# another by filter through the API — POST /api/v1/items/move, which answers
# 202 with an items.bulk job, then waiting for the job to succeed — against a
# bare SQL UPDATE of the same rows, measured in the same run on the same data:
# the items go A→B through the API and back B→A with SQL, ROUNDS times, with a
# VACUUM ANALYZE (not timed) before every timed step.
#
#   bench/move_items.sh [BUILD_DIR]     (default build/dev)
# Environment: BENCH_ITEMS (1000000), BENCH_ROUNDS (2).
# Prints the best time of each and the ratio; the goal is API <= 2x the bare UPDATE.
# PostgreSQL runs with scripts/services.sh --fast settings (fsync off) for both.
set -euo pipefail
. "$(dirname "$0")/lib/bench.sh"
bench_init move_items
build=${1:-$root/build/dev}
items=${BENCH_ITEMS:-1000000}
rounds=${BENCH_ROUNDS:-2}
for b in "$build/src/app/louped" "$build/src/worker/loupe-worker"; do
    [ -x "$b" ] || { echo "move_items: $b is not built" >&2; exit 77; }
done

bench_services
export LOUPE_WORKER_QUEUES=system
"$build/src/app/louped" migrate >/dev/null
boot=$("$build/src/app/louped" admin bootstrap --team bench --email bench@loupe.local | tail -n 1)
port=$(bench_free_port)
LOUPE_HTTP_PORT=$port bench_start "$build/src/app/louped" serve
bench_start "$build/src/worker/loupe-worker"
bench_wait_http "http://127.0.0.1:$port/healthz"

python3 - "http://127.0.0.1:$port" "$db_url" "$boot" "$items" "$rounds" <<'PY'
import json, re, subprocess, sys, time, urllib.request

base, db_url, boot, n, rounds = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
key, team = boot["api_key"], boot["team_id"]

def api(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "ApiKey " + key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.status, json.loads(r.read() or b"null")

def sql(statement):
    """Runs one statement; returns the server-side time in seconds (psql \\timing)."""
    out = subprocess.run(["psql", db_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "\\timing on", "-c", statement],
                         capture_output=True, text=True, check=True).stdout
    return float(re.findall(r"Time: ([0-9.]+) ms", out)[-1]) / 1000

def api_move(src, dst):
    t0 = time.monotonic()
    status, doc = api("POST", "/api/v1/items/move", {"filters": {"dataset_id": src}, "target_dataset_id": dst})
    if status == 202:
        job = doc["job"]["id"]
        while True:
            _, j = api("GET", "/api/v1/jobs/" + job)
            if j["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.02)
        if j["status"] != "succeeded" or j["result"]["count"] != n:
            sys.exit("move_items: the move job did not move every item: %r" % j)
    elif doc.get("count") != n:
        sys.exit("move_items: the move did not move every item: %r" % doc)
    return time.monotonic() - t0

a = api("POST", "/api/v1/datasets", {"name": "bench A"})[1]["id"]
b = api("POST", "/api/v1/datasets", {"name": "bench B"})[1]["id"]
t_insert = sql("INSERT INTO items (team_id, dataset_id, name, path, priority) "
               "SELECT '%s', '%s', 'img' || g || '.jpg', '/f' || (g %% 100), g %% 10 "
               "FROM generate_series(1, %d) g" % (team, a, n))
sql("VACUUM ANALYZE items")
api_times, sql_times = [], []
for _ in range(rounds):
    api_times.append(api_move(a, b))
    sql("VACUUM ANALYZE items")
    sql_times.append(sql("UPDATE items SET dataset_id = '%s' WHERE dataset_id = '%s'" % (a, b)))
    sql("VACUUM ANALYZE items")
check = subprocess.run(["psql", db_url, "-X", "-tAc", "SELECT count(*) FROM items WHERE dataset_id = '%s'" % a],
                       capture_output=True, text=True, check=True).stdout.strip()
if int(check) != n:
    sys.exit("move_items: %s items back in dataset A, expected %d" % (check, n))
best_api, best_sql = min(api_times), min(sql_times)
print("Move %d items between datasets by filter (best of %d; PostgreSQL with fsync off)" % (n, rounds))
print("  setup: INSERT ... SELECT generate_series   %8.2f s" % t_insert)
print("  bare SQL UPDATE ... WHERE dataset_id = $1  %8.2f s   1.00x   (runs: %s)"
      % (best_sql, ", ".join("%.2f" % t for t in sql_times)))
print("  API POST /api/v1/items/move + job          %8.2f s   %.2fx   (goal <= 2.00x; runs: %s)"
      % (best_api, best_api / best_sql, ", ".join("%.2f" % t for t in api_times)))
PY
