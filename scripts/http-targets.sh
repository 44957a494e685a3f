#!/usr/bin/env bash
# The HTTP target of issue 19: what the session layer costs a request whose handler never
# touches its session, against the same handler without the layer, a layer that does
# nothing (the floor any tower middleware pays), a layer that only hands each request a
# value of its own (the floor any session layer pays) and tower-sessions' layer.
#
# The server (`http-targets`, sessions in memory) is pinned to core 0 and wrk to core 1;
# each round runs wrk once against every port in turn, so a slow moment of the machine
# falls on all of them alike; the result is the median per port and its ratio to the
# plain handler. Unpinned, one round differs from the next by ±5%: more than the effect.
#
#   scripts/http-targets.sh [rounds, default 8] [seconds per run, default 3]
#
# Needs wrk (Debian's package); installs it when missing and running as root.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${1:-8}"
seconds="${2:-3}"
base=4300

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y wrk >/dev/null
  else
    echo "http-targets.sh: wrk is missing (apt-get install wrk)" >&2
    exit 1
  fi
fi

cargo build -q --release -p session-benches --bin http-targets
out="$(mktemp)"
taskset -c 0 ./target/release/http-targets "$base" >"$out" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do
  grep -q '^cookie: ' "$out" && break
  sleep 0.1
done
cookie="$(sed -n 's/^cookie: //p' "$out")"
[ -n "$cookie" ] || { echo "http-targets.sh: the server printed no cookie" >&2; exit 1; }

# port offset -> name, as http-targets serves them
names=(plain untouched read noop handed tower-sessions-untouched)
declare -A runs
for r in $(seq "$rounds"); do
  for i in 0 3 4 1 5 2; do
    rps=$(taskset -c 1 wrk -t1 -c64 -d"${seconds}s" -H "cookie: $cookie" \
      "http://127.0.0.1:$((base + i))/" | awk '/^Requests\/sec:/ {print $2}')
    runs[$i]="${runs[$i]:-} $rps"
  done
  echo "round $r: plain ${runs[0]##* } noop ${runs[3]##* } handed ${runs[4]##* }" \
    "untouched ${runs[1]##* } tower-sessions ${runs[5]##* } read ${runs[2]##* }" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
plain=$(echo "${runs[0]}" | median)
echo "| handler | requests/s (median of $rounds) | ÷ without the layer | slower by |"
echo "|---|---:|---:|---:|"
for i in 0 3 4 1 5 2; do
  m=$(echo "${runs[$i]}" | median)
  awk -v n="${names[$i]}" -v m="$m" -v p="$plain" \
    'BEGIN {printf "| %s | %.0f | %.3f | %+.1f%% |\n", n, m, m/p, (1-m/p)*100}'
done
