//! Entry points for the fuzz targets (`fuzz/`), behind the `fuzzing` feature: the reply
//! and layout decoders are crate-private, so the target is a function here that runs one
//! input and panics when a property fails.
//!
//! Not part of the API: no stability promise, and nothing here is needed to use the crate.

use redis::Value;
use session_core::Timestamp;

use crate::layout::{decode_r, encode_r, split_r};
use crate::reply::Reply;

/// A Redis reply on the wire (RESP, as a server or a proxy in between could send it),
/// read as our scripts' replies are: parsed by redis-rs, then by `Reply::parse`, and a
/// bulk string also as field `r` of a stored record.
///
/// Properties: no panic; a reply is a known status or the "unexpected reply" error; a
/// field `r` that decodes re-encodes to bytes that decode to the same record, with the
/// envelope its header gave.
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

/// Field `r` of a stored record (the header, then the encoded record).
pub fn stored_record(bytes: &[u8]) {
    let now = Timestamp::from_millis(0);
    let Ok(Some(record)) = decode_r(bytes, now) else {
        return;
    };
    let envelope = split_r(bytes).map(|(_, e)| e);
    assert_eq!(
        Some(record.envelope()),
        envelope,
        "the envelope is not the header's"
    );
    let again = match encode_r(&record) {
        Ok((r, _, _)) => r,
        Err(e) => panic!("a decoded record does not encode: {e}"),
    };
    match decode_r(&again, now) {
        Ok(Some(r2)) => assert!(r2 == record, "re-encoding changed the record"),
        other => panic!("a re-encoded record does not decode: {other:?}"),
    }
}

/// True when `data` is a RESP bulk string holding a field `r` that decodes (for the
/// corpus test that a seed reaches the accepting path).
pub fn is_stored_record_reply(data: &[u8]) -> bool {
    matches!(
        redis::parse_redis_value(data),
        Ok(Value::BulkString(b)) if matches!(decode_r(&b, Timestamp::from_millis(0)), Ok(Some(_)))
    )
}
