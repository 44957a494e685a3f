//! Charts of a `session-bench` run, drawn with plotters: one panel per backend with ops/s
//! on a log axis (raw and through the session side by side, per payload), and a chart of
//! each backend's ratio to its raw client. A log axis because in-process stores do millions
//! of operations a second and SQL tens of thousands: on one linear axis the SQL lines sit
//! on the floor.

use plotters::prelude::*;
use serde::Deserialize;

/// One measured cell, as `session-bench --json` writes it (other fields are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct Point {
    /// Backend name (`memory`, `redis`, …).
    pub store: String,
    /// `raw` or `session`.
    pub kind: String,
    /// Concurrent virtual users.
    pub concurrency: usize,
    /// Session data size in bytes.
    pub payload: usize,
    /// Throughput.
    pub ops_per_sec: f64,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw {path}: {message}")]
pub struct PlotError {
    path: String,
    message: String,
}

fn err(path: &str) -> impl Fn(String) -> PlotError + '_ {
    move |message| PlotError {
        path: path.to_owned(),
        message,
    }
}

fn distinct<T: PartialEq + Clone>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn size_name(payload: usize) -> String {
    if payload >= 1024 && payload % 1024 == 0 {
        format!("{} KiB", payload / 1024)
    } else {
        format!("{payload} B")
    }
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(23, 190, 207),
];

/// An x-axis label: the axis is log2 of the concurrency, labelled as the concurrency.
fn power_of_two(x: &f64) -> String {
    format!("{}", 2f64.powf(*x).round())
}

/// The series of one (store, kind, payload) as (log2 concurrency, ops/s), sorted.
fn series(points: &[Point], store: &str, kind: &str, payload: usize) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.store == store && p.kind == kind && p.payload == payload)
        .map(|p| ((p.concurrency as f64).log2(), p.ops_per_sec))
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// The legend both charts draw, in the lower right where their lines leave room.
fn legend<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 11))
        .draw()
        .map_err(|x| x.to_string())
}

/// Throughput per backend: a grid of panels, log ops/s against log concurrency.
///
/// # Errors
/// When the file cannot be written or there is nothing to draw.
pub fn throughput(points: &[Point], path: &str) -> Result<(), PlotError> {
    let e = err(path);
    let stores = distinct(points.iter().map(|p| p.store.clone()));
    let payloads = distinct(points.iter().map(|p| p.payload));
    if stores.is_empty() {
        return Err(e("no points".into()));
    }
    let cols = stores.len().min(3);
    let rows = stores.len().div_ceil(cols);
    let root = SVGBackend::new(path, (380 * cols as u32, 300 * rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let max_x = (points
        .iter()
        .map(|p| p.concurrency)
        .max()
        .unwrap_or(1)
        .max(2) as f64)
        .log2();
    for (area, store) in root.split_evenly((rows, cols)).iter().zip(&stores) {
        let mine: Vec<&Point> = points.iter().filter(|p| &p.store == store).collect();
        let lo = mine
            .iter()
            .map(|p| p.ops_per_sec)
            .fold(f64::MAX, f64::min)
            .max(1.0);
        let hi = mine.iter().map(|p| p.ops_per_sec).fold(1.0, f64::max);
        let mut chart = ChartBuilder::on(area)
            .caption(store.as_str(), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(62)
            .build_cartesian_2d(-0.2f64..max_x + 0.2, (lo / 2.0..hi * 2.0).log_scale())
            .map_err(|x| e(x.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("concurrency")
            .y_desc("ops/s")
            .light_line_style(RGBColor(242, 242, 242))
            .x_labels(max_x as usize + 1)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_label_formatter(&power_of_two)
            .draw()
            .map_err(|x| e(x.to_string()))?;
        for (i, &payload) in payloads.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            for (kind, width) in [("raw", 1), ("session", 3)] {
                let s = series(points, store, kind, payload);
                if s.is_empty() {
                    continue;
                }
                let style = color.stroke_width(width);
                chart
                    .draw_series(LineSeries::new(s.clone(), style))
                    .map_err(|x| e(x.to_string()))?
                    .label(format!("{kind} {}", size_name(payload)))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
                chart
                    .draw_series(s.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                    .map_err(|x| e(x.to_string()))?;
            }
        }
        legend(&mut chart).map_err(&e)?;
    }
    root.present().map_err(|x| e(x.to_string()))
}

/// Ratio of the session to the raw client per backend, one panel per payload.
///
/// # Errors
/// When the file cannot be written or there is nothing to draw.
pub fn ratio(points: &[Point], path: &str) -> Result<(), PlotError> {
    let e = err(path);
    let stores = distinct(points.iter().map(|p| p.store.clone()));
    let payloads = distinct(points.iter().map(|p| p.payload));
    if stores.is_empty() {
        return Err(e("no points".into()));
    }
    let root = SVGBackend::new(path, (460 * payloads.len() as u32, 340)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let max_x = (points
        .iter()
        .map(|p| p.concurrency)
        .max()
        .unwrap_or(1)
        .max(2) as f64)
        .log2();
    for (area, &payload) in root.split_evenly((1, payloads.len())).iter().zip(&payloads) {
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("session ÷ raw, {}", size_name(payload)),
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(42)
            .build_cartesian_2d(-0.2f64..max_x + 0.2, 0f64..1.3)
            .map_err(|x| e(x.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("concurrency")
            .y_desc("ratio to raw")
            .light_line_style(RGBColor(242, 242, 242))
            .x_labels(max_x as usize + 1)
            .x_label_formatter(&power_of_two)
            .draw()
            .map_err(|x| e(x.to_string()))?;
        for (i, store) in stores.iter().enumerate() {
            let raw = series(points, store, "raw", payload);
            let ses = series(points, store, "session", payload);
            let s: Vec<(f64, f64)> = ses
                .iter()
                .filter_map(|&(c, ops)| {
                    raw.iter()
                        .find(|r| r.0 == c)
                        .map(|r| (c, (ops / r.1).min(1.25)))
                })
                .collect();
            if s.is_empty() {
                continue;
            }
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(s.clone(), color.stroke_width(2)))
                .map_err(|x| e(x.to_string()))?
                .label(store.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(s.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                .map_err(|x| e(x.to_string()))?;
        }
        legend(&mut chart).map_err(&e)?;
    }
    root.present().map_err(|x| e(x.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(store: &str, kind: &str, c: usize, payload: usize, ops: f64) -> Point {
        Point {
            store: store.into(),
            kind: kind.into(),
            concurrency: c,
            payload,
            ops_per_sec: ops,
        }
    }

    /// Both charts draw a panel per backend (or payload) with every series in the legend.
    #[test]
    fn charts_have_a_panel_per_backend_and_a_legend() {
        let mut points = Vec::new();
        for (store, scale) in [("memory", 1e6), ("sqlite", 2e4)] {
            for c in [1, 16, 64] {
                for payload in [200, 4096] {
                    points.push(p(store, "raw", c, payload, scale * c as f64));
                    points.push(p(store, "session", c, payload, scale * 0.5 * c as f64));
                }
            }
        }
        let dir = std::env::temp_dir();
        let t = dir.join(format!("plot-t-{}.svg", std::process::id()));
        let r = dir.join(format!("plot-r-{}.svg", std::process::id()));
        throughput(&points, t.to_str().unwrap()).unwrap();
        ratio(&points, r.to_str().unwrap()).unwrap();
        let t = std::fs::read_to_string(t).unwrap();
        let r = std::fs::read_to_string(r).unwrap();
        for needle in ["memory", "sqlite", "session 4 KiB", "raw 200 B"] {
            assert!(t.contains(needle), "throughput chart lacks {needle}");
        }
        for needle in [
            "session ÷ raw, 200 B",
            "session ÷ raw, 4 KiB",
            "memory",
            "sqlite",
        ] {
            assert!(r.contains(needle), "ratio chart lacks {needle}");
        }
        assert!(throughput(&[], "/nonexistent/x.svg").is_err());
    }
}
