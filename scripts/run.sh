#!/usr/bin/env bash
# `make run`: runs the embedded default. Until the server exists, that is the in-process demo of
# withdraw → deposit → spend check (`semper demo`). Extra arguments go to it, e.g. `--coins 256`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh
exec cargo run --release -p semper-server --bin semper -- demo "$@"
