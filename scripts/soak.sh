#!/usr/bin/env bash
# `make soak`: the long crash-kill soak. The embedded default runs as a child process under
# semper-load's default mix and is killed with SIGKILL at random moments (60 times by default),
# restarted on its data each time; at the end every invariant must hold and nothing acknowledged
# may be missing (exit 2 otherwise). Extra arguments go to `semper-soak`, e.g. `--kills 200`.
# The short version runs under `make test` (server/tests/binary/soak.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
source scripts/reuse-rocksdb.sh
cargo build --release -p semper-server --bin semper
cargo build --release -p semper-loadtest --bin semper-soak
exec "${CARGO_TARGET_DIR:-target}/release/semper-soak" "$@"
