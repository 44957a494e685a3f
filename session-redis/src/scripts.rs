//! The Lua scripts behind every multi-step operation.
//!
//! Each script is one atomic step on the server: Redis runs it without interleaving any
//! other command, which is what makes compare-and-swap, touch-without-revival and rotation
//! atomic. `redis::Script` sends EVALSHA and reloads the script on NOSCRIPT (after a
//! failover or a `SCRIPT FLUSH`).
//!
//! Record layout, a hash per session:
//!
//! | field | holds |
//! |---|---|
//! | `r` | a 40-byte header, expires-at then last-seen as 20-digit decimals, then the encoded record (whose own `expires_at`/`last_seen` may be stale) |
//! | `e` | expires-at, ms since epoch, 20 digits: the truth for expiry, read by scripts |
//! | `l` | last seen, ms, 20 digits |
//! | `v` | version (decimal), or `moving:<new key>` during a cross-slot rotation (a load reads the old record as gone once the new one exists) |
//! | `o` | owner, when there is one |
//! | `x` | the name of the owner's index key, when it shares this key's hash slot |
//! | `f` | the per-session lock's last fencing token (see the `ACQUIRE` script) |
//!
//! The header repeats `e` and `l` inside `r` so that a load is one `HGET` answered with one
//! bulk string: parsing a three-field `HMGET` reply cost the client about 4,000 more
//! instructions per load than a `GET` (callgrind, redis-rs 1.8), which on a two-core machine
//! shared with the server was the largest single gap to a raw `GET`. Every script that
//! writes `e` or `l` writes the header with them.
//!
//! Times come from the store's clock as arguments, never from Redis's `TIME`, so logical
//! expiry agrees with the application (and with a test's manual clock). The key's TTL
//! (PEXPIRE) follows `e`, so Redis removes dead sessions itself.
//!
//! Scripts touch the owner index named in field `x` or in `KEYS` only when it shares the
//! record's slot; the store does the rare cross-slot index update as a separate command.
//!
//! A script's first write that can grow memory must come before any other write: Redis
//! refuses a script at its `maxmemory` (policy `noeviction`) only at the first write
//! command, and lets every later one through to keep the script atomic. An unconditional
//! `DEL` first (even of a missing key) would let a full server keep growing with sessions
//! (`session-redis/tests/fault.rs` fills one), so the clean-ups run only when there is
//! something to clean up, or after the `HSET`.

use std::sync::LazyLock;

use redis::Script;

/// Adds member to an owner index (a sorted set of store keys scored by expiry; the index
/// key expires with its longest-lived member), dropping the members already dead.
const IDX_ADD_FN: &str = r#"
local function idx_add(idx, member, score, ttl, now)
  redis.call('ZADD', idx, score, member)
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  local t = redis.call('PTTL', idx)
  if t < tonumber(ttl) then redis.call('PEXPIRE', idx, ttl) end
end
"#;
/// Whether expiry field `e` says live at `now`.
const LIVE_FN: &str = r#"
local function live(e, now)
  return e and tonumber(e) > now
end
"#;
/// The lease in a lock key: its token and its end.
const LEASE_FN: &str = r#"
local function lease(lock)
  local v = redis.call('GET', lock)
  if not v then return nil, nil end
  return string.match(v, '^(%d+):(%d+)$')
end
"#;
/// Whether lease `token` is the one running.
const HOLDS_FN: &str = r#"
local function holds(lock, token, now)
  local t, ends = lease(lock)
  return t == token and tonumber(ends) > now
end
"#;

/// The helpers in the order they must be defined (`holds` calls `lease`), each with what
/// else it needs.
const HELPERS: [(&str, &str, &[&str]); 4] = [
    ("idx_add", IDX_ADD_FN, &[]),
    ("live", LIVE_FN, &[]),
    ("lease", LEASE_FN, &[]),
    ("holds", HOLDS_FN, &["lease"]),
];

/// Whether Lua text `body` calls function `name` (not merely a name ending in it).
fn calls(body: &str, name: &str) -> bool {
    let call = format!("{name}(");
    body.match_indices(&call).any(|(at, _)| {
        !body[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The script's text: `body` after the helpers it calls, and only those. Defining a Lua
/// function is work the server does on every call of the script, so a save does not
/// define the lock's helpers (`scripts/server-cost.sh`, one sitting: a save 5.45 µs of
/// server time with all four helpers, 5.32 with its two).
fn text(body: &str) -> String {
    let needed = |name: &str| {
        calls(body, name)
            || HELPERS
                .iter()
                .any(|(user, _, needs)| needs.contains(&name) && calls(body, user))
    };
    let mut text = String::new();
    for (name, def, _) in HELPERS {
        if needed(name) {
            text.push_str(def);
        }
    }
    text.push_str(body);
    text
}

fn script(body: &str) -> Script {
    Script::new(&text(body))
}

/// KEYS: rec, [idx]. ARGV: now, r, e, l, v, ttl, member, owner.
///
/// A dead record still under the key (expired by the store's clock before Redis's TTL
/// removed it) is deleted first, so that none of its fields outlives it. Whether one is
/// there is read from field `e` alone: every write of ours sets `e` with the record, so a
/// key without it is not ours to find (an `EXISTS` for that case was a fourth command,
/// about 1 µs of the script's 6.5 µs on the server).
pub(crate) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
local e = redis.call('HGET', KEYS[1], 'e')
if live(e, now) then return 'collision' end
if e then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], 'r', ARGV[2], 'e', ARGV[3], 'l', ARGV[4], 'v', ARGV[5])
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'o', ARGV[8]) end
if KEYS[2] then
  redis.call('HSET', KEYS[1], 'x', KEYS[2])
  idx_add(KEYS[2], ARGV[7], ARGV[3], ARGV[6], now)
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 'ok'
"#,
    )
});

/// The parts of a save, shared by [`SAVE`] and [`SAVE_FENCED`], which differ only in where
/// the owner index is among `KEYS` and in the fenced one's lease check. Expect locals `rec`,
/// `idx` and `lock` (the fenced save's lease key, released with the write; else nil); ARGV
/// as [`SAVE`]'s.
const SAVE_READ: &str = r#"
local now = tonumber(ARGV[1])
local cur = redis.call('HMGET', rec, 'e', 'v', 'o', 'x')
if not live(cur[1], now) then return {'gone'} end
"#;
const SAVE_CAS: &str = r#"
if cur[2] ~= ARGV[2] then return {'conflict'} end
"#;
const SAVE_WRITE: &str = r#"
local old_owner = cur[3] or ''
local old_x = cur[4] or ''
if tonumber(ARGV[4]) <= now then
  redis.call('DEL', rec)
  if lock then redis.call('DEL', lock) end
  if old_x ~= '' then redis.call('ZREM', old_x, ARGV[8]) end
  return {'deleted', old_owner, old_x}
end
redis.call('HSET', rec, 'r', ARGV[3], 'e', ARGV[4], 'l', ARGV[5], 'v', ARGV[6])
if lock then redis.call('DEL', lock) end
if old_x ~= '' and old_owner ~= ARGV[9] then redis.call('ZREM', old_x, ARGV[8]) end
if old_owner ~= ARGV[9] or old_x ~= (idx or '') then
  redis.call('HDEL', rec, 'o', 'x')
  if ARGV[9] ~= '' then redis.call('HSET', rec, 'o', ARGV[9]) end
  if idx then redis.call('HSET', rec, 'x', idx) end
end
if idx then idx_add(idx, ARGV[8], ARGV[4], ARGV[7], now) end
redis.call('PEXPIRE', rec, ARGV[7])
if old_owner == '' then return 'ok' end
return {'ok', old_owner, old_x}
"#;

/// KEYS: rec, [idx of the new owner]. ARGV: now, expected, r, e, l, v, ttl, member, owner.
/// Returns {status, old owner, old index}, or a bare `ok` when there was no owner (the
/// anonymous session's save: nothing for the client to follow up, and a one-word reply
/// is the cheapest to parse). The owner and index fields are rewritten only when they
/// change, so an anonymous save is three commands: `HMGET`, `HSET`, `PEXPIRE`.
pub(crate) static SAVE: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "local rec, idx, lock = KEYS[1], KEYS[2], nil\n{SAVE_READ}{SAVE_CAS}{SAVE_WRITE}"
    ))
});

/// The save of the lock's holder: [`SAVE`], refused with `lock_lost` unless lease `token`
/// is still held, and releasing it in the same step.
/// KEYS: rec, lock, [idx of the new owner]. ARGV: as [`SAVE`], then token.
pub(crate) static SAVE_FENCED: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "local rec, idx, lock = KEYS[1], KEYS[3], KEYS[2]\n{SAVE_READ}\
         if not holds(KEYS[2], ARGV[10], now) then return {{'lock_lost'}} end\n\
         {SAVE_CAS}{SAVE_WRITE}"
    ))
});

/// Takes the session's lock: the lock key, beside the record in its hash slot, holds
/// `token:until` and carries a TTL (PX) so that Redis drops a dead holder's key by itself.
/// It is set only when no lease is running; whether one runs is decided by the store's
/// clock, as for records, so a test's manual clock drives leases too. Tokens come from the
/// record's counter field `f`, so they grow for as long as the session lives.
/// KEYS: rec, lock. ARGV: now, until, ttl. Returns {'ok', token} or {'held', until}.
pub(crate) static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
if not live(redis.call('HGET', KEYS[1], 'e'), now) then return {'gone'} end
local _, ends = lease(KEYS[2])
if ends and tonumber(ends) > now then return {'held', ends} end
local t = redis.call('HINCRBY', KEYS[1], 'f', 1)
redis.call('SET', KEYS[2], t .. ':' .. ARGV[2], 'PX', ARGV[3])
return {'ok', tostring(t)}
"#,
    )
});

/// Releases lease `token` (check, then delete). KEYS: rec, lock. ARGV: now, token.
pub(crate) static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
if not live(redis.call('HGET', KEYS[1], 'e'), now) then return {'gone'} end
if not holds(KEYS[2], ARGV[2], now) then return {'lock_lost'} end
redis.call('DEL', KEYS[2])
return {'ok'}
"#,
    )
});

/// KEYS: rec. ARGV: now, e, l (both 20 digits), ttl, member. Returns {status, owner, index}.
/// Never revives: a missing or expired record is 'gone' and nothing is written.
pub(crate) static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
local cur = redis.call('HMGET', KEYS[1], 'e', 'l', 'o', 'x')
if not live(cur[1], now) then return {'gone'} end
local l = ARGV[3]
if cur[2] and tonumber(cur[2]) > tonumber(l) then l = cur[2] end
local r = redis.call('HGET', KEYS[1], 'r') or ''
redis.call('HSET', KEYS[1], 'e', ARGV[2], 'l', l, 'r', ARGV[2] .. l .. string.sub(r, 41))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if cur[4] then idx_add(cur[4], ARGV[5], ARGV[2], ARGV[4], now) end
return {'ok', cur[3] or '', cur[4] or ''}
"#,
    )
});

/// KEYS: rec. ARGV: now, member, required owner ('' for any), the end-notice channel.
/// Returns {status, owner, index, was live (1/0)}. Publishes the member on the channel, in
/// the same atomic step, so that live connections on any node learn of it (`notices`).
/// A plain delete on a standalone server is a transaction instead (`delete`); this script
/// serves the owner-restricted delete and Cluster.
pub(crate) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
local cur = redis.call('HMGET', KEYS[1], 'e', 'o', 'x')
if ARGV[3] ~= '' and cur[2] ~= ARGV[3] then return {'skipped', '', '', 0} end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[4], ARGV[2])
if cur[3] then redis.call('ZREM', cur[3], ARGV[2]) end
local was = 0
if live(cur[1], now) then was = 1 end
return {'ok', cur[2] or '', cur[3] or '', was}
"#,
    )
});

/// Same-slot rotation. KEYS: old, new, [idx of the new owner].
/// ARGV: now, expected, r, e, l, v, ttl, old member, new member, owner, end-notice channel.
/// Returns {status, old owner, old index}. Publishes the old member, as [`DELETE`] does.
pub(crate) static ROTATE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
local cur = redis.call('HMGET', KEYS[1], 'e', 'v', 'o', 'x')
if not live(cur[1], now) then return {'gone'} end
if cur[2] ~= ARGV[2] then return {'conflict'} end
if live(redis.call('HGET', KEYS[2], 'e'), now) then return {'collision'} end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DEL', KEYS[2]) end
redis.call('HSET', KEYS[2], 'r', ARGV[3], 'e', ARGV[4], 'l', ARGV[5], 'v', ARGV[6])
if ARGV[10] ~= '' then redis.call('HSET', KEYS[2], 'o', ARGV[10]) end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[11], ARGV[8])
if cur[4] then redis.call('ZREM', cur[4], ARGV[8]) end
if KEYS[3] then
  redis.call('HSET', KEYS[2], 'x', KEYS[3])
  idx_add(KEYS[3], ARGV[9], ARGV[4], ARGV[7], now)
end
redis.call('PEXPIRE', KEYS[2], ARGV[7])
return {'ok', cur[3] or '', cur[4] or ''}
"#,
    )
});

/// First step of a cross-slot rotation: checks the old record and marks it as moving, so
/// that a concurrent save conflicts instead of writing data the move would then delete.
/// KEYS: old. ARGV: now, expected, token.
pub(crate) static MARK_MOVING: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
local cur = redis.call('HMGET', KEYS[1], 'e', 'v')
if not live(cur[1], now) then return 'gone' end
if cur[2] ~= ARGV[2] then return 'conflict' end
redis.call('HSET', KEYS[1], 'v', 'moving:' .. ARGV[3])
return 'ok'
"#,
    )
});

/// Undoes [`MARK_MOVING`] when the move failed. KEYS: old. ARGV: expected, token.
pub(crate) static UNMARK_MOVING: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
if redis.call('HGET', KEYS[1], 'v') == 'moving:' .. ARGV[2] then
  redis.call('HSET', KEYS[1], 'v', ARGV[1])
end
return 'ok'
"#,
    )
});

/// Index maintenance across slots. KEYS: idx. ARGV: now, member, score, ttl.
pub(crate) static INDEX_ADD: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
idx_add(KEYS[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[1]))
return 'ok'
"#,
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_defines_the_helpers_it_calls_and_no_others() {
        let save = text("if not live(cur[1], now) then return 1 end\nidx_add(i, m, s, t, now)");
        assert!(save.contains("local function live("));
        assert!(save.contains("local function idx_add("));
        assert!(!save.contains("local function lease("));
        assert!(!save.contains("local function holds("));

        // `holds` brings `lease`, defined before it.
        let fenced = text("if not holds(KEYS[2], ARGV[2], now) then return 1 end");
        let (lease, holds) = (
            fenced.find("local function lease(").expect("lease defined"),
            fenced.find("local function holds(").expect("holds defined"),
        );
        assert!(lease < holds);
        assert!(!fenced.contains("local function live("));
    }

    #[test]
    fn a_name_ending_in_a_helper_is_not_a_call_of_it() {
        assert!(!calls("release(x)", "lease"));
        assert!(!calls("alive(x)", "live"));
        assert!(calls("x = lease(k)", "lease"));
        assert!(calls("live(e, now)", "live"));
    }
}
