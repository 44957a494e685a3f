//! Ending one session: the record deleted and its end notice published, then the owner
//! index told.
//!
//! A plain delete on a standalone server is two commands sent in one write, `GETDEL` of
//! the record (whose header and names say its expiry, owner and index) and then
//! `PUBLISH`, not a script: it needs no decision on the server, and queued commands cost
//! the server a fraction of a script (`scripts/server-cost.sh`). Not a `MULTI`/`EXEC`
//! either: the transaction's two extra commands and four extra replies cost the client
//! 6,300 instructions of a 56,800 create and delete (callgrind, `prof create-delete`, one
//! sitting), and what it adds is that the notice cannot be lost between the two
//! commands, which only a connection cut between them could do. End notices are
//! at-most-once anyway (a listener reconnecting misses them, `notices`), so every live
//! connection also looks again periodically; a lost notice delays its close by at most
//! that period, as a reconnect does. The `DELETE` script stays for what must decide on
//! the server: a delete restricted to one owner (`delete_owner`, which must not end a
//! session that changed hands meanwhile), and Cluster, where the script keeps one path
//! for every node.
//!
//! Either way the index entry of a logged-in session goes after the record, by a second
//! command when the first step could not reach it (the index's name is in the record,
//! which `GETDEL` reads in the step that deletes it): a logout on a standalone server is
//! two round trips, an anonymous session's end one. Until the second lands, a listing
//! meets a member whose record is gone, which it already treats as dead (and prunes).
//!
//! A delete that finds nothing looks for a session of version 0.1's layout under the key
//! (`scripts::CONVERT_HASH`) and, when there is one, converts and deletes it: a logout
//! or "log out everywhere" right after an upgrade ends the sessions made before it.

use redis::Value;
use redis::aio::ConnectionLike as _;
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
    /// The owner index the record named, or empty.
    pub(crate) index: String,
    /// Whether there was a record at all.
    pub(crate) found: bool,
}

impl Ended {
    /// The pipeline's replies, `GETDEL`'s value then `PUBLISH`'s count (which says nothing
    /// we need). A server error in either fails the delete, as a pipeline of redis-rs
    /// reports one. A plain function, so the unit tests below call it without a server.
    pub(crate) fn from_pipeline(replies: Vec<Value>, now: Timestamp) -> Result<Ended, Error> {
        let [value, published] =
            <[Value; 2]>::try_from(replies).map_err(|_| unexpected("delete"))?;
        let value = value
            .extract_error()
            .and_then(|v| published.extract_error().map(|_| v))
            .map_err(|e| crate::connection::backend("delete", e))?;
        match value {
            Value::BulkString(b) => Ok(Ended::of(&b, now)),
            Value::Nil => Ok(Ended::default()),
            _ => Err(unexpected("delete")),
        }
    }

    /// What a deleted value held. A header that does not parse is no live record (the
    /// delete still went through).
    fn of(value: &[u8], now: Timestamp) -> Ended {
        match layout::split(value) {
            Some(s) => Ended {
                was_live: now < s.envelope.expires_at,
                owner: s.owner.to_owned(),
                index: s.index.to_owned(),
                found: true,
            },
            None => Ended {
                found: true,
                ..Ended::default()
            },
        }
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
        match self.delete_once(key, owner, now).await? {
            Some(ended) if !ended.found && self.convert_hash(key, now).await?.is_some() => Ok(self
                .delete_once(key, owner, now)
                .await?
                .is_some_and(|e| e.was_live)),
            ended => Ok(ended.is_some_and(|e| e.was_live)),
        }
    }

    /// One delete and its index upkeep; `None` when it skipped another owner's session.
    async fn delete_once(
        &self,
        key: &StoreKey,
        owner: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<Ended>, Error> {
        // Whether the step removed a same-slot index entry itself (the script does).
        let (ended, index_done) = match owner {
            None if !self.names.cluster => (self.delete_pipeline(key, now).await?, false),
            _ => match self.delete_script(key, owner, now).await? {
                Some(ended) => (ended, true),
                None => return Ok(None),
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
        Ok(Some(ended))
    }

    /// `GETDEL`, then `PUBLISH`, in one write.
    ///
    /// Each command is sized up front and the replies are read as they come, not through
    /// `Pipeline::query_async`: commands grown argument by argument, the set of ignored
    /// replies and the reply's re-assembly, with the channel's name built per delete,
    /// cost the client 3,565 instructions of a create and delete's 46,560 (callgrind,
    /// `prof create-delete`).
    async fn delete_pipeline(&self, key: &StoreKey, now: Timestamp) -> Result<Ended, Error> {
        let name = self.names.record(key);
        let (channel, member) = (self.names.channel(), key.to_text());
        let mut getdel = redis::Cmd::with_capacity(2, "GETDEL".len() + name.len());
        getdel.arg("GETDEL").arg(&name);
        let mut publish =
            redis::Cmd::with_capacity(3, "PUBLISH".len() + channel.len() + member.len());
        publish.arg("PUBLISH").arg(channel).arg(&member);
        let mut pipe = redis::Pipeline::with_capacity(2);
        pipe.add_command(getdel).add_command(publish);
        let replies = self
            .exec("delete", async |con| {
                con.req_packed_commands(&pipe, 0, 2).await
            })
            .await?;
        Ended::from_pipeline(replies, now)
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
                found: w.at(4) == "1",
            })),
            // Nothing under the key, for a delete restricted to an owner.
            Reply::Gone => Ok(Some(Ended::default())),
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

    /// The two replies, `GETDEL`'s `value` and `PUBLISH`'s count.
    fn reply(value: Value) -> Vec<Value> {
        vec![value, Value::Int(1)]
    }

    fn stored(expires_ms: i64, owner: Option<&str>, index: &str) -> Value {
        let mut r = session_core::Record::new(
            Timestamp::from_millis(0),
            Timestamp::from_millis(expires_ms),
        );
        r.owner = owner.map(str::to_owned);
        Value::BulkString(layout::encode(&r, index).unwrap())
    }

    #[test]
    fn a_pipeline_reply_says_what_was_there() {
        let now = Timestamp::from_millis(1_000);
        let got = Ended::from_pipeline(reply(stored(1_001, Some("alice"), "idx")), now);
        assert_eq!(
            got.unwrap(),
            Ended {
                was_live: true,
                owner: "alice".into(),
                index: "idx".into(),
                found: true,
            }
        );
        // Expired at `now` exactly, as a load would call it.
        let got = Ended::from_pipeline(reply(stored(1_000, None, "")), now).unwrap();
        assert_eq!((got.was_live, got.found), (false, true));
        // Nothing there.
        let got = Ended::from_pipeline(reply(Value::Nil), now);
        assert_eq!(got.unwrap(), Ended::default());
        // A value whose header is not ours is not live, and not an error.
        let got = Ended::from_pipeline(reply(bulk("soon")), now).unwrap();
        assert_eq!((got.was_live, got.found), (false, true));
    }

    #[test]
    fn a_pipeline_reply_of_another_shape_is_an_error() {
        let now = Timestamp::from_millis(0);
        let error = || redis::parse_redis_value(b"-ERR boom\r\n").expect("an error reply");
        for v in [
            vec![],
            vec![Value::Nil],
            vec![Value::Nil, Value::Int(0), Value::Nil],
            reply(Value::Int(5)),
            reply(Value::Array(vec![])),
            reply(error()),
            vec![Value::Nil, error()],
        ] {
            let err = Ended::from_pipeline(v.clone(), now).expect_err(&format!("{v:?}"));
            assert_eq!(err.kind(), session_core::ErrorKind::Unavailable, "{v:?}");
        }
    }
}
