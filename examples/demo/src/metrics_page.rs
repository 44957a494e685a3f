//! The `/metrics` page (`--metrics`): the library's metrics in Prometheus' text format,
//! through `metrics-exporter-prometheus` as one application might choose to export them.
//! The library itself records through the `metrics` facade and forces no exporter.

use std::time::Duration;

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds, from an in-memory store's microseconds to a slow database.
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];

/// Installs the Prometheus recorder as the process's recorder, describes the library's
/// metrics, and keeps the recorder's histograms trimmed on the current runtime.
///
/// # Errors
/// A recorder is already installed.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &BUCKETS)?
        .install_recorder()?;
    session_core::metric::describe();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}
