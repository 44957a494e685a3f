#!/usr/bin/env bash
# The conformance suite's mutation score: cargo-mutants over the suite's reference store,
# session-memory and session-sql, each with the conformance suite (and the crate's own
# tests) as the tests. Slow (about two hours on two cores, most of it session-sql's 184
# mutants at some 25 s each), so not a CI step; the
# numbers in session-conformance/README.md come from this script.
#
#   ./scripts/mutants.sh            # all three
#   ./scripts/mutants.sh memory     # one of: reference, memory, sql
#
# Results land in target/mutants/<crate>/mutants.out (caught.txt, missed.txt, timeout.txt,
# unviable.txt); the summary line of each is printed at the end. Mutants listed as
# equivalent in session-conformance/MUTANTS.md are subtracted from "missed" by hand there.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked
source scripts/services.sh
start_services

which=("${@:-reference memory sql}")
out=target/mutants
mkdir -p "$out"
run() { # name, then cargo-mutants arguments
  local name=$1; shift
  echo "== mutants: $name"
  cargo mutants --no-shuffle -o "$out/$name" --timeout 150 --build-timeout 900 "$@" \
    >"$out/$name.log" 2>&1 || true # cargo-mutants exits non-zero when a mutant survives
  tail -1 "$out/$name.log"
}
for w in ${which[*]}; do
  case $w in
    # The suite's run on the reference store itself is the test; the faulty-store test
    # (forty-odd full runs) would only repeat it slowly.
    reference) run reference -p session-conformance -f session-conformance/src/reference.rs \
      -- --test faulty reference_store_passes_everything ;;
    memory) run memory -p session-memory ;;
    # Unit and integration tests (the suite on SQLite, PostgreSQL and MariaDB); the doc
    # examples only connect and migrate, and would add a minute to every mutant.
    sql) run sql -p session-sql --all-features -- --lib --tests ;;
    *) echo "unknown: $w (reference, memory, sql)"; exit 2 ;;
  esac
done
for w in ${which[*]}; do echo "$w: $(tail -1 "$out/$w.log")"; done
