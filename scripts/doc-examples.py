#!/usr/bin/env python3
"""Checks that every public method of both `Session` handles (session-core's and
session-tower's) and every builder method of `SessionLayer` has an example in its doc
comment (rustdoc compiles them as doctests in the test command). Exits 1 and names each
method without one."""
import re
import sys

FILES = [
    "session-core/src/session/mod.rs",
    "session-core/src/session/data.rs",
    "session-core/src/session/owner.rs",
    "session-core/src/session/lock.rs",
    "session-core/src/session/remember.rs",
    "session-core/src/session/authenticated.rs",
    "session-core/src/session/live.rs",
    "session-core/src/ending.rs",
    "session-core/src/metric.rs",
    "session-core/src/observe.rs",
    "session-tower/src/session.rs",
    "session-tower/src/remember.rs",
    "session-tower/src/live.rs",
    "session-tower/src/auth/mod.rs",
    "session-tower/src/auth/refusal.rs",
    "session-tower/src/layer.rs",
]


def main():
    missing = []
    for path in FILES:
        lines = open(path).read().split("\n")
        for i, line in enumerate(lines):
            m = re.match(r"\s*pub (async )?fn (\w+)", line)
            if not m:
                continue
            j = i
            while j > 0 and lines[j - 1].strip().startswith("#["):
                j -= 1
            k = j
            while k > 0 and lines[k - 1].strip().startswith("///"):
                k -= 1
            if "```" not in "\n".join(lines[k:j]):
                missing.append(f"{path}: {m.group(2)}")
    for m in missing:
        print("no doc example:", m)
    sys.exit(1 if missing else 0)


main()
