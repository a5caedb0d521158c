//! The SVG latency plot: latency by percentile, the x axis stretched
//! towards the tail as HdrHistogram's own plots do.

use plotters::prelude::*;

use crate::report::LoadReport;

/// The plot could not be drawn (a plotters error, as text).
///
/// # Examples
///
/// ```
/// let err = resilience_load::PlotError("no room".into());
/// assert_eq!(err.to_string(), "cannot draw the latency plot: no room");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot draw the latency plot: {0}")]
pub struct PlotError(pub String);

fn err(e: impl std::fmt::Display) -> PlotError {
    PlotError(e.to_string())
}

/// `1 / (1 - q)`: 1 at the median's left end, 10 at p90, 100 at p99 …
fn tail(quantile: f64) -> f64 {
    1.0 / (1.0 - quantile)
}

fn percentile_label(x: &f64) -> String {
    let p = 100.0 * (1.0 - 1.0 / x);
    let label = format!("{p:.4}");
    let label = label.trim_end_matches('0').trim_end_matches('.');
    format!("{label}%")
}

impl LoadReport {
    /// An SVG document (800×500) of the latency (µs, or ms past 10 ms) by
    /// percentile, with
    /// both axes labelled and one line series. Its text is SVG `<text>`:
    /// no font is read to draw it.
    ///
    /// # Errors
    ///
    /// A [`PlotError`] if plotters fails (it does not with these sizes).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let report = resilience_load::LoadTest::new().with_tasks(100)
    ///     .run(|i| async move { Ok::<_, &str>(i) }).await.unwrap();
    /// let svg = report.plot_svg().unwrap();
    /// assert!(svg.starts_with("<svg"));
    /// # }
    /// ```
    pub fn plot_svg(&self) -> Result<String, PlotError> {
        let histogram = self.latencies();
        // Milliseconds once the tail passes 10 ms, so labels stay short.
        let (per_unit, unit) = if self.max_us >= 10_000.0 {
            (1_000.0, "ms")
        } else {
            (1.0, "µs")
        };
        let mut points: Vec<(f64, f64)> = histogram
            .iter_quantiles(1)
            .map(|v| {
                (
                    v.quantile_iterated_to(),
                    v.value_iterated_to() as f64 / 1_000.0,
                )
            })
            .filter(|&(q, _)| q < 1.0)
            .map(|(q, us)| (tail(q), us))
            .collect();
        // The max at the right end (q = 1 has no finite position).
        let x_max = points.last().map_or(10.0, |p| p.0 * 10.0).max(10.0);
        points.push((x_max, self.max_us / per_unit));
        let y_max = (self.max_us / per_unit * 1.1).max(1.0);

        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    format!(
                        "Latency by percentile ({} tasks, {} at a time)",
                        self.tasks, self.concurrency
                    ),
                    ("sans-serif", 20),
                )
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(70)
                .build_cartesian_2d((1.0..x_max).log_scale(), 0.0..y_max)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc("percentile")
                .y_desc(format!("latency ({unit})"))
                .y_label_formatter(&|y| format!("{y}"))
                .x_label_formatter(&percentile_label)
                .draw()
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(points, &BLUE))
                .map_err(err)?
                .label("latency");
            root.present().map_err(err)?;
        }
        Ok(svg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_labels_read_as_percentiles() {
        assert_eq!(percentile_label(&1.0), "0%");
        assert_eq!(percentile_label(&10.0), "90%");
        assert_eq!(percentile_label(&100.0), "99%");
        assert_eq!(percentile_label(&1000.0), "99.9%");
    }
}
