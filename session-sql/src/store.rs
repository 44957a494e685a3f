//! The store: one generic type, [`SqlStore`], for every driver. This file holds the type,
//! its settings, the schema migrations, the sweep and the statement helpers the
//! operations share; the [`SessionStore`](session_core::SessionStore) operations are in
//! `ops`, the per-session lock in `lease`, the statements' text in `dialect`.
//!
//! Statements per operation (the common path first):
//!
//! | operation | statements |
//! |---|---|
//! | load | 1 `SELECT` by primary key with the expiry check |
//! | create | 1 `INSERT`; on a unique violation, 1 `DELETE` of an expired occupant and the `INSERT` once more (still taken: `Collision`) |
//! | save | 1 `UPDATE … WHERE skey = ? AND version = ? AND expires_at > ?`; on 0 rows, 1 `SELECT` tells `Conflict` from `Gone` |
//! | touch | 1 `UPDATE` of expiry and last-seen only |
//! | rotate | 1 `UPDATE` of the primary key, guarded by the version (atomic in one statement) |
//! | delete | 1 `DELETE` |
//! | list / delete an owner's sessions | 1 statement on the owner index |
//! | sweep | bounded `DELETE` batches until a batch comes back short |
//! | the per-session lock | see `lease` |
//!
//! Every `impl` block on the store repeats one `where` clause: what sqlx needs of a driver
//! to bind our column types, read them back and run statements on a pool. Rust does not
//! let a trait carry such bounds for its users, so they are spelled out where they are
//! used; `Driver` is sealed and all three drivers meet them.

use std::sync::Arc;

use session_core::{Envelope, Error, Record, SharedClock, StoreKey, Timestamp};
use sqlx::query::Query;

use crate::dialect::Statements;
use crate::driver::Driver;
use crate::error::{map, retrying};

/// A query on `DB` with owned arguments.
pub(crate) type Q<DB> = Query<'static, DB, <DB as sqlx::Database>::Arguments>;

/// A pool for a database server: up to 16 connections, a 3 s acquire timeout, so an
/// exhausted pool is an error rather than a hang.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) async fn server_pool<DB: sqlx::Database>(url: &str) -> Result<sqlx::Pool<DB>, Error> {
    pool_options::<DB>()
        .connect(url)
        .await
        .map_err(|e| map("connect", e))
}

/// [`server_pool`] with connect options built by the caller (TLS settings applied).
#[cfg(feature = "tls-rustls")]
pub(crate) async fn server_pool_with<DB: sqlx::Database>(
    options: <DB::Connection as sqlx::Connection>::Options,
) -> Result<sqlx::Pool<DB>, Error> {
    pool_options::<DB>()
        .connect_with(options)
        .await
        .map_err(|e| map("connect", e))
}

#[cfg(any(feature = "postgres", feature = "mysql", feature = "tls-rustls"))]
fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(16)
        .acquire_timeout(std::time::Duration::from_secs(3))
}

/// Sessions in a SQL table, on any [`Driver`]; used through its names per database,
/// [`PgStore`](crate::PgStore), [`MySqlStore`](crate::MySqlStore) and
/// [`SqliteStore`](crate::SqliteStore).
pub struct SqlStore<DB: Driver> {
    pub(crate) pool: sqlx::Pool<DB>,
    pub(crate) sql: Arc<Statements>,
    pub(crate) table: Arc<str>,
    pub(crate) clock: SharedClock,
    sweep_batch: i64,
    /// End notices for live connections (PostgreSQL only; see `notices`).
    pub(crate) notices: Arc<session_core::EndNotices>,
}

impl<DB: Driver> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            sql: self.sql.clone(),
            table: self.table.clone(),
            clock: self.clock.clone(),
            sweep_batch: self.sweep_batch,
            notices: self.notices.clone(),
        }
    }
}

impl<DB: Driver> std::fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &DB::BACKEND)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl<DB: Driver> SqlStore<DB> {
    /// A store on `pool`, using the table `sessions` and the system clock.
    /// Call [`Self::migrate`] once before use.
    pub fn new(pool: sqlx::Pool<DB>) -> Self {
        Self {
            pool,
            sql: Arc::new(DB::DIALECT.statements("sessions")),
            table: "sessions".into(),
            clock: Arc::new(session_core::SystemClock),
            sweep_batch: 1000,
            notices: Arc::default(),
        }
    }

    /// Uses `table` (letters, digits and `_`, at most 48 characters).
    ///
    /// # Errors
    /// [`Error::Misconfigured`] for any other name.
    pub fn with_table(mut self, table: &str) -> Result<Self, Error> {
        if !crate::dialect::valid_table_name(table) {
            return Err(Error::Misconfigured {
                problem: "table name must be [A-Za-z_][A-Za-z0-9_]*, at most 48 characters",
            });
        }
        self.sql = Arc::new(DB::DIALECT.statements(table));
        self.table = table.into();
        // Notices are per table (its trigger's channel): a store cloned from one on another
        // table must not share that table's listener.
        self.notices = Arc::default();
        Ok(self)
    }

    /// Reads time from `clock` (tests pass a `ManualClock`).
    #[must_use]
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Rows deleted per sweep statement (default 1000): small enough that no batch holds
    /// locks for long.
    #[must_use]
    pub fn with_sweep_batch(mut self, rows: u32) -> Self {
        self.sweep_batch = i64::from(rows.max(1));
        self
    }

    /// The connection pool.
    pub fn pool(&self) -> &sqlx::Pool<DB> {
        &self.pool
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

/// The version column's value for a record version (versions beyond `i64::MAX` cannot
/// occur: one save a nanosecond would take three centuries).
pub(crate) fn version_column(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
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
    /// Stores `bytes` as the body of the record under `key` exactly as given, with
    /// `envelope` in its columns, bypassing the encoder. For tests of the decode path and
    /// for importing records written by another backend (with `read_raw_record` on the
    /// other side); an application has no other use for it.
    ///
    /// # Errors
    /// Database errors.
    pub async fn write_raw_record(
        &self,
        key: &StoreKey,
        bytes: &[u8],
        envelope: Envelope,
    ) -> Result<(), Error> {
        Self::q(&self.sql.delete)
            .bind(key.to_bytes().to_vec())
            .execute(&self.pool)
            .await
            .map_err(|e| map("write_raw", e))?;
        // The copies the statements check (version, owner) come from the body when it
        // decodes, so that an imported record can be saved and listed.
        let decoded = Record::decode(bytes, envelope).ok();
        let version = decoded.as_ref().map_or(1, |r| r.version);
        let created_at = decoded
            .as_ref()
            .map_or(envelope.last_seen, |r| r.created_at);
        let owner = decoded.and_then(|r| r.owner);
        self.insert_row(key, bytes, version, owner, created_at, envelope)
            .await
            .map_err(|e| map("write_raw", e))
    }

    /// Inserts a row: `bytes` as the body under `key`, the query copies (`version`,
    /// `owner`), `created_at` and the envelope in their columns. What a create and a raw
    /// write share.
    pub(crate) async fn insert_row(
        &self,
        key: &StoreKey,
        bytes: &[u8],
        version: u64,
        owner: Option<String>,
        created_at: Timestamp,
        envelope: Envelope,
    ) -> Result<(), sqlx::Error> {
        Self::q(&self.sql.create)
            .bind(key.to_bytes().to_vec())
            .bind(bytes.to_vec())
            .bind(version_column(version))
            .bind(envelope.expires_at.as_millis())
            .bind(owner)
            .bind(created_at.as_millis())
            .bind(envelope.last_seen.as_millis())
            // The sweeper's lower bound of the expiry (migration 4); saves leave it.
            .bind(envelope.expires_at.as_millis())
            .execute(&self.pool)
            .await
            .map(drop)
    }

    /// The stored body and envelope of the record under `key`, as `write_raw_record` takes
    /// them; `None` when there is none.
    ///
    /// # Errors
    /// Database errors.
    pub async fn read_raw_record(
        &self,
        key: &StoreKey,
    ) -> Result<Option<(Vec<u8>, Envelope)>, Error> {
        let row = Self::q(&self.sql.load)
            .bind(key.to_bytes().to_vec())
            .bind(i64::MIN)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map("read_raw", e))?;
        row.as_ref()
            .map(|r| Self::raw_of(r, "read_raw"))
            .transpose()
    }

    /// Creates or upgrades the schema: the embedded, versioned migrations not yet applied
    /// to this table. Safe to run from several nodes at once.
    ///
    /// # Errors
    /// Database errors.
    pub async fn migrate(&self) -> Result<(), Error> {
        use sqlx::Row as _;
        let op = "migrate";
        let map = |e| map(op, e);
        Self::q(&self.sql.schema_table)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        let row = Self::q(&self.sql.schema_version)
            .fetch_one(&self.pool)
            .await
            .map_err(map)?;
        let current: Option<i64> = row.try_get(0).map_err(map)?;
        let current = current.unwrap_or(0);
        for (version, statements) in DB::DIALECT.migrations(&self.table) {
            if version <= current {
                continue;
            }
            for step in statements {
                let res = sqlx::query::<DB>(sqlx::AssertSqlSafe(step.sql))
                    .execute(&self.pool)
                    .await;
                if let Err(e) = res {
                    // Another node may have made this step meanwhile.
                    let done = match step.done_if {
                        Some(q) => sqlx::query::<DB>(sqlx::AssertSqlSafe(q))
                            .execute(&self.pool)
                            .await
                            .is_ok(),
                        None => false,
                    };
                    if !done {
                        return Err(map(e));
                    }
                }
            }
            Self::q(&self.sql.schema_record)
                .bind(version)
                .execute(&self.pool)
                .await
                .map_err(map)?;
        }
        Ok(())
    }

    /// Deletes expired rows in bounded batches until none are left; returns the number of
    /// rows and of delete batches. Then re-arms, in bounded batches too, the live rows the
    /// sweeper's index put among the candidates (their expiry moved on since they were
    /// armed). Safe to run on several nodes at once.
    ///
    /// # Errors
    /// Database errors (rows deleted by earlier batches stay deleted).
    pub async fn sweep(&self) -> Result<crate::SweepReport, Error> {
        let mut report = crate::SweepReport::default();
        let now = self.clock.now().as_millis();
        loop {
            let n = self.sweep_step(&self.sql.sweep_batch, now).await?;
            report.batches += 1;
            report.rows += n;
            if !self.more_after(n).await {
                break;
            }
        }
        while self
            .more_after(self.sweep_step(&self.sql.sweep_rearm, now).await?)
            .await
        {}
        Ok(report)
    }

    /// Runs one batch of `sql` (a sweep or a re-arm, bound to `now` twice and the batch
    /// size) and returns the rows it changed.
    async fn sweep_step(&self, sql: &Arc<str>, now: i64) -> Result<u64, Error> {
        // Two sweepers can pick the same rows and deadlock (InnoDB): the batch is one
        // statement, rolled back whole, so it is retried like any other write.
        let res = retrying(|| {
            Self::q(sql)
                .bind(now)
                .bind(now)
                .bind(self.sweep_batch)
                .execute(&self.pool)
        })
        .await;
        Ok(DB::rows_affected(&res.map_err(|e| map("sweep", e))?))
    }

    /// Whether a batch that changed `n` rows may have left more: only a full one does.
    /// Before the next, other statements get their turn.
    async fn more_after(&self, n: u64) -> bool {
        let more = n >= self.sweep_batch.unsigned_abs();
        if more {
            tokio::task::yield_now().await;
        }
        more
    }

    /// `sql` with room for the few small arguments most statements bind (a key, a time
    /// or two).
    pub(crate) fn q(sql: &Arc<str>) -> Q<DB> {
        Self::q_sized(sql, 4, 128)
    }

    /// `sql` with room for `values` arguments of `bytes` in all. sqlx's own `query` starts
    /// empty and grows its buffers bind by bind: about 480 instructions a bind, 4,780 of a
    /// save's client work on PostgreSQL (callgrind, `prof write`).
    pub(crate) fn q_sized(sql: &Arc<str>, values: usize, bytes: usize) -> Q<DB> {
        let mut args = DB::Arguments::default();
        sqlx::Arguments::reserve(&mut args, values, bytes);
        sqlx::query_with(sqlx::AssertSqlSafe(sql.clone()), args)
    }

    /// `sql` (a save's `UPDATE`) with the record's columns and the guard bound, in the
    /// order `save` and `save_fenced` share; the fenced one binds its lease after.
    pub(crate) fn bind_save(
        sql: &Arc<str>,
        record: &Record,
        k: Vec<u8>,
        expected: u64,
        now: Timestamp,
    ) -> Result<Q<DB>, Error> {
        let body = record.encode()?;
        let owner = record.owner.as_ref().map_or(0, String::len);
        // Eight values: the body, the owner, the key, five numbers (each with a length
        // word in PostgreSQL's format).
        let bytes = body.len() + owner + k.len() + 8 * (8 + 4);
        Ok(Self::q_sized(sql, 8, bytes)
            .bind(body)
            .bind(version_column(record.version))
            .bind(record.expires_at.as_millis())
            .bind(record.owner.clone())
            .bind(record.last_seen.as_millis())
            .bind(k)
            .bind(version_column(expected))
            .bind(now.as_millis()))
    }

    /// Tells why a guarded write to a live-looking key matched no row: `Conflict` when a
    /// live record is there (another version), `Gone` when none is.
    pub(crate) async fn probe(&self, key: Vec<u8>, op: &'static str) -> Result<Error, Error> {
        let now = self.clock.now().as_millis();
        let row = Self::q(&self.sql.probe_live)
            .bind(key)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(op, e))?;
        Ok(if row.is_some() {
            Error::Conflict
        } else {
            Error::Gone
        })
    }

    /// Removes the row under `key` if it has expired (a live one stays).
    pub(crate) async fn clear_dead_key(&self, key: Vec<u8>, op: &'static str) -> Result<(), Error> {
        let now = self.clock.now().as_millis();
        Self::q(&self.sql.delete_dead_key)
            .bind(key)
            .bind(now)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(|e| map(op, e))
    }

    pub(crate) fn decode_row(row: &DB::Row, op: &'static str) -> Result<Record, Error> {
        let (bytes, envelope) = Self::raw_of(row, op)?;
        Record::decode(&bytes, envelope)
    }

    /// A row's body and envelope. The columns are the envelope, kept nowhere else: touch
    /// updates only them.
    ///
    /// Read by position: every statement that returns a record ends its columns with
    /// `record, expires_at, last_seen` (`dialect`'s tests hold them to it). By name, each
    /// column was a lookup in the row's column map, about 420 instructions (callgrind,
    /// `prof`, PostgreSQL).
    fn raw_of(row: &DB::Row, op: &'static str) -> Result<(Vec<u8>, Envelope), Error> {
        use sqlx::Row as _;
        let map = |e| map(op, e);
        let first = row.len().checked_sub(3).ok_or_else(|| {
            map(sqlx::Error::ColumnIndexOutOfBounds {
                index: 2,
                len: row.len(),
            })
        })?;
        let bytes: Vec<u8> = row.try_get(first).map_err(map)?;
        let envelope = Envelope {
            expires_at: Timestamp::from_millis(row.try_get(first + 1).map_err(map)?),
            last_seen: Timestamp::from_millis(row.try_get(first + 2).map_err(map)?),
        };
        Ok((bytes, envelope))
    }
}
