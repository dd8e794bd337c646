#!/usr/bin/env bash
# `make try`: with `make run` running in another terminal, walks through a withdrawal, a payment,
# a deposit, a refused double spend and a settlement against it (`semper try`), printing each
# step. Extra arguments go to `semper try`, e.g. `--coins 16` or `--http 127.0.0.1:9090`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh
exec cargo run --release -p semper-server --bin semper -- try "$@"
