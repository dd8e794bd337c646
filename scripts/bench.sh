#!/usr/bin/env bash
# `make bench`: the criterion benchmarks (crypto hot paths, spent set), the ratio report over their
# results, then the issuer's end-to-end throughput against its references.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

# librocksdb-sys compiles RocksDB (about 20 minutes on 2 cores) once per profile. The test build
# already made it, at opt-level 3 with NDEBUG (see [profile.dev.package."*"]), so the release
# build links that archive instead of compiling it again.
if [[ -z ${ROCKSDB_LIB_DIR:-} ]]; then
    target_dir=${CARGO_TARGET_DIR:-target}
    archive=$(ls -t "$target_dir"/debug/build/librocksdb-sys-*/out/librocksdb.a 2>/dev/null | head -n 1 || true)
    if [[ -n $archive ]]; then
        export ROCKSDB_LIB_DIR
        ROCKSDB_LIB_DIR=$(dirname "$archive")
        export ROCKSDB_STATIC=1
        echo "bench: linking the RocksDB already built in $ROCKSDB_LIB_DIR" >&2
    fi
fi

cargo bench -p semper-bench
cargo run --release -p semper-bench --bin bench-ratios
cargo run --release -p semper-bench --bin bench-issuer
