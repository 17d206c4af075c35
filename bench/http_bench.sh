#!/usr/bin/env bash
# HTTP benchmark: louped's GET /healthz and GET /api/v1/me against a bare
# libmicrohttpd server (bench/bare_mhd.c) with the same thread settings, all
# measured in this run with wrk over keep-alive connections.
#
#   bench/http_bench.sh [BUILD_DIR]     (default build/dev)
# Environment: BENCH_SECONDS (10), BENCH_CONNECTIONS (32), BENCH_THREADS (2 server threads).
# Prints req/s of each and the ratios; the goals are healthz >= 0.8x and /api/v1/me
# (authenticated by API key, answered from the credential cache) >= 0.5x the bare server.
set -euo pipefail
. "$(dirname "$0")/lib/bench.sh"
bench_init http_bench
build=${1:-$root/build/dev}
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
command -v wrk >/dev/null || bench_die "wrk is not installed (apt-get install wrk)"
rps() { wrk -t1 -c"$conns" -d"${secs}s" "$@" | awk '/Requests\/sec/ {print $2}'; }

bench_services
export LOUPE_HTTP_THREADS=$threads
key=$("$build/src/app/louped" admin bootstrap --team bench --email bench@loupe.local | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
lport=$(bench_free_port); bport=$(bench_free_port)
LOUPE_HTTP_PORT=$lport bench_start "$build/src/app/louped" serve
bench_start "$build/bench/bare_mhd" "$bport" "$threads"
bench_wait_http "http://127.0.0.1:$lport/healthz"
bench_wait_http "http://127.0.0.1:$bport/healthz"

bare=$(rps "http://127.0.0.1:$bport/healthz")
health=$(rps "http://127.0.0.1:$lport/healthz")
me=$(rps -H "Authorization: ApiKey $key" "http://127.0.0.1:$lport/api/v1/me")
python3 - "$bare" "$health" "$me" "$threads" "$conns" "$secs" <<'PY'
import sys
bare, health, me = (float(x) for x in sys.argv[1:4])
print(f"HTTP keep-alive, {sys.argv[4]} server threads, {sys.argv[5]} connections, {sys.argv[6]} s each (wrk)")
print(f"  bare libmicrohttpd   GET /healthz    {bare:10.0f} req/s   1.00x")
print(f"  louped               GET /healthz    {health:10.0f} req/s   {health/bare:.2f}x   (goal >= 0.80x)")
print(f"  louped               GET /api/v1/me  {me:10.0f} req/s   {me/bare:.2f}x   (goal >= 0.50x; API key from the credential cache)")
PY
