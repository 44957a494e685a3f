#!/usr/bin/env python3
"""Finds import circles between the modules of each library crate.

A module is a file under <crate>/src (a directory's mod.rs is the directory's module; the
files inside it are its children). An edge A -> B is any `crate::B` path (or `use
crate::{B, ...}`) written in A, outside comments. A child that uses its parent (`super::`)
is how Rust nests modules and is not counted; a circle is two or more sibling modules that
reach each other. Exits 1 and prints every circle found."""
import os
import re
import sys

CRATES = ["session-core", "session-memory", "session-redis", "session-sql",
          "session-conformance", "session-tower"]


def modules(src):
    """Top-level module name -> list of files (a directory module with its children)."""
    out = {}
    for entry in sorted(os.listdir(src)):
        path = os.path.join(src, entry)
        if entry in ("lib.rs", "main.rs"):
            continue
        if entry.endswith(".rs"):
            out.setdefault(entry[:-3], []).append(path)
        elif os.path.isdir(path):
            for root, _, files in os.walk(path):
                out.setdefault(entry, []).extend(
                    os.path.join(root, f) for f in files if f.endswith(".rs"))
    return out


def uses(text, names):
    text = re.sub(r"//.*", "", text)
    found = set()
    for m in re.finditer(r"crate::(\{[^}]*\}|\w+)", text):
        group = m.group(1)
        for name in re.findall(r"\w+", group) if group.startswith("{") else [group]:
            if name in names:
                found.add(name)
    return found


def cycles(graph):
    seen, stack, out = set(), [], []

    def visit(n):
        if n in stack:
            out.append(stack[stack.index(n):] + [n])
            return
        if n in seen:
            return
        seen.add(n)
        stack.append(n)
        for m in sorted(graph[n]):
            visit(m)
        stack.pop()

    for n in sorted(graph):
        visit(n)
    return out


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    bad = 0
    for crate in CRATES:
        mods = modules(os.path.join(root, crate, "src"))
        graph = {}
        for name, files in mods.items():
            deps = set()
            for f in files:
                with open(f, encoding="utf-8") as fh:
                    deps |= uses(fh.read(), mods)
            deps.discard(name)
            graph[name] = deps
        found = cycles(graph)
        for c in found:
            print(f"{crate}: import circle " + " -> ".join(c))
        bad += len(found)
        print(f"{crate}: {len(mods)} modules, {sum(len(d) for d in graph.values())} edges, "
              f"{len(found)} circles")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
