#!/usr/bin/env bash
# `make bench-ha`: deposits and withdrawals over HTTP on the replicated deployment (the Patroni
# cluster, synchronous replication, config/ha/deploy.sh) against the embedded RocksDB default,
# and coins per server core-second with one acquirer gateway and with two, in one run
# (bench/src/bin/bench-ha.rs says what each phase does). It starts the deployment on ports from
# HA_PORT_BASE [default 22000] on fresh data (./data/ha is moved aside first, if there) and the
# embedded default on HA_PORT_BASE+40.., and stops both, by PID, however the run ends. Extra
# arguments go to bench-ha (--stock-rounds N: N times the stock, longer timed phases).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${HA_PORT_BASE:-22000}
scripts/install-deps.sh postgresql postgresql-contrib etcd-server etcd-client patroni
# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh
cargo build --release -p semper-server --bin semper -p semper-bench --bin bench-ha
BIN=${CARGO_TARGET_DIR:-target}/release

if [[ -e data/ha/cluster/pids ]]; then
    echo "a deployment runs in data/ha: stop it first (config/ha/deploy.sh stop)" >&2
    exit 1
fi
if [[ -e data/ha ]]; then
    aside=data/ha.before-bench.$(date +%s)
    mv data/ha "$aside"
    echo "moved the existing data/ha to $aside"
fi
stop() {
    HA_PORT_BASE=$BASE SEMPER_BIN=$BIN/semper config/ha/deploy.sh stop || true
}
trap stop EXIT
HA_PORT_BASE=$BASE SEMPER_BIN=$BIN/semper config/ha/deploy.sh start
"$BIN/bench-ha" --ha-dir data/ha --ha-base "$BASE" --embedded-base $((BASE + 40)) "$@"
