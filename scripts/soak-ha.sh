#!/usr/bin/env bash
# `make soak-ha`: the crash-kill soak of the replicated deployment (issue 19): config/ha/deploy.sh
# starts the Patroni cluster, the signer and the semper processes on fresh data (./data/ha is
# moved aside first, if there), its semper processes are stopped again, and semper-soak runs
# them itself under semper-load's default mix (wallets over both issuer processes, merchants
# over both gateways), SIGKILLing a clearing process (the cut-off lease's holder among them), an
# issuer process or an acquirer gateway at random moments and starting it again, and between
# those the PostgreSQL primary's postmaster, each failover timed to the first write acknowledged
# after it; then every invariant of semper-load is checked: nothing acknowledged lost, no coin
# accepted twice. Everything is stopped, by PID, however the soak ends. Ports from HA_PORT_BASE
# [default 22000]; extra arguments go to semper-soak (default --kills 20 --primary-kills 20).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${HA_PORT_BASE:-22000}
scripts/install-deps.sh postgresql postgresql-contrib etcd-server etcd-client patroni
# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh
cargo build --release -p semper-server --bin semper -p semper-loadtest --bin semper-soak
BIN=${CARGO_TARGET_DIR:-target}/release

if [[ -e data/ha/cluster/pids ]]; then
    echo "a deployment runs in data/ha: stop it first (config/ha/deploy.sh stop)" >&2
    exit 1
fi
if [[ -e data/ha ]]; then
    aside=data/ha.before-soak.$(date +%s)
    mv data/ha "$aside"
    echo "moved the existing data/ha to $aside"
fi
stop() {
    HA_PORT_BASE=$BASE SEMPER_BIN=$BIN/semper config/ha/deploy.sh stop || true
}
trap stop EXIT
HA_PORT_BASE=$BASE SEMPER_BIN=$BIN/semper config/ha/deploy.sh start
HA_PORT_BASE=$BASE SEMPER_BIN=$BIN/semper config/ha/deploy.sh stop-processes
ARGS=("$@")
((${#ARGS[@]})) || ARGS=(--kills 20 --primary-kills 20)
"$BIN/semper-soak" --deployment replicated --dir . --ha-base "$BASE" "${ARGS[@]}"
