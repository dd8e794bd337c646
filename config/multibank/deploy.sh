#!/usr/bin/env bash
# The multi-bank example: five banks, each its own `semper` process on its own loopback ports.
#   config/multibank/deploy.sh start    provision every bank (`semper keys`), then start all five
#   config/multibank/deploy.sh start --atm   the same, with the acquirer–clearing links over
#                                            emulated OC-3c ATM circuits (config/multibank-atm/)
#   config/multibank/deploy.sh stop     SIGTERM each, and wait for it to exit
#   config/multibank/deploy.sh status   which are running
#   config/multibank/deploy.sh rotate BANK   rotate BANK's link certificate while all five run
#                                            (SECURITY.md, "Rotating a link certificate"): the
#                                            next certificate on its card, every bank reloads
#                                            (SIGHUP); then the next made current, BANK reloads
#                                            first, then the others
# Each issuer's keys live in a signer process of its own (`semper signer run`, SECURITY.md "The
# signer"), started before its issuer and stopped after it; the issuer reaches it over an
# owner-only Unix socket ($STATE/BANK.signer.sock) and holds no private key itself.
# Data, logs and pid files go under ./data/multibank. SEMPER_BIN names the binary to run
# [default: builds and runs target/release/semper via cargo].
set -euo pipefail
cd "$(dirname "$0")/../.."

BANKS=(clearing issuer-1 issuer-2 acquirer-1 acquirer-2)
# The banks whose signer runs as its own process.
ISSUERS=(issuer-1 issuer-2)
STATE=./data/multibank
STOP_WAIT_S=30
START_WAIT_S=60
RELOAD_WAIT_S=30

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

# The config file of a bank: the ATM variant's when asked for and there is one.
config_of() {
    if [[ ${CARRIER:-quic} == atm && -f config/multibank-atm/$1.toml ]]; then
        echo "config/multibank-atm/$1.toml"
    else
        echo "config/multibank/$1.toml"
    fi
}

http_port() {
    sed -n 's/^listen = "127.0.0.1:\([0-9]*\)"/\1/p' "$(config_of "$1")" | head -n1
}

is_up() {
    # A TCP connection to the bank's HTTP port, with bash alone (no curl needed).
    (exec 3<>"/dev/tcp/127.0.0.1/$(http_port "$1")") 2>/dev/null
}

# The environment assignment that points an issuer at its signer's socket (a harmless one for
# the other banks).
signer_env() {
    if printf '%s\n' "${ISSUERS[@]}" | grep -qx "$1"; then
        echo "SEMPER__BANKS__0__ISSUER__SIGNER_SOCKET=$PWD/$STATE/$1.signer.sock"
    else
        echo "SEMPER_DEPLOY_SIGNER=none"
    fi
}

# Starts each issuer's signer, and waits for its socket.
start_signers() {
    local bin=$1
    for bank in "${ISSUERS[@]}"; do
        local pidfile=$STATE/pids/$bank-signer socket=$STATE/$bank.signer.sock
        if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
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

start() {
    local bin
    bin=$(semper_bin)
    mkdir -p "$STATE/logs" "$STATE/pids"
    start_signers "$bin"
    for bank in "${BANKS[@]}"; do
        env "$(signer_env "$bank")" "$bin" keys --config "$(config_of "$bank")"
    done
    for bank in "${BANKS[@]}"; do
        if [[ -f $STATE/pids/$bank ]] && kill -0 "$(cat "$STATE/pids/$bank")" 2>/dev/null; then
            echo "$bank is already running"
            continue
        fi
        nohup env "$(signer_env "$bank")" "$bin" run --config "$(config_of "$bank")" \
            >"$STATE/logs/$bank.out" 2>"$STATE/logs/$bank.log" &
        echo $! >"$STATE/pids/$bank"
    done
    for bank in "${BANKS[@]}"; do
        local waited=0
        until is_up "$bank"; do
            if ((waited >= START_WAIT_S)); then
                echo "$bank did not start; see $STATE/logs/$bank.log" >&2
                exit 1
            fi
            sleep 1
            waited=$((waited + 1))
        done
        echo "$bank: http://127.0.0.1:$(http_port "$bank") (pid $(cat "$STATE/pids/$bank"))"
    done
    echo "operator tokens: $STATE/<bank>.operator-token; logs: $STATE/logs/"
}

stop() {
    # The signers last: an issuer still answering needs its signer.
    for bank in "${BANKS[@]}" "${ISSUERS[@]/%/-signer}"; do
        local pidfile=$STATE/pids/$bank
        [[ -f $pidfile ]] || continue
        local pid
        pid=$(cat "$pidfile")
        if kill -TERM "$pid" 2>/dev/null; then
            local waited=0
            while kill -0 "$pid" 2>/dev/null; do
                if ((waited >= STOP_WAIT_S * 10)); then
                    echo "$bank (pid $pid) did not stop; killing it" >&2
                    kill -KILL "$pid" 2>/dev/null || true
                    break
                fi
                sleep 0.1
                waited=$((waited + 1))
            done
            echo "$bank stopped"
        fi
        rm -f "$pidfile"
    done
}

# Sends SIGHUP to a running bank and waits until it prints that it reloaded; fails if it says
# the reload failed (it then runs on with what it had).
reload() {
    local bank=$1 pidfile=$STATE/pids/$1 out=$STATE/logs/$1.out
    if ! [[ -f $pidfile ]] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "$bank is not running" >&2
        exit 1
    fi
    local before waited=0
    before=$(grep -c '^SIGHUP:' "$out" || true)
    kill -HUP "$(cat "$pidfile")"
    until (($(grep -c '^SIGHUP:' "$out" || true) > before)); do
        if ((waited >= RELOAD_WAIT_S * 10)); then
            echo "$bank did not reload; see $STATE/logs/$bank.log" >&2
            exit 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    local said
    said=$(grep '^SIGHUP:' "$out" | tail -n1)
    echo "$bank: $said"
    if [[ $said != *reloaded* ]]; then
        echo "$bank refused the reload; fix what it says and run the step again" >&2
        exit 1
    fi
}

rotate() {
    local rotated=$1 bin
    if ! printf '%s\n' "${BANKS[@]}" | grep -qx "$rotated"; then
        echo "no bank $rotated; the banks are ${BANKS[*]}" >&2
        exit 2
    fi
    bin=$(semper_bin)
    "$bin" identity rotate --config "$(config_of "$rotated")"
    for bank in "${BANKS[@]}"; do
        reload "$bank"
    done
    "$bin" identity rotate --config "$(config_of "$rotated")" --finish
    # The rotated bank presents its new certificate first; its peers then drop the old one.
    reload "$rotated"
    for bank in "${BANKS[@]}"; do
        [[ $bank == "$rotated" ]] || reload "$bank"
    done
    echo "$rotated: link certificate rotated"
}

status() {
    for bank in "${BANKS[@]}"; do
        local pidfile=$STATE/pids/$bank
        if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            echo "$bank: running (pid $(cat "$pidfile")), http://127.0.0.1:$(http_port "$bank")"
        else
            echo "$bank: stopped"
        fi
    done
    for bank in "${ISSUERS[@]}"; do
        local pidfile=$STATE/pids/$bank-signer
        if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            echo "$bank-signer: running (pid $(cat "$pidfile")), $STATE/$bank.signer.sock"
        else
            echo "$bank-signer: stopped"
        fi
    done
}

USAGE="usage: $0 start [--atm] | stop | status | rotate BANK"
if [[ ${1:-} == rotate ]]; then
    [[ -n ${2:-} ]] || {
        echo "$USAGE" >&2
        exit 2
    }
elif [[ ${2:-} == --atm ]]; then
    CARRIER=atm
elif [[ -n ${2:-} ]]; then
    echo "$USAGE" >&2
    exit 2
fi

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
rotate) rotate "$2" ;;
*)
    echo "$USAGE" >&2
    exit 2
    ;;
esac
