# shellcheck shell=bash
# Sourced by the release-build scripts (run.sh, bench.sh).
#
# librocksdb-sys compiles RocksDB (about 20 minutes on 2 cores) once per profile. When the test
# build has made it already, at opt-level 3 with NDEBUG (see [profile.dev.package."*"]), release
# builds link that archive instead of compiling it again. Without one, they build it as usual.
if [[ -z ${ROCKSDB_LIB_DIR:-} ]]; then
    semper_archive=$(ls -t "${CARGO_TARGET_DIR:-target}"/debug/build/librocksdb-sys-*/out/librocksdb.a 2>/dev/null | head -n 1 || true)
    if [[ -n $semper_archive ]]; then
        # Absolute: librocksdb-sys's build script reads it from a directory of its own, where a
        # relative path (target/... when CARGO_TARGET_DIR is unset) names nothing.
        ROCKSDB_LIB_DIR=$(cd "$(dirname "$semper_archive")" && pwd -P)
        export ROCKSDB_LIB_DIR
        export ROCKSDB_STATIC=1
        echo "linking the RocksDB already built in $ROCKSDB_LIB_DIR" >&2
    fi
    unset semper_archive
fi
