#!/bin/sh
# Runs a test program against a throwaway RabbitMQ (and PostgreSQL) started by
# scripts/services.sh in a temporary directory, then stops and removes them.
#   with_rabbitmq.sh PROGRAM [ARGS...]
# The program finds the broker through LOUPE_TEST_AMQP_URL and the database
# server through LOUPE_TEST_PG_URL. Skips (tests/skip.sh) when the servers are not installed.
set -eu
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
SERVICES="$ROOT/scripts/services.sh"
D=$(mktemp -d)
cleanup() {
  "$SERVICES" stop "$D" >/dev/null 2>&1 || true
  rm -rf "$D"
}
trap cleanup EXIT INT TERM
rc=0
"$SERVICES" start "$D" --fast >"$D/start.log" 2>&1 || rc=$?
if [ "$rc" = 77 ]; then
  cat "$D/start.log" >&2
  "$ROOT/tests/skip.sh" "$(tail -n 1 "$D/start.log")" || exit $?
elif [ "$rc" != 0 ]; then
  cat "$D/start.log" >&2
  exit 1
fi
. "$D/services.env"
LOUPE_TEST_AMQP_URL=$SERVICES_AMQP_URL LOUPE_TEST_PG_URL=$SERVICES_PG_URL "$@"
