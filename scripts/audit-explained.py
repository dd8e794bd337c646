#!/usr/bin/env python3
"""The gate of scripts/audit.sh: compares cargo-audit's findings with what SECURITY.md explains.

Usage: audit-explained.py SECURITY.md LOCKFILE=REPORT.json...
(one `cargo audit --json` report per lockfile; LOCKFILE only names it in messages)

SECURITY.md explains an advisory with a row of the Markdown table in its section headed
"## Known advisories in the dependency tree":

    | advisory | crate | where it is used | assessment |
    | --- | --- | --- | --- |
    | RUSTSEC-2023-0071 (Marvin) | `rsa 0.10.0-rc.18` | the wallet's blinding | why it is accepted |

- the first cell starts with the advisory's id (anything after the id is free text);
- the second names each affected package as `name version`, in backticks;
- the last cell, the assessment, says why the advisory does not apply or is accepted.

Fails (exit 1), saying why, on: a finding (vulnerability, or unmaintained/unsound/notice warning)
whose id has no row; a finding whose package and version the row does not name (the assessment was
made for another version: check it again); a row whose advisory no lockfile has any more (remove
it); a malformed row; a missing section. Exit 2 on unreadable input.
"""

import json
import re
import sys

SECTION = "## Known advisories in the dependency tree"
ID = re.compile(r"RUSTSEC-\d{4}-\d{4}")
PACKAGE = re.compile(r"`([A-Za-z0-9_-]+) ([0-9][^`\s]*)`")


def explanations(path):
    """Returns ({id: {(name, version)}}, [problems]) read from SECURITY.md's advisory table."""
    with open(path, encoding="utf-8") as file:
        lines = file.read().splitlines()
    if SECTION not in lines:
        return {}, [f"{path} has no section '{SECTION}'"]
    explained, problems = {}, []
    for line in lines[lines.index(SECTION) + 1 :]:
        if line.startswith("## "):
            break
        if not line.startswith("|") or "RUSTSEC-" not in line:
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        found = ID.match(cells[0])
        if not found:
            problems.append(f"{path}: the row's first cell must start with the advisory id: {line}")
            continue
        advisory = found.group(0)
        packages = set(PACKAGE.findall(cells[1])) if len(cells) >= 4 else set()
        if len(cells) < 4 or not packages or not cells[-1]:
            problems.append(
                f"{path}: {advisory}'s row needs 4 cells: the id, `crate version`, where it is"
                f" used, and a non-empty assessment: {line}"
            )
        elif advisory in explained:
            problems.append(f"{path}: {advisory} has two rows")
        else:
            explained[advisory] = packages
    return explained, problems


def findings(label, path):
    """Yields (lockfile, id, kind, name, version, title, patched) for each finding of one report."""
    with open(path, encoding="utf-8") as file:
        report = json.load(file)
    entries = [("vulnerability", v) for v in report["vulnerabilities"]["list"]]
    for kind, warnings in report["warnings"].items():
        entries += [(kind, w) for w in warnings]
    for kind, entry in entries:
        advisory = entry.get("advisory") or {}
        package = entry["package"]
        patched = ", ".join((entry.get("versions") or {}).get("patched") or []) or "none"
        yield (
            label,
            advisory.get("id", f"({kind}, no advisory)"),
            kind,
            package["name"],
            package["version"],
            advisory.get("title", ""),
            patched,
        )


def main(argv):
    """Prints every finding and every explanation's status; returns the exit code."""
    if len(argv) < 3 or any("=" not in arg for arg in argv[2:]):
        print(__doc__, file=sys.stderr)
        return 2
    security = argv[1]
    try:
        explained, problems = explanations(security)
        found = [f for arg in argv[2:] for f in findings(*arg.split("=", 1))]
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"audit: cannot read the input: {error!r}", file=sys.stderr)
        return 2
    for lockfile, advisory, kind, name, version, title, patched in found:
        what = f"{lockfile}: {advisory} {name} {version} ({kind}: {title})"
        if advisory not in explained:
            problems.append(
                f"{what} is not explained in {security}: upgrade (patched: {patched}),"
                " or add a row to its table saying why it does not apply"
            )
        elif (name, version) not in explained[advisory]:
            problems.append(
                f"{what}: {security} explains {advisory} for"
                f" {', '.join(' '.join(p) for p in sorted(explained[advisory]))} only:"
                " check the assessment for this version and name it in the row"
            )
        else:
            print(f"audit: {what}: explained in {security}")
    seen = {advisory for _, advisory, *_ in found}
    for advisory in sorted(set(explained) - seen):
        problems.append(
            f"{security} explains {advisory}, which no audited lockfile has any more: remove its row"
        )
    for problem in problems:
        print(f"audit: FAIL: {problem}", file=sys.stderr)
    print(
        f"audit: {len(found)} finding(s), {len(explained)} explained advisory(ies),"
        f" {len(problems)} problem(s)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
