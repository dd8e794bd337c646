#!/usr/bin/env bash
# `make scale-soak`: one bank's roles served by several processes over one PostgreSQL database
# (issue 19, item 3), run again and again: the real-process tests of `make test`
# (actors/tests/bank_processes.rs: two issuer processes and two acquirer gateways, the same coin
# through both, the outbox's holder killed mid-submission; actors/tests/clearing_leader.rs: the
# cycle leader stopped and killed) RUNS times each [default 10], each run with a PostgreSQL of its
# own. Prints each run's takeover times (outbox after SIGKILL; cycles after SIGSTOP and SIGKILL)
# and exits non-zero at the first run that fails.
#   make scale-soak ARGS="--runs 30"
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=10
while [[ $# -gt 0 ]]; do
    case $1 in
    --runs)
        RUNS=$2
        shift 2
        ;;
    *)
        echo "usage: $0 [--runs N]" >&2
        exit 2
        ;;
    esac
done
scripts/install-deps.sh postgresql
# shellcheck source=scripts/reuse-rocksdb.sh
source scripts/reuse-rocksdb.sh
cargo test -p semper-actors --test bank_processes --test clearing_leader --no-run
for run in $(seq 1 "$RUNS"); do
    output=$(cargo test -p semper-actors --test bank_processes --test clearing_leader \
        -- --nocapture 2>&1) || {
        echo "$output"
        echo "run $run of $RUNS failed" >&2
        exit 1
    }
    echo "run $run: $(grep -E 'taken over|takeover' <<<"$output" | tr '\n' ';')"
done
echo "$RUNS runs passed"
