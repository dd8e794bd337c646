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
# signer"), started before its issuer and stopped after it; the issuer reaches it over a Unix
# socket ($STATE/BANK-signer-socket/signer.sock) and holds no private key itself.
# Run as root, the script gives the signers a user of their own: each signer runs as the
# system user semper-signer, each bank as the system user semper (both made if missing, with no
# login shell), through setpriv. A signer's key directory is semper-signer's, mode 0700; its
# socket's directory and the socket are open to semper-signer's group, which only the issuers
# are given: the banks cannot read the keys, and only an issuer can reach its signer. Run as
# another user, everything runs as that user (it says so), and the socket is owner-only.
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
# The users the signers and the banks run as, when the script runs as root.
SIGNER_USER=semper-signer
BANK_USER=semper

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

is_issuer() {
    printf '%s\n' "${ISSUERS[@]}" | grep -qx "$1"
}

is_root() {
    [[ $(id -u) == 0 ]]
}

# The socket of issuer $1's signer, in a directory of its own (whose modes keep others out).
signer_socket() {
    echo "$STATE/$1-signer-socket/signer.sock"
}

# The environment assignment that points an issuer at its signer's socket (a harmless one for
# the other banks).
signer_env() {
    if is_issuer "$1"; then
        echo "SEMPER__BANKS__0__ISSUER__SIGNER_SOCKET=$PWD/$(signer_socket "$1")"
    else
        echo "SEMPER_DEPLOY_SIGNER=none"
    fi
}

# Sets RUN_AS to the command prefix that runs $1 (`signer`, or a bank's name) as its user: as
# root, setpriv to semper-signer, or to semper with the signer's group for an issuer alone;
# otherwise nothing (the invoking user).
run_as() {
    RUN_AS=()
    is_root || return 0
    local groups=--clear-groups
    if [[ $1 == signer ]]; then
        RUN_AS=(setpriv --reuid="$SIGNER_USER" --regid="$SIGNER_USER" --clear-groups --no-new-privs --)
        return 0
    fi
    if is_issuer "$1"; then
        groups=--groups=$(getent group "$SIGNER_USER" | cut -d: -f3)
    fi
    RUN_AS=(setpriv --reuid="$BANK_USER" --regid="$BANK_USER" "$groups" --no-new-privs --)
}

# Makes the system user $1, with a group of its own and no login shell, unless it exists.
ensure_user() {
    if ! getent passwd "$1" >/dev/null; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$1"
        echo "made the system user $1"
    fi
}

# Who runs what, and the state directory's owners and modes to match. As root: the users, and
# $STATE root's with the banks' group allowed to add files (sticky: none may move another's,
# so the banks cannot move a signer's directory); each bank's directory semper's, each signer's
# key directory semper-signer's (0700), its socket directory semper-signer's and its group's
# (0750). Files an earlier run made as another user change hands. Otherwise nothing changes.
prepare_users() {
    local bin=$1
    if ! is_root; then
        echo "not root: every signer and bank runs as $(id -un), the invoking user (as root, the signers get a user of their own)"
        return
    fi
    ensure_user "$SIGNER_USER"
    ensure_user "$BANK_USER"
    for who in signer "${BANKS[0]}"; do
        run_as "$who"
        if ! "${RUN_AS[@]}" test -x "$bin" -a -r "$(config_of "${BANKS[0]}")"; then
            echo "$bin or config/ is out of ${RUN_AS[1]#--reuid=}'s reach: put them where every user may read them" >&2
            exit 1
        fi
    done
    chown "root:$BANK_USER" "$STATE"
    chmod 1771 "$STATE"
    for bank in "${BANKS[@]}"; do
        install -d -o "$BANK_USER" -g "$BANK_USER" -m 0700 "$STATE/$bank"
        chown -R "$BANK_USER:$BANK_USER" "$STATE/$bank"
        if [[ -e $STATE/$bank.operator-token ]]; then
            chown "$BANK_USER:$BANK_USER" "$STATE/$bank.operator-token"
        fi
    done
    for bank in "${ISSUERS[@]}"; do
        install -d -o "$SIGNER_USER" -g "$SIGNER_USER" -m 0700 "$STATE/$bank-signer"
        chown -R "$SIGNER_USER:$SIGNER_USER" "$STATE/$bank-signer"
        install -d -o "$SIGNER_USER" -g "$SIGNER_USER" -m 0750 "$STATE/$bank-signer-socket"
    done
    echo "root: every signer runs as $SIGNER_USER, every bank as $BANK_USER (only the issuers in $SIGNER_USER's group)"
}

# Starts each issuer's signer, and waits until it serves its socket.
start_signers() {
    local bin=$1
    run_as signer
    local socket_group=()
    if is_root; then
        socket_group=(--socket-group "$(getent group "$SIGNER_USER" | cut -d: -f3)")
    fi
    for bank in "${ISSUERS[@]}"; do
        local pidfile=$STATE/pids/$bank-signer socket
        socket=$(signer_socket "$bank")
        if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            continue
        fi
        [[ -d $(dirname "$socket") ]] || mkdir -m 0700 "$(dirname "$socket")"
        rm -f "$socket"
        nohup "${RUN_AS[@]}" "$bin" signer run --dir "$STATE/$bank-signer" --socket "$socket" \
            "${socket_group[@]}" \
            >"$STATE/logs/$bank-signer.out" 2>"$STATE/logs/$bank-signer.log" &
        echo $! >"$pidfile"
        # It says so once the socket is bound with its mode and group: not before, so that the
        # issuer never meets a socket it may not use yet.
        local waited=0
        until grep -q '^signer: serving' "$STATE/logs/$bank-signer.out"; do
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
    prepare_users "$bin"
    start_signers "$bin"
    for bank in "${BANKS[@]}"; do
        run_as "$bank"
        "${RUN_AS[@]}" env "$(signer_env "$bank")" "$bin" keys --config "$(config_of "$bank")"
    done
    for bank in "${BANKS[@]}"; do
        if [[ -f $STATE/pids/$bank ]] && kill -0 "$(cat "$STATE/pids/$bank")" 2>/dev/null; then
            echo "$bank is already running"
            continue
        fi
        run_as "$bank"
        nohup "${RUN_AS[@]}" env "$(signer_env "$bank")" "$bin" run --config "$(config_of "$bank")" \
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
    run_as "$rotated"
    "${RUN_AS[@]}" "$bin" identity rotate --config "$(config_of "$rotated")"
    for bank in "${BANKS[@]}"; do
        reload "$bank"
    done
    "${RUN_AS[@]}" "$bin" identity rotate --config "$(config_of "$rotated")" --finish
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
            echo "$bank-signer: running (pid $(cat "$pidfile")), $(signer_socket "$bank")"
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
