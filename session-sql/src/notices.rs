//! End notices for live connections, where the database can push them.
//!
//! PostgreSQL can: migration 3 adds a trigger that, for every row deleted (a logout, "log
//! out everywhere", a sweep) or whose key is updated (a rotation), runs
//! `pg_notify('<table>_ended', <hex of the old key>)`, delivered when the transaction
//! commits. The trigger catches every writer of the table, including another version of
//! this crate or an operator's `DELETE`. One listener task per store holds one pool
//! connection in `LISTEN` and wakes the watches of the keys it hears of.
//!
//! MySQL and SQLite cannot push, so their stores answer no watch and live connections
//! poll (`SessionConfig::with_live_poll`).
//!
//! `NOTIFY` is at-most-once across a lost connection: after reconnecting, the listener
//! wakes every watch to look again.

/// The channel a table's trigger notifies on.
pub(crate) fn channel(table: &str) -> String {
    format!("{table}_ended")
}

/// The store key a notice's payload (lowercase hex of the key's bytes) names; `None` for
/// anything else, which is ignored. (Only the PostgreSQL listener reads notices.)
#[cfg(any(feature = "postgres", test))]
pub(crate) fn notice_key(payload: &str) -> Option<session_core::StoreKey> {
    let hex = payload.as_bytes();
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes: Option<Vec<u8>> = hex
        .chunks_exact(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect();
    session_core::StoreKey::from_bytes(&bytes?).ok()
}

#[cfg(feature = "postgres")]
pub(crate) mod postgres {
    //! The PostgreSQL listener.

    use std::time::Duration;

    use session_core::EndWatchers;
    use sqlx::postgres::PgListener;

    use super::notice_key;

    /// Starts listening on `channel` with a connection of `pool`.
    pub(crate) fn start(
        pool: sqlx::PgPool,
        channel: String,
        watchers: EndWatchers,
    ) -> Option<tokio::task::JoinHandle<()>> {
        Some(tokio::spawn(listen(pool, channel, watchers)))
    }

    /// Listen, relay, and on any failure wake everyone, wait (doubling up to 2 s) and
    /// listen again.
    async fn listen(pool: sqlx::PgPool, channel: String, watchers: EndWatchers) {
        let mut backoff = Duration::from_millis(50);
        loop {
            match PgListener::connect_with(&pool).await {
                Ok(mut listener) => match listener.listen(&channel).await {
                    Ok(()) => {
                        backoff = Duration::from_millis(50);
                        watchers.missed();
                        loop {
                            match listener.try_recv().await {
                                Ok(Some(n)) => {
                                    if let Some(key) = notice_key(n.payload()) {
                                        watchers.ended(&key);
                                    }
                                }
                                // The connection was lost and made again (LISTEN included):
                                // notices in between are gone.
                                Ok(None) => watchers.missed(),
                                Err(error) => {
                                    tracing::warn!(%error, "session end notices: listener failed");
                                    break;
                                }
                            }
                        }
                    }
                    Err(error) => tracing::warn!(%error, "session end notices: LISTEN failed"),
                },
                Err(error) => tracing::warn!(%error, "session end notices: no connection"),
            }
            watchers.missed();
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use session_core::SessionId;

    /// A payload is the hex the trigger writes of a key's bytes; anything else is ignored.
    #[test]
    fn notice_payloads() {
        let key = SessionId::generate().unwrap().store_key();
        let hex: String = key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(notice_key(&hex), Some(key));
        for junk in [
            "",
            "0",
            "zz",
            &hex.to_uppercase(),
            &hex[..hex.len() - 2],
            "é",
        ] {
            assert_eq!(notice_key(junk), None, "{junk:?}");
        }
    }
}
