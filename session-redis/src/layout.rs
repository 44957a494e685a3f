//! How a session sits in Redis: one string per session, a fixed 90-byte header, the owner
//! and index names, then the encoded record.
//!
//! | bytes | holds |
//! |---|---|
//! | 0-19 | expires-at, ms since the epoch, 20 digits: the truth for expiry |
//! | 20-39 | last seen, ms, 20 digits |
//! | 40-59 | version, 20 digits, or [`MOVING`] during a cross-slot rotation |
//! | 60-79 | the per-session lock's last fencing token, 20 digits |
//! | 80-84 | length of the owner, 5 digits (0 without one) |
//! | 85-89 | length of the owner index's key name when it shares this key's slot, 5 digits |
//! | 90- | the owner, the index's name, then the record's body ([`Record::encode_into`]) |
//!
//! A string rather than a hash because it costs the server less, and at 16 and 64 users
//! the server shares the machine with its clients: a write is one `SET … PX` that
//! replaces value and TTL at once, a script reads the header alone with `GETRANGE 0 89`
//! whatever the record's size, a touch rewrites the two times in place with one
//! `SETRANGE`, a create with no owner is a bare `SET … NX PX` and a delete a `GETDEL`
//! (a create and delete: about 3.7 µs of server time against 9.6 with the hash,
//! `scripts/server-cost.sh`; memory per small session 558 bytes against 849). Fixed widths let a script compare and rewrite fields without parsing the
//! record. On load the header's two times are the record's [`Envelope`], kept nowhere
//! else (see `session_core::record`).

use session_core::{DecodeProblem, Envelope, Error, Record, Timestamp};

/// Length of the fixed header.
pub(crate) const HEADER: usize = 90;

/// Width of one number in the header.
const NUM: usize = 20;

/// One 20-digit number of the header.
pub(crate) type Field = [u8; NUM];

/// The version field of a record being moved to another slot: never a version, so a save
/// that expects one conflicts.
pub(crate) const MOVING: Field = *b"mmmmmmmmmmmmmmmmmmmm";

/// The longest owner or index name the 5-digit lengths can give.
const MAX_NAME: usize = 99_999;

/// `v` as 20 zero-padded digits (`u64::MAX` has 20).
pub(crate) fn num_field(mut v: u64) -> Field {
    // Two digits per division, and none for the leading zeros: a save writes six of these
    // (a digit per division for all twenty cost it about 700 instructions, `prof`).
    let mut out = [b'0'; NUM];
    let mut i = NUM;
    while v >= 10 {
        let pair = &DIGIT_PAIRS[(v % 100) as usize * 2..][..2];
        v /= 100;
        i -= 2;
        out[i..i + 2].copy_from_slice(pair);
    }
    if v > 0 {
        out[i - 1] = b'0' + v as u8;
    }
    out
}

/// "00" to "99", back to back.
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut n = 0;
    while n < 100 {
        t[2 * n] = b'0' + (n / 10) as u8;
        t[2 * n + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    t
};

/// A time as the scripts store it: milliseconds since the epoch in 20 zero-padded digits
/// (times before the epoch are stored as 0).
pub(crate) fn ms_field(t: Timestamp) -> Field {
    num_field(t.as_millis().max(0).unsigned_abs())
}

/// Reads a 20-digit number; `None` for anything else.
fn parse_num(b: &[u8]) -> Option<u64> {
    let b: &[u8; NUM] = b.try_into().ok()?;
    let digit = |c: u8| Some(u64::from(c.wrapping_sub(b'0'))).filter(|d| *d < 10);
    // Nineteen digits fit a u64 (at most 10^19 - 1), so only the last step can overflow.
    let head = b[..NUM - 1]
        .iter()
        .try_fold(0u64, |v, &c| Some(v * 10 + digit(c)?))?;
    head.checked_mul(10)?.checked_add(digit(b[NUM - 1])?)
}

/// Reads a time written by [`ms_field`]; `None` for anything else.
pub(crate) fn parse_field(b: &[u8]) -> Option<Timestamp> {
    let v = i64::try_from(parse_num(b)?).ok()?;
    Some(Timestamp::from_millis(v))
}

/// The TTL in milliseconds a key gets for a record expiring at `expires_at` (at least 1).
pub(crate) fn ttl_ms(now: Timestamp, expires_at: Timestamp) -> i64 {
    (expires_at.as_millis() - now.as_millis()).max(1)
}

fn len_field(n: usize) -> Result<[u8; 5], Error> {
    if n > MAX_NAME {
        return Err(Error::TooLarge {
            size: n,
            limit: MAX_NAME,
        });
    }
    // At most 99,999: the last five of the twenty digits `num_field` writes.
    let mut out = [0u8; 5];
    out.copy_from_slice(&num_field(n as u64)[NUM - 5..]);
    Ok(out)
}

/// The stored value for `record`, naming `index` (empty when the owner's index is in
/// another slot, or there is no owner) and a lock counter of zero (the scripts keep the
/// stored one).
pub(crate) fn encode(record: &Record, index: &str) -> Result<Vec<u8>, Error> {
    let owner = record.owner.as_deref().unwrap_or("");
    encode_parts(
        record.envelope(),
        record.version,
        owner,
        index,
        record.approximate_size(),
        |out| record.encode_into(out),
    )
}

/// The stored value from its parts, the body written by `body` (a record's own encoding,
/// or the raw bytes being imported), `size` bytes or so.
pub(crate) fn encode_parts(
    envelope: Envelope,
    version: u64,
    owner: &str,
    index: &str,
    size: usize,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(HEADER + owner.len() + index.len() + 64 + size);
    out.extend_from_slice(&ms_field(envelope.expires_at));
    out.extend_from_slice(&ms_field(envelope.last_seen));
    out.extend_from_slice(&num_field(version));
    out.extend_from_slice(&num_field(0));
    out.extend_from_slice(&len_field(owner.len())?);
    out.extend_from_slice(&len_field(index.len())?);
    out.extend_from_slice(owner.as_bytes());
    out.extend_from_slice(index.as_bytes());
    body(&mut out)?;
    Ok(out)
}

/// A stored value's parts, read without decoding the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored<'a> {
    /// Expiry and last seen, from the header.
    pub(crate) envelope: Envelope,
    /// The version, or `None` while the record is marked [`MOVING`].
    pub(crate) version: Option<u64>,
    /// The owner, or empty.
    pub(crate) owner: &'a str,
    /// The owner index's key name when it shares the record's slot, or empty.
    pub(crate) index: &'a str,
    /// The encoded record.
    pub(crate) body: &'a [u8],
}

/// A value whose header is not ours.
pub(crate) const BAD_HEADER: Error = Error::Decode {
    reason: DecodeProblem::Inconsistent("stored session header is malformed"),
};

/// Splits a stored value into its parts; `None` when the header is not one we write.
pub(crate) fn split(bytes: &[u8]) -> Option<Stored<'_>> {
    let (header, rest) = bytes.split_at_checked(HEADER)?;
    let field = |i: usize| &header[i * NUM..(i + 1) * NUM];
    let envelope = Envelope {
        expires_at: parse_field(field(0))?,
        last_seen: parse_field(field(1))?,
    };
    let version = match field(2) {
        v if v == MOVING => None,
        v => Some(parse_num(v)?),
    };
    parse_num(field(3))?;
    let len = |b: &[u8]| -> Option<usize> {
        b.iter().try_fold(0usize, |v, &c| {
            c.is_ascii_digit().then(|| v * 10 + usize::from(c - b'0'))
        })
    };
    let (olen, xlen) = (len(&header[80..85])?, len(&header[85..90])?);
    let (owner, rest) = rest.split_at_checked(olen)?;
    let (index, body) = rest.split_at_checked(xlen)?;
    Some(Stored {
        envelope,
        version,
        owner: std::str::from_utf8(owner).ok()?,
        index: std::str::from_utf8(index).ok()?,
        body,
    })
}

/// The live record in a stored value, or `None` once it has expired at `now` (the
/// store's load does the same in steps, with the moving mark between).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn decode(bytes: &[u8], now: Timestamp) -> Result<Option<Record>, Error> {
    let stored = split(bytes).ok_or(BAD_HEADER)?;
    if now >= stored.envelope.expires_at {
        return Ok(None);
    }
    Record::decode(stored.body, stored.envelope).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header's numbers are fixed width and round-trip every time a store can meet,
    /// including the saturated far future; anything else is refused, never misread.
    #[test]
    fn header_fields_round_trip_and_reject_junk() {
        for ms in [0, 1, 1_764_470_000_000, i64::MAX] {
            let f = ms_field(Timestamp::from_millis(ms));
            assert_eq!(f.len(), 20);
            assert_eq!(parse_field(&f), Some(Timestamp::from_millis(ms)));
        }
        assert_eq!(
            parse_field(&ms_field(Timestamp::from_millis(-5))),
            Some(Timestamp::from_millis(0))
        );
        assert_eq!(parse_num(&num_field(u64::MAX)), Some(u64::MAX));
        // Every digit count, and each side of a power of ten, as `format!` pads it.
        let mut edges = vec![0, 1, 9, 10, 99, 100, u64::MAX - 1, u64::MAX];
        for p in 1..20 {
            let t = 10u64.pow(p);
            edges.extend([t - 1, t, t + 1, t / 10 * 7 + 3]);
        }
        for v in edges {
            let f = num_field(v);
            assert_eq!(
                std::str::from_utf8(&f).ok(),
                Some(format!("{v:020}").as_str())
            );
            assert_eq!(parse_num(&f), Some(v), "{v}");
        }
        assert_eq!(parse_num(b"18446744073709551616"), None, "u64::MAX + 1");
        for (n, text) in [(0, b"00000"), (42, b"00042"), (MAX_NAME, b"99999")] {
            assert_eq!(len_field(n).ok().as_ref(), Some(text), "{n}");
        }
        for bad in [
            &b""[..],
            b"123",
            b"0000000000000000000x",
            b"99999999999999999999",
            b"-0000000000000000001",
        ] {
            assert_eq!(parse_field(bad), None, "{bad:?}");
        }
    }

    fn record() -> Record {
        let mut r = Record::new(Timestamp::from_millis(5), Timestamp::from_millis(1_000));
        r.data
            .insert("k".into(), session_core::Bytes::from_static(b"v"));
        r
    }

    /// A stored value round-trips, and its header is the record's envelope.
    #[test]
    fn a_stored_value_round_trips() {
        let mut r = record();
        r.owner = Some("ada".into());
        r.version = 7;
        let mut bytes = encode(&r, "p:{ab12}:o:ada").unwrap();
        let s = split(&bytes).unwrap();
        assert_eq!(
            (s.version, s.owner, s.index),
            (Some(7), "ada", "p:{ab12}:o:ada")
        );
        assert_eq!(s.envelope, r.envelope());
        assert_eq!(
            decode(&bytes, Timestamp::from_millis(6)).unwrap(),
            Some(r.clone())
        );
        assert_eq!(decode(&bytes, Timestamp::from_millis(1_000)).unwrap(), None);

        // A touch rewrites the first 40 bytes in place.
        bytes[..20].copy_from_slice(&ms_field(Timestamp::from_millis(9_000)));
        let touched = decode(&bytes, Timestamp::from_millis(2_000))
            .unwrap()
            .unwrap();
        assert_eq!(touched.expires_at, Timestamp::from_millis(9_000));

        // A record being moved reads as moving, and still decodes.
        bytes[40..60].copy_from_slice(&MOVING);
        assert_eq!(split(&bytes).unwrap().version, None);
    }

    /// Lengths that run past the value, a short header and non-digits are errors.
    #[test]
    fn a_malformed_header_is_refused() {
        let good = encode(&record(), "").unwrap();
        assert!(decode(&good[..10], Timestamp::from_millis(0)).is_err());
        let mut long_owner = good.clone();
        long_owner[80..85].copy_from_slice(b"99999");
        assert!(split(&long_owner).is_none());
        let mut junk = good.clone();
        junk[62] = b'x';
        assert!(split(&junk).is_none());
        let mut junk = good;
        junk[86] = b' ';
        assert!(split(&junk).is_none());
    }

    /// An owner longer than the header's five digits can count is refused, not truncated.
    #[test]
    fn an_owner_too_long_for_the_header_is_refused() {
        let mut r = record();
        r.owner = Some("x".repeat(MAX_NAME + 1));
        assert!(matches!(encode(&r, ""), Err(Error::TooLarge { .. })));
    }
}
