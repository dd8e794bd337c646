#!/usr/bin/env bash
# `make bench-shards`: the issuer's spend checks (bench-issuer: 256-coin batches, each coin
# verified and checked-and-inserted into the spent set with a durable write) with the spent set
# in one shard (unsharded, in the issuer's own store: SEMPER_BENCH_SPENT_SHARDS=0) and in two
# shard groups (each a RocksDB directory of its own on the same disk), in one run, then both
# rates and their ratio. Other counts with `make bench-shards ARGS="0 2 4"` (a sharded spent set
# has at least 2 groups).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh
cargo build --release -p semper-bench --bin bench-issuer
BIN=${CARGO_TARGET_DIR:-target}/release/bench-issuer

GROUPS_LIST=("$@")
((${#GROUPS_LIST[@]})) || GROUPS_LIST=(0 2)
declare -A RATE VERSUS
for groups in "${GROUPS_LIST[@]}"; do
    echo "== bench-issuer, spent set in $groups shard group(s)"
    out=$(SEMPER_BENCH_SPENT_SHARDS=$groups "$BIN" | tee /dev/stderr)
    RATE[$groups]=$(awk '/^issuer spend check, 256-coin batches, coins/ { print $NF }' <<<"$out")
    # Against BatchVerifier alone in the same rounds: what tells the split's cost from the
    # machine's drift between runs.
    VERSUS[$groups]=$(awk '/^spend check \/ BatchVerifier alone/ { print $(NF - 2) }' <<<"$out")
done
echo
echo "spend checks by spent-set shard groups (bench-issuer, release, $(nproc) cores; 0: unsharded)"
printf '%-14s %14s %26s\n' "shard groups" "coins/s" "spend check / BatchVerifier"
for groups in "${GROUPS_LIST[@]}"; do
    printf '%-14s %14s %26s\n' "$groups" "${RATE[$groups]}" "${VERSUS[$groups]}"
done
