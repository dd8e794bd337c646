#!/usr/bin/env bash
# `make bench-pg`: the spent set's check-and-insert through semper's PostgreSQL backend against
# pgbench running the same statement on the same three-node synchronous cluster (same clients,
# same coins per transaction); prints both rates and their ratio (issue 19's target: >= 0.8).
# Extra arguments go to bench-pg: `--seconds N --clients N --batch-coins N`.
set -euo pipefail
cd "$(dirname "$0")/.."
# postgresql-contrib: pgbench, and pgcrypto for its keys.
scripts/install-deps.sh postgresql postgresql-contrib etcd-server etcd-client patroni
# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh
cargo build --release -p semper-ha --bin bench-pg
exec "${CARGO_TARGET_DIR:-target}/release/bench-pg" "$@"
