//! The run: a bounded `FuturesUnordered` in the caller's task, refilled as
//! calls finish (closed model) or as tasks fall due (open model).

use core::future::Future;
use core::pin::pin;
use std::io::IsTerminal;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::{Either, select};
use futures_util::stream::FuturesUnordered;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::time::Instant;

use crate::config::{LoadConfigError, LoadTest};
use crate::kind::{FailureKind, INJECTED, Kinds};
use crate::report::LoadReport;

/// The histogram's highest trackable latency: one hour, in nanoseconds
/// (larger values are recorded as this).
const MAX_LATENCY_NS: u64 = 3_600_000_000_000;
/// At most this many completions between two progress bar updates.
const PROGRESS_EVERY: u64 = 4096;

impl LoadTest {
    /// Runs `task(0)`, `task(1)`, … `task(tasks - 1)`, at most
    /// `concurrency` at a time (and at the arrival rate if one is set), and
    /// reports what happened.
    ///
    /// The tasks run inside the caller's task: `task` may borrow, nothing
    /// needs to be `Send` or `'static`, and dropping the future cancels
    /// every call in flight. A task's `Ok` is a success, whatever its value
    /// (dropped at once); an `Err` is a failure counted by its
    /// [`FailureKind`]. A panic in a task is not caught: it ends the run.
    ///
    /// # Errors
    ///
    /// A [`LoadConfigError`] if the settings cannot run (see
    /// [`validate`](LoadTest::validate)); no task is called then.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_load::LoadTest;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), resilience_load::LoadConfigError> {
    /// let report = LoadTest::new()
    ///     .with_tasks(10_000)
    ///     .with_failure_rate(0.0)
    ///     .run(|i| async move { if i % 10 == 0 { Err("timeout") } else { Ok(i) } })
    ///     .await?;
    /// assert_eq!(report.failures_by_kind["timeout"], 1_000);
    /// assert_eq!(report.success_rate, 0.9);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run<F, Fut, T, E>(&self, mut task: F) -> Result<LoadReport, LoadConfigError>
    where
        F: FnMut(u64) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: FailureKind,
    {
        self.validate()?;
        let seed = self
            .seed
            .unwrap_or_else(|| resilience_runtime::random::u64_in(0..=u64::MAX));
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut latencies = Histogram::<u64>::new_with_bounds(1, MAX_LATENCY_NS, 3)
            .expect("1 ns to 1 h at 3 digits are valid bounds");
        let mut kinds = Kinds::default();
        let mut successes = 0_u64;
        let mut done = 0_u64;
        let progress = self.progress_bar();
        // About 200 updates over the run (indicatif redraws at most 20 times
        // a second), none more often than every task.
        let progress_every = (self.tasks / 200).clamp(1, PROGRESS_EVERY);

        // One call: `None` is an injected failure (the task is not called).
        // Latency counts from `since`: the start (closed) or the due time
        // (open).
        let call = |since: Instant, future: Option<Fut>| async move {
            let outcome = match future {
                Some(future) => future.await.map(drop).map_err(|e| e.kind()),
                None => Err(INJECTED),
            };
            (Instant::now().saturating_duration_since(since), outcome)
        };

        let start = Instant::now();
        let interval_ns = self.rate.map(|per_second| 1e9 / per_second);
        let mut in_flight = FuturesUnordered::new();
        let mut next = 0_u64;
        loop {
            // Refill. One clock read serves every task started in this pass.
            let now = Instant::now();
            let mut due_later = None;
            while in_flight.len() < self.concurrency && next < self.tasks {
                let since = match interval_ns {
                    None => now,
                    Some(ns) => {
                        let due = start + Duration::from_nanos((next as f64 * ns) as u64);
                        if due > now {
                            due_later = Some(due);
                            break;
                        }
                        due
                    }
                };
                let injected = rng.f64() < self.failure_rate;
                let future = if injected { None } else { Some(task(next)) };
                in_flight.push(call(since, future));
                next += 1;
            }

            let finished = match due_later {
                None => match in_flight.next().await {
                    Some(finished) => finished,
                    None => break,
                },
                Some(due) if in_flight.is_empty() => {
                    tokio::time::sleep_until(due).await;
                    continue;
                }
                Some(due) => {
                    let sleep = pin!(tokio::time::sleep_until(due));
                    match select(sleep, in_flight.next()).await {
                        Either::Left(_) => continue,
                        Either::Right((finished, _)) => {
                            finished.expect("a non-empty set yields a result")
                        }
                    }
                }
            };

            let (latency, outcome) = finished;
            latencies.saturating_record(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
            match outcome {
                Ok(()) => successes += 1,
                Err(kind) => kinds.add(kind),
            }
            done += 1;
            if let Some(bar) = &progress
                && done.is_multiple_of(progress_every)
            {
                bar.set_position(done);
            }
            // Calls that finish at once would otherwise keep this task busy
            // for the whole run; give the runtime its turn when the task's
            // budget is spent.
            tokio::task::consume_budget().await;
        }
        let duration = start.elapsed();
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
        Ok(LoadReport::new(
            self, seed, successes, kinds, duration, latencies,
        ))
    }

    fn progress_bar(&self) -> Option<ProgressBar> {
        if !self.progress || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::new(self.tasks);
        if let Ok(style) = ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} tasks ({eta} left)",
        ) {
            bar.set_style(style);
        }
        Some(bar)
    }
}
