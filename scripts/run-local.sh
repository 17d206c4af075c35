#!/usr/bin/env bash
# run-local.sh — a complete Loupe on this machine, for trying it out and for development
# (`make run`). Everything lives under ./var and survives restarts:
#
#   var/pg, var/rabbitmq          PostgreSQL 15 and RabbitMQ (scripts/services.sh), loopback only
#   var/storage                   uploaded files and derived media
#   var/demo-credentials.json     the demo team's URL, API key, email and password
#
# Steps: install missing Debian packages, build, start PostgreSQL and RabbitMQ, create the
# database `loupe`, apply migrations, create the demo team on first run, then run louped and
# one loupe-worker in the foreground. A worker that dies is restarted with back-off and the
# restart is said (scripts/supervise.sh); if louped dies, everything stops. Ctrl-C (or SIGTERM)
# stops everything this script started.
#
# Environment: LOUPE_PG_PORT (default 55432), LOUPE_AMQP_PORT (56720; RabbitMQ also uses the
# next two ports), LOUPE_HTTP_PORT (8470). Other LOUPE_<SETTING> variables reach louped and the
# worker unchanged (see docs/CONFIG.md). LOUPE_SKIP_DEPS=1 skips the package check,
# LOUPE_SKIP_BUILD=1 the build; LOUPE_BUILD_DIR runs binaries from another build directory;
# LOUPE_RUN_DIR keeps everything in another directory than ./var.
set -euo pipefail
# The braces make bash read the whole script before running it, so editing or updating the
# file while it runs cannot change what runs.
{

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT"

PG_PORT=${LOUPE_PG_PORT:-55432}
AMQP_PORT=${LOUPE_AMQP_PORT:-56720}
HTTP_PORT=${LOUPE_HTTP_PORT:-8470}
VAR=${LOUPE_RUN_DIR:-$ROOT/var}
CREDS=$VAR/demo-credentials.json
BUILD=${LOUPE_BUILD_DIR:-$ROOT/build/dev}
LOUPED=$BUILD/src/app/louped
WORKER=$BUILD/src/worker/loupe-worker
SERVICES=$ROOT/scripts/services.sh

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'run-local.sh: %s\n' "$*" >&2; exit 1; }

for v in PG_PORT AMQP_PORT HTTP_PORT; do
    [[ "${!v}" =~ ^[0-9]+$ ]] && (( ${!v} > 0 && ${!v} < 65536 )) || die "LOUPE_$v must be a port number, got '${!v}'"
done
(( AMQP_PORT <= 65533 )) || die "LOUPE_AMQP_PORT must be at most 65533 (RabbitMQ uses the next two ports)"

# --- 1. packages and build ---------------------------------------------------------------------
if [[ "${LOUPE_SKIP_DEPS:-0}" != 1 ]]; then
    say "checking Debian packages"
    scripts/deps.sh install
fi
if [[ "${LOUPE_SKIP_BUILD:-0}" != 1 ]]; then
    say "building"
    LOUPE_SKIP_DEPS=1 make --no-print-directory build  # packages were checked above
fi
[[ -x "$LOUPED" ]] || die "$LOUPED was not built"
[[ -x "$WORKER" ]] || die "$WORKER was not built"

# --- 2. services -------------------------------------------------------------------------------
STARTED_SERVICES=0
DAEMON_PID=""
WORKER_PID=""

stop_all() {
    trap - EXIT INT TERM
    local pid
    for pid in $WORKER_PID $DAEMON_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $WORKER_PID $DAEMON_PID; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ $STARTED_SERVICES == 1 ]]; then
        say "stopping RabbitMQ and PostgreSQL"
        "$SERVICES" stop "$VAR" || true
    fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$VAR/storage"
if "$SERVICES" status "$VAR" >/dev/null 2>&1; then
    say "PostgreSQL and RabbitMQ already running under var/ (left running on exit)"
    # shellcheck disable=SC1091
    source "$VAR/services.env"
    [[ "$SERVICES_PG_PORT" == "$PG_PORT" && "$SERVICES_AMQP_PORT" == "$AMQP_PORT" ]] \
        || die "they use ports $SERVICES_PG_PORT/$SERVICES_AMQP_PORT, not $PG_PORT/$AMQP_PORT; stop them first: scripts/services.sh stop var"
else
    say "starting PostgreSQL (port $PG_PORT) and RabbitMQ (port $AMQP_PORT) under var/"
    STARTED_SERVICES=1
    "$SERVICES" start "$VAR" --pg-port "$PG_PORT" --amqp-port "$AMQP_PORT" >/dev/null
fi

psql_admin() { "$SERVICES" psql "$VAR" -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

created_db=0
if [[ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'loupe'")" ]]; then
    say "creating database loupe"
    psql_admin -c 'CREATE DATABASE loupe'
    created_db=1
fi

# --- 3. settings, migrations, demo team --------------------------------------------------------
export LOUPE_DB_URL="postgresql://postgres@127.0.0.1:$PG_PORT/loupe"
export LOUPE_AMQP_URL="amqp://guest:guest@127.0.0.1:$AMQP_PORT"
export LOUPE_HTTP_PORT=$HTTP_PORT
export LOUPE_STORAGE_DIR=${LOUPE_STORAGE_DIR:-$VAR/storage}
export LOUPE_WEB_DIR=${LOUPE_WEB_DIR:-$ROOT/web/dist}
# Only settings may be LOUPE_* in the daemon's environment.
unset LOUPE_PG_PORT LOUPE_AMQP_PORT LOUPE_SKIP_DEPS LOUPE_SKIP_BUILD LOUPE_BUILD_DIR LOUPE_RUN_DIR

bind=${LOUPE_HTTP_BIND:-127.0.0.1}
case "$bind" in
    0.0.0.0|::|"[::]") host=localhost ;;
    *:*) host="[$bind]" ;;
    *) host=$bind ;;
esac
URL="http://$host:$HTTP_PORT/"

say "applying migrations"
"$LOUPED" migrate

if [[ $created_db == 1 || ! -s "$CREDS" ]]; then
    say "creating the demo team"
    password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(15))')
    if ! out=$(printf '%s\n' "$password" | "$LOUPED" admin bootstrap --team demo --email demo@loupe.local --password-stdin); then
        die "admin bootstrap failed; if the demo team exists but $CREDS is lost, remove var/ (all local data) and run again"
    fi
    python3 - "$CREDS" "$URL" "$password" "$out" <<'PY'
import json, os, sys
path, url, password, out = sys.argv[1:5]
boot = json.loads([l for l in out.splitlines() if l.strip()][-1])
doc = {"url": url, "api_key": boot["api_key"], "team_id": boot["team_id"],
       "email": "demo@loupe.local", "password": password}
fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
os.replace(path + ".tmp", path)
PY
else
    # The URL follows the current port and bind address.
    python3 - "$CREDS" "$URL" <<'PY'
import json, sys
path, url = sys.argv[1:3]
with open(path) as f:
    doc = json.load(f)
if doc.get("url") != url:
    doc["url"] = url
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
PY
fi

# --- 4. run ------------------------------------------------------------------------------------
say "starting louped on $URL and one loupe-worker"
"$LOUPED" serve &
DAEMON_PID=$!
"$ROOT/scripts/supervise.sh" loupe-worker "$WORKER" &
WORKER_PID=$!

python3 - "$HTTP_PORT" "$DAEMON_PID" <<'PY' || die "louped did not become healthy"
import os, sys, time, urllib.request
port, pid = int(sys.argv[1]), int(sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        if opener.open("http://127.0.0.1:%d/healthz" % port, timeout=2).status == 200:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(1)
PY

python3 - "$CREDS" <<'PY' >&2
import json, sys
c = json.load(open(sys.argv[1]))
print()
print("  Loupe is running.")
print("  Web UI and API:  %s   (REST API under %sapi/v1)" % (c["url"], c["url"]))
print("  Demo login:      %s / %s" % (c["email"], c["password"]))
print("  Demo API key:    %s   (header  Authorization: ApiKey <key>)" % c["api_key"])
print("  Credentials:     var/demo-credentials.json")
print("  Stop with Ctrl-C.")
print()
PY

# The worker's supervisor restarts a worker that dies; wait until louped (or the supervisor)
# ends, or a signal arrives, then stop everything.
set +e
wait -n "$DAEMON_PID" "$WORKER_PID"
status=$?
set -e
if kill -0 "$DAEMON_PID" 2>/dev/null; then
    say "the loupe-worker supervisor exited with status $status; stopping"
else
    say "louped exited with status $status; stopping"
fi
exit "$status"
}
