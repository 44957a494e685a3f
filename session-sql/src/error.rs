//! sqlx errors, mapped to the portable kinds of `session_core::Error`.

use session_core::Error;

/// Maps a driver error. Everything that is not a rejected setting counts as the backend
/// being unavailable: lost connections, killed backends, deadlocks and pool timeouts are
/// all worth retrying later.
pub(crate) fn map(operation: &'static str, e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::PoolTimedOut => Error::Timeout { operation },
        sqlx::Error::Configuration(source) => Error::InvalidSetting {
            setting: "database url",
            source,
        },
        other => Error::unavailable(operation, other),
    }
}

/// True for a unique or primary-key violation (a create or rotation onto a taken key).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// True for an error worth retrying at once inside one call (MySQL deadlock 1213, lock
/// wait timeout 1205; PostgreSQL serialization failure 40001 and deadlock 40P01).
pub(crate) fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            matches!(
                d.code().as_deref(),
                Some("40001" | "40P01" | "1213" | "1205")
            ) || d.message().contains("Deadlock")
        }
        _ => false,
    }
}
