//! The store: connection handling, key naming, and the trait methods over the scripts.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{RedisError, Script, Value};
use session_core::{
    DecodeProblem, Error, OwnerSession, Record, SessionStore, ShardTag, SharedClock, StoreKey,
    SystemClock, Timestamp, async_trait,
};
use tracing::Instrument;

use crate::scripts;

/// Builds a [`RedisStore`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisStoreBuilder {
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    clock: SharedClock,
}

impl Default for RedisStoreBuilder {
    fn default() -> Self {
        Self {
            prefix: "session".to_owned(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
            clock: Arc::new(SystemClock),
        }
    }
}

impl RedisStoreBuilder {
    /// The first part of every key (default `session`). Must not contain `{`, `}` or `:`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long to wait for a connection (default 2 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// How long to wait for a reply (default 2 s).
    pub fn response_timeout(mut self, d: Duration) -> Self {
        self.response_timeout = d;
        self
    }

    /// The clock that decides expiry (tests pass a `ManualClock`).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    fn check_prefix(&self) -> Result<(), Error> {
        if self.prefix.is_empty() || self.prefix.contains(['{', '}', ':']) {
            return Err(Error::Misconfigured {
                problem: "redis key prefix must be non-empty and free of '{', '}' and ':'",
            });
        }
        Ok(())
    }

    /// Connects to a standalone Redis (or Valkey) at `url`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] for a bad URL or prefix; [`Error::Unavailable`] or
    /// [`Error::Timeout`] when the server cannot be reached.
    pub async fn connect(self, url: &str) -> Result<RedisStore, Error> {
        self.check_prefix()?;
        let client = redis::Client::open(url).map_err(|e| Error::InvalidSetting {
            setting: "redis url",
            source: Box::new(e),
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let manager = bounded(
            self.connect_timeout * 2,
            "connect",
            ConnectionManager::new_with_config(client, config),
        )
        .await?;
        Ok(self.finish(Conn::Single(manager), false))
    }

    /// Connects to a Redis Cluster through any of its nodes.
    ///
    /// # Errors
    /// As [`RedisStoreBuilder::connect`].
    pub async fn connect_cluster<S: AsRef<str>>(self, urls: &[S]) -> Result<RedisStore, Error> {
        self.check_prefix()?;
        if urls.is_empty() {
            return Err(Error::Misconfigured {
                problem: "a Redis Cluster needs at least one node URL",
            });
        }
        let nodes: Vec<&str> = urls.iter().map(AsRef::as_ref).collect();
        let client = ClusterClientBuilder::new(nodes)
            .connection_timeout(self.connect_timeout)
            .response_timeout(self.response_timeout)
            .retries(2)
            .build()
            .map_err(|e| Error::InvalidSetting {
                setting: "redis cluster urls",
                source: Box::new(e),
            })?;
        let conn = bounded(
            self.connect_timeout * 2,
            "connect",
            client.get_async_connection(),
        )
        .await?;
        Ok(self.finish(Conn::Cluster(conn), true))
    }

    fn finish(self, conn: Conn, cluster: bool) -> RedisStore {
        RedisStore {
            conn,
            prefix: self.prefix.into(),
            cluster,
            clock: self.clock,
            deadline: self.connect_timeout + self.response_timeout * 2,
        }
    }
}

#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A session store on Redis or Redis Cluster. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    prefix: Arc<str>,
    cluster: bool,
    clock: SharedClock,
    /// Upper bound on one operation, reconnects included.
    deadline: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

async fn bounded<T>(
    limit: Duration,
    operation: &'static str,
    fut: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, Error> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(backend(operation, e)),
        Err(_) => Err(Error::Timeout { operation }),
    }
}

fn backend(operation: &'static str, e: RedisError) -> Error {
    if e.is_timeout() {
        Error::Timeout { operation }
    } else {
        Error::unavailable(operation, e)
    }
}

/// A reply of a shape no script of ours produces.
#[derive(Debug, thiserror::Error)]
#[error("unexpected reply from redis to {operation}")]
struct UnexpectedReply {
    operation: &'static str,
}

fn unexpected(operation: &'static str) -> Error {
    Error::unavailable(operation, UnexpectedReply { operation })
}

/// Flattens a script reply (a status or an array of statuses) into strings.
fn words(v: Value) -> Vec<String> {
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

fn ttl_ms(now: Timestamp, expires_at: Timestamp) -> i64 {
    (expires_at.as_millis() - now.as_millis()).max(1)
}

impl RedisStore {
    /// A builder for prefix, timeouts and clock.
    pub fn builder() -> RedisStoreBuilder {
        RedisStoreBuilder::default()
    }

    /// Connects to a standalone Redis with default settings.
    ///
    /// # Errors
    /// As [`RedisStoreBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder().connect(url).await
    }

    /// Stores `bytes` as the record under `key` exactly as given, live until `expires_at`,
    /// bypassing the encoder. For tests of the decode path and for importing records
    /// written by another deployment; an application has no other use for it.
    ///
    /// # Errors
    /// Backend errors.
    pub async fn write_raw_record(
        &self,
        key: &StoreKey,
        bytes: &[u8],
        expires_at: Timestamp,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let (e, l) = (ms_field(expires_at), ms_field(now));
        let mut cmd = redis::cmd("HSET");
        cmd.arg(self.rec_key(key))
            .arg("r")
            .arg([&e[..], &l[..], bytes].concat())
            .arg("e")
            .arg(&e[..])
            .arg("l")
            .arg(&l[..])
            .arg("v")
            .arg(1);
        self.command("write_raw", cmd).await?;
        let mut cmd = redis::cmd("PEXPIRE");
        cmd.arg(self.rec_key(key)).arg(ttl_ms(now, expires_at));
        self.command("write_raw", cmd).await.map(drop)
    }

    /// True when connected to a Cluster.
    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    fn rec_key(&self, key: &StoreKey) -> String {
        // Built by hand, not with `format!`: this runs on every operation.
        let mut k = String::with_capacity(self.prefix.len() + 76);
        k.push_str(&self.prefix);
        k.push_str(":{");
        key.push_hex(&mut k, true, false);
        k.push_str("}:s:");
        key.push_hex(&mut k, false, true);
        k
    }

    fn idx_key(&self, owner: &str) -> String {
        format!(
            "{}:{{{}}}:o:{}",
            self.prefix,
            ShardTag::for_owner(owner).to_hex(),
            owner
        )
    }

    /// `keys` plus `owner`'s index key when a script on `key` may write it (see
    /// [`Self::colocated`]); the scripts take the index as their last, optional key.
    fn script_keys(&self, mut keys: Vec<String>, key: &StoreKey, owner: &str) -> Vec<String> {
        if !owner.is_empty() && self.colocated(key, owner) {
            keys.push(self.idx_key(owner));
        }
        keys
    }

    /// Whether a script on `key` may also touch `owner`'s index: always on a single server;
    /// on Cluster only when both carry the same tag (and so share a hash slot).
    fn colocated(&self, key: &StoreKey, owner: &str) -> bool {
        !self.cluster || key.tag() == ShardTag::for_owner(owner)
    }

    async fn exec<F>(&self, operation: &'static str, f: F) -> Result<Value, Error>
    where
        F: AsyncFnOnce(&mut Conn) -> Result<Value, RedisError>,
    {
        // Both connection kinds are cheap handles onto one shared multiplexed connection.
        let mut conn = self.conn.clone();
        bounded(self.deadline, operation, f(&mut conn)).await
    }

    async fn invoke(
        &self,
        operation: &'static str,
        script: &Script,
        keys: &[String],
        args: &[Vec<u8>],
    ) -> Result<Vec<String>, Error> {
        let v = self
            .exec(operation, async |con| {
                let mut inv = script.prepare_invoke();
                for k in keys {
                    inv.key(k);
                }
                for a in args {
                    inv.arg(a.as_slice());
                }
                inv.invoke_async(con).await
            })
            .await?;
        Ok(words(v))
    }

    async fn command(&self, operation: &'static str, cmd: redis::Cmd) -> Result<Value, Error> {
        self.exec(operation, async |con| cmd.query_async(con).await)
            .await
    }

    async fn index_add(
        &self,
        owner: &str,
        key: &StoreKey,
        expires_at: Timestamp,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        self.invoke(
            "index",
            &scripts::INDEX_ADD,
            &[self.idx_key(owner)],
            &[
                arg(now.as_millis()),
                key.to_text().into_bytes(),
                arg(expires_at.as_millis()),
                arg(ttl_ms(now, expires_at)),
            ],
        )
        .await
        .map(drop)
    }

    async fn index_remove(&self, owner: &str, key: &StoreKey) -> Result<(), Error> {
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(self.idx_key(owner)).arg(key.to_text());
        self.command("index", cmd).await.map(drop)
    }

    /// Cross-slot index upkeep after a write whose script could not reach the index.
    async fn follow_up_index(
        &self,
        key: &StoreKey,
        old_owner: &str,
        old_idx: &str,
        new_owner: Option<&str>,
        expires_at: Timestamp,
    ) -> Result<(), Error> {
        if !old_owner.is_empty() && old_idx.is_empty() && Some(old_owner) != new_owner {
            self.index_remove(old_owner, key).await?;
        }
        if let Some(o) = new_owner {
            if !self.colocated(key, o) {
                self.index_add(o, key, expires_at).await?;
            }
        }
        Ok(())
    }

    /// Script arguments: `head`, then the record's fields in the order the scripts read them
    /// (encoded record, expiry, last seen, version, TTL), then `tail`.
    fn script_args(
        head: Vec<Vec<u8>>,
        record: &Record,
        now: Timestamp,
        tail: Vec<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, Error> {
        let mut args = head;
        let (e, l) = (ms_field(record.expires_at), ms_field(record.last_seen));
        let body = record.encode()?;
        let mut r = Vec::with_capacity(HEADER + body.len());
        r.extend_from_slice(&e);
        r.extend_from_slice(&l);
        r.extend_from_slice(&body);
        args.extend([
            r,
            e.to_vec(),
            l.to_vec(),
            arg(record.version),
            arg(ttl_ms(now, record.expires_at)),
        ]);
        args.extend(tail);
        Ok(args)
    }

    async fn load_inner(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        let mut cmd = redis::cmd("HGET");
        cmd.arg(self.rec_key(key)).arg("r");
        let bytes = match self.command("load", cmd).await? {
            Value::BulkString(b) => b,
            Value::Nil => return Ok(None),
            _ => return Err(unexpected("load")),
        };
        let inconsistent = || Error::Decode {
            reason: DecodeProblem::Inconsistent("record header is not two 20-digit times"),
        };
        let (header, body) = bytes.split_at_checked(HEADER).ok_or_else(inconsistent)?;
        let (e, l) = header.split_at(HEADER / 2);
        let (e, l) = (parse_field(e).ok_or_else(inconsistent)?, parse_field(l));
        if self.clock.now() >= e {
            return Ok(None);
        }
        let mut record = Record::decode(body)?;
        record.expires_at = e;
        record.last_seen = l.ok_or_else(inconsistent)?;
        Ok(Some(record))
    }

    /// Deletes `key` if it belongs to `owner` (any owner when `None`); returns whether a
    /// live record was deleted.
    async fn delete_inner(&self, key: &StoreKey, owner: Option<&str>) -> Result<bool, Error> {
        let now = self.clock.now();
        let w = self
            .invoke(
                "delete",
                &scripts::DELETE,
                &[self.rec_key(key)],
                &[
                    arg(now.as_millis()),
                    key.to_text().into_bytes(),
                    owner.unwrap_or("").as_bytes().to_vec(),
                ],
            )
            .await?;
        match w.first().map(String::as_str) {
            Some("ok") => {
                let (o, x) = (word(&w, 1), word(&w, 2));
                if !o.is_empty() && x.is_empty() {
                    self.index_remove(o, key).await?;
                }
                Ok(word(&w, 3) == "1")
            }
            Some("skipped") => Ok(false),
            _ => Err(unexpected("delete")),
        }
    }

    async fn rotate_across_slots(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        expected: u64,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let old_key = self.rec_key(old);
        let token = new.hash_hex();
        let w = self
            .invoke(
                "rotate",
                &scripts::MARK_MOVING,
                std::slice::from_ref(&old_key),
                &[
                    arg(now.as_millis()),
                    arg(expected),
                    token.clone().into_bytes(),
                ],
            )
            .await?;
        match w.first().map(String::as_str) {
            Some("ok") => {}
            Some("gone") => return Err(Error::Gone),
            Some("conflict") => return Err(Error::Conflict),
            _ => return Err(unexpected("rotate")),
        }
        if let Err(e) = self.create(new, record).await {
            // Undo the mark so the session stays usable under its old id.
            let _ = self
                .invoke(
                    "rotate",
                    &scripts::UNMARK_MOVING,
                    &[old_key],
                    &[arg(expected), token.into_bytes()],
                )
                .await;
            return Err(e);
        }
        self.delete_inner(old, None).await.map(drop)
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

fn arg(v: impl ToString) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn word(w: &[String], i: usize) -> &str {
    w.get(i).map_or("", String::as_str)
}

/// Length of the header in field `r`: expires-at and last-seen, 20 digits each.
const HEADER: usize = 40;

/// A time as the scripts store it: milliseconds since the epoch in 20 zero-padded digits
/// (fixed width so a script can replace the header of `r` without parsing the record;
/// times before the epoch are stored as 0).
fn ms_field(t: Timestamp) -> [u8; HEADER / 2] {
    let mut out = [b'0'; HEADER / 2];
    let mut v = t.as_millis().max(0).unsigned_abs();
    for d in out.iter_mut().rev() {
        // i64::MAX has 19 digits, so 20 always suffice.
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out
}

/// Reads a field written by [`ms_field`]; `None` for anything else.
fn parse_field(b: &[u8]) -> Option<Timestamp> {
    if b.len() != HEADER / 2 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    Some(Timestamp::from_millis(v))
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), Error> {
        let span = tracing::debug_span!("redis.create", key = ?key);
        async {
            let now = self.clock.now();
            let owner = record.owner.as_deref().unwrap_or("");
            let keys = self.script_keys(vec![self.rec_key(key)], key, owner);
            let args = Self::script_args(
                vec![arg(now.as_millis())],
                record,
                now,
                vec![key.to_text().into_bytes(), owner.as_bytes().to_vec()],
            )?;
            let reply = self
                .invoke("create", &scripts::CREATE, &keys, &args)
                .await?;
            match reply.first().map(String::as_str) {
                Some("ok") => {
                    self.follow_up_index(key, "", "", record.owner.as_deref(), record.expires_at)
                        .await
                }
                Some("collision") => Err(Error::Collision),
                _ => Err(unexpected("create")),
            }
        }
        .instrument(span)
        .await
    }

    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        self.load_inner(key)
            .instrument(tracing::debug_span!("redis.load", key = ?key))
            .await
    }

    async fn save(&self, key: &StoreKey, record: &Record, expected: u64) -> Result<(), Error> {
        let span = tracing::debug_span!("redis.save", key = ?key);
        async {
            let now = self.clock.now();
            let owner = record.owner.as_deref().unwrap_or("");
            let keys = self.script_keys(vec![self.rec_key(key)], key, owner);
            let args = Self::script_args(
                vec![arg(now.as_millis()), arg(expected)],
                record,
                now,
                vec![key.to_text().into_bytes(), owner.as_bytes().to_vec()],
            )?;
            let reply = self.invoke("save", &scripts::SAVE, &keys, &args).await?;
            match reply.first().map(String::as_str) {
                Some("ok") => {
                    self.follow_up_index(
                        key,
                        word(&reply, 1),
                        word(&reply, 2),
                        record.owner.as_deref(),
                        record.expires_at,
                    )
                    .await
                }
                Some("deleted") => {
                    self.follow_up_index(key, word(&reply, 1), word(&reply, 2), None, now)
                        .await
                }
                Some("gone") => Err(Error::Gone),
                Some("conflict") => Err(Error::Conflict),
                _ => Err(unexpected("save")),
            }
        }
        .instrument(span)
        .await
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: Timestamp,
        last_seen: Timestamp,
    ) -> Result<(), Error> {
        let span = tracing::debug_span!("redis.touch", key = ?key);
        async {
            let now = self.clock.now();
            let reply = self
                .invoke(
                    "touch",
                    &scripts::TOUCH,
                    &[self.rec_key(key)],
                    &[
                        arg(now.as_millis()),
                        ms_field(expires_at).to_vec(),
                        ms_field(last_seen).to_vec(),
                        arg(ttl_ms(now, expires_at)),
                        key.to_text().into_bytes(),
                    ],
                )
                .await?;
            match reply.first().map(String::as_str) {
                Some("ok") => {
                    let (owner, idx) = (word(&reply, 1), word(&reply, 2));
                    if !owner.is_empty() && idx.is_empty() {
                        self.index_add(owner, key, expires_at).await?;
                    }
                    Ok(())
                }
                Some("gone") => Err(Error::Gone),
                _ => Err(unexpected("touch")),
            }
        }
        .instrument(span)
        .await
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), Error> {
        self.delete_inner(key, None)
            .instrument(tracing::debug_span!("redis.delete", key = ?key))
            .await
            .map(drop)
    }

    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        expected: u64,
    ) -> Result<(), Error> {
        let span = tracing::debug_span!("redis.rotate", old = ?old, new = ?new);
        async {
            if self.cluster && old.tag() != new.tag() {
                return self.rotate_across_slots(old, new, record, expected).await;
            }
            let now = self.clock.now();
            let owner = record.owner.as_deref().unwrap_or("");
            let keys = self.script_keys(vec![self.rec_key(old), self.rec_key(new)], new, owner);
            let args = Self::script_args(
                vec![arg(now.as_millis()), arg(expected)],
                record,
                now,
                vec![
                    old.to_text().into_bytes(),
                    new.to_text().into_bytes(),
                    owner.as_bytes().to_vec(),
                ],
            )?;
            let reply = self
                .invoke("rotate", &scripts::ROTATE, &keys, &args)
                .await?;
            match reply.first().map(String::as_str) {
                Some("ok") => {
                    let (old_owner, old_idx) = (word(&reply, 1), word(&reply, 2));
                    if !old_owner.is_empty() && old_idx.is_empty() {
                        self.index_remove(old_owner, old).await?;
                    }
                    self.follow_up_index(new, "", "", record.owner.as_deref(), record.expires_at)
                        .await
                }
                Some("gone") => Err(Error::Gone),
                Some("conflict") => Err(Error::Conflict),
                Some("collision") => Err(Error::Collision),
                _ => Err(unexpected("rotate")),
            }
        }
        .instrument(span)
        .await
    }

    async fn list_owner(&self, owner: &str) -> Result<Vec<OwnerSession>, Error> {
        let span = tracing::debug_span!("redis.list_owner");
        async {
            let now = self.clock.now();
            let idx = self.idx_key(owner);
            let mut cmd = redis::cmd("ZRANGE");
            cmd.arg(&idx)
                .arg(format!("({}", now.as_millis()))
                .arg("+inf")
                .arg("BYSCORE");
            let members = words(self.command("list_owner", cmd).await?);
            let mut out = Vec::with_capacity(members.len());
            let mut dead = Vec::new();
            for m in members {
                let Ok(key) = StoreKey::parse_text(&m) else {
                    dead.push(m);
                    continue;
                };
                match self.load_inner(&key).await {
                    Ok(Some(r)) if r.owner.as_deref() == Some(owner) => {
                        out.push(OwnerSession::from_record(key, &r));
                    }
                    Ok(_) => dead.push(m),
                    // One unreadable record must not hide the owner's other sessions.
                    Err(e) if e.kind() == session_core::ErrorKind::BadData => {
                        tracing::warn!(key = ?key, error = %e, "unreadable session in owner index");
                    }
                    Err(e) => return Err(e),
                }
            }
            if !dead.is_empty() {
                let mut cmd = redis::cmd("ZREM");
                cmd.arg(&idx).arg(dead);
                self.command("list_owner", cmd).await?;
            }
            Ok(out)
        }
        .instrument(span)
        .await
    }

    async fn delete_owner(&self, owner: &str, keep: Option<&StoreKey>) -> Result<u64, Error> {
        let span = tracing::debug_span!("redis.delete_owner");
        async {
            let mut cmd = redis::cmd("ZRANGE");
            cmd.arg(self.idx_key(owner)).arg(0).arg(-1);
            let members = words(self.command("delete_owner", cmd).await?);
            let mut n = 0;
            for m in members {
                let Ok(key) = StoreKey::parse_text(&m) else {
                    continue;
                };
                if Some(&key) == keep {
                    continue;
                }
                if self.delete_inner(&key, Some(owner)).await? {
                    n += 1;
                }
            }
            Ok(n)
        }
        .instrument(span)
        .await
    }

    async fn delete_expired(&self) -> Result<u64, Error> {
        // Redis expires keys itself (every write sets the TTL); there is nothing to sweep.
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header fields are fixed width and round-trip every time a store can meet,
    /// including the saturated far future; anything else is refused, never misread.
    #[test]
    fn header_fields_round_trip_and_reject_junk() {
        for ms in [0, 1, 1_764_470_000_000, i64::MAX] {
            let f = ms_field(Timestamp::from_millis(ms));
            assert_eq!(f.len(), 20);
            assert_eq!(parse_field(&f), Some(Timestamp::from_millis(ms)));
        }
        assert_eq!(
            parse_field(&ms_field(Timestamp::from_millis(-5))),
            Some(Timestamp::from_millis(0))
        );
        for bad in [
            &b""[..],
            b"123",
            b"0000000000000000000x",
            b"99999999999999999999",
            b"-0000000000000000001",
        ] {
            assert_eq!(parse_field(bad), None, "{bad:?}");
        }
    }
}
