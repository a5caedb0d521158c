//! The circuit breaker's success path (part of `benches/health.rs`).
//!
//! Every call returns `Ok` at once (after `black_box`), so the figures are
//! the breakers' own cost per call, in batches of [`BATCH`] calls on one
//! current-thread runtime with the time driver; no `tracing` subscriber and
//! no event listener is installed.
//!
//! - `bare`: the call alone, for reference.
//! - `ours_consecutive`: `#[circuit_breaker(state = BREAKER)]` with
//!   `BreakerPolicy::consecutive(5)` (a `static`: the generated code bakes
//!   its address in, as the hand-written code does).
//! - `ours_field`: the same breaker as a field of the agent,
//!   `#[circuit_breaker(state = self.breaker)]` (the guard across the call
//!   also holds the breaker's address).
//! - `hand_guarded`: the same logic by hand: an atomic state checked
//!   before the call, an atomic count of failures in a row cleared after a
//!   success (only when it is not zero), the state set to open at 5, and a
//!   drop guard held across the call (what gives a cancelled trial's place
//!   back and counts a panic; ours has one too). R1 is against this one.
//! - `hand_bare`: the same without the guard (not cancel-safe), for
//!   reference.
//! - `hand_runtime`: the public permit API by hand: `admit`, the call,
//!   `succeeded`/`failed` on the permit. The attribute wrote that until it
//!   held a small guard across the call instead of the four-word permit:
//!   the breaker's address and a 4-byte ticket, the ticket alone for a
//!   `static`. The difference to `ours_consecutive` is what that saves.
//! - `tower_resilience_consecutive`: tower-resilience's `CircuitBreakerLayer`
//!   with `consecutive_failures(5)` around a `service_fn`, called with
//!   `ready().await?.call(x).await`.
//! - `ours_ratio`: Polly's defaults (`BreakerPolicy::new()`: ratio 0.1 over
//!   30 s, minimum throughput 100): one clock read and one atomic add per
//!   call.
//! - `tower_resilience_default`: tower-resilience's defaults (a count window
//!   of 100 calls, rate 0.5). Its `TimeBased` window is left out: it keeps
//!   every call of the window and scans them on each call, so its cost
//!   grows with the calls made (about 300 µs a call after a few thousand in
//!   a trial run), and the figure would say more about the run's length
//!   than about the breaker.
//!
//! After criterion, pairs run again interleaved ([`ROUNDS`] rounds, each
//! timing both; [`R1_ROUNDS`] for ours against the hand-written breaker,
//! whose batches are short), and [`summary`] returns the two ratios of the
//! last line, `breaker: ours/hand R1, ours/tower-resilience R2`, both for
//! the consecutive mode (R2 against tower-resilience's consecutive mode,
//! like for like); a line before it gives the failure-ratio mode's ratio to
//! tower-resilience's default breaker.

use std::cell::RefCell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::time::Duration;

use criterion::Criterion;
use resilience::{BreakerPolicy, CircuitBreaker, CircuitOpen, ErrorRef, circuit_breaker};
use tokio::runtime::Runtime;
use tower::{Layer, Service, ServiceExt, service_fn};
use tower_resilience::circuitbreaker::CircuitBreakerLayer;

use crate::common::interleaved;

/// Calls per timing.
pub(crate) const BATCH: u64 = 10_000;
/// Interleaved rounds for the summary.
const ROUNDS: usize = 101;
/// Interleaved rounds for R1 (two batches of about 20 µs each a round).
const R1_ROUNDS: usize = 1_001;

#[derive(Debug)]
enum BenchError {
    Open,
    Failed,
}

impl From<CircuitOpen> for BenchError {
    fn from(_: CircuitOpen) -> Self {
        BenchError::Open
    }
}

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BenchError::Open => "open",
            BenchError::Failed => "failed",
        })
    }
}

impl std::error::Error for BenchError {}

/// The agent's call: succeeds at once (fails only for `u64::MAX`, which no
/// bench passes, so the compiler keeps the error path).
async fn work(x: u64) -> Result<u64, BenchError> {
    let x = black_box(x);
    if x == u64::MAX {
        Err(BenchError::Failed)
    } else {
        Ok(x + 1)
    }
}

static CONSECUTIVE: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(5));
static BY_HAND: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(5));
static RATIO: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::new());

#[circuit_breaker(state = CONSECUTIVE)]
async fn ours_consecutive(x: u64) -> Result<u64, BenchError> {
    work(x).await
}

/// An agent with a breaker of its own.
struct Agent {
    breaker: CircuitBreaker,
}

static AGENT: Agent = Agent {
    breaker: CircuitBreaker::new(BreakerPolicy::consecutive(5)),
};

impl Agent {
    #[circuit_breaker(state = self.breaker)]
    async fn ask(&self, x: u64) -> Result<u64, BenchError> {
        work(x).await
    }
}

fn ours_field(x: u64) -> impl Future<Output = Result<u64, BenchError>> {
    AGENT.ask(x)
}

#[circuit_breaker(state = RATIO)]
async fn ours_ratio(x: u64) -> Result<u64, BenchError> {
    work(x).await
}

/// The permit API by hand (what `#[circuit_breaker(state = BY_HAND)]`
/// wrote before it held a small guard across the call).
async fn hand_runtime(x: u64) -> Result<u64, BenchError> {
    let permit = BY_HAND.admit("hand_runtime")?;
    let result = work(x).await;
    match &result {
        Ok(_) => permit.succeeded(),
        Err(error) => permit.failed(ErrorRef::Display(error)),
    }
    result
}

/// The consecutive breaker by hand.
static HAND_OPEN: AtomicU8 = AtomicU8::new(0);
static HAND_FAILURES: AtomicU32 = AtomicU32::new(0);

async fn hand_consecutive(x: u64) -> Result<u64, BenchError> {
    if HAND_OPEN.load(Ordering::Acquire) != 0 {
        return Err(BenchError::Open);
    }
    let result = work(x).await;
    match &result {
        Ok(_) => {
            if HAND_FAILURES.load(Ordering::Relaxed) != 0 {
                HAND_FAILURES.store(0, Ordering::Relaxed);
            }
        }
        Err(_) => {
            if HAND_FAILURES.fetch_add(1, Ordering::AcqRel) + 1 >= 5 {
                HAND_OPEN.store(1, Ordering::Release);
            }
        }
    }
    result
}

/// The same logic by hand, with what makes it safe: a guard that, if the
/// call is dropped before it ends, gives a half-open trial's place back
/// (and counts a panic as a failure).
static GUARDED_OPEN: AtomicU8 = AtomicU8::new(0);
static GUARDED_FAILURES: AtomicU32 = AtomicU32::new(0);
static GUARDED_TRIALS: AtomicU32 = AtomicU32::new(0);

struct HandGuard {
    trial: bool,
    armed: bool,
}

impl Drop for HandGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if std::thread::panicking() {
            GUARDED_FAILURES.fetch_add(1, Ordering::AcqRel);
        } else if self.trial {
            GUARDED_TRIALS.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

async fn hand_guarded(x: u64) -> Result<u64, BenchError> {
    if GUARDED_OPEN.load(Ordering::Acquire) != 0 {
        return Err(BenchError::Open);
    }
    let mut guard = HandGuard {
        trial: false,
        armed: true,
    };
    let result = work(x).await;
    guard.armed = false;
    match &result {
        Ok(_) => {
            if GUARDED_FAILURES.load(Ordering::Relaxed) != 0 {
                GUARDED_FAILURES.store(0, Ordering::Relaxed);
            }
        }
        Err(_) => {
            if GUARDED_FAILURES.fetch_add(1, Ordering::AcqRel) + 1 >= 5 {
                GUARDED_OPEN.store(1, Ordering::Release);
            }
        }
    }
    result
}

/// Runs `call` on `BATCH` inputs; the sum keeps every result alive.
fn batch<F, Fut>(rt: &Runtime, call: F) -> u64
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Result<u64, BenchError>>,
{
    batch_of(rt, call, BATCH / 4)
}

/// [`batch`] of `4 * calls` calls.
fn batch_of<F, Fut>(rt: &Runtime, call: F, calls: u64) -> u64
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Result<u64, BenchError>>,
{
    quarters(calls, |calls| {
        rt.block_on(async {
            let mut sum = 0u64;
            for i in 0..calls {
                sum = sum.wrapping_add(call(i).await.expect("closed"));
            }
            sum
        })
    })
}

/// Runs `run(calls)` four times, each with the stack 16 bytes deeper, and
/// sums the results: the loop's future, on `block_on`'s stack, lands at
/// each 16-byte alignment within a 64-byte cache line in turn. A call of a
/// few ns is bound by its stores, and the stores to a line commit in pairs:
/// run at one alignment, which variant's future straddles a line is a
/// matter of chance, and its time (1.28x by hand at one alignment in a
/// trial, 0.88x at another) says more about where the stack was than about
/// the code.
fn quarters(calls: u64, mut run: impl FnMut(u64) -> u64) -> u64 {
    #[inline(never)]
    fn at<const PAD: usize>(run: &mut dyn FnMut() -> u64) -> u64 {
        let pad = [0u8; PAD];
        black_box(&pad);
        let sum = run();
        black_box(&pad);
        sum
    }
    let mut run = || run(calls);
    at::<0>(&mut run)
        .wrapping_add(at::<16>(&mut run))
        .wrapping_add(at::<32>(&mut run))
        .wrapping_add(at::<48>(&mut run))
}

/// A tower-resilience breaker around `work`, called `BATCH` times.
fn tower_batch<S>(rt: &Runtime, service: &mut S) -> u64
where
    S: Service<u64, Response = u64>,
    S::Error: std::fmt::Debug,
{
    quarters(BATCH / 4, |calls| {
        rt.block_on(async {
            let mut sum = 0u64;
            for i in 0..calls {
                let ready = service.ready().await.expect("ready");
                sum = sum.wrapping_add(ready.call(i).await.expect("closed"));
            }
            sum
        })
    })
}

/// Runs one variant once, `BATCH` calls, for an instruction count under
/// callgrind (see `benches/health.rs`); `none` runs the same batches of
/// no call. False for a variant of another module.
pub(crate) fn callgrind(rt: &Runtime, variant: &str) -> bool {
    let (tower, _) = towers();
    let mut tower = tower.into_inner();
    let sum = match variant {
        "none" => batch_of(rt, work, 0),
        "bare" => batch(rt, work),
        "ours" => batch(rt, ours_consecutive),
        "ours_field" => batch(rt, ours_field),
        "hand" => batch(rt, hand_guarded),
        "hand_bare" => batch(rt, hand_consecutive),
        "hand_runtime" => batch(rt, hand_runtime),
        "tower" => tower_batch(rt, &mut tower),
        "ours_ratio" => batch(rt, ours_ratio),
        _ => return false,
    };
    black_box(sum);
    true
}

/// tower-resilience's breakers around [`work`]: consecutive failures (5),
/// and its defaults.
fn towers() -> (
    RefCell<impl Service<u64, Response = u64, Error = impl std::fmt::Debug>>,
    RefCell<impl Service<u64, Response = u64, Error = impl std::fmt::Debug>>,
) {
    let consecutive = CircuitBreakerLayer::builder()
        .consecutive_failures(5)
        .build()
        .expect("valid");
    let default = CircuitBreakerLayer::builder().build().expect("valid");
    (
        RefCell::new(consecutive.layer(service_fn(work))),
        RefCell::new(default.layer(service_fn(work))),
    )
}

/// The criterion groups.
pub(crate) fn bench(c: &mut Criterion, rt: &Runtime) {
    let (tower_consecutive, tower_default) = towers();

    let bare = || batch(rt, work);
    let ours_c = || batch(rt, ours_consecutive);
    let ours_f = || batch(rt, ours_field);
    let hand_c = || batch(rt, hand_consecutive);
    let hand_g = || batch(rt, hand_guarded);
    let hand_r = || batch(rt, hand_runtime);
    let tower_c = || tower_batch(rt, &mut *tower_consecutive.borrow_mut());
    let ours_r = || batch(rt, ours_ratio);
    let tower_d = || tower_batch(rt, &mut *tower_default.borrow_mut());
    let expected = bare();
    for (name, run) in [
        ("ours consecutive", &ours_c as &dyn Fn() -> u64),
        ("ours field", &ours_f),
        ("hand consecutive", &hand_c),
        ("hand guarded", &hand_g),
        ("hand runtime", &hand_r),
        ("tower consecutive", &tower_c),
        ("ours ratio", &ours_r),
        ("tower default", &tower_d),
    ] {
        assert_eq!(run(), expected, "{name}");
    }

    let mut g = c.benchmark_group("breaker_closed_success_10k_calls");
    g.bench_function("bare", |b| b.iter(bare));
    g.bench_function("ours_consecutive", |b| b.iter(ours_c));
    g.bench_function("ours_field", |b| b.iter(ours_f));
    g.bench_function("hand_guarded", |b| b.iter(hand_g));
    g.bench_function("hand_bare", |b| b.iter(hand_c));
    g.bench_function("hand_runtime", |b| b.iter(hand_r));
    g.bench_function("tower_resilience_consecutive", |b| b.iter(tower_c));
    g.bench_function("ours_ratio", |b| b.iter(ours_r));
    g.bench_function("tower_resilience_default", |b| b.iter(tower_d));
    g.finish();
}

/// The pairs again, interleaved: prints the medians per call and returns
/// R1 (ours/hand, both with the drop guard) and R2 (ours/tower-resilience),
/// the consecutive mode's.
pub(crate) fn summary(rt: &Runtime) -> (f64, f64) {
    let (tower_consecutive, tower_default) = towers();
    let bare = || batch(rt, work);
    let ours_c = || batch(rt, ours_consecutive);
    let ours_f = || batch(rt, ours_field);
    let hand_c = || batch(rt, hand_consecutive);
    let hand_g = || batch(rt, hand_guarded);
    let hand_r = || batch(rt, hand_runtime);
    let tower_c = || tower_batch(rt, &mut *tower_consecutive.borrow_mut());
    let ours_r = || batch(rt, ours_ratio);
    let tower_d = || tower_batch(rt, &mut *tower_default.borrow_mut());

    let per_call = |d: Duration| d.as_secs_f64() * 1e9 / BATCH as f64;
    let (oc, hc) = interleaved(R1_ROUNDS, ours_c, hand_g);
    let (oc3, hb) = interleaved(R1_ROUNDS, ours_c, hand_c);
    let (oc4, hr) = interleaved(R1_ROUNDS, ours_c, hand_r);
    let (of, hf) = interleaved(R1_ROUNDS, ours_f, hand_g);
    let (oc2, tc) = interleaved(ROUNDS, ours_c, tower_c);
    let (or, td) = interleaved(ROUNDS, ours_r, tower_d);
    let (b, _) = interleaved(R1_ROUNDS, bare, bare);
    println!();
    println!(
        "Interleaved, median of {R1_ROUNDS} rounds (against tower-resilience {ROUNDS}) of {BATCH} calls, per call:"
    );
    println!("bare call {:.1} ns", per_call(b));
    println!(
        "consecutive: ours {:.1} ns, by hand with a guard {:.1} ns; ours {:.1} ns, by hand without {:.1} ns; ours {:.1} ns, tower-resilience {:.1} ns",
        per_call(oc),
        per_call(hc),
        per_call(oc3),
        per_call(hb),
        per_call(oc2),
        per_call(tc)
    );
    println!(
        "field (state = self.breaker): ours {:.1} ns, by hand with a guard {:.1} ns (ours/hand {:.2})",
        per_call(of),
        per_call(hf),
        of.as_secs_f64() / hf.as_secs_f64()
    );
    println!(
        "macro: ours {:.1} ns, the permit API by hand {:.1} ns (ours/hand {:.2})",
        per_call(oc4),
        per_call(hr),
        oc4.as_secs_f64() / hr.as_secs_f64()
    );
    println!(
        "failure ratio: ours {:.1} ns, tower-resilience default (count window) {:.1} ns",
        per_call(or),
        per_call(td)
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "breaker (failure ratio): ours/tower-resilience default {:.2}; (consecutive) ours/hand without a guard {:.2}",
        ratio(or, td),
        ratio(oc3, hb)
    );
    (ratio(oc, hc), ratio(oc2, tc))
}
