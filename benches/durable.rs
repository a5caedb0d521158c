//! What durability costs: one durable step on a `DirectoryStore` against one
//! fsync'd write of the same bytes to the same directory, and a durable
//! workflow on the in-memory store against a non-durable one, in one run.
//!
//! # Group `one_durable_step` (on disk)
//!
//! The store writes into a fresh directory under `target/` (on the same file
//! system as the workspace, not `/tmp`, which may be a RAM disk: the file
//! system is printed before the run). The directory is removed at the end.
//!
//! A "durable step" has no single call to time. A run of a durable workflow
//! is: claim the id (open and `flock` the lock file), load the checkpoint
//! (a read that finds no file), then per step the step itself, the state
//! serialised to JSON and a [`CheckpointStore::save`], and finally the delete
//! of the checkpoint (unlink, fsync of the directory). A one-step run is
//! therefore not "one durable step": one of its three fsyncs is the
//! delete's, and the claim and the load add file operations of their own. And a run with `DurableOptions::with_checkpoint_kept` cannot be
//! repeated: the second run finds the final checkpoint and returns the
//! output without running a step. So three figures are measured and two are
//! derived from them:
//!
//! - `store_save`: [`CheckpointStore::save`] of one checkpoint, on a lease
//!   claimed once outside the loop: [`encode`] (pretty JSON plus a CRC-32
//!   header), the hop to tokio's blocking pool, then temporary file, write,
//!   fsync, rename, fsync of the directory. The checkpoint is the one the
//!   5-step workflow writes after its last step (read back from a
//!   `MemoryStore`), so its bytes are the store's own.
//! - `workflow_1_step`, `workflow_5_steps`: whole runs of [`DurableOne`] and
//!   [`DurableFive`] with `run_durable` (default options: the checkpoint is
//!   deleted at the end, so every run starts afresh under the same id). The
//!   steps are trivial (`Ok(prev + 1)`), so the time is the durability's.
//! - derived, *marginal step* = (`workflow_5_steps` - `workflow_1_step`) / 4:
//!   what one more step adds to a run (step, JSON of the state, save). This
//!   is the honest "one durable step".
//! - derived, *amortised step* = `workflow_5_steps` / 5: the run's fixed
//!   cost (claim, load, delete) spread over five steps.
//!
//! Baselines, given the same bytes (`encode` of the same checkpoint, done
//! once before the loop) and run through `tokio::task::spawn_blocking` as the
//! store's I/O is, so the comparison is like for like:
//!
//! - `fsync_write` (b): `File::create` + `write_all` (what `std::fs::write`
//!   does) + `File::sync_all`, over the same file each time: one fsync, not
//!   crash-safe (a crash mid-write leaves a torn file).
//! - `atomic_by_hand` (c): the store's procedure without the store: create
//!   the temporary file, write, fsync, rename over the target, open and
//!   fsync the directory. Two fsyncs.
//!
//! And two diagnostics, to say where the time goes: `spawn_blocking_noop`
//! (the hop alone) and `encode` (the encoding alone, inline).
//!
//! Criterion runs one variant after the other, and fsync latency drifts
//! (a virtual disk, a busy host): whichever variant runs during a slow spell
//! looks slow. So after criterion the five disk operations run again,
//! interleaved (see [`interleaved`]): every operation once per round, in a
//! rotating order, each timed alone. The summary shows both; trust the
//! ratios that agree.
//!
//! # Group `in_memory`
//!
//! - `durable_memory_store`: [`DurableFive`] with `run_durable(&MemoryStore,
//!   ..)`: claim, load, five saves (each encodes the checkpoint and copies
//!   it into a map behind a mutex), delete.
//! - `workflow_run`: [`Five`], the same steps in a non-durable `workflow`,
//!   `run()`.
//! - `hand_written`: [`hand_written`], five sequential awaits with `?`.
//!
//! # Measurement
//!
//! All futures run on one current-thread tokio runtime with the time driver
//! enabled (`b.to_async(&rt)`); `spawn_blocking` uses that runtime's blocking
//! pool. No `tracing` subscriber and no `resilience::events` listener is
//! installed, so the `Checkpointed` event of every save goes nowhere.
//! Criterion takes 20 samples over about 3 s per variant (an fsync is in the
//! order of a millisecond on a virtual disk). Every variant is timed with
//! `iter_custom`, which also records the samples, so that the summary table
//! printed at the end shows, per operation, the median and the mean of the
//! 20 per-sample averages (and of the interleaved timings), and the ratios.
//! Compare numbers within one run: fsync latency varies between machines,
//! and between runs on one.
//!
//! Run: `cargo bench --bench durable`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::future::Future;
use std::hint::black_box;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use resilience::checkpoint::{
    Checkpoint, CheckpointLease, CheckpointStore, DirectoryLease, DirectoryStore, MemoryStore,
    decode, encode,
};
use resilience::durable::DurableOptions;
use resilience::workflow;
use tokio::runtime::Runtime;

/// Samples per variant (the criterion config below uses the same number).
const SAMPLES: usize = 20;

// ---------------------------------------------------------------------------
// The steps and the workflows
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
    if black_box(*prev) == u64::MAX {
        return Err(BenchError::Failed);
    }
    black_box(Ok(prev.wrapping_add(1)))
}

workflow! {
    /// One step, durable.
    durable workflow DurableOne(seed: u64) -> Result<u64, BenchError> {
        step s1: u64 = step(seed).await;
        s1
    }
}

workflow! {
    /// Five steps, durable.
    durable workflow DurableFive(seed: u64) -> Result<u64, BenchError> {
        step s1: u64 = step(seed).await;
        step s2: u64 = step(s1).await;
        step s3: u64 = step(s2).await;
        step s4: u64 = step(s3).await;
        step s5: u64 = step(s4).await;
        s5
    }
}

workflow! {
    /// The same five steps, in memory only.
    workflow Five(seed: u64) -> Result<u64, BenchError> {
        step s1: u64 = step(seed).await;
        step s2: u64 = step(s1).await;
        step s3: u64 = step(s2).await;
        step s4: u64 = step(s3).await;
        step s5: u64 = step(s4).await;
        s5
    }
}

/// The same five steps without the macro.
async fn hand_written(seed: u64) -> Result<u64, BenchError> {
    let s1 = step(&seed).await?;
    let s2 = step(&s1).await?;
    let s3 = step(&s2).await?;
    let s4 = step(&s3).await?;
    let s5 = step(&s4).await?;
    Ok(s5)
}

// ---------------------------------------------------------------------------
// The baselines
// ---------------------------------------------------------------------------

/// (b): one fsync'd write of `bytes` to `path` (`std::fs::write`, then
/// `sync_all` on the same handle).
fn fsync_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// (c): what `DirectoryStore::save` does on disk, by hand: temporary file,
/// write, fsync, rename, fsync of the directory.
fn atomic_write(dir: &Path, tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(tmp, path)?;
    File::open(dir)?.sync_all()
}

/// Runs `f` on the blocking pool, as the store does, and panics on an error
/// (there is none: it would make the figure meaningless).
async fn blocking(f: impl FnOnce() -> io::Result<()> + Send + 'static) {
    tokio::task::spawn_blocking(f)
        .await
        .expect("the blocking task ran")
        .expect("the write succeeded");
}

// ---------------------------------------------------------------------------
// Recording the samples
// ---------------------------------------------------------------------------

/// The (iterations, elapsed) pairs of every call of every variant, warm-up
/// included; the last [`SAMPLES`] of a variant are criterion's samples.
#[derive(Default)]
struct Recorder {
    calls: RefCell<BTreeMap<String, Vec<(u64, Duration)>>>,
}

impl Recorder {
    fn record(&self, id: &str, iters: u64, elapsed: Duration) {
        self.calls
            .borrow_mut()
            .entry(id.to_owned())
            .or_default()
            .push((iters, elapsed));
    }

    /// Median and mean, in nanoseconds, of the per-iteration time of the
    /// last [`SAMPLES`] calls of `id`; `None` if it did not run.
    fn stats(&self, id: &str) -> Option<(f64, f64)> {
        let calls = self.calls.borrow();
        let calls = calls.get(id)?;
        let samples = &calls[calls.len().saturating_sub(SAMPLES)..];
        let mut per_iter: Vec<f64> = samples
            .iter()
            .map(|&(iters, elapsed)| elapsed.as_nanos() as f64 / iters.max(1) as f64)
            .collect();
        let mean = per_iter.iter().sum::<f64>() / per_iter.len() as f64;
        Some((median(&mut per_iter), mean))
    }
}

/// Benchmarks `f` as `group/name` with `iter_custom`, recording the samples
/// under that id.
fn bench<F, Fut, T>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    recorder: &Recorder,
    (group, name): (&str, &str),
    f: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = T>,
{
    let id = format!("{group}/{name}");
    g.bench_function(name, |b| {
        b.to_async(rt).iter_custom(|iters| {
            let (id, f) = (&id, &f);
            async move {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(f().await);
                }
                let elapsed = start.elapsed();
                recorder.record(id, iters, elapsed);
                elapsed
            }
        });
    });
}

// ---------------------------------------------------------------------------
// The directory
// ---------------------------------------------------------------------------

/// The benchmark's directory, removed when dropped (a panic included).
struct BenchDir(PathBuf);

impl BenchDir {
    fn create() -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join(format!("bench-durable-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the benchmark directory");
        Self(fs::canonicalize(&dir).expect("resolve the benchmark directory"))
    }
}

impl Drop for BenchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The file system holding `dir`, from `/proc/self/mounts` (the longest
/// mount point that contains it): "ext4 on /dev/vda (mounted at /)".
fn file_system(dir: &Path) -> String {
    let Ok(mounts) = fs::read_to_string("/proc/self/mounts") else {
        return "unknown (no /proc/self/mounts)".to_owned();
    };
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let (source, target, kind) = (fields.next()?, fields.next()?, fields.next()?);
            let target = target.replace("\\040", " ");
            dir.starts_with(&target).then(|| {
                (
                    target.len(),
                    format!("{kind} on {source} (mounted at {target})"),
                )
            })
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown".to_owned(), |(_, what)| what)
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

/// The workflow id of every run.
const ID: &str = "bench";

/// The checkpoint [`DurableFive`] writes after its last step, as the store
/// encodes it: run once on a `MemoryStore` that keeps it, and read back.
fn final_checkpoint(rt: &Runtime) -> Checkpoint {
    rt.block_on(async {
        let store = MemoryStore::new();
        let options = DurableOptions::new().with_checkpoint_kept();
        DurableFive::new(32)
            .run_durable_with(&store, ID, options)
            .await
            .expect("the workflow succeeds");
        let bytes = store.get_raw("DurableFive", ID).expect("kept");
        decode(&bytes, "memory").expect("decodes").1
    })
}

/// Every variant takes the success path.
fn check_variants(rt: &Runtime, dir: &Path) {
    rt.block_on(async {
        let store = DirectoryStore::open(dir).expect("open the store");
        assert_eq!(
            DurableOne::new(32).run_durable(&store, ID).await.ok(),
            Some(33)
        );
        assert_eq!(
            DurableFive::new(32).run_durable(&store, ID).await.ok(),
            Some(37)
        );
        let memory = MemoryStore::new();
        assert_eq!(
            DurableFive::new(32).run_durable(&memory, ID).await.ok(),
            Some(37)
        );
        assert!(memory.get_raw("DurableFive", ID).is_none());
        assert_eq!(Five::new(32).run().await.ok(), Some(37));
        assert_eq!(hand_written(32).await.ok(), Some(37));
        assert!(store.list_unfinished().await.expect("list").is_empty());
    });
}

/// Everything the benchmarks share.
struct Setup<'a> {
    rt: &'a Runtime,
    recorder: &'a Recorder,
    checkpoint: &'a Checkpoint,
}

/// One operation of the disk group, boxed so that criterion and the
/// interleaved rounds run the same code (a box costs tens of nanoseconds,
/// nothing beside an fsync). It panics on an error: a failed write would
/// make the figure meaningless.
type Op<'a> = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + 'a>> + 'a>;

/// What the disk operations use: a store with a lease claimed once (for
/// `store_save`), and the encoded checkpoint for the baselines.
struct Disk<'a> {
    store: DirectoryStore,
    lease: DirectoryLease,
    checkpoint: &'a Checkpoint,
    bytes: Arc<[u8]>,
    dir: Arc<Path>,
    plain: Arc<Path>,
    tmp: Arc<Path>,
    target: Arc<Path>,
}

impl<'a> Disk<'a> {
    fn new(rt: &Runtime, dir: &Path, checkpoint: &'a Checkpoint) -> Self {
        let store = DirectoryStore::open(dir).expect("open the store");
        let lease = rt
            .block_on(store.claim("DurableFive", "save"))
            .expect("claim");
        let bytes = encode("save", checkpoint, lease.location())
            .expect("encode")
            .into();
        Self {
            store,
            lease,
            checkpoint,
            bytes,
            dir: dir.into(),
            plain: dir.join("plain.bin").into(),
            tmp: dir.join("atomic.bin.tmp").into(),
            target: dir.join("atomic.bin").into(),
        }
    }

    /// The operations that touch the disk, by name.
    fn ops(&self) -> [(&'static str, Op<'_>); 5] {
        [
            (
                "store_save",
                Box::new(|| {
                    Box::pin(async {
                        self.store
                            .save(&self.lease, self.checkpoint)
                            .await
                            .expect("save");
                    })
                }),
            ),
            (
                "workflow_1_step",
                Box::new(|| {
                    Box::pin(async {
                        let run = DurableOne::new(black_box(32)).run_durable(&self.store, ID);
                        black_box(run.await.expect("run"));
                    })
                }),
            ),
            (
                "workflow_5_steps",
                Box::new(|| {
                    Box::pin(async {
                        let run = DurableFive::new(black_box(32)).run_durable(&self.store, ID);
                        black_box(run.await.expect("run"));
                    })
                }),
            ),
            (
                "fsync_write",
                Box::new(|| {
                    let (path, bytes) = (Arc::clone(&self.plain), Arc::clone(&self.bytes));
                    Box::pin(blocking(move || fsync_write(&path, &bytes)))
                }),
            ),
            (
                "atomic_by_hand",
                Box::new(|| {
                    let (dir, tmp) = (Arc::clone(&self.dir), Arc::clone(&self.tmp));
                    let (target, bytes) = (Arc::clone(&self.target), Arc::clone(&self.bytes));
                    Box::pin(blocking(move || atomic_write(&dir, &tmp, &target, &bytes)))
                }),
            ),
        ]
    }
}

fn one_durable_step(c: &mut Criterion, s: &Setup<'_>, disk: &Disk<'_>) {
    const GROUP: &str = "one_durable_step";
    let (rt, recorder) = (s.rt, s.recorder);
    let mut g = c.benchmark_group(GROUP);
    for (name, op) in disk.ops() {
        bench(&mut g, rt, recorder, (GROUP, name), &op);
    }
    bench(&mut g, rt, recorder, (GROUP, "spawn_blocking_noop"), || {
        blocking(|| Ok(()))
    });
    bench(&mut g, rt, recorder, (GROUP, "encode"), || async {
        encode("save", black_box(s.checkpoint), "location").map(|bytes| bytes.len())
    });
    g.finish();
}

/// Rounds of the interleaved cross-check.
const ROUNDS: usize = 150;

/// The disk operations again, interleaved: [`ROUNDS`] rounds, each running
/// every operation once, starting from a different one each round. Criterion
/// runs one variant after the other, so a drift of the disk's fsync latency
/// over the run (a virtual disk, a busy host) lands on whichever variant ran
/// then; here every operation sees the same drift. Each operation is timed
/// alone: milliseconds, well above the clock's resolution.
fn interleaved(rt: &Runtime, disk: &Disk<'_>) -> BTreeMap<&'static str, Vec<Duration>> {
    let ops = disk.ops();
    let mut times: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    rt.block_on(async {
        for round in 0..ROUNDS {
            for k in 0..ops.len() {
                let (name, op) = &ops[(round + k) % ops.len()];
                let start = Instant::now();
                op().await;
                times.entry(name).or_default().push(start.elapsed());
            }
        }
    });
    times
}

fn in_memory(c: &mut Criterion, s: &Setup<'_>) {
    const GROUP: &str = "in_memory";
    let rt = s.rt;
    let store = MemoryStore::new();
    let mut g = c.benchmark_group(GROUP);
    bench(
        &mut g,
        rt,
        s.recorder,
        (GROUP, "durable_memory_store"),
        || DurableFive::new(black_box(32)).run_durable(&store, ID),
    );
    bench(&mut g, rt, s.recorder, (GROUP, "workflow_run"), || {
        Five::new(black_box(32)).run()
    });
    bench(&mut g, rt, s.recorder, (GROUP, "hand_written"), || {
        hand_written(black_box(32))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(SAMPLES)
}

// ---------------------------------------------------------------------------
// The summary
// ---------------------------------------------------------------------------

/// `ns` as "812 ns", "3.41 µs" or "1.234 ms". A derived figure can come out
/// negative when the disk's latency drifts during the run: it keeps its
/// sign, and the summary says what that means.
fn fmt_ns(ns: f64) -> String {
    let sign = if ns < 0.0 { "-" } else { "" };
    let abs = ns.abs();
    if abs < 1_000.0 {
        format!("{sign}{abs:.0} ns")
    } else if abs < 1_000_000.0 {
        format!("{sign}{:.2} µs", abs / 1_000.0)
    } else {
        format!("{sign}{:.3} ms", abs / 1_000_000.0)
    }
}

/// The median of `values` (not empty), sorting them.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Median and mean, in nanoseconds, of the interleaved times of `name`.
fn round_stats(rounds: &BTreeMap<&str, Vec<Duration>>, name: &str) -> Option<(f64, f64)> {
    let mut ns: Vec<f64> = rounds
        .get(name)?
        .iter()
        .map(|d| d.as_nanos() as f64)
        .collect();
    let mean = ns.iter().sum::<f64>() / ns.len() as f64;
    Some((median(&mut ns), mean))
}

/// A figure of the disk table: from criterion's samples, and from the
/// interleaved rounds.
#[derive(Clone, Copy)]
struct Figure {
    criterion: Option<(f64, f64)>,
    rounds: Option<(f64, f64)>,
}

impl Figure {
    /// Derives a figure from two others, median by median and mean by mean.
    fn derive(a: Figure, b: Figure, f: fn(f64, f64) -> f64) -> Figure {
        let pair = |x: Option<(f64, f64)>, y: Option<(f64, f64)>| {
            let ((x_med, x_mean), (y_med, y_mean)) = (x?, y?);
            Some((f(x_med, y_med), f(x_mean, y_mean)))
        };
        Figure {
            criterion: pair(a.criterion, b.criterion),
            rounds: pair(a.rounds, b.rounds),
        }
    }
}

/// `value` as a cell of a table, "-" if it is missing.
fn cell(value: Option<f64>, show: fn(f64) -> String) -> String {
    value.map_or_else(|| "-".to_owned(), show)
}

fn print_summary(
    recorder: &Recorder,
    rounds: &BTreeMap<&str, Vec<Duration>>,
    fs_note: &str,
    bytes: usize,
) {
    let ratio = |x: f64| format!("{x:.2}x");
    let figure = |name: &str| Figure {
        criterion: recorder.stats(&format!("one_durable_step/{name}")),
        rounds: round_stats(rounds, name),
    };
    let save = figure("store_save");
    let one = figure("workflow_1_step");
    let five = figure("workflow_5_steps");
    let plain = figure("fsync_write");
    let atomic = figure("atomic_by_hand");
    let marginal = Figure::derive(one, five, |one, five| (five - one) / 4.0);
    let amortised = Figure::derive(five, five, |five, _| five / 5.0);
    let fixed = Figure::derive(one, five, |one, five| one - (five - one) / 4.0);

    println!();
    println!("Summary, per operation.");
    println!(
        "criterion: median and mean of the {SAMPLES} per-sample averages; \
         interleaved: median and mean of {ROUNDS} single timings, every operation once per round."
    );
    println!();
    println!("one_durable_step: {fs_note}; checkpoint of {bytes} bytes");
    println!(
        "{:<44} {:>11} {:>11} {:>11} {:>11}",
        "operation", "crit median", "crit mean", "int median", "int mean"
    );
    let rows = [
        ("store_save (encode + hop + atomic write)", save),
        ("workflow_1_step (whole run)", one),
        ("workflow_5_steps (whole run)", five),
        ("  marginal step = (5 steps - 1 step) / 4", marginal),
        ("  amortised step = 5 steps / 5", amortised),
        ("  fixed cost of a run (claim, load, delete)", fixed),
        ("(b) fsync_write (1 fsync, not atomic)", plain),
        ("(c) atomic_by_hand (2 fsyncs)", atomic),
        (
            "spawn_blocking_noop (the hop alone)",
            figure("spawn_blocking_noop"),
        ),
        ("encode (inline)", figure("encode")),
    ];
    for (what, f) in rows {
        println!(
            "{what:<44} {:>11} {:>11} {:>11} {:>11}",
            cell(f.criterion.map(|s| s.0), fmt_ns),
            cell(f.criterion.map(|s| s.1), fmt_ns),
            cell(f.rounds.map(|s| s.0), fmt_ns),
            cell(f.rounds.map(|s| s.1), fmt_ns),
        );
    }

    if [fixed.criterion, fixed.rounds]
        .iter()
        .any(|f| f.is_some_and(|(median, _)| median < 0.0))
    {
        println!(
            "note: a negative fixed cost means the disk's latency changed between the runs \
             it is derived from (another process writing to the same file system?): \
             the derived figures of that column are noise."
        );
    }

    println!();
    println!(
        "{:<44} {:>11} {:>11} {:>11} {:>11}",
        "ratio of medians", "crit /(b)", "crit /(c)", "int /(b)", "int /(c)"
    );
    for (what, ours) in [
        ("store_save", save),
        ("marginal durable step", marginal),
        ("amortised durable step", amortised),
    ] {
        let over = |x: Option<(f64, f64)>, y: Option<(f64, f64)>| Some(x?.0 / y?.0);
        println!(
            "{what:<44} {:>11} {:>11} {:>11} {:>11}",
            cell(over(ours.criterion, plain.criterion), ratio),
            cell(over(ours.criterion, atomic.criterion), ratio),
            cell(over(ours.rounds, plain.rounds), ratio),
            cell(over(ours.rounds, atomic.rounds), ratio),
        );
    }

    println!();
    println!("in_memory: five trivial steps (criterion)");
    println!(
        "{:<44} {:>11} {:>11} {:>11}",
        "operation", "median", "mean", "vs hand"
    );
    let m = |name: &str| recorder.stats(&format!("in_memory/{name}"));
    let hand = m("hand_written");
    for (what, stats) in [
        (
            "durable workflow, run_durable(&MemoryStore)",
            m("durable_memory_store"),
        ),
        ("workflow, run()", m("workflow_run")),
        ("hand_written", hand),
    ] {
        let over = (|| Some(stats?.0 / hand?.0))();
        println!(
            "{what:<44} {:>11} {:>11} {:>11}",
            cell(stats.map(|s| s.0), fmt_ns),
            cell(stats.map(|s| s.1), fmt_ns),
            cell(over, |x| format!("{x:.1}x")),
        );
    }
}

fn main() {
    let rt = runtime();
    let dir = BenchDir::create();
    let fs_note = format!("directory {} on {}", dir.0.display(), file_system(&dir.0));
    println!("note: {fs_note}");
    check_variants(&rt, &dir.0);
    let checkpoint = final_checkpoint(&rt);
    let bytes = encode("save", &checkpoint, "location")
        .expect("encode")
        .len();
    let recorder = Recorder::default();
    let setup = Setup {
        rt: &rt,
        recorder: &recorder,
        checkpoint: &checkpoint,
    };
    let disk = Disk::new(&rt, &dir.0, &checkpoint);
    let mut c = config().configure_from_args();
    one_durable_step(&mut c, &setup, &disk);
    in_memory(&mut c, &setup);
    c.final_summary();
    let rounds = interleaved(&rt, &disk);
    rt.block_on(disk.store.delete(disk.lease)).expect("delete");
    print_summary(&recorder, &rounds, &fs_note, bytes);
    drop(dir);
}
