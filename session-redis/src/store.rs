//! [`RedisStore`] and its builder, and the calls the trait methods (`contract`) are made
//! of: one bounded command or script, the owner index upkeep, load, delete and the
//! cross-slot rotation.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

use redis::{ErrorKind, RedisError, RedisWrite, Script, ServerErrorKind, ToRedisArgs, Value};
use session_core::{Envelope, Error, Record, SharedClock, StoreKey, SystemClock, Timestamp};

use crate::connection::{self, Conn, Connector, bounded};
use crate::keys::KeyNames;
use crate::layout::{self, ttl_ms};
use crate::notices::Notices;
use crate::reply::{Reply, unexpected};
use crate::scripts;

/// Builds a [`RedisStore`].
#[derive(Clone)]
#[must_use]
pub struct RedisStoreBuilder {
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    clock: SharedClock,
    tag_key: Option<Zeroizing<[u8; 32]>>,
    connector: Connector,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The tag key is a secret: only whether there is one.
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("tag_key", &self.tag_key.as_ref().map(|_| "<secret>"))
            .field("tls", &self.connector.tls)
            .finish_non_exhaustive()
    }
}

impl Default for RedisStoreBuilder {
    fn default() -> Self {
        Self {
            prefix: "session".to_owned(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
            clock: Arc::new(SystemClock),
            tag_key: None,
            connector: Connector::default(),
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

    /// On Redis Cluster: the secret (32 random bytes, the same on every app server, kept
    /// like a signing key) behind owners' shard tags. With it, a user's sessions and their
    /// owner index share a hash slot, so a login or a logout everywhere is one atomic
    /// script; without it (the default) every session gets a random tag and those
    /// operations take the slower cross-slot path. Either way the tag in a cookie says
    /// nothing about its user to anyone without the secret. Changing it later is safe for
    /// correctness: sessions made under the old one take the cross-slot path.
    pub fn tag_key(mut self, key: [u8; 32]) -> Self {
        self.tag_key = Some(Zeroizing::new(key));
        self
    }

    /// TLS settings for `rediss://` URLs: the CA the server's certificate must chain to
    /// (default: the system's roots) and a client certificate for servers that ask for one.
    /// The host name in the URL is checked against the server's certificate.
    ///
    /// # Example
    /// ```no_run
    /// # async fn demo() -> Result<(), session_core::Error> {
    /// let tls = session_core::Tls::from_files(Some("/etc/redis/ca.pem".as_ref()), None)?;
    /// let store = session_redis::RedisStore::builder()
    ///     .tls(tls)
    ///     .connect("rediss://cache.internal:6380")
    ///     .await?;
    /// # let _ = store; Ok(()) }
    /// ```
    #[cfg(feature = "tls-rustls")]
    pub fn tls(mut self, tls: session_core::Tls) -> Self {
        self.connector.tls = Some(Arc::new(tls));
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
        let conn = connection::open_single(
            &self.connector,
            url,
            self.connect_timeout,
            self.response_timeout,
        )
        .await?;
        Ok(self.finish(conn, false, vec![url.to_owned()]))
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
        let conn = connection::open_cluster(
            &self.connector,
            nodes,
            self.connect_timeout,
            self.response_timeout,
        )
        .await?;
        let urls = urls.iter().map(|u| u.as_ref().to_owned()).collect();
        Ok(self.finish(conn, true, urls))
    }

    fn finish(self, conn: Conn, cluster: bool, urls: Vec<String>) -> RedisStore {
        let names = KeyNames::new(&self.prefix, cluster, self.tag_key);
        let notices = Notices::new(
            urls,
            self.connector,
            names.channel().to_owned(),
            self.connect_timeout,
        );
        RedisStore {
            conn,
            names,
            clock: self.clock,
            deadline: self.connect_timeout + self.response_timeout * 2,
            notices: Arc::new(notices),
        }
    }
}

/// A session store on Redis or Redis Cluster. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) conn: Conn,
    pub(crate) names: KeyNames,
    pub(crate) clock: SharedClock,
    /// Upper bound on one operation on a Cluster, reconnects and redirects included (a
    /// standalone server's connection manager bounds its own; see `connection`).
    pub(crate) deadline: Duration,
    /// End notices for live connections (one listener per store, shared by clones).
    pub(crate) notices: Arc<Notices>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.names.prefix)
            .field("cluster", &self.names.cluster)
            .finish_non_exhaustive()
    }
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

    /// Stores `bytes` as the body of the record under `key` exactly as given, with
    /// `envelope` as its native fields, bypassing the encoder. For tests of the decode path
    /// and for importing records written by another backend or deployment (with
    /// [`RedisStore::read_raw_record`] on the other side); an application has no other use
    /// for it.
    ///
    /// # Errors
    /// Backend errors.
    pub async fn write_raw_record(
        &self,
        key: &StoreKey,
        bytes: &[u8],
        envelope: Envelope,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        // The version and owner in the header come from the body when it decodes, so that
        // an imported record can be saved and listed like any other.
        let decoded = Record::decode(bytes, envelope).ok();
        let version = decoded.as_ref().map_or(1, |r| r.version);
        let owner = decoded.and_then(|r| r.owner);
        // The index is named only by records whose scripts reach it; this one's entry is
        // added below, by name, as on a cross-slot write.
        let value = layout::encode_parts(
            envelope,
            version,
            owner.as_deref().unwrap_or(""),
            "",
            bytes.len(),
            |out| {
                out.extend_from_slice(bytes);
                Ok(())
            },
        )?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.names.record(key))
            .arg(value)
            .arg("PX")
            .arg(ttl_ms(now, envelope.expires_at));
        self.command("write_raw", cmd).await?;
        match owner {
            Some(o) => self.index_add(&o, key, envelope.expires_at).await,
            None => Ok(()),
        }
    }

    /// The stored body and envelope of the record under `key`, as
    /// [`RedisStore::write_raw_record`] takes them; `None` when there is none.
    ///
    /// # Errors
    /// Backend errors; [`Error::Decode`] for a value without a valid header.
    pub async fn read_raw_record(
        &self,
        key: &StoreKey,
    ) -> Result<Option<(Vec<u8>, Envelope)>, Error> {
        match self.stored(key, self.clock.now()).await? {
            Some(b) => {
                let stored = layout::split(&b).ok_or(layout::BAD_HEADER)?;
                Ok(Some((stored.body.to_vec(), stored.envelope)))
            }
            None => Ok(None),
        }
    }

    /// True when connected to a Cluster.
    pub fn is_cluster(&self) -> bool {
        self.names.cluster
    }

    pub(crate) async fn exec<F, T>(&self, operation: &'static str, f: F) -> Result<T, Error>
    where
        F: AsyncFnOnce(&mut Conn) -> Result<T, RedisError>,
    {
        // Both connection kinds are cheap handles onto one shared multiplexed connection.
        let mut conn = self.conn.clone();
        match conn {
            // The connection manager bounds every step itself (`connection::open_single`),
            // so a timer of ours would be a second one per command (callgrind, `prof`:
            // 2,231 instructions of a 48,789 request).
            Conn::Single(_) => f(&mut conn)
                .await
                .map_err(|e| connection::backend(operation, e)),
            // Boxed: held inline, the timer would make every caller's future larger.
            Conn::Cluster(_) => Box::pin(bounded(self.deadline, operation, f(&mut conn))).await,
        }
    }

    /// Runs `script` with `keys` and `args` as one `EVALSHA`, built straight into one
    /// command buffer (redis-rs's `ScriptInvocation` copies every argument into a vector
    /// of its own first, then again into the command); on `NOSCRIPT` (a restarted server,
    /// a failover, a `SCRIPT FLUSH`) it loads the script and sends the same command again.
    pub(crate) async fn invoke(
        &self,
        operation: &'static str,
        script: &Script,
        keys: &[String],
        args: &[Arg<'_>],
    ) -> Result<Reply, Error> {
        let v = self.invoke_value(operation, script, keys, args).await?;
        Reply::parse(operation, v)
    }

    /// [`Self::invoke`] with the script's reply as Redis gave it.
    pub(crate) async fn invoke_value(
        &self,
        operation: &'static str,
        script: &Script,
        keys: &[String],
        args: &[Arg<'_>],
    ) -> Result<Value, Error> {
        // Sized up front: grown argument by argument, the buffer was reallocated about five
        // times per script (callgrind: some 2,000 instructions of a 53,000 request).
        let data = EVALSHA_FIXED
            + keys.iter().map(String::len).sum::<usize>()
            + args.iter().map(Arg::size_hint).sum::<usize>();
        let mut cmd = redis::Cmd::with_capacity(3 + keys.len() + args.len(), data);
        cmd.arg("EVALSHA")
            .arg(script.get_hash())
            .arg(keys.len())
            .arg(keys)
            .arg(args);
        self.exec(operation, async |con| match cmd.query_async(con).await {
            // Boxed, as it is rare: inline, it would double the size of every script's future.
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                Box::pin(async {
                    script.load_async(con).await?;
                    cmd.query_async(con).await
                })
                .await
            }
            other => other,
        })
        .await
    }

    pub(crate) async fn command(
        &self,
        operation: &'static str,
        cmd: redis::Cmd,
    ) -> Result<Value, Error> {
        self.exec(operation, async |con| cmd.query_async(con).await)
            .await
    }

    pub(crate) async fn index_add(
        &self,
        owner: &str,
        key: &StoreKey,
        expires_at: Timestamp,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        self.invoke(
            "index",
            &scripts::INDEX_ADD,
            &[self.names.index(owner)],
            &[
                arg(now.as_millis()),
                arg(key.to_text()),
                arg(expires_at.as_millis()),
                arg(ttl_ms(now, expires_at)),
            ],
        )
        .await
        .map(drop)
    }

    pub(crate) async fn index_remove(&self, owner: &str, key: &StoreKey) -> Result<(), Error> {
        self.index_remove_at(&self.names.index(owner), key).await
    }

    /// Removes `key` from the index named `idx` (as a stored session names it).
    pub(crate) async fn index_remove_at(&self, idx: &str, key: &StoreKey) -> Result<(), Error> {
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(idx).arg(key.to_text());
        self.command("index", cmd).await.map(drop)
    }

    /// Cross-slot index upkeep after a write whose script could not reach the index.
    ///
    /// Most writes need none, so the upkeep's future is boxed only when there is some: a
    /// caller's future holding it inline would be as large as two script calls, and is
    /// moved and allocated on every write.
    pub(crate) async fn follow_up_index(
        &self,
        key: &StoreKey,
        old_owner: &str,
        old_idx: &str,
        new_owner: Option<&str>,
        expires_at: Timestamp,
    ) -> Result<(), Error> {
        let remove = !old_owner.is_empty() && old_idx.is_empty() && Some(old_owner) != new_owner;
        let add = new_owner.filter(|o| !self.names.colocated(key, o));
        if !remove && add.is_none() {
            return Ok(());
        }
        Box::pin(async move {
            if remove {
                self.index_remove(old_owner, key).await?;
            }
            if let Some(o) = add {
                self.index_add(o, key, expires_at).await?;
            }
            Ok(())
        })
        .await
    }

    /// A compare-and-swap script's arguments (the save's and the rotation's): `now`, the
    /// `expected` version, the record's stored value (naming `index`, the owner's index
    /// when the script reaches it), its expiry and its TTL, then `tail`. The two times and
    /// the version are 20-digit fields, as the header writes them, so that the save script
    /// compares them as strings.
    pub(crate) fn cas_args<'a>(
        record: &Record,
        expected: u64,
        index: &str,
        now: Timestamp,
        tail: Vec<Arg<'a>>,
    ) -> Result<Vec<Arg<'a>>, Error> {
        let mut args = Vec::with_capacity(5 + tail.len());
        args.extend([
            Arg::Field(layout::ms_field(now)),
            Arg::Field(layout::num_field(expected)),
            Arg::Owned(layout::encode(record, index)?),
            Arg::Field(layout::ms_field(record.expires_at)),
            arg(ttl_ms(now, record.expires_at)),
        ]);
        args.extend(tail);
        Ok(args)
    }

    pub(crate) async fn load_inner(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        // The time the question is asked, as the scripts take it: a record live then is
        // returned, even if the reply took a while (read after it, a clock that moved on
        // meanwhile would call a record expired that a write had just renewed).
        let now = self.clock.now();
        let Some(bytes) = self.stored(key, now).await? else {
            return Ok(None);
        };
        let stored = layout::split(&bytes).ok_or(layout::BAD_HEADER)?;
        if now >= stored.envelope.expires_at {
            return Ok(None);
        }
        if stored.version.is_none() && Box::pin(self.moved(key, now)).await? {
            return Ok(None);
        }
        Record::decode(stored.body, stored.envelope).map(Some)
    }

    /// The value under `key`, or the one converted from version 0.1's hash when there is
    /// none (`scripts::CONVERT_HASH`).
    async fn stored(&self, key: &StoreKey, now: Timestamp) -> Result<Option<Vec<u8>>, Error> {
        let name = self.names.record(key);
        let mut cmd = redis::Cmd::with_capacity(2, "GET".len() + name.len());
        cmd.arg("GET").arg(name);
        match self.command("load", cmd).await? {
            Value::BulkString(b) => Ok(Some(b)),
            // Boxed, as `moved` in `load_inner`: rare, and inline it would enlarge every load.
            Value::Nil => Box::pin(self.convert_hash(key, now)).await,
            _ => Err(unexpected("load")),
        }
    }

    /// Converts the session under `key` stored by version 0.1 (a hash), if there is a live
    /// one, and returns its new value.
    pub(crate) async fn convert_hash(
        &self,
        key: &StoreKey,
        now: Timestamp,
    ) -> Result<Option<Vec<u8>>, Error> {
        let v = self
            .invoke_value(
                "load",
                &scripts::CONVERT_HASH,
                &[self.names.hash_record(key), self.names.record(key)],
                &[arg(now.as_millis())],
            )
            .await?;
        match v {
            Value::BulkString(b) => Ok(Some(b)),
            Value::Nil => Ok(None),
            _ => Err(unexpected("load")),
        }
    }

    /// Whether the move of a record marked moving (Cluster, a rotation across slots, which
    /// takes three steps: mark the old record, create the new one, delete the old) is
    /// done. The create is the rotation's single moment: a record marked moving is still
    /// the session until the new record exists, and no longer once it does, so no reader
    /// sees both keys or neither.
    async fn moved(&self, key: &StoreKey, now: Timestamp) -> Result<bool, Error> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.names.moving(key));
        let target = match self.command("load", cmd).await? {
            Value::BulkString(t) => t,
            // The target goes right after the move's last step, the old record's delete,
            // or with the mark when a failed move is undone: whichever it was, the old
            // record is there only in the second case.
            Value::Nil => {
                let mut cmd = redis::cmd("EXISTS");
                cmd.arg(self.names.record(key));
                return match self.command("load", cmd).await? {
                    Value::Int(n) => Ok(n == 0),
                    _ => Err(unexpected("load")),
                };
            }
            _ => return Err(unexpected("load")),
        };
        let new = std::str::from_utf8(&target)
            .ok()
            .and_then(|t| StoreKey::parse_text(t).ok())
            .ok_or_else(|| unexpected("load"))?;
        let mut cmd = redis::cmd("GETRANGE");
        cmd.arg(self.names.record(&new)).arg(0).arg(19);
        match self.command("load", cmd).await? {
            Value::BulkString(e) => Ok(layout::parse_field(&e).is_some_and(|e| now < e)),
            Value::Nil => Ok(false),
            _ => Err(unexpected("load")),
        }
    }
}

/// The bytes of an `EVALSHA` command before its keys and arguments: the word, the
/// script's 40-digit hash and the key count.
const EVALSHA_FIXED: usize = "EVALSHA".len() + 40 + 20;

/// One script argument, written into the command as it is: a number as its digits
/// without a heap string of its own, bytes without a copy of their own.
#[derive(Debug, Clone)]
pub(crate) enum Arg<'a> {
    /// A signed number (times in milliseconds, TTLs).
    Int(i64),
    /// An unsigned number (versions, tokens).
    UInt(u64),
    /// A fixed-width number of the header (see `layout`).
    Field(layout::Field),
    /// Borrowed bytes.
    Bytes(&'a [u8]),
    /// Owned bytes (an encoded record, a key's text).
    Owned(Vec<u8>),
}

impl Arg<'_> {
    /// At least the bytes this argument writes (a number at its widest).
    fn size_hint(&self) -> usize {
        match self {
            Arg::Int(_) | Arg::UInt(_) => 20,
            Arg::Field(t) => t.len(),
            Arg::Bytes(b) => b.len(),
            Arg::Owned(b) => b.len(),
        }
    }
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<u64> for Arg<'_> {
    fn from(v: u64) -> Self {
        Arg::UInt(v)
    }
}

impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Owned(v.into_bytes())
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Bytes(v.as_bytes())
    }
}

impl ToRedisArgs for Arg<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        match self {
            Arg::Int(v) => v.write_redis_args(out),
            Arg::UInt(v) => v.write_redis_args(out),
            Arg::Field(t) => out.write_arg(t),
            Arg::Bytes(b) => out.write_arg(b),
            Arg::Owned(b) => out.write_arg(b),
        }
    }
}

/// A script argument from a number, a string or a borrowed string.
pub(crate) fn arg<'a>(v: impl Into<Arg<'a>>) -> Arg<'a> {
    v.into()
}
