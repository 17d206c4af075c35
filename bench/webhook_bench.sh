#!/usr/bin/env bash
# Webhook delivery benchmark: events recorded in PostgreSQL, fanned out through the outbox and
# RabbitMQ, signed and POSTed by loupe-worker to a local keep-alive receiver
# (bench/webhook_receiver.c) — against wrk POSTing the same body with the same headers to the same
# receiver over as many connections as Loupe may open to it (workers x BENCH_HOST_CONNECTIONS), in
# the same run.
#
#   bench/webhook_bench.sh [BUILD_DIR]     (default build/dev)
# Environment: BENCH_EVENTS (20000), BENCH_RATE (1000 events/s for the latency run),
# BENCH_WORKERS (2 loupe-worker processes), BENCH_BATCH (256: webhook_batch, the deliveries a
# worker claims and sends at once), BENCH_HOST_CONNECTIONS (8: webhook_host_connections).
# Prints: the backlog rate (the events recorded before the workers start: deliveries/s from the
# first receipt to the last: sending alone), the burst rate (the events recorded while
# the workers run: deliveries/s from the first commit to the last receipt, so recording and
# fan-out count too), the latency from commit to receipt (p50/p99) at BENCH_RATE, wrk's rate, the
# rate of the same POSTs sent by libcurl (curl -Z: curl's own parallel transfers through libcurl's
# multi interface, keep-alive, as many connections; BENCH_CURL_REQUESTS, 20000) and the ratios. Goals: >= 1000 deliveries/s, p99 < 1 s at 1000/s, >= 0.3x the raw POST rate.
set -euo pipefail
. "$(dirname "$0")/lib/bench.sh"
bench_init webhook_bench
build=${1:-$root/build/dev}
n=${BENCH_EVENTS:-20000}
rate=${BENCH_RATE:-1000}
workers=${BENCH_WORKERS:-2}
conns=${BENCH_HOST_CONNECTIONS:-8}
wbatch=${BENCH_BATCH:-256}
command -v wrk >/dev/null || bench_die "wrk is not installed (apt-get install wrk)"
[ -x "$build/bench/webhook_receiver" ] || bench_die "build the benchmarks first ($build/bench/webhook_receiver)"

bench_services
export LOUPE_NET_ALLOW=127.0.0.1/32 LOUPE_WEBHOOK_ALLOW_HTTP=true LOUPE_WORKER_QUEUES=webhooks \
    LOUPE_WEBHOOK_BATCH=$wbatch \
    LOUPE_WEBHOOK_HOST_CONNECTIONS=$conns LOUPE_OUTBOX_BATCH=1000 LOUPE_OUTBOX_POLL=100ms
boot=$("$build/src/app/louped" admin bootstrap --team bench --email bench@loupe.local)
key=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["api_key"])' "$boot")
team=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["team_id"])' "$boot")
lport=$(bench_free_port); rport=$(bench_free_port)
LOUPE_HTTP_PORT=$lport bench_start "$build/src/app/louped" serve
bench_wait_http "http://127.0.0.1:$lport/healthz"

receiver() { # EXPECT STATS → starts the receiver, sets $rpid
    "$build/bench/webhook_receiver" 127.0.0.1 "$rport" 2 "$1" "$2" 2>>"$work/receiver.log" &
    rpid=$!
    pids+=("$rpid")
    for _ in $(seq 100); do curl -fs -X POST "http://127.0.0.1:$rport/ping" >/dev/null 2>&1 && return 0; sleep 0.05; done
    bench_die "the receiver did not start"
}
wait_stats() { # STATS → waits until the receiver wrote it
    for _ in $(seq 1800); do [ -f "$1" ] && return 0; sleep 0.2; done
    bench_die "not every delivery arrived within 6 minutes"
}
insert_sql() { # COUNT → an INSERT of COUNT item.ready events of the team
    echo "INSERT INTO events (team_id, type, data) SELECT '$team', 'item.ready', jsonb_build_object('n', g, 'name', 'cam1-' || g || '.jpg') FROM generate_series(1, $1) g;"
}
now_ms() { python3 -c 'import time; print(int(time.time()*1000))'; }

curl -fs -X POST -H "Authorization: ApiKey $key" -H 'Content-Type: application/json' \
    -d "{\"url\":\"http://127.0.0.1:$rport/hook\",\"events\":[\"item.ready\"]}" \
    "http://127.0.0.1:$lport/api/v1/webhooks" >/dev/null

# 0. backlog: every event recorded (transactions of 1000) before the workers start
receiver "$n" "$work/backlog.stats"
for _ in $(seq $((n / 1000))); do insert_sql 1000; done | psql "$db_url" -q
backlog_ms=$(now_ms)
for _ in $(seq "$workers"); do bench_start "$build/src/worker/loupe-worker"; done
wait_stats "$work/backlog.stats"
kill "$rpid"; wait "$rpid" 2>/dev/null || true
receiver "$n" "$work/burst.stats"

# 1. burst: every event recorded at once (transactions of 1000), then delivered
start_ms=$(now_ms)
for _ in $(seq $((n / 1000))); do insert_sql 1000; done | psql "$db_url" -q
wait_stats "$work/burst.stats"
kill "$rpid"; wait "$rpid" 2>/dev/null || true

# 2. paced: BENCH_RATE events/s in batches every 100 ms; latency from commit to receipt
receiver "$n" "$work/paced.stats"
batch=$((rate / 10)); [ "$batch" -ge 1 ] || batch=1
for _ in $(seq $((n / batch))); do insert_sql "$batch"; echo "SELECT pg_sleep(0.1);"; done | psql "$db_url" -q >/dev/null
wait_stats "$work/paced.stats"

# 3. the raw rate: wrk POSTs the same body and headers to the same receiver
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"type":"item.ready","timestamp":"2026-12-06T03:12:45.120Z","data":{"n":1,"name":"cam1-1.jpg"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["webhook-id"] = "0193a2b4-0000-7000-8000-000000000000"
wrk.headers["webhook-timestamp"] = "1765000000"
wrk.headers["webhook-signature"] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
LUA
raw=$(wrk -t1 -c"$((workers * conns))" -d5s -s "$work/post.lua" "http://127.0.0.1:$rport/raw" | awk '/Requests\/sec/ {print $2}')

# 4. the raw rate by libcurl: curl's own parallel transfers (its multi interface) POST the same body
# and headers over as many keep-alive connections; BENCH_CURL_REQUESTS (20000) of them, timed whole
ncurl=${BENCH_CURL_REQUESTS:-20000}
printf '%s' '{"type":"item.ready","timestamp":"2026-12-06T03:12:45.120Z","data":{"n":1,"name":"cam1-1.jpg"}}' > "$work/body.json"
curl_start=$(now_ms)
curl -sS -Z --parallel-max "$((workers * conns))" -H 'Content-Type: application/json' \
    -H 'webhook-id: 0193a2b4-0000-7000-8000-000000000000' -H 'webhook-timestamp: 1765000000' \
    -H 'webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' --data-binary @"$work/body.json" \
    "http://127.0.0.1:$rport/raw?n=[1-$ncurl]" >/dev/null
curl_rate=$(python3 -c 'import sys; print(int(sys.argv[1]) / ((int(sys.argv[3]) - int(sys.argv[2])) / 1000.0))' \
    "$ncurl" "$curl_start" "$(now_ms)")
failed=$(psql "$db_url" -Atc "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")

python3 - "$work/burst.stats" "$work/paced.stats" "$start_ms" "$raw" "$n" "$rate" "$workers" "$failed" "$((workers * conns))" "$work/backlog.stats" "$backlog_ms" "$curl_rate" <<'PY'
import sys
burst = sys.argv[1]; paced = sys.argv[2]; start = float(sys.argv[3]); raw = float(sys.argv[4])
n, rate, workers, failed, conns = sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8], sys.argv[9]
k = [float(x) for x in open(sys.argv[10]).read().split()]
backlog_rate = k[0] / ((k[2] - k[1]) / 1000.0)
backlog_start = (k[1] - float(sys.argv[11])) / 1000.0
b = [float(x) for x in open(burst).read().split()]
p = [float(x) for x in open(paced).read().split()]
burst_rate = b[0] / ((b[2] - start) / 1000.0)
paced_rate = p[0] / ((p[2] - p[1]) / 1000.0) if p[2] > p[1] else 0
print(f"Webhook deliveries, {n} events, {workers} loupe-worker processes, keep-alive receiver on loopback")
print(f"  backlog (sending alone)        {backlog_rate:8.0f} deliveries/s   first to last receipt ({backlog_start:.2f} s from the workers' start to the first)")
print(f"  burst (recording + sending)    {burst_rate:8.0f} deliveries/s   (goal >= 1000)   p50 {b[3]:7.0f} ms  p99 {b[4]:7.0f} ms (queueing included)")
print(f"  paced at {rate}/s                {paced_rate:8.0f} deliveries/s   p50 {p[3]:7.1f} ms  p99 {p[4]:7.1f} ms  (goal p99 < 1000 ms)")
curl_rate = float(sys.argv[12])
print(f"  wrk, same POSTs, {conns} connections  {raw:8.0f} req/s          Loupe backlog {backlog_rate / raw:.2f}x, burst {burst_rate / raw:.2f}x (goal >= 0.30x)")
print(f"  curl -Z (libcurl multi), {conns} conns {curl_rate:8.0f} req/s          Loupe backlog {backlog_rate / curl_rate:.2f}x, burst {burst_rate / curl_rate:.2f}x")
print(f"  deliveries not delivered: {failed}")
PY
