#!/usr/bin/env bash
# `make test`: the tests of the scripts (scripts/test-*.sh), then every test of the workspace,
# against the committed Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The scripts' own tests: quick, and no build.
scripts/test-audit.sh
scripts/test-reuse-rocksdb.sh
exec cargo test --workspace --locked "$@"
