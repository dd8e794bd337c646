#!/usr/bin/env bash
# `make test`: every test of the workspace, against the committed Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
exec cargo test --workspace --locked "$@"
