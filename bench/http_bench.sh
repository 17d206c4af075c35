#!/usr/bin/env bash
# HTTP benchmark: louped's GET /healthz and GET /api/v1/me against a bare
# libmicrohttpd server (bench/bare_mhd.c) with the same thread settings, all
# measured in this run with wrk over keep-alive connections.
#
#   bench/http_bench.sh [BUILD_DIR]     (default build/dev)
# Environment: BENCH_SECONDS (10), BENCH_CONNECTIONS (32), BENCH_THREADS (2 server threads).
# Prints req/s of each and the ratios; the goal is healthz >= 0.8x the bare server.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build/dev}
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
command -v wrk >/dev/null || { echo "http_bench: wrk is not installed (apt-get install wrk)" >&2; exit 77; }

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "$root/scripts/services.sh" stop "$work/services" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "http_bench: $1 did not answer" >&2; return 1; }
rps() { wrk -t1 -c"$conns" -d"${secs}s" "$@" | awk '/Requests\/sec/ {print $2}'; }

"$root/scripts/services.sh" start "$work/services" --fast >/dev/null
# shellcheck disable=SC1091
. "$work/services/services.env"
psql "$SERVICES_PG_URL" -qc "CREATE DATABASE bench"
db_url=${SERVICES_PG_URL%/*}/bench

export LOUPE_DB_URL=$db_url LOUPE_AMQP_URL=$SERVICES_AMQP_URL LOUPE_STORAGE_DIR=$work/storage LOUPE_ACCESS_LOG=false \
       LOUPE_HTTP_THREADS=$threads LOUPE_LOG_LEVEL=warn
key=$("$build/src/app/louped" admin bootstrap --team bench --email bench@loupe.local | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
lport=$(free_port); bport=$(free_port)
LOUPE_HTTP_PORT=$lport "$build/src/app/louped" serve 2>"$work/louped.log" & pids+=($!)
"$build/bench/bare_mhd" "$bport" "$threads" & pids+=($!)
wait_http "http://127.0.0.1:$lport/healthz"
wait_http "http://127.0.0.1:$bport/healthz"

bare=$(rps "http://127.0.0.1:$bport/healthz")
health=$(rps "http://127.0.0.1:$lport/healthz")
me=$(rps -H "Authorization: ApiKey $key" "http://127.0.0.1:$lport/api/v1/me")
python3 - "$bare" "$health" "$me" "$threads" "$conns" "$secs" <<'PY'
import sys
bare, health, me = (float(x) for x in sys.argv[1:4])
print(f"HTTP keep-alive, {sys.argv[4]} server threads, {sys.argv[5]} connections, {sys.argv[6]} s each (wrk)")
print(f"  bare libmicrohttpd   GET /healthz    {bare:10.0f} req/s   1.00x")
print(f"  louped               GET /healthz    {health:10.0f} req/s   {health/bare:.2f}x   (goal >= 0.80x)")
print(f"  louped               GET /api/v1/me  {me:10.0f} req/s   {me/bare:.2f}x   (API key lookup in PostgreSQL)")
PY
