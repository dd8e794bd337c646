#!/usr/bin/env bash
# `make ha-soak`: the failover soak of the replicated deployment (issue 19), at the storage level.
# A three-node Patroni cluster of its own (scripts/ha-cluster.sh, on free loopback ports, or from
# SEMPER_HA_PORT_BASE), writers spending coins and crediting accounts through semper's store and
# committer over the PostgreSQL backend, and the primary's postmaster killed with SIGKILL 20 times
# (each once the cluster is whole again); then every acknowledged write is looked up on every
# node. Prints each failover's time to the first acknowledged write; exits 2 if anything
# acknowledged is missing. Extra arguments go to ha-soak: `--kills N --writers N --batch-coins N`.
#   make ha-soak ARGS="--kills 40"
# The short version runs under `make test` (ha/tests/failover.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh postgresql postgresql-contrib etcd-server etcd-client patroni
# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh
cargo build --release -p semper-ha --bin ha-soak
exec "${CARGO_TARGET_DIR:-target}/release/ha-soak" "$@"
