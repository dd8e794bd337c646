#!/usr/bin/env bash
# `make bench`: the criterion benchmarks of the hot paths, then the ratio report over their results.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo bench -p semper-bench
cargo run --release -p semper-bench --bin bench-ratios
