//! The per-session lock on SQL: a lease in two columns of the session's row
//! (`lock_token`, `lock_until`), stamped out per driver by [`sql_lease!`] beside
//! `sql_store!`.
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

macro_rules! sql_lease {
    ($name:ident, $db:ty) => {
        impl $name {
            /// Tells why a guarded lock statement matched no row.
            async fn lock_probe(
                &self,
                key: &[u8],
                token: Option<u64>,
                op: &'static str,
            ) -> Result<session_core::Error, session_core::Error> {
                use sqlx::Row as _;
                let now = self.clock.now().as_millis();
                let map = |e| $crate::error::map(op, e);
                let row = Self::q(&self.sql.lock_probe)
                    .bind(key)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map)?;
                let Some(row) = row else {
                    return Ok(session_core::Error::Gone);
                };
                let held: i64 = row.try_get(0).map_err(map)?;
                let until: i64 = row.try_get(1).map_err(map)?;
                Ok(match token {
                    Some(t) if held != t as i64 || until <= now => session_core::Error::LockLost,
                    // The lease is fine, so the version was not (or a write came in between).
                    _ => session_core::Error::Conflict,
                })
            }

            pub(crate) async fn lease_take(
                &self,
                key: &session_core::StoreKey,
                now: session_core::Timestamp,
                until: session_core::Timestamp,
            ) -> Result<session_core::LockAttempt, session_core::Error> {
                use sqlx::Row as _;
                let op = "acquire_lock";
                let map = |e| $crate::error::map(op, e);
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
                    Ok(r) => r.rows_affected(),
                    // Two takers deadlocked on the row: the caller looks again.
                    Err(e) if $crate::error::is_transient(&e) => {
                        return Err(session_core::Error::Conflict);
                    }
                    Err(e) => return Err(map(e)),
                };
                if n == 1 {
                    let row = Self::q(&self.sql.lock_token)
                        .bind(k)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(map)?;
                    let token: i64 = row.try_get(0).map_err(map)?;
                    tx.commit().await.map_err(map)?;
                    return Ok(session_core::LockAttempt::Taken(token as u64));
                }
                tx.rollback().await.map_err(map)?;
                let row = Self::q(&self.sql.lock_probe)
                    .bind(k)
                    .bind(now.as_millis())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map)?;
                let Some(row) = row else {
                    return Err(session_core::Error::Gone);
                };
                let held_until: i64 = row.try_get(1).map_err(map)?;
                if held_until > now.as_millis() {
                    Ok(session_core::LockAttempt::Held {
                        until: session_core::Timestamp::from_millis(held_until),
                    })
                } else {
                    // Released in between: the caller looks again.
                    Err(session_core::Error::Conflict)
                }
            }

            pub(crate) async fn lease_save(
                &self,
                key: &session_core::StoreKey,
                record: &session_core::Record,
                expected: u64,
                token: u64,
                now: session_core::Timestamp,
            ) -> Result<(), session_core::Error> {
                let op = "save_fenced";
                let k = key.to_bytes().to_vec();
                let res = if record.is_expired(now) {
                    Self::q(&self.sql.save_fenced_delete)
                        .bind(k.clone())
                        .bind(expected as i64)
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
                let n = res.map_err(|e| $crate::error::map(op, e))?.rows_affected();
                if n == 1 {
                    Ok(())
                } else {
                    Err(self.lock_probe(&k, Some(token), op).await?)
                }
            }

            pub(crate) async fn lease_release(
                &self,
                key: &session_core::StoreKey,
                token: u64,
                now: session_core::Timestamp,
            ) -> Result<(), session_core::Error> {
                let op = "release_lock";
                let k = key.to_bytes().to_vec();
                let n = Self::q(&self.sql.lock_release)
                    .bind(k.clone())
                    .bind(now.as_millis())
                    .bind(token as i64)
                    .bind(now.as_millis())
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::error::map(op, e))?
                    .rows_affected();
                if n == 1 {
                    return Ok(());
                }
                match self.lock_probe(&k, Some(token), op).await? {
                    session_core::Error::Gone => Err(session_core::Error::Gone),
                    _ => Err(session_core::Error::LockLost),
                }
            }
        }
    };
}
