#!/usr/bin/env bash
# `make api-check`: schemathesis against the served /openapi.json of a running embedded default,
# so that the document and the server cannot disagree unseen. The node runs from a temporary
# directory on free loopback ports (HTTP and the three banks' links) with a random operator
# token, and is stopped by its PID at the end, whatever happened. Bounded: API_CHECK_SECONDS
# (default 120) for the whole schemathesis run, API_CHECK_EXAMPLES (default 30) cases per
# operation. Fails on any check's failure.
#
#   scripts/api-check.sh [schemathesis run options...]   e.g. --seed 1, --max-failures 1
#
# Environment: SEMPER_BIN, a semper binary to run (default: built here, debug profile);
# API_CHECK_SECONDS, API_CHECK_EXAMPLES.
#
# schemathesis comes from PyPI, pinned in scripts/api-check-requirements.txt, in a venv under
# ~/.cache/semper (installed once, in seconds). Checks: all but positive_data_acceptance (a valid
# body may still be refused by the state: an unknown account, too little money, a bad signature
# the schema cannot describe) and the stateful ones that need links between operations.
#
# Its two warnings are expected: "missing test data" (random account, merchant and deposit ids
# name nothing, 404) and "schema validation mismatch" on the three bodies that carry an Ed25519
# key (a random 32-byte string is a valid key about half the time, and no random signature
# verifies: a JSON schema cannot say "a curve point of large order" or "a valid signature").
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${API_CHECK_SECONDS:-120}
examples=${API_CHECK_EXAMPLES:-30}

cache="${XDG_CACHE_HOME:-$HOME/.cache}/semper"
version=$(grep -oE '^schemathesis==[0-9.]+' scripts/api-check-requirements.txt | cut -d= -f3)
venv="$cache/schemathesis-$version"
if [[ $("$venv/bin/schemathesis" --version 2>/dev/null || true) != "schemathesis, version $version" ]]; then
    echo "api-check: installing schemathesis $version from PyPI in $venv" >&2
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        scripts/install-deps.sh python3 python3-venv
    fi
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
        -r scripts/api-check-requirements.txt
fi

if [[ -z ${SEMPER_BIN:-} ]]; then
    # shellcheck source=scripts/reuse-rocksdb.sh
    source scripts/reuse-rocksdb.sh
    cargo build --locked -p semper-server --bin semper
    SEMPER_BIN="${CARGO_TARGET_DIR:-target}/debug/semper"
fi

work=$(mktemp -d)
pid=
stop() {
    if [[ -n $pid ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap stop EXIT

# Four free loopback ports: each is bound to port 0 and released; the node binds them next.
read -r http link0 link1 link2 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
')
token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
base="http://127.0.0.1:$http"

SEMPER__NODE__DATA_DIR="$work/data" \
    SEMPER__NODE__LOG=warn \
    SEMPER__HTTP__LISTEN="127.0.0.1:$http" \
    SEMPER__HTTP__OPERATOR_TOKEN="$token" \
    SEMPER__BANKS__0__LINK_LISTEN="127.0.0.1:$link0" \
    SEMPER__BANKS__1__LINK_LISTEN="127.0.0.1:$link1" \
    SEMPER__BANKS__2__LINK_LISTEN="127.0.0.1:$link2" \
    "$SEMPER_BIN" run >"$work/semper.log" 2>&1 &
pid=$!

# Whether the node answers /health with 200.
healthy() {
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "$base/health" >/dev/null 2>&1
}
for _ in $(seq 1 300); do
    if healthy; then
        break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "api-check: FAIL: the node stopped while starting:" >&2
        cat "$work/semper.log" >&2
        exit 1
    fi
    sleep 0.2
done
if ! healthy; then
    echo "api-check: FAIL: the node did not answer /health within 60 s" >&2
    exit 1
fi

echo "api-check: schemathesis $version against $base/openapi.json, ${seconds}s at most" >&2
status=0
# From the temporary directory, where schemathesis keeps its cache of crashes (.schemathesis/).
(cd "$work" && "$venv/bin/schemathesis" run "$base/openapi.json" \
    --url "$base" \
    --checks all \
    --exclude-checks positive_data_acceptance,use_after_free,ensure_resource_availability,object_level_authorization,ignored_auth \
    --phases examples,coverage,fuzzing \
    --max-examples "$examples" \
    --max-time "$seconds" \
    --workers 1 \
    --request-timeout 10 \
    --generation-database none \
    --header "Authorization: Bearer $token" \
    --no-color \
    "$@") || status=$?
if ! kill -0 "$pid" 2>/dev/null; then
    echo "api-check: FAIL: the node died under the run:" >&2
    tail -n 50 "$work/semper.log" >&2
    exit 1
fi
if grep -qE ' ERROR ' "$work/semper.log"; then
    echo "api-check: the node logged errors:" >&2
    grep -E ' ERROR ' "$work/semper.log" | head -n 20 >&2
    status=1
fi
exit "$status"
