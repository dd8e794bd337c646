#!/usr/bin/env bash
# `make run`: runs the embedded default (`semper run`): an issuer, an acquirer and a clearing
# house in one process, RocksDB under ./data, the HTTP API on http://127.0.0.1:8080. Stop it with
# Ctrl-C. Extra arguments go to `semper run`, e.g. `--config config/embedded.toml`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh
exec cargo run --release -p semper-server --bin semper -- run "$@"
