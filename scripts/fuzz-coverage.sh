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

# llvm-cov's per-function table, names reduced to module::function and closures folded
# into their function, one line per function the corpus reached, then the reached
# functions' line total. Names are demangled by llvm-cxxfilt when it is installed (Debian's
# llvm package), otherwise read from the v0 mangling: the last two length-prefixed
# identifiers, back-references skipped.
summary='
import re, shutil, subprocess, sys
table = [l.split() for l in sys.stdin]
table = [f for f in table if f and f[0].startswith("_R") and len(f) >= 7]
def guess(m):
    names, i = [], 0
    for x in re.finditer(r"(\d+)", m):
        if x.start() < i or m[x.start() - 1] == "B":
            continue
        n, j = int(x.group(1)), x.end()
        ident = m[j:j + n]
        if n and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*|_[a-z][a-z0-9_]*", ident):
            names.append(ident)
            i = j + n
    return "::".join(names[-2:])
def strip(d):
    d = re.sub(r"^<([^<>]*)>", r"\1", d)                 # <T>::f is T::f
    d = re.sub(r"<impl ([^<>]*)>", r"\1", d)             # <impl T>::f is T::f
    d = re.sub(r"<([^<>]*) as [^<>]*>", r"\1", d)        # <T as Trait>::f is T::f
    while re.search(r"<[^<>]*>", d):
        d = re.sub(r"<[^<>]*>", "", d)                   # generic arguments
    return d
def function(d):
    d = re.sub(r"::\{[^}]*\}(#\d+)?", "", d)           # a closure counts for its function
    return "::".join([p for p in d.split("::") if p][-2:])
tool = shutil.which("llvm-cxxfilt")
names = [f[0] for f in table]
if tool:
    out = subprocess.run([tool], input="\n".join(names), capture_output=True, text=True).stdout.split("\n")
    names = [strip(d) if d and not d.startswith("_R") else guess(m) for d, m in zip(out, names)]
else:
    names = [guess(m) for m in names]
# One entry per piece of code: copies of one generic function (same name once generic
# arguments are dropped) count once, at their best coverage.
code = {}
for name, f in zip(names, table):
    lines, missed = int(f[4]), int(f[5])
    if name not in code or missed < code[name][1]:
        code[name] = (lines, missed)
rows = {}
for name, (lines, missed) in code.items():
    a, b = rows.get(function(name), (0, 0))
    rows[function(name)] = (a + lines, b + missed)
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
