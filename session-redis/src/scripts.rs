//! The Lua scripts behind every multi-step operation.
//!
//! Each script is one atomic step on the server: Redis runs it without interleaving any
//! other command, which is what makes compare-and-swap, touch-without-revival and rotation
//! atomic. `redis::Script` sends EVALSHA and reloads the script on NOSCRIPT (after a
//! failover or a `SCRIPT FLUSH`).
//!
//! The record layout is one string per session, a fixed header then the record (see
//! `layout`): a script reads the header alone (`GETRANGE 0 89`: expiry, last seen,
//! version, lock counter, the lengths of owner and index name), reads the owner and index
//! name with a second `GETRANGE` only when there are any, and writes a whole record with
//! one `SET … PX`. Header offsets in the scripts are Lua's (1-based): expiry 1-20, last
//! seen 21-40, version 41-60, lock counter 61-80, lengths 81-85 and 86-90.
//!
//! Times come from the store's clock as arguments, never from Redis's `TIME`, so logical
//! expiry agrees with the application (and with a test's manual clock). The key's TTL
//! follows the expiry, so Redis removes dead sessions itself.
//!
//! Scripts touch the owner index named in the record or in `KEYS` only when it shares the
//! record's slot; the store does the rare cross-slot index update as a separate command.
//!
//! A script's first write that can grow memory must come before any other write: Redis
//! refuses a script at its `maxmemory` (policy `noeviction`) only at the first write
//! command, and lets every later one through to keep the script atomic. An unconditional
//! `DEL` first (even of a missing key) would let a full server keep growing with sessions
//! (`session-redis/tests/fault.rs` fills one), so the clean-ups run only when there is
//! something to clean up, or after the `SET`.

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
/// Whether expiry `e` (20 digits, or anything else read where a header should be) says
/// live at `now`.
const LIVE_FN: &str = r#"
local function live(e, now)
  local t = tonumber(e)
  return t ~= nil and t > now
end
"#;
/// The owner and the same-slot index name of the record at `k` whose header is `h`: a
/// second `GETRANGE` only when there are any.
const META_FN: &str = r#"
local function meta(k, h)
  local ol, xl = tonumber(string.sub(h, 81, 85)), tonumber(string.sub(h, 86, 90))
  if not ol or not xl or ol + xl == 0 then return '', '' end
  local m = redis.call('GETRANGE', k, 90, 89 + ol + xl)
  return string.sub(m, 1, ol), string.sub(m, ol + 1)
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
const HELPERS: [(&str, &str, &[&str]); 5] = [
    ("idx_add", IDX_ADD_FN, &[]),
    ("live", LIVE_FN, &[]),
    ("meta", META_FN, &[]),
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

/// The script's text: `body` after the helpers it calls, and only those, except a helper
/// that `body` defines itself (inside the branch that needs it). Defining a Lua function
/// is work the server does on every call of the script, so a save does not define the
/// lock's helpers (`scripts/server-cost.sh`, one sitting: a save 5.45 µs of server time
/// with all four helpers, 5.32 with its two).
fn text(body: &str) -> String {
    let needed = |name: &str| {
        !body.contains(&format!("local function {name}("))
            && (calls(body, name)
                || HELPERS
                    .iter()
                    .any(|(user, _, needs)| needs.contains(&name) && calls(body, user)))
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

/// KEYS: rec, [idx]. ARGV: now, value, e, ttl, member.
///
/// The create of a logged-in session whose index shares its slot, and the fallback of the
/// plain `SET … NX PX` a create without one is (`contract`) when that found the key taken:
/// a dead record still under the key (expired by the store's clock before Redis's TTL
/// removed it) is replaced, a live one is a collision.
pub(crate) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
if live(redis.call('GETRANGE', KEYS[1], 0, 19), now) then return 'collision' end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
if KEYS[2] then idx_add(KEYS[2], ARGV[5], ARGV[3], ARGV[4], now) end
return 'ok'
"#,
    )
});

/// The parts of a save, shared by [`SAVE`] and [`SAVE_FENCED`], which differ only in where
/// the owner index is among `KEYS` and in the fenced one's lease check. Expect locals `rec`,
/// `idx` and `lock` (the fenced save's lease key, released with the write; else nil); ARGV
/// as [`SAVE`]'s.
///
/// The save is the hot path, so it calls no helper on the way every save takes: the
/// checks and the names are written out, and the index helper is defined inside the
/// branch of a logged-in session (a definition is work on every call; with `live`, `meta`
/// and `idx_add` defined up front a save cost the server 7.85 µs, written out 7.41: the
/// two texts run as `scripts/server-cost.sh` runs its save row, one sitting).
///
/// Times are compared as the 20-digit fields they are (`now` and the new expiry come in
/// that form), not through `tonumber`: two equal-length digit strings order as their
/// numbers do, and a Lua string comparison costs the server a fraction of a conversion
/// (`scripts/server-cost.sh --instructions`: a save's checks took 9,600 instructions with
/// two `tonumber`s and four cuts of the header, 4,400 with string comparisons and three).
/// The lock counter and the two lengths are one 30-digit cut, all zeros for an anonymous
/// session that was never locked.
const SAVE_READ: &str = r#"
local now = ARGV[1]
local h = redis.call('GETRANGE', rec, 0, 89)
if string.sub(h, 1, 20) <= now then return {'gone'} end
"#;
const SAVE_CAS: &str = r#"
if string.sub(h, 41, 60) ~= ARGV[2] then return {'conflict'} end
"#;
const SAVE_WRITE: &str = r#"
local tail, old_owner, old_x, f, member = string.sub(h, 61, 90), '', '', nil, ARGV[6]
if tail ~= '000000000000000000000000000000' then
  f = string.sub(tail, 1, 20)
  if f == '00000000000000000000' then f = nil end
  if string.sub(tail, 21, 30) ~= '0000000000' then
    local ol, xl = tonumber(string.sub(h, 81, 85)), tonumber(string.sub(h, 86, 90))
    local m = redis.call('GETRANGE', rec, 90, 89 + ol + xl)
    old_owner, old_x = string.sub(m, 1, ol), string.sub(m, ol + 1)
    if not member then
      -- An anonymous save sends no member; a stored session with an index (one whose
      -- owner this save drops) gets it from its key: `{` four tag characters (64 plus
      -- a nibble each) `}:r:` then the hash's 64 hex digits.
      local a, b, c, d = string.byte(rec, -72, -69)
      member = string.format('%x%x%x%x', a - 64, b - 64, c - 64, d - 64)
        .. string.sub(rec, -64)
    end
  end
end
if ARGV[4] <= now then
  redis.call('DEL', rec)
  if lock then redis.call('DEL', lock) end
  if old_x ~= '' then redis.call('ZREM', old_x, member) end
  return {'deleted', old_owner, old_x}
end
redis.call('SET', rec, ARGV[3], 'PX', ARGV[5])
if f then redis.call('SETRANGE', rec, 60, f) end
if lock then redis.call('DEL', lock) end
if old_x ~= '' and old_owner ~= ARGV[7] then redis.call('ZREM', old_x, member) end
if idx then
IDX_ADD_HERE
  idx_add(idx, member, ARGV[4], ARGV[5], now)
end
if old_owner == '' then return 'ok' end
return {'ok', old_owner, old_x}
"#;

/// [`SAVE_WRITE`] with the index helper defined where it is used.
fn save_write() -> String {
    SAVE_WRITE.replace("IDX_ADD_HERE", IDX_ADD_FN.trim())
}

/// KEYS: rec, [idx of the new owner]. ARGV: now and expected (20 digits each), value, e
/// (20 digits), ttl, then member and owner unless there is no owner. Returns
/// {status, old owner, old index}, or a bare `ok` when there was no owner (the anonymous
/// session's save: nothing for the client to follow up, and a one-word reply is the
/// cheapest to parse). An anonymous save is two commands: `GETRANGE` and `SET`; the lock
/// counter is copied back only into a session that has been locked.
pub(crate) static SAVE: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "local rec, idx, lock = KEYS[1], KEYS[2], nil\n{SAVE_READ}{SAVE_CAS}{}",
        save_write()
    ))
});

/// The save of the lock's holder: [`SAVE`], refused with `lock_lost` unless lease `token`
/// is still held, and releasing it in the same step.
/// KEYS: rec, lock, [idx of the new owner]. ARGV: as [`SAVE`] with the owner always
/// ('' for none), then token.
pub(crate) static SAVE_FENCED: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "local rec, idx, lock = KEYS[1], KEYS[3], KEYS[2]\n{SAVE_READ}\
         if not holds(KEYS[2], ARGV[8], tonumber(now)) then return {{'lock_lost'}} end\n\
         {SAVE_CAS}{}",
        save_write()
    ))
});

/// Takes the session's lock: the lock key, beside the record in its hash slot, holds
/// `token:until` and carries a TTL (PX) so that Redis drops a dead holder's key by itself.
/// It is set only when no lease is running; whether one runs is decided by the store's
/// clock, as for records, so a test's manual clock drives leases too. Tokens come from the
/// record's lock counter, so they grow for as long as the session lives (a save copies
/// the counter into the record it writes).
/// KEYS: rec, lock. ARGV: now, until, ttl. Returns {'ok', token} or {'held', until}.
pub(crate) static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
local h = redis.call('GETRANGE', KEYS[1], 0, 89)
if not live(string.sub(h, 1, 20), now) then return {'gone'} end
local _, ends = lease(KEYS[2])
if ends and tonumber(ends) > now then return {'held', ends} end
local t = (tonumber(string.sub(h, 61, 80)) or 0) + 1
redis.call('SETRANGE', KEYS[1], 60, string.format('%020d', t))
redis.call('SET', KEYS[2], string.format('%d', t) .. ':' .. ARGV[2], 'PX', ARGV[3])
return {'ok', string.format('%d', t)}
"#,
    )
});

/// Releases lease `token` (check, then delete). KEYS: rec, lock. ARGV: now, token.
pub(crate) static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
if not live(redis.call('GETRANGE', KEYS[1], 0, 19), now) then return {'gone'} end
if not holds(KEYS[2], ARGV[2], now) then return {'lock_lost'} end
redis.call('DEL', KEYS[2])
return {'ok'}
"#,
    )
});

/// KEYS: rec. ARGV: now, e, l (both 20 digits), ttl, member. Returns {status, owner, index}.
/// Never revives: a missing or expired record is 'gone' and nothing is written. The two
/// times are rewritten in place; last seen never goes back.
pub(crate) static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
local h = redis.call('GETRANGE', KEYS[1], 0, 89)
if not live(string.sub(h, 1, 20), now) then return {'gone'} end
local l = ARGV[3]
local cl = string.sub(h, 21, 40)
if tonumber(cl) > tonumber(l) then l = cl end
redis.call('SETRANGE', KEYS[1], 0, ARGV[2] .. l)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local o, x = meta(KEYS[1], h)
if x ~= '' then idx_add(x, ARGV[5], ARGV[2], ARGV[4], now) end
return {'ok', o, x}
"#,
    )
});

/// KEYS: rec. ARGV: now, member, required owner ('' for any), the end-notice channel.
/// Returns {status, owner, index, was live (1/0), found (1/0)}, or `gone` when a delete
/// restricted to an owner found nothing (the store then looks for a session of 0.1's
/// layout). Publishes the member on the channel, in
/// the same atomic step, so that live connections on any node learn of it (`notices`).
/// A plain delete on a standalone server is a transaction instead (`delete`); this script
/// serves the owner-restricted delete and Cluster.
pub(crate) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
local h = redis.call('GETRANGE', KEYS[1], 0, 89)
local o, x = '', ''
if #h == 90 then o, x = meta(KEYS[1], h) end
if ARGV[3] ~= '' and h == '' then return {'gone'} end
if ARGV[3] ~= '' and o ~= ARGV[3] then return {'skipped', '', '', 0} end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[4], ARGV[2])
if x ~= '' then redis.call('ZREM', x, ARGV[2]) end
local was, found = 0, 0
if live(string.sub(h, 1, 20), now) then was = 1 end
if h ~= '' then found = 1 end
return {'ok', o, x, was, found}
"#,
    )
});

/// Same-slot rotation. KEYS: old, new, [idx of the new owner].
/// ARGV: now and expected (20 digits each), value, e (20 digits), ttl, old member, new
/// member, end-notice channel. Returns {status, old owner, old index}. Publishes the old
/// member, as [`DELETE`] does.
pub(crate) static ROTATE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
local h = redis.call('GETRANGE', KEYS[1], 0, 89)
if not live(string.sub(h, 1, 20), now) then return {'gone'} end
if string.sub(h, 41, 60) ~= ARGV[2] then return {'conflict'} end
if live(redis.call('GETRANGE', KEYS[2], 0, 19), now) then return {'collision'} end
local o, x = meta(KEYS[1], h)
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[5])
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[8], ARGV[6])
if x ~= '' then redis.call('ZREM', x, ARGV[6]) end
if KEYS[3] then idx_add(KEYS[3], ARGV[7], ARGV[4], ARGV[5], now) end
return {'ok', o, x}
"#,
    )
});

/// First step of a cross-slot rotation: checks the old record and marks it as moving, so
/// that a concurrent save conflicts instead of writing data the move would then delete.
/// The mark is the version field set to `layout::MOVING`, and the new key's name in a
/// key beside the record that lives as long as it.
/// KEYS: old, its moving key. ARGV: now, expected (20 digits), token (the new key's text).
pub(crate) static MARK_MOVING: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
local h = redis.call('GETRANGE', KEYS[1], 0, 89)
if not live(string.sub(h, 1, 20), now) then return 'gone' end
if string.sub(h, 41, 60) ~= ARGV[2] then return 'conflict' end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 1 then ttl = 1 end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ttl)
redis.call('SETRANGE', KEYS[1], 40, 'mmmmmmmmmmmmmmmmmmmm')
return 'ok'
"#,
    )
});

/// Undoes [`MARK_MOVING`] when the move failed. KEYS: old, its moving key.
/// ARGV: expected (20 digits), token.
pub(crate) static UNMARK_MOVING: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
if redis.call('GETRANGE', KEYS[1], 40, 59) == 'mmmmmmmmmmmmmmmmmmmm'
  and redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('SETRANGE', KEYS[1], 40, ARGV[1])
  redis.call('DEL', KEYS[2])
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

/// Converts a session stored by version 0.1's layout (a hash per session, under the `s`
/// key kind) into today's string, keeping its TTL, lock counter and index entry, and
/// returns the new value; nil when there is no live one to convert. The store runs it
/// when a load finds nothing, so sessions made before an upgrade stay logged in; the
/// hash's fields were `r` (40-byte header and body), `e`, `l`, `v`, `o`, `x` and `f`.
/// KEYS: old hash, new record. ARGV: now.
pub(crate) static CONVERT_HASH: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = tonumber(ARGV[1])
-- Converted meanwhile by another load: its result.
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.call('GET', KEYS[2]) end
if redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then return false end
local h = redis.call('HMGET', KEYS[1], 'r', 'e', 'v', 'o', 'x', 'f')
local v = tonumber(h[3])
if not h[1] or not live(h[2], now) or not v then return false end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 1 then return false end
local o, x = h[4] or '', h[5] or ''
local value = string.sub(h[1], 1, 40) .. string.format('%020d', v)
  .. string.format('%020d', tonumber(h[6] or '0') or 0)
  .. string.format('%05d', #o) .. string.format('%05d', #x) .. o .. x
  .. string.sub(h[1], 41)
redis.call('SET', KEYS[2], value, 'PX', ttl)
redis.call('DEL', KEYS[1])
return value
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

    /// The save defines no helper on the path every save takes: the index helper only
    /// inside the branch of a logged-in session, the lock's only in the fenced save.
    #[test]
    fn a_save_defines_its_index_helper_only_where_it_is_used() {
        let plain = format!(
            "local rec, idx, lock = KEYS[1], KEYS[2], nil\n{SAVE_READ}{SAVE_CAS}{}",
            save_write()
        );
        let text = text(&plain);
        assert!(!text.contains("IDX_ADD_HERE"));
        assert!(!text.contains("local function live("));
        assert!(!text.contains("local function meta("));
        let defined = text.find("local function idx_add(").expect("defined");
        let branch = text.find("if idx then").expect("branch");
        assert!(branch < defined, "idx_add is defined before its branch");
        assert_eq!(text.matches("local function idx_add(").count(), 1);
    }

    #[test]
    fn a_name_ending_in_a_helper_is_not_a_call_of_it() {
        assert!(!calls("release(x)", "lease"));
        assert!(!calls("alive(x)", "live"));
        assert!(calls("x = lease(k)", "lease"));
        assert!(calls("live(e, now)", "live"));
    }
}
