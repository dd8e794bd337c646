#!/usr/bin/env bash
# `make bench-refund`: merchants' refunds end to end over HTTP on the embedded default, against
# deposits of the same coins measured in the same run, and their ratio
# (bench/src/bin/bench-refund.rs). Extra arguments go to bench-refund, e.g.
# make bench-refund ARGS="--workers 8 --coins 500 --rounds 2".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh
cargo build --release -p semper-server --bin semper
cargo build --release -p semper-bench --bin bench-refund
exec "${CARGO_TARGET_DIR:-target}/release/bench-refund" "$@"
