#!/usr/bin/env bash
# `make test`: the tests of the scripts (scripts/test-*.sh), the known-answer vectors checked by
# the specification's second implementation (docs/vectors/check.py, Python), every test of the
# workspace against the committed Cargo.lock, the Python wallet's tests (wallets/python: the
# vectors, then a live node of its own), then a short schemathesis run (30 s) against the served
# /openapi.json of the `semper` those tests built (scripts/api-check.sh; `make api-check` runs it
# longer).
set -euo pipefail
cd "$(dirname "$0")/.."
# python3-cryptography: Ed25519 and RSA for docs/vectors/check.py, with Debian's Python.
# postgresql: the storage conformance suite (storage/tests/backends.rs) starts a server of its own.
# etcd-server, etcd-client, patroni (and postgresql-contrib, for pgcrypto): the failover test
# (ha/tests/failover.rs) starts a three-node Patroni cluster (scripts/ha-cluster.sh).
# softhsm2: the signer's PKCS#11 backend is tested against SoftHSM2 tokens the tests make in
# temp directories (actors/tests/pkcs11.rs, loadtest/tests/binary/signer_token.rs).
scripts/install-deps.sh python3 python3-cryptography postgresql postgresql-contrib etcd-server \
    etcd-client patroni softhsm2
# The scripts' own tests: quick, and no build.
scripts/test-audit.sh
scripts/test-reuse-rocksdb.sh
# An encoder written from docs/protocol.md alone agrees with every vector the Rust code computes.
python=/usr/bin/python3
[[ -x $python ]] || python=python3
"$python" docs/vectors/check.py
# Every test of the workspace. It also builds the `semper` binary (for the server's and the load
# tester's integration tests), which the Python wallet's tests below run; a separate `cargo build
# -p semper-server` would resolve features apart from the workspace's and rebuild RocksDB.
cargo test --workspace --locked "$@"
# The Python wallet, written from docs/protocol.md: every vector, then withdraw, pay, deposit,
# double spend and settlement against a `semper run` that its tests start and stop (by PID).
semper_bin="$(cargo metadata --format-version 1 --no-deps \
    | "$python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/semper"
(cd wallets/python && SEMPER_BIN="$semper_bin" SEMPER_WALLET_LIVE=required \
    "$python" -m unittest discover -s tests -t .)
# A short schemathesis run against the served /openapi.json of that same `semper`.
SEMPER_BIN="$semper_bin" API_CHECK_SECONDS=30 scripts/api-check.sh
