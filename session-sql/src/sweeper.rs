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
                    session_core::metric::sweep(Some(n));
                    tracing::debug!(rows = n, "swept expired sessions");
                    backoff = period;
                }
                Err(e) => {
                    session_core::metric::sweep(None);
                    backoff = (backoff * 2).min(period * 10);
                    tracing::warn!(error = %session_core::observe::error_text(&e), retry_in = ?backoff, "session sweep failed");
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
    use session_core::{Error, OwnerSession, Record, StoreKey, Timestamp};
    use std::sync::atomic::{AtomicU64, Ordering};

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

    /// A store that only sweeps: it counts sweeps begun and finished, fails the first
    /// `fail_first`, and takes `takes` for each.
    #[derive(Debug, Default)]
    struct Sweeps {
        begun: AtomicU64,
        finished: AtomicU64,
        fail_first: u64,
        takes: Duration,
    }

    impl Sweeps {
        fn begun(&self) -> u64 {
            self.begun.load(Ordering::SeqCst)
        }
    }

    #[session_core::async_trait]
    impl SessionStore for Sweeps {
        async fn create(&self, _: &StoreKey, _: &Record) -> Result<(), Error> {
            Err(Error::Gone)
        }
        async fn load(&self, _: &StoreKey) -> Result<Option<Record>, Error> {
            Ok(None)
        }
        async fn save(&self, _: &StoreKey, _: &Record, _: u64) -> Result<(), Error> {
            Err(Error::Gone)
        }
        async fn touch(&self, _: &StoreKey, _: Timestamp, _: Timestamp) -> Result<(), Error> {
            Err(Error::Gone)
        }
        async fn delete(&self, _: &StoreKey) -> Result<(), Error> {
            Ok(())
        }
        async fn rotate(
            &self,
            _: &StoreKey,
            _: &StoreKey,
            _: &Record,
            _: u64,
        ) -> Result<(), Error> {
            Err(Error::Gone)
        }
        async fn list_owner(&self, _: &str) -> Result<Vec<OwnerSession>, Error> {
            Ok(Vec::new())
        }
        async fn delete_owner(&self, _: &str, _: Option<&StoreKey>) -> Result<u64, Error> {
            Ok(0)
        }
        async fn delete_expired(&self) -> Result<u64, Error> {
            let n = self.begun.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(self.takes).await;
            self.finished.fetch_add(1, Ordering::SeqCst);
            if n <= self.fail_first {
                Err(Error::Timeout {
                    operation: "delete_expired",
                })
            } else {
                Ok(0)
            }
        }
    }

    const PERIOD: Duration = Duration::from_secs(10);

    /// A sweeper on `store`, returned once its first sweep has begun.
    async fn in_first_sweep(store: &Arc<Sweeps>) -> Sweeper {
        let sweeper = spawn_sweeper(store.clone(), PERIOD);
        while store.begun() == 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        sweeper
    }

    /// On (paused) time: a healthy store is swept once per period, give or take the
    /// jitter: 1000 s of 10 s periods is 80 to 134 sweeps.
    #[tokio::test(start_paused = true)]
    async fn sweeps_once_per_period() {
        let store = Arc::new(Sweeps::default());
        let sweeper = spawn_sweeper(store.clone(), PERIOD);
        tokio::time::sleep(Duration::from_secs(1000)).await;
        let n = store.begun();
        assert!((80..=134).contains(&n), "{n} sweeps in 100 periods");
        sweeper.shutdown().await;
    }

    /// A failing store is retried after a doubling backoff capped at ten periods: in 1000 s
    /// the sleeps are about 10, 20, 40, 80 and then 100 s, so 8 to 16 sweeps, never the
    /// hundred a fixed period would give. A success resets the backoff to one period.
    #[tokio::test(start_paused = true)]
    async fn failures_back_off_and_success_resets() {
        let failing = Arc::new(Sweeps {
            fail_first: u64::MAX,
            ..Sweeps::default()
        });
        let sweeper = spawn_sweeper(failing.clone(), PERIOD);
        tokio::time::sleep(Duration::from_secs(1000)).await;
        let n = failing.begun();
        assert!(
            (6..=16).contains(&n),
            "{n} sweeps of a failing store in 1000 s"
        );
        sweeper.shutdown().await;

        let recovers = Arc::new(Sweeps {
            fail_first: 3,
            ..Sweeps::default()
        });
        let sweeper = spawn_sweeper(recovers.clone(), PERIOD);
        // Three failures: sleeps of about 10, 20, 40 and 80 s, so the fourth sweep (the
        // first success) begins by 190 s; from then on one per period.
        tokio::time::sleep(Duration::from_secs(190)).await;
        let at = recovers.begun();
        assert!(at >= 4, "{at} sweeps by 190 s");
        tokio::time::sleep(Duration::from_secs(500)).await;
        let later = recovers.begun() - at;
        assert!(
            (40..=67).contains(&later),
            "{later} sweeps in 50 periods after recovery"
        );
        sweeper.shutdown().await;
    }

    /// `shutdown` waits for the sweep in progress and then no sweep begins.
    #[tokio::test(start_paused = true)]
    async fn shutdown_lets_the_sweep_in_progress_finish() {
        let store = Arc::new(Sweeps {
            takes: Duration::from_secs(30),
            ..Sweeps::default()
        });
        let sweeper = in_first_sweep(&store).await;
        sweeper.shutdown().await;
        assert_eq!(
            store.finished.load(Ordering::SeqCst),
            1,
            "the sweep was cut short"
        );
        tokio::time::sleep(Duration::from_secs(1000)).await;
        assert_eq!(store.begun(), 1, "a sweep began after shutdown");
    }

    /// Dropping the handle stops the task at once: no sweep begins afterwards, and one in
    /// progress is cut short (where `shutdown` would wait for it).
    #[tokio::test(start_paused = true)]
    async fn dropping_the_handle_stops_sweeping() {
        let store = Arc::new(Sweeps::default());
        let sweeper = spawn_sweeper(store.clone(), PERIOD);
        tokio::time::sleep(Duration::from_secs(100)).await;
        drop(sweeper);
        let at = store.begun();
        assert!(at > 0);
        tokio::time::sleep(Duration::from_secs(1000)).await;
        assert_eq!(
            store.begun(),
            at,
            "sweeps went on after the handle was dropped"
        );

        let slow = Arc::new(Sweeps {
            takes: Duration::from_secs(30),
            ..Sweeps::default()
        });
        let sweeper = in_first_sweep(&slow).await;
        drop(sweeper);
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert_eq!(
            slow.finished.load(Ordering::SeqCst),
            0,
            "the sweep in progress went on"
        );
    }
}
