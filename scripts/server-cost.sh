#!/bin/bash
# What each Redis write of the store costs the server, against the plain command a store
# without our promises sends: 100,000 operations per row written into Redis through
# `redis-cli --pipe` (no round-trip waits, so the run is bound by the server), the wall
# time per operation, the median of three alternated rounds. The scripts come from
# session-redis/src/scripts.rs, so the numbers follow the code. The README's "Against
# the peers" quotes them. Needs redis-server, redis-cli and python3; uses the local Redis
# (or REDIS_PORT) and the key prefix `bench-cost:`.
#
# The rows marked "string layout" are a prototype, not the store's code: a session as one
# string (expiry and version in a fixed-width header, then the record) instead of a hash,
# which lets a create be a plain `SET NX PX` and a delete `GETDEL` + `PUBLISH`, at the price
# of the save script reading the whole record into Lua. They measure what that redesign
# would change on the server before anyone builds it.
#
#   scripts/server-cost.sh [record bytes, default 250: a 211-byte session's record]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "${REDIS_PORT:-6379}" "${1:-250}" <<'PY'
import re, statistics, subprocess, sys, tempfile, time

port, size = sys.argv[1], int(sys.argv[2])
cli = ["redis-cli", "-p", port]
src = open("session-redis/src/scripts.rs").read()
raw = lambda n: re.search(r"const " + n + r': &str = r#"(.*?)"#;', src, re.S).group(1)
body = lambda n: re.search(r"static " + n + r'\b.*?r#"(.*?)"#', src, re.S).group(1)
save = raw("LIVE_FN") + raw("IDX_ADD_FN") + "local rec, idx, lock = KEYS[1], KEYS[2], nil\n" + raw("SAVE_READ") \
    + raw("SAVE_CAS") + raw("SAVE_WRITE")
scripts = {
    "save": save,
    "create": raw("IDX_ADD_FN") + raw("LIVE_FN") + body("CREATE"),
    "delete": raw("LIVE_FN") + body("DELETE"),
    "empty": "return 'ok'",
    # The least a compare-and-swap save can do in one script: read expiry and version,
    # refuse a dead or changed record, write record, expiry and version, renew the TTL.
    # What our save does beyond it (the owner index's upkeep, the last-seen field, the
    # shared helpers) is the difference between the two rows.
    "least": """local cur = redis.call('HMGET', KEYS[1], 'e', 'v')
if not cur[1] or tonumber(cur[1]) <= tonumber(ARGV[1]) then return 'gone' end
if cur[2] ~= ARGV[2] then return 'conflict' end
redis.call('HSET', KEYS[1], 'r', ARGV[3], 'e', ARGV[4], 'v', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 'ok'""",
    # Prototype: the compare-and-swap save on the string layout.
    "string_save": """local cur = redis.call('GET', KEYS[1])
if not cur or tonumber(string.sub(cur, 1, 20)) <= tonumber(ARGV[1]) then return 'gone' end
if string.sub(cur, 21, 40) ~= ARGV[2] then return 'conflict' end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 'ok'""",
}
sha = {k: subprocess.check_output(cli + ["SCRIPT", "LOAD", v], text=True).strip()
       for k, v in scripts.items()}

N, SESSIONS = (100_000 if size < 1000 else 30_000), 1000
now = int(time.time() * 1000)
e, l = b"%020d" % (now + 3_600_000), b"%020d" % now
r = e + l + b"x" * size  # the header and the record (250 bytes for a 211-byte session)
v20 = b"%020d" % 7
string_value = e + v20 + b"x" * size  # the prototype's: expiry, version, record


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def key(i):
    return b"bench-cost:{ABCD}:s:%040d" % i


def save_args(i):
    return [1, key(i), now, 7, r, e, l, 7, 3_600_000, key(i), ""]


def setup_strings():
    return b"".join(resp("SET", key(i), string_value) for i in range(SESSIONS))


def setup_hashes():
    return b"".join(resp("HSET", key(i), "r", r, "e", e, "l", l, "v", 7) for i in range(SESSIONS))


# name -> (what runs first, untimed; the timed commands of operation i)
rows = {
    "SET PX (a peer's save)": (b"", lambda i: resp("SET", key(i % SESSIONS), r, "PX", 3_600_000)),
    "empty script, a save's arguments": (
        setup_hashes(), lambda i: resp("EVALSHA", sha["empty"], *save_args(i % SESSIONS))),
    "save script (compare-and-swap)": (
        setup_hashes(), lambda i: resp("EVALSHA", sha["save"], *save_args(i % SESSIONS))),
    "the least compare-and-swap script": (
        setup_hashes(), lambda i: resp("EVALSHA", sha["least"], 1, key(i % SESSIONS), now, 7, r,
                                       e, 7, 3_600_000)),
    "its commands without a script (HMGET, HSET, PEXPIRE)": (
        setup_hashes(), lambda i: resp("HMGET", key(i % SESSIONS), "e", "v")
        + resp("HSET", key(i % SESSIONS), "r", r, "e", e, "v", 7)
        + resp("PEXPIRE", key(i % SESSIONS), 3_600_000)),
    "empty script, no arguments": (b"", lambda i: resp("EVALSHA", sha["empty"], 0)),
    "SET NX PX + DEL (a peer's create and delete)": (
        b"", lambda i: resp("SET", key(i), r, "NX", "PX", 3_600_000) + resp("DEL", key(i))),
    "create script + DEL": (
        b"", lambda i: resp("EVALSHA", sha["create"], 1, key(i), now, r, e, l, 1, 3_600_000,
                            key(i), "") + resp("DEL", key(i))),
    "HSET + delete script": (
        b"", lambda i: resp("HSET", key(i), "r", r, "e", e, "l", l, "v", 1)
        + resp("EVALSHA", sha["delete"], 1, key(i), now, key(i), "", "bench-cost:ended")),
    "HSET + delete transaction": (
        b"", lambda i: resp("HSET", key(i), "r", r, "e", e, "l", l, "v", 1) + resp("MULTI")
        + resp("HMGET", key(i), "e", "o", "x") + resp("DEL", key(i))
        + resp("PUBLISH", "bench-cost:ended", key(i)) + resp("EXEC")),
    "HSET + DEL": (
        b"", lambda i: resp("HSET", key(i), "r", r, "e", e, "l", l, "v", 1) + resp("DEL", key(i))),
    "string layout: save script (GET, SET PX)": (
        setup_strings(), lambda i: resp("EVALSHA", sha["string_save"], 1, key(i % SESSIONS), now,
                                        v20, string_value, 3_600_000)),
    "string layout: create and delete (SET NX PX, GETDEL, PUBLISH)": (
        b"", lambda i: resp("SET", key(i), string_value, "NX", "PX", 3_600_000)
        + resp("GETDEL", key(i)) + resp("PUBLISH", "bench-cost:ended", key(i))),
}


def clean():
    keys = subprocess.check_output(cli + ["--scan", "--pattern", "bench-cost:*"]).split()
    for at in range(0, len(keys), 500):
        subprocess.run(cli + ["DEL", *keys[at:at + 500]], check=True, stdout=subprocess.DEVNULL)


def pipe(data):
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.seek(0)
        out = subprocess.run(cli + ["--pipe"], stdin=f, capture_output=True, text=True)
    if "errors: 0" not in out.stdout:
        sys.exit("server-cost.sh: commands failed: " + out.stdout + out.stderr)


times = {name: [] for name in rows}
data = {name: b"".join(op(i) for i in range(N)) for name, (_, op) in rows.items()}
for _ in range(3):
    for name, (setup, _) in rows.items():
        clean()
        if setup:
            pipe(setup)
        start = time.perf_counter()
        pipe(data[name])
        times[name].append((time.perf_counter() - start) / N * 1e6)
clean()
print(f"record of {size} bytes")
print("| operation | µs per operation on the server (median of 3) | rounds |")
print("|---|---:|---|")
for name, t in times.items():
    print(f"| {name} | {statistics.median(t):.2f} | {', '.join(f'{x:.2f}' for x in t)} |")
PY
