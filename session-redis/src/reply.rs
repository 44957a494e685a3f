//! Replies from Redis: our scripts' statuses as an enum, decided by one plain function
//! that unit tests call without a server, and a reply of a shape no script produces as a
//! clear error.

use redis::Value;
use session_core::Error;

/// A reply of a shape no script of ours produces.
#[derive(Debug, thiserror::Error)]
#[error("unexpected reply from redis to {operation}")]
struct UnexpectedReply {
    operation: &'static str,
}

pub(crate) fn unexpected(operation: &'static str) -> Error {
    Error::unavailable(operation, UnexpectedReply { operation })
}

/// Flattens a reply (a status, or an array of statuses or members) into strings.
pub(crate) fn words(v: Value) -> Vec<String> {
    fn one(v: Value) -> String {
        match v {
            Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
            Value::SimpleString(s) => s,
            Value::Int(i) => i.to_string(),
            Value::Okay => "ok".to_owned(),
            _ => String::new(),
        }
    }
    match v {
        Value::Array(items) => items.into_iter().map(one).collect(),
        other => vec![one(other)],
    }
}

/// The words of a reply, the status first; a missing word reads as empty (the scripts
/// return `''` for "none").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Words(Vec<String>);

impl Words {
    /// Word `i` (0 is the status).
    pub(crate) fn at(&self, i: usize) -> &str {
        self.0.get(i).map_or("", String::as_str)
    }
}

/// What a script answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Done; further words as the script documents (see `scripts`).
    Ok(Words),
    /// A save whose expiry had passed deleted the session instead.
    Deleted(Words),
    /// A delete restricted to an owner found another owner's session.
    Skipped,
    /// No live record.
    Gone,
    /// The version differs.
    Conflict,
    /// The target key is taken.
    Collision,
    /// The lock is held; the second word is when its lease ends.
    Held(Words),
    /// The caller's lease on the lock ran out or was replaced.
    LockLost,
}

impl Reply {
    /// The reply to `operation`, or an error naming it for a shape no script produces.
    pub(crate) fn parse(operation: &'static str, v: Value) -> Result<Reply, Error> {
        // A bare status, the usual reply, is matched without building any strings.
        let bare: Option<&[u8]> = match &v {
            Value::BulkString(b) => Some(b),
            Value::SimpleString(s) => Some(s.as_bytes()),
            Value::Okay => Some(b"ok"),
            _ => None,
        };
        if let Some(status) = bare {
            return Self::status(operation, status, Words(Vec::new()));
        }
        let w = words(v);
        let status = w.first().cloned().unwrap_or_default();
        Self::status(operation, status.as_bytes(), Words(w))
    }

    fn status(operation: &'static str, status: &[u8], w: Words) -> Result<Reply, Error> {
        Ok(match status {
            b"ok" => Reply::Ok(w),
            b"deleted" => Reply::Deleted(w),
            b"skipped" => Reply::Skipped,
            b"gone" => Reply::Gone,
            b"conflict" => Reply::Conflict,
            b"collision" => Reply::Collision,
            b"held" => Reply::Held(w),
            b"lock_lost" => Reply::LockLost,
            _ => return Err(unexpected(operation)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    /// Every status our scripts return, as a status or an array, and nothing else.
    #[test]
    fn reply_table() {
        let ok =
            Reply::parse("t", Value::Array(vec![bulk("ok"), bulk("alice"), bulk("")])).unwrap();
        let Reply::Ok(w) = ok else { panic!("{ok:?}") };
        assert_eq!((w.at(1), w.at(2), w.at(9)), ("alice", "", ""));
        // A bare status carries no further words: each reads as empty.
        for bare in [Value::Okay, bulk("ok"), Value::SimpleString("ok".into())] {
            let Reply::Ok(w) = Reply::parse("t", bare).unwrap() else {
                panic!("not ok")
            };
            assert_eq!((w.at(0), w.at(1), w.at(2)), ("", "", ""));
        }
        for (v, want) in [
            (bulk("gone"), Reply::Gone),
            (Value::Array(vec![bulk("conflict")]), Reply::Conflict),
            (Value::SimpleString("collision".into()), Reply::Collision),
            (Value::Array(vec![bulk("lock_lost")]), Reply::LockLost),
            (
                Value::Array(vec![bulk("held"), bulk("42")]),
                Reply::Held(Words(vec!["held".into(), "42".into()])),
            ),
            (
                Value::Array(vec![bulk("skipped"), bulk(""), bulk(""), Value::Int(0)]),
                Reply::Skipped,
            ),
        ] {
            assert_eq!(Reply::parse("t", v).unwrap(), want);
        }
        assert!(matches!(
            Reply::parse("t", Value::Array(vec![bulk("deleted"), bulk("bob")])).unwrap(),
            Reply::Deleted(w) if w.at(1) == "bob"
        ));
        for junk in [Value::Nil, bulk("OK?"), Value::Int(1), Value::Array(vec![])] {
            let e = Reply::parse("save", junk).unwrap_err();
            assert_eq!(e.kind(), session_core::ErrorKind::Unavailable);
            assert!(e.to_string().contains("save"));
        }
    }
}
