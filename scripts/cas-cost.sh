#!/bin/bash
# The save script's server cost against a plain SET, measured apart: redis-benchmark with
# 64 connections against the local Redis, three alternated rounds. The README's "Against
# the peers" quotes it. Needs redis-server, redis-cli, redis-benchmark and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
lua=$(mktemp)
python3 - "$lua" <<'PY'
import re, sys
s = open('session-redis/src/scripts.rs').read()
raw = lambda n: re.search(r'const ' + n + r': &str = r#"(.*?)"#;', s, re.S).group(1)
open(sys.argv[1], 'w').write("local rec, idx, lock = KEYS[1], KEYS[2], nil\n" + raw('SAVE_READ') + raw('SAVE_CAS')
                             + raw('SAVE_WRITE').replace('IDX_ADD_HERE', raw('IDX_ADD_FN').strip()))
PY
sha=$(redis-cli SCRIPT LOAD "$(cat "$lua")")
now=$(date +%s%3N); e=$(printf "%020d" $((now+3600000))); l=$(printf "%020d" "$now")
body=$(head -c 211 /dev/zero | tr '\0' 'x')
redis-cli DEL bench:cas bench:set >/dev/null
v=$(printf "%020d" 7); f=$(printf "%020d" 0)
value="$e$l$v${f}0000000000$body"  # header (see session-redis/src/layout.rs), then the record
redis-cli SET bench:cas "$value" >/dev/null
# The version stays 7, so every call is a successful compare-and-swap.
echo "one save: $(redis-cli EVALSHA "$sha" 1 bench:cas "$now" "$v" "$value" $((now+3600000)) 3600000 member '')"
rate() { redis-benchmark -q -n 200000 -c 64 "$@" | tr -d '\r' | grep -oE "[0-9.]+ requests per second" | tail -1; }
for _ in 1 2 3; do
  echo "SET   $(rate SET bench:set "$body" PX 3600000)"
  echo "SAVE  $(rate EVALSHA "$sha" 1 bench:cas "$now" "$v" "$value" $((now+3600000)) 3600000 member '')"
done
redis-cli DEL bench:cas bench:set >/dev/null
rm -f "$lua"
