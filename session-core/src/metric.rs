//! The library's metrics: one place for every name, label and unit, recorded through the
//! [`metrics`](https://docs.rs/metrics) facade so that the application picks the exporter
//! (Prometheus, StatsD, OpenTelemetry) or none. With no recorder installed, recording is a
//! no-op: a store call's key is built once per thread and kept, and the rarer counters
//! build their short label list as they count.
//!
//! Names follow Prometheus' conventions: `session_` prefix, base units (`_seconds`), and
//! `_total` on counters. Label values are fixed, short vocabularies (a backend, an
//! operation, an outcome, a reason), never an id, a key, an owner or a value, so a series
//! count stays small and nothing secret reaches a dashboard.
//!
//! | name | kind | labels | what it counts |
//! |---|---|---|---|
//! | `session_store_call_duration_seconds` | histogram | `backend`, `operation`, `outcome` | every store call's latency, and (as its count) how many ended how |
//! | `session_save_conflicts_total` | counter | | compare-and-swap saves that lost to a concurrent save |
//! | `session_save_replays_total` | counter | | saves that succeeded after replaying their changes on a newer record |
//! | `session_overwritten_keys_total` | counter | | keys a save set or removed that a concurrent request had changed (last writer wins) |
//! | `session_lock_wait_seconds` | histogram | `outcome` (`taken`, `timeout`) | time spent waiting for the per-session lock |
//! | `session_outage_responses_total` | counter | `stage` (`csrf_check`, `request`, `save`) | responses answered with the outage status because the store was unavailable |
//! | `session_csrf_refusals_total` | counter | `reason` | requests refused by the CSRF check |
//! | `session_cookie_rejections_total` | counter | `reason` | presented session ids refused: `malformed`, `bad_signature`, `ambiguous`, `header_too_large` (at the cookie), `unknown` (no live session under it), `expired` (over its idle or absolute limit) |
//! | `session_sweeper_deleted_total` | counter | | expired sessions the background sweeper removed |
//! | `session_sweeper_errors_total` | counter | | sweeps that failed |
//!
//! Call [`describe`] once after installing a recorder to give each metric its help text
//! and unit.

use std::time::{Duration, Instant};

/// Store-call latency, by `backend`, `operation` and `outcome`.
pub const STORE_CALL_SECONDS: &str = "session_store_call_duration_seconds";
/// Saves that lost a compare-and-swap to a concurrent save.
pub const SAVE_CONFLICTS: &str = "session_save_conflicts_total";
/// Saves stored after replaying their changes on a newer record.
pub const SAVE_REPLAYS: &str = "session_save_replays_total";
/// Keys a save overwrote that a concurrent request had changed.
pub const OVERWRITTEN_KEYS: &str = "session_overwritten_keys_total";
/// Time waited for the per-session lock, by `outcome`.
pub const LOCK_WAIT_SECONDS: &str = "session_lock_wait_seconds";
/// Responses answered with the outage status, by `stage`.
pub const OUTAGE_RESPONSES: &str = "session_outage_responses_total";
/// CSRF refusals, by `reason`.
pub const CSRF_REFUSALS: &str = "session_csrf_refusals_total";
/// Refused session ids, by `reason`.
pub const COOKIE_REJECTIONS: &str = "session_cookie_rejections_total";
/// Expired sessions the sweeper removed.
pub const SWEEPER_DELETED: &str = "session_sweeper_deleted_total";
/// Failed sweeps.
pub const SWEEPER_ERRORS: &str = "session_sweeper_errors_total";

/// Every metric's name, in the order of the table above.
pub const ALL: [&str; 10] = [
    STORE_CALL_SECONDS,
    SAVE_CONFLICTS,
    SAVE_REPLAYS,
    OVERWRITTEN_KEYS,
    LOCK_WAIT_SECONDS,
    OUTAGE_RESPONSES,
    CSRF_REFUSALS,
    COOKIE_REJECTIONS,
    SWEEPER_DELETED,
    SWEEPER_ERRORS,
];

/// Gives every metric its unit and help text in the installed recorder (Prometheus'
/// `# HELP` lines). Call it once, after installing the recorder.
///
/// # Example
/// ```
/// session_core::metric::describe();
/// ```
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_histogram!(
        STORE_CALL_SECONDS,
        Unit::Seconds,
        "Session store call latency, by backend, operation and outcome"
    );
    describe_counter!(
        SAVE_CONFLICTS,
        "Session saves that lost a compare-and-swap to a concurrent save"
    );
    describe_counter!(
        SAVE_REPLAYS,
        "Session saves stored after replaying their changes on a newer record"
    );
    describe_counter!(
        OVERWRITTEN_KEYS,
        "Session keys a save overwrote that a concurrent request had changed"
    );
    describe_histogram!(
        LOCK_WAIT_SECONDS,
        Unit::Seconds,
        "Time waited for the per-session lock, by outcome"
    );
    describe_counter!(
        OUTAGE_RESPONSES,
        "Responses answered with the outage status because the session store was unavailable"
    );
    describe_counter!(
        CSRF_REFUSALS,
        "Requests refused by the CSRF check, by reason"
    );
    describe_counter!(COOKIE_REJECTIONS, "Refused session ids, by reason");
    describe_counter!(
        SWEEPER_DELETED,
        "Expired sessions removed by the background sweeper"
    );
    describe_counter!(SWEEPER_ERRORS, "Background sweeps that failed");
}

/// Records one store call's latency.
///
/// # Example
/// ```
/// session_core::metric::store_call("memory", "load", "hit", std::time::Duration::from_micros(3));
/// ```
pub fn store_call(
    backend: &'static str,
    operation: &'static str,
    outcome: &'static str,
    elapsed: Duration,
) {
    record_store_call(backend, operation, outcome, elapsed);
}

/// Records one store call that started at `started`, reading the clock only if a recorder
/// takes the value: with none installed (the no-op recorder's histogram drops a value
/// without converting it), the call costs no clock read. A monotonic clock read takes
/// about 34 ns on our machine (10 million reads), and a memory store's typical request,
/// about 1.4 µs, made eight clock reads, two of them this one. With a recorder the
/// clock is read as the histogram takes the value, after the recorder looked the
/// histogram up, so the latency includes that lookup.
pub(crate) fn store_call_since(
    backend: &'static str,
    operation: &'static str,
    outcome: &'static str,
    started: Instant,
) {
    record_store_call(backend, operation, outcome, Since(started));
}

/// The time since an instant, read when a histogram converts it (`metrics` converts a
/// value only for a histogram that records it).
#[derive(Clone, Copy)]
struct Since(Instant);

impl metrics::IntoF64 for Since {
    fn into_f64(self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

fn record_store_call<V: metrics::IntoF64 + Copy>(
    backend: &'static str,
    operation: &'static str,
    outcome: &'static str,
    value: V,
) {
    let record = |key: &metrics::Key| {
        metrics::with_recorder(|r| r.register_histogram(key, &STORE_CALL_META).record(value));
    };
    let id = [backend, operation, outcome].map(|s| (s.as_ptr() as usize, s.len()));
    STORE_CALL_KEYS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut keys) => match keys.iter().position(|(k, _)| *k == id) {
            Some(i) => record(&keys[i].1),
            None => {
                let key = store_call_key(backend, operation, outcome);
                record(&key);
                if keys.len() < STORE_CALL_KEYS_CACHED {
                    keys.push((id, key));
                }
            }
        },
        // Only if a recorder itself made a store call while recording one.
        Err(_) => record(&store_call_key(backend, operation, outcome)),
    });
}

fn store_call_key(
    backend: &'static str,
    operation: &'static str,
    outcome: &'static str,
) -> metrics::Key {
    metrics::Key::from_parts(
        STORE_CALL_SECONDS,
        vec![
            metrics::Label::from_static_parts("backend", backend),
            metrics::Label::from_static_parts("operation", operation),
            metrics::Label::from_static_parts("outcome", outcome),
        ],
    )
}

static STORE_CALL_META: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// Keys kept per thread: far more than the backends, operations and outcomes there are.
const STORE_CALL_KEYS_CACHED: usize = 256;

/// Per-call label list type: the three label values (as the address and length of each
/// `&'static str`, which identify it exactly) and the key they make.
type CachedKeys = Vec<([(usize, usize); 3], metrics::Key)>;

thread_local! {
    /// The store-call histogram's keys this thread has built. Every store call records one
    /// (about two per request), and building a key (a label list on the heap, then its
    /// hash) was most of the cost when no recorder is installed: 1,130 of a memory
    /// request's 7,450 instructions. Keys, not handles, are kept, so a recorder installed
    /// later, or a test's local recorder, still receives every call.
    static STORE_CALL_KEYS: std::cell::RefCell<CachedKeys> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Counts a compare-and-swap save that lost to a concurrent save.
///
/// # Example
/// ```
/// session_core::metric::save_conflict();
/// ```
pub fn save_conflict() {
    metrics::counter!(SAVE_CONFLICTS).increment(1);
}

/// Counts a stored save: a replay when it took more than one attempt, and the keys it
/// overwrote.
///
/// # Example
/// ```
/// session_core::metric::save_stored(2, 1);
/// ```
pub fn save_stored(attempts: u32, overwritten: usize) {
    if attempts > 1 {
        metrics::counter!(SAVE_REPLAYS).increment(1);
    }
    if overwritten > 0 {
        metrics::counter!(OVERWRITTEN_KEYS).increment(overwritten as u64);
    }
}

/// Records a wait for the per-session lock: `taken` or `timeout`.
///
/// # Example
/// ```
/// session_core::metric::lock_wait("taken", std::time::Duration::ZERO);
/// ```
pub fn lock_wait(outcome: &'static str, waited: Duration) {
    metrics::histogram!(LOCK_WAIT_SECONDS, "outcome" => outcome).record(waited.as_secs_f64());
}

/// Counts a response answered with the outage status at `stage`.
///
/// # Example
/// ```
/// session_core::metric::outage_response("save");
/// ```
pub fn outage_response(stage: &'static str) {
    metrics::counter!(OUTAGE_RESPONSES, "stage" => stage).increment(1);
}

/// Counts a CSRF refusal.
///
/// # Example
/// ```
/// session_core::metric::csrf_refusal("missing_token");
/// ```
pub fn csrf_refusal(reason: &'static str) {
    metrics::counter!(CSRF_REFUSALS, "reason" => reason).increment(1);
}

/// Counts a refused session id.
///
/// # Example
/// ```
/// session_core::metric::cookie_rejection("bad_signature");
/// ```
pub fn cookie_rejection(reason: &'static str) {
    metrics::counter!(COOKIE_REJECTIONS, "reason" => reason).increment(1);
}

/// Records one sweep: the rows it removed, or its failure.
///
/// # Example
/// ```
/// session_core::metric::sweep(Some(12));
/// session_core::metric::sweep(None); // it failed
/// ```
pub fn sweep(deleted: Option<u64>) {
    match deleted {
        Some(n) => metrics::counter!(SWEEPER_DELETED).increment(n),
        None => metrics::counter!(SWEEPER_ERRORS).increment(1),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use metrics::{
        Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString,
        Unit,
    };

    use super::*;

    /// The values recorded into the store-call histogram.
    #[derive(Clone, Default)]
    struct Values(Arc<Mutex<Vec<f64>>>);

    impl HistogramFn for Values {
        fn record(&self, value: f64) {
            self.0.lock().expect("values").push(value);
        }
    }

    struct Latencies(Values);

    impl Recorder for Latencies {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
            Counter::noop()
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
            assert_eq!(key.name(), STORE_CALL_SECONDS);
            Histogram::from_arc(Arc::new(self.0.clone()))
        }
    }

    /// With a recorder, a call's latency is the time since it started, read when it is
    /// recorded.
    #[test]
    fn a_recorder_gets_the_time_a_call_took() {
        let latencies = Latencies(Values::default());
        let started = Instant::now();
        std::thread::sleep(Duration::from_millis(30));
        metrics::with_local_recorder(&latencies, || {
            store_call_since("test", "load", "ok", started)
        });
        let values = latencies.0.0.lock().expect("values").clone();
        assert_eq!(values.len(), 1, "{values:?}");
        assert!((0.030..10.0).contains(&values[0]), "{values:?}");
    }

    /// A value whose conversion is seen.
    #[derive(Clone, Copy)]
    struct Seen(&'static AtomicBool);

    impl metrics::IntoF64 for Seen {
        fn into_f64(self) -> f64 {
            self.0.store(true, Ordering::SeqCst);
            1.0
        }
    }

    /// Without a recorder the value is never converted, so a call reads no clock at its
    /// end; with one it is.
    #[test]
    fn no_recorder_converts_nothing() {
        static CONVERTED: AtomicBool = AtomicBool::new(false);
        record_store_call("test", "load", "hit", Seen(&CONVERTED));
        assert!(!CONVERTED.load(Ordering::SeqCst));
        let latencies = Latencies(Values::default());
        metrics::with_local_recorder(&latencies, || {
            record_store_call("test", "load", "hit", Seen(&CONVERTED))
        });
        assert!(CONVERTED.load(Ordering::SeqCst));
        assert_eq!(*latencies.0.0.lock().expect("values"), vec![1.0]);
    }
}
