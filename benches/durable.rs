//! What durability costs: one durable step on a `DirectoryStore` against one
//! fsync'd write of the same bytes to the same directory; a durable
//! workflow on the in-memory store against a non-durable one; and the
//! throughput of 200 concurrent durable workflows on the directory store
//! and on PostgreSQL (group commit), in one run.
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
//! therefore not "one durable step": its first save creates the file
//! (two fsyncs), the delete flushes the directory, and the claim and the load add file operations of their own. And a run with `DurableOptions::with_checkpoint_kept` cannot be
//! repeated: the second run finds the final checkpoint and returns the
//! output without running a step. So three figures are measured and two are
//! derived from them:
//!
//! - `store_save`: [`CheckpointStore::save`] of one checkpoint, on a lease
//!   claimed once outside the loop: [`encode`] (pretty JSON plus a CRC-32
//!   header), the hop to tokio's blocking pool, then `pwrite` of the older
//!   of the file's two slots and one `fdatasync` (the file exists: the
//!   lease saved before). The checkpoint is the one the
//!   5-step workflow writes after its last step (read back from a
//!   `MemoryStore`), so its bytes are the store's own.
//! - `workflow_1_step`, `workflow_5_steps`: whole runs of [`DurableOne`] and
//!   [`DurableFive`] with `run_durable` (default options: the checkpoint is
//!   deleted at the end, so every run starts afresh under the same id). The
//!   steps are trivial (`Ok(prev + 1)`), so the time is the durability's.
//! - derived, *marginal step* = (`workflow_5_steps` - `workflow_1_step`) / 4:
//!   what one more step adds to a run (step, JSON of the state, save in
//!   place). This is the honest "one durable step".
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
//! - `atomic_by_hand` (c): the store's procedure before format version 4,
//!   without the store: create the temporary file, write, fsync, rename
//!   over the target, open and fsync the directory. Two fsyncs.
//! - `fdatasync_in_place` (d): `pwrite` of the same bytes into a file whose
//!   blocks exist, then `fdatasync`: what a save in place does on disk,
//!   without the store. The floor of the layout.
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
//! # Throughput: 200 concurrent durable workflows
//!
//! On a multi-thread runtime (2 workers), 200 tasks at once, in two ways,
//! each the median of 3 rounds, in durable steps (saves) per second:
//!
//! - store API: 200 leases, each saved once untimed (the save that creates
//!   its file or row), then each saves 50 checkpoints one after the other,
//!   every save awaited as the driver awaits it after each step.
//! - `workflow!`: 200 tasks each run [`DurableTwenty`] (twenty trivial
//!   steps) twice with `run_durable`, each run under a new id: claim, load,
//!   twenty steps and saves, delete, all timed. This is the figure of the
//!   last line.
//!
//! On the directory store (Linux) the saves waiting at once are written
//! by one committer on the blocking pool and made durable by one `syncfs`
//! of the file system (a lone save by its own `fdatasync`); elsewhere each
//! save is its own `fdatasync`, 200 of them in flight at once. On
//! PostgreSQL the store's committer writes the saves waiting at once in
//! one statement and one commit. The PostgreSQL figures need the `postgres` feature and
//! PostgreSQL's binaries (`initdb`, `pg_ctl`): the bench starts a throwaway
//! cluster in a temporary directory (fsync on, synchronous commit: durable
//! as a production server) and removes it at the end; without them it says
//! that they were skipped.
//!
//! The last two lines are `durable step: ours/one fsync R` (the marginal
//! step over (b), interleaved medians) and `durable throughput: directory N
//! steps/s, postgres M steps/s (200 workflows)` (the `workflow!` figures).
//!
//! Run: `cargo bench --bench durable --features postgres`.

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

/// (d): what a save in place does on disk, by hand: `pwrite` of the same
/// bytes into a file whose blocks exist, then `fdatasync`. One flush and
/// no metadata: the floor of the store's layout.
fn in_place_write(file: &File, bytes: &[u8]) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, 0)?;
    file.sync_data()
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

/// A file of 8 KiB of zeros, flushed: its blocks exist.
fn preallocated(path: &Path) -> File {
    let mut file = File::create(path).expect("create the in-place file");
    file.write_all(&[0; 8192]).expect("fill the in-place file");
    file.sync_all().expect("flush the in-place file");
    file
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
    slots: Arc<File>,
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
            slots: Arc::new(preallocated(&dir.join("in-place.bin"))),
        }
    }

    /// The operations that touch the disk, by name.
    fn ops(&self) -> [(&'static str, Op<'_>); 6] {
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
            (
                "fdatasync_in_place",
                Box::new(|| {
                    let (file, bytes) = (Arc::clone(&self.slots), Arc::clone(&self.bytes));
                    Box::pin(blocking(move || in_place_write(&file, &bytes)))
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

/// Prints the tables; returns the marginal durable step over one fsync'd
/// write, from the interleaved medians (`None` if one did not run).
fn print_summary(
    recorder: &Recorder,
    rounds: &BTreeMap<&str, Vec<Duration>>,
    fs_note: &str,
    bytes: usize,
) -> Option<f64> {
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
    let in_place = figure("fdatasync_in_place");
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
        ("store_save (encode + hop + pwrite + fdatasync)", save),
        ("workflow_1_step (whole run)", one),
        ("workflow_5_steps (whole run)", five),
        ("  marginal step = (5 steps - 1 step) / 4", marginal),
        ("  amortised step = 5 steps / 5", amortised),
        ("  fixed cost of a run (claim, load, delete)", fixed),
        ("(b) fsync_write (1 fsync, not atomic)", plain),
        ("(c) atomic_by_hand (2 fsyncs)", atomic),
        ("(d) fdatasync_in_place (pwrite, 1 fdatasync)", in_place),
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
    println!(
        "{:<44} {:>11} {:>11}",
        "ratio of medians to (d), the layout's floor", "crit /(d)", "int /(d)"
    );
    for (what, ours) in [("store_save", save), ("marginal durable step", marginal)] {
        let over = |x: Option<(f64, f64)>, y: Option<(f64, f64)>| Some(x?.0 / y?.0);
        println!(
            "{what:<44} {:>11} {:>11}",
            cell(over(ours.criterion, in_place.criterion), ratio),
            cell(over(ours.rounds, in_place.rounds), ratio),
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
    Some(marginal.rounds?.0 / plain.rounds?.0)
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
    let step_ratio = print_summary(&recorder, &rounds, &fs_note, bytes);

    let mt = multi_thread_runtime();
    let store = DirectoryStore::open(dir.0.join("throughput")).expect("open the store");
    let (dir_api, dir_runs) = throughput(&mt, &store, &checkpoint);
    let postgres = postgres_throughput(&mt, &checkpoint);
    println!();
    println!(
        "throughput: {WORKFLOWS} concurrent durable workflows, multi-thread runtime (2 workers), \
         median of {TP_ROUNDS} rounds, durable steps per second"
    );
    println!(
        "  store API ({SAVES} saves per workflow, each awaited; the save that creates each id not timed):"
    );
    println!("    directory {dir_api:.0} steps/s ({fs_note})");
    match &postgres {
        Ok((api, _)) => println!("    postgres  {api:.0} steps/s (a throwaway cluster, fsync on)"),
        Err(why) => println!("    postgres  skipped: {why}"),
    }
    println!(
        "  workflow! (DurableTwenty, {RUNS} runs per workflow: claim, load, 20 steps and saves, delete, all timed):"
    );
    println!("    directory {dir_runs:.0} steps/s");
    if let Ok((_, runs)) = &postgres {
        println!("    postgres  {runs:.0} steps/s");
    }
    println!();
    match step_ratio {
        Some(r) => println!("durable step: ours/one fsync {r:.2}"),
        None => println!("durable step: ours/one fsync - (not measured)"),
    }
    let pg = match &postgres {
        Ok((_, runs)) => format!("{runs:.0} steps/s"),
        Err(_) => "skipped".to_owned(),
    };
    println!(
        "durable throughput: directory {dir_runs:.0} steps/s, postgres {pg} ({WORKFLOWS} workflows)"
    );
    drop(dir);
}

// ---------------------------------------------------------------------------
// Throughput: 200 concurrent durable workflows
// ---------------------------------------------------------------------------

workflow! {
    /// Twenty steps, durable: the workflow of the throughput runs.
    durable workflow DurableTwenty(seed: u64) -> Result<u64, BenchError> {
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
        step s11: u64 = step(s10).await;
        step s12: u64 = step(s11).await;
        step s13: u64 = step(s12).await;
        step s14: u64 = step(s13).await;
        step s15: u64 = step(s14).await;
        step s16: u64 = step(s15).await;
        step s17: u64 = step(s16).await;
        step s18: u64 = step(s17).await;
        step s19: u64 = step(s18).await;
        step s20: u64 = step(s19).await;
        s20
    }
}

/// Concurrent workflows of the throughput runs.
const WORKFLOWS: usize = 200;
/// Saves per workflow in a store-API round.
const SAVES: u32 = 50;
/// Runs of [`DurableTwenty`] per workflow in a `workflow!` round.
const RUNS: usize = 2;
/// Rounds of each throughput figure; the median is reported.
const TP_ROUNDS: usize = 3;

/// The runtime of the throughput runs: what a server would use.
fn multi_thread_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a multi-thread tokio runtime")
}

/// Store API: [`WORKFLOWS`] leases claimed and saved once (the save that
/// creates each id's file or row, not timed); then, timed, every lease
/// saves [`SAVES`] checkpoints one after the other (each save awaited, as
/// the driver does after each step), all leases at once. Durable saves
/// per second.
async fn store_round<S>(store: &S, checkpoint: &Checkpoint, round: usize) -> f64
where
    S: CheckpointStore + Clone + 'static,
    S::Lease: 'static,
{
    let name = checkpoint.workflow.clone();
    let mut leases = Vec::with_capacity(WORKFLOWS);
    for i in 0..WORKFLOWS {
        let lease = store
            .claim(&name, &format!("tp-{round}-{i}"))
            .await
            .expect("claim");
        store.save(&lease, checkpoint).await.expect("first save");
        leases.push(lease);
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for lease in leases {
        let (store, mut checkpoint) = (store.clone(), checkpoint.clone());
        tasks.spawn(async move {
            for k in 1..=SAVES {
                checkpoint.position = k;
                store.save(&lease, &checkpoint).await.expect("save");
            }
            lease
        });
    }
    let mut leases = Vec::with_capacity(WORKFLOWS);
    while let Some(lease) = tasks.join_next().await {
        leases.push(lease.expect("a save task"));
    }
    let elapsed = start.elapsed();
    for lease in leases {
        store.delete(lease).await.expect("delete");
    }
    (WORKFLOWS as f64 * f64::from(SAVES)) / elapsed.as_secs_f64()
}

/// `workflow!`: [`WORKFLOWS`] tasks at once, each running [`DurableTwenty`]
/// [`RUNS`] times with `run_durable` under its own id: claim, load, twenty
/// steps each with its save, delete, all timed. Durable steps per second.
async fn workflow_round<S>(store: &S, round: usize) -> f64
where
    S: CheckpointStore + Clone + 'static,
{
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..WORKFLOWS {
        let store = store.clone();
        tasks.spawn(async move {
            for run in 0..RUNS {
                let id = format!("wf-{round}-{i}-{run}");
                let output = DurableTwenty::new(black_box(1))
                    .run_durable(&store, &id)
                    .await
                    .expect("run");
                assert_eq!(output, 21);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a workflow task");
    }
    (WORKFLOWS * RUNS * 20) as f64 / start.elapsed().as_secs_f64()
}

/// The median of [`TP_ROUNDS`] rounds of each figure: (store API,
/// `workflow!`), in steps per second.
fn throughput<S>(rt: &Runtime, store: &S, checkpoint: &Checkpoint) -> (f64, f64)
where
    S: CheckpointStore + Clone + 'static,
    S::Lease: 'static,
{
    let (mut api, mut runs) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for round in 0..TP_ROUNDS {
            api.push(store_round(store, checkpoint, round).await);
            runs.push(workflow_round(store, round).await);
        }
        assert!(store.list_unfinished().await.expect("list").is_empty());
    });
    (median(&mut api), median(&mut runs))
}

/// A throwaway PostgreSQL cluster for the bench, durable as a production
/// server is (fsync on, synchronous commit): initdb into a temporary
/// directory, pg_ctl start on a unix socket only; stopped and removed when
/// dropped.
#[cfg(feature = "postgres")]
mod cluster {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    pub(crate) struct Cluster {
        dir: PathBuf,
        bin: PathBuf,
        as_root: bool,
        port: u16,
    }

    impl Cluster {
        /// Starts one; `Err` says why not (PostgreSQL absent).
        pub(crate) fn start() -> Result<Self, String> {
            let bin = find_bin_dir().ok_or("initdb not found (install postgresql)")?;
            let as_root = output("id", &["-u"]).trim() == "0";
            let dir = std::env::temp_dir().join(format!(
                "resilience-bench-pg-{}-{:08x}",
                std::process::id(),
                fastrand::u32(..)
            ));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let cluster = Self {
                port: 20_000 + u16::try_from(fastrand::u32(..) % 40_000).unwrap_or(0),
                dir,
                bin,
                as_root,
            };
            if as_root {
                let uid = output("id", &["-u", "postgres"]).trim().parse().ok();
                let gid = output("id", &["-g", "postgres"]).trim().parse().ok();
                uid.ok_or("running as root and there is no `postgres` user")?;
                std::os::unix::fs::chown(&cluster.dir, uid, gid).map_err(|e| e.to_string())?;
            }
            let data = cluster.dir.join("data");
            let mut initdb = cluster.pg("initdb");
            initdb.arg("-D").arg(&data).args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
            ]);
            run(initdb, "initdb")?;
            // fsync and synchronous_commit keep their defaults (on): a
            // commit is durable when it returns.
            let options = format!(
                "-k {} -h '' -p {} -c max_connections=300",
                cluster.dir.display(),
                cluster.port
            );
            let mut start = cluster.pg("pg_ctl");
            start
                .arg("-D")
                .arg(&data)
                .args(["-o", &options, "-l"])
                .arg(cluster.dir.join("log"))
                .args(["-w", "-t", "60", "start"]);
            run(start, "pg_ctl start")?;
            Ok(cluster)
        }

        pub(crate) fn url(&self) -> String {
            format!(
                "host={} port={} user=postgres dbname=postgres",
                self.dir.display(),
                self.port
            )
        }

        fn pg(&self, program: &str) -> Command {
            let path = self.bin.join(program);
            let mut command = if self.as_root {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(path);
                command
            } else {
                Command::new(path)
            };
            command.stdin(Stdio::null());
            command
        }
    }

    impl Drop for Cluster {
        fn drop(&mut self) {
            let mut stop = self.pg("pg_ctl");
            stop.arg("-D")
                .arg(self.dir.join("data"))
                .args(["-m", "immediate", "-w", "stop"]);
            let _ = run(stop, "pg_ctl stop");
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn find_bin_dir() -> Option<PathBuf> {
        let has_initdb = |dir: &Path| dir.join("initdb").is_file();
        if let Some(path) = std::env::var_os("PATH")
            && let Some(dir) = std::env::split_paths(&path).find(|dir| has_initdb(dir))
        {
            return Some(dir);
        }
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let version = entry.file_name().to_str()?.parse().ok()?;
                let bin = entry.path().join("bin");
                has_initdb(&bin).then_some((version, bin))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    }

    fn run(mut command: Command, what: &str) -> Result<(), String> {
        let out = command
            .output()
            .map_err(|e| format!("could not run {what}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn output(program: &str, args: &[&str]) -> String {
        Command::new(program)
            .args(args)
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default()
    }
}

/// The Postgres figures, or why there are none.
fn postgres_throughput(rt: &Runtime, checkpoint: &Checkpoint) -> Result<(f64, f64), String> {
    #[cfg(feature = "postgres")]
    {
        let cluster = cluster::Cluster::start()?;
        let store = rt
            .block_on(resilience::PostgresStore::connect(&cluster.url()))
            .map_err(|e| e.to_string())?;
        let figures = throughput(rt, &store, checkpoint);
        drop(store);
        drop(cluster);
        Ok(figures)
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = (rt, checkpoint);
        Err("built without the `postgres` feature (cargo bench --bench durable --features postgres)".to_owned())
    }
}
