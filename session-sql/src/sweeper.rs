//! The background sweeper for stores without native expiry.
//!
//! It calls [`SessionStore::delete_expired`] (bounded batches in the SQL stores) every
//! period, with ±25% jitter so that many app instances started together do not sweep in
//! step. A failed sweep is logged and retried after a backoff (doubling, capped at ten
//! periods); it never ends the loop, where a peer's sweeper exits on its first error.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use session_core::SessionStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Rows deleted.
    pub rows: u64,
    /// Statements (batches) run.
    pub batches: u64,
}

/// A running sweeper; dropping it stops the task too.
#[derive(Debug)]
#[must_use = "dropping the handle stops the sweeper"]
pub struct Sweeper {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Starts sweeping `store` every `period` on the current tokio runtime.
pub fn spawn_sweeper(store: Arc<dyn SessionStore>, period: Duration) -> Sweeper {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut backoff = period;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(jitter(backoff)) => {}
                _ = stopped.changed() => return,
            }
            match store.delete_expired().await {
                Ok(n) => {
                    tracing::debug!(rows = n, "swept expired sessions");
                    backoff = period;
                }
                Err(e) => {
                    backoff = (backoff * 2).min(period * 10);
                    tracing::warn!(error = %e, retry_in = ?backoff, "session sweep failed");
                }
            }
        }
    });
    Sweeper {
        stop,
        task: Some(task),
    }
}

impl Sweeper {
    /// Stops the sweeper and waits for a sweep in progress to finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// `d` scaled by a random factor in [0.75, 1.25).
fn jitter(d: Duration) -> Duration {
    let r = RandomState::new().hash_one(0u8) % 1000;
    d.mul_f64(0.75 + r as f64 / 2000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jitter stays within ±25%.
    #[test]
    fn jitter_bounds() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(100));
            assert!(
                j >= Duration::from_secs(75) && j < Duration::from_secs(125),
                "{j:?}"
            );
        }
    }
}
