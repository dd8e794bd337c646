#!/usr/bin/env bash
# The replicated deployment (issue 19, README "Beyond one machine"), on loopback:
#   config/ha/deploy.sh start    three etcd members and three Patroni-managed PostgreSQL 15 nodes
#                                (scripts/ha-cluster.sh, config/ha/), then a database per bank
#                                role of config/multibank/ owned by a `semper` login role; prints
#                                each one's connection string (in ./data/ha/conninfo/, mode 600)
#   config/ha/deploy.sh stop     stop everything it started, by PID (start again: the same
#                                cluster, on its data)
#   config/ha/deploy.sh status   the cluster's members and roles (patronictl list)
# Ports from HA_PORT_BASE [default 22000]: etcd 22000-22005, PostgreSQL 22006-22008, Patroni's
# REST API 22009-22011. The Debian packages are installed when missing.
#
# TODO(pgstore): start the semper processes over these databases (two issuer processes and two
# acquirer gateways of the same banks, and the clearing house, as in config/multibank/deploy.sh)
# once the server's config can select PostgreSQL for a role's store (the "pgstore" work) and
# several processes may serve one bank's role (issue 19, item 3). Until then each process's store
# is the RocksDB of config/multibank/, and the databases made here are what its `storage` option
# will name.
set -euo pipefail
cd "$(dirname "$0")/../.."

STATE=./data/ha
CLUSTER=$STATE/cluster
BASE=${HA_PORT_BASE:-22000}
# One database per role's store: each role of each bank keeps its records apart (Store checks
# the role recorded in its database).
DATABASES=(clearing issuer_1 issuer_2 acquirer_1 acquirer_2)

password() {
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

start() {
    mkdir -p "$STATE/conninfo"
    chmod 700 "$STATE/conninfo"
    scripts/ha-cluster.sh start "$CLUSTER" "$BASE"
    if [[ -f $STATE/conninfo/${DATABASES[-1]} ]]; then
        # A restart: the role and the databases are there.
        scripts/ha-cluster.sh status "$CLUSTER"
        return
    fi
    local admin semper_password
    admin=$(cat "$CLUSTER/conninfo")
    semper_password=$(password)
    psql -q -v ON_ERROR_STOP=1 "$admin" \
        -c "CREATE ROLE semper LOGIN PASSWORD '$semper_password'"
    for database in "${DATABASES[@]}"; do
        psql -q -v ON_ERROR_STOP=1 "$admin" -c "CREATE DATABASE $database OWNER semper"
        printf 'host=127.0.0.1,127.0.0.1,127.0.0.1 port=%s,%s,%s user=semper password=%s dbname=%s target_session_attrs=read-write connect_timeout=2\n' \
            $((BASE + 6)) $((BASE + 7)) $((BASE + 8)) "$semper_password" "$database" \
            >"$STATE/conninfo/$database"
        chmod 600 "$STATE/conninfo/$database"
        echo "$database: $STATE/conninfo/$database"
    done
    scripts/ha-cluster.sh status "$CLUSTER"
}

stop() {
    scripts/ha-cluster.sh stop "$CLUSTER"
    echo "stopped; data stays in $CLUSTER (remove it to start afresh)"
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) scripts/ha-cluster.sh status "$CLUSTER" ;;
*)
    echo "usage: $0 start | stop | status" >&2
    exit 2
    ;;
esac
