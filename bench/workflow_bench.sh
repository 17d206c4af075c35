#!/usr/bin/env bash
# Workflow benchmark, two parts on the same throwaway PostgreSQL:
#
# 1. Entry: N items (default 100,000) enter a workflow through the API —
#    POST /api/v1/workflows/{id}/enter by filter, which answers 202 with a
#    workflow.enter job, then waiting for it — and are routed dataset →
#    sampling (30 %) → annotate (the sampled and the rest both go on to
#    annotate, so every task ends on one stage): tasks created, facts read,
#    routes computed, history rows and task.created events written. Against
#    a bare SQL UPDATE that sets that same stage on the same task rows, in the
#    same run. ROUNDS times (tasks, history and events removed between
#    rounds; VACUUM ANALYZE, not timed, before every timed step). Goal: the
#    API <= 3x the bare UPDATE.
# 2. Board: M tasks (default 1,000,000) over 6 stages and 3 states of another
#    workflow; GET /api/v1/workflows/{id}/board through the API (best of 10)
#    and its query's EXPLAIN ANALYZE. Goal: <= 50 ms.
#
#   bench/workflow_bench.sh [BUILD_DIR]     (default build/dev; use build/release for figures)
# Environment: BENCH_ITEMS (100000), BENCH_ROUNDS (3), BENCH_BOARD_TASKS (1000000).
# PostgreSQL runs with scripts/services.sh --fast settings (fsync off) for both sides.
set -euo pipefail
. "$(dirname "$0")/lib/bench.sh"
bench_init workflow_bench
build=${1:-$root/build/dev}
items=${BENCH_ITEMS:-100000}
rounds=${BENCH_ROUNDS:-3}
board_tasks=${BENCH_BOARD_TASKS:-1000000}
for b in "$build/src/app/louped" "$build/src/worker/loupe-worker"; do
    [ -x "$b" ] || { echo "workflow_bench: $b is not built" >&2; exit 77; }
done

bench_services
export LOUPE_WORKER_QUEUES=system
"$build/src/app/louped" migrate >/dev/null
boot=$("$build/src/app/louped" admin bootstrap --team bench --email bench@loupe.local | tail -n 1)
port=$(bench_free_port)
LOUPE_HTTP_PORT=$port bench_start "$build/src/app/louped" serve
bench_start "$build/src/worker/loupe-worker"
bench_wait_http "http://127.0.0.1:$port/healthz"

python3 - "http://127.0.0.1:$port" "$db_url" "$boot" "$items" "$rounds" "$board_tasks" <<'PY'
import json, re, subprocess, sys, time, urllib.request

base, db_url, boot = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
n, rounds, board_n = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
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

def sql_text(statement):
    return subprocess.run(["psql", db_url, "-X", "-tA", "-v", "ON_ERROR_STOP=1", "-c", statement],
                          capture_output=True, text=True, check=True).stdout.strip()

def definition(name, dataset):
    return {"name": name, "dataset_ids": [dataset],
            "stages": [{"id": "entry", "type": "dataset"},
                       {"id": "sample", "type": "sampling", "config": {"percent": 30}},
                       {"id": "annotate", "type": "annotate", "config": {"assignees": "any"}},
                       {"id": "review", "type": "review"},
                       {"id": "done", "type": "complete"},
                       {"id": "dropped", "type": "discard"}],
            "edges": [{"from": "entry", "port": "next", "to": "sample"},
                      {"from": "sample", "port": "sampled", "to": "annotate"},
                      {"from": "sample", "port": "rest", "to": "annotate"},
                      {"from": "annotate", "port": "done", "to": "review"},
                      {"from": "review", "port": "approve", "to": "done"},
                      {"from": "review", "port": "reject", "to": "dropped"}]}

def api_enter(wf, dataset):
    t0 = time.monotonic()
    status, doc = api("POST", "/api/v1/workflows/%s/enter" % wf, {"filters": {"dataset_id": dataset}})
    if status == 202:
        job = doc["job"]["id"]
        while True:
            _, j = api("GET", "/api/v1/jobs/" + job)
            if j["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.02)
        if j["status"] != "succeeded" or j["result"]["count"] != n:
            sys.exit("workflow_bench: the enter job did not enter every item: %r" % j)
    elif doc.get("count") != n:
        sys.exit("workflow_bench: not every item entered: %r" % doc)
    return time.monotonic() - t0

# ---- 1. Entry ----
a = api("POST", "/api/v1/datasets", {"name": "bench entry"})[1]["id"]
t_insert = sql("INSERT INTO items (team_id, dataset_id, name, path, priority, status) "
               "SELECT '%s', '%s', 'img' || g || '.jpg', '/f' || (g %% 100), g %% 10, 'ready' "
               "FROM generate_series(1, %d) g" % (team, a, n))
wf = api("POST", "/api/v1/workflows", definition("bench entry", a))[1]["id"]
sql("VACUUM ANALYZE")
api_times, sql_times = [], []
for r in range(rounds):
    api_times.append(api_enter(wf, a))
    hist = int(sql_text("SELECT count(*) FROM task_history WHERE workflow_id = '%s'" % wf))
    on_stage = int(sql_text("SELECT count(*) FROM tasks WHERE workflow_id = '%s' AND stage = 'annotate'" % wf))
    if on_stage != n or hist != 3 * n:
        sys.exit("workflow_bench: %d tasks on annotate and %d history rows, expected %d and %d"
                 % (on_stage, hist, n, 3 * n))
    sql("VACUUM ANALYZE")
    sql_times.append(sql("UPDATE tasks SET stage = 'annotate', state = 'new', assignee_id = NULL, "
                         "claim_expires_at = NULL, stage_entered_at = now(), updated_at = now() "
                         "WHERE workflow_id = '%s'" % wf))
    sql("DELETE FROM tasks WHERE workflow_id = '%s'" % wf)
    sql("DELETE FROM events WHERE workflow_id = '%s'" % wf)
    sql("VACUUM ANALYZE")
sampled = None
best_api, best_sql = min(api_times), min(sql_times)

# ---- 2. Board ----
b = api("POST", "/api/v1/datasets", {"name": "bench board"})[1]["id"]
t_board_items = sql("INSERT INTO items (team_id, dataset_id, name, path, status) "
                    "SELECT '%s', '%s', 'b' || g || '.jpg', '/', 'ready' FROM generate_series(1, %d) g"
                    % (team, b, board_n))
wf2 = api("POST", "/api/v1/workflows", definition("bench board", b))[1]["id"]
t_board_tasks = sql("INSERT INTO tasks (team_id, workflow_id, item_id, stage, state) "
                    "SELECT '%s', '%s', i.id, (ARRAY['annotate','review','done','dropped','annotate','review'])"
                    "[1 + (row_number() OVER () %% 6)], (ARRAY['new','in_progress','blocked'])"
                    "[1 + (row_number() OVER () %% 3)] FROM items i WHERE i.dataset_id = '%s'" % (team, wf2, b))
sql("VACUUM ANALYZE")
board_times = []
for _ in range(10):
    t0 = time.monotonic()
    status, doc = api("GET", "/api/v1/workflows/%s/board" % wf2)
    board_times.append(time.monotonic() - t0)
    if doc["total"] != board_n:
        sys.exit("workflow_bench: the board counts %d tasks, expected %d" % (doc["total"], board_n))
board_sql = ("SELECT stage, state, count(*), count(assignee_id) FROM tasks WHERE workflow_id = '%s' "
             "GROUP BY stage, state ORDER BY stage, state" % wf2)
sql_board = min(sql(board_sql) for _ in range(5))
plan = sql_text("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + board_sql)

print("Workflow entry: %d items enter dataset -> sampling (30%%) -> annotate "
      "(best of %d; PostgreSQL with fsync off)" % (n, rounds))
print("  setup: INSERT ... SELECT generate_series      %8.2f s" % t_insert)
print("  bare SQL UPDATE tasks SET stage = 'annotate'  %8.2f s   1.00x   (runs: %s)"
      % (best_sql, ", ".join("%.2f" % t for t in sql_times)))
print("  API POST /workflows/{id}/enter + job          %8.2f s   %.2fx   (goal <= 3.00x; runs: %s)"
      % (best_api, best_api / best_sql, ", ".join("%.2f" % t for t in api_times)))
print("Board: GET /api/v1/workflows/{id}/board over %d tasks (6 stages x 3 states)" % board_n)
print("  setup: %d items %.1f s, %d tasks %.1f s" % (board_n, t_board_items, board_n, t_board_tasks))
print("  API GET /board                                %8.1f ms  (best of 10; goal <= 50 ms; median %.1f ms)"
      % (min(board_times) * 1000, sorted(board_times)[5] * 1000))
print("  its query alone (psql \\timing, best of 5)    %8.1f ms" % (sql_board * 1000))
print("  EXPLAIN ANALYZE:")
for line in plan.splitlines():
    print("    " + line)
PY
