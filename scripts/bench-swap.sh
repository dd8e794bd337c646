#!/usr/bin/env bash
# `make bench-swap`: swaps (change at the issuer) end to end over HTTP on the embedded default,
# against withdrawals plus deposits of the same coins measured in the same run, and their ratio
# (bench/src/bin/bench-swap.rs). Extra arguments go to bench-swap, e.g.
# make bench-swap ARGS="--workers 8 --coins 250 --per-request 4 --rounds 2".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh
cargo build --release -p semper-server --bin semper
cargo build --release -p semper-bench --bin bench-swap
exec "${CARGO_TARGET_DIR:-target}/release/bench-swap" "$@"
