#!/usr/bin/env bash
# `make load`: with `make run` running in another terminal, drives it with `semper-load`: simulated
# wallets withdraw and pay, merchants deposit, cycles settle, with double spends and replays in the
# mix; it prints live rates, then throughput and latency percentiles per operation, writes
# data/load/report.json and data/load/plot.svg, and checks the invariants (exit 2 if one broke).
# Extra arguments go to `semper-load`, e.g. `--mode open --rate 200 --duration 60`; see
# loadtest/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
mkdir -p data/load
exec cargo run --release -p semper-loadtest --bin semper-load -- \
    --url http://127.0.0.1:8080 --token-file data/operator-token \
    --report data/load/report.json --plot data/load/plot.svg "$@"
