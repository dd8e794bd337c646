#!/usr/bin/env bash
# `make soak`: the long crash-kill soak. A deployment runs as child processes under semper-load's
# default mix (refunds, swaps and recoups in it, the issuers charging withdraw, deposit and swap
# fees and each revoking a denomination for the recoups), and one of them, picked at random, is
# killed with SIGKILL at random moments (60
# times by default) and restarted on its own data and ports each time; at the end every invariant
# must hold and nothing acknowledged may be missing (exit 2 otherwise). Extra arguments go to
# `semper-soak`, e.g. `--kills 200`. The deployment is the embedded default (one process) unless
# `--deployment multibank` asks for the five banks of config/multibank/ (two issuers, two
# acquirers and a clearing house, each its own process, linked by mutual TLS):
#   make soak ARGS="--deployment multibank"     (or: scripts/soak.sh --deployment multibank)
# `--deployment multibank-atm` runs the variant whose acquirer–clearing links are emulated ATM.
# The short versions run under `make test` (loadtest/tests/binary/soak.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
source scripts/reuse-rocksdb.sh
cargo build --release -p semper-server --bin semper
cargo build --release -p semper-loadtest --bin semper-soak
exec "${CARGO_TARGET_DIR:-target}/release/semper-soak" "$@"
