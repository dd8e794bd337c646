#!/usr/bin/env bash
# A replicated PostgreSQL cluster on loopback (issue 19): three etcd members and three
# Patroni-managed PostgreSQL 15 nodes in synchronous mode, from config/ha/.
#
#   scripts/ha-cluster.sh start DIR [BASE_PORT]  render the configs into DIR, start everything
#                                                (again, on the data DIR holds), wait for a
#                                                Leader and a Sync Standby
#   scripts/ha-cluster.sh stop DIR               stop everything started in DIR, by PID
#   scripts/ha-cluster.sh status DIR             `patronictl list`
#   scripts/ha-cluster.sh primary DIR            the primary's node number and postmaster PID
#   scripts/ha-cluster.sh wait DIR [SECONDS]     wait until all three run again, caught up,
#                                                with a Leader and a Sync Standby
#
# Ports, from BASE_PORT [default 22000]: etcd clients BASE..BASE+2, etcd peers BASE+3..BASE+5,
# PostgreSQL BASE+6..BASE+8, Patroni's REST API BASE+9..BASE+11. DIR/conninfo then holds the
# libpq string that reaches whichever node is primary, DIR/conninfo-nodeN each node's own (to
# check a standby); DIR/pids the PIDs to stop. PostgreSQL refuses to run as root: as root, the
# nodes run as the postgres user (setpriv). The Debian packages are installed when missing
# (scripts/install-deps.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODES=(1 2 3)
# How long a start may take to elect a Leader with a Sync Standby (three initdb/basebackups).
START_WAIT_S=120
# How long Patroni gets to stop its PostgreSQL before both are killed.
STOP_WAIT_S=20

usage() {
    awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2
    exit 2
}

[[ $# -ge 2 ]] || usage
command=$1
DIR=$2
BASE=${3:-22000}
# Absolute: PostgreSQL resolves a relative socket directory from its data directory, which would
# put each node's socket inside its data, and pg_rewind, copying the new primary's data to the
# old one when it rejoins, fails on the socket file (config/ha/deploy.sh passes ./data/ha/cluster).
if [[ $command == start ]]; then
    mkdir -p "$DIR"
fi
if [[ -d $DIR ]]; then
    DIR=$(cd "$DIR" && pwd -P)
fi

# The command prefix that runs a program as the postgres user when this runs as root (setpriv,
# unlike su, execs the program itself, so that `$!` is its PID).
AS_POSTGRES=()
if [[ $(id -u) -eq 0 ]]; then
    AS_POSTGRES=(setpriv --reuid=postgres --regid=postgres --init-groups)
fi

password() {
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

render() {
    local node=$1 etcd_hosts=$2
    local dir=$DIR/node$node
    sed -e "s|@SCOPE@|semper-$(basename "$DIR")|" \
        -e "s|@NAME@|node$node|" \
        -e "s|@DIR@|$dir|g" \
        -e "s|@REST_PORT@|$((BASE + 8 + node))|g" \
        -e "s|@PG_PORT@|$((BASE + 5 + node))|g" \
        -e "s|@ETCD_HOSTS@|$etcd_hosts|" \
        -e "s|@SUPERUSER_PASSWORD@|$SUPERUSER_PASSWORD|" \
        -e "s|@REPLICATION_PASSWORD@|$REPLICATION_PASSWORD|" \
        -e "s|@REWIND_PASSWORD@|$REWIND_PASSWORD|" \
        "$ROOT/config/ha/patroni.yml" >"$DIR/node$node.yml"
}

start_etcd() {
    # shellcheck source=config/ha/etcd.conf
    source "$ROOT/config/ha/etcd.conf"
    local cluster="" node
    for node in "${NODES[@]}"; do
        cluster+="${cluster:+,}e$node=http://127.0.0.1:$((BASE + 2 + node))"
    done
    for node in "${NODES[@]}"; do
        local client=http://127.0.0.1:$((BASE + node - 1)) peer=http://127.0.0.1:$((BASE + 2 + node))
        mkdir -p "$DIR/etcd$node"
        chmod 700 "$DIR/etcd$node"
        etcd --name "e$node" --data-dir "$DIR/etcd$node/data" \
            --listen-client-urls "$client" --advertise-client-urls "$client" \
            --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
            --initial-cluster "$cluster" --initial-cluster-state new \
            --initial-cluster-token "semper-$(basename "$DIR")" \
            --heartbeat-interval "$ETCD_HEARTBEAT_INTERVAL_MS" \
            --election-timeout "$ETCD_ELECTION_TIMEOUT_MS" \
            --quota-backend-bytes "$ETCD_QUOTA_BACKEND_BYTES" \
            >"$DIR/etcd$node/etcd.log" 2>&1 &
        echo $! >"$DIR/pids/etcd$node"
    done
    local endpoints="127.0.0.1:$BASE,127.0.0.1:$((BASE + 1)),127.0.0.1:$((BASE + 2))"
    for _ in $(seq 1 60); do
        if ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint health >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    echo "ha-cluster: etcd did not become healthy (logs in $DIR/etcd*/etcd.log)" >&2
    return 1
}

start_patroni() {
    local etcd_hosts="127.0.0.1:$BASE, 127.0.0.1:$((BASE + 1)), 127.0.0.1:$((BASE + 2))" node
    # Generated once per cluster, and kept for its restarts.
    if [[ ! -f $DIR/passwords ]]; then
        printf 'SUPERUSER_PASSWORD=%s\nREPLICATION_PASSWORD=%s\nREWIND_PASSWORD=%s\n' \
            "$(password)" "$(password)" "$(password)" >"$DIR/passwords"
        chmod 600 "$DIR/passwords"
    fi
    # shellcheck source=/dev/null
    source "$DIR/passwords"
    for node in "${NODES[@]}"; do
        mkdir -p "$DIR/node$node/logs"
        render "$node" "$etcd_hosts"
        if [[ $(id -u) -eq 0 ]]; then
            chown -R postgres:postgres "$DIR/node$node"
        fi
        chmod 700 "$DIR/node$node"
        # Patroni runs initdb (on the node that wins the initialize key) or a base backup.
        "${AS_POSTGRES[@]}" patroni "$DIR/node$node.yml" >"$DIR/node$node/logs/patroni.out" 2>&1 &
        echo $! >"$DIR/pids/patroni$node"
    done
    printf 'host=127.0.0.1,127.0.0.1,127.0.0.1 port=%s,%s,%s user=postgres password=%s dbname=postgres target_session_attrs=read-write connect_timeout=2\n' \
        $((BASE + 6)) $((BASE + 7)) $((BASE + 8)) "$SUPERUSER_PASSWORD" >"$DIR/conninfo"
    for node in "${NODES[@]}"; do
        printf 'host=127.0.0.1 port=%s user=postgres password=%s dbname=postgres connect_timeout=2\n' \
            $((BASE + 5 + node)) "$SUPERUSER_PASSWORD" >"$DIR/conninfo-node$node"
    done
    chmod 600 "$DIR"/conninfo*
}

# The members as JSON, from any node's view of the cluster.
members() {
    patronictl -c "$DIR/node1.yml" list -f json 2>/dev/null
}

# Waits until all three nodes run, one the Leader and one its Sync Standby.
wait_ready() {
    local deadline=$((SECONDS + ${1:-$START_WAIT_S}))
    while ((SECONDS < deadline)); do
        if members | python3 -c '
import json, sys
members = json.load(sys.stdin)
up = [m["Role"] for m in members if m["State"] in ("running", "streaming")]
# One timeline and no lag: a node that was just killed or rejoined has caught up.
timelines = {m.get("TL") for m in members}
lag = [m.get("Lag in MB", 0) for m in members if m["Role"] != "Leader"]
ok = len(up) == 3 and "Leader" in up and "Sync Standby" in up and len(timelines) == 1 and lag == [0, 0]
sys.exit(0 if ok else 1)' 2>/dev/null; then
            return 0
        fi
        sleep 0.5
    done
    echo "ha-cluster: no Leader with a Sync Standby after ${1:-$START_WAIT_S} s (logs in $DIR/node*/logs)" >&2
    patronictl -c "$DIR/node1.yml" list >&2 || true
    return 1
}

start() {
    "$ROOT/scripts/install-deps.sh" postgresql postgresql-contrib etcd-server etcd-client patroni
    if [[ -e $DIR/pids ]]; then
        echo "ha-cluster: $DIR holds a running cluster (stop it first)" >&2
        exit 1
    fi
    mkdir -p "$DIR/pids"
    # Make it traversable for the postgres user when DIR is under a private temp dir.
    chmod 755 "$DIR"
    start_etcd
    start_patroni
    wait_ready
}

# Sends `signal` to the process in pid file `file`; says whether it was running.
signal_pid() {
    local signal=$1 file=$2 pid
    [[ -f $file ]] || return 1
    pid=$(cat "$file")
    kill "-$signal" "$pid" 2>/dev/null
}

alive() {
    [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

postmaster_pid() {
    head -n1 "$DIR/node$1/data/postmaster.pid" 2>/dev/null
}

stop() {
    [[ -d $DIR/pids ]] || return 0
    local node file
    for node in "${NODES[@]}"; do
        signal_pid TERM "$DIR/pids/patroni$node" || true
    done
    local deadline=$((SECONDS + STOP_WAIT_S))
    for node in "${NODES[@]}"; do
        while alive "$DIR/pids/patroni$node" && ((SECONDS < deadline)); do
            sleep 0.2
        done
        signal_pid KILL "$DIR/pids/patroni$node" || true
    done
    # A postmaster outlives a killed Patroni: stop what is left by its own PID file.
    for node in "${NODES[@]}"; do
        local pid
        pid=$(postmaster_pid "$node" || true)
        if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
            kill -QUIT "$pid" 2>/dev/null || true
            sleep 1
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for node in "${NODES[@]}"; do
        file=$DIR/pids/etcd$node
        signal_pid TERM "$file" || true
    done
    for node in "${NODES[@]}"; do
        file=$DIR/pids/etcd$node
        while alive "$file" && ((SECONDS < deadline + 10)); do
            sleep 0.2
        done
        signal_pid KILL "$file" || true
    done
    rm -rf "$DIR/pids"
}

# The primary's node number and its postmaster's PID, e.g. "2 12345".
primary() {
    local node
    node=$(members | python3 -c '
import json, sys
leaders = [m["Member"] for m in json.load(sys.stdin) if m["Role"] == "Leader" and m["State"] == "running"]
print(leaders[0].removeprefix("node") if leaders else "")')
    if [[ -z $node ]]; then
        echo "ha-cluster: no running Leader" >&2
        return 1
    fi
    echo "$node $(postmaster_pid "$node")"
}

case $command in
start) start ;;
stop) stop ;;
status) patronictl -c "$DIR/node1.yml" list ;;
primary) primary ;;
wait) wait_ready "${3:-$START_WAIT_S}" ;;
*) usage ;;
esac
