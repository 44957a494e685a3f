//! The per-session lock on Redis: a lock key beside the record, in its hash slot (see
//! [`crate::scripts::ACQUIRE`]), taken by one script, released by a check-and-delete
//! script, and checked and released by the holder's save in the same script as the write
//! (`save_script` with a token, beside the plain save).
//! One round trip each, on a single server and on Cluster alike.

use session_core::{Error, LockAttempt, StoreKey, Timestamp};

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
