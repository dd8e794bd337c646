#!/usr/bin/env bash
# Tests of the audit gate (scripts/audit.sh, run by `make test`): fixture lockfiles with versions
# the advisory database flags, and fixture SECURITY.md tables, must make the audit fail or pass as
# SECURITY.md's format says. Uses the snapshot in ../shared/advisory-db when there is one (offline,
# the same advisories on every run), else whatever scripts/audit.sh finds.
# The single-quoted commands and Markdown rows are meant literally.
# shellcheck disable=SC2016
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -d ../shared/advisory-db ]]; then
    export AUDIT_FETCH=0 AUDIT_DB=../shared/advisory-db
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

# Writes a lockfile $work/NAME.lock holding the packages given as "name version" arguments.
lockfile() {
    local name=$1 package
    shift
    echo "version = 4" >"$work/$name.lock"
    for package in "$@"; do
        printf '\n[[package]]\nname = "%s"\nversion = "%s"\nsource = "%s"\n' \
            "${package% *}" "${package#* }" \
            "registry+https://github.com/rust-lang/crates.io-index" >>"$work/$name.lock"
    done
}

# Writes $work/NAME.md, a SECURITY.md whose advisory table has the rows given as arguments.
security() {
    local name=$1 row
    shift
    {
        printf '# Security notes\n\n## Known advisories in the dependency tree\n\n'
        printf '| advisory | crate | where it is used | assessment |\n| --- | --- | --- | --- |\n'
        for row in "$@"; do echo "$row"; done
        printf '\n## Another section\n\n| RUSTSEC-2025-0141 is not a row of the table |\n'
    } >"$work/$name.md"
}

# check NAME EXPECTED_EXIT EXPECTED_TEXT SECURITY LOCK...: runs the audit (in the environment
# audit_env adds), checks its exit status and that its output holds EXPECTED_TEXT.
audit_env=()
check() {
    local name=$1 expected=$2 text=$3 doc=$4 status=0
    shift 4
    local locks=()
    for lock in "$@"; do locks+=("$work/$lock.lock"); done
    env "${audit_env[@]}" scripts/audit.sh --security "$work/$doc.md" "${locks[@]}" >"$work/out" 2>&1 ||
        status=$?
    if [[ $status -eq $expected ]] && grep -qF -- "$text" "$work/out"; then
        passed=$((passed + 1))
        echo "test-audit: $name ... ok"
    else
        failed=$((failed + 1))
        echo "test-audit: $name ... FAILED: exit $status (expected $expected), output:"
        sed 's/^/    /' "$work/out"
    fi
}

h2_row='| RUSTSEC-2026-0258 | `h2 0.3.27` | nowhere | a fixture reason |'
lockfile h2_vulnerable "h2 0.3.27" "itoa 1.0.15"
lockfile h2_patched "h2 0.4.16" "itoa 1.0.15"
lockfile bincode_unmaintained "bincode 2.0.1"
lockfile cvss4 "libcrux-sha3 0.0.9"
security empty
security explained "$h2_row"
security other_version '| RUSTSEC-2026-0258 | `h2 0.3.26` | nowhere | a fixture reason |'
security no_assessment '| RUSTSEC-2026-0258 | `h2 0.3.27` | nowhere | |'
security bad_id '| see RUSTSEC-2026-0258 | `h2 0.3.27` | nowhere | a fixture reason |'
echo "# no advisory section" >"$work/no_section.md"

check "an unexplained vulnerability fails" 1 \
    "RUSTSEC-2026-0258 h2 0.3.27 (vulnerability: h2 unbounded empty DATA frames) is not explained" \
    empty h2_vulnerable
check "an explained vulnerability passes" 0 "explained in $work/explained.md" explained h2_vulnerable
check "an explanation of another version fails" 1 "explains RUSTSEC-2026-0258 for h2 0.3.26 only" \
    other_version h2_vulnerable
check "an explained advisory no longer found fails" 1 \
    "explains RUSTSEC-2026-0258, which no audited lockfile has any more" explained h2_patched
check "a clean lockfile passes" 0 "0 finding(s), 0 explained advisory(ies), 0 problem(s)" \
    empty h2_patched
check "an unexplained unmaintained crate fails" 1 "RUSTSEC-2025-0141 bincode 2.0.1 (unmaintained" \
    empty bincode_unmaintained
check "a CVSS 4.0 advisory is found" 1 "RUSTSEC-2026-0207 libcrux-sha3 0.0.9" empty cvss4
check "every lockfile is audited" 1 "h2_vulnerable.lock: RUSTSEC-2026-0258" \
    empty h2_patched h2_vulnerable
check "a row without an assessment fails" 1 "RUSTSEC-2026-0258's row needs 4 cells" \
    no_assessment h2_vulnerable
check "a row not starting with the id fails" 1 "the row's first cell must start with the advisory id" \
    bad_id h2_vulnerable
check "a SECURITY.md without the section fails" 1 "has no section" no_section h2_patched
check "a lockfile that cannot be read fails" 1 "cargo-audit could not audit" empty missing

# A fresher database, where one can be fetched: a local upstream (a copy of the snapshot with an
# advisory of its own against itoa) stands in for GitHub.
# upstream_advisory N: adds RUSTSEC-2099-000N against every itoa before 99 to the upstream, committed.
upstream_advisory() {
    printf '```toml\n[advisory]\nid = "RUSTSEC-2099-000%s"\npackage = "itoa"\ndate = "2099-01-01"\n' \
        "$1" >"$work/upstream/crates/itoa/RUSTSEC-2099-000$1.md"
    printf 'url = "https://example.org"\n\n[versions]\npatched = [">= 99.0.0"]\n```\n\n' \
        >>"$work/upstream/crates/itoa/RUSTSEC-2099-000$1.md"
    printf '# A fixture advisory\n\nOnly in the upstream of scripts/test-audit.sh.\n' \
        >>"$work/upstream/crates/itoa/RUSTSEC-2099-000$1.md"
    git -C "$work/upstream" add -A
    git -C "$work/upstream" -c user.name=test -c user.email=test@example.org commit -q -m "$1"
}
if [[ -d ../shared/advisory-db ]]; then
    cp -r ../shared/advisory-db "$work/upstream"
    chmod -R u+w "$work/upstream"
    mkdir -p "$work/upstream/crates/itoa"
    git -C "$work/upstream" init -q
    upstream_advisory 1
    reachable=(-u AUDIT_DB AUDIT_FETCH=1 "AUDIT_DB_URL=file://$work/upstream" "AUDIT_DB_CLONE=$work/clone")
    unreachable=(-u AUDIT_DB AUDIT_FETCH=1 "AUDIT_DB_URL=file://$work/nowhere" "AUDIT_DB_CLONE=$work/clone")
    audit_env=("${reachable[@]}")
    check "a database that can be fetched is used" 1 "RUSTSEC-2099-0001 itoa 1.0.15" empty h2_patched
    upstream_advisory 2
    check "a fetched database is updated" 1 "RUSTSEC-2099-0002 itoa 1.0.15" empty h2_patched
    audit_env=("${unreachable[@]}")
    check "a failed fetch uses the last clone, newer than the snapshot" 1 \
        "RUSTSEC-2099-0002 itoa 1.0.15" empty h2_patched
    audit_env=(-u AUDIT_DB AUDIT_FETCH=1 "AUDIT_DB_URL=file://$work/nowhere" "AUDIT_DB_CLONE=$work/none")
    check "a failed fetch without a clone audits against the snapshot" 0 \
        "advisory database ../shared/advisory-db" empty h2_patched
    audit_env=()
else
    echo "test-audit: no ../shared/advisory-db: the tests of fetching skipped"
fi

echo "test-audit: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
