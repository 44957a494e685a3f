//! Ending one session: the record deleted and its end notice published in one atomic
//! step, then the owner index told.
//!
//! A plain delete on a standalone server is one `MULTI`/`EXEC` transaction (`HMGET` of
//! expiry, owner and index; `DEL`; `PUBLISH`), not a script: it needs no decision on the
//! server, and Redis runs the three queued commands for about a third of what the
//! `DELETE` script costs it (2.5 against 6.5 µs of server time per delete, measured with
//! `redis-cli --pipe` over 100,000 deletes; most of a script's cost is the Lua call
//! around each command). The script stays for what must decide on the server: a delete
//! restricted to one owner (`delete_owner`, which must not end a session that changed
//! hands meanwhile), and Cluster, where a transaction's routing is the client's business
//! and the script keeps one path for every node.
//!
//! Either way the index entry of a logged-in session goes after the record, by a second
//! command when the transaction could not reach it (the index's name is in the record,
//! which the transaction reads in the same step that deletes it): a logout on a standalone
//! server is two round trips where the script was one, an anonymous session's end one.
//! Until the second lands, a listing meets a member whose record is gone, which it
//! already treats as dead (and prunes).

use redis::Value;
use session_core::{Error, StoreKey, Timestamp};

use crate::layout;
use crate::reply::{Reply, unexpected};
use crate::scripts;
use crate::store::{RedisStore, arg};

/// What a delete found under the key before removing it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Ended {
    /// Whether a record was there and live at the delete's `now`.
    pub(crate) was_live: bool,
    /// The record's owner, or empty.
    pub(crate) owner: String,
    /// The owner index the record named (field `x`), or empty.
    pub(crate) index: String,
}

impl Ended {
    /// The transaction's reply: the one kept result, `HMGET`'s `[e, o, x]` (the `DEL` and
    /// `PUBLISH` replies are ignored by the pipeline). A plain function, so the unit tests
    /// below call it without a server.
    pub(crate) fn from_transaction(v: Value, now: Timestamp) -> Result<Ended, Error> {
        let fields = match v {
            Value::Array(mut kept) if kept.len() == 1 => match kept.pop() {
                Some(Value::Array(f)) => f,
                _ => return Err(unexpected("delete")),
            },
            _ => return Err(unexpected("delete")),
        };
        let Ok([e, o, x]) = <[Value; 3]>::try_from(fields) else {
            return Err(unexpected("delete"));
        };
        let text = |v: Value| match v {
            Value::BulkString(b) => String::from_utf8(b).map_err(|_| unexpected("delete")),
            Value::Nil => Ok(String::new()),
            _ => Err(unexpected("delete")),
        };
        let was_live = match e {
            // An expiry that does not parse is not a live record (the scripts' `live`
            // would fail on it; here the delete still goes through).
            Value::BulkString(b) => layout::parse_field(&b).is_some_and(|at| at > now),
            Value::Nil => false,
            _ => return Err(unexpected("delete")),
        };
        Ok(Ended {
            was_live,
            owner: text(o)?,
            index: text(x)?,
        })
    }
}

impl RedisStore {
    /// Deletes `key` if it belongs to `owner` (any owner when `None`); returns whether a
    /// live record was deleted.
    pub(crate) async fn delete_inner(
        &self,
        key: &StoreKey,
        owner: Option<&str>,
    ) -> Result<bool, Error> {
        let now = self.clock.now();
        // Whether the step removed a same-slot index entry itself (the script does).
        let (ended, index_done) = match owner {
            None if !self.names.cluster => (self.delete_transaction(key, now).await?, false),
            _ => match self.delete_script(key, owner, now).await? {
                Some(ended) => (ended, true),
                None => return Ok(false),
            },
        };
        if !ended.owner.is_empty() {
            if ended.index.is_empty() {
                // The index was in another slot: neither step could reach it.
                self.index_remove(&ended.owner, key).await?;
            } else if !index_done {
                self.index_remove_at(&ended.index, key).await?;
            }
        }
        Ok(ended.was_live)
    }

    /// `HMGET`, `DEL` and `PUBLISH` in one `MULTI`/`EXEC`.
    async fn delete_transaction(&self, key: &StoreKey, now: Timestamp) -> Result<Ended, Error> {
        let name = self.names.record(key);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HMGET")
            .arg(&name)
            .arg("e")
            .arg("o")
            .arg("x")
            .cmd("DEL")
            .arg(&name)
            .ignore()
            .cmd("PUBLISH")
            .arg(self.names.channel())
            .arg(key.to_text())
            .ignore();
        let v = self
            .exec("delete", async |con| pipe.query_async(con).await)
            .await?;
        Ended::from_transaction(v, now)
    }

    /// The `DELETE` script; `None` when it skipped another owner's session.
    async fn delete_script(
        &self,
        key: &StoreKey,
        owner: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<Ended>, Error> {
        let w = self
            .invoke(
                "delete",
                &scripts::DELETE,
                &[self.names.record(key)],
                &[
                    arg(now.as_millis()),
                    arg(key.to_text()),
                    arg(owner.unwrap_or("")),
                    arg(self.names.channel()),
                ],
            )
            .await?;
        match w {
            Reply::Ok(w) => Ok(Some(Ended {
                was_live: w.at(3) == "1",
                owner: w.at(1).to_owned(),
                index: w.at(2).to_owned(),
            })),
            Reply::Skipped => Ok(None),
            _ => Err(unexpected("delete")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn reply(e: Value, o: Value, x: Value) -> Value {
        Value::Array(vec![Value::Array(vec![e, o, x])])
    }

    #[test]
    fn a_transaction_reply_says_what_was_there() {
        let now = Timestamp::from_millis(1_000);
        let live = layout::ms_field(Timestamp::from_millis(1_001));
        let dead = layout::ms_field(now);
        let live = std::str::from_utf8(&live).unwrap();
        let dead = std::str::from_utf8(&dead).unwrap();

        let got = Ended::from_transaction(reply(bulk(live), bulk("alice"), bulk("idx")), now);
        assert_eq!(
            got.unwrap(),
            Ended {
                was_live: true,
                owner: "alice".into(),
                index: "idx".into()
            }
        );
        // Expired at `now` exactly, as a load would call it.
        let got = Ended::from_transaction(reply(bulk(dead), Value::Nil, Value::Nil), now);
        assert_eq!(got.unwrap(), Ended::default());
        // Nothing there.
        let got = Ended::from_transaction(reply(Value::Nil, Value::Nil, Value::Nil), now);
        assert_eq!(got.unwrap(), Ended::default());
        // An expiry that is not 20 digits is not live, and not an error.
        let got = Ended::from_transaction(reply(bulk("soon"), Value::Nil, Value::Nil), now);
        assert!(!got.unwrap().was_live);
    }

    #[test]
    fn a_transaction_reply_of_another_shape_is_an_error() {
        let now = Timestamp::from_millis(0);
        for v in [
            Value::Nil,
            Value::Array(vec![]),
            Value::Array(vec![Value::Nil]),
            Value::Array(vec![Value::Array(vec![Value::Nil, Value::Nil])]),
            reply(Value::Int(5), Value::Nil, Value::Nil),
            reply(Value::Nil, Value::Int(1), Value::Nil),
        ] {
            let err = Ended::from_transaction(v.clone(), now).expect_err(&format!("{v:?}"));
            assert_eq!(err.kind(), session_core::ErrorKind::Unavailable, "{v:?}");
        }
    }
}
