//! The load test harness against the same run written by hand, in one
//! process: the guide's own stress test (1,000,000 tasks, 50 at a time, 5%
//! injected failures, no work).
//!
//! - Ours: [`LoadTest::run`], with the latency histogram (one record per
//!   task) and failures by kind.
//! - By hand: the usual tokio translation of the guide, a `tokio::spawn`
//!   per task holding an `OwnedSemaphorePermit` of a 50-permit `Semaphore`,
//!   failures drawn from the same seeded `fastrand`, finished tasks reaped
//!   from a `JoinSet` as they go (so memory stays flat too), successes and
//!   failures counted. No latency at all: it does less than ours.
//!
//! Both run on a current-thread runtime and on the multi-thread one (2
//! workers on this machine). Criterion times a 100k-task run of each; then
//! the 1M-task runs alternate ([`ROUNDS`] rounds, each timing both) and the
//! medians give the figures. The last line is
//! `load: ours N tasks/s, hand-written M tasks/s, ratio R` for the
//! multi-thread runtime (what `#[tokio::main]` gives), preceded by one
//! line per runtime.
//!
//! Run: `cargo bench --features load --bench load`.

mod common;

use common::interleaved;
use std::convert::Infallible;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use resilience::load::LoadTest;
use tokio::runtime::{Builder, Runtime};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const TASKS: u64 = 1_000_000;
const CRITERION_TASKS: u64 = 100_000;
const CONCURRENCY: usize = 50;
const FAILURE_RATE: f64 = 0.05;
const SEED: u64 = 42;
/// Interleaved rounds for the summary.
const ROUNDS: usize = 7;

/// Ours: returns (successes, failures).
async fn ours(tasks: u64) -> (u64, u64) {
    let report = LoadTest::new()
        .with_tasks(tasks)
        .with_concurrency(CONCURRENCY)
        .with_failure_rate(FAILURE_RATE)
        .with_seed(SEED)
        .with_progress(false)
        .run(|i| async move { Ok::<_, Infallible>(black_box(i)) })
        .await
        .expect("valid settings");
    black_box(report.p99_us);
    (report.successes, report.failures)
}

/// By hand: a spawn per task under a semaphore.
async fn hand(tasks: u64) -> (u64, u64) {
    let semaphore = Arc::new(Semaphore::new(CONCURRENCY));
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut set = JoinSet::new();
    let (mut successes, mut failures) = (0_u64, 0_u64);
    let mut count = |result: Result<Result<u64, String>, _>| match result {
        Ok(Ok(_)) => successes += 1,
        _ => failures += 1,
    };
    for i in 0..tasks {
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let inject = rng.f64() < FAILURE_RATE;
        set.spawn(async move {
            let _permit = permit;
            if inject {
                Err(format!("Injected failure for task {i}"))
            } else {
                Ok(black_box(i))
            }
        });
        while let Some(result) = set.try_join_next() {
            count(result);
        }
    }
    while let Some(result) = set.join_next().await {
        count(result);
    }
    (successes, failures)
}

fn runtimes() -> [(&'static str, Runtime); 2] {
    let current = Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let multi = Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    [("current-thread", current), ("multi-thread", multi)]
}

fn main() {
    let runtimes = runtimes();
    for (_, rt) in &runtimes {
        let (s, f) = rt.block_on(ours(TASKS));
        assert_eq!(s + f, TASKS);
        assert!((40_000..60_000).contains(&f), "{f} injected failures");
        assert_eq!(
            rt.block_on(hand(TASKS)),
            (s, f),
            "the same seed fails the same tasks"
        );
    }

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10)
        .configure_from_args();
    for (name, rt) in &runtimes {
        let mut g = c.benchmark_group(format!("load_100k_tasks_c50_5pct_{name}"));
        g.bench_function("ours", |b| b.iter(|| rt.block_on(ours(CRITERION_TASKS))));
        g.bench_function("hand_written_spawn_semaphore", |b| {
            b.iter(|| rt.block_on(hand(CRITERION_TASKS)))
        });
        g.finish();
    }
    c.final_summary();

    let per_second = |d: Duration| TASKS as f64 / d.as_secs_f64();
    println!();
    println!("Interleaved, {TASKS} tasks, median of {ROUNDS} rounds:");
    let mut last = String::new();
    for (name, rt) in &runtimes {
        let (o, h) = interleaved(
            ROUNDS,
            || rt.block_on(ours(TASKS)),
            || rt.block_on(hand(TASKS)),
        );
        let (o, h) = (per_second(o), per_second(h));
        let figures = format!(
            "ours {o:.0} tasks/s, hand-written {h:.0} tasks/s, ratio {:.2}",
            o / h
        );
        println!("{name}: {figures}");
        last = figures; // the multi-thread runtime's, printed last
    }
    println!("load: {last}");
}
