//! Store spans that explain themselves: every store operation's span records its outcome
//! (`hit`, `miss`, `ok`, `conflict`, `gone`, `collision`, `lock_lost`, `taken`, `held`,
//! `error`) and, when it failed, the error with its causes ("connection refused" included),
//! so a trace of a failed request says what the store answered and why.
//!
//! The error text is what [`Error`]'s `Display` and its sources say: operation names,
//! settings and backend messages, never an id, a key, a token or a value (the key is in
//! the span already, as its correlation tag).
//!
//! Backends open their spans with [`store_span!`](crate::store_span), which declares the two
//! fields, and run the operation through [`Observed::observed`] (or [`record`] for a
//! synchronous body). With no subscriber the span is disabled and recording is skipped.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;

use tracing::Instrument as _;

use crate::ending::EndWatch;
use crate::error::{Error, ErrorKind};
use crate::record::Record;
use crate::store::{LockAttempt, OwnerSession};

/// A store answer's outcome, as a span records it.
pub trait Outcome {
    /// The outcome's name.
    fn outcome(&self) -> &'static str;
}

impl Outcome for () {
    fn outcome(&self) -> &'static str {
        "ok"
    }
}

impl Outcome for bool {
    fn outcome(&self) -> &'static str {
        "ok"
    }
}

impl Outcome for u64 {
    fn outcome(&self) -> &'static str {
        "ok"
    }
}

impl Outcome for Vec<OwnerSession> {
    fn outcome(&self) -> &'static str {
        "ok"
    }
}

impl Outcome for Option<Record> {
    fn outcome(&self) -> &'static str {
        if self.is_some() { "hit" } else { "miss" }
    }
}

impl Outcome for Option<Arc<Record>> {
    fn outcome(&self) -> &'static str {
        if self.is_some() { "hit" } else { "miss" }
    }
}

impl Outcome for Option<EndWatch> {
    fn outcome(&self) -> &'static str {
        if self.is_some() { "pushed" } else { "polled" }
    }
}

impl Outcome for LockAttempt {
    fn outcome(&self) -> &'static str {
        match self {
            LockAttempt::Taken(_) => "taken",
            LockAttempt::Held { .. } => "held",
        }
    }
}

impl<T: Outcome> Outcome for Result<T, Error> {
    fn outcome(&self) -> &'static str {
        match self {
            Ok(v) => v.outcome(),
            Err(Error::LockLost) => "lock_lost",
            Err(e) => match e.kind() {
                ErrorKind::Conflict => "conflict",
                ErrorKind::Gone => "gone",
                ErrorKind::Collision => "collision",
                _ => "error",
            },
        }
    }
}

/// `error` with its chain of causes, `: `-separated.
///
/// # Example
/// ```
/// use session_core::{Error, observe::error_text};
/// let e = Error::unavailable("load", std::io::Error::other("connection refused"));
/// assert!(error_text(&e).ends_with("connection refused"), "{}", error_text(&e));
/// ```
pub fn error_text(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        let _ = write!(text, ": {s}");
        source = s.source();
    }
    text
}

/// Records `result`'s outcome on `span`, and the error text when it failed (not for the
/// answers a caller expects and handles: conflict, gone, collision, lock lost).
///
/// # Example
/// ```
/// let span = session_core::store_span!("mystore.delete");
/// let result: Result<(), session_core::Error> = Ok(());
/// session_core::observe::record(&span, &result);
/// ```
pub fn record<T: Outcome>(span: &tracing::Span, result: &Result<T, Error>) {
    if span.is_disabled() {
        return;
    }
    let outcome = result.outcome();
    span.record("outcome", outcome);
    if let (Err(e), "error") = (result, outcome) {
        span.record("error", error_text(e).as_str());
    }
}

/// Runs a synchronous store operation in `span` and records how it ended: the
/// counterpart of [`Observed::observed`] for a store whose operations do not await.
///
/// # Example
/// ```
/// let found: Result<Option<session_core::Record>, session_core::Error> =
///     session_core::observe::run(session_core::store_span!("mystore.load"), || Ok(None));
/// # let _ = found;
/// ```
pub fn run<T: Outcome>(
    span: tracing::Span,
    operation: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    let result = span.in_scope(operation);
    record(&span, &result);
    result
}

/// Runs a store operation's future in its span and records how it ended.
pub trait Observed<T: Outcome>: Future<Output = Result<T, Error>> + Sized {
    /// The future, instrumented with `span`, recording its outcome on it at the end.
    ///
    /// # Example
    /// ```
    /// # async fn demo() -> Result<(), session_core::Error> {
    /// use session_core::observe::Observed as _;
    /// let span = session_core::store_span!("mystore.load");
    /// let found: Option<session_core::Record> = async { Ok(None) }.observed(span).await?;
    /// # let _ = found; Ok(()) }
    /// ```
    fn observed(self, span: tracing::Span) -> impl Future<Output = Result<T, Error>> {
        async move {
            let result = self.instrument(span.clone()).await;
            record(&span, &result);
            result
        }
    }
}

impl<T: Outcome, F: Future<Output = Result<T, Error>>> Observed<T> for F {}

/// A store operation's span: `tracing::debug_span!` with the `outcome` and `error` fields
/// [`Observed::observed`] fills in. Takes the span's name and fields as `debug_span!` does.
///
/// # Example
/// ```
/// # let key = session_core::SessionId::generate().unwrap().store_key();
/// let span = session_core::store_span!("mystore.load", key = ?key);
/// # let _ = span;
/// ```
#[macro_export]
macro_rules! store_span {
    ($name:literal $(, $($fields:tt)*)?) => {
        $crate::__tracing::debug_span!(
            $name,
            outcome = $crate::__tracing::field::Empty,
            error = $crate::__tracing::field::Empty
            $(, $($fields)*)?
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every answer has its name.
    #[test]
    fn outcomes() {
        let ok: Result<(), Error> = Ok(());
        assert_eq!(ok.outcome(), "ok");
        let miss: Result<Option<Record>, Error> = Ok(None);
        assert_eq!(miss.outcome(), "miss");
        let t = crate::Timestamp::from_millis(1);
        let hit: Result<Option<Record>, Error> = Ok(Some(Record::new(t, t)));
        assert_eq!(hit.outcome(), "hit");
        for (e, name) in [
            (Error::Conflict, "conflict"),
            (Error::Gone, "gone"),
            (Error::Collision, "collision"),
            (Error::LockLost, "lock_lost"),
            (
                Error::unavailable("load", std::io::Error::other("down")),
                "error",
            ),
        ] {
            let r: Result<(), Error> = Err(e);
            assert_eq!(r.outcome(), name);
        }
        let taken: Result<LockAttempt, Error> = Ok(LockAttempt::Taken(3));
        assert_eq!(taken.outcome(), "taken");
        let held: Result<LockAttempt, Error> = Ok(LockAttempt::Held { until: t });
        assert_eq!(held.outcome(), "held");
    }

    /// The error text carries the cause.
    #[test]
    fn error_text_has_the_cause() {
        let e = Error::unavailable(
            "save",
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"),
        );
        let text = error_text(&e);
        assert!(
            text.contains("save") && text.ends_with("connection refused"),
            "{text}"
        );
    }
}
