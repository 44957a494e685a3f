//! What the code under test traced: a subscriber for the current thread that writes every
//! span's fields when it closes (so fields recorded late, such as a store span's
//! `outcome`, are in the text), into a buffer the test reads.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::format::FmtSpan;

/// The text written so far.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// The closing lines of spans named `name` (`name{…}: target: close time.busy=…`).
    pub fn closed(&self, name: &str) -> Vec<String> {
        let open = format!("{name}{{");
        self.text()
            .lines()
            .filter(|l| l.contains(&open) && (l.contains(" close ") || l.ends_with(" close")))
            .map(str::to_owned)
            .collect()
    }
}

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every span of this thread (all levels) until the guard is dropped. Use it
/// from a current-thread runtime, so the code under test runs on this thread.
pub fn capture() -> (tracing::subscriber::DefaultGuard, Captured) {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    (tracing::subscriber::set_default(subscriber), captured)
}
