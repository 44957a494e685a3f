//! The per-session lock on SQL: a lease in two columns of the session's row
//! (`lock_token`, `lock_until`), part of
//! [`SqlStore`](crate::SqlStore).
//!
//! | operation | statements |
//! |---|---|
//! | take | in one transaction: 1 guarded `UPDATE` (`lock_until <= now`, token + 1), 1 `SELECT` of the new token; when the `UPDATE` finds nothing, 1 `SELECT` tells `Held` from `Gone` |
//! | the holder's save | 1 `UPDATE` guarded by version, token and lease, which also clears the lease |
//! | release | 1 guarded `UPDATE` clearing the lease |
//!
//! The guard is in the statement, so the row lock the database takes for the `UPDATE` is
//! what makes taking exclusive; the holder's save checks its lease in the same statement
//! as the write, so a holder past its lease never writes. Failures are told apart by one
//! probe afterwards, as for a plain save.

use session_core::{Error, LockAttempt, Record, StoreKey, Timestamp};

use crate::driver::Driver;
use crate::error::{is_transient, map};
use crate::store::{SqlStore, version_column};

/// What a failed lock-taking `UPDATE` tells the caller: two takers deadlocked on the row
/// (or the database picked this one as a serialization victim), so `Conflict` and the
/// caller looks again; any other error is the database's.
fn failed_take(e: sqlx::Error) -> Error {
    if is_transient(&e) {
        Error::Conflict
    } else {
        map("acquire_lock", e)
    }
}

/// What a take that found the row but could not lock it answers, from the lease it then
/// read: `Held` while the lease runs (a lease ends at its `until`, as
/// [`session_core::Lease::is_held`] says), else `Conflict`: it was released in between,
/// and the caller looks again at once.
fn held_or_free(until: Timestamp, now: Timestamp) -> Result<LockAttempt, Error> {
    if now < until {
        Ok(LockAttempt::Held { until })
    } else {
        Err(Error::Conflict)
    }
}

impl<DB> SqlStore<DB>
where
    DB: Driver,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'a> &'a str: sqlx::ColumnIndex<DB::Row>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    /// Tells why a guarded lock statement matched no row.
    async fn lock_probe(
        &self,
        key: Vec<u8>,
        token: Option<u64>,
        op: &'static str,
    ) -> Result<Error, Error> {
        use sqlx::Row as _;
        let now = self.clock.now().as_millis();
        let map = |e| map(op, e);
        let row = Self::q(&self.sql.lock_probe)
            .bind(key)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(map)?;
        let Some(row) = row else {
            return Ok(Error::Gone);
        };
        let held: i64 = row.try_get(0).map_err(map)?;
        let until: i64 = row.try_get(1).map_err(map)?;
        Ok(match token {
            Some(t) if held != t as i64 || until <= now => Error::LockLost,
            // The lease is fine, so the version was not (or a write came in between).
            _ => Error::Conflict,
        })
    }

    pub(crate) async fn lease_take(
        &self,
        key: &StoreKey,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<LockAttempt, Error> {
        use sqlx::Row as _;
        let op = "acquire_lock";
        let map = |e| map(op, e);
        let k = key.to_bytes().to_vec();
        let mut tx = self.pool.begin().await.map_err(map)?;
        let res = Self::q(&self.sql.lock_take)
            .bind(until.as_millis())
            .bind(k.clone())
            .bind(now.as_millis())
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await;
        let n = match res {
            Ok(r) => DB::rows_affected(&r),
            Err(e) => return Err(failed_take(e)),
        };
        if n == 1 {
            let row = Self::q(&self.sql.lock_token)
                .bind(k)
                .fetch_one(&mut *tx)
                .await
                .map_err(map)?;
            let token: i64 = row.try_get(0).map_err(map)?;
            tx.commit().await.map_err(map)?;
            return Ok(LockAttempt::Taken(token as u64));
        }
        tx.rollback().await.map_err(map)?;
        let row = Self::q(&self.sql.lock_probe)
            .bind(k)
            .bind(now.as_millis())
            .fetch_optional(&self.pool)
            .await
            .map_err(map)?;
        let Some(row) = row else {
            return Err(Error::Gone);
        };
        let held_until: i64 = row.try_get(1).map_err(map)?;
        held_or_free(Timestamp::from_millis(held_until), now)
    }

    pub(crate) async fn lease_save(
        &self,
        key: &StoreKey,
        record: &Record,
        expected: u64,
        token: u64,
        now: Timestamp,
    ) -> Result<(), Error> {
        let op = "save_fenced";
        let k = key.to_bytes().to_vec();
        let res = if record.is_expired(now) {
            Self::q(&self.sql.save_fenced_delete)
                .bind(k.clone())
                .bind(version_column(expected))
                .bind(now.as_millis())
                .bind(token as i64)
                .bind(now.as_millis())
                .execute(&self.pool)
                .await
        } else {
            Self::bind_save(&self.sql.save_fenced, record, k.clone(), expected, now)?
                .bind(token as i64)
                .bind(now.as_millis())
                .execute(&self.pool)
                .await
        };
        let n = DB::rows_affected(&res.map_err(|e| map(op, e))?);
        if n == 1 {
            Ok(())
        } else {
            Err(self.lock_probe(k, Some(token), op).await?)
        }
    }

    pub(crate) async fn lease_release(
        &self,
        key: &StoreKey,
        token: u64,
        now: Timestamp,
    ) -> Result<(), Error> {
        let op = "release_lock";
        let k = key.to_bytes().to_vec();
        let res = Self::q(&self.sql.lock_release)
            .bind(k.clone())
            .bind(now.as_millis())
            .bind(token as i64)
            .bind(now.as_millis())
            .execute(&self.pool)
            .await
            .map_err(|e| map(op, e))?;
        let n = DB::rows_affected(&res);
        if n == 1 {
            return Ok(());
        }
        match self.lock_probe(k, Some(token), op).await? {
            Error::Gone => Err(Error::Gone),
            _ => Err(Error::LockLost),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::stand_in::db;
    use session_core::ErrorKind;

    /// A lease is held up to, not at, its end.
    #[test]
    fn a_lease_is_held_until_its_end() {
        let now = Timestamp::from_millis(1_000);
        assert!(matches!(
            held_or_free(Timestamp::from_millis(1_001), now),
            Ok(LockAttempt::Held { until }) if until == Timestamp::from_millis(1_001)
        ));
        assert!(matches!(held_or_free(now, now), Err(Error::Conflict)));
        assert!(matches!(
            held_or_free(Timestamp::from_millis(999), now),
            Err(Error::Conflict)
        ));
    }

    /// A deadlocked or serialization-failed take is a conflict the caller retries; other
    /// failures are the backend's.
    #[test]
    fn a_deadlocked_take_is_a_conflict() {
        assert!(matches!(failed_take(db("40001")), Error::Conflict));
        assert!(matches!(failed_take(db("40P01")), Error::Conflict));
        assert_eq!(failed_take(db("23505")).kind(), ErrorKind::Unavailable);
        assert!(matches!(
            failed_take(sqlx::Error::PoolTimedOut),
            Error::Timeout {
                operation: "acquire_lock"
            }
        ));
    }
}
