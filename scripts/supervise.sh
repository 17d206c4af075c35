#!/usr/bin/env bash
# supervise.sh — keeps one command running, as a service manager would (make run uses it for
# loupe-worker; systemd does the same job in production with Restart=on-failure).
#
#   usage: supervise.sh NAME COMMAND [ARG...]
#
# When COMMAND exits for any reason, it is started again after a back-off, and the restart is
# said on stderr ("NAME exited with status S; restarting in Ns (restart #K)"). The back-off
# starts at SUPERVISE_BACKOFF_MIN seconds (default 1), doubles at each restart up to
# SUPERVISE_BACKOFF_MAX (30), and starts over once COMMAND has stayed up SUPERVISE_RESET_AFTER
# seconds (60). SIGTERM or SIGINT stops COMMAND (SIGTERM, then waits for it) and the supervisor.
set -uo pipefail

[[ $# -ge 2 ]] || { echo "usage: supervise.sh NAME COMMAND [ARG...]" >&2; exit 2; }
name=$1
shift
min=${SUPERVISE_BACKOFF_MIN:-1}
max=${SUPERVISE_BACKOFF_MAX:-30}
reset_after=${SUPERVISE_RESET_AFTER:-60}
for v in min max reset_after; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "supervise.sh: $v must be a whole number of seconds" >&2; exit 2; }
done

child=""
stopping=0
stop() {
    stopping=1
    if [[ -n "$child" ]]; then
        kill -TERM "$child" 2>/dev/null
        wait "$child" 2>/dev/null
    fi
    exit 0
}
trap stop TERM INT

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

backoff=$min
restarts=0
while :; do
    started=$SECONDS
    "$@" &
    child=$!
    wait "$child"
    status=$?
    child=""
    [[ $stopping == 1 ]] && exit 0
    if (( SECONDS - started >= reset_after )); then
        backoff=$min
    fi
    restarts=$((restarts + 1))
    say "$name exited with status $status; restarting in ${backoff}s (restart #$restarts)"
    sleep "$backoff" &
    wait $!
    backoff=$((backoff * 2))
    (( backoff > max )) && backoff=$max
    (( backoff < 1 )) && backoff=1
done
