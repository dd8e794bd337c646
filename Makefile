# The two commands the README promises, and the others. Each target is a script in scripts/ that
# also runs on its own, e.g. on a machine without make (make comes with build-essential).

.PHONY: run try load soak soak-ha ha-soak scale-soak test bench bench-pg bench-signer bench-refund bench-swap bench-ha bench-shards bench-atm fuzz audit api-check fmt-check deps

# Extra arguments for `semper run`, e.g. make run ARGS="--config config/embedded.toml".
ARGS ?=
# Seconds per target for `make fuzz`, e.g. make fuzz FUZZ_SECONDS=600.
FUZZ_SECONDS ?= 60

## Run the embedded default: an issuer, an acquirer and a clearing house in one process.
run:
	scripts/run.sh $(ARGS)

## With `make run` running: a withdrawal, a deposit and a settlement against it (semper try).
try:
	scripts/try.sh $(ARGS)

## With `make run` running: load it with semper-load, and check the invariants at the end.
load:
	scripts/load.sh $(ARGS)

## The long crash-kill soak: 60 SIGKILLs of the embedded default under load, then the invariants;
## of one of the five banks at a time with make soak ARGS="--deployment multibank".
soak:
	scripts/soak.sh $(ARGS)

## The failover soak of the replicated deployment (config/ha/deploy.sh): semper-load's default
## mix while a semper process (clearing, issuer or gateway) is SIGKILLed and restarted 20 times
## and the PostgreSQL primary 20 times, each failover timed to the first acknowledged write, then
## every invariant (make soak-ha ARGS="--kills 40 --primary-kills 40").
soak-ha:
	scripts/soak-ha.sh $(ARGS)

## The failover soak of the replicated deployment: a three-node Patroni cluster, writes through
## semper's PostgreSQL backend, 20 SIGKILLs of the primary, every acknowledged write checked on
## every node (make ha-soak ARGS="--kills 40").
ha-soak:
	scripts/ha-soak.sh $(ARGS)

## One bank's roles in several processes over one PostgreSQL database, again and again: the
## real-process tests of make test (the same coin through two gateways, the outbox's and the
## cycle leader's takeover after SIGKILL), 10 runs (make scale-soak ARGS="--runs 30").
scale-soak:
	scripts/scale-soak.sh $(ARGS)

## Run every test of the workspace.
test:
	scripts/test.sh

## Run the criterion benchmarks, then the ratio report.
bench:
	scripts/bench.sh

## The spent set's check-and-insert through semper's PostgreSQL backend against pgbench running
## the same statement on the same three-node cluster, and their ratio.
bench-pg:
	scripts/bench-pg.sh $(ARGS)

## Withdrawals end to end with the issuer's signer in process, in its own process, and over a
## SoftHSM2 token, against the in-process signer and each backend's raw signing rate (issue 22).
bench-signer:
	scripts/bench-signer.sh $(ARGS)

## Merchants' refunds end to end over HTTP on the embedded default, against deposits of the same
## coins in the same run, and their ratio (make bench-refund ARGS="--workers 8 --coins 500").
bench-refund:
	scripts/bench-refund.sh $(ARGS)

## Swaps (change at the issuer) end to end over HTTP on the embedded default, against
## withdrawals plus deposits of the same coins in the same run, and their ratio
## (make bench-swap ARGS="--workers 8 --coins 250 --per-request 4").
bench-swap:
	scripts/bench-swap.sh $(ARGS)

## Deposits and withdrawals over HTTP on the replicated deployment (config/ha/deploy.sh, started
## and stopped for the run) against the embedded RocksDB, and coins per server core-second with
## one acquirer gateway and with two (HA_PORT_BASE moves its ports, default 22000; longer phases
## with ARGS="--stock-rounds 3").
bench-ha:
	scripts/bench-ha.sh $(ARGS)

## The issuer's spend checks with the spent set unsharded (one store) and in two shard groups
## (bench-issuer); other counts with make bench-shards ARGS="0 2 4".
bench-shards:
	scripts/bench-shards.sh $(ARGS)

## bench-atm alone: the ATM carrier against cell loss and delay, before and after (issue 23), and
## OC-12c; parts with e.g. make bench-atm ARGS="loss".
bench-atm:
	scripts/bench-atm.sh $(ARGS)

## Run every fuzz target for FUZZ_SECONDS each; needs nightly and cargo-fuzz (fuzz/README.md).
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

## cargo-audit of Cargo.lock and the fuzz lockfile against the RustSec advisory database, failing on
## any advisory SECURITY.md does not explain (scripts/audit.sh).
audit:
	scripts/audit.sh

## schemathesis against the served /openapi.json of an embedded default started on free loopback
## ports for the run (scripts/api-check.sh); API_CHECK_SECONDS bounds it (default 120).
api-check:
	scripts/api-check.sh $(ARGS)

## Check formatting.
fmt-check:
	cargo fmt --all -- --check

## Install the Debian packages the build needs, if missing.
deps:
	scripts/install-deps.sh
