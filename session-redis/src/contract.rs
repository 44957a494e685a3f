//! The [`SessionStore`] methods: each one script (or command) on the session's slot, with
//! the owner index kept by the same script when it shares the slot and by a follow-up
//! call when it does not (Redis Cluster, a login out of an anonymous session).

use std::sync::Arc;

use session_core::observe::Observed as _;
use session_core::{
    Error, LockAttempt, OwnerSession, Record, SessionStore, StoreKey, Timestamp, async_trait,
};

use crate::layout;
use crate::reply::{Reply, unexpected, words};
use crate::scripts;
use crate::store::{Arg, RedisStore, arg};

#[async_trait]
impl SessionStore for RedisStore {
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), Error> {
        let call = session_core::store_call!("redis", "create", key = ?key);
        async {
            let now = self.clock.now();
            let owner = record.owner.as_deref().unwrap_or("");
            let keys = self
                .names
                .script_keys(vec![self.names.record(key)], key, owner);
            let index = keys.get(1).map_or("", String::as_str);
            let value = layout::encode(record, index)?;
            let ttl = layout::ttl_ms(now, record.expires_at);
            // Without an index to keep in the same step, a create is one plain command; a
            // key already taken (a live session, or one dead by the store's clock that
            // Redis has not dropped yet) goes to the script, which tells them apart.
            if keys.len() == 1 {
                let mut cmd = redis::Cmd::with_capacity(6, value.len() + keys[0].len() + 32);
                cmd.arg("SET")
                    .arg(&keys[0])
                    .arg(&value)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl);
                match self.command("create", cmd).await? {
                    redis::Value::Okay => {
                        return self
                            .follow_up_index(
                                key,
                                "",
                                "",
                                record.owner.as_deref(),
                                record.expires_at,
                            )
                            .await;
                    }
                    redis::Value::Nil => {}
                    _ => return Err(unexpected("create")),
                }
            }
            let args = [
                arg(now.as_millis()),
                Arg::Bytes(&value),
                arg(record.expires_at.as_millis()),
                arg(ttl),
                arg(key.to_text()),
            ];
            let reply = self
                .invoke("create", &scripts::CREATE, &keys, &args)
                .await?;
            match reply {
                Reply::Ok(_) => {
                    self.follow_up_index(key, "", "", record.owner.as_deref(), record.expires_at)
                        .await
                }
                Reply::Collision => Err(Error::Collision),
                _ => Err(unexpected("create")),
            }
        }
        .observed(call)
        .await
    }

    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        self.load_inner(key)
            .observed(session_core::store_call!("redis", "load", key = ?key))
            .await
    }

    async fn save(&self, key: &StoreKey, record: &Record, expected: u64) -> Result<(), Error> {
        let call = session_core::store_call!("redis", "save", key = ?key);
        async {
            self.save_script(key, record, expected, None, self.clock.now())
                .await
        }
        .observed(call)
        .await
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: Timestamp,
        last_seen: Timestamp,
    ) -> Result<(), Error> {
        let call = session_core::store_call!("redis", "touch", key = ?key);
        async {
            let now = self.clock.now();
            let reply = self
                .invoke(
                    "touch",
                    &scripts::TOUCH,
                    &[self.names.record(key)],
                    &[
                        arg(now.as_millis()),
                        Arg::Field(layout::ms_field(expires_at)),
                        Arg::Field(layout::ms_field(last_seen)),
                        arg(layout::ttl_ms(now, expires_at)),
                        arg(key.to_text()),
                    ],
                )
                .await?;
            match reply {
                Reply::Ok(w) => {
                    let (owner, idx) = (w.at(1), w.at(2));
                    if !owner.is_empty() && idx.is_empty() {
                        self.index_add(owner, key, expires_at).await?;
                    }
                    Ok(())
                }
                Reply::Gone => Err(Error::Gone),
                _ => Err(unexpected("touch")),
            }
        }
        .observed(call)
        .await
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), Error> {
        self.delete_inner(key, None)
            .observed(session_core::store_call!("redis", "delete", key = ?key))
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
        let call = session_core::store_call!("redis", "rotate", old = ?old, new = ?new);
        async {
            if self.names.cluster && old.tag() != new.tag() {
                return self.rotate_across_slots(old, new, record, expected).await;
            }
            let now = self.clock.now();
            let owner = record.owner.as_deref().unwrap_or("");
            let keys = self.names.script_keys(
                vec![self.names.record(old), self.names.record(new)],
                new,
                owner,
            );
            let index = keys.get(2).map_or("", String::as_str);
            let args = Self::cas_args(
                record,
                expected,
                index,
                now,
                vec![
                    arg(old.to_text()),
                    arg(new.to_text()),
                    arg(self.names.channel()),
                ],
            )?;
            let reply = self
                .invoke("rotate", &scripts::ROTATE, &keys, &args)
                .await?;
            match reply {
                Reply::Ok(w) => {
                    let (old_owner, old_idx) = (w.at(1), w.at(2));
                    if !old_owner.is_empty() && old_idx.is_empty() {
                        self.index_remove(old_owner, old).await?;
                    }
                    self.follow_up_index(new, "", "", record.owner.as_deref(), record.expires_at)
                        .await
                }
                Reply::Gone => Err(Error::Gone),
                Reply::Conflict => Err(Error::Conflict),
                Reply::Collision => Err(Error::Collision),
                _ => Err(unexpected("rotate")),
            }
        }
        .observed(call)
        .await
    }

    async fn list_owner(&self, owner: &str) -> Result<Vec<OwnerSession>, Error> {
        let call = session_core::store_call!("redis", "list_owner");
        async {
            let now = self.clock.now();
            let idx = self.names.index(owner);
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
        .observed(call)
        .await
    }

    async fn delete_owner(&self, owner: &str, keep: Option<&StoreKey>) -> Result<u64, Error> {
        let call = session_core::store_call!("redis", "delete_owner");
        async {
            let mut cmd = redis::cmd("ZRANGE");
            cmd.arg(self.names.index(owner)).arg(0).arg(-1);
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
        .observed(call)
        .await
    }

    fn owner_tag(&self, owner: &str) -> Option<session_core::ShardTag> {
        self.names.owner_tag(owner)
    }

    async fn watch_end(&self, key: &StoreKey) -> Result<Option<session_core::EndWatch>, Error> {
        Ok(self.notices.watch(key))
    }

    async fn delete_expired(&self) -> Result<u64, Error> {
        // Redis expires keys itself (every write sets the TTL); there is nothing to sweep.
        Ok(0)
    }

    async fn acquire_lock(
        &self,
        key: &StoreKey,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<LockAttempt, Error> {
        self.acquire(key, now, until)
            .observed(session_core::store_call!("redis", "acquire_lock", key = ?key))
            .await
    }

    async fn save_fenced(
        &self,
        key: &StoreKey,
        record: &Arc<Record>,
        expected: u64,
        token: u64,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.save_script(key, record, expected, Some(token), now)
            .observed(session_core::store_call!("redis", "save_fenced", key = ?key))
            .await
    }

    async fn release_lock(&self, key: &StoreKey, token: u64, now: Timestamp) -> Result<(), Error> {
        self.release(key, token, now)
            .observed(session_core::store_call!("redis", "release_lock", key = ?key))
            .await
    }
}

impl RedisStore {
    /// A save: the plain [`scripts::SAVE`], or with `token` the lock holder's
    /// [`scripts::SAVE_FENCED`], whose lock key comes right after the record's.
    pub(crate) async fn save_script(
        &self,
        key: &StoreKey,
        record: &Record,
        expected: u64,
        token: Option<u64>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let owner = record.owner.as_deref().unwrap_or("");
        let mut own = vec![self.names.record(key)];
        let mut tail = Vec::new();
        let (operation, script) = match token {
            Some(t) => {
                own.push(self.names.lock(key));
                tail.extend([arg(key.to_text()), arg(owner), arg(t)]);
                ("save_fenced", &scripts::SAVE_FENCED)
            }
            None => {
                // An anonymous save sends neither member nor owner (the script reads a
                // missing owner as none, and finds the member in the key in the rare
                // save that drops an owner): each would be a Lua string the server makes
                // for nothing.
                if record.owner.is_some() {
                    tail.extend([arg(key.to_text()), arg(owner)]);
                }
                ("save", &scripts::SAVE)
            }
        };
        let own_keys = own.len();
        let keys = self.names.script_keys(own, key, owner);
        let index = keys.get(own_keys).map_or("", String::as_str);
        let args = Self::cas_args(record, expected, index, now, tail)?;
        let reply = self.invoke(operation, script, &keys, &args).await?;
        self.after_save(operation, key, record, now, reply).await
    }

    /// What a save script's reply means, with the owner index updated across slots where
    /// the script could not.
    pub(crate) async fn after_save(
        &self,
        operation: &'static str,
        key: &StoreKey,
        record: &Record,
        now: Timestamp,
        reply: Reply,
    ) -> Result<(), Error> {
        match reply {
            Reply::Ok(w) => {
                self.follow_up_index(
                    key,
                    w.at(1),
                    w.at(2),
                    record.owner.as_deref(),
                    record.expires_at,
                )
                .await
            }
            Reply::Deleted(w) => self.follow_up_index(key, w.at(1), w.at(2), None, now).await,
            Reply::Gone => Err(Error::Gone),
            Reply::Conflict => Err(Error::Conflict),
            Reply::LockLost => Err(Error::LockLost),
            _ => Err(unexpected(operation)),
        }
    }

    /// A rotation on Cluster between two slots (a login out of an anonymous session): mark
    /// the old record as moving (so no save lands on it meanwhile), create the new one,
    /// delete the old; a failed create unmarks it.
    async fn rotate_across_slots(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        expected: u64,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let old_keys = [self.names.record(old), self.names.moving(old)];
        let expected = layout::num_field(expected);
        // The mark names the new key, so that a reader can tell whether the move is done.
        let token = new.to_text();
        let w = self
            .invoke(
                "rotate",
                &scripts::MARK_MOVING,
                &old_keys,
                &[
                    arg(now.as_millis()),
                    Arg::Field(expected),
                    arg(token.as_str()),
                ],
            )
            .await?;
        match w {
            Reply::Ok(_) => {}
            Reply::Gone => return Err(Error::Gone),
            Reply::Conflict => return Err(Error::Conflict),
            _ => return Err(unexpected("rotate")),
        }
        if let Err(e) = self.create(new, record).await {
            // Undo the mark so the session stays usable under its old id.
            let _ = self
                .invoke(
                    "rotate",
                    &scripts::UNMARK_MOVING,
                    &old_keys,
                    &[Arg::Field(expected), arg(token.as_str())],
                )
                .await;
            return Err(e);
        }
        self.delete_inner(old, None).await?;
        // The mark's target is read only while the old record is marked; with the old
        // record gone it would otherwise wait for its TTL.
        let [_, moving] = old_keys;
        let mut cmd = redis::cmd("DEL");
        cmd.arg(moving);
        self.command("rotate", cmd).await.map(drop)
    }
}
