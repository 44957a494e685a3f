//! How a record sits in Redis: the hash field `r` holds a 40-byte header (expires-at and
//! last-seen, 20 decimal digits each, so that the touch script rewrites them without
//! parsing the record) followed by the encoded record; fields `e`, `l`, `v` and `o` copy
//! expiry, last-seen, version and owner for the scripts' checks. On load the header's two
//! times are the record's [`Envelope`], kept nowhere else (see `session_core::record`).

use session_core::{DecodeProblem, Envelope, Error, Record, Timestamp};

/// Length of the header in field `r`: expires-at and last-seen, 20 digits each.
pub(crate) const HEADER: usize = 40;

/// One of the header's two times.
pub(crate) type TimeField = [u8; HEADER / 2];

/// A time as the scripts store it: milliseconds since the epoch in 20 zero-padded digits
/// (fixed width so a script can replace the header of `r` without parsing the record;
/// times before the epoch are stored as 0).
pub(crate) fn ms_field(t: Timestamp) -> [u8; HEADER / 2] {
    let mut out = [b'0'; HEADER / 2];
    let mut v = t.as_millis().max(0).unsigned_abs();
    for d in out.iter_mut().rev() {
        // i64::MAX has 19 digits, so 20 always suffice.
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out
}

/// Reads a field written by [`ms_field`]; `None` for anything else.
pub(crate) fn parse_field(b: &[u8]) -> Option<Timestamp> {
    if b.len() != HEADER / 2 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    Some(Timestamp::from_millis(v))
}

/// The TTL in milliseconds a key gets for a record expiring at `expires_at` (at least 1).
pub(crate) fn ttl_ms(now: Timestamp, expires_at: Timestamp) -> i64 {
    (expires_at.as_millis() - now.as_millis()).max(1)
}

/// Field `r` for `record`, with the two header fields on their own.
pub(crate) fn encode_r(record: &Record) -> Result<(Vec<u8>, TimeField, TimeField), Error> {
    let (e, l) = (ms_field(record.expires_at), ms_field(record.last_seen));
    let mut r = Vec::with_capacity(HEADER + 64 + record.approximate_size());
    r.extend_from_slice(&e);
    r.extend_from_slice(&l);
    record.encode_into(&mut r)?;
    Ok((r, e, l))
}

/// Field `r` whose header is not two fixed-width times.
pub(crate) const BAD_HEADER: Error = Error::Decode {
    reason: DecodeProblem::Inconsistent("record header is not two 20-digit times"),
};

/// The live record in field `r`, or `None` once it has expired at `now`.
pub(crate) fn decode_r(bytes: &[u8], now: Timestamp) -> Result<Option<Record>, Error> {
    let (body, envelope) = split_r(bytes).ok_or(BAD_HEADER)?;
    if now >= envelope.expires_at {
        return Ok(None);
    }
    Record::decode(body, envelope).map(Some)
}

/// Field `r` split into the record's body and its envelope, without decoding the body.
pub(crate) fn split_r(bytes: &[u8]) -> Option<(&[u8], Envelope)> {
    let (header, body) = bytes.split_at_checked(HEADER)?;
    let (e, l) = header.split_at(HEADER / 2);
    Some((
        body,
        Envelope {
            expires_at: parse_field(e)?,
            last_seen: parse_field(l)?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header fields are fixed width and round-trip every time a store can meet,
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

    /// Field `r` round-trips, and its header is the record's envelope.
    #[test]
    fn field_r_round_trips() {
        let mut r = Record::new(Timestamp::from_millis(5), Timestamp::from_millis(1_000));
        r.data
            .insert("k".into(), session_core::Bytes::from_static(b"v"));
        let (mut bytes, _, _) = encode_r(&r).unwrap();
        assert_eq!(
            decode_r(&bytes, Timestamp::from_millis(6)).unwrap(),
            Some(r.clone())
        );
        assert_eq!(
            decode_r(&bytes, Timestamp::from_millis(1_000)).unwrap(),
            None
        );
        bytes[..HEADER / 2].copy_from_slice(&ms_field(Timestamp::from_millis(9_000)));
        let touched = decode_r(&bytes, Timestamp::from_millis(2_000))
            .unwrap()
            .unwrap();
        assert_eq!(touched.expires_at, Timestamp::from_millis(9_000));
        assert!(decode_r(&bytes[..10], Timestamp::from_millis(0)).is_err());
    }
}
