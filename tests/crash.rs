//! Crash test: a durable workflow is killed with SIGKILL at random instants,
//! many times, and resumed each time. Nothing may be lost: the final output is
//! right, no step runs again once its checkpoint was written, and every
//! checkpoint left behind is readable.
//!
//! The test binary is its own helper: `crash_worker` does nothing unless
//! `RESILIENCE_CRASH_DIR` is set, and the driver runs this binary with it.
//! `RESILIENCE_CRASH_ROUNDS` (default 20) sets how many workflows are run to
//! completion through kills; set it high for a soak.
//!
//! `sigkill_during_group_commits_loses_nothing` runs [`GROUP`] workflows at
//! once in each helper (a multi-thread runtime), so that the directory
//! store commits their saves in batches (one `syncfs` each, creations
//! renamed between two flushes) and the kills land inside batches. A
//! SIGKILL leaves the page cache to the next process, so this checks that
//! a kill at any instant of a batch leaves the old checkpoint or the new
//! one; what survives a power loss rests on the flush order (see the
//! store's Durability section), which no test here can cut.
//!
//! With the `postgres` feature the same rounds run on a `PostgresStore`
//! (`RESILIENCE_CRASH_DB` set in the helper), on a PostgreSQL started for
//! the test (skipped, saying so, when PostgreSQL is not installed, unless
//! `RESILIENCE_REQUIRE_POSTGRES=1`). A killed helper's lease lives on until
//! it expires, so the next helper waits for it, then says it is ready
//! (`ready` file) and the kill window starts.

#[path = "common/kill.rs"]
mod kill;
#[cfg(feature = "postgres")]
#[allow(dead_code, unreachable_pub)]
#[path = "../resilience-postgres/tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use resilience::checkpoint::{CheckpointStore, DirectoryStore};
use resilience::durable::DurableOptions;
use resilience::workflow;

const STEPS: u64 = 8;

/// Appends lines to the log file of one round (saved with the inputs: its
/// path).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Log {
    path: PathBuf,
}

impl Log {
    fn append(&self, line: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .expect("open log");
        // One write(2) per line (O_APPEND): a kill cannot split a line.
        file.write_all(format!("{line}\n").as_bytes())
            .expect("append to log");
    }

    /// One step: logs that it runs, works a little, returns `input + k`.
    async fn step(&self, k: u64, input: u64) -> Result<u64, std::io::Error> {
        self.append(&format!("run {k}"));
        tokio::time::sleep(Duration::from_millis(3)).await;
        Ok(input * 10 + k)
    }
}

workflow! {
    durable workflow Pipeline(log: Log) -> Result<u64, std::io::Error> {
        step s1: u64 = log.step(1, 0).await;
        step s2: u64 = log.step(2, *s1).await;
        step s3: u64 = log.step(3, *s2).await;
        step s4: u64 = log.step(4, *s3).await;
        step s5: u64 = log.step(5, *s4).await;
        step s6: u64 = log.step(6, *s5).await;
        step s7: u64 = log.step(7, *s6).await;
        step s8: u64 = log.step(8, *s7).await;
        s8
    }
}

const EXPECTED: u64 = 12_345_678;

/// The lease of the Postgres helpers: a killed helper's run is taken over
/// this long after its last renewal.
#[cfg(feature = "postgres")]
const LEASE: Duration = Duration::from_millis(300);

/// The helper process: runs (or resumes) the workflow, logging every
/// checkpoint written, then logs the output.
#[test]
fn crash_worker() {
    let Some(dir) = std::env::var_os("RESILIENCE_CRASH_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let id = std::env::var("RESILIENCE_CRASH_ID").unwrap_or_else(|_| "job".to_owned());
    let ids: usize = std::env::var("RESILIENCE_CRASH_IDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    if ids > 1 {
        return group_worker(&dir, &id, ids);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        #[cfg(feature = "postgres")]
        if let Ok(url) = std::env::var("RESILIENCE_CRASH_DB") {
            let store = resilience::PostgresStore::connect(&url)
                .await
                .expect("connect")
                .with_lease(LEASE);
            // Wait out the lease of the helper killed before this one.
            loop {
                match store.claim("Pipeline", &id).await {
                    Ok(lease) => break drop(lease),
                    Err(resilience::CheckpointError::Locked { .. }) => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err(error) => panic!("claim: {error}"),
                }
            }
            std::fs::write(dir.join("ready"), b"").expect("ready");
            return run_pipeline(&store, &dir, &id).await;
        }
        let store = DirectoryStore::open(dir.join("checkpoints")).expect("open store");
        run_pipeline(&store, &dir, &id).await;
    });
}

/// How many workflows a helper of the group-commit test runs at once.
const GROUP: usize = 8;

/// The workflows of one round: the directory of each one's log, and its id.
fn runs(dir: &Path, id: &str, ids: usize) -> Vec<(PathBuf, String)> {
    if ids == 1 {
        return vec![(dir.to_owned(), id.to_owned())];
    }
    (0..ids)
        .map(|k| (dir.join(k.to_string()), format!("{id}-{k}")))
        .collect()
}

/// Whether the log in `dir` records the output.
fn done(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("log"))
        .unwrap_or_default()
        .lines()
        .any(|line| line.starts_with("done "))
}

/// The helper of the group-commit test: runs (or resumes) the `ids`
/// workflows of the round that have not recorded their output, all at once,
/// in one `DirectoryStore`.
fn group_worker(dir: &Path, id: &str, ids: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = DirectoryStore::open(dir.join("checkpoints")).expect("open store");
        let mut tasks = tokio::task::JoinSet::new();
        for (log_dir, id) in runs(dir, id, ids) {
            if done(&log_dir) {
                continue;
            }
            std::fs::create_dir_all(&log_dir).expect("log dir");
            let store = store.clone();
            tasks.spawn(async move { run_pipeline(&store, &log_dir, &id).await });
        }
        while let Some(finished) = tasks.join_next().await {
            finished.expect("a workflow task");
        }
    });
}

/// Runs the workflow `id` in `store` to the end, logging to `dir/log`.
async fn run_pipeline(store: &impl CheckpointStore, dir: &Path, id: &str) {
    let log_path = dir.join("log");
    let log = Log {
        path: log_path.clone(),
    };
    let saved = Log { path: log_path };
    let own = id.to_owned();
    let _observer = resilience::events::observe(move |event| {
        if let resilience::EventKind::Checkpointed { id, position } = event.kind
            && id == own
        {
            saved.append(&format!("saved {position}"));
        }
    });
    // Keep the final checkpoint until the output is recorded: a crash in
    // between returns the output again instead of starting over.
    let options = DurableOptions::new().with_checkpoint_kept();
    let output = Pipeline::new(log)
        .run_durable_with(store, id, options)
        .await
        .expect("run");
    Log {
        path: dir.join("log"),
    }
    .append(&format!("done {output}"));
    store.discard("Pipeline", id).await.expect("discard");
}

/// Where the rounds keep their checkpoints.
#[derive(Clone, Copy)]
enum Backend<'a> {
    /// A `DirectoryStore` in each round's directory.
    Directory,
    /// A `PostgresStore` on the database at this URL; one id per round.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres(&'a str),
}

fn worker(dir: &Path, backend: Backend<'_>, id: &str, ids: usize) -> std::process::Child {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args(["crash_worker", "--exact", "--nocapture", "--test-threads=1"])
        .env("RESILIENCE_CRASH_DIR", dir)
        .env("RESILIENCE_CRASH_ID", id)
        .env("RESILIENCE_CRASH_IDS", ids.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Backend::Postgres(url) = backend {
        command.env("RESILIENCE_CRASH_DB", url);
    }
    command.spawn().expect("spawn worker")
}

/// The position of the checkpoint of round `id` after a kill, read whole
/// and checked (`None`: there is none); panics if it is unreadable.
fn checkpoint_after_kill(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    backend: Backend<'_>,
    id: &str,
) -> Option<u32> {
    runtime.block_on(async {
        match backend {
            Backend::Directory => {
                let store = DirectoryStore::open(dir.join("checkpoints")).expect("store");
                let lease = store
                    .claim("Pipeline", id)
                    .await
                    .expect("claim after the kill");
                let checkpoint = store
                    .load(&lease)
                    .await
                    .unwrap_or_else(|e| panic!("{id}: unreadable checkpoint after a kill: {e}"))?;
                checkpoint
                    .verify("crash test", "Pipeline", Pipeline::FINGERPRINT)
                    .expect("the checkpoint is this workflow's");
                Some(checkpoint.position)
            }
            // The killed helper's lease lives until it expires: read the
            // checkpoint without claiming it (listing decodes and checks it).
            #[cfg(feature = "postgres")]
            Backend::Postgres(url) => {
                let store = resilience::PostgresStore::connect(url)
                    .await
                    .expect("store");
                let listed = store.list_unfinished().await.expect("list");
                let entry = listed
                    .into_iter()
                    .find(|entry| entry.as_ref().map_or(true, |info| info.id == id))?;
                let info = entry
                    .unwrap_or_else(|e| panic!("{id}: unreadable checkpoint after a kill: {e}"));
                assert_eq!(info.fingerprint, Pipeline::FINGERPRINT, "{id}");
                Some(info.position)
            }
            #[cfg(not(feature = "postgres"))]
            Backend::Postgres(_) => unreachable!("the postgres feature is off"),
        }
    })
}

/// Checks the log of one round: every step ran at least once, none ran
/// again after its checkpoint was saved, and the output is right.
fn check_log(text: &str) -> Result<(), String> {
    let mut saved_up_to = 0;
    let mut done = None;
    for line in text.lines() {
        let (what, value) = line
            .split_once(' ')
            .ok_or(format!("bad log line {line:?}"))?;
        let value: u64 = value
            .parse()
            .map_err(|_| format!("bad log line {line:?}"))?;
        match what {
            "run" if value <= saved_up_to => {
                return Err(format!(
                    "step {value} ran again after checkpoint {saved_up_to} was saved"
                ));
            }
            "run" => {}
            "saved" => saved_up_to = saved_up_to.max(value),
            "done" => done = Some(value),
            _ => return Err(format!("bad log line {line:?}")),
        }
    }
    match done {
        Some(EXPECTED) => Ok(()),
        other => Err(format!("output {other:?}, expected {EXPECTED}")),
    }
}

#[test]
fn sigkill_at_random_instants_loses_nothing() {
    let base = std::env::temp_dir().join(format!("resilience-crash-{}", std::process::id()));
    crash_rounds(&base, Backend::Directory, 1);
}

#[test]
fn sigkill_during_group_commits_loses_nothing() {
    let base = std::env::temp_dir().join(format!("resilience-crash-group-{}", std::process::id()));
    crash_rounds(&base, Backend::Directory, GROUP);
}

#[cfg(feature = "postgres")]
#[test]
fn sigkill_at_random_instants_loses_nothing_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let Some(url) = runtime.block_on(support::database()) else {
        return;
    };
    let base = std::env::temp_dir().join(format!("resilience-crash-pg-{}", std::process::id()));
    crash_rounds(&base, Backend::Postgres(&url), 1);
}

/// Held by each test that kills helpers: one at a time, since each one's
/// kill window is calibrated on a whole run timed with the machine to
/// itself (another test's helpers running meanwhile would slow its runs
/// down after, or during, the calibration).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs workflows to completion through kills at random instants, `ids`
/// at once per round, and checks what each kill left behind and each
/// workflow's log.
fn crash_rounds(base: &Path, backend: Backend<'_>, ids: usize) {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let rounds: u32 = std::env::var("RESILIENCE_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let mut kills = 0;
    let mut resumed_mid_way = 0;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut clock = kill::KillClock::calibrate(|n| {
        let dir = base.join(format!("calibrate-{n}"));
        std::fs::create_dir_all(&dir).expect("calibration dir");
        let mut child = worker(&dir, backend, &format!("calibrate-{n}"), ids);
        if let Backend::Postgres(_) = backend {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !dir.join("ready").exists() && child.try_wait().expect("wait").is_none() {
                assert!(
                    Instant::now() < deadline,
                    "the calibration run never got the lease"
                );
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        let start = Instant::now();
        let status = child.wait().expect("calibration run");
        assert!(status.success(), "the calibration run failed: {status}");
        start.elapsed()
    });
    for round in 0..rounds {
        let dir = base.join(round.to_string());
        let id = format!("job-{round}");
        std::fs::create_dir_all(&dir).expect("round dir");
        let mut spawns = 0;
        loop {
            spawns += 1;
            assert!(spawns < 500, "round {round}: the workflow never finished");
            let _ = std::fs::remove_file(dir.join("ready"));
            let mut child = worker(&dir, backend, &id, ids);
            if let Backend::Postgres(_) = backend {
                // The kill window starts once the helper holds the lease.
                let deadline = Instant::now() + Duration::from_secs(30);
                while !dir.join("ready").exists() && child.try_wait().expect("wait").is_none() {
                    assert!(
                        Instant::now() < deadline,
                        "round {round}: the helper never got the lease"
                    );
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            let finished = kill::wait_until(&mut child, clock.deadline(spawns));
            match finished {
                Some(status) => {
                    assert!(
                        status.success(),
                        "round {round}: the worker failed: {status}"
                    );
                    break;
                }
                None => {
                    child.kill().expect("SIGKILL");
                    child.wait().expect("reap");
                    kills += 1;
                    // Killed after it logged its output, while exiting: done.
                    if runs(&dir, &id, ids)
                        .iter()
                        .all(|(log_dir, _)| done(log_dir))
                    {
                        break;
                    }
                }
            }
            // Whatever the instant, the checkpoints left behind read back.
            for (_, id) in runs(&dir, &id, ids) {
                if let Some(position) = checkpoint_after_kill(&runtime, &dir, backend, &id) {
                    assert!(u64::from(position) <= STEPS);
                    if (1..STEPS).contains(&u64::from(position)) {
                        resumed_mid_way += 1;
                    }
                }
            }
        }
        for (log_dir, id) in runs(&dir, &id, ids) {
            let log = std::fs::read_to_string(log_dir.join("log")).expect("log");
            if let Err(problem) = check_log(&log) {
                panic!("round {round}, {id}: {problem}\nlog:\n{log}");
            }
            // The output was recorded, then the checkpoint discarded (or,
            // killed in between, it is the final one).
            if let Some(position) = checkpoint_after_kill(&runtime, &dir, backend, &id) {
                assert_eq!(u64::from(position), STEPS, "round {round}, {id}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(base);
    println!(
        "{rounds} rounds completed through {kills} SIGKILLs (seed {}, a whole run {}us); \
         {resumed_mid_way} resumed from a checkpoint mid-way",
        clock.seed, clock.whole_run
    );
    assert!(
        kills >= rounds / 2,
        "too few kills ({kills}) to mean anything (seed {}, a whole run {}us)",
        clock.seed,
        clock.whole_run
    );
    assert!(
        resumed_mid_way > 0,
        "no kill left a mid-way checkpoint: nothing was resumed"
    );
}

#[test]
fn check_log_catches_a_rerun() {
    assert!(check_log("run 1\nsaved 1\nrun 2\nsaved 2\nrun 2\ndone 12345678").is_err());
    assert!(check_log("run 1\nrun 1\nsaved 1\ndone 12345678").is_ok());
    assert!(check_log("run 1\nsaved 1\ndone 7").is_err());
}

/// A checkpoint of `position` whose state is about 1.5 KB, so that its
/// slot spans several sectors.
fn big_checkpoint(position: u32) -> resilience::checkpoint::Checkpoint {
    let state = format!(
        "{{\"After\":{{\"n\":{position},\"pad\":\"{}\"}}}}",
        "y".repeat(1400)
    );
    resilience::checkpoint::Checkpoint::new(
        "Torn",
        1,
        position,
        resilience::checkpoint::Phase::Running,
        state.into_bytes(),
    )
}

/// Claims `Torn`/`job`. The sigkill test spawns processes meanwhile: a
/// child between its fork and its exec holds a copy of every descriptor
/// of this process, the lock file's of a lease just dropped included,
/// until its exec closes them; so a claim may find the lock held for
/// that instant, and tries again.
async fn claim(store: &DirectoryStore) -> resilience::checkpoint::DirectoryLease {
    for _ in 0..400 {
        match store.claim("Torn", "job").await {
            Ok(lease) => return lease,
            Err(resilience::checkpoint::CheckpointError::Locked { .. }) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(e) => panic!("claim: {e}"),
        }
    }
    panic!("claim: still locked after 2s")
}

/// The indices of the 512-byte sectors in which `a` and `b` differ.
fn changed_sectors(a: &[u8], b: &[u8]) -> Vec<usize> {
    assert_eq!(a.len(), b.len(), "a save in place keeps the file's size");
    (0..a.len() / 512)
        .filter(|&i| a[i * 512..(i + 1) * 512] != b[i * 512..(i + 1) * 512])
        .collect()
}

/// `base` with the sectors of `mask` (bits over `sectors`) taken from `new`.
fn tear(base: &[u8], new: &[u8], sectors: &[usize], mask: u32) -> Vec<u8> {
    let mut torn = base.to_vec();
    for (bit, &i) in sectors.iter().enumerate() {
        if mask & (1 << bit) != 0 {
            torn[i * 512..(i + 1) * 512].copy_from_slice(&new[i * 512..(i + 1) * 512]);
        }
    }
    torn
}

/// What a power cut can do that a SIGKILL cannot: tear a write. Disks
/// write a 512-byte sector whole or not at all, so a torn save leaves some
/// sectors of the new write and some of the old bytes, in any mix. For
/// every mix of the sectors a save in place changes (the store's own
/// files, layout-blind: the test only diffs them), a fresh store loads the
/// previous checkpoint or the new one, whole, never an error. Then a save
/// after the crash, torn again in every mix over the torn file, still
/// leaves the checkpoint before it or itself: so the save went to the torn
/// slot, never over the one whole checkpoint left.
#[test]
fn torn_writes_in_every_sector_mix_lose_nothing() {
    let dir = std::env::temp_dir().join(format!("resilience-torn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let load = |bytes: &[u8]| -> Result<Option<u32>, String> {
        runtime.block_on(async {
            let store = DirectoryStore::open(&dir).expect("store");
            let lease = claim(&store).await;
            std::fs::write(
                resilience::checkpoint::CheckpointLease::location(&lease),
                bytes,
            )
            .expect("write the torn file");
            let loaded = store.load(&lease).await.map_err(|e| e.to_string())?;
            Ok(loaded.map(|checkpoint| checkpoint.position))
        })
    };
    let (path, before, after) = runtime.block_on(async {
        let store = DirectoryStore::open(&dir).expect("store");
        let lease = claim(&store).await;
        let path = PathBuf::from(resilience::checkpoint::CheckpointLease::location(&lease));
        for position in 1..=3 {
            store
                .save(&lease, &big_checkpoint(position))
                .await
                .expect("save");
        }
        let before = std::fs::read(&path).expect("read");
        store.save(&lease, &big_checkpoint(4)).await.expect("save");
        let after = std::fs::read(&path).expect("read");
        (path, before, after)
    });
    let sectors = changed_sectors(&before, &after);
    assert!(
        sectors.len() >= 4,
        "the save spans {} sectors",
        sectors.len()
    );
    let mut retorn = 0;
    for mask in 0..1u32 << sectors.len() {
        let torn = tear(&before, &after, &sectors, mask);
        let whole = mask == (1 << sectors.len()) - 1;
        let want = if whole { 4 } else { 3 };
        assert_eq!(load(&torn), Ok(Some(want)), "mask {mask:b}");
        if whole {
            continue;
        }
        // Resumed after the crash: the next save (position 4 again, with
        // other bytes) through a fresh store, then torn in every mix too.
        let resaved = runtime.block_on(async {
            let store = DirectoryStore::open(&dir).expect("store");
            let lease = claim(&store).await;
            std::fs::write(&path, &torn).expect("write the torn file");
            // Other bytes, as long: its sectors land where the torn
            // write's did.
            let mut again = big_checkpoint(4);
            again.state = String::from_utf8(again.state)
                .unwrap()
                .replace('y', "z")
                .into_bytes();
            store
                .save(&lease, &again)
                .await
                .expect("save after the crash");
            assert_eq!(store.load(&lease).await.expect("load"), Some(again));
            std::fs::read(&path).expect("read")
        });
        let second = changed_sectors(&torn, &resaved);
        assert!(
            second.len() >= 4,
            "the save after the crash spans {} sectors",
            second.len()
        );
        for mask2 in 0..1u32 << second.len() {
            let torn_twice = tear(&torn, &resaved, &second, mask2);
            let want = if mask2 == (1 << second.len()) - 1 {
                4
            } else {
                3
            };
            assert_eq!(
                load(&torn_twice),
                Ok(Some(want)),
                "mask {mask:b}, then {mask2:b}"
            );
            retorn += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{} torn first writes and {retorn} torn writes after them: each loaded the checkpoint before it or itself",
        (1u32 << sectors.len()) - 1
    );
}

/// Damage is not a torn write: a flipped bit in the newest checkpoint is
/// an error that names the file, never a silent fall-back to the older one
/// (which would run a saved step again).
#[test]
fn a_flipped_bit_in_the_newest_checkpoint_is_an_error() {
    let dir = std::env::temp_dir().join(format!("resilience-flip-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = DirectoryStore::open(&dir).expect("store");
        let lease = claim(&store).await;
        let path = PathBuf::from(resilience::checkpoint::CheckpointLease::location(&lease));
        store.save(&lease, &big_checkpoint(1)).await.expect("save");
        let before = std::fs::read(&path).expect("read");
        store.save(&lease, &big_checkpoint(2)).await.expect("save");
        let after = std::fs::read(&path).expect("read");
        for &sector in &changed_sectors(&before, &after) {
            let mut damaged = after.clone();
            damaged[sector * 512 + 300] ^= 0x04;
            std::fs::write(&path, &damaged).expect("write");
            let err = store.load(&lease).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    resilience::checkpoint::CheckpointError::Checksum { .. }
                ),
                "sector {sector}: {err:?}"
            );
            assert_eq!(err.location(), path.display().to_string());
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
