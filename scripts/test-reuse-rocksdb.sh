#!/usr/bin/env bash
# Tests of scripts/reuse-rocksdb.sh (run by `make test`), from a fresh clone of this repository as
# a newcomer has it: no CARGO_TARGET_DIR, so the default target/ inside the clone. A placeholder
# stands where the test build leaves librocksdb.a, so nothing is built. The exported
# ROCKSDB_LIB_DIR must be absolute: librocksdb-sys's build script, which reads it, runs in another
# directory, where a relative one names nothing.
# The single-quoted commands and Markdown rows are meant literally.
# shellcheck disable=SC2016
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q . "$work/clone"
# The script as it is in this work tree, committed or not.
cp scripts/reuse-rocksdb.sh "$work/clone/scripts/reuse-rocksdb.sh"
passed=0
failed=0

# check NAME COMMAND...: runs COMMAND in the clone, with none of the variables the script reads.
check() {
    local name=$1
    shift
    if (cd "$work/clone" && env -u CARGO_TARGET_DIR -u ROCKSDB_LIB_DIR -u ROCKSDB_STATIC \
        bash -c "$*") >"$work/out" 2>&1; then
        passed=$((passed + 1))
        echo "test-reuse-rocksdb: $name ... ok"
    else
        failed=$((failed + 1))
        echo "test-reuse-rocksdb: $name ... FAILED, output:"
        sed 's/^/    /' "$work/out"
    fi
}

check "without a test build, nothing is exported" \
    'source scripts/reuse-rocksdb.sh && [[ -z ${ROCKSDB_LIB_DIR:-} && -z ${ROCKSDB_STATIC:-} ]]'

mkdir -p "$work/clone/target/debug/build/librocksdb-sys-0123456789abcdef/out"
touch "$work/clone/target/debug/build/librocksdb-sys-0123456789abcdef/out/librocksdb.a"
check "the default target/: the archive's directory, absolute" \
    'source scripts/reuse-rocksdb.sh && echo "ROCKSDB_LIB_DIR=$ROCKSDB_LIB_DIR" &&
     [[ $ROCKSDB_LIB_DIR == /* && $ROCKSDB_STATIC == 1 ]] &&
     cd / && [[ -f $ROCKSDB_LIB_DIR/librocksdb.a ]]'
check "a relative CARGO_TARGET_DIR: absolute too" \
    'mv target other-target && export CARGO_TARGET_DIR=other-target &&
     source scripts/reuse-rocksdb.sh && echo "ROCKSDB_LIB_DIR=$ROCKSDB_LIB_DIR" &&
     [[ $ROCKSDB_LIB_DIR == /* ]] && cd / && [[ -f $ROCKSDB_LIB_DIR/librocksdb.a ]]'
check "a ROCKSDB_LIB_DIR already set is kept" \
    'export ROCKSDB_LIB_DIR=/opt/rocksdb && source scripts/reuse-rocksdb.sh &&
     [[ $ROCKSDB_LIB_DIR == /opt/rocksdb ]]'

echo "test-reuse-rocksdb: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
