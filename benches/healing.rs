//! Success-path cost of `#[self_healing]` and `#[agent]`, against the same
//! logic written by hand and against the bare call, in one run.
//!
//! 1. `self_healing`: a call that succeeds, decorated with
//!    `#[self_healing(state = HEALTH)]`; by hand, what a careful programmer
//!    writes: an `AtomicBool` "given up" checked before the call and an
//!    `AtomicU32` failure count reset after a success (a load, and a store
//!    only if it was not 0); and the bare call.
//! 2. `agent`: `#[agent(name = self.name)]` (an `AgentName` cloned per call,
//!    the call run in a tokio task-local scope, which swaps the name in and
//!    out on each poll), against the bare call. By hand there is no cheaper
//!    way to put a name on events that code below emits: the bare call is
//!    the floor.
//! 3. `many_tasks`: 8 tasks on a multi-thread runtime call one healthy
//!    self-healing agent 10,000 times each, against the bare call: the
//!    success path writes nothing, so the shared `Health` stays read-only in
//!    the cores' caches.
//!
//! The calls return at once (after `black_box`), so the differences are the
//! wrappers' own cost. No `tracing` subscriber and no event listener is
//! installed. After criterion, each pair runs again interleaved
//! ([`ROUNDS`] rounds of [`BATCH`] calls) and the last lines print the
//! ratios of the medians.
//!
//! Run: `cargo bench --bench healing`.

mod common;

use std::hint::black_box;
use std::mem::size_of_val;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use common::interleaved;
use criterion::Criterion;
use resilience::{Abandoned, AgentName, Health, agent, self_healing};
use tokio::runtime::Runtime;

/// Interleaved rounds for the summary.
const ROUNDS: usize = 31;
/// Calls per timing.
const BATCH: u64 = 100_000;
/// Calls per task in `many_tasks`.
const PER_TASK: u64 = 10_000;
const TASKS: usize = 8;

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error(transparent)]
    Abandoned(#[from] Abandoned),
    #[error("failed")]
    Failed,
}

/// The call: succeeds at once.
async fn op(input: &u64) -> Result<u64, BenchError> {
    let input = black_box(*input);
    if input == u64::MAX {
        Err(BenchError::Failed)
    } else {
        Ok(input)
    }
}

static HEALTH: Health = Health::new();

#[self_healing(state = HEALTH)]
async fn ours_healing(input: &u64) -> Result<u64, BenchError> {
    op(input).await
}

static GIVEN_UP: AtomicBool = AtomicBool::new(false);
static FAILURES: AtomicU32 = AtomicU32::new(0);

/// By hand: refuse if given up, count failures, reset on success.
async fn hand_healing(input: &u64) -> Result<u64, BenchError> {
    if GIVEN_UP.load(Ordering::Relaxed) {
        return Err(BenchError::Failed);
    }
    let result = op(input).await;
    if result.is_ok() {
        if FAILURES.load(Ordering::Relaxed) != 0 {
            FAILURES.store(0, Ordering::Relaxed);
        }
    } else if FAILURES.fetch_add(1, Ordering::Relaxed) + 1 == 3 {
        eprintln!("needs help");
    }
    result
}

struct Named {
    name: AgentName,
}

impl Named {
    #[agent(name = self.name)]
    async fn ours_agent(&self, input: &u64) -> Result<u64, BenchError> {
        op(input).await
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime")
}

/// Runs `BATCH` calls of `$call` (with `$x` bound to `&i`) on `$rt`.
macro_rules! batch {
    ($rt:expr, |$x:ident| $call:expr) => {
        $rt.block_on(async {
            let mut sum = 0;
            for i in 0..BATCH {
                let $x = &i;
                sum += $call.await.unwrap_or(0);
            }
            sum
        })
    };
}

fn many_tasks<F>(rt: &Runtime, call: fn(u64) -> F) -> u64
where
    F: Future<Output = u64> + Send + 'static,
{
    rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS as u64).map(|t| tokio::spawn(call(t))).collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.expect("no panic");
        }
        sum
    })
}

async fn task_ours(seed: u64) -> u64 {
    let mut sum = 0;
    for i in 0..PER_TASK {
        sum += ours_healing(&(seed + i)).await.unwrap_or(0);
    }
    sum
}

async fn task_bare(seed: u64) -> u64 {
    let mut sum = 0;
    for i in 0..PER_TASK {
        sum += op(&(seed + i)).await.unwrap_or(0);
    }
    sum
}

fn main() {
    let rt = runtime();
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(TASKS.min(4))
        .build()
        .expect("a runtime");
    let named = Arc::new(Named {
        name: AgentName::new("bench-agent"),
    });
    let expected = batch!(rt, |x| op(x));
    assert_eq!(batch!(rt, |x| ours_healing(x)), expected);
    assert_eq!(batch!(rt, |x| hand_healing(x)), expected);
    assert_eq!(batch!(rt, |x| named.ours_agent(x)), expected);
    assert_eq!(many_tasks(&multi, task_ours), many_tasks(&multi, task_bare));

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    {
        let mut g = c.benchmark_group("self_healing");
        let input = 42_u64;
        g.bench_function("ours", |b| {
            b.to_async(&rt).iter(|| ours_healing(black_box(&input)));
        });
        g.bench_function("hand_written", |b| {
            b.to_async(&rt).iter(|| hand_healing(black_box(&input)));
        });
        g.bench_function("bare", |b| {
            b.to_async(&rt).iter(|| op(black_box(&input)));
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("agent");
        let input = 42_u64;
        g.bench_function("ours", |b| {
            b.to_async(&rt).iter(|| named.ours_agent(black_box(&input)));
        });
        g.bench_function("bare", |b| {
            b.to_async(&rt).iter(|| op(black_box(&input)));
        });
        g.finish();
    }
    c.final_summary();

    let (ho, hh) = interleaved(
        ROUNDS,
        || batch!(rt, |x| ours_healing(x)),
        || batch!(rt, |x| hand_healing(x)),
    );
    let (_, hb) = interleaved(
        ROUNDS,
        || batch!(rt, |x| ours_healing(x)),
        || batch!(rt, |x| op(x)),
    );
    let (ao, ab) = interleaved(
        ROUNDS,
        || batch!(rt, |x| named.ours_agent(x)),
        || batch!(rt, |x| op(x)),
    );
    let (mo, mb) = interleaved(
        ROUNDS,
        || many_tasks(&multi, task_ours),
        || many_tasks(&multi, task_bare),
    );
    let x = 1_u64;
    println!();
    println!(
        "Future sizes: self_healing ours {} B, hand {} B, bare {} B; agent ours {} B",
        size_of_val(&ours_healing(&x)),
        size_of_val(&hand_healing(&x)),
        size_of_val(&op(&x)),
        size_of_val(&named.ours_agent(&x)),
    );
    println!("Interleaved, median of {ROUNDS} rounds of {BATCH} calls:");
    println!("self_healing: ours {ho:?}, by hand {hh:?}, bare {hb:?}");
    println!("agent: ours {ao:?}, bare {ab:?}");
    println!("many_tasks ({TASKS} tasks x {PER_TASK} calls): ours {mo:?}, bare {mb:?}");
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("self_healing: ours/hand {:.2}", ratio(ho, hh));
    println!("self_healing: ours/bare {:.2}", ratio(ho, hb));
    println!("agent: ours/bare {:.2}", ratio(ao, ab));
    println!("many_tasks: ours/bare {:.2}", ratio(mo, mb));
}
