#!/usr/bin/env python3
"""The minimum Rust version of each library crate, computed from its dependencies' own
manifests: the largest `rust-version` among everything it builds with (normal and build
dependencies, all features on, as resolved in Cargo.lock), and edition 2024's 1.85.

    python3 scripts/msrv.py          # prints a table
    python3 scripts/msrv.py --check  # exits 1 if a crate declares another rust-version

`--check` runs in the README's test command, so a declared MSRV cannot drift from what
the dependencies need."""
import json
import subprocess
import sys

CRATES = ["session-core", "session-memory", "session-conformance", "session-redis",
          "session-sql", "session-tower"]


def version_key(v):
    parts = [int(x) for x in v.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"], stderr=subprocess.DEVNULL))
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    failed = False
    for name in CRATES:
        root = next(p["id"] for p in meta["packages"]
                    if p["name"] == name and p["source"] is None)
        need, why = "1.85", "edition 2024"
        seen, stack = set(), [root]
        while stack:
            pid = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            for dep in nodes[pid]["deps"]:
                kinds = {k["kind"] for k in dep["dep_kinds"]}
                if kinds & {None, "build"}:
                    stack.append(dep["pkg"])
            if pid == root:
                continue
            rv = packages[pid].get("rust_version")
            if rv and version_key(rv) > version_key(need):
                need, why = rv, f'{packages[pid]["name"]} {packages[pid]["version"]}'
        declared = packages[root].get("rust_version")
        wrong = declared is None or version_key(declared) != version_key(need)
        mark = "   <- declared " + str(declared) if wrong else ""
        print(f"{name:22} {need:8} ({why}){mark}")
        failed |= wrong
    if "--check" in sys.argv and failed:
        print("a declared rust-version differs from what the dependencies need", file=sys.stderr)
        sys.exit(1)


main()
