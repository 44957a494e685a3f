#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer on the stable toolchain.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      default: 60 s for each of the six targets
#
# The targets (fuzz/fuzz_targets/) are built with the sanitizer-coverage passes cargo-fuzz
# adds (8-bit edge counters, PC table, comparison tracing): plain `-C` flags, so no nightly
# compiler. Each target starts from its seeds in fuzz/corpus/<target>/ and keeps what it
# finds in target/fuzz/corpus/<target>/ (so a longer run goes on where the last stopped);
# an input that fails a property is written to fuzz/artifacts/<target>/ and the script
# exits 1. One line per target reports executions, edges covered (libFuzzer's `cov`),
# features (`ft`) and corpus size; scripts/fuzz-coverage.sh reports line coverage.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(cookie signed_id record csrf_token form redis_reply)

host="$(rustc -vV | sed -n 's/^host: //p')"
# --target keeps the instrumentation off build scripts and proc macros, as cargo-fuzz does.
RUSTFLAGS="-Cpasses=sancov-module \
  -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares \
  --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
  cargo build -q --release -p session-fuzz --features libfuzzer --bins \
  --target "$host" --target-dir target/fuzz

failed=0
for t in "${targets[@]}"; do
  bin="target/fuzz/$host/release/$t"
  [ -x "$bin" ] || { echo "unknown target $t" >&2; exit 2; }
  work="target/fuzz/corpus/$t"
  mkdir -p "$work" "fuzz/artifacts/$t"
  log="$(mktemp)"
  if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
      -rss_limit_mb=2048 -artifact_prefix="fuzz/artifacts/$t/" \
      "$work" "fuzz/corpus/$t" >"$log" 2>&1; then
    failed=1
    echo "$t: FAILED, input saved under fuzz/artifacts/$t/" >&2
    grep -E "panicked|ERROR|SUMMARY" "$log" | head -5 >&2 || true
  fi
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  last="$(grep -E '^#[0-9]+' "$log" | tail -1)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
  corp="$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")"
  echo "$t: ${execs:-?} executions in ${seconds} s, cov ${cov:-?} edges, ft ${ft:-?}, corpus ${corp:-?}"
  rm -f "$log"
done
exit "$failed"
