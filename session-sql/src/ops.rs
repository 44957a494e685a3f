//! The [`SessionStore`] operations of [`SqlStore`]: each one or two guarded statements
//! (see the table in `store`), with the database's answer turned into the contract's.
//!
//! Spans are named `sql.<operation>` with the backend (`postgres`, `mysql`, `sqlite`) as
//! a field; keys appear only as `StoreKey`'s keyed tag.

use std::sync::Arc;

use session_core::observe::Observed as _;
use session_core::{
    Error, LockAttempt, OwnerSession, Record, SessionStore, StoreKey, Timestamp, async_trait,
};

use crate::driver::Driver;
use crate::error::{is_unique_violation, map, retrying};
use crate::store::{SqlStore, version_column};

/// How a statement that writes a key (an insert, or a rotation's update of the primary
/// key) ended.
#[derive(Debug)]
enum Insert<T> {
    Done(T),
    /// A row holds the key already (a unique violation): a live session, or an expired
    /// one the sweeper has not reached.
    Occupied,
    /// Any other failure, mapped.
    Failed(Error),
}

fn insert_outcome<T>(op: &'static str, res: Result<T, sqlx::Error>) -> Insert<T> {
    match res {
        Ok(v) => Insert::Done(v),
        Err(e) if is_unique_violation(&e) => Insert::Occupied,
        Err(e) => Insert::Failed(map(op, e)),
    }
}

impl<T> Insert<T> {
    /// The outcome of the second attempt, made after clearing an expired occupant: a key
    /// still occupied was taken by another request meanwhile.
    fn or_collision(self) -> Result<T, Error> {
        match self {
            Insert::Done(v) => Ok(v),
            Insert::Occupied => Err(Error::Collision),
            Insert::Failed(e) => Err(e),
        }
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
    async fn create_once(
        &self,
        key: &StoreKey,
        record: &Record,
        bytes: &[u8],
    ) -> Result<(), sqlx::Error> {
        self.insert_row(
            key,
            bytes,
            record.version,
            record.owner.clone(),
            record.created_at,
            record.envelope(),
        )
        .await
    }

    async fn rotate_once(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        bytes: &[u8],
        expected: u64,
    ) -> Result<u64, sqlx::Error> {
        let now = self.clock.now().as_millis();
        Self::q(&self.sql.rotate)
            .bind(new.to_bytes().to_vec())
            .bind(bytes.to_vec())
            .bind(version_column(record.version))
            .bind(record.expires_at.as_millis())
            .bind(record.owner.clone())
            .bind(record.last_seen.as_millis())
            .bind(old.to_bytes().to_vec())
            .bind(version_column(expected))
            .bind(now)
            .execute(&self.pool)
            .await
            .map(|r| DB::rows_affected(&r))
    }

    async fn do_create(&self, key: &StoreKey, record: &Record) -> Result<(), Error> {
        let bytes = record.encode()?;
        match insert_outcome("create", self.create_once(key, record, &bytes).await) {
            Insert::Done(()) => Ok(()),
            Insert::Failed(e) => Err(e),
            Insert::Occupied => {
                // The key may be held by an expired row the sweeper has not reached:
                // remove it if so and insert once more. A live occupant stays, and the
                // second insert is the collision. (Collisions of fresh random ids do not
                // happen, so the second statement costs nothing in practice.)
                self.clear_dead_key(key.to_bytes().to_vec(), "create")
                    .await?;
                insert_outcome("create", self.create_once(key, record, &bytes).await).or_collision()
            }
        }
    }

    async fn do_load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        let now = self.clock.now().as_millis();
        let row = Self::q(&self.sql.load)
            .bind(key.to_bytes().to_vec())
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map("load", e))?;
        row.as_ref()
            .map(|r| Self::decode_row(r, "load"))
            .transpose()
    }

    async fn do_save(&self, key: &StoreKey, record: &Record, expected: u64) -> Result<(), Error> {
        let now = self.clock.now();
        let k = key.to_bytes().to_vec();
        // The outer error is the database's (retried when transient); the inner one a
        // record that cannot be bound, which no retry changes.
        let res = retrying(|| async {
            if record.is_expired(now) {
                Self::q(&self.sql.save_delete)
                    .bind(k.clone())
                    .bind(version_column(expected))
                    .bind(now.as_millis())
                    .execute(&self.pool)
                    .await
                    .map(Ok)
            } else {
                match Self::bind_save(&self.sql.save, record, k.clone(), expected, now) {
                    Ok(q) => q.execute(&self.pool).await.map(Ok),
                    Err(e) => Ok(Err(e)),
                }
            }
        })
        .await;
        let n = DB::rows_affected(&res.map_err(|e| map("save", e))??);
        if n == 1 {
            Ok(())
        } else {
            Err(self.probe(k, "save").await?)
        }
    }

    async fn do_touch(
        &self,
        key: &StoreKey,
        expires_at: Timestamp,
        last_seen: Timestamp,
    ) -> Result<(), Error> {
        let now = self.clock.now().as_millis();
        let res = retrying(|| {
            Self::q(&self.sql.touch)
                .bind(expires_at.as_millis())
                .bind(last_seen.as_millis())
                .bind(key.to_bytes().to_vec())
                .bind(now)
                .execute(&self.pool)
        })
        .await
        .map_err(|e| map("touch", e))?;
        let n = DB::rows_affected(&res);
        if n == 1 { Ok(()) } else { Err(Error::Gone) }
    }

    async fn do_delete(&self, key: &StoreKey) -> Result<(), Error> {
        retrying(|| {
            Self::q(&self.sql.delete)
                .bind(key.to_bytes().to_vec())
                .execute(&self.pool)
        })
        .await
        .map_err(|e| map("delete", e))
        .map(drop)
    }

    async fn do_rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        expected: u64,
    ) -> Result<(), Error> {
        let bytes = record.encode()?;
        let first = retrying(|| self.rotate_once(old, new, record, &bytes, expected)).await;
        let n = match insert_outcome("rotate", first) {
            Insert::Done(n) => n,
            Insert::Failed(e) => return Err(e),
            Insert::Occupied => {
                // As for a create: an expired occupant is removed, a live one stays and
                // the second attempt is a collision.
                self.clear_dead_key(new.to_bytes().to_vec(), "rotate")
                    .await?;
                let again = self.rotate_once(old, new, record, &bytes, expected).await;
                insert_outcome("rotate", again).or_collision()?
            }
        };
        if n == 1 {
            Ok(())
        } else {
            Err(self.probe(old.to_bytes().to_vec(), "rotate").await?)
        }
    }

    async fn do_list_owner(&self, owner: &str) -> Result<Vec<OwnerSession>, Error> {
        use sqlx::Row as _;
        let now = self.clock.now().as_millis();
        let rows = Self::q(&self.sql.list_owner)
            .bind(owner.to_owned())
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map("list_owner", e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let k: Vec<u8> = row.try_get("skey").map_err(|e| map("list_owner", e))?;
            let key = StoreKey::from_bytes(&k)?;
            match Self::decode_row(row, "list_owner") {
                Ok(r) => out.push(OwnerSession::from_record(key, &r)),
                // One unreadable row must not hide the owner's other sessions.
                Err(e) => tracing::warn!(key = ?key, error = %e, "unreadable session row"),
            }
        }
        Ok(out)
    }

    async fn do_delete_owner(&self, owner: &str, keep: Option<&StoreKey>) -> Result<u64, Error> {
        let now = self.clock.now().as_millis();
        let res = retrying(|| async {
            match keep {
                Some(k) => {
                    Self::q(&self.sql.delete_owner_except)
                        .bind(owner.to_owned())
                        .bind(now)
                        .bind(k.to_bytes().to_vec())
                        .execute(&self.pool)
                        .await
                }
                None => {
                    Self::q(&self.sql.delete_owner)
                        .bind(owner.to_owned())
                        .bind(now)
                        .execute(&self.pool)
                        .await
                }
            }
        })
        .await;
        res.map(|r| DB::rows_affected(&r))
            .map_err(|e| map("delete_owner", e))
    }
}

#[async_trait]
impl<DB> SessionStore for SqlStore<DB>
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
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), Error> {
        let call = session_core::store_call!(DB::BACKEND => "sql", "create", key = ?key);
        self.do_create(key, record).observed(call).await
    }

    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        let call = session_core::store_call!(DB::BACKEND => "sql", "load", key = ?key);
        self.do_load(key).observed(call).await
    }

    async fn save(&self, key: &StoreKey, record: &Record, expected: u64) -> Result<(), Error> {
        let call = session_core::store_call!(DB::BACKEND => "sql", "save", key = ?key);
        self.do_save(key, record, expected).observed(call).await
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: Timestamp,
        last_seen: Timestamp,
    ) -> Result<(), Error> {
        let call = session_core::store_call!(DB::BACKEND => "sql", "touch", key = ?key);
        self.do_touch(key, expires_at, last_seen)
            .observed(call)
            .await
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), Error> {
        let call = session_core::store_call!(DB::BACKEND => "sql", "delete", key = ?key);
        self.do_delete(key).observed(call).await
    }

    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        expected: u64,
    ) -> Result<(), Error> {
        let call =
            session_core::store_call!(DB::BACKEND => "sql", "rotate", old = ?old, new = ?new);
        self.do_rotate(old, new, record, expected)
            .observed(call)
            .await
    }

    async fn watch_end(&self, key: &StoreKey) -> Result<Option<session_core::EndWatch>, Error> {
        let channel = crate::notices::channel(&self.table);
        Ok(self
            .notices
            .watch(key, |watchers| DB::listen(&self.pool, channel, watchers)))
    }

    async fn list_owner(&self, owner: &str) -> Result<Vec<OwnerSession>, Error> {
        let call = session_core::store_call!(DB::BACKEND => "sql", "list_owner");
        self.do_list_owner(owner).observed(call).await
    }

    async fn delete_owner(&self, owner: &str, keep: Option<&StoreKey>) -> Result<u64, Error> {
        let call = session_core::store_call!(DB::BACKEND => "sql", "delete_owner");
        self.do_delete_owner(owner, keep).observed(call).await
    }

    async fn acquire_lock(
        &self,
        key: &StoreKey,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<LockAttempt, Error> {
        let call = session_core::store_call!(DB::BACKEND => "sql", "acquire_lock", key = ?key);
        self.lease_take(key, now, until).observed(call).await
    }

    async fn save_fenced(
        &self,
        key: &StoreKey,
        record: &Arc<Record>,
        expected: u64,
        token: u64,
        now: Timestamp,
    ) -> Result<(), Error> {
        let call = session_core::store_call!(DB::BACKEND => "sql", "save_fenced", key = ?key);
        self.lease_save(key, record, expected, token, now)
            .observed(call)
            .await
    }

    async fn release_lock(&self, key: &StoreKey, token: u64, now: Timestamp) -> Result<(), Error> {
        let call = session_core::store_call!(DB::BACKEND => "sql", "release_lock", key = ?key);
        self.lease_release(key, token, now).observed(call).await
    }

    async fn delete_expired(&self) -> Result<u64, Error> {
        async { self.sweep().await.map(|r| r.rows) }
            .observed(session_core::store_call!(DB::BACKEND => "sql", "delete_expired"))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::stand_in::{db, unique_violation};
    use session_core::ErrorKind;

    /// A unique violation is an occupied key; success and other errors are themselves;
    /// after the second attempt an occupied key is a collision.
    #[test]
    fn insert_outcomes() {
        assert!(matches!(insert_outcome("create", Ok(7)), Insert::Done(7)));
        assert!(matches!(
            insert_outcome::<()>("create", Err(unique_violation())),
            Insert::Occupied
        ));
        match insert_outcome::<()>("create", Err(db("08006"))) {
            Insert::Failed(e) => assert_eq!(e.kind(), ErrorKind::Unavailable),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            insert_outcome("rotate", Ok(1u64)).or_collision().unwrap(),
            1
        );
        assert!(matches!(
            insert_outcome::<u64>("rotate", Err(unique_violation())).or_collision(),
            Err(Error::Collision)
        ));
        assert!(matches!(
            insert_outcome::<u64>("rotate", Err(sqlx::Error::PoolTimedOut)).or_collision(),
            Err(Error::Timeout {
                operation: "rotate"
            })
        ));
    }
}
