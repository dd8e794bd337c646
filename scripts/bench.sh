#!/usr/bin/env bash
# `make bench`: the criterion benchmarks (crypto hot paths, spent set), the ratio report over their
# results, then the issuer's end-to-end throughput against its references, and settlement: the
# clearing house's netting, the acquirer's deposit intake and submissions over the link, and
# bench-load: deposits and withdrawals end to end over HTTP against their references.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh

cargo bench -p semper-bench
cargo run --release -p semper-bench --bin bench-ratios
cargo run --release -p semper-bench --bin bench-spent
cargo run --release -p semper-bench --bin bench-issuer
cargo run --release -p semper-bench --bin bench-netting
cargo run --release -p semper-bench --bin bench-intake
cargo run --release -p semper-bench --bin bench-settlement
cargo run --release -p semper-bench --bin bench-atm
# Issue 7's targets end to end over HTTP: the semper binary under semper-load, beside its references.
cargo build --release -p semper-server --bin semper
cargo run --release -p semper-bench --bin bench-load
