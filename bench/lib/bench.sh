# bench/lib/bench.sh — set-up shared by the benchmarks; source it after `set -euo pipefail`.
#
#   bench_init NAME          $root (source tree), $work (temporary, removed at exit), $pids
#                            (killed at exit), and a message prefix for bench_die
#   bench_services [OPTS…]   a throwaway PostgreSQL + RabbitMQ (scripts/services.sh --fast; OPTS
#                            go to `services.sh start`, e.g. --amqp-nodes 3), a database
#                            "bench" ($db_url), and the LOUPE_* settings every benchmark runs
#                            louped and loupe-worker with (amqp_url lists every broker node;
#                            api_rate_per_key off)
#   bench_api METHOD PATH [JSON]   curl of $base with the API key $key; prints the body
#   bench_jget KEY           reads JSON on stdin, prints member KEY
#   bench_start BINARY ARGS… a background process whose stderr goes to $work/<name>.log
#   bench_wait_http URL      waits until URL answers 2xx
#   bench_free_port          a free loopback TCP port
#   bench_die MESSAGE        prints and exits 77 (skip)

bench_init() {
    BENCH_NAME=$1
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    work=$(mktemp -d)
    chmod 755 "$work" # the postgres user must reach the cluster directory
    pids=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "$root/scripts/services.sh" stop "$work/services" >/dev/null 2>&1 || true
    rm -rf "$work"
}

bench_die() {
    echo "$BENCH_NAME: $*" >&2
    exit 77
}

bench_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_wait_http() {
    local _
    for _ in $(seq 300); do
        curl -fs "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "$BENCH_NAME: $1 did not answer" >&2
    return 1
}

bench_services() {
    "$root/scripts/services.sh" start "$work/services" --fast "$@" >/dev/null
    # shellcheck disable=SC1091
    . "$work/services/services.env"
    psql "$SERVICES_PG_URL" -qc "CREATE DATABASE bench"
    db_url=${SERVICES_PG_URL%/*}/bench
    # (no per-key request limit: a benchmark drives one API key far past any person's rate)
    export LOUPE_DB_URL=$db_url LOUPE_AMQP_URL=$SERVICES_AMQP_URLS LOUPE_STORAGE_DIR=$work/storage \
        LOUPE_ACCESS_LOG=false LOUPE_LOG_LEVEL=warn LOUPE_API_RATE_PER_KEY=0
}

bench_start() {
    local name
    name=$(basename "$1")
    "$@" 2>>"$work/$name.log" &
    pids+=($!)
}

bench_api() {
    curl -fsS -X "$1" -H "Authorization: ApiKey $key" -H "Content-Type: application/json" ${3:+--data "$3"} "$base$2"
}

bench_jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
