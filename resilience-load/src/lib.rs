//! Load tests for async code (the guide's `stress_test`): many tasks, a
//! concurrency limit or a fixed arrival rate, injected failures, and a
//! report with latency percentiles from an HDR histogram.
//!
//! Depend on `resilience` with the `load` feature and use `resilience::load`;
//! this crate carries the heavy dependencies (hdrhistogram, indicatif,
//! plotters) so the common build does not.
//!
//! # The guide's code, translated
//!
//! ```python
//! async def stress_test(self, num_tasks=1000, concurrent_limit=50, failure_injection_rate=0.05):
//!     semaphore = asyncio.Semaphore(concurrent_limit)
//!     async def limited_task(task_id):
//!         async with semaphore:
//!             if random.random() < failure_injection_rate:
//!                 raise Exception(f"Injected failure for task {task_id}")
//!             await asyncio.sleep(random.uniform(0.1, 0.5))
//!             return f"completed_{task_id}"
//!     results = await asyncio.gather(*[limited_task(i) for i in range(num_tasks)], return_exceptions=True)
//!     ...
//! ```
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::Duration;
//! use resilience_load::LoadTest;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), resilience_load::LoadConfigError> {
//! let report = LoadTest::new() // 1000 tasks, 50 at a time, 5% injected failures
//!     .with_seed(42)
//!     .run(|task_id: u64| async move {
//!         tokio::time::sleep(Duration::from_millis(100 + task_id % 400)).await;
//!         Ok::<_, Infallible>(format!("completed_{task_id}"))
//!     })
//!     .await?;
//!
//! assert_eq!(report.tasks, 1000);
//! assert_eq!(report.successes + report.failures, 1000);
//! assert_eq!(report.failures_by_kind["injected"], report.failures);
//! println!("{report}"); // a table; report.to_json() for machines
//! # Ok(())
//! # }
//! ```
//!
//! # What differs from the guide
//!
//! - The tasks run inside the caller's task, at most
//!   [`with_concurrency`](LoadTest::with_concurrency) at a time (a bounded
//!   `FuturesUnordered` refilled as calls finish): no spawn per task, no
//!   list of a million futures or results kept until the end. Memory stays
//!   flat in the number of tasks.
//! - Each latency goes into one HDR histogram (nanoseconds, 3 significant
//!   digits): p50, p90, p99, p99.9 and max, and an SVG plot of them all
//!   ([`LoadReport::plot_svg`]).
//! - Failures are counted by kind ([`FailureKind`]); the injected ones
//!   under [`INJECTED`]. An injected failure does not call the task.
//! - Injected failures come from a seeded generator (one draw per task):
//!   the same seed gives the same failures. Without
//!   [`with_seed`](LoadTest::with_seed) the seed is drawn from
//!   [`resilience_runtime::random`], so `random::with_seed` around the run
//!   replays it too; the report says which seed was used.
//! - With [`with_rate`](LoadTest::with_rate) the run is an open model: task
//!   `i` is due at `start + i / rate`, whatever happened to the tasks
//!   before it, and its latency counts from that due time, not from when it
//!   could start (the correction for coordinated omission that wrk2 makes).
//!   A system that stalls shows the stall in every task that waited.
//! - Bad settings (no tasks, a concurrency of 0, a rate outside `0..=1`)
//!   are a [`LoadConfigError`], not a panic.
//! - A progress bar on standard error while it runs, only when that is a
//!   terminal.

mod config;
mod kind;
mod plot;
mod report;
mod run;

pub use config::{LoadConfigError, LoadTest};
pub use hdrhistogram::Histogram;
pub use kind::{FailureKind, INJECTED};
pub use plot::PlotError;
pub use report::LoadReport;
