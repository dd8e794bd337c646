#!/usr/bin/env bash
# `scripts/fuzz.sh [SECONDS_PER_TARGET]`: builds every fuzz target of fuzz/cargo-fuzz with
# `cargo +nightly fuzz` and runs each, one at a time, for SECONDS_PER_TARGET (default 60) against
# a working copy of its seed corpus and regressions. Prints the executions and the time of each,
# and exits 1 if any target crashed (the input lands in fuzz/cargo-fuzz/artifacts/<target>/).
#
# Environment:
#   FUZZ_TARGETS      the targets to run, space-separated (default: all)
#   FUZZ_SANITIZER    address (default) or none (about twice the executions per second)
#   FUZZ_MERGE=1      after each run, merge the inputs that add coverage into fuzz/corpus/<target>
#                     (libFuzzer -merge=1); check the corpus stays small before committing it
#   FUZZ_TARGET_DIR   the nightly build's target dir (default ~/.cache/semper/target-fuzz-nightly)
#   FUZZ_JOBS         cargo build jobs (default: cargo's own)
#   FUZZ_TIMEOUT      seconds one input may run before libFuzzer reports it (default 20); raise it
#                     when the fuzzer shares the machine at nice 19 and may be starved of CPU
#   FUZZ_LOG          a file each target's result line is appended to as soon as it finishes
#
# Needs a nightly toolchain and cargo-fuzz: `rustup toolchain install nightly` and
# `cargo install cargo-fuzz`. See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds == 0)); then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: needs a nightly toolchain and cargo-fuzz:" >&2
    echo "  rustup toolchain install nightly && cargo install cargo-fuzz" >&2
    exit 2
fi

fuzz_dir=fuzz/cargo-fuzz
target_dir=${FUZZ_TARGET_DIR:-$HOME/.cache/semper/target-fuzz-nightly}
sanitizer=${FUZZ_SANITIZER:-address}

# RocksDB (linked through semper-storage, never called by a target) takes about 20 minutes to
# compile: link an archive an earlier build made, as the release scripts do.
if [[ -z ${ROCKSDB_LIB_DIR:-} ]]; then
    archive=$(ls -t "${CARGO_TARGET_DIR:-target}"/debug/build/librocksdb-sys-*/out/librocksdb.a \
        "$HOME"/.cache/semper/*/debug/build/librocksdb-sys-*/out/librocksdb.a 2>/dev/null |
        head -n 1 || true)
    if [[ -n $archive ]]; then
        ROCKSDB_LIB_DIR=$(dirname "$archive")
        export ROCKSDB_LIB_DIR
        export ROCKSDB_STATIC=1
        echo "fuzz: linking the RocksDB already built in $ROCKSDB_LIB_DIR" >&2
    else
        echo "fuzz: no RocksDB archive found; building it from source (about 20 minutes)" >&2
    fi
fi

build=(cargo +nightly fuzz build --fuzz-dir "$fuzz_dir" --target-dir "$target_dir" -s "$sanitizer")
if [[ -n ${FUZZ_JOBS:-} ]]; then
    export CARGO_BUILD_JOBS=$FUZZ_JOBS
fi
echo "fuzz: building the targets (${sanitizer} sanitizer) in $target_dir" >&2
nice -n 19 "${build[@]}"

if [[ -n ${FUZZ_TARGETS:-} ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir "$fuzz_dir")
fi

mkdir -p "$fuzz_dir/logs" "$fuzz_dir/work"
declare -a summary
crashed=0
for target in "${targets[@]}"; do
    if [[ ! -d fuzz/corpus/$target ]]; then
        echo "fuzz: no seed corpus fuzz/corpus/$target" >&2
        exit 2
    fi
    # A working copy: what the run finds stays out of the committed corpus unless merged.
    work=$fuzz_dir/work/$target
    rm -rf "$work"
    mkdir -p "$work" "$fuzz_dir/artifacts/$target"
    cp fuzz/corpus/"$target"/* "$work"/
    if [[ -d fuzz/regressions/$target ]]; then
        cp fuzz/regressions/"$target"/* "$work"/ 2>/dev/null || true
    fi
    log=$fuzz_dir/logs/$target.log
    echo "fuzz: $target for ${seconds}s (log: $log)" >&2
    start=$SECONDS
    status=0
    # `time` reports the CPU the run was given (user and system, the fuzzer included): at nice 19
    # on a busy machine that can be far less than the time it ran.
    cpu=$({ TIMEFORMAT='%U %S'; time nice -n 19 cargo +nightly fuzz run --fuzz-dir "$fuzz_dir" \
        --target-dir "$target_dir" -s "$sanitizer" "$target" "$work" -- \
        -max_total_time="$seconds" -print_final_stats=1 -timeout="${FUZZ_TIMEOUT:-20}" \
        -rss_limit_mb=2048 >"$log" 2>&1 || echo "status $?" >&2; } 2>&1 | tail -n 2) || true
    if [[ $cpu =~ status\ ([0-9]+) ]]; then
        status=${BASH_REMATCH[1]}
    fi
    cpu_s=$(grep -E '^[0-9.]+ [0-9.]+$' <<<"$cpu" | awk 'END { printf "%.0f", $1 + $2 }')
    elapsed=$((SECONDS - start))
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
    written=$(grep -o 'Test unit written to [^ ]*' "$log" | sed 's/Test unit written to //' || true)
    # A slow unit is not a crash: libFuzzer writes one when an input ran past
    # -report_slow_units seconds of wall time, which a fuzzer starved at nice 19 can do with any
    # input. It is run again here, alone, and reported with the time that takes.
    artifact=$(grep -v '/slow-unit-' <<<"$written" | tail -n 1 || true)
    slow=$(grep '/slow-unit-' <<<"$written" | tail -n 1 || true)
    if ((status != 0)) || [[ -n $artifact ]]; then
        crashed=1
        result="CRASH ${artifact:-"(exit $status, see $log)"}"
        tail -n 40 "$log" >&2
    else
        result=ok
    fi
    if [[ -n $slow ]]; then
        binary=$target_dir/$(rustc +nightly -vV | sed -n 's/^host: //p')/release/$target
        again=$({ TIMEFORMAT='%R'; time "$binary" "$slow" >/dev/null 2>&1; } 2>&1 || true)
        result="$result; slow unit reported ($(grep -o 'Slowest unit: [0-9]* s' "$log" | tail -n 1 |
            sed 's/Slowest unit: //')), ${again}s when run again: $slow"
    fi
    line=$(printf '%-16s %8ss %8ss %14s   %s' "$target" "$elapsed" "$cpu_s" "${runs:-?}" "$result")
    summary+=("$line")
    if [[ -n ${FUZZ_LOG:-} ]]; then
        echo "$(date -u +%FT%TZ) $sanitizer $line" >>"$FUZZ_LOG"
    fi
    if [[ ${FUZZ_MERGE:-0} == 1 && $result == ok ]]; then
        nice -n 19 cargo +nightly fuzz run --fuzz-dir "$fuzz_dir" --target-dir "$target_dir" \
            -s "$sanitizer" "$target" "fuzz/corpus/$target" "$work" -- -merge=1 \
            >>"$log" 2>&1
    fi
done

echo
echo "target               time       CPU     executions   result"
printf '%s\n' "${summary[@]}"
exit "$crashed"
