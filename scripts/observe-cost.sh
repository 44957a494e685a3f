#!/usr/bin/env bash
# What metrics and traces cost on the typical request (memory store): each mode of the
# observe-cost bench run alternately ROUNDS times (default 3), then instructions per request
# counted by callgrind (the difference between 20,000 and 10,000 requests, so that setup
# cancels out). Run on an idle machine; compare modes within one run only.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
modes=(none prometheus tracing-info tracing-debug both)
cargo build -q --release -p session-benches --bin observe-cost
bin=target/release/observe-cost
for _ in $(seq "$rounds"); do
  for m in "${modes[@]}"; do "$bin" "$m" 300000; done
done
if command -v valgrind >/dev/null; then
  for m in "${modes[@]}"; do
    count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$m" "$1" 2>&1 | awk '/Collected/ {print $4}'; }
    a=$(count 10000); b=$(count 20000)
    echo "$m: $(( (b - a) / 10000 )) instructions per request (callgrind)"
  done
fi
