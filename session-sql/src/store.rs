//! The store, written once and stamped out per driver by [`sql_store!`].
//!
//! (Over 400 lines on purpose: it is one macro body, the trait implementation every driver
//! shares; the statements live in `dialect`, the sweeper in `sweeper`.)
//!
//! A macro rather than a generic type: the three drivers share every statement shape but
//! not a row or argument type, and sqlx's generic bounds for "any database" would cost each
//! user a page of `where` clauses in their error messages. Each expansion is concrete.
//!
//! Statements per operation (the common path first):
//!
//! | operation | statements |
//! |---|---|
//! | load | 1 `SELECT` by primary key with the expiry check |
//! | create | 1 `INSERT` (a unique violation is `Collision`; an expired occupant is removed and the insert retried once) |
//! | save | 1 `UPDATE … WHERE skey = ? AND version = ? AND expires_at > ?`; on 0 rows, 1 `SELECT` tells `Conflict` from `Gone` |
//! | touch | 1 `UPDATE` of expiry and last-seen only |
//! | rotate | 1 `UPDATE` of the primary key, guarded by the version (atomic in one statement) |
//! | delete | 1 `DELETE` |
//! | list / delete an owner's sessions | 1 statement on the owner index |
//! | sweep | bounded `DELETE` batches until a batch comes back short |
//! | the per-session lock | see `lease` |

/// A pool for a database server: up to 16 connections, a 3 s acquire timeout, so an
/// exhausted pool is an error rather than a hang.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) async fn server_pool<DB: sqlx::Database>(
    url: &str,
) -> Result<sqlx::Pool<DB>, session_core::Error> {
    sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(16)
        .acquire_timeout(std::time::Duration::from_secs(3))
        .connect(url)
        .await
        .map_err(|e| crate::error::map("connect", e))
}

macro_rules! sql_store {
    (
        $(#[$meta:meta])*
        $name:ident, $db:ty, $dialect:expr, $span:literal
    ) => {
        sql_lease!($name, $db);

        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name {
            pool: sqlx::Pool<$db>,
            sql: std::sync::Arc<$crate::dialect::Statements>,
            table: std::sync::Arc<str>,
            clock: session_core::SharedClock,
            sweep_batch: i64,
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("table", &self.table)
                    .finish_non_exhaustive()
            }
        }

        impl $name {
            /// A store on `pool`, using the table `sessions` and the system clock.
            /// Call [`Self::migrate`] once before use.
            pub fn new(pool: sqlx::Pool<$db>) -> Self {
                Self {
                    pool,
                    sql: std::sync::Arc::new($dialect.statements("sessions")),
                    table: "sessions".into(),
                    clock: std::sync::Arc::new(session_core::SystemClock),
                    sweep_batch: 1000,
                }
            }

            /// Uses `table` (letters, digits and `_`, at most 48 characters).
            ///
            /// # Errors
            /// [`session_core::Error::Misconfigured`] for any other name.
            pub fn with_table(mut self, table: &str) -> Result<Self, session_core::Error> {
                if !$crate::dialect::valid_table_name(table) {
                    return Err(session_core::Error::Misconfigured {
                        problem: "table name must be [A-Za-z_][A-Za-z0-9_]*, at most 48 characters",
                    });
                }
                self.sql = std::sync::Arc::new($dialect.statements(table));
                self.table = table.into();
                Ok(self)
            }

            /// Reads time from `clock` (tests pass a `ManualClock`).
            #[must_use]
            pub fn with_clock(mut self, clock: session_core::SharedClock) -> Self {
                self.clock = clock;
                self
            }

            /// Rows deleted per sweep statement (default 1000): small enough that no batch
            /// holds locks for long.
            #[must_use]
            pub fn with_sweep_batch(mut self, rows: u32) -> Self {
                self.sweep_batch = i64::from(rows.max(1));
                self
            }

            /// Stores `bytes` as the body of the record under `key` exactly as given, with
            /// `envelope` in its columns, bypassing the encoder. For tests of the decode path
            /// and for importing records written by another backend (with
            /// `read_raw_record` on the other side); an application has no other use for it.
            ///
            /// # Errors
            /// Database errors.
            pub async fn write_raw_record(
                &self,
                key: &session_core::StoreKey,
                bytes: &[u8],
                envelope: session_core::Envelope,
            ) -> Result<(), session_core::Error> {
                Self::q(&self.sql.delete)
                    .bind(key.to_bytes().to_vec())
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::error::map("write_raw", e))?;
                // The copies the statements check (version, owner) come from the body when
                // it decodes, so that an imported record can be saved and listed.
                let decoded = session_core::Record::decode(bytes, envelope).ok();
                let version = decoded.as_ref().map_or(1, |r| r.version);
                let created_at = decoded.as_ref().map_or(envelope.last_seen, |r| r.created_at);
                let owner = decoded.and_then(|r| r.owner);
                Self::q(&self.sql.create)
                    .bind(key.to_bytes().to_vec())
                    .bind(bytes.to_vec())
                    .bind(i64::try_from(version).unwrap_or(i64::MAX))
                    .bind(envelope.expires_at.as_millis())
                    .bind(owner)
                    .bind(created_at.as_millis())
                    .bind(envelope.last_seen.as_millis())
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::error::map("write_raw", e))
                    .map(drop)
            }

            /// The stored body and envelope of the record under `key`, as
            /// `write_raw_record` takes them; `None` when there is none.
            ///
            /// # Errors
            /// Database errors.
            pub async fn read_raw_record(
                &self,
                key: &session_core::StoreKey,
            ) -> Result<Option<(Vec<u8>, session_core::Envelope)>, session_core::Error> {
                let row = Self::q(&self.sql.load)
                    .bind(key.to_bytes().to_vec())
                    .bind(i64::MIN)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::error::map("read_raw", e))?;
                row.as_ref().map(|r| Self::raw_of(r, "read_raw")).transpose()
            }

            /// The connection pool.
            pub fn pool(&self) -> &sqlx::Pool<$db> {
                &self.pool
            }

            /// The table name.
            pub fn table(&self) -> &str {
                &self.table
            }

            fn q(sql: &std::sync::Arc<str>) -> sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments> {
                sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            }

            /// `sql` (a save's `UPDATE`) with the record's columns and the guard bound, in
            /// the order `save` and `save_fenced` share; the fenced one binds its lease after.
            fn bind_save(
                sql: &std::sync::Arc<str>,
                record: &session_core::Record,
                k: Vec<u8>,
                expected: u64,
                now: session_core::Timestamp,
            ) -> Result<sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments>, session_core::Error> {
                Ok(Self::q(sql)
                    .bind(record.encode()?)
                    .bind(record.version as i64)
                    .bind(record.expires_at.as_millis())
                    .bind(record.owner.clone())
                    .bind(record.last_seen.as_millis())
                    .bind(k)
                    .bind(expected as i64)
                    .bind(now.as_millis()))
            }

            /// Creates or upgrades the schema: the embedded, versioned migrations not yet
            /// applied to this table. Safe to run from several nodes at once.
            ///
            /// # Errors
            /// Database errors.
            pub async fn migrate(&self) -> Result<(), session_core::Error> {
                use sqlx::Row as _;
                let op = "migrate";
                let map = |e| $crate::error::map(op, e);
                Self::q(&self.sql.schema_table).execute(&self.pool).await.map_err(map)?;
                let row = Self::q(&self.sql.schema_version).fetch_one(&self.pool).await.map_err(map)?;
                let current: Option<i64> = row.try_get(0).map_err(map)?;
                let current = current.unwrap_or(0);
                for (version, statements) in $dialect.migrations(&self.table) {
                    if version <= current {
                        continue;
                    }
                    for step in statements {
                        let res = sqlx::query(sqlx::AssertSqlSafe(step.sql)).execute(&self.pool).await;
                        if let Err(e) = res {
                            // Another node may have made this step meanwhile.
                            let done = match step.done_if {
                                Some(q) => sqlx::query(sqlx::AssertSqlSafe(q)).execute(&self.pool).await.is_ok(),
                                None => false,
                            };
                            if !done {
                                return Err(map(e));
                            }
                        }
                    }
                    Self::q(&self.sql.schema_record).bind(version).execute(&self.pool).await.map_err(map)?;
                }
                Ok(())
            }

            /// Deletes expired rows in bounded batches until none are left; returns the
            /// number of rows and of batches. Safe to run on several nodes at once.
            ///
            /// # Errors
            /// Database errors (rows deleted by earlier batches stay deleted).
            pub async fn sweep(&self) -> Result<$crate::SweepReport, session_core::Error> {
                let mut report = $crate::SweepReport::default();
                let mut transient_retries = 0;
                loop {
                    let now = self.clock.now().as_millis();
                    let res = Self::q(&self.sql.sweep_batch)
                        .bind(now)
                        .bind(self.sweep_batch)
                        .execute(&self.pool)
                        .await;
                    let n = match res {
                        Ok(r) => r.rows_affected(),
                        Err(e) if $crate::error::is_transient(&e) && transient_retries < 5 => {
                            // Two sweepers picked the same rows; the other one is deleting
                            // them. Try again.
                            transient_retries += 1;
                            tokio::task::yield_now().await;
                            continue;
                        }
                        Err(e) => return Err($crate::error::map("sweep", e)),
                    };
                    report.batches += 1;
                    report.rows += n;
                    if n < self.sweep_batch as u64 {
                        return Ok(report);
                    }
                    // Let other statements in between batches.
                    tokio::task::yield_now().await;
                }
            }

            async fn probe(&self, key: &[u8], op: &'static str) -> Result<session_core::Error, session_core::Error> {
                let now = self.clock.now().as_millis();
                let row = Self::q(&self.sql.probe_live)
                    .bind(key)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::error::map(op, e))?;
                Ok(if row.is_some() {
                    session_core::Error::Conflict
                } else {
                    session_core::Error::Gone
                })
            }

            /// Removes an expired row that still occupies `key`; true if there was one.
            async fn clear_dead_key(&self, key: &[u8], op: &'static str) -> Result<bool, session_core::Error> {
                let now = self.clock.now().as_millis();
                let r = Self::q(&self.sql.delete_dead_key)
                    .bind(key)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::error::map(op, e))?;
                Ok(r.rows_affected() > 0)
            }

            fn decode_row(
                row: &<$db as sqlx::Database>::Row,
                op: &'static str,
            ) -> Result<session_core::Record, session_core::Error> {
                let (bytes, envelope) = Self::raw_of(row, op)?;
                session_core::Record::decode(&bytes, envelope)
            }

            /// A row's body and envelope. The columns are the envelope, kept nowhere else:
            /// touch updates only them.
            fn raw_of(
                row: &<$db as sqlx::Database>::Row,
                op: &'static str,
            ) -> Result<(Vec<u8>, session_core::Envelope), session_core::Error> {
                use sqlx::Row as _;
                let map = |e| $crate::error::map(op, e);
                let bytes: Vec<u8> = row.try_get("record").map_err(map)?;
                let envelope = session_core::Envelope {
                    expires_at: session_core::Timestamp::from_millis(row.try_get("expires_at").map_err(map)?),
                    last_seen: session_core::Timestamp::from_millis(row.try_get("last_seen").map_err(map)?),
                };
                Ok((bytes, envelope))
            }

            async fn create_once(&self, key: &session_core::StoreKey, record: &session_core::Record, bytes: &[u8]) -> Result<(), sqlx::Error> {
                Self::q(&self.sql.create)
                    .bind(key.to_bytes().to_vec())
                    .bind(bytes.to_vec())
                    .bind(record.version as i64)
                    .bind(record.expires_at.as_millis())
                    .bind(record.owner.clone())
                    .bind(record.created_at.as_millis())
                    .bind(record.last_seen.as_millis())
                    .execute(&self.pool)
                    .await
                    .map(drop)
            }

            async fn rotate_once(
                &self,
                old: &session_core::StoreKey,
                new: &session_core::StoreKey,
                record: &session_core::Record,
                bytes: &[u8],
                expected: u64,
            ) -> Result<u64, sqlx::Error> {
                let now = self.clock.now().as_millis();
                Self::q(&self.sql.rotate)
                    .bind(new.to_bytes().to_vec())
                    .bind(bytes.to_vec())
                    .bind(record.version as i64)
                    .bind(record.expires_at.as_millis())
                    .bind(record.owner.clone())
                    .bind(record.last_seen.as_millis())
                    .bind(old.to_bytes().to_vec())
                    .bind(expected as i64)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map(|r| r.rows_affected())
            }
        }

        #[session_core::async_trait]
        impl session_core::SessionStore for $name {
            async fn create(&self, key: &session_core::StoreKey, record: &session_core::Record) -> Result<(), session_core::Error> {
                use tracing::Instrument as _;
                let span = tracing::debug_span!(concat!($span, ".create"), key = ?key);
                async {
                    let bytes = record.encode()?;
                    match self.create_once(key, record, &bytes).await {
                        Ok(()) => Ok(()),
                        Err(e) if $crate::error::is_unique_violation(&e) => {
                            // The key may be held by an expired row the sweeper has not
                            // reached: remove it and insert once more.
                            if self.clear_dead_key(&key.to_bytes(), "create").await? {
                                match self.create_once(key, record, &bytes).await {
                                    Ok(()) => Ok(()),
                                    Err(e) if $crate::error::is_unique_violation(&e) => Err(session_core::Error::Collision),
                                    Err(e) => Err($crate::error::map("create", e)),
                                }
                            } else {
                                Err(session_core::Error::Collision)
                            }
                        }
                        Err(e) => Err($crate::error::map("create", e)),
                    }
                }
                .instrument(span)
                .await
            }

            async fn load(&self, key: &session_core::StoreKey) -> Result<Option<session_core::Record>, session_core::Error> {
                use tracing::Instrument as _;
                let span = tracing::debug_span!(concat!($span, ".load"), key = ?key);
                async {
                    let now = self.clock.now().as_millis();
                    let row = Self::q(&self.sql.load)
                        .bind(key.to_bytes().to_vec())
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| $crate::error::map("load", e))?;
                    row.as_ref().map(|r| Self::decode_row(r, "load")).transpose()
                }
                .instrument(span)
                .await
            }

            async fn save(&self, key: &session_core::StoreKey, record: &session_core::Record, expected: u64) -> Result<(), session_core::Error> {
                use tracing::Instrument as _;
                let span = tracing::debug_span!(concat!($span, ".save"), key = ?key);
                async {
                    let now = self.clock.now();
                    let k = key.to_bytes().to_vec();
                    // The outer error is the database's (retried when transient); the inner
                    // one a record that cannot be bound, which no retry changes.
                    let res = $crate::error::retrying(|| async {
                        if record.is_expired(now) {
                            Self::q(&self.sql.save_delete)
                                .bind(k.clone())
                                .bind(expected as i64)
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
                    let n = res.map_err(|e| $crate::error::map("save", e))??.rows_affected();
                    if n == 1 {
                        Ok(())
                    } else {
                        Err(self.probe(&k, "save").await?)
                    }
                }
                .instrument(span)
                .await
            }

            async fn touch(&self, key: &session_core::StoreKey, expires_at: session_core::Timestamp, last_seen: session_core::Timestamp) -> Result<(), session_core::Error> {
                use tracing::Instrument as _;
                let span = tracing::debug_span!(concat!($span, ".touch"), key = ?key);
                async {
                    let now = self.clock.now().as_millis();
                    let n = $crate::error::retrying(|| {
                        Self::q(&self.sql.touch)
                            .bind(expires_at.as_millis())
                            .bind(last_seen.as_millis())
                            .bind(key.to_bytes().to_vec())
                            .bind(now)
                            .execute(&self.pool)
                    })
                    .await
                    .map_err(|e| $crate::error::map("touch", e))?
                    .rows_affected();
                    if n == 1 { Ok(()) } else { Err(session_core::Error::Gone) }
                }
                .instrument(span)
                .await
            }

            async fn delete(&self, key: &session_core::StoreKey) -> Result<(), session_core::Error> {
                use tracing::Instrument as _;
                let span = tracing::debug_span!(concat!($span, ".delete"), key = ?key);
                async {
                    $crate::error::retrying(|| {
                        Self::q(&self.sql.delete)
                            .bind(key.to_bytes().to_vec())
                            .execute(&self.pool)
                    })
                    .await
                    .map_err(|e| $crate::error::map("delete", e))
                    .map(drop)
                }
                .instrument(span)
                .await
            }

            async fn rotate(&self, old: &session_core::StoreKey, new: &session_core::StoreKey, record: &session_core::Record, expected: u64) -> Result<(), session_core::Error> {
                use tracing::Instrument as _;
                let span = tracing::debug_span!(concat!($span, ".rotate"), old = ?old, new = ?new);
                async {
                    let bytes = record.encode()?;
                    let n = match $crate::error::retrying(|| self.rotate_once(old, new, record, &bytes, expected)).await {
                        Ok(n) => n,
                        Err(e) if $crate::error::is_unique_violation(&e) => {
                            if !self.clear_dead_key(&new.to_bytes(), "rotate").await? {
                                return Err(session_core::Error::Collision);
                            }
                            match self.rotate_once(old, new, record, &bytes, expected).await {
                                Ok(n) => n,
                                Err(e) if $crate::error::is_unique_violation(&e) => return Err(session_core::Error::Collision),
                                Err(e) => return Err($crate::error::map("rotate", e)),
                            }
                        }
                        Err(e) => return Err($crate::error::map("rotate", e)),
                    };
                    if n == 1 {
                        Ok(())
                    } else {
                        Err(self.probe(&old.to_bytes(), "rotate").await?)
                    }
                }
                .instrument(span)
                .await
            }

            async fn list_owner(&self, owner: &str) -> Result<Vec<session_core::OwnerSession>, session_core::Error> {
                use sqlx::Row as _;
                use tracing::Instrument as _;
                let span = tracing::debug_span!(concat!($span, ".list_owner"));
                async {
                    let now = self.clock.now().as_millis();
                    let rows = Self::q(&self.sql.list_owner)
                        .bind(owner.to_owned())
                        .bind(now)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| $crate::error::map("list_owner", e))?;
                    let mut out = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let k: Vec<u8> = row.try_get("skey").map_err(|e| $crate::error::map("list_owner", e))?;
                        let key = session_core::StoreKey::from_bytes(&k)?;
                        match Self::decode_row(row, "list_owner") {
                            Ok(r) => out.push(session_core::OwnerSession::from_record(key, &r)),
                            // One unreadable row must not hide the owner's other sessions.
                            Err(e) => tracing::warn!(key = ?key, error = %e, "unreadable session row"),
                        }
                    }
                    Ok(out)
                }
                .instrument(span)
                .await
            }

            async fn delete_owner(&self, owner: &str, keep: Option<&session_core::StoreKey>) -> Result<u64, session_core::Error> {
                use tracing::Instrument as _;
                let span = tracing::debug_span!(concat!($span, ".delete_owner"));
                async {
                    let now = self.clock.now().as_millis();
                    let res = $crate::error::retrying(|| async {
                        match keep {
                            Some(k) => Self::q(&self.sql.delete_owner_except)
                                .bind(owner.to_owned())
                                .bind(now)
                                .bind(k.to_bytes().to_vec())
                                .execute(&self.pool)
                                .await,
                            None => Self::q(&self.sql.delete_owner)
                                .bind(owner.to_owned())
                                .bind(now)
                                .execute(&self.pool)
                                .await,
                        }
                    })
                    .await;
                    res.map(|r| r.rows_affected())
                        .map_err(|e| $crate::error::map("delete_owner", e))
                }
                .instrument(span)
                .await
            }

            async fn acquire_lock(
                &self,
                key: &session_core::StoreKey,
                now: session_core::Timestamp,
                until: session_core::Timestamp,
            ) -> Result<session_core::LockAttempt, session_core::Error> {
                use tracing::Instrument as _;
                self.lease_take(key, now, until)
                    .instrument(tracing::debug_span!(concat!($span, ".acquire_lock"), key = ?key))
                    .await
            }

            async fn save_fenced(
                &self,
                key: &session_core::StoreKey,
                record: &std::sync::Arc<session_core::Record>,
                expected: u64,
                token: u64,
                now: session_core::Timestamp,
            ) -> Result<(), session_core::Error> {
                use tracing::Instrument as _;
                self.lease_save(key, record, expected, token, now)
                    .instrument(tracing::debug_span!(concat!($span, ".save_fenced"), key = ?key))
                    .await
            }

            async fn release_lock(
                &self,
                key: &session_core::StoreKey,
                token: u64,
                now: session_core::Timestamp,
            ) -> Result<(), session_core::Error> {
                use tracing::Instrument as _;
                self.lease_release(key, token, now)
                    .instrument(tracing::debug_span!(concat!($span, ".release_lock"), key = ?key))
                    .await
            }

            async fn delete_expired(&self) -> Result<u64, session_core::Error> {
                self.sweep().await.map(|r| r.rows)
            }
        }
    };
}
