//! Entry points for the fuzz targets (`fuzz/`), behind the `fuzzing` feature: the reply
//! and layout decoders are crate-private, so the target is a function here that runs one
//! input and panics when a property fails.
//!
//! Not part of the API: no stability promise, and nothing here is needed to use the crate.

use redis::Value;
use session_core::Timestamp;

use crate::layout::{decode, encode_parts, split};
use crate::reply::Reply;

/// A Redis reply on the wire (RESP, as a server or a proxy in between could send it),
/// read as our scripts' replies are: parsed by redis-rs, then by `Reply::parse`, and a
/// bulk string also as a stored session (`layout`).
///
/// Properties: no panic; a reply is a known status or the "unexpected reply" error; a
/// stored session that decodes re-encodes to bytes that decode to the same record, with
/// the envelope, owner and index name its header gave.
pub fn reply(data: &[u8]) {
    let Ok(value) = redis::parse_redis_value(data) else {
        return;
    };
    if let Value::BulkString(b) = &value {
        stored_record(b);
    }
    if let Value::Array(items) = &value {
        for item in items {
            if let Value::BulkString(b) = item {
                stored_record(b);
            }
        }
    }
    match Reply::parse("fuzz", value) {
        Ok(_) => {}
        Err(e) => assert_eq!(
            e.kind(),
            session_core::ErrorKind::Unavailable,
            "a bad reply is not an outage: {e}"
        ),
    }
}

/// A stored session (the header, the owner and index names, then the encoded record).
pub fn stored_record(bytes: &[u8]) {
    let now = Timestamp::from_millis(0);
    let Ok(Some(record)) = decode(bytes, now) else {
        return;
    };
    let Some(stored) = split(bytes) else {
        panic!("a value that decodes does not split")
    };
    assert_eq!(
        record.envelope(),
        stored.envelope,
        "the envelope is not the header's"
    );
    let again = encode_parts(
        stored.envelope,
        stored.version.unwrap_or(0),
        stored.owner,
        stored.index,
        0,
        |out| record.encode_into(out),
    );
    let again = match again {
        Ok(v) => v,
        Err(e) => panic!("a decoded record does not encode: {e}"),
    };
    let names = split(&again).map(|s| (s.owner, s.index));
    assert_eq!(names, Some((stored.owner, stored.index)), "names changed");
    match decode(&again, now) {
        Ok(Some(r2)) => assert!(r2 == record, "re-encoding changed the record"),
        other => panic!("a re-encoded record does not decode: {other:?}"),
    }
}

/// True when `data` is a RESP bulk string holding a stored session that decodes (for the
/// corpus test that a seed reaches the accepting path).
pub fn is_stored_record_reply(data: &[u8]) -> bool {
    matches!(
        redis::parse_redis_value(data),
        Ok(Value::BulkString(b)) if matches!(decode(&b, Timestamp::from_millis(0)), Ok(Some(_)))
    )
}
