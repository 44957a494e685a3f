#!/bin/bash
# What each Redis write of the store costs the server, against the plain command a store
# without our promises sends: 100,000 operations per row written into Redis through
# `redis-cli --pipe` (no round-trip waits, so the run is bound by the server), the wall
# time per operation, the median of three alternated rounds. The scripts come from
# session-redis/src/scripts.rs, so the numbers follow the code. The README's "Against
# the peers" quotes them. Needs redis-server, redis-cli and python3; uses the local Redis
# (or REDIS_PORT) and the key prefix `bench-cost:`.
#
# A session is one string (session-redis/src/layout.rs): a 90-byte header, then the
# record. An anonymous create is `SET NX PX`, a plain delete `GETDEL` then `PUBLISH`, a
# save the compare-and-swap script. To compare with an older build, run that build's copy
# of this script in the same sitting (a `git worktree` of it).
#
#   scripts/server-cost.sh [record bytes, default 250: a 211-byte session's record]
#   scripts/server-cost.sh [record bytes] --instructions
#
# With `--instructions` it counts instead of timing: it starts a Redis of its own under
# valgrind's callgrind (a free port, stopped at the end) and reports the server's
# instructions per operation, zeroing the counters before each row's commands and dumping
# them after (`callgrind_control`). Counts repeat from run to run where times on a shared
# machine do not, so this is the mode to compare two builds' scripts with. Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "${REDIS_PORT:-6379}" "${1:-250}" "${2:-}" <<'PY'
import glob, os, re, socket, statistics, subprocess, sys, tempfile, time

port, size, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
counting = mode == "--instructions"
if mode not in ("", "--instructions"):
    sys.exit(f"server-cost.sh: unknown option {mode}")
server, out_dir = None, None
if counting:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    out_dir = tempfile.mkdtemp(prefix="server-cost-")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_dir}/cg",
         "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if subprocess.run(["redis-cli", "-p", port, "PING"], capture_output=True,
                          text=True).stdout.strip() == "PONG":
            break
        time.sleep(0.1)
    else:
        sys.exit("server-cost.sh: redis-server under valgrind did not start")
cli = ["redis-cli", "-p", port]
src = open("session-redis/src/scripts.rs").read()
raw = lambda n: re.search(r"const " + n + r': &str = r#"(.*?)"#;', src, re.S).group(1)
body = lambda n: re.search(r"static " + n + r'\b.*?r#"(.*?)"#', src, re.S).group(1)
save = "local rec, idx, lock = KEYS[1], KEYS[2], nil\n" + raw("SAVE_READ") + raw("SAVE_CAS") \
    + raw("SAVE_WRITE").replace("IDX_ADD_HERE", raw("IDX_ADD_FN").strip())
scripts = {
    "save": save,
    "create": raw("IDX_ADD_FN") + raw("LIVE_FN") + body("CREATE"),
    "delete": raw("LIVE_FN") + raw("META_FN") + body("DELETE"),
    "empty": "return 'ok'",
}
sha = {k: subprocess.check_output(cli + ["SCRIPT", "LOAD", v], text=True).strip()
       for k, v in scripts.items()}

N, SESSIONS = (100_000 if size < 1000 else 30_000), 1000
if counting:
    N = 10_000
now = int(time.time() * 1000)
e, l = b"%020d" % (now + 3_600_000), b"%020d" % now
v20 = b"%020d" % 7
# The stored value: expiry, last seen, version, lock counter, no owner, no index, then the
# record (250 bytes for a 211-byte session).
value = e + l + v20 + b"%020d" % 0 + b"00000" + b"00000" + b"x" * size


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def key(i):
    return b"bench-cost:{ABCD}:r:%040d" % i


def save_args(i):
    # An anonymous session's save. KEYS: rec. ARGV: now, expected, value, expiry, TTL
    # (the times and the version as 20-digit fields); no member, no owner.
    return [1, key(i), b"%020d" % now, v20, value, b"%020d" % (now + 3_600_000), 3_600_000]


def setup_values():
    return b"".join(resp("SET", key(i), value) for i in range(SESSIONS))


# name -> (what runs first, untimed; the timed commands of operation i)
rows = {
    "SET PX (a peer's save)": (b"", lambda i: resp("SET", key(i % SESSIONS), value, "PX", 3_600_000)),
    "empty script, a save's arguments": (
        setup_values(), lambda i: resp("EVALSHA", sha["empty"], *save_args(i % SESSIONS))),
    "save script (compare-and-swap)": (
        setup_values(), lambda i: resp("EVALSHA", sha["save"], *save_args(i % SESSIONS))),
    "its commands without a script (GETRANGE, SET PX)": (
        setup_values(), lambda i: resp("GETRANGE", key(i % SESSIONS), 0, 89)
        + resp("SET", key(i % SESSIONS), value, "PX", 3_600_000)),
    "empty script, no arguments": (b"", lambda i: resp("EVALSHA", sha["empty"], 0)),
    "empty script, the key and the stored value only": (
        b"", lambda i: resp("EVALSHA", sha["empty"], 1, key(i % SESSIONS), value)),
    "empty script, a save's arguments but the stored value": (
        b"", lambda i: resp("EVALSHA", sha["empty"], *save_args(i % SESSIONS)[:4],
                            *save_args(i % SESSIONS)[5:])),
    "empty script, the key only": (b"", lambda i: resp("EVALSHA", sha["empty"], 1, key(i % SESSIONS))),
    "SET NX PX + DEL (a peer's create and delete)": (
        b"", lambda i: resp("SET", key(i), value, "NX", "PX", 3_600_000) + resp("DEL", key(i))),
    "our create and delete (SET NX PX; GETDEL, PUBLISH)": (
        b"", lambda i: resp("SET", key(i), value, "NX", "PX", 3_600_000)
        + resp("GETDEL", key(i)) + resp("PUBLISH", "bench-cost:ended", key(i))),
    "create script + DEL (a logged-in create's path, without its index)": (
        b"", lambda i: resp("EVALSHA", sha["create"], 1, key(i), now, value, now + 3_600_000,
                            3_600_000, key(i)) + resp("DEL", key(i))),
    "SET + delete script (Cluster's, or an owner's delete)": (
        b"", lambda i: resp("SET", key(i), value)
        + resp("EVALSHA", sha["delete"], 1, key(i), now, key(i), "", "bench-cost:ended")),
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


def instructions(data):
    """The server's instructions while it runs `data`: counters zeroed, then dumped."""
    pid = str(server.pid)
    subprocess.run(["callgrind_control", "-z", pid], check=True, capture_output=True)
    before = set(glob.glob(f"{out_dir}/cg.*"))
    pipe(data)
    subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
    (dump,) = set(glob.glob(f"{out_dir}/cg.*")) - before
    with open(dump) as f:
        return int(next(l for l in f if l.startswith("summary:")).split()[1])


data = {name: b"".join(op(i) for i in range(N)) for name, (_, op) in rows.items()}
if counting:
    counts = {}
    for name, (setup, _) in rows.items():
        clean()
        if setup:
            pipe(setup)
        counts[name] = instructions(data[name]) / N
    clean()
    server.terminate()
    server.wait()
    print(f"record of {size} bytes")
    print("| operation | server instructions per operation (callgrind) |")
    print("|---|---:|")
    for name, n in counts.items():
        print(f"| {name} | {n:,.0f} |")
    sys.exit(0)

times = {name: [] for name in rows}
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
