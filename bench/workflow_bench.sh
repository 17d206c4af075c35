#!/usr/bin/env bash
# Workflow benchmark, three parts on the same throwaway PostgreSQL:
#
# 1. Entry: N items (default 100,000) enter a workflow through the API —
#    POST /api/v1/workflows/{id}/enter by filter, which answers 202 with a
#    workflow.enter job, then waiting for it — and are routed dataset →
#    sampling (30 %) → annotate (the sampled and the rest both go on to
#    annotate, so every task ends on one stage): tasks created, facts read,
#    routes computed, history (a row per task) and task.created events written. Against
#    a bare SQL UPDATE that sets that same stage on the same task rows, in the
#    same run. ROUNDS times (tasks, history and events removed between
#    rounds; VACUUM ANALYZE, not timed, before every timed step). Goal: the
#    API <= 3x the bare UPDATE.
# 2. Board: M tasks (default 1,000,000) over 6 stages and 3 states of another
#    workflow; GET /api/v1/workflows/{id}/board through the API (best of 10)
#    and its query's EXPLAIN ANALYZE (the counts the tasks triggers keep),
#    beside a count(*) ... GROUP BY over the tasks themselves. Goal: <= 50 ms.
# 3. Claims: 8 annotators claim the next task of an annotate stage and submit
#    it, over and over, through the API (wrk), against the bare claim
#    statement (UPDATE … FOR UPDATE SKIP LOCKED) run by 8 pgbench clients.
#    Goal: >= 1,000 claims/s. Needs wrk and pgbench (skipped without them).
#
#   bench/workflow_bench.sh [BUILD_DIR]     (default build/dev; use build/release for figures)
# Environment: BENCH_ITEMS (100000), BENCH_ROUNDS (3), BENCH_BOARD_TASKS (1000000),
# BENCH_CLAIM_SECONDS (10), BENCH_CLAIM_TASKS (60000 per side).
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
    # history steps: a row each, and the hops of its route (created, then routed twice)
    hist = int(sql_text("SELECT count(*) + coalesce(sum(jsonb_array_length(route)), 0) FROM task_history "
                        "WHERE workflow_id = '%s'" % wf))
    on_stage = int(sql_text("SELECT count(*) FROM tasks WHERE workflow_id = '%s' AND stage = 'annotate'" % wf))
    if on_stage != n or hist != 3 * n:
        sys.exit("workflow_bench: %d tasks on annotate and %d history steps, expected %d and %d"
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
board_sql = ("SELECT stage, state, count FROM workflow_task_counts WHERE workflow_id = '%s' AND count <> 0 "
             "ORDER BY stage, state" % wf2)
sql_board = min(sql(board_sql) for _ in range(5))
scan_sql = ("SELECT stage, state, count(*) FROM tasks WHERE workflow_id = '%s' GROUP BY stage, state" % wf2)
sql_scan = min(sql(scan_sql) for _ in range(3))
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
print("  counting the tasks instead (GROUP BY)       %8.1f ms" % (sql_scan * 1000))
print("  EXPLAIN ANALYZE:")
for line in plan.splitlines():
    print("    " + line)
PY

# ---- 3. Claims ----
# 8 annotators (one wrk connection and one API key each) claim the next task
# of an annotate stage (POST …/stages/label/next) and submit it, over and
# over, for BENCH_CLAIM_SECONDS; against the bare claim statement (the same
# UPDATE … FOR UPDATE SKIP LOCKED, without HTTP, history or events) run by 8
# pgbench clients, in the same run on the same database. Each Loupe claim is
# followed by a submit (a holder gets its own claim back until the task
# leaves the stage), so the figure counts claim-and-submit cycles: a lower
# bound of the claim rate. Goal: >= 1,000 claims/s.
claim_secs=${BENCH_CLAIM_SECONDS:-10}
claim_tasks=${BENCH_CLAIM_TASKS:-60000}
claimers=8
if ! command -v wrk >/dev/null || ! command -v pgbench >/dev/null; then
    echo "Claims: skipped (wrk and pgbench are needed)"
    exit 0
fi
base=http://127.0.0.1:$port
key=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["api_key"])' "$boot")
team=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["team_id"])' "$boot")
api() { # METHOD PATH [JSON] → body
    curl -fsS -X "$1" -H "Authorization: ApiKey $key" -H "Content-Type: application/json" ${3:+--data "$3"} "$base$2"
}
jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
env_keys=()
for i in $(seq "$claimers"); do
    token=$(api POST "/api/v1/teams/$team/members" "{\"email\": \"a$i@loupe.local\", \"role\": \"annotator\"}" | jget token)
    curl -fsS -H "Content-Type: application/json" --data "{\"token\": \"$token\", \"password\": \"bench password $i\"}" \
        "$base/api/v1/invitations/accept" >/dev/null
    csrf=$(curl -fsS -c "$work/jar$i" -H "Content-Type: application/json" \
        --data "{\"email\": \"a$i@loupe.local\", \"password\": \"bench password $i\"}" "$base/api/v1/auth/login" | jget csrf_token)
    env_keys+=("CLAIM_KEY_$i=$(curl -fsS -b "$work/jar$i" -H "X-CSRF-Token: $csrf" -H "Content-Type: application/json" \
        --data '{"name": "bench"}' "$base/api/v1/api-keys" | jget key)")
done
ds=$(api POST /api/v1/datasets '{"name": "bench claims"}' | jget id)
wf=$(api POST /api/v1/workflows "{\"name\": \"bench claims\", \"dataset_ids\": [\"$ds\"], \"stages\": [
  {\"id\": \"in\", \"type\": \"dataset\"}, {\"id\": \"label\", \"type\": \"annotate\", \"config\": {\"assignees\": \"any\"}},
  {\"id\": \"done\", \"type\": \"complete\"}],
  \"edges\": [{\"from\": \"in\", \"port\": \"next\", \"to\": \"label\"}, {\"from\": \"label\", \"port\": \"done\", \"to\": \"done\"}]}" | jget id)
# Open tasks on label and, as many, on a stage "bare" that only the baseline's
# statement knows (set up with SQL, as entering leaves them).
psql "$db_url" -qAtX -c "INSERT INTO items (team_id, dataset_id, name) SELECT '$team', '$ds', 'c' || g
                         FROM generate_series(1, 2 * $claim_tasks) g" \
    -c "INSERT INTO tasks (team_id, workflow_id, item_id, stage, state, priority)
        SELECT team_id, '$wf', id, CASE WHEN row_number() OVER () % 2 = 0 THEN 'label' ELSE 'bare' END, 'new',
               (random() * 10)::int FROM items WHERE dataset_id = '$ds'" -c "VACUUM ANALYZE tasks" >/dev/null
cat >"$work/claim.lua" <<'LUA'
local n, threads = 0, {}
function setup(thread)
  n = n + 1
  thread:set("key", os.getenv("CLAIM_KEY_" .. n))
  table.insert(threads, thread)
end
function init(args)
  claims, submits, empty, failures, task = 0, 0, 0, 0, nil
  next_path = "/api/v1/workflows/" .. os.getenv("CLAIM_WF") .. "/stages/label/next"
end
function request()
  local h = {["Authorization"] = "ApiKey " .. key}
  if task then
    pending = "submit"
    return wrk.format("POST", "/api/v1/tasks/" .. task .. "/submit", h)
  end
  pending = "next"
  return wrk.format("POST", next_path, h)
end
function response(status, headers, body)
  if pending == "next" then
    if status == 200 then
      task = body:match('"id":%s*"([%x%-]+)"')
      claims = claims + 1
    elseif status == 204 then
      empty = empty + 1
    else
      failures = failures + 1
    end
  else
    task = nil
    if status == 200 then submits = submits + 1 else failures = failures + 1 end
  end
end
function done(summary, latency, requests)
  local c, s, e, f = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c, s, e, f = c + t:get("claims"), s + t:get("submits"), e + t:get("empty"), f + t:get("failures")
  end
  io.write(string.format("RESULT %d %d %d %d %.3f\n", c, s, e, f, summary.duration / 1e6))
end
LUA
read -r _ claims submits empty failures secs_run < <(env "${env_keys[@]}" CLAIM_WF="$wf" \
    wrk -t"$claimers" -c"$claimers" -d"${claim_secs}s" -s "$work/claim.lua" "$base" | awk '/^RESULT/')
twice=$(psql "$db_url" -qAtX -c "SELECT count(*) FROM (SELECT task_id FROM task_history WHERE workflow_id = '$wf'
                                  AND action = 'claim' GROUP BY task_id HAVING count(*) > 1) d")
[ "$twice" = 0 ] || { echo "workflow_bench: $twice tasks were claimed more than once" >&2; exit 1; }
owner=$(psql "$db_url" -qAtX -c "SELECT user_id FROM memberships WHERE team_id = '$team' AND role = 'owner'")
per_client=$(( claims / claimers > 250 ? claims / claimers : 250 ))
cat >"$work/bare.sql" <<SQL
UPDATE tasks SET assignee_id = '$owner', claim_expires_at = now() + interval '30 minutes', updated_at = now()
 WHERE id = (SELECT id FROM tasks WHERE workflow_id = '$wf' AND stage = 'bare' AND assignee_id IS NULL
              ORDER BY priority DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED);
SQL
bare=$(pgbench -n -c "$claimers" -j 2 -t "$per_client" -f "$work/bare.sql" "$db_url" 2>/dev/null | awk '/^tps = / {print $3; exit}')
python3 - "$claims" "$submits" "$empty" "$failures" "$secs_run" "$bare" "$claimers" <<'PY'
import sys
claims, submits, empty, failures = (int(x) for x in sys.argv[1:5])
secs, bare, k = float(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
rate = claims / secs
print("Claims: %s concurrent claimers, %.0f s (wrk; pgbench for the bare statement)" % (k, secs))
print("  API next + submit per claim                 %8.0f claims/s  (goal >= 1000; %d claims, %d submits, "
      "%d failures, %d empty; no task claimed twice)" % (rate, claims, submits, failures, empty))
print("  bare UPDATE ... FOR UPDATE SKIP LOCKED      %8.0f claims/s  (API / bare %.2fx)" % (bare, rate / bare))
PY
