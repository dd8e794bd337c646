#!/usr/bin/env bash
# `make test`: the tests of the scripts (scripts/test-*.sh), the known-answer vectors checked by
# the specification's second implementation (docs/vectors/check.py, Python), every test of the
# workspace, against the committed Cargo.lock, then a short schemathesis run (30 s) against the
# served /openapi.json of the `semper` those tests built (scripts/api-check.sh; `make api-check`
# runs it longer).
set -euo pipefail
cd "$(dirname "$0")/.."
# python3-cryptography: Ed25519 and RSA for docs/vectors/check.py, with Debian's Python.
# postgresql: the storage conformance suite (storage/tests/backends.rs) starts a server of its own.
scripts/install-deps.sh python3 python3-cryptography postgresql
# The scripts' own tests: quick, and no build.
scripts/test-audit.sh
scripts/test-reuse-rocksdb.sh
# An encoder written from docs/protocol.md alone agrees with every vector the Rust code computes.
python=/usr/bin/python3
[[ -x $python ]] || python=python3
"$python" docs/vectors/check.py
cargo test --workspace --locked "$@"
semper="${CARGO_TARGET_DIR:-target}/debug/semper"
if [[ -x $semper ]]; then
    export SEMPER_BIN=$semper
fi
API_CHECK_SECONDS=30 scripts/api-check.sh
