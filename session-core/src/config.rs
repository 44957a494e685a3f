//! How a session handle behaves: expiry windows, the touch throttle, retry and size limits.
//!
//! One [`SessionConfig`] is shared (behind an `Arc`) by every handle of an application.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{SharedClock, SystemClock, Timestamp};
use crate::error::Error;
use crate::record::Record;

/// Settings shared by all handles.
///
/// Defaults follow NIST SP 800-63B-4 for AAL2: 30 minutes idle, 12 hours absolute.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use session_core::SessionConfig;
/// let config = SessionConfig::default()
///     .with_idle_timeout(Duration::from_secs(15 * 60))
///     .with_absolute_timeout(Some(Duration::from_secs(8 * 3600)));
/// assert_eq!(config.idle_timeout(), Duration::from_secs(900));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SessionConfig {
    clock: SharedClock,
    idle_timeout: Duration,
    remembered_idle_timeout: Option<Duration>,
    absolute_timeout: Option<Duration>,
    touch_after: Option<Duration>,
    max_save_attempts: u32,
    max_data_bytes: usize,
    lock_lease: Duration,
    lock_wait: Duration,
    rotation_grace: Duration,
    live_poll: Duration,
    live_recheck: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            idle_timeout: Duration::from_secs(30 * 60),
            remembered_idle_timeout: None,
            absolute_timeout: Some(Duration::from_secs(12 * 3600)),
            touch_after: None,
            max_save_attempts: 128,
            max_data_bytes: 4 * 1024 * 1024,
            lock_lease: Duration::from_secs(10),
            lock_wait: Duration::from_secs(5),
            rotation_grace: Duration::from_secs(60),
            live_poll: Duration::from_secs(1),
            live_recheck: Duration::from_secs(60),
        }
    }
}

impl SessionConfig {
    /// Reads time from `clock` (tests pass a [`crate::ManualClock`]).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// A session unused for this long ends.
    pub fn with_idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = d;
        self
    }

    /// How long a remembered session (one whose user chose "remember me",
    /// [`Session::set_remember`](crate::Session::set_remember)) may sit unused (default:
    /// the idle timeout). The absolute timeout still caps it, so a remember-me of 30 days
    /// needs an absolute timeout of at least as much.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// let day = Duration::from_secs(24 * 3600);
    /// let config = session_core::SessionConfig::default()
    ///     .with_remembered_idle_timeout(30 * day)
    ///     .with_absolute_timeout(Some(30 * day));
    /// assert_eq!(config.idle_timeout_for(true), 30 * day);
    /// assert_eq!(config.idle_timeout_for(false), Duration::from_secs(30 * 60));
    /// ```
    pub fn with_remembered_idle_timeout(mut self, d: Duration) -> Self {
        self.remembered_idle_timeout = Some(d);
        self
    }

    /// A session ends this long after creation however active it is; `None` for never.
    pub fn with_absolute_timeout(mut self, d: Option<Duration>) -> Self {
        self.absolute_timeout = d;
        self
    }

    /// A request that changes nothing writes (a touch) only when the session was last seen
    /// at least this long ago. Defaults to a quarter of the idle timeout, so a busy session
    /// is written at most four times per idle window instead of on every request.
    pub fn with_touch_after(mut self, d: Duration) -> Self {
        self.touch_after = Some(d);
        self
    }

    /// How many compare-and-swap attempts a save makes before giving up (at least 1).
    pub fn with_max_save_attempts(mut self, n: u32) -> Self {
        self.max_save_attempts = n.max(1);
        self
    }

    /// The largest total size of a session's data, in bytes; larger saves fail with
    /// [`Error::TooLarge`] and change nothing.
    pub fn with_max_data_bytes(mut self, n: usize) -> Self {
        self.max_data_bytes = n;
        self
    }

    /// How long a [`crate::Session::lock`] holds the session's lock unless released first: a
    /// holder that dies frees the lock after this long, and a holder still running after it
    /// can no longer write ([`Error::LockLost`]). At least 1 ms.
    pub fn with_lock_lease(mut self, d: Duration) -> Self {
        self.lock_lease = d.max(Duration::from_millis(1));
        self
    }

    /// How long [`crate::Session::lock`] waits for another holder before failing with
    /// [`Error::LockTimeout`].
    pub fn with_lock_wait(mut self, d: Duration) -> Self {
        self.lock_wait = d;
        self
    }

    /// How long the id a rotation (a login) left behind stays marked as moved. A request
    /// still carrying it (one that overlapped the login in another tab) then finds the
    /// session ended elsewhere: it reads nothing, its writes fail with [`Error::Gone`], and
    /// it starts no new session whose cookie would replace the login's. After the grace the
    /// old id is merely unknown. `Duration::ZERO` leaves no mark. Default 60 s.
    pub fn with_rotation_grace(mut self, d: Duration) -> Self {
        self.rotation_grace = d;
        self
    }

    /// How often a live connection waiting in [`crate::Session::ended`] loads its record
    /// when the store cannot push notices (memory, SQLite, MySQL): the bound on how late
    /// such a connection learns of a logout elsewhere, at one primary-key read per
    /// connection per period. At least 10 ms. Default 1 s.
    pub fn with_live_poll(mut self, d: Duration) -> Self {
        self.live_poll = d.max(Duration::from_millis(10));
        self
    }

    /// How often a live connection looks at its record even though the store pushes
    /// notices (Redis, PostgreSQL): the safety net for a notice lost in a way the listener
    /// could not see. At least 10 ms. Default 60 s.
    pub fn with_live_recheck(mut self, d: Duration) -> Self {
        self.live_recheck = d.max(Duration::from_millis(10));
        self
    }

    /// See [`with_live_poll`](Self::with_live_poll).
    pub fn live_poll(&self) -> Duration {
        self.live_poll
    }

    /// See [`with_live_recheck`](Self::with_live_recheck).
    pub fn live_recheck(&self) -> Duration {
        self.live_recheck
    }

    /// When `record` ends under this configuration unless it is used again: the earliest
    /// of its stored expiry, its idle deadline and its absolute deadlines.
    pub fn ends_at(&self, record: &Record) -> Timestamp {
        let idle = record
            .last_seen
            .plus(self.idle_timeout_for(record.remember));
        [
            Some(idle),
            self.absolute_deadline(record.created_at),
            record.absolute_deadline,
        ]
        .into_iter()
        .flatten()
        .fold(record.expires_at, Timestamp::min)
    }

    /// How long a rotated-away id stays marked as moved.
    pub fn rotation_grace(&self) -> Duration {
        self.rotation_grace
    }

    /// The lock's lease.
    pub fn lock_lease(&self) -> Duration {
        self.lock_lease
    }

    /// How long a lock waits.
    pub fn lock_wait(&self) -> Duration {
        self.lock_wait
    }

    /// Checks that the settings can work together.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] for a zero idle timeout, a touch threshold not shorter than
    /// the idle timeout, or an absolute timeout shorter than the idle one.
    pub fn validate(&self) -> Result<(), Error> {
        if self.idle_timeout.is_zero() {
            return Err(Error::Misconfigured {
                problem: "idle timeout must be longer than zero",
            });
        }
        if self.touch_after() >= self.idle_timeout {
            return Err(Error::Misconfigured {
                problem: "touch threshold must be shorter than the idle timeout",
            });
        }
        if self
            .remembered_idle_timeout
            .is_some_and(|r| r < self.idle_timeout)
        {
            return Err(Error::Misconfigured {
                problem: "remembered idle timeout must not be shorter than the idle timeout",
            });
        }
        if let Some(a) = self.absolute_timeout {
            if a < self.idle_timeout {
                return Err(Error::Misconfigured {
                    problem: "absolute timeout must not be shorter than the idle timeout",
                });
            }
        }
        Ok(())
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// The absolute timeout.
    pub fn absolute_timeout(&self) -> Option<Duration> {
        self.absolute_timeout
    }

    /// The touch threshold.
    pub fn touch_after(&self) -> Duration {
        self.touch_after.unwrap_or(self.idle_timeout / 4)
    }

    /// The maximum number of save attempts.
    pub fn max_save_attempts(&self) -> u32 {
        self.max_save_attempts
    }

    /// The data size limit.
    pub fn max_data_bytes(&self) -> usize {
        self.max_data_bytes
    }

    /// The absolute deadline of a session created at `created_at`.
    pub fn absolute_deadline(&self, created_at: Timestamp) -> Option<Timestamp> {
        self.absolute_timeout.map(|a| created_at.plus(a))
    }

    /// The idle timeout of a session that is remembered (`true`) or not.
    pub fn idle_timeout_for(&self, remember: bool) -> Duration {
        match self.remembered_idle_timeout {
            Some(d) if remember => d,
            _ => self.idle_timeout,
        }
    }

    /// When a session used at `now` expires: the idle deadline (the remembered one if
    /// `remember`), capped by the absolute one.
    pub fn expires_at(
        &self,
        now: Timestamp,
        absolute_deadline: Option<Timestamp>,
        remember: bool,
    ) -> Timestamp {
        let idle = now.plus(self.idle_timeout_for(remember));
        match absolute_deadline {
            Some(a) if a < idle => a,
            _ => idle,
        }
    }

    /// True when `record` has ended under this configuration at `now`, whatever its stored
    /// expiry says (the configuration may have become stricter since it was written).
    pub fn has_ended(&self, record: &Record, now: Timestamp) -> bool {
        now >= self.ends_at(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    /// A remembered session gets the remembered idle timeout, capped by the absolute
    /// deadline, and ends by it; others keep the plain one.
    #[test]
    fn remembered_sessions_have_their_own_idle_timeout() {
        let config = SessionConfig::default()
            .with_idle_timeout(30 * MINUTE)
            .with_remembered_idle_timeout(600 * MINUTE)
            .with_absolute_timeout(Some(480 * MINUTE));
        assert!(config.validate().is_ok());
        let now = Timestamp::from_millis(1_000_000);
        let deadline = config.absolute_deadline(now);
        assert_eq!(
            config.expires_at(now, deadline, false),
            now.plus(30 * MINUTE)
        );
        assert_eq!(
            config.expires_at(now, deadline, true),
            now.plus(480 * MINUTE),
            "capped by the absolute deadline"
        );
        assert_eq!(config.expires_at(now, None, true), now.plus(600 * MINUTE));

        let mut r = Record::new(now, now.plus(480 * MINUTE));
        let later = now.plus(60 * MINUTE);
        assert!(config.has_ended(&r, later), "idle for an hour");
        r.remember = true;
        assert!(!config.has_ended(&r, later), "remembered: not idle yet");
        assert!(config.has_ended(&r, now.plus(480 * MINUTE)));

        // Without the setting, remembering changes nothing.
        let plain = SessionConfig::default();
        assert_eq!(plain.idle_timeout_for(true), plain.idle_timeout_for(false));
    }

    /// A remembered idle timeout shorter than the plain one is refused.
    #[test]
    fn a_shorter_remembered_idle_timeout_is_refused() {
        let config = SessionConfig::default()
            .with_idle_timeout(30 * MINUTE)
            .with_remembered_idle_timeout(29 * MINUTE);
        assert!(matches!(
            config.validate(),
            Err(Error::Misconfigured { .. })
        ));
        let equal = SessionConfig::default()
            .with_idle_timeout(30 * MINUTE)
            .with_remembered_idle_timeout(30 * MINUTE);
        assert!(equal.validate().is_ok());
    }
}
