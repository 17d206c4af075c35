#!/bin/sh
# Runs a test program against a throwaway PostgreSQL server listening on a
# Unix socket in a temporary directory (no TCP port), then removes it.
#   with_postgres.sh PROGRAM [ARGS...]
# The program finds the server through LOUPE_TEST_PG_HOST (socket directory)
# and LOUPE_TEST_PG_PORT. Skips (tests/skip.sh) when PostgreSQL is not installed.
set -eu
BIN=${LOUPE_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  exec "$(dirname "$0")/../../skip.sh" "PostgreSQL server binaries not found (apt-get install postgresql, or set LOUPE_PG_BIN)"
fi
D=$(mktemp -d)
RUN=""
if [ "$(id -u)" = 0 ]; then
  chown postgres:postgres "$D"
  RUN="runuser -u postgres --"
fi
cleanup() {
  $RUN "$BIN/pg_ctl" -D "$D/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$D"
}
trap cleanup EXIT INT TERM
$RUN "$BIN/initdb" -D "$D/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$D/initdb.log" 2>&1 ||
  { cat "$D/initdb.log" >&2; exit 1; }
$RUN "$BIN/pg_ctl" -D "$D/data" -l "$D/server.log" -w -t 60 start \
  -o "-k $D -c listen_addresses= -p 5432 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null ||
  { cat "$D/server.log" >&2; exit 1; }
LOUPE_TEST_PG_HOST=$D LOUPE_TEST_PG_PORT=5432 "$@"
