#!/usr/bin/env bash
# The replicated deployment (issue 19, README "Beyond one machine"), on loopback:
#   config/ha/deploy.sh start    three etcd members and three Patroni-managed PostgreSQL 15 nodes
#                                (scripts/ha-cluster.sh, config/ha/), a database per bank owned
#                                by a `semper` login role (connection strings in
#                                ./data/ha/conninfo/, mode 600), then the semper processes over
#                                them: two processes of the clearing house, two of issuer
#                                bank issuer-1 (and the bank's one signer process) and two
#                                gateways of acquirer bank acquirer-1
#   config/ha/deploy.sh stop     stop the semper processes (SIGTERM, by PID), then the cluster
#                                (start again: the same cluster and banks, on their data)
#   config/ha/deploy.sh status   which semper processes run, and the cluster's members and roles
#   config/ha/deploy.sh kill P   SIGKILL semper process P (clearing, clearing-b, issuer-1a,
#                                issuer-1b, acquirer-1a, acquirer-1b), as a crash would
#   config/ha/deploy.sh restart P   start P again (after kill), and wait for its HTTP port
#   config/ha/deploy.sh stop-processes   stop the semper processes only, leaving the cluster and
#                                the signer up (the soak, scripts/soak-ha.sh, then runs its own)
# Ports from HA_PORT_BASE [default 22000]: etcd BASE..BASE+5, PostgreSQL BASE+6..BASE+8,
# Patroni's REST API BASE+9..BASE+11, semper HTTP BASE+20..BASE+25 and link BASE+30..BASE+35
# (config/ha/*.toml say 22020.. and 22030..; they are rendered into ./data/ha/config/ with every
# port moved by BASE - 22000). Each semper process has a config file of its own; a bank's second
# process (clearing-b, issuer-1b, acquirer-1b) differs from its first only in its HTTP and link
# ports and its operator token file. SEMPER_BIN names the semper binary [default: builds and runs
# target/release/semper via cargo]. The Debian packages are installed when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

STATE=./data/ha
CLUSTER=$STATE/cluster
BASE=${HA_PORT_BASE:-22000}
# One database per bank: its roles' stores are schemas there, and the processes of one bank
# share it (the storage layer's optimistic concurrency keeps several writers safe).
DATABASES=(clearing issuer_1 acquirer_1)
# The semper processes, in start order (the clearing house first: the others settle through it).
PROCESSES=(clearing clearing-b issuer-1a issuer-1b acquirer-1a acquirer-1b)
# The issuer banks, each with one signer process that its issuer processes share.
SIGNERS=(issuer-1)
STOP_WAIT_S=30
START_WAIT_S=60

password() {
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

semper_bin() {
    if [[ -n ${SEMPER_BIN:-} ]]; then
        echo "$SEMPER_BIN"
        return
    fi
    scripts/install-deps.sh >&2
    # shellcheck source=scripts/reuse-rocksdb.sh
    source scripts/reuse-rocksdb.sh
    cargo build --release -p semper-server --bin semper >&2
    echo "${CARGO_TARGET_DIR:-target}/release/semper"
}

# The bank a process serves (its config's `name`), and that bank's database.
bank_of() {
    case $1 in
    clearing*) echo clearing ;;
    *) echo "${1%[ab]}" ;;
    esac
}
database_of() {
    local bank
    bank=$(bank_of "$1")
    echo "${bank//-/_}"
}

config_of() {
    echo "$STATE/config/$1.toml"
}

# Renders config/ha/*.toml into $STATE/config/: every port 220NN moved to BASE+NN, and the
# cards' paths (relative to the file) made relative to the rendered file.
render_configs() {
    mkdir -p "$STATE/config"
    local file
    for file in config/ha/*.toml; do
        perl -pe 's/\b220(\d\d)\b/'"$BASE"' + $1/ge; s|"\.\./\.\./data/ha/banks/|"../banks/|' \
            "$file" >"$STATE/config/$(basename "$file")"
    done
}

http_port() {
    sed -n 's/^listen = "127.0.0.1:\([0-9]*\)"/\1/p' "$(config_of "$1")" | head -n1
}

is_up() {
    # A TCP connection to the process's HTTP port, with bash alone (no curl needed).
    (exec 3<>"/dev/tcp/127.0.0.1/$(http_port "$1")") 2>/dev/null
}

running() {
    [[ -f $STATE/pids/$1 ]] && kill -0 "$(cat "$STATE/pids/$1")" 2>/dev/null
}

# The environment of a process: its bank's connection string (a secret: never on the command
# line), and an issuer's signer socket.
process_env() {
    local bank
    bank=$(bank_of "$1")
    echo "SEMPER__BANKS__0__POSTGRES=$(cat "$STATE/conninfo/$(database_of "$1")")"
    if [[ $bank == issuer-* ]]; then
        echo "SEMPER__BANKS__0__ISSUER__SIGNER_SOCKET=$PWD/$STATE/$bank.signer.sock"
    fi
}

start_cluster() {
    mkdir -p "$STATE/conninfo"
    chmod 700 "$STATE/conninfo"
    if [[ -e $CLUSTER/pids ]]; then
        echo "the cluster runs already"
    else
        scripts/ha-cluster.sh start "$CLUSTER" "$BASE"
    fi
    if [[ -f $STATE/conninfo/${DATABASES[-1]} ]]; then
        # A restart: the role and the databases are there.
        return
    fi
    local admin semper_password
    admin=$(cat "$CLUSTER/conninfo")
    semper_password=$(password)
    psql -q -v ON_ERROR_STOP=1 "$admin" \
        -c "CREATE ROLE semper LOGIN PASSWORD '$semper_password'"
    for database in "${DATABASES[@]}"; do
        psql -q -v ON_ERROR_STOP=1 "$admin" -c "CREATE DATABASE $database OWNER semper"
        printf 'host=127.0.0.1,127.0.0.1,127.0.0.1 port=%s,%s,%s user=semper password=%s dbname=%s target_session_attrs=read-write connect_timeout=2\n' \
            $((BASE + 6)) $((BASE + 7)) $((BASE + 8)) "$semper_password" "$database" \
            >"$STATE/conninfo/$database"
        chmod 600 "$STATE/conninfo/$database"
        echo "$database: $STATE/conninfo/$database"
    done
}

start_signers() {
    local bin=$1
    for bank in "${SIGNERS[@]}"; do
        local pidfile=$STATE/pids/$bank-signer socket=$STATE/$bank.signer.sock
        if running "$bank-signer"; then
            continue
        fi
        rm -f "$socket"
        nohup "$bin" signer run --dir "$STATE/$bank-signer" --socket "$socket" \
            >"$STATE/logs/$bank-signer.out" 2>"$STATE/logs/$bank-signer.log" &
        echo $! >"$pidfile"
        local waited=0
        until [[ -S $socket ]]; do
            if ((waited >= START_WAIT_S * 10)); then
                echo "$bank's signer did not start; see $STATE/logs/$bank-signer.log" >&2
                exit 1
            fi
            sleep 0.1
            waited=$((waited + 1))
        done
        echo "$bank-signer: $socket (pid $(cat "$pidfile"))"
    done
}

# Starts one semper process and waits for its HTTP port. One at a time: the processes of a bank
# share its directory, and each rewrites the bank's card as it starts.
start_process() {
    local bin=$1 process=$2
    if running "$process"; then
        echo "$process is already running"
        return
    fi
    local -a env
    mapfile -t env < <(process_env "$process")
    nohup env "${env[@]}" "$bin" run --config "$(config_of "$process")" \
        >>"$STATE/logs/$process.out" 2>>"$STATE/logs/$process.log" &
    echo $! >"$STATE/pids/$process"
    local waited=0
    until is_up "$process"; do
        if ((waited >= START_WAIT_S * 10)) || ! running "$process"; then
            echo "$process did not start; see $STATE/logs/$process.log" >&2
            exit 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    echo "$process: http://127.0.0.1:$(http_port "$process") (pid $(cat "$STATE/pids/$process"))"
}

start() {
    local bin
    bin=$(semper_bin)
    start_cluster
    render_configs
    mkdir -p "$STATE/logs" "$STATE/pids"
    start_signers "$bin"
    # Each bank's keys and card, once, from its first process's config.
    for process in clearing issuer-1a acquirer-1a; do
        local -a env
        mapfile -t env < <(process_env "$process")
        env "${env[@]}" "$bin" keys --config "$(config_of "$process")" >/dev/null
    done
    for process in "${PROCESSES[@]}"; do
        start_process "$bin" "$process"
    done
    scripts/ha-cluster.sh status "$CLUSTER"
    echo "operator tokens: $STATE/banks/<process>.operator-token; logs: $STATE/logs/"
}

# SIGTERM, then SIGKILL after STOP_WAIT_S; by the PID in the process's pid file.
stop_process() {
    local process=$1 pidfile=$STATE/pids/$1
    [[ -f $pidfile ]] || return 0
    local pid
    pid=$(cat "$pidfile")
    if kill -TERM "$pid" 2>/dev/null; then
        local waited=0
        while kill -0 "$pid" 2>/dev/null; do
            if ((waited >= STOP_WAIT_S * 10)); then
                echo "$process (pid $pid) did not stop; killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.1
            waited=$((waited + 1))
        done
        echo "$process stopped"
    fi
    rm -f "$pidfile"
}

stop() {
    # The signers after the issuers: an issuer still answering needs its signer.
    for process in "${PROCESSES[@]}" "${SIGNERS[@]/%/-signer}"; do
        stop_process "$process"
    done
    scripts/ha-cluster.sh stop "$CLUSTER"
    echo "stopped; data stays in $STATE (remove it to start afresh)"
}

kill_process() {
    local process=$1
    if ! running "$process"; then
        echo "$process is not running" >&2
        exit 1
    fi
    kill -KILL "$(cat "$STATE/pids/$process")"
    rm -f "$STATE/pids/$process"
    echo "$process killed"
}

status() {
    for process in "${PROCESSES[@]}" "${SIGNERS[@]/%/-signer}"; do
        if running "$process"; then
            echo "$process: running (pid $(cat "$STATE/pids/$process"))"
        else
            echo "$process: stopped"
        fi
    done
    scripts/ha-cluster.sh status "$CLUSTER"
}

known_process() {
    printf '%s\n' "${PROCESSES[@]}" | grep -qx "${1:-}" || {
        echo "no process ${1:-}; the processes are ${PROCESSES[*]}" >&2
        exit 2
    }
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
kill)
    known_process "${2:-}"
    kill_process "$2"
    ;;
stop-processes)
    for process in "${PROCESSES[@]}"; do
        stop_process "$process"
    done
    ;;
restart)
    known_process "${2:-}"
    start_process "$(semper_bin)" "$2"
    ;;
*)
    echo "usage: $0 start | stop | status | kill PROCESS | restart PROCESS | stop-processes" >&2
    exit 2
    ;;
esac
