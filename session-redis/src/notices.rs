//! End notices: how a live connection on one node learns that its session was ended on
//! another. Every delete and rotation publishes the store key it ended on the store's
//! channel (`KeyNames::channel`): the scripts in the same atomic step, a plain delete on a
//! standalone server right after its `GETDEL`, in the same write; one listener task per
//! store subscribes to that channel and wakes the watches registered for the key.
//!
//! Classic pub/sub, not keyspace notifications: those need `notify-keyspace-events` set on
//! the server (managed services often forbid it) and say nothing of which store a key
//! belongs to. On Cluster a classic `PUBLISH` reaches every node, so the listener
//! subscribes on any one of them, moving to the next when its node goes away.
//!
//! Pub/sub is at-most-once: notices sent while the listener reconnects are lost. So each
//! time it (re)subscribes, it wakes every watch to look again (`EndWatchers::missed`), and
//! `Session::ended` also looks periodically.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use session_core::{EndNotices, EndWatch, EndWatchers, StoreKey};

use crate::connection::{Connector, bounded};

/// The notices of one store (shared by its clones), and where its listener subscribes.
#[derive(Debug)]
pub(crate) struct Notices {
    notices: EndNotices,
    /// Where the listener may subscribe: the server's URL, or every known Cluster node's.
    urls: Arc<[String]>,
    connector: Connector,
    channel: String,
    connect_timeout: Duration,
}

impl Notices {
    pub(crate) fn new(
        urls: Vec<String>,
        connector: Connector,
        channel: String,
        connect_timeout: Duration,
    ) -> Self {
        Self {
            notices: EndNotices::default(),
            urls: urls.into(),
            connector,
            channel,
            connect_timeout,
        }
    }

    /// A watch on `key`, starting the listener if this is the first.
    pub(crate) fn watch(&self, key: &StoreKey) -> Option<EndWatch> {
        self.notices.watch(key, |watchers| {
            Some(tokio::spawn(listen(
                self.urls.clone(),
                self.connector.clone(),
                self.channel.clone(),
                self.connect_timeout,
                watchers,
            )))
        })
    }
}

/// The listener: subscribe, relay notices, and on any failure wake everyone, wait a little
/// (doubling up to 2 s) and subscribe again, on the next node.
async fn listen(
    urls: Arc<[String]>,
    connector: Connector,
    channel: String,
    timeout: Duration,
    watchers: EndWatchers,
) {
    let mut backoff = Duration::from_millis(50);
    for url in urls.iter().cycle() {
        match subscribe(&connector, url, &channel, timeout).await {
            Ok(pubsub) => {
                backoff = Duration::from_millis(50);
                // Subscribed: anything ended before now is what the watchers' next look
                // finds, so tell them to look.
                watchers.missed();
                let mut messages = pubsub.into_on_message();
                while let Some(msg) = messages.next().await {
                    if let Some(key) = notice_key(msg.get_payload_bytes()) {
                        watchers.ended(&key);
                    }
                }
                tracing::warn!("session end notices: subscription lost; resubscribing");
            }
            Err(error) => {
                tracing::warn!(
                    error = %session_core::observe::error_text(&error),
                    "session end notices: cannot subscribe; retrying"
                );
            }
        }
        watchers.missed();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// A subscribed connection to `url`, within `timeout`.
async fn subscribe(
    connector: &Connector,
    url: &str,
    channel: &str,
    timeout: Duration,
) -> Result<redis::aio::PubSub, session_core::Error> {
    let client = connector.client(url)?;
    let mut pubsub = bounded(timeout, "subscribe", client.get_async_pubsub()).await?;
    bounded(timeout, "subscribe", pubsub.subscribe(channel)).await?;
    Ok(pubsub)
}

/// The store key a notice names; `None` for a payload that is not one (ignored).
pub(crate) fn notice_key(payload: &[u8]) -> Option<StoreKey> {
    std::str::from_utf8(payload)
        .ok()
        .and_then(|t| StoreKey::parse_text(t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use session_core::SessionId;

    /// A notice carries a store key's text; anything else is ignored, never a panic.
    #[test]
    fn notice_payloads() {
        let key = SessionId::generate().unwrap().store_key();
        assert_eq!(notice_key(key.to_text().as_bytes()), Some(key));
        for junk in [&b""[..], b"x", &[0xff, 0xfe], b"00:zz"] {
            assert_eq!(notice_key(junk), None, "{junk:?}");
        }
    }
}
