#!/usr/bin/env bash
# `make bench-atm`: bench-atm alone, the emulated ATM carrier's benchmark (also part of
# `make bench`): the emulator's capacity, settlement goodput over OC-3c, the table against cell
# loss and delay with the link's sender before and after issue 23 side by side, and OC-12c.
# Arguments pick parts, e.g. make bench-atm ARGS="loss oc12c". About 10 minutes in all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh

cargo run --release -p semper-bench --bin bench-atm -- "$@"
