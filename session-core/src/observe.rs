//! Store spans that explain themselves: every store operation's span records its outcome
//! (`hit`, `miss`, `ok`, `conflict`, `gone`, `collision`, `lock_lost`, `taken`, `held`,
//! `error`) and, when it failed, the error with its causes ("connection refused" included),
//! so a trace of a failed request says what the store answered and why.
//!
//! The error text is what [`Error`]'s `Display` and its sources say: operation names,
//! settings and backend messages, never an id, a key, a token or a value (the key is in
//! the span already, as its correlation tag).
//!
//! Backends describe each operation with [`store_call!`](crate::store_call), which opens its
//! span with the two fields and names the backend and operation, and run the operation
//! through [`Observed::observed`] (or [`run`] for a synchronous body). That records the
//! outcome on the span and the call's latency in
//! [`metric::STORE_CALL_SECONDS`](crate::metric::STORE_CALL_SECONDS). With no subscriber
//! the span is disabled and recording on it is skipped.

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

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
/// let call = session_core::store_call!("mystore", "delete");
/// let result: Result<(), session_core::Error> = Ok(());
/// session_core::observe::record(call.span(), &result);
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

/// One store operation as traces and metrics see it: its span, and the backend and
/// operation names its latency is recorded under. Made by [`store_call!`](crate::store_call).
#[derive(Debug)]
pub struct Call {
    span: tracing::Span,
    backend: &'static str,
    operation: &'static str,
}

impl Call {
    /// A call of `operation` on `backend`, traced in `span` (which should have the
    /// `outcome` and `error` fields; [`store_call!`](crate::store_call) declares them).
    ///
    /// # Example
    /// ```
    /// let call = session_core::observe::Call::new(
    ///     "mystore",
    ///     "load",
    ///     tracing::debug_span!("mystore.load", outcome = tracing::field::Empty, error = tracing::field::Empty),
    /// );
    /// assert_eq!(call.operation(), "load");
    /// ```
    pub fn new(backend: &'static str, operation: &'static str, span: tracing::Span) -> Self {
        Self {
            span,
            backend,
            operation,
        }
    }

    /// The call's span.
    ///
    /// # Example
    /// ```
    /// let call = session_core::store_call!("mystore", "load");
    /// let _entered = call.span().enter();
    /// ```
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The backend's name (the `backend` label).
    ///
    /// # Example
    /// ```
    /// assert_eq!(session_core::store_call!("mystore", "load").backend(), "mystore");
    /// ```
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The operation's name (the `operation` label).
    ///
    /// # Example
    /// ```
    /// assert_eq!(session_core::store_call!("mystore", "load").operation(), "load");
    /// ```
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// Records how the call ended, started at `started`: the outcome (and error text) on
    /// its span, and its latency.
    fn finish<T: Outcome>(&self, started: Instant, result: &Result<T, Error>) {
        record(&self.span, result);
        crate::metric::store_call_since(self.backend, self.operation, result.outcome(), started);
    }
}

/// Runs a synchronous store operation as `call` and records how it ended: the counterpart
/// of [`Observed::observed`] for a store whose operations do not await.
///
/// # Example
/// ```
/// let found: Result<Option<session_core::Record>, session_core::Error> =
///     session_core::observe::run(session_core::store_call!("mystore", "load"), || Ok(None));
/// # let _ = found;
/// ```
pub fn run<T: Outcome>(
    call: Call,
    operation: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    let started = Instant::now();
    let result = call.span.in_scope(operation);
    call.finish(started, &result);
    result
}

/// Runs a store operation's future in its span and records how it ended.
pub trait Observed<T: Outcome>: Future<Output = Result<T, Error>> + Sized {
    /// The future, instrumented with `call`'s span, recording its outcome on the span and
    /// its latency at the end.
    ///
    /// # Example
    /// ```
    /// # async fn demo() -> Result<(), session_core::Error> {
    /// use session_core::observe::Observed as _;
    /// let call = session_core::store_call!("mystore", "load");
    /// let found: Option<session_core::Record> = async { Ok(None) }.observed(call).await?;
    /// # let _ = found; Ok(()) }
    /// ```
    fn observed(self, call: Call) -> impl Future<Output = Result<T, Error>> {
        ObservedCall {
            inner: self,
            call,
            started: None,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future [`Observed::observed`] returns. A struct, not an `async` block: a block
    /// holds the operation's future twice (as it captured it, and as it awaits it), which
    /// doubles what every store call allocates and moves. A Redis load's came to 1,160
    /// bytes, past the 1,032 that glibc's per-thread cache serves, and its allocation cost
    /// about 700 instructions (callgrind, `prof`).
    struct ObservedCall<F> {
        #[pin]
        inner: F,
        call: Call,
        started: Option<Instant>,
    }
}

impl<T: Outcome, F: Future<Output = Result<T, Error>>> Future for ObservedCall<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let started = *this.started.get_or_insert_with(Instant::now);
        let result = {
            let _entered = this.call.span.enter();
            std::task::ready!(this.inner.poll(cx))
        };
        this.call.finish(started, &result);
        Poll::Ready(result)
    }
}

impl<T: Outcome, F: Future<Output = Result<T, Error>>> Observed<T> for F {}

/// A store operation: a [`Call`] whose span is `tracing::debug_span!` named
/// `"<backend>.<operation>"`, with the `outcome` and `error` fields that
/// [`Observed::observed`] fills in, and any further fields as `debug_span!` takes them.
///
/// `store_call!(BACKEND => "family", "operation", ...)` names the span `"family.operation"`
/// with a `backend` field, for stores whose backend is chosen at run time (the SQL stores'
/// `"sql.load"` with `backend = "postgres"`).
///
/// # Example
/// ```
/// # let key = session_core::SessionId::generate().unwrap().store_key();
/// let call = session_core::store_call!("mystore", "load", key = ?key);
/// assert_eq!((call.backend(), call.operation()), ("mystore", "load"));
/// let backend: &'static str = "postgres";
/// let call = session_core::store_call!(backend => "sql", "load", key = ?key);
/// assert_eq!(call.backend(), "postgres");
/// ```
#[macro_export]
macro_rules! store_call {
    ($backend:literal, $op:literal $(, $($fields:tt)*)?) => {
        $crate::observe::Call::new(
            $backend,
            $op,
            $crate::__tracing::debug_span!(
                concat!($backend, ".", $op),
                outcome = $crate::__tracing::field::Empty,
                error = $crate::__tracing::field::Empty
                $(, $($fields)*)?
            ),
        )
    };
    ($backend:expr => $family:literal, $op:literal $(, $($fields:tt)*)?) => {{
        let backend: &'static str = $backend;
        $crate::observe::Call::new(
            backend,
            $op,
            $crate::__tracing::debug_span!(
                concat!($family, ".", $op),
                outcome = $crate::__tracing::field::Empty,
                error = $crate::__tracing::field::Empty,
                backend = backend
                $(, $($fields)*)?
            ),
        )
    }};
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
