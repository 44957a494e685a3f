#!/usr/bin/env bash
# Line and function coverage that each fuzz target's corpus reaches, from llvm-cov.
#
#   scripts/fuzz-coverage.sh [TARGET...]      default: all six targets
#
# Builds the targets with `-Cinstrument-coverage` (needs the llvm-tools component:
# `rustup component add llvm-tools`), runs each over its seeds and what scripts/fuzz.sh
# found (target/fuzz/corpus/<target>/) without fuzzing (`-runs=0`), and prints llvm-cov's
# summary for the source files that target is about.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(cookie signed_id record csrf_token form redis_reply)

host="$(rustc -vV | sed -n 's/^host: //p')"
tools="$(rustc --print sysroot)/lib/rustlib/$host/bin"
[ -x "$tools/llvm-cov" ] || { echo "llvm-cov not found: rustup component add llvm-tools" >&2; exit 2; }

RUSTFLAGS="-Cinstrument-coverage --cfg fuzzing" \
  cargo build -q --release -p session-fuzz --features libfuzzer --bins \
  --target "$host" --target-dir target/fuzz-coverage

files_of() {
  case "$1" in
    cookie) echo session-tower/src/cookie.rs ;;
    signed_id) echo session-tower/src/signing.rs session-core/src/id.rs ;;
    record) echo session-core/src/record.rs ;;
    csrf_token) echo session-tower/src/csrf.rs session-tower/src/fuzzing.rs ;;
    form) echo session-tower/src/csrf.rs ;;
    redis_reply) echo session-redis/src/reply.rs session-redis/src/layout.rs session-redis/src/fuzzing.rs ;;
  esac
}

# llvm-cov's per-function table, names reduced to module::function (v0 mangling: the
# last two length-prefixed identifiers, back-references skipped; closures folded into their function), one line
# per function the corpus reached, then the reached functions' line total.
summary='
import re, sys
rows = {}
for line in sys.stdin:
    f = line.split()
    if not f or not f[0].startswith("_R") or len(f) < 7:
        continue
    names, i, m = [], 0, f[0]
    for x in re.finditer(r"(\d+)", m):
        if x.start() < i or m[x.start() - 1] == "B":
            continue
        n, j = int(x.group(1)), x.end()
        ident = m[j:j + n]
        if n and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*|_[A-Za-z][A-Za-z0-9_]*", ident):
            names.append(ident)
            i = j + n
    name = "::".join(names[-2:])
    lines, missed = int(f[4]), int(f[5])
    a, b = rows.get(name, (0, 0))
    rows[name] = (a + lines, b + missed)
tl = tm = 0
for name, (lines, missed) in sorted(rows.items()):
    if missed < lines:
        tl, tm = tl + lines, tm + missed
        print(f"  {name:40} {lines - missed:4}/{lines:<4} lines")
total = "reached functions"
print(f"  {total:40} {tl - tm:4}/{tl:<4} lines ({100 * (tl - tm) / max(tl, 1):.1f}%)")
'

out="target/fuzz-coverage/profiles"
mkdir -p "$out"
for t in "${targets[@]}"; do
  bin="target/fuzz-coverage/$host/release/$t"
  rm -f "$out/$t"-*.profraw
  mkdir -p "target/fuzz/corpus/$t"
  LLVM_PROFILE_FILE="$out/$t-%p.profraw" "$bin" -runs=0 "target/fuzz/corpus/$t" "fuzz/corpus/$t" >/dev/null 2>&1
  "$tools/llvm-profdata" merge -sparse "$out/$t"-*.profraw -o "$out/$t.profdata"
  files=()
  for f in $(files_of "$t"); do [ -f "$f" ] && files+=("$PWD/$f"); done
  echo "== $t ($(find "target/fuzz/corpus/$t" "fuzz/corpus/$t" -type f | wc -l) inputs): lines covered per function reached"
  "$tools/llvm-cov" report "$bin" -instr-profile="$out/$t.profdata" -show-functions "${files[@]}" \
    | python3 -c "$summary"
done
