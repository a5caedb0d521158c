//! Success-path overhead of `#[retry]`, `#[timeout]` and `#[fallback]`,
//! against the same logic written by hand, against `backon` and against
//! `tower`, in one run.
//!
//! Every variant of groups 1-4 calls the same operation, [`op`], an `async fn`
//! that takes a borrowed `&u64` and returns `Ok` at once (after `black_box`);
//! group 5 calls [`flaky`], which borrows a `Cell` counter. So the
//! measured body allocates nothing and every difference within a group is the
//! wrapper's own cost. Each group holds one job done several ways; compare
//! numbers within a group (same run, same machine state), not across runs.
//!
//! All futures run on one current-thread tokio runtime with the time driver
//! enabled (needed by every timeout). No `tracing` subscriber and no
//! `resilience::events` listener is installed, as in a program that does not
//! look at the events.
//!
//! Groups:
//! 1. `retry`: `#[retry(attempts = 3)]` (exponential from 100ms), a hand-written
//!    loop, backon `ExponentialBuilder` (3 attempts), tower `Retry` (2 retries).
//! 2. `timeout`: `#[timeout("30s")]`, `tokio::time::timeout`, tower `Timeout`.
//! 3. `retry_timeout`: a 30s timeout on each of 3 attempts, four ways.
//! 4. `fallback_retry_timeout`: `#[fallback(default = 0)]` on top of group 3's
//!    stack, against the same by hand.
//! 5. `one_retry_zero_delay`: the cost of one retry (see [`one_retry_group`]).
//!
//! After criterion, the sizes of the (created, never polled) futures are
//! printed, decorated beside hand-written.
//!
//! Run: `cargo bench --bench overhead`.

use std::cell::Cell;
use std::hint::black_box;
use std::mem::size_of_val;
use std::time::Duration;

use backon::{ConstantBuilder, ExponentialBuilder, Retryable};
use criterion::{BenchmarkGroup, Criterion, criterion_group, measurement::WallTime};
use futures::future::Either;
use resilience::{fallback, retry, timeout};
use tokio::runtime::Runtime;
use tower::{Service, ServiceBuilder, ServiceExt};

// ---------------------------------------------------------------------------
// The operation and its error
// ---------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
enum BenchError {
    /// What `#[timeout]` returns.
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
    /// What the hand-written and backon timeouts return.
    #[error(transparent)]
    TokioTimeout(#[from] tokio::time::error::Elapsed),
    /// The first call of [`flaky`].
    #[error("flaky operation failed")]
    Flaky,
}

/// The decorated operation: succeeds at once.
async fn op(input: &u64) -> Result<u64, BenchError> {
    Ok(black_box(*input))
}

/// Fails on its first call, then succeeds. The counter lives on the stack of
/// the measured future, so nothing is allocated.
async fn flaky(calls: &Cell<u32>) -> Result<u64, BenchError> {
    let n = calls.get() + 1;
    calls.set(n);
    if black_box(n) == 1 {
        Err(BenchError::Flaky)
    } else {
        Ok(u64::from(n))
    }
}

/// The policy that `#[retry(attempts = 3)]` uses by default, spelled out for
/// the others: 3 attempts, exponential backoff from 100ms, factor 2.
const ATTEMPTS: u32 = 3;
const BASE_DELAY: Duration = Duration::from_millis(100);
const LIMIT: Duration = Duration::from_secs(30);

/// backon: `with_max_times` counts retries, so 2 retries = 3 attempts.
const BACKON_EXP: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(BASE_DELAY)
    .with_factor(2.0)
    .with_max_times(ATTEMPTS as usize - 1);

// ---------------------------------------------------------------------------
// 1. retry
// ---------------------------------------------------------------------------

#[retry(attempts = 3)]
async fn ours_retry(input: &u64) -> Result<u64, BenchError> {
    op(input).await
}

/// What a careful programmer writes for 3 attempts with exponential backoff.
async fn hand_retry(input: &u64) -> Result<u64, BenchError> {
    let mut attempt = 1;
    let mut delay = BASE_DELAY;
    loop {
        match op(input).await {
            Ok(v) => break Ok(v),
            Err(e) if attempt >= ATTEMPTS => break Err(e),
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
        }
    }
}

/// A tower retry policy allowing 2 retries with exponential backoff from
/// 100ms. Tower clones the policy into each call's future, so the counters
/// are per call.
#[derive(Clone, Copy)]
struct TowerRetry {
    retries_left: u32,
    delay: Duration,
}

impl TowerRetry {
    const fn new() -> Self {
        Self {
            retries_left: ATTEMPTS - 1,
            delay: BASE_DELAY,
        }
    }
}

impl<Req: Copy, Res, E> tower::retry::Policy<Req, Res, E> for TowerRetry {
    type Future = tokio::time::Sleep;

    fn retry(&mut self, _req: &mut Req, result: &mut Result<Res, E>) -> Option<Self::Future> {
        if result.is_ok() || self.retries_left == 0 {
            return None;
        }
        self.retries_left -= 1;
        let delay = self.delay;
        self.delay = delay.saturating_mul(2);
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, req: &Req) -> Option<Req> {
        Some(*req)
    }
}

/// One tower call as an application makes it: a clone of the (cheap,
/// allocation-free) service, `poll_ready`, then `call`.
fn tower_call<'a, S>(svc: &S, input: &'a u64) -> tower::util::Oneshot<S, &'a u64>
where
    S: Service<&'a u64> + Clone,
{
    svc.clone().oneshot(input)
}

fn retry_group(g: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime) {
    let input = 42_u64;
    let tower_svc = ServiceBuilder::new()
        .retry(TowerRetry::new())
        .service_fn(op);

    g.bench_function("ours", |b| {
        b.to_async(rt).iter(|| ours_retry(black_box(&input)));
    });
    g.bench_function("hand_written", |b| {
        b.to_async(rt).iter(|| hand_retry(black_box(&input)));
    });
    g.bench_function("backon", |b| {
        b.to_async(rt)
            .iter(|| (|| op(black_box(&input))).retry(BACKON_EXP));
    });
    g.bench_function("tower", |b| {
        b.to_async(rt)
            .iter(|| tower_call(&tower_svc, black_box(&input)));
    });
}

// ---------------------------------------------------------------------------
// 2. timeout
// ---------------------------------------------------------------------------

#[timeout("30s")]
async fn ours_timeout(input: &u64) -> Result<u64, BenchError> {
    op(input).await
}

async fn hand_timeout(input: &u64) -> Result<u64, BenchError> {
    match tokio::time::timeout(LIMIT, op(input)).await {
        Ok(result) => result,
        Err(elapsed) => Err(BenchError::TokioTimeout(elapsed)),
    }
}

fn timeout_group(g: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime) {
    let input = 42_u64;
    let tower_svc = ServiceBuilder::new().timeout(LIMIT).service_fn(op);

    g.bench_function("ours", |b| {
        b.to_async(rt).iter(|| ours_timeout(black_box(&input)));
    });
    g.bench_function("hand_written", |b| {
        b.to_async(rt).iter(|| hand_timeout(black_box(&input)));
    });
    g.bench_function("tower", |b| {
        b.to_async(rt)
            .iter(|| tower_call(&tower_svc, black_box(&input)));
    });
}

// ---------------------------------------------------------------------------
// 3. retry + per-attempt timeout
// ---------------------------------------------------------------------------

#[retry(attempts = 3)]
#[timeout("30s")]
async fn ours_retry_timeout(input: &u64) -> Result<u64, BenchError> {
    op(input).await
}

async fn hand_retry_timeout(input: &u64) -> Result<u64, BenchError> {
    let mut attempt = 1;
    let mut delay = BASE_DELAY;
    loop {
        let result = match tokio::time::timeout(LIMIT, op(input)).await {
            Ok(result) => result,
            Err(elapsed) => Err(BenchError::TokioTimeout(elapsed)),
        };
        match result {
            Ok(v) => break Ok(v),
            Err(e) if attempt >= ATTEMPTS => break Err(e),
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
        }
    }
}

fn retry_timeout_group(g: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime) {
    let input = 42_u64;
    let tower_svc = ServiceBuilder::new()
        .retry(TowerRetry::new())
        .timeout(LIMIT)
        .service_fn(op);

    g.bench_function("ours", |b| {
        b.to_async(rt)
            .iter(|| ours_retry_timeout(black_box(&input)));
    });
    g.bench_function("hand_written", |b| {
        b.to_async(rt)
            .iter(|| hand_retry_timeout(black_box(&input)));
    });
    g.bench_function("backon_tokio_timeout", |b| {
        b.to_async(rt)
            .iter(|| (|| hand_timeout(black_box(&input))).retry(BACKON_EXP));
    });
    g.bench_function("tower", |b| {
        b.to_async(rt)
            .iter(|| tower_call(&tower_svc, black_box(&input)));
    });
}

// ---------------------------------------------------------------------------
// 4. fallback + retry + timeout
// ---------------------------------------------------------------------------

#[fallback(default = 0)]
#[retry(attempts = 3)]
#[timeout("30s")]
async fn ours_full(input: &u64) -> Result<u64, BenchError> {
    op(input).await
}

async fn hand_full(input: &u64) -> Result<u64, BenchError> {
    let mut attempt = 1;
    let mut delay = BASE_DELAY;
    let result = loop {
        let result = match tokio::time::timeout(LIMIT, op(input)).await {
            Ok(result) => result,
            Err(elapsed) => Err(BenchError::TokioTimeout(elapsed)),
        };
        match result {
            Ok(v) => break Ok(v),
            Err(e) if attempt >= ATTEMPTS => break Err(e),
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
        }
    };
    match result {
        Ok(v) => Ok(v),
        Err(_) => Ok(0),
    }
}

fn full_group(g: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime) {
    let input = 42_u64;
    g.bench_function("ours", |b| {
        b.to_async(rt).iter(|| ours_full(black_box(&input)));
    });
    g.bench_function("hand_written", |b| {
        b.to_async(rt).iter(|| hand_full(black_box(&input)));
    });
}

// ---------------------------------------------------------------------------
// 5. one retry with zero delay
// ---------------------------------------------------------------------------

/// 2 attempts, constant zero delay. `#[retry]` rejects a zero delay at
/// compile time, and a 1ns delay would be rounded up by tokio's timer to the
/// next millisecond tick, so this policy is driven by hand below.
const ZERO_DELAY: resilience::__private::RetryPolicy =
    resilience::__private::RetryPolicy::new("one_retry")
        .with_attempts(2)
        .with_backoff(resilience::__private::Backoff::constant(Duration::ZERO));

/// Our runtime driven as the generated `#[retry]` loop drives it (same
/// `RetryState::next_delay` call, same `error_ref!` view of the error), except
/// that a zero delay skips the sleep, as a hand-written loop would.
async fn ours_one_retry(calls: &Cell<u32>) -> Result<u64, BenchError> {
    let mut state = resilience::__private::RetryState::new();
    loop {
        match flaky(calls).await {
            Ok(v) => break Ok(v),
            Err(e) => match state.next_delay(
                &ZERO_DELAY,
                true,
                None,
                None,
                resilience::__private::error_ref!(&e),
            ) {
                Some(delay) if delay.is_zero() => {}
                Some(delay) => resilience::__private::sleep(delay).await,
                None => break Err(e),
            },
        }
    }
}

/// The same, but always sleeping for the delay, zero included, as the
/// generated loop would if it accepted a zero delay (and as backon does).
async fn ours_one_retry_sleep0(calls: &Cell<u32>) -> Result<u64, BenchError> {
    let mut state = resilience::__private::RetryState::new();
    loop {
        match flaky(calls).await {
            Ok(v) => break Ok(v),
            Err(e) => match state.next_delay(
                &ZERO_DELAY,
                true,
                None,
                None,
                resilience::__private::error_ref!(&e),
            ) {
                Some(delay) => resilience::__private::sleep(delay).await,
                None => break Err(e),
            },
        }
    }
}

/// The same job without any library: count attempts, no event, no sleep.
async fn hand_one_retry(calls: &Cell<u32>) -> Result<u64, BenchError> {
    let mut attempt = 1;
    loop {
        match flaky(calls).await {
            Ok(v) => break Ok(v),
            Err(e) if attempt >= 2 => break Err(e),
            Err(_) => attempt += 1,
        }
    }
}

const BACKON_ZERO: ConstantBuilder = ConstantBuilder::new()
    .with_delay(Duration::ZERO)
    .with_max_times(1);

/// A backon sleeper that skips a zero delay, as [`ours_one_retry`] does.
fn sleep_unless_zero(delay: Duration) -> Either<std::future::Ready<()>, tokio::time::Sleep> {
    if delay.is_zero() {
        Either::Left(std::future::ready(()))
    } else {
        Either::Right(tokio::time::sleep(delay))
    }
}

/// What is measured, per iteration: a fresh call counter on the stack, then a
/// call that fails once and succeeds on the second attempt. So each number is
/// two calls of [`flaky`] plus the retry machinery for one retry;
/// `hand_written` (two calls and a counter) is the floor, and the difference
/// from it is the cost of the retry machinery alone.
///
/// - `ours`: [`ours_one_retry`]: `RetryState::new`, one
///   `RetryState::next_delay` (checks, backoff delay, and a `Retry` event:
///   a `tracing::warn!` with no subscriber plus the listener check), no sleep.
/// - `ours_sleep0`: the same plus `tokio::time::sleep(Duration::ZERO).await`,
///   which is what the generated loop does with any delay.
/// - `hand_written`: an attempt counter, no event, no sleep.
/// - `backon`: `ConstantBuilder` (zero delay, 1 retry): builds the backoff,
///   and on the error takes its next delay and awaits
///   `tokio::time::sleep(Duration::ZERO)` (backon always sleeps).
/// - `backon_skip_zero`: the same with a sleeper that skips a zero delay
///   ([`sleep_unless_zero`]), the like-for-like comparison with `ours`.
///
/// Beware `ours_sleep0` and `backon`: tokio's timer rounds a deadline up to
/// the next millisecond tick, so a zero sleep that is registered waits for
/// that tick (about 1ms on an idle runtime); those two numbers measure the
/// timer, not the retry.
fn one_retry_group(g: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime) {
    g.bench_function("ours", |b| {
        b.to_async(rt).iter(|| async {
            let calls = Cell::new(0);
            ours_one_retry(black_box(&calls)).await
        });
    });
    g.bench_function("ours_sleep0", |b| {
        b.to_async(rt).iter(|| async {
            let calls = Cell::new(0);
            ours_one_retry_sleep0(black_box(&calls)).await
        });
    });
    g.bench_function("hand_written", |b| {
        b.to_async(rt).iter(|| async {
            let calls = Cell::new(0);
            hand_one_retry(black_box(&calls)).await
        });
    });
    g.bench_function("backon", |b| {
        b.to_async(rt).iter(|| async {
            let calls = Cell::new(0);
            let calls = black_box(&calls);
            (|| flaky(calls)).retry(BACKON_ZERO).await
        });
    });
    g.bench_function("backon_skip_zero", |b| {
        b.to_async(rt).iter(|| async {
            let calls = Cell::new(0);
            let calls = black_box(&calls);
            (|| flaky(calls))
                .retry(BACKON_ZERO)
                .sleep(sleep_unless_zero)
                .await
        });
    });
}

// ---------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread tokio runtime")
}

/// One group: its benchmarks, registered on a shared runtime.
type Group = fn(&mut BenchmarkGroup<'_, WallTime>, &Runtime);

fn overhead(c: &mut Criterion) {
    let rt = runtime();
    let groups: [(&str, Group); 5] = [
        ("retry", retry_group),
        ("timeout", timeout_group),
        ("retry_timeout", retry_timeout_group),
        ("fallback_retry_timeout", full_group),
        ("one_retry_zero_delay", one_retry_group),
    ];
    for (name, bench) in groups {
        let mut g = c.benchmark_group(name);
        bench(&mut g, &rt);
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = overhead
}

/// Sizes of the futures, created and never polled (dropping an unpolled
/// future runs no code of the fn).
fn print_sizes() {
    let input = 42_u64;
    let calls = Cell::new(0);
    let tower_retry = ServiceBuilder::new()
        .retry(TowerRetry::new())
        .service_fn(op);
    let tower_timeout = ServiceBuilder::new().timeout(LIMIT).service_fn(op);
    let tower_retry_timeout_svc = ServiceBuilder::new()
        .retry(TowerRetry::new())
        .timeout(LIMIT)
        .service_fn(op);

    let rows = [
        ("op (the bare operation)", "-", size_of_val(&op(&input))),
        ("retry", "ours", size_of_val(&ours_retry(&input))),
        ("retry", "hand_written", size_of_val(&hand_retry(&input))),
        (
            "retry",
            "backon",
            size_of_val(&(|| op(&input)).retry(BACKON_EXP)),
        ),
        (
            "retry",
            "tower",
            size_of_val(&tower_call(&tower_retry, &input)),
        ),
        ("timeout", "ours", size_of_val(&ours_timeout(&input))),
        (
            "timeout",
            "hand_written",
            size_of_val(&hand_timeout(&input)),
        ),
        (
            "timeout",
            "tower",
            size_of_val(&tower_call(&tower_timeout, &input)),
        ),
        (
            "retry_timeout",
            "ours",
            size_of_val(&ours_retry_timeout(&input)),
        ),
        (
            "retry_timeout",
            "hand_written",
            size_of_val(&hand_retry_timeout(&input)),
        ),
        (
            "retry_timeout",
            "backon_tokio_timeout",
            size_of_val(&(|| hand_timeout(&input)).retry(BACKON_EXP)),
        ),
        (
            "retry_timeout",
            "tower",
            size_of_val(&tower_call(&tower_retry_timeout_svc, &input)),
        ),
        (
            "fallback_retry_timeout",
            "ours",
            size_of_val(&ours_full(&input)),
        ),
        (
            "fallback_retry_timeout",
            "hand_written",
            size_of_val(&hand_full(&input)),
        ),
        (
            "one_retry_zero_delay",
            "ours",
            size_of_val(&ours_one_retry(&calls)),
        ),
        (
            "one_retry_zero_delay",
            "ours_sleep0",
            size_of_val(&ours_one_retry_sleep0(&calls)),
        ),
        (
            "one_retry_zero_delay",
            "hand_written",
            size_of_val(&hand_one_retry(&calls)),
        ),
        (
            "one_retry_zero_delay",
            "backon",
            size_of_val(&(|| flaky(&calls)).retry(BACKON_ZERO)),
        ),
        (
            "one_retry_zero_delay",
            "backon_skip_zero",
            size_of_val(
                &(|| flaky(&calls))
                    .retry(BACKON_ZERO)
                    .sleep(sleep_unless_zero),
            ),
        ),
    ];
    println!();
    println!("Future sizes (bytes, created and not polled):");
    println!("{:<26} {:<22} {:>6}", "group", "variant", "bytes");
    for (group, variant, bytes) in rows {
        println!("{group:<26} {variant:<22} {bytes:>6}");
    }
}

/// Every variant must take the path it claims to measure: the success path
/// (`Ok(42)`), or exactly one retry (`Ok(2)`: the second call succeeded).
fn check_variants() {
    let rt = runtime();
    let input = 42_u64;
    let tower_retry = ServiceBuilder::new()
        .retry(TowerRetry::new())
        .service_fn(op);
    let tower_timeout = ServiceBuilder::new().timeout(LIMIT).service_fn(op);
    let tower_both = ServiceBuilder::new()
        .retry(TowerRetry::new())
        .timeout(LIMIT)
        .service_fn(op);
    rt.block_on(async {
        assert_eq!(ours_retry(&input).await.ok(), Some(42));
        assert_eq!(hand_retry(&input).await.ok(), Some(42));
        assert_eq!((|| op(&input)).retry(BACKON_EXP).await.ok(), Some(42));
        assert_eq!(tower_call(&tower_retry, &input).await.ok(), Some(42));
        assert_eq!(ours_timeout(&input).await.ok(), Some(42));
        assert_eq!(hand_timeout(&input).await.ok(), Some(42));
        assert_eq!(tower_call(&tower_timeout, &input).await.ok(), Some(42));
        assert_eq!(ours_retry_timeout(&input).await.ok(), Some(42));
        assert_eq!(hand_retry_timeout(&input).await.ok(), Some(42));
        let backon = (|| hand_timeout(&input)).retry(BACKON_EXP);
        assert_eq!(backon.await.ok(), Some(42));
        assert_eq!(tower_call(&tower_both, &input).await.ok(), Some(42));
        assert_eq!(ours_full(&input).await.ok(), Some(42));
        assert_eq!(hand_full(&input).await.ok(), Some(42));
        let once = || Cell::new(0);
        assert_eq!(ours_one_retry(&once()).await.ok(), Some(2));
        assert_eq!(ours_one_retry_sleep0(&once()).await.ok(), Some(2));
        assert_eq!(hand_one_retry(&once()).await.ok(), Some(2));
        let calls = once();
        assert_eq!((|| flaky(&calls)).retry(BACKON_ZERO).await.ok(), Some(2));
        let calls = once();
        let skip = (|| flaky(&calls))
            .retry(BACKON_ZERO)
            .sleep(sleep_unless_zero);
        assert_eq!(skip.await.ok(), Some(2));
    });
}

fn main() {
    check_variants();
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_sizes();
}
