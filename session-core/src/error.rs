//! The one error type of the core, shared by every store.
//!
//! Callers branch on [`Error::kind`], never on message text: a web layer turns
//! [`ErrorKind::Unavailable`] into a 503 and a retry, [`ErrorKind::Conflict`] into a replay,
//! [`ErrorKind::Gone`] into "this session has ended".

use std::fmt;

/// What went wrong, at the level a caller acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The backend could not be reached or failed; the same call may work later.
    Unavailable,
    /// A compare-and-swap lost: the record changed since it was loaded.
    Conflict,
    /// The session's lock is held by another request, or this one's lease ran out.
    Locked,
    /// The record was deleted or has expired; it will not come back.
    Gone,
    /// A create found the key taken.
    Collision,
    /// Stored bytes could not be decoded, or a value did not (de)serialize.
    BadData,
    /// The caller's input was not acceptable (a malformed id, a value over the size limit).
    BadRequest,
    /// The store or the handle is configured in a way that cannot work.
    Misconfigured,
}

/// Errors from stores and from the session handle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The backend failed or could not be reached.
    #[error("session store unavailable during {operation}")]
    Unavailable {
        /// The store operation that failed (`load`, `save`, …).
        operation: &'static str,
        /// The backend's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store took longer than its configured timeout.
    #[error("session store timed out during {operation}")]
    Timeout {
        /// The store operation that timed out.
        operation: &'static str,
    },
    /// The stored version differs from the one the caller loaded.
    #[error("session changed since it was loaded (version conflict)")]
    Conflict,
    /// The session was deleted or expired.
    #[error("session no longer exists")]
    Gone,
    /// A create found a record under the same key.
    #[error("a session with this key already exists")]
    Collision,
    /// Stored bytes are not a record we can read.
    #[error("stored session record is unreadable: {reason}")]
    Decode {
        /// What was wrong with the bytes (never the bytes themselves).
        reason: DecodeProblem,
    },
    /// A record could not be encoded.
    #[error("session record could not be encoded")]
    Encode {
        /// The encoder's error.
        #[source]
        source: postcard::Error,
    },
    /// A value could not be turned to or from its stored form.
    #[error("session value {key:?} could not be (de)serialized")]
    Value {
        /// The data key (a name chosen by the application, not a secret).
        key: String,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// A value or record is larger than the configured limit.
    #[error("session data of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size that was attempted.
        size: usize,
        /// Configured limit.
        limit: usize,
    },
    /// A session id that is not one of ours.
    #[error("malformed session id")]
    MalformedId,
    /// A store key that is not one of ours.
    #[error("malformed store key")]
    MalformedKey,
    /// The random source failed.
    #[error("operating system random source failed")]
    Rng {
        /// The error from the OS.
        #[source]
        source: getrandom::Error,
    },
    /// A setting that cannot work.
    #[error("misconfigured: {problem}")]
    Misconfigured {
        /// What is wrong.
        problem: &'static str,
    },
    /// A setting (a URL, a prefix, a table name) was rejected by the backend or its client.
    #[error("invalid setting {setting}")]
    InvalidSetting {
        /// Which setting.
        setting: &'static str,
        /// Why it was rejected.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// [`crate::Session::lock`] waited its configured time while another request held the
    /// session's lock.
    #[error("session is locked by another request (waited {waited_ms} ms)")]
    LockTimeout {
        /// How long the call waited.
        waited_ms: u64,
    },
    /// This handle held the session's lock, but its lease ran out (and another request may
    /// have taken it): the write was refused.
    #[error("the session lock's lease ran out before the write")]
    LockLost,
    /// A compare-and-swap kept losing after the configured number of retries.
    #[error("gave up saving after {attempts} conflicting attempts")]
    TooManyConflicts {
        /// How many attempts were made.
        attempts: u32,
    },
}

/// Why stored bytes were rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeProblem {
    /// Zero bytes.
    Empty,
    /// The first byte names a format this build does not know.
    UnknownVersion(u8),
    /// The body ended early or did not match the format.
    Malformed,
    /// Bytes were left over after the record.
    TrailingBytes,
    /// A field holds an impossible value (for example expiry before creation).
    Inconsistent(&'static str),
}

impl fmt::Display for DecodeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty"),
            Self::UnknownVersion(v) => write!(f, "unknown format version {v}"),
            Self::Malformed => f.write_str("truncated or malformed body"),
            Self::TrailingBytes => f.write_str("trailing bytes after the record"),
            Self::Inconsistent(what) => write!(f, "inconsistent field: {what}"),
        }
    }
}

impl Error {
    /// The category a caller acts on.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Unavailable { .. } | Self::Timeout { .. } | Self::Rng { .. } => {
                ErrorKind::Unavailable
            }
            Self::Conflict | Self::TooManyConflicts { .. } => ErrorKind::Conflict,
            Self::LockTimeout { .. } | Self::LockLost => ErrorKind::Locked,
            Self::Gone => ErrorKind::Gone,
            Self::Collision => ErrorKind::Collision,
            Self::Decode { .. } | Self::Encode { .. } | Self::Value { .. } => ErrorKind::BadData,
            Self::TooLarge { .. } | Self::MalformedId | Self::MalformedKey => ErrorKind::BadRequest,
            Self::Misconfigured { .. } | Self::InvalidSetting { .. } => ErrorKind::Misconfigured,
        }
    }

    /// Wraps a backend error as [`Error::Unavailable`].
    pub fn unavailable(
        operation: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Unavailable {
            operation,
            source: source.into(),
        }
    }

    /// True when retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind() == ErrorKind::Unavailable
    }
}
