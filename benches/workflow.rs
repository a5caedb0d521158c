//! Success-path overhead of `workflow!`: a 10-step in-memory workflow against
//! the same 10 steps written by hand as sequential awaits with `?`, in one run.
//!
//! Every step calls [`step`], an `async fn` that borrows the previous step's
//! output (the first borrows the input) and returns `Ok` of it plus one. The
//! whole `Result` goes through `black_box`, so the compiler cannot prove that
//! a step never fails: the error paths (`?` by hand; the undo loop and the
//! `SagaError` in the workflow) stay in the code, unused, as they would with
//! real steps. Nothing in the measured body allocates.
//!
//! Variants of group `ten_steps`:
//! - `hand_written`: [`hand_written`], ten `let sN = step(&sM).await?;`.
//! - `ours`: [`Ten`], the same steps in `workflow!`, no attribute on any step.
//! - `ours_compensate`: [`TenCompensated`], the same with
//!   `#[compensate(with = undo_first)]` on the first step: the compensation
//!   machinery is there but never runs.
//! - `hand_catch_panic`: [`hand_catch_panic`], a diagnostic, not a
//!   competitor: `hand_written` with each step wrapped in a `catch_panic`
//!   of its own. Its distance from `hand_written` is what catching a panic
//!   per step would cost; the generated code does not: without a
//!   compensation it catches nothing (a panic unwinds out of `run`), with
//!   one it catches once per poll of the whole run.
//!
//! All futures run on one current-thread tokio runtime (time driver enabled,
//! as in `overhead`). No `tracing` subscriber and no `resilience::events`
//! listener is installed. Compare numbers within the group (same run, same
//! machine state), not across runs.
//!
//! After criterion, the sizes of the (created, never polled) futures and of
//! the state enums are printed, then the ratios ours/hand of the two
//! targets (`workflow: ours/hand R1`, `workflow with compensation:
//! ours/hand R2`), from medians of batches timed alternately (see
//! `common::interleaved`).
//!
//! Run: `cargo bench --bench workflow`.
//!
//! For instruction counts, which do not wobble on a busy machine: with
//! `WORKFLOW_BENCH_ONLY=<variant>:<runs>` (variant `hand_written`, `ours`
//! or `ours_compensate`) the binary only runs that variant `runs` times and
//! exits (`WORKFLOW_BENCH_ONLY=sizes` prints the sizes and exits); under `valgrind --tool=callgrind`, the difference of the totals
//! at two run counts divided by the difference of the counts is the cost
//! of one run. `scripts/workflow-callgrind.sh` does this for the three.

use std::hint::black_box;
use std::mem::{size_of, size_of_val};
use std::time::Duration;

use criterion::{Criterion, criterion_group};

mod common;
use common::interleaved;
use resilience::workflow;
use tokio::runtime::Runtime;

// ---------------------------------------------------------------------------
// The steps and their error
// ---------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
enum BenchError {
    /// Never returned; it exists so that a step's `Result` has an `Err` side.
    #[error("step failed")]
    Failed,
}

/// One step: reads the previous output by reference and returns `Ok` of it
/// plus one, opaque to the optimiser.
async fn step(prev: &u64) -> Result<u64, BenchError> {
    black_box(Ok(prev.wrapping_add(1)))
}

/// The compensation of the first step in [`TenCompensated`]; never called on
/// the success path.
async fn undo_first(output: u64) -> Result<(), BenchError> {
    if black_box(output) == u64::MAX {
        Err(BenchError::Failed)
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The workflows
// ---------------------------------------------------------------------------

workflow! {
    /// Ten steps, each using the previous one's output, no attributes.
    workflow Ten(seed: u64) -> Result<u64, BenchError> {
        step s1: u64 = step(seed).await;
        step s2: u64 = step(s1).await;
        step s3: u64 = step(s2).await;
        step s4: u64 = step(s3).await;
        step s5: u64 = step(s4).await;
        step s6: u64 = step(s5).await;
        step s7: u64 = step(s6).await;
        step s8: u64 = step(s7).await;
        step s9: u64 = step(s8).await;
        step s10: u64 = step(s9).await;
        s10
    }
}

workflow! {
    /// [`Ten`] with a compensation on the first step.
    workflow TenCompensated(seed: u64) -> Result<u64, BenchError> {
        #[compensate(with = undo_first)]
        step s1: u64 = step(seed).await;
        step s2: u64 = step(s1).await;
        step s3: u64 = step(s2).await;
        step s4: u64 = step(s3).await;
        step s5: u64 = step(s4).await;
        step s6: u64 = step(s5).await;
        step s7: u64 = step(s6).await;
        step s8: u64 = step(s7).await;
        step s9: u64 = step(s8).await;
        step s10: u64 = step(s9).await;
        s10
    }
}

// ---------------------------------------------------------------------------
// By hand
// ---------------------------------------------------------------------------

/// What one writes without the macro.
async fn hand_written(seed: u64) -> Result<u64, BenchError> {
    let s1 = step(&seed).await?;
    let s2 = step(&s1).await?;
    let s3 = step(&s2).await?;
    let s4 = step(&s3).await?;
    let s5 = step(&s4).await?;
    let s6 = step(&s5).await?;
    let s7 = step(&s6).await?;
    let s8 = step(&s7).await?;
    let s9 = step(&s8).await?;
    let s10 = step(&s9).await?;
    Ok(s10)
}

/// Diagnostic: [`hand_written`] with every step inside a `catch_panic` of
/// its own (a panic would come back as `Err(message)`).
async fn hand_catch_panic(seed: u64) -> Result<u64, String> {
    use resilience::__private::catch_panic;
    let step = async |prev: &u64| match catch_panic(step(prev)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => Err(panic),
    };
    let s1 = step(&seed).await?;
    let s2 = step(&s1).await?;
    let s3 = step(&s2).await?;
    let s4 = step(&s3).await?;
    let s5 = step(&s4).await?;
    let s6 = step(&s5).await?;
    let s7 = step(&s6).await?;
    let s8 = step(&s7).await?;
    let s9 = step(&s8).await?;
    let s10 = step(&s9).await?;
    Ok(s10)
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

fn workflow_overhead(c: &mut Criterion) {
    let rt = runtime();
    let seed = 32_u64;
    let mut g = c.benchmark_group("ten_steps");
    g.bench_function("hand_written", |b| {
        b.to_async(&rt).iter(|| hand_written(black_box(seed)));
    });
    g.bench_function("ours", |b| {
        b.to_async(&rt).iter(|| Ten::new(black_box(seed)).run());
    });
    g.bench_function("ours_compensate", |b| {
        b.to_async(&rt)
            .iter(|| TenCompensated::new(black_box(seed)).run());
    });
    g.bench_function("hand_catch_panic", |b| {
        b.to_async(&rt).iter(|| hand_catch_panic(black_box(seed)));
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = workflow_overhead
}

/// Sizes of the futures, created and never polled, and of the state enums.
fn print_sizes() {
    let seed = 32_u64;
    let rows = [
        ("step (one bare step)", size_of_val(&step(&seed))),
        ("hand_written future", size_of_val(&hand_written(seed))),
        ("Ten::run() future", size_of_val(&Ten::new(seed).run())),
        (
            "TenCompensated::run() future",
            size_of_val(&TenCompensated::new(seed).run()),
        ),
        (
            "hand_catch_panic future",
            size_of_val(&hand_catch_panic(seed)),
        ),
        ("TenState", size_of::<TenState>()),
        ("TenCompensatedState", size_of::<TenCompensatedState>()),
        ("Ten (struct: input + state)", size_of::<Ten>()),
    ];
    println!();
    println!("Sizes (bytes; futures created and not polled):");
    println!("{:<32} {:>6}", "what", "bytes");
    for (what, bytes) in rows {
        println!("{what:<32} {bytes:>6}");
    }
}

/// Every variant must take the success path: seed 32, ten steps, `Ok(42)`.
fn check_variants() {
    let rt = runtime();
    rt.block_on(async {
        assert_eq!(hand_written(32).await.ok(), Some(42));
        assert_eq!(Ten::new(32).run().await.ok(), Some(42));
        assert_eq!(TenCompensated::new(32).run().await.ok(), Some(42));
        assert_eq!(hand_catch_panic(32).await.ok(), Some(42));
        assert_eq!(undo_first(0).await.ok(), Some(()));
    });
}

/// Runs `run` `batch` times on `rt`, one after the other.
fn batch<F: Future<Output = Result<u64, E>>, E>(
    rt: &Runtime,
    batch: usize,
    run: impl Fn() -> F,
) -> u64 {
    rt.block_on(async {
        let mut sum = 0_u64;
        for _ in 0..batch {
            sum = sum.wrapping_add(black_box(run().await).unwrap_or(0));
        }
        sum
    })
}

/// The two target ratios, from the medians of batches of 1,000 runs timed
/// alternately with the hand-written batch.
fn print_ratios() {
    let rt = runtime();
    let seed = 32_u64;
    let hand = || batch(&rt, 1_000, || hand_written(black_box(seed)));
    let (ours, by_hand) = interleaved(
        301,
        || batch(&rt, 1_000, || Ten::new(black_box(seed)).run()),
        hand,
    );
    let (comp, by_hand_2) = interleaved(
        301,
        || batch(&rt, 1_000, || TenCompensated::new(black_box(seed)).run()),
        hand,
    );
    println!();
    println!(
        "per run: hand {:.1} ns, ours {:.1} ns; hand {:.1} ns, ours with compensation {:.1} ns",
        by_hand.as_secs_f64() * 1e6,
        ours.as_secs_f64() * 1e6,
        by_hand_2.as_secs_f64() * 1e6,
        comp.as_secs_f64() * 1e6,
    );
    println!(
        "workflow: ours/hand {:.2}",
        ours.as_secs_f64() / by_hand.as_secs_f64()
    );
    println!(
        "workflow with compensation: ours/hand {:.2}",
        comp.as_secs_f64() / by_hand_2.as_secs_f64()
    );
}

/// `WORKFLOW_BENCH_ONLY=<variant>:<runs>`: runs one variant, for callgrind.
fn only(spec: &str) {
    let rt = runtime();
    let (variant, runs) = spec
        .split_once(':')
        .expect("WORKFLOW_BENCH_ONLY=<variant>:<runs>");
    let runs: usize = runs.parse().expect("a number of runs");
    let seed = 32_u64;
    let sum = match variant {
        "hand_written" => batch(&rt, runs, || hand_written(black_box(seed))),
        "ours" => batch(&rt, runs, || Ten::new(black_box(seed)).run()),
        "ours_compensate" => batch(&rt, runs, || TenCompensated::new(black_box(seed)).run()),
        other => panic!("unknown variant {other}"),
    };
    println!("{variant} x{runs}: {sum}");
}

fn main() {
    if let Ok(spec) = std::env::var("WORKFLOW_BENCH_ONLY") {
        if spec == "sizes" {
            print_sizes();
            return;
        }
        only(&spec);
        return;
    }
    check_variants();
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_sizes();
    print_ratios();
}
