//! Success-path cost of `#[bulkhead]` and `#[hedge]`, against the same
//! logic written by hand and against `tower-resilience`'s bulkhead and hedge
//! layers (part of `benches/health.rs`).
//!
//! Every variant calls the same operation, [`op`], an `async fn` that takes
//! a `u64` by value (`tower-resilience` needs `'static` requests) and
//! returns `Ok` at once. One measurement is a batch of [`BATCH`] calls made
//! one after the other on a current-thread runtime with the time driver on;
//! so a bulkhead is never contended and the first attempt of a hedge always
//! answers before the delay: this is the cost every call pays.
//!
//! Groups:
//! 1. `bulkhead`: `#[bulkhead(max = 8)]` (the fn's own static),
//!    `#[bulkhead(state = POOL)]` (a shared static), by hand (a
//!    `tokio::sync::Semaphore` static and `try_acquire`), and
//!    `tower-resilience` `BulkheadLayer` (8 calls, `reject_when_full`),
//!    called as `ready().await?.call(x)` on one service.
//! 2. `hedge`: `#[hedge(after = "2s", attempts = 2)]`, by hand (the first
//!    attempt and a 2s sleep in a biased `tokio::select!`, then both
//!    attempts raced), and `tower-resilience` `HedgeLayer` (2s, 2 attempts).
//!
//! After criterion, each variant runs again, interleaved with its rivals
//! ([`ROUNDS`] rounds), and the medians' ratios are printed:
//! `bulkhead: ours/hand R`, `bulkhead: ours/tower-resilience R`, and the
//! same for `hedge`; then the sizes of the futures.

use std::cell::RefCell;
use std::hint::black_box;
use std::mem::size_of_val;
use std::time::Duration;

use criterion::Criterion;
use resilience::{Bulkhead, Rejected, bulkhead, hedge};
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tower::{Layer, Service, ServiceExt};
use tower_resilience::bulkhead::BulkheadLayer;
use tower_resilience::hedge::HedgeLayer;

use crate::common::interleaved;

/// Calls per timing.
pub(crate) const BATCH: u64 = 1_000;
/// Interleaved rounds for the summary.
const ROUNDS: usize = 101;
const AFTER: Duration = Duration::from_secs(2);

#[derive(Clone, Debug, thiserror::Error)]
enum BenchError {
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error("full")]
    Full,
    #[error("failed")]
    Failed,
}

/// The operation: succeeds at once.
async fn op(input: u64) -> Result<u64, BenchError> {
    if black_box(input) == u64::MAX {
        return Err(BenchError::Failed);
    }
    Ok(black_box(input))
}

// ---------------------------------------------------------------------------
// 1. bulkhead
// ---------------------------------------------------------------------------

#[bulkhead(max = 8)]
async fn ours_bulkhead(input: u64) -> Result<u64, BenchError> {
    op(input).await
}

static POOL: Bulkhead = Bulkhead::new(8).with_name("pool");

#[bulkhead(state = POOL)]
async fn ours_bulkhead_shared(input: u64) -> Result<u64, BenchError> {
    op(input).await
}

static HAND_SLOTS: Semaphore = Semaphore::const_new(8);

/// What a careful programmer writes: a semaphore, turned away when full.
async fn hand_bulkhead(input: u64) -> Result<u64, BenchError> {
    let _slot = HAND_SLOTS.try_acquire().map_err(|_| BenchError::Full)?;
    op(input).await
}

// ---------------------------------------------------------------------------
// 2. hedge
// ---------------------------------------------------------------------------

#[hedge(after = "2s", attempts = 2)]
async fn ours_hedge(input: u64) -> Result<u64, BenchError> {
    op(input).await
}

/// What a careful programmer writes for one hedge after 2s: wait for the
/// first attempt or the delay; then race both, the first `Ok` winning.
async fn hand_hedge(input: u64) -> Result<u64, BenchError> {
    let first = op(input);
    tokio::pin!(first);
    let delay = tokio::time::sleep(AFTER);
    tokio::pin!(delay);
    tokio::select! {
        biased;
        result = &mut first => match result {
            Ok(value) => return Ok(value),
            // Failed before the delay: the hedge runs alone.
            Err(_) => return op(input).await,
        },
        () = &mut delay => {}
    }
    let second = op(input);
    tokio::pin!(second);
    tokio::select! {
        biased;
        result = &mut first => match result {
            Ok(value) => Ok(value),
            Err(_) => second.await,
        },
        result = &mut second => match result {
            Ok(value) => Ok(value),
            Err(_) => first.await,
        },
    }
}

// ---------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------

async fn batch_fn<F, Fut>(f: F) -> u64
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<u64, BenchError>>,
{
    let mut sum = 0;
    for i in 0..BATCH {
        sum += f(black_box(i)).await.expect("the operation succeeds");
    }
    sum
}

/// Calls a tower service as a long-lived client does: `ready`, then `call`.
async fn batch_tower<S>(svc: &mut S) -> u64
where
    S: Service<u64, Response = u64>,
    S::Error: std::fmt::Debug,
{
    let mut sum = 0;
    for i in 0..BATCH {
        let ready = svc.ready().await.expect("ready");
        sum += ready
            .call(black_box(i))
            .await
            .expect("the operation succeeds");
    }
    sum
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// tower-resilience's bulkhead and hedge layers around [`op`], built inside
/// the runtime (its layers may need one).
fn tower_services(
    rt: &Runtime,
) -> (
    impl Service<u64, Response = u64, Error = impl std::fmt::Debug>,
    impl Service<u64, Response = u64, Error = impl std::fmt::Debug>,
) {
    rt.block_on(async {
        let bulkhead = BulkheadLayer::builder()
            .max_concurrent_calls(8)
            .reject_when_full()
            .build()
            .expect("bulkhead config")
            .layer(tower::service_fn(op));
        let hedge = HedgeLayer::builder()
            .delay(AFTER)
            .max_hedged_attempts(2)
            .build()
            .layer(tower::service_fn(op));
        (bulkhead, hedge)
    })
}

/// Runs one variant once, [`BATCH`] calls, for an instruction count under
/// callgrind (see `benches/health.rs`); `contention_none` builds the same
/// services and makes no call. False for a variant of another module.
pub(crate) fn callgrind(rt: &Runtime, variant: &str) -> bool {
    let (mut tower_bulkhead, mut tower_hedge) = tower_services(rt);
    let sum = match variant {
        "contention_none" => 0,
        "bulkhead_ours" => rt.block_on(batch_fn(ours_bulkhead)),
        "bulkhead_state" => rt.block_on(batch_fn(ours_bulkhead_shared)),
        "bulkhead_hand" => rt.block_on(batch_fn(hand_bulkhead)),
        "bulkhead_tower" => rt.block_on(batch_tower(&mut tower_bulkhead)),
        "hedge_ours" => rt.block_on(batch_fn(ours_hedge)),
        "hedge_hand" => rt.block_on(batch_fn(hand_hedge)),
        "hedge_tower" => rt.block_on(batch_tower(&mut tower_hedge)),
        _ => return false,
    };
    black_box(sum);
    true
}

/// The criterion groups, then (after every group of the run) [`summary`].
pub(crate) fn bench(c: &mut Criterion, rt: &Runtime) {
    let (tower_bulkhead, tower_hedge) = tower_services(rt);
    let (tower_bulkhead, tower_hedge) = (RefCell::new(tower_bulkhead), RefCell::new(tower_hedge));
    let bulkhead_ours = || rt.block_on(batch_fn(ours_bulkhead));
    let bulkhead_shared = || rt.block_on(batch_fn(ours_bulkhead_shared));
    let bulkhead_hand = || rt.block_on(batch_fn(hand_bulkhead));
    let bulkhead_tower = || rt.block_on(batch_tower(&mut *tower_bulkhead.borrow_mut()));
    let hedge_ours = || rt.block_on(batch_fn(ours_hedge));
    let hedge_hand = || rt.block_on(batch_fn(hand_hedge));
    let hedge_tower = || rt.block_on(batch_tower(&mut *tower_hedge.borrow_mut()));
    let expected = (0..BATCH).sum::<u64>();
    for f in [
        &bulkhead_ours as &dyn Fn() -> u64,
        &bulkhead_shared,
        &bulkhead_hand,
        &bulkhead_tower,
        &hedge_ours,
        &hedge_hand,
        &hedge_tower,
    ] {
        assert_eq!(f(), expected);
    }

    let mut g = c.benchmark_group(format!("bulkhead ({BATCH} calls)"));
    g.bench_function("ours_max", |b| b.iter(bulkhead_ours));
    g.bench_function("ours_state", |b| b.iter(bulkhead_shared));
    g.bench_function("hand_written", |b| b.iter(bulkhead_hand));
    g.bench_function("tower_resilience", |b| b.iter(bulkhead_tower));
    g.finish();
    let mut g = c.benchmark_group(format!("hedge ({BATCH} calls)"));
    g.bench_function("ours", |b| b.iter(hedge_ours));
    g.bench_function("hand_written", |b| b.iter(hedge_hand));
    g.bench_function("tower_resilience", |b| b.iter(hedge_tower));
    g.finish();
}

/// Each variant again, interleaved with its rivals; prints the medians,
/// the ratios and the futures' sizes.
pub(crate) fn summary(rt: &Runtime) {
    let (tower_bulkhead, tower_hedge) = tower_services(rt);
    let (tower_bulkhead, tower_hedge) = (RefCell::new(tower_bulkhead), RefCell::new(tower_hedge));
    let bulkhead_ours = || rt.block_on(batch_fn(ours_bulkhead));
    let bulkhead_shared = || rt.block_on(batch_fn(ours_bulkhead_shared));
    let bulkhead_hand = || rt.block_on(batch_fn(hand_bulkhead));
    let bulkhead_tower = || rt.block_on(batch_tower(&mut *tower_bulkhead.borrow_mut()));
    let hedge_ours = || rt.block_on(batch_fn(ours_hedge));
    let hedge_hand = || rt.block_on(batch_fn(hand_hedge));
    let hedge_tower = || rt.block_on(batch_tower(&mut *tower_hedge.borrow_mut()));

    let (bo, bh) = interleaved(ROUNDS, bulkhead_ours, bulkhead_hand);
    let (bs, bh2) = interleaved(ROUNDS, bulkhead_shared, bulkhead_hand);
    let (bo2, bt) = interleaved(ROUNDS, bulkhead_ours, bulkhead_tower);
    let (ho, hh) = interleaved(ROUNDS, hedge_ours, hedge_hand);
    let (ho2, ht) = interleaved(ROUNDS, hedge_ours, hedge_tower);
    let per_call = |d: Duration| d / BATCH as u32;
    println!();
    println!("Interleaved, median of {ROUNDS} rounds of {BATCH} calls (per call):");
    println!(
        "bulkhead: ours {:?}, ours (state) {:?}, by hand {:?}, tower-resilience {:?}",
        per_call(bo),
        per_call(bs),
        per_call(bh),
        per_call(bt)
    );
    println!(
        "hedge: ours {:?}, by hand {:?}, tower-resilience {:?}",
        per_call(ho),
        per_call(hh),
        per_call(ht)
    );
    println!("bulkhead: ours/hand {:.2}", ratio(bo, bh));
    println!("bulkhead (state): ours/hand {:.2}", ratio(bs, bh2));
    println!("bulkhead: ours/tower-resilience {:.2}", ratio(bo2, bt));
    println!("hedge: ours/hand {:.2}", ratio(ho, hh));
    println!("hedge: ours/tower-resilience {:.3}", ratio(ho2, ht));

    // Sizes of the futures, created and never polled.
    println!();
    println!("Future sizes (bytes):");
    println!("op alone: {}", size_of_val(&op(1)));
    println!(
        "bulkhead: ours {}, by hand {}",
        size_of_val(&ours_bulkhead(1)),
        size_of_val(&hand_bulkhead(1))
    );
    println!(
        "hedge: ours {}, by hand {}",
        size_of_val(&ours_hedge(1)),
        size_of_val(&hand_hedge(1))
    );
}
