//! The per-session lock on Redis: a lock key beside the record, in its hash slot (see
//! [`crate::scripts::ACQUIRE`]), taken by one script, released by a check-and-delete
//! script, and checked and released by the holder's save in the same script as the write.
//! One round trip each, on a single server and on Cluster alike.

use std::sync::Arc;

use session_core::{Error, LockAttempt, Record, StoreKey, Timestamp};

use crate::layout;
use crate::reply::{Reply, unexpected};
use crate::scripts;
use crate::store::{RedisStore, arg};

impl RedisStore {
    pub(crate) async fn acquire(
        &self,
        key: &StoreKey,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<LockAttempt, Error> {
        let reply = self
            .invoke(
                "acquire_lock",
                &scripts::ACQUIRE,
                &[self.names.record(key), self.names.lock(key)],
                &[
                    arg(now.as_millis()),
                    arg(until.as_millis()),
                    arg(layout::ttl_ms(now, until)),
                ],
            )
            .await?;
        match reply {
            Reply::Ok(w) => w
                .at(1)
                .parse()
                .map(LockAttempt::Taken)
                .map_err(|_| unexpected("acquire_lock")),
            Reply::Held(w) => w
                .at(1)
                .parse()
                .map(|ms| LockAttempt::Held {
                    until: Timestamp::from_millis(ms),
                })
                .map_err(|_| unexpected("acquire_lock")),
            Reply::Gone => Err(Error::Gone),
            _ => Err(unexpected("acquire_lock")),
        }
    }

    pub(crate) async fn save_fenced_script(
        &self,
        key: &StoreKey,
        record: &Arc<Record>,
        expected: u64,
        token: u64,
        now: Timestamp,
    ) -> Result<(), Error> {
        let owner = record.owner.as_deref().unwrap_or("");
        let keys = self.names.script_keys(
            vec![self.names.record(key), self.names.lock(key)],
            key,
            owner,
        );
        let args = Self::script_args(
            vec![arg(now.as_millis()), arg(expected)],
            record,
            now,
            vec![
                key.to_text().into_bytes(),
                owner.as_bytes().to_vec(),
                arg(token),
            ],
        )?;
        let reply = self
            .invoke("save_fenced", &scripts::SAVE_FENCED, &keys, &args)
            .await?;
        self.after_save("save_fenced", key, record, now, reply)
            .await
    }

    pub(crate) async fn release(
        &self,
        key: &StoreKey,
        token: u64,
        now: Timestamp,
    ) -> Result<(), Error> {
        let reply = self
            .invoke(
                "release_lock",
                &scripts::RELEASE,
                &[self.names.record(key), self.names.lock(key)],
                &[arg(now.as_millis()), arg(token)],
            )
            .await?;
        match reply {
            Reply::Ok(_) => Ok(()),
            Reply::Gone => Err(Error::Gone),
            Reply::LockLost => Err(Error::LockLost),
            _ => Err(unexpected("release_lock")),
        }
    }
}
