#!/usr/bin/env bash
# `make bench-signer`: withdrawal throughput end to end over HTTP with the issuer's signer in
# process, in its own process over key files, and in its own process over a SoftHSM2 token, each
# as a ratio against the in-process signer and against its backend's raw signing rate (OpenSSL's
# raw RSA private operation; SoftHSM2's C_Sign), all in one run (bench/src/bin/bench-signer.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh softhsm2
# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh
cargo build --release -p semper-server --bin semper
cargo build --release -p semper-bench --bin bench-signer
exec "${CARGO_TARGET_DIR:-target}/release/bench-signer" "$@"
