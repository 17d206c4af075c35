#!/usr/bin/env bash
# services.sh — a private PostgreSQL 15 cluster and a private RabbitMQ node (or a RabbitMQ
# cluster of several nodes), all kept in one directory and listening on loopback only. Used by
# `make run` (persistent, under ./var), by the integration tests (throwaway, --fast) and by the
# cluster tests (--amqp-nodes 3).
#
#   services.sh start DIR [--pg-port P] [--amqp-port P] [--amqp-nodes N] [--fast]
#   services.sh stop DIR
#   services.sh pg-start DIR | pg-stop DIR
#   services.sh amqp-start DIR [--node K] | amqp-stop DIR [--node K]   (K: 1..N; default all)
#   services.sh status DIR
#   services.sh psql DIR [psql arguments…]      psql connected to the cluster as postgres
#   services.sh rabbitmqctl DIR [--node K] [arguments…]   rabbitmqctl talking to a private node
#
# --amqp-nodes N (1 to 5, default 1) starts N RabbitMQ nodes that form one cluster: node 1 is
# loupe@localhost in DIR/rabbitmq on port P, node K is loupeK@localhost in DIR/rabbitmqK on port
# P+3(K-1); they share one Erlang cookie and one private epmd (P+1), and nodes 2..N join node 1
# (join_cluster) at their first start. A node stopped or killed alone rejoins when started again.
#
# start writes DIR/services.env (shell, sourceable) and DIR/services.json (for programs) with
# the ports, pg_url, amqp_url (node 1; SERVICES_AMQP_URLS and amqp_nodes list every node) and the
# rabbitmqctl command line. Ports not given are picked at
# random among free ports below the kernel's ephemeral range; a later start of the same DIR
# reuses the recorded ports. pg-start/amqp-start restart one server on its recorded port (tests
# use them to take the database or the broker away and bring it back).
#
# --fast marks a throwaway cluster: whatever DIR held before is wiped, and PostgreSQL runs with
# fsync=off, synchronous_commit=off and full_page_writes=off. Never use it for data you keep.
#
# PostgreSQL refuses to run as root; when started by root it runs as the `postgres` user.
# RabbitMQ runs with every path in DIR/rabbitmq and its own epmd on a private port, so that
# several brokers coexist and `stop` leaves no process behind (it checks, and kills leftovers).
#
# Exit codes: 0 ok, 1 failure, 2 usage error, 77 PostgreSQL or RabbitMQ is not installed.
set -euo pipefail
# The braces make bash read the whole script before running it, so editing or updating the
# file while it runs cannot change what runs.
{

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
RABBITMQ_BIN=${RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}
NODE_NAME=loupe@localhost   # the selected node's (node_select)

die() { echo "services.sh: $*" >&2; exit 1; }
note() { echo "services.sh: $*" >&2; }

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
    exit 2
}

# ---------------------------------------------------------------------------------------------
# State

DIR=""           # absolute path of the services directory
FAST=0
PG_PORT=""
AMQP_PORT=""     # node 1's AMQP port; node K listens on AMQP_PORT + 3(K-1)
AMQP_NODES=1
NODE=0           # the selected RabbitMQ node, 0-based (node_select)
NODE_PORT=""     # its AMQP port
RMQ_DIR=""       # its directory
PG_ROOT=""       # directory holding PostgreSQL's data/ and server.log (normally DIR/pg)
STATE_FILE=""

# set_dir DIR [create]
set_dir() {
    [[ -n "${1:-}" ]] || usage
    [[ "$1" != *[[:space:]]* ]] || die "directory '$1' contains whitespace; RabbitMQ cannot use it"
    if [[ "${2:-}" == create ]]; then mkdir -p "$1" || die "cannot create directory '$1'"; fi
    [[ -d "$1" ]] || die "no such directory: $1"
    DIR=$(cd "$1" && pwd -P)
    STATE_FILE=$DIR/services.env
}

load_state() {
    if [[ -f "$STATE_FILE" ]]; then
        # shellcheck disable=SC1090
        source "$STATE_FILE"
        FAST=${SERVICES_FAST:-0}
        PG_PORT=${SERVICES_PG_PORT:-}
        AMQP_PORT=${SERVICES_AMQP_PORT:-}
        AMQP_NODES=${SERVICES_AMQP_NODES:-1}
        PG_ROOT=${SERVICES_PG_ROOT:-}
        return 0
    fi
    return 1
}

require_state() {
    load_state || die "no services recorded in $DIR (run: services.sh start $DIR)"
    set_rabbitmq_env
}

# Selects RabbitMQ node $1 (0-based; default the first) for the functions below.
node_select() {
    NODE=${1:-0}
    if ((NODE == 0)); then
        NODE_NAME=loupe@localhost
        RMQ_DIR=$DIR/rabbitmq
    else
        NODE_NAME=loupe$((NODE + 1))@localhost
        RMQ_DIR=$DIR/rabbitmq$((NODE + 1))
    fi
    NODE_PORT=$((AMQP_PORT + 3 * NODE))
    set_rabbitmq_env
}

# The environment under which rabbitmq-server and rabbitmqctl see only the selected node's
# directory.
RMQ_ENV=()
set_rabbitmq_env() {
    local r=$RMQ_DIR
    [[ -n "$r" ]] || { node_select 0; return; }
    RMQ_ENV=(
        "HOME=$r"
        "RABBITMQ_CONF_ENV_FILE=$r/rabbitmq-env.conf"
        "RABBITMQ_CONFIG_FILE=$r/rabbitmq"
        "RABBITMQ_ADVANCED_CONFIG_FILE=$r/advanced.config"
        "RABBITMQ_ENABLED_PLUGINS_FILE=$r/enabled_plugins"
        "RABBITMQ_MNESIA_BASE=$r/mnesia"
        "RABBITMQ_MNESIA_DIR=$r/mnesia/$NODE_NAME"
        "RABBITMQ_LOG_BASE=$r/log"
        "RABBITMQ_PID_FILE=$r/rabbit.pid"
        "RABBITMQ_NODENAME=$NODE_NAME"
        "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
        "RABBITMQ_NODE_PORT=$NODE_PORT"
        "RABBITMQ_DIST_PORT=$((NODE_PORT + 2))"
        "ERL_EPMD_ADDRESS=127.0.0.1"
        "ERL_EPMD_PORT=$((AMQP_PORT + 1))"
        "ERL_CRASH_DUMP=$r/erl_crash.dump"
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
    )
}

rabbitmqctl_cmd() { env "${RMQ_ENV[@]}" "$RABBITMQ_BIN/rabbitmqctl" -n "$NODE_NAME" "$@"; }

write_state() {
    local tmp=$STATE_FILE.tmp
    {
        echo "# Written by scripts/services.sh — do not edit. Source it to reach the services."
        printf 'SERVICES_DIR=%q\n' "$DIR"
        printf 'SERVICES_FAST=%q\n' "$FAST"
        printf 'SERVICES_PG_ROOT=%q\n' "$PG_ROOT"
        printf 'SERVICES_PG_PORT=%q\n' "$PG_PORT"
        printf 'SERVICES_PG_URL=%q\n' "postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
        printf 'SERVICES_PSQL=%q\n' "$PG_BIN/psql -X -h 127.0.0.1 -p $PG_PORT -U postgres"
        printf 'SERVICES_AMQP_PORT=%q\n' "$AMQP_PORT"
        printf 'SERVICES_AMQP_NODES=%q\n' "$AMQP_NODES"
        local i urls=""
        for ((i = 0; i < AMQP_NODES; i++)); do
            urls+="${urls:+,}amqp://guest:guest@127.0.0.1:$((AMQP_PORT + 3 * i))"
        done
        printf 'SERVICES_AMQP_URLS=%q\n' "$urls"
        printf 'SERVICES_AMQP_URL=%q\n' "amqp://guest:guest@127.0.0.1:$AMQP_PORT"
        printf 'SERVICES_EPMD_PORT=%q\n' "$((AMQP_PORT + 1))"
        printf 'SERVICES_DIST_PORT=%q\n' "$((AMQP_PORT + 2))"
        printf 'SERVICES_RABBITMQ_NODE=%q\n' "$NODE_NAME"
        printf 'SERVICES_RABBITMQCTL=%q\n' "env ${RMQ_ENV[*]// /\\ } $RABBITMQ_BIN/rabbitmqctl -n $NODE_NAME"
    } > "$tmp"
    mv -f "$tmp" "$STATE_FILE"

    # Every node: "--node NAME PORT DIR" then its rabbitmqctl environment.
    local nodes=() i
    for ((i = 0; i < AMQP_NODES; i++)); do
        node_select "$i"
        nodes+=(--node "$NODE_NAME" "$NODE_PORT" "$RMQ_DIR" "${RMQ_ENV[@]}")
    done
    node_select 0
    python3 - "$DIR/services.json" "$DIR" "$FAST" "$PG_ROOT" "$PG_PORT" "$PG_BIN" \
        "$AMQP_PORT" "$NODE_NAME" "$RABBITMQ_BIN" "${nodes[@]}" <<'PY'
import json, os, sys
(out, d, fast, pg_root, pg_port, pg_bin, amqp_port, node, rmq_bin), rest = sys.argv[1:10], sys.argv[10:]
pg_port, amqp_port = int(pg_port), int(amqp_port)
groups = []
for a in rest:
    if a == "--node":
        groups.append([])
    else:
        groups[-1].append(a)
nodes = []
for name, port, ndir, *env in groups:
    port = int(port)
    nodes.append({
        "name": name,
        "port": port,
        "dist_port": port + 2,
        "dir": ndir,
        "pid_file": os.path.join(ndir, "rabbit.pid"),
        "log_dir": os.path.join(ndir, "log"),
        "url": "amqp://guest:guest@127.0.0.1:%d" % port,
        "rabbitmqctl": [os.path.join(rmq_bin, "rabbitmqctl"), "-n", name],
        "rabbitmqctl_env": dict(e.split("=", 1) for e in env),
    })
env = nodes[0]["rabbitmqctl_env"]
doc = {
    "dir": d,
    "fast": fast == "1",
    "pg_port": pg_port,
    "pg_url": "postgresql://postgres@127.0.0.1:%d/postgres" % pg_port,
    "pg_data": os.path.join(pg_root, "data"),
    "pg_log": os.path.join(pg_root, "server.log"),
    "psql": [os.path.join(pg_bin, "psql"), "-X", "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres"],
    "amqp_port": amqp_port,
    "amqp_url": "amqp://guest:guest@127.0.0.1:%d" % amqp_port,
    "epmd_port": amqp_port + 1,
    "dist_port": amqp_port + 2,
    "rabbitmq_node": node,
    "rabbitmq_log_dir": os.path.join(d, "rabbitmq", "log"),
    "rabbitmqctl": [os.path.join(rmq_bin, "rabbitmqctl"), "-n", node],
    "rabbitmqctl_env": env,
    "amqp_nodes": nodes,
    "services_sh": os.environ.get("SERVICES_SH"),
}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
os.replace(tmp, out)
PY
}

# ---------------------------------------------------------------------------------------------
# Ports

# Prints the first of COUNT consecutive ports that are free on 127.0.0.1, chosen at random below
# the kernel's ephemeral range (so that outgoing connections never take them meanwhile).
pick_ports() {
    python3 - "$1" <<'PY'
import random, socket, sys
count = int(sys.argv[1])
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        eph_low = int(f.read().split()[0])
except OSError:
    eph_low = 32768
low, high = 20000, max(21000, min(eph_low, 65536)) - count
for _ in range(500):
    base = random.randrange(low, high)
    socks = []
    try:
        for port in range(base, base + count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit("no free ports found")
PY
}

port_free() {
    python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
# Servers listen with SO_REUSEADDR: connections in TIME_WAIT do not block them, listeners do.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

check_port_arg() {
    [[ "$2" =~ ^[0-9]+$ ]] && (( $2 >= 1024 && $2 <= $3 )) \
        || die "$1 must be a port number between 1024 and $3, got '$2'"
}

# ---------------------------------------------------------------------------------------------
# Processes

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# PIDs of server processes (PostgreSQL, Erlang) whose command line mentions the path $1.
pids_mentioning() {
    local p cmd comm
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
        case "$comm" in
            postgres|postmaster|beam.smp|erl_child_setup|inet_gethost|epmd|erl|heart) ;;
            *) continue ;;
        esac
        cmd=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null) || continue
        [[ "$cmd" == *"$1/"* || "$cmd" == *"$1 "* ]] && echo "$p"
    done
    return 0
}

# PID of the process listening on 127.0.0.1:$1 (needs ss; empty when none).
pid_listening() {
    command -v ss >/dev/null || return 0
    ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1
}

# Sends TERM, waits up to $1 seconds, then KILL. Remaining arguments are PIDs.
terminate() {
    local wait=$1 p i; shift
    [[ $# -gt 0 ]] || return 0
    kill -TERM "$@" 2>/dev/null || true
    for ((i = 0; i < wait * 10; i++)); do
        local alive=0
        for p in "$@"; do pid_alive "$p" && alive=1; done
        [[ $alive == 1 ]] || return 0
        sleep 0.1
    done
    kill -KILL "$@" 2>/dev/null || true
    sleep 0.2
}

# Runs a PostgreSQL program as the postgres user when we are root.
as_pg() {
    if [[ $(id -u) == 0 ]]; then
        (cd "$PG_ROOT" && runuser -u postgres -- "$@")
    else
        (cd "$PG_ROOT" && "$@")
    fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

pg_running() { [[ -d "$PG_ROOT/data" ]] && as_pg "$PG_BIN/pg_ctl" -D "$PG_ROOT/data" status >/dev/null 2>&1; }

pg_postmaster_pid() { [[ -f "$PG_ROOT/data/postmaster.pid" ]] && head -n1 "$PG_ROOT/data/postmaster.pid" || true; }

# Chooses where the cluster lives: DIR/pg, or — for a throwaway cluster that the postgres user
# cannot reach because a parent of DIR is private (e.g. under /root) — a temporary directory.
pg_choose_root() {
    PG_ROOT=$DIR/pg
    mkdir -p "$PG_ROOT"
    if [[ $(id -u) == 0 ]]; then
        chown postgres:postgres "$PG_ROOT"
        if ! runuser -u postgres -- test -w "$PG_ROOT"; then
            if [[ $FAST == 1 ]]; then
                rmdir "$PG_ROOT"
                PG_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/loupe-pg.XXXXXX")
                chmod 755 "$PG_ROOT"
                chown postgres:postgres "$PG_ROOT"
                note "user postgres cannot reach $DIR; the throwaway cluster lives in $PG_ROOT"
            else
                # A cluster that must outlive this run: keep it in a system directory that the
                # postgres user can reach, named after DIR so each checkout keeps its own.
                rmdir "$PG_ROOT"
                PG_ROOT=/var/lib/loupe/clusters/$(printf '%s' "$DIR" | sha256sum | cut -c1-16)
                mkdir -p "$PG_ROOT"
                chmod 755 /var/lib/loupe /var/lib/loupe/clusters
                chown postgres:postgres "$PG_ROOT"
                note "user postgres cannot reach $DIR; the cluster lives in $PG_ROOT"
            fi
        fi
    fi
}

pg_init() {
    [[ -f "$PG_ROOT/data/PG_VERSION" ]] && return 0
    note "initializing PostgreSQL cluster in $PG_ROOT/data"
    as_pg "$PG_BIN/initdb" -D "$PG_ROOT/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        --no-sync > "$PG_ROOT/initdb.log" 2>&1 || { cat "$PG_ROOT/initdb.log" >&2; die "initdb failed"; }
    echo "include_if_exists = 'loupe-services.conf'" >> "$PG_ROOT/data/postgresql.conf"
}

pg_write_conf() {
    local f=$PG_ROOT/data/loupe-services.conf
    {
        echo "# Written by scripts/services.sh at every start."
        echo "port = $PG_PORT"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = ''"
        echo "max_connections = 300"
        if [[ $FAST == 1 ]]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } > "$f"
    [[ $(id -u) == 0 ]] && chown postgres:postgres "$f"
    return 0
}

pg_start() {
    if pg_running; then
        note "PostgreSQL already running on port $PG_PORT"
        return 0
    fi
    port_free "$PG_PORT" || die "port $PG_PORT (PostgreSQL) is in use by another process"
    pg_write_conf
    local log=$PG_ROOT/server.log
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_ROOT/data" -l "$log" -w -t 60 start >/dev/null; then
        tail -n 20 "$log" >&2 || true
        die "PostgreSQL failed to start (log: $log)"
    fi
    note "PostgreSQL listening on 127.0.0.1:$PG_PORT"
}

pg_stop() {
    [[ -n "$PG_ROOT" && -d "$PG_ROOT/data" ]] || return 0
    local pid
    pid=$(pg_postmaster_pid)
    if pg_running; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_ROOT/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
            || as_pg "$PG_BIN/pg_ctl" -D "$PG_ROOT/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
    fi
    if pid_alive "$pid"; then terminate 5 "$pid"; fi
    # shellcheck disable=SC2046
    terminate 5 $(pids_mentioning "$PG_ROOT/data")
    note "PostgreSQL stopped"
}

# ---------------------------------------------------------------------------------------------
# RabbitMQ

# The functions below act on the node that node_select chose.

amqp_pid() { [[ -f "$RMQ_DIR/rabbit.pid" ]] && tr -dc '0-9' < "$RMQ_DIR/rabbit.pid" || true; }

amqp_running() { pid_alive "$(amqp_pid)"; }

epmd_port() { echo $((AMQP_PORT + 1)); }

amqp_write_conf() {
    local r=$RMQ_DIR
    mkdir -p "$r/log" "$r/mnesia"
    : > "$r/rabbitmq-env.conf"
    echo '[].' > "$r/enabled_plugins"
    printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\nlog.console = false\n' \
        "$NODE_PORT" > "$r/rabbitmq.conf"
    if ((NODE > 0)); then
        # At its first boot a node finds node 1 and joins it (peer discovery); later boots
        # find the cluster in their own database.
        printf '%s\n' "cluster_formation.peer_discovery_backend = classic_config" \
            "cluster_formation.classic_config.nodes.1 = loupe@localhost" \
            "cluster_formation.randomized_startup_delay_range.min = 0" \
            "cluster_formation.randomized_startup_delay_range.max = 1" >> "$r/rabbitmq.conf"
    fi
    if ((AMQP_NODES > 1)); then
        # The nodes of a cluster (and rabbitmqctl, which reads the cookie from HOME) share one
        # Erlang cookie: node 1's, made here before its first start.
        local first=$DIR/rabbitmq/.erlang.cookie
        if [[ ! -s "$first" ]]; then
            mkdir -p "$DIR/rabbitmq"
            (umask 077 && head -c 32 /dev/urandom | sha256sum | cut -c1-32 > "$first")
        fi
        if [[ "$r/.erlang.cookie" != "$first" ]]; then
            rm -f "$r/.erlang.cookie"
            (umask 077 && cp "$first" "$r/.erlang.cookie")
        fi
        chmod 400 "$first" "$r/.erlang.cookie"
    fi
}

# Succeeds when something accepts TCP connections on 127.0.0.1:$1.
port_accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

amqp_start() {
    local r=$RMQ_DIR epmd_pid epmd_port
    epmd_port=$(epmd_port)
    if amqp_running; then
        note "RabbitMQ $NODE_NAME already running on port $NODE_PORT"
        return 0
    fi
    local p
    for p in "$NODE_PORT" "$((NODE_PORT + 2))"; do
        port_free "$p" || die "port $p (RabbitMQ) is in use by another process"
    done
    if ! port_free "$epmd_port"; then
        # Our own epmd (the cluster's, or one that survived a crash); anything else is a conflict.
        epmd_pid=$(pid_listening "$epmd_port")
        [[ -n "$epmd_pid" && "$(cat "/proc/$epmd_pid/comm" 2>/dev/null)" == epmd ]] \
            || die "port $epmd_port (epmd of RabbitMQ) is in use by another process"
    fi
    amqp_write_conf
    rm -f "$r/rabbit.pid"
    local launcher i
    (cd "$r" && exec setsid env "${RMQ_ENV[@]}" "$RABBITMQ_BIN/rabbitmq-server" \
        </dev/null >>"$r/log/stdout.log" 2>&1) &
    launcher=$!
    # Booted when the AMQP listener accepts connections (it opens last); failed when the server
    # process is gone. Then `rabbitmqctl wait` confirms that the application is running.
    for ((i = 0; i < 1200; i++)); do
        pid_alive "$launcher" || break
        port_accepts "$NODE_PORT" && break
        sleep 0.1
    done
    if ! pid_alive "$launcher" || ! port_accepts "$NODE_PORT" \
        || ! rabbitmqctl_cmd -q wait --timeout 60 "$r/rabbit.pid" >"$r/log/wait.log" 2>&1; then
        cat "$r/log/wait.log" >&2 2>/dev/null || true
        tail -n 5 "$r/log/stdout.log" >&2 || true
        amqp_stop >/dev/null 2>&1 || true
        ((AMQP_NODES > 1)) || epmd_stop
        die "RabbitMQ failed to start (logs: $r/log)"
    fi
    note "RabbitMQ $NODE_NAME listening on 127.0.0.1:$NODE_PORT"
}

# Succeeds when the selected node is a member of node 1's cluster.
amqp_member() {
    rabbitmqctl_cmd -q cluster_status --formatter json 2>/dev/null \
        | python3 -c 'import json, sys; sys.exit("loupe@localhost" not in json.load(sys.stdin).get("disk_nodes", []))'
}

# Node K > 1 joins node 1 at its first start: peer discovery does it while it boots; when it
# did not (node 1 was not up yet), join_cluster does.
amqp_join() {
    ((NODE > 0)) || return 0
    [[ -f "$RMQ_DIR/joined" ]] && return 0
    if ! amqp_member; then
        rabbitmqctl_cmd -q stop_app >/dev/null \
            && rabbitmqctl_cmd -q join_cluster loupe@localhost >/dev/null \
            && rabbitmqctl_cmd -q start_app >/dev/null \
            || die "RabbitMQ $NODE_NAME could not join loupe@localhost (logs: $RMQ_DIR/log)"
    fi
    touch "$RMQ_DIR/joined"
    note "RabbitMQ $NODE_NAME is a member of the cluster of loupe@localhost"
}

amqp_stop() {
    local r=$RMQ_DIR pid
    [[ -d "$r" ]] || return 0
    pid=$(amqp_pid)
    if pid_alive "$pid"; then
        rabbitmqctl_cmd -q shutdown --timeout 60 >/dev/null 2>&1 || true
        terminate 10 "$pid"
    fi
    # shellcheck disable=SC2046
    terminate 5 $(pids_mentioning "$r")
    rm -f "$r/rabbit.pid"
    note "RabbitMQ $NODE_NAME stopped"
}

# epmd outlives the nodes; ours is the one on the private epmd port.
epmd_stop() {
    local epmd_pid epmd_port
    [[ -n "$AMQP_PORT" ]] || return 0
    epmd_port=$(epmd_port)
    epmd_pid=$(pid_listening "$epmd_port")
    if [[ -n "$epmd_pid" ]]; then
        if [[ "$(cat "/proc/$epmd_pid/comm" 2>/dev/null)" == epmd ]]; then
            terminate 5 "$epmd_pid"
        fi
    else
        env ERL_EPMD_PORT="$epmd_port" epmd -port "$epmd_port" -kill >/dev/null 2>&1 || true
    fi
}

# Nodes named by --node K (1-based), or every node: prints 0-based indexes.
amqp_nodes_arg() {
    if [[ "${1:-}" == --node ]]; then
        [[ "${2:-}" =~ ^[0-9]+$ ]] && (( $2 >= 1 && $2 <= AMQP_NODES )) \
            || die "--node must be a number from 1 to $AMQP_NODES, got '${2:-}'"
        echo $(($2 - 1))
    else
        [[ $# -eq 0 ]] || usage
        seq 0 $((AMQP_NODES - 1))
    fi
}

# Starts the nodes given (0-based): node 1 first, then the others all at once, then checks that
# the new ones joined node 1.
amqp_start_nodes() {
    local i rc=0 pids=()
    if [[ "${1:-}" == 0 ]]; then
        (node_select 0 && amqp_start) || return 1
        shift
    fi
    for i in "$@"; do
        (node_select "$i" && amqp_start) &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || rc=1; done
    ((rc == 0)) || return 1
    for i in "$@"; do (node_select "$i" && amqp_join) || return 1; done
    node_select 0
}

amqp_stop_nodes() {
    local i
    for i in "$@"; do node_select "$i"; amqp_stop; done
    node_select 0
    # Every node stopped: epmd goes too.
    local all=1
    for ((i = 0; i < AMQP_NODES; i++)); do (node_select "$i" && amqp_running) && all=0; done
    ((all == 0)) || epmd_stop
}

# ---------------------------------------------------------------------------------------------
# Commands

require_installed() {
    [[ -x "$PG_BIN/postgres" && -x "$PG_BIN/initdb" ]] \
        || { echo "services.sh: PostgreSQL 15 is not installed ($PG_BIN/postgres); apt-get install postgresql" >&2; exit 77; }
    [[ -x "$RABBITMQ_BIN/rabbitmq-server" ]] \
        || { echo "services.sh: RabbitMQ is not installed ($RABBITMQ_BIN); apt-get install rabbitmq-server" >&2; exit 77; }
    command -v python3 >/dev/null || die "python3 is required"
    if [[ $(id -u) == 0 ]]; then
        id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (installed with postgresql)"
    fi
}

cmd_start() {
    local want_pg="" want_amqp="" want_nodes=""
    set_dir "${1:-}" create; shift
    local fast=0
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --pg-port) [[ $# -ge 2 ]] || usage; check_port_arg --pg-port "$2" 65535; want_pg=$2; shift 2 ;;
            --amqp-port) [[ $# -ge 2 ]] || usage; check_port_arg --amqp-port "$2" 65533; want_amqp=$2; shift 2 ;;
            --amqp-nodes) [[ $# -ge 2 && "$2" =~ ^[1-5]$ ]] \
                              || die "--amqp-nodes must be a number from 1 to 5, got '${2:-}'"
                          want_nodes=$2; shift 2 ;;
            --fast) fast=1; shift ;;
            *) echo "services.sh: unknown option '$1'" >&2; usage ;;
        esac
    done
    require_installed

    if load_state; then
        set_rabbitmq_env
        if [[ $fast == 1 ]]; then
            # A throwaway cluster from an earlier run: stop whatever runs there and start afresh.
            amqp_stop_nodes $(amqp_nodes_arg) >/dev/null 2>&1 || true
            pg_stop >/dev/null 2>&1 || true
            [[ -n "$PG_ROOT" && "$PG_ROOT" != "$DIR/pg" ]] && rm -rf "$PG_ROOT"
            rm -rf "$DIR/pg" "$DIR"/rabbitmq* "$DIR/services.env" "$DIR/services.json"
            PG_PORT="" AMQP_PORT="" PG_ROOT=""
        elif [[ ( -n "$want_pg" && "$want_pg" != "$PG_PORT" ) || ( -n "$want_amqp" && "$want_amqp" != "$AMQP_PORT" ) \
                || ( -n "$want_nodes" && "$want_nodes" != "$AMQP_NODES" ) ]]; then
            # Ports or nodes changed: restart on the new ones (a cluster that changes size is
            # made afresh: its nodes' databases name the old members).
            if [[ ( -n "$want_amqp" && "$want_amqp" != "$AMQP_PORT" ) || ( -n "$want_nodes" && "$want_nodes" != "$AMQP_NODES" ) ]]; then
                amqp_stop_nodes $(amqp_nodes_arg)
                [[ -z "$want_nodes" || "$want_nodes" == "$AMQP_NODES" ]] || rm -rf "$DIR"/rabbitmq*
            fi
            if [[ -n "$want_pg" && "$want_pg" != "$PG_PORT" ]]; then pg_stop; fi
        fi
    elif [[ $fast == 1 ]]; then
        rm -rf "$DIR/pg" "$DIR"/rabbitmq*
    fi
    [[ $fast == 1 ]] && FAST=1
    [[ -n "$want_pg" ]] && PG_PORT=$want_pg
    [[ -n "$want_amqp" ]] && AMQP_PORT=$want_amqp
    [[ -n "$want_nodes" ]] && AMQP_NODES=$want_nodes
    if [[ -n "$AMQP_PORT" ]] && ((AMQP_PORT + 3 * AMQP_NODES - 1 > 65535)); then
        die "--amqp-port $AMQP_PORT leaves no room for $AMQP_NODES nodes (each takes 3 ports)"
    fi
    [[ -n "$PG_PORT" ]] || PG_PORT=$(pick_ports 1)
    [[ -n "$AMQP_PORT" ]] || AMQP_PORT=$(pick_ports $((3 * AMQP_NODES)))
    # A throwaway cluster kept outside DIR is deleted by `stop`: choose again.
    [[ -n "$PG_ROOT" && -d "$PG_ROOT" ]] || pg_choose_root
    node_select 0
    export SERVICES_SH
    SERVICES_SH=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")
    write_state

    if ! (pg_init && pg_start); then cmd_stop_loaded; exit 1; fi
    if ! (amqp_start_nodes $(amqp_nodes_arg)); then cmd_stop_loaded; exit 1; fi
    echo "$DIR/services.env"
}

cmd_stop_loaded() {
    amqp_stop_nodes $(amqp_nodes_arg)
    pg_stop
    if [[ $FAST == 1 && -n "$PG_ROOT" && "$PG_ROOT" != "$DIR/pg" ]]; then
        rm -rf "$PG_ROOT"
    fi
    local left
    left=$(pids_mentioning "$DIR"; [[ "$PG_ROOT" == "$DIR/pg" ]] || pids_mentioning "$PG_ROOT")
    if [[ -n "$left" ]]; then
        die "processes still running in $DIR: ${left//$'\n'/ }"
    fi
}

cmd_stop() {
    [[ -n "${1:-}" ]] || usage
    if [[ ! -d "$1" ]]; then note "nothing recorded in $1"; return 0; fi
    set_dir "$1"
    load_state || { note "nothing recorded in $DIR"; return 0; }
    set_rabbitmq_env
    cmd_stop_loaded
}

cmd_status() {
    set_dir "${1:-}"
    require_state
    local rc=0
    if pg_running; then echo "postgresql: running on 127.0.0.1:$PG_PORT (pid $(pg_postmaster_pid))"
    else echo "postgresql: stopped"; rc=1; fi
    local i
    for ((i = 0; i < AMQP_NODES; i++)); do
        node_select "$i"
        if amqp_running; then echo "rabbitmq $NODE_NAME: running on 127.0.0.1:$NODE_PORT (pid $(amqp_pid))"
        else echo "rabbitmq $NODE_NAME: stopped"; rc=1; fi
    done
    return $rc
}

main() {
    [[ $# -ge 1 ]] || usage
    local cmd=$1; shift
    case "$cmd" in
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        status) cmd_status "$@" ;;
        pg-start) set_dir "${1:-}"; require_installed; require_state; pg_start ;;
        pg-stop) set_dir "${1:-}"; require_state; pg_stop ;;
        amqp-start) set_dir "${1:-}"; shift; require_installed; require_state
                    nodes=$(amqp_nodes_arg "$@"); amqp_start_nodes $nodes ;;
        amqp-stop) set_dir "${1:-}"; shift; require_state
                   nodes=$(amqp_nodes_arg "$@"); amqp_stop_nodes $nodes ;;
        psql) set_dir "${1:-}"; shift; require_state
              exec "$PG_BIN/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@" ;;
        rabbitmqctl) set_dir "${1:-}"; shift; require_state
                     if [[ "${1:-}" == --node ]]; then nodes=$(amqp_nodes_arg --node "${2:-}"); node_select "$nodes"; shift 2; fi
                     rabbitmqctl_cmd "$@" ;;
        -h|--help|help) usage ;;
        *) echo "services.sh: unknown command '$cmd'" >&2; usage ;;
    esac
}

main "$@"
exit $?
}
