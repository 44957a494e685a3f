//! Sessions outside one request: a live connection (a WebSocket, an event stream) waits in
//! [`Session::ended`] and closes when the session ends elsewhere.
//!
//! The wait combines three sources, so that no single one has to be perfect:
//! - the store's push notices, where it has them ([`SessionStore::watch_end`]): a logout,
//!   a revocation or a rotation on any node wakes the connection at once;
//! - the session's own deadline (idle or absolute expiry), which no notice announces;
//! - a periodic look ([`SessionConfig::with_live_poll`] without notices,
//!   [`SessionConfig::with_live_recheck`] with them).
//!
//! Each wake-up is confirmed by a load, so a stray notice never closes a live session,
//! and a failing store never does either: the connection keeps waiting (an outage is not a
//! logout) and looks again after the period.
//!
//! [`SessionStore::watch_end`]: crate::SessionStore::watch_end
//! [`SessionConfig::with_live_poll`]: crate::SessionConfig::with_live_poll
//! [`SessionConfig::with_live_recheck`]: crate::SessionConfig::with_live_recheck

use std::time::Duration;

use super::{Loaded, Session};
use crate::clock::Timestamp;
use crate::ending::EndWatch;
use crate::id::StoreKey;
use crate::record::Record;

/// Why [`Session::ended`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// The record is gone before its deadline: a logout, "log out everywhere", a
    /// revocation, a rotation (a login in another tab), or there never was a session.
    Removed,
    /// The session ran out (idle or absolute timeout).
    Expired,
}

/// What one look at the record found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Look {
    /// Live until then (unless used again).
    LiveUntil(Timestamp),
    /// Over.
    Over(Ended),
    /// The store did not answer: look again later.
    Unknown,
}

/// The verdict on one load, as a plain function. `last_end` is the deadline seen at the
/// previous look: a record missing after it passed expired, one missing before was removed.
pub(crate) fn look(
    loaded: Result<Option<&Record>, ()>,
    config: &crate::SessionConfig,
    now: Timestamp,
    last_end: Option<Timestamp>,
) -> Look {
    match loaded {
        Err(()) => Look::Unknown,
        Ok(Some(r)) if r.is_moved_mark() => Look::Over(Ended::Removed),
        Ok(Some(r)) if config.has_ended(r, now) => Look::Over(Ended::Expired),
        Ok(Some(r)) => Look::LiveUntil(config.ends_at(r)),
        Ok(None) if last_end.is_some_and(|end| now >= end) => Look::Over(Ended::Expired),
        Ok(None) => Look::Over(Ended::Removed),
    }
}

/// How long to wait before the next look: the period, or less when the deadline comes
/// first (plus a little, so the look after it finds the record over).
pub(crate) fn next_wait(period: Duration, now: Timestamp, end: Option<Timestamp>) -> Duration {
    match end {
        Some(end) => period.min(now.until(end) + Duration::from_millis(5)),
        None => period,
    }
}

impl Session {
    /// Waits until this session ends elsewhere, and says why; for a live connection that
    /// must close then. Returns at once when the handle has no session (none was
    /// presented, or it already ended). Afterwards the handle is ended: reads find
    /// nothing and saves fail with [`Error::Gone`](crate::Error::Gone).
    ///
    /// Cancel-safe: drop the future to stop waiting (the connection closed first).
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) {
    /// // In a socket task: serve messages until the session ends.
    /// tokio::select! {
    ///     why = session.ended() => println!("closing: {why:?}"),
    ///     _ = std::future::pending::<()>() => {} // the socket's own work
    /// }
    /// # }
    /// ```
    pub async fn ended(&self) -> Ended {
        let config = self.inner.config.clone();
        let mut watching: Option<(StoreKey, Option<EndWatch>)> = None;
        let mut last_end = None;
        loop {
            let Some((key, known_end)) = self.live_key().await else {
                return Ended::Removed;
            };
            if watching.as_ref().is_none_or(|(k, _)| *k != key) {
                // Registered before the look below: an end from here on wakes the watch,
                // and one before it is what the look finds.
                let watch = match self.store().watch_end(&key).await {
                    Ok(w) => w,
                    Err(error) => {
                        tracing::warn!(%error, "no session notices; polling instead");
                        None
                    }
                };
                watching = Some((key, watch));
                // What the handle loaded dates a record found missing at the first look.
                last_end = known_end.map(|r| config.ends_at(&r));
            }
            // The time first, then the load: a record the store still answers with after
            // `now` was live at `now` as far as the store knows, so only our own (maybe
            // stricter) limits can end it, and they are judged at `now`.
            let now = config.clock().now();
            let loaded = self.store().load_shared(&key).await;
            let verdict = look(
                loaded.as_ref().map(|r| r.as_deref()).map_err(drop),
                &config,
                now,
                last_end,
            );
            match verdict {
                Look::Over(why) => {
                    let mut io = self.io().await;
                    if io.id.as_ref().is_some_and(|id| id.store_key() == key) {
                        self.mark_ended(&mut io, false);
                    }
                    return why;
                }
                Look::LiveUntil(end) => last_end = Some(end),
                Look::Unknown => {}
            }
            let watch = watching.as_mut().and_then(|(_, w)| w.as_mut());
            let period = if watch.is_some() {
                config.live_recheck()
            } else {
                config.live_poll()
            };
            let wait = next_wait(period, now, last_end);
            match watch {
                Some(w) => {
                    tokio::select! {
                        () = w.changed() => {}
                        () = tokio::time::sleep(wait) => {}
                    }
                }
                None => tokio::time::sleep(wait).await,
            }
        }
    }

    /// The store key of the session this handle is on, with the record it loaded if it
    /// did, unless it has ended.
    async fn live_key(&self) -> Option<(StoreKey, Option<std::sync::Arc<Record>>)> {
        let io = self.io().await;
        let loaded = match &io.loaded {
            Loaded::Ended | Loaded::Gone | Loaded::Missing => return None,
            Loaded::NotYet => None,
            Loaded::Present(r) => Some(r.clone()),
        };
        io.id.as_ref().map(|id| (id.store_key(), loaded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SessionConfig;

    const MIN: Duration = Duration::from_secs(60);

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    /// Every way a look can end: moved away, run out, missing before or after its deadline,
    /// and a store that did not answer.
    #[test]
    fn verdicts() {
        let config = SessionConfig::default().with_idle_timeout(30 * MIN);
        let t0 = at(1_000_000);
        let live = Record::new(t0, t0.plus(30 * MIN));
        assert_eq!(
            look(Ok(Some(&live)), &config, t0, None),
            Look::LiveUntil(t0.plus(30 * MIN))
        );
        let late = t0.plus(30 * MIN);
        assert_eq!(
            look(Ok(Some(&live)), &config, late, None),
            Look::Over(Ended::Expired)
        );
        let mark = Record::moved_mark(t0, t0.plus(MIN));
        assert_eq!(
            look(Ok(Some(&mark)), &config, t0, None),
            Look::Over(Ended::Removed)
        );
        let end = Some(t0.plus(MIN));
        assert_eq!(
            look(Ok(None), &config, t0, end),
            Look::Over(Ended::Removed),
            "missing before its deadline: removed"
        );
        assert_eq!(
            look(Ok(None), &config, t0.plus(MIN), end),
            Look::Over(Ended::Expired),
            "missing at its deadline: expired"
        );
        assert_eq!(
            look(Ok(None), &config, t0, None),
            Look::Over(Ended::Removed)
        );
        assert_eq!(look(Err(()), &config, t0, end), Look::Unknown);
    }

    /// The wait is the period unless the deadline comes first.
    #[test]
    fn waits() {
        let t0 = at(1_000_000);
        let p = Duration::from_secs(1);
        assert_eq!(next_wait(p, t0, None), p);
        assert_eq!(next_wait(p, t0, Some(t0.plus(MIN))), p);
        assert_eq!(
            next_wait(p, t0, Some(t0.plus(Duration::from_millis(100)))),
            Duration::from_millis(105)
        );
        assert_eq!(
            next_wait(p, t0, Some(at(0))),
            Duration::from_millis(5),
            "a passed deadline: look again almost at once"
        );
    }
}
