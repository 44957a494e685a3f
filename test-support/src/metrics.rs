//! What the code under test measured: a `metrics` recorder for the current thread, whose
//! series a test reads back by name and labels.
//!
//! The recorder is the thread's own (`metrics::set_default_local_recorder`), so tests in
//! one binary running on other threads do not count into it; a test that records must run
//! its work on this thread (`#[tokio::test]`'s default current-thread runtime does).

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// A recorder installed for the current thread until this is dropped.
pub struct Recorded {
    snapshotter: Snapshotter,
    _guard: metrics::LocalRecorderGuard<'static>,
}

/// Installs a recording backend for the current thread.
pub fn capture() -> Recorded {
    let recorder: &'static DebuggingRecorder = Box::leak(Box::new(DebuggingRecorder::new()));
    Recorded {
        snapshotter: recorder.snapshotter(),
        _guard: metrics::set_default_local_recorder(recorder),
    }
}

impl Recorded {
    /// What was recorded since the last call.
    pub fn take(&self) -> Measured {
        let series = self
            .snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let (kind, count) = match value {
                    DebugValue::Counter(n) => (Kind::Counter, n),
                    DebugValue::Gauge(_) => (Kind::Gauge, 1),
                    DebugValue::Histogram(v) => (Kind::Histogram, v.len() as u64),
                };
                let (_, key) = key.into_parts();
                Series {
                    kind,
                    name: key.name().to_owned(),
                    labels: key
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect(),
                    count,
                }
            })
            .collect();
        Measured(series)
    }
}

/// A metric's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A counter.
    Counter,
    /// A gauge.
    Gauge,
    /// A histogram.
    Histogram,
}

/// One recorded series.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its kind.
    pub kind: Kind,
    /// The metric's name.
    pub name: String,
    /// Its labels, in the order recorded.
    pub labels: Vec<(String, String)>,
    /// A counter's increase, or how many values a histogram received.
    pub count: u64,
}

/// The series recorded over a stretch of a test.
#[derive(Debug, Clone)]
pub struct Measured(pub Vec<Series>);

impl Measured {
    /// The total count of `name`'s series that carry every label of `labels`.
    pub fn count(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.matching(name, labels).map(|s| s.count).sum()
    }

    /// `name`'s series that carry every label of `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Series> + 'a {
        self.0.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
        })
    }

    /// Every series, one line each, for an assertion's message.
    pub fn listing(&self) -> String {
        self.0
            .iter()
            .map(|s| format!("{:?} {} {:?} = {}", s.kind, s.name, s.labels, s.count))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
