//! What a run reports: counts, rates, latency percentiles; as a table
//! (`Display`), JSON, or an SVG plot.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::config::LoadTest;
use crate::kind::Kinds;

/// The outcome of a [`LoadTest`] run.
///
/// Latencies are in microseconds (fractions kept: the histogram records
/// nanoseconds at 3 significant digits). `Display` prints a table;
/// [`to_json`](LoadReport::to_json) gives one line of JSON with these
/// fields; [`plot_svg`](LoadReport::plot_svg) draws the latency by
/// percentile.
///
/// # Examples
///
/// ```
/// use resilience_load::LoadTest;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let report = LoadTest::new().with_tasks(100).with_failure_rate(0.0).with_seed(1)
///     .run(|i| async move { Ok::<_, &str>(i) }).await.unwrap();
/// assert_eq!(report.successes, 100);
/// assert_eq!(report.success_rate, 1.0);
/// let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
/// assert_eq!(json["tasks"], 100);
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct LoadReport {
    /// Tasks run.
    pub tasks: u64,
    /// Tasks that returned `Ok`.
    pub successes: u64,
    /// Tasks that failed, injected failures included.
    pub failures: u64,
    /// Failures by [`FailureKind`](crate::FailureKind); injected ones under
    /// [`INJECTED`](crate::INJECTED).
    pub failures_by_kind: BTreeMap<String, u64>,
    /// `successes / tasks`.
    pub success_rate: f64,
    /// From the first task's start (or due time) to the last one's end, in
    /// seconds.
    pub duration_s: f64,
    /// `tasks / duration_s`; 0 when the run took no measurable time (on a
    /// paused clock).
    pub tasks_per_second: f64,
    /// Median latency, in µs.
    pub p50_us: f64,
    /// 90th percentile latency, in µs.
    pub p90_us: f64,
    /// 99th percentile latency, in µs.
    pub p99_us: f64,
    /// 99.9th percentile latency, in µs.
    pub p999_us: f64,
    /// The highest latency, in µs.
    pub max_us: f64,
    /// The concurrency limit.
    pub concurrency: usize,
    /// The injected failure rate asked for.
    pub failure_rate: f64,
    /// The arrival rate (tasks per second) of an open model, `null` for a
    /// closed one.
    pub rate: Option<f64>,
    /// The seed of the injected failures: pass it to
    /// [`LoadTest::with_seed`] to fail the same tasks again.
    pub seed: u64,
    #[serde(skip)]
    latencies: Histogram<u64>,
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1_000.0
}

impl LoadReport {
    pub(crate) fn new(
        test: &LoadTest,
        seed: u64,
        successes: u64,
        kinds: Kinds,
        duration: Duration,
        latencies: Histogram<u64>,
    ) -> Self {
        let tasks = test.tasks;
        let duration_s = duration.as_secs_f64();
        let q = |quantile| us(latencies.value_at_quantile(quantile));
        Self {
            tasks,
            successes,
            failures: tasks - successes,
            failures_by_kind: kinds.into_map(),
            success_rate: successes as f64 / tasks as f64,
            duration_s,
            tasks_per_second: if duration_s > 0.0 {
                tasks as f64 / duration_s
            } else {
                0.0
            },
            p50_us: q(0.5),
            p90_us: q(0.9),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: us(latencies.max()),
            concurrency: test.concurrency,
            failure_rate: test.failure_rate,
            rate: test.rate,
            seed,
            latencies,
        }
    }

    /// Every latency of the run, in nanoseconds, for percentiles this report
    /// does not name.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let report = resilience_load::LoadTest::new().with_tasks(10)
    ///     .run(|i| async move { Ok::<_, &str>(i) }).await.unwrap();
    /// assert_eq!(report.latencies().len(), 10);
    /// # }
    /// ```
    pub fn latencies(&self) -> &Histogram<u64> {
        &self.latencies
    }

    /// The report as one line of JSON (the fields of this struct; the
    /// histogram is left out).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let report = resilience_load::LoadTest::new().with_tasks(10)
    ///     .run(|i| async move { Ok::<_, &str>(i) }).await.unwrap();
    /// assert!(report.to_json().starts_with("{\"tasks\":10,"));
    /// # }
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report has only numbers, strings and maps")
    }
}

struct Micros(f64);

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us >= 1_000_000.0 {
            write!(f, "{:.2} s", us / 1_000_000.0)
        } else if us >= 1_000.0 {
            write!(f, "{:.2} ms", us / 1_000.0)
        } else {
            write!(f, "{us:.2} µs")
        }
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let model = match self.rate {
            Some(rate) => format!("open, {rate} tasks/s due"),
            None => "closed".to_owned(),
        };
        writeln!(f, "{:<16} {}", "tasks", self.tasks)?;
        writeln!(
            f,
            "{:<16} {} ({:.2}%)",
            "successes",
            self.successes,
            self.success_rate * 100.0
        )?;
        writeln!(f, "{:<16} {}", "failures", self.failures)?;
        for (kind, n) in &self.failures_by_kind {
            writeln!(f, "  {kind:<14} {n}")?;
        }
        writeln!(f, "{:<16} {:.3} s", "duration", self.duration_s)?;
        writeln!(
            f,
            "{:<16} {:.0} tasks/s",
            "throughput", self.tasks_per_second
        )?;
        writeln!(
            f,
            "{:<16} {} at a time, {model} model, seed {}",
            "settings", self.concurrency, self.seed
        )?;
        writeln!(f, "latency")?;
        for (name, value) in [
            ("p50", self.p50_us),
            ("p90", self.p90_us),
            ("p99", self.p99_us),
            ("p99.9", self.p999_us),
            ("max", self.max_us),
        ] {
            writeln!(f, "  {name:<14} {}", Micros(value))?;
        }
        Ok(())
    }
}
