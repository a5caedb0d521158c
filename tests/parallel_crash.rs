//! Crash test of a durable fan-out step: the workflow is killed with SIGKILL
//! at random instants, many times, and resumed each time. Nothing may be
//! lost: the final output is right, no branch runs again once a checkpoint
//! recorded it as finished, and every checkpoint left behind is readable.
//!
//! The test binary is its own helper: `crash_worker` does nothing unless
//! `RESILIENCE_CRASH_DIR` is set, and the driver runs this binary with it.
//! `RESILIENCE_CRASH_ROUNDS` (default 10) sets how many workflows are run to
//! completion through kills; set it high for a soak.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use resilience::checkpoint::{CheckpointStore, DirectoryStore};
use resilience::durable::DurableOptions;
use resilience::{Branches, ParallelError, workflow};

#[path = "common/kill.rs"]
mod kill;

const STEPS: u64 = 3;

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

    /// One branch: logs that it runs, works a little, returns `n * n`.
    async fn branch(&self, n: u64) -> Result<u64, std::io::Error> {
        self.append(&format!("run {n}"));
        tokio::time::sleep(Duration::from_millis(2 + n % 3)).await;
        Ok(n * n)
    }
}

#[derive(Debug, thiserror::Error)]
enum FanError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Parallel(#[from] ParallelError),
}

workflow! {
    durable workflow Fan(log: Log) -> Result<u64, FanError> {
        step items: Vec<u64> = Ok((1..=12).collect());
        step squares: Branches<u64, FanError> =
            for n in items, concurrency = 3 => log.branch(*n).await;
        step total: u64 = Ok(squares.iter().sum());
        total
    }
}

/// The sum of the squares of 1 to 12.
const EXPECTED: u64 = 650;

/// The helper process: runs (or resumes) the workflow, logging every
/// checkpoint written, then logs the output.
#[test]
fn crash_worker() {
    let Some(dir) = std::env::var_os("RESILIENCE_CRASH_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let log_path = dir.join("log");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let log = Log {
            path: log_path.clone(),
        };
        let store = DirectoryStore::open(dir.join("checkpoints")).expect("open store");
        // Keep the final checkpoint until the output is recorded: a crash in
        // between returns the output again instead of starting over.
        let options = DurableOptions::new().with_checkpoint_kept();
        let output = Fan::new(log)
            .run_durable_with(&store, "job", options)
            .await
            .expect("run");
        Log {
            path: dir.join("log"),
        }
        .append(&format!("done {output}"));
        store.discard("Fan", "job").await.expect("discard");
    });
}

fn worker(dir: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["crash_worker", "--exact", "--nocapture", "--test-threads=1"])
        .env("RESILIENCE_CRASH_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn worker")
}

/// Checks the log of one round: every branch ran at least once, none ran
/// again after a checkpoint recorded it as finished (the driver writes
/// `checkpointed n` after each kill), and the output is right.
fn check_log(text: &str) -> Result<(), String> {
    let mut checkpointed = Vec::new();
    let mut ran = Vec::new();
    let mut done = None;
    for line in text.lines() {
        let (what, value) = line
            .split_once(' ')
            .ok_or(format!("bad log line {line:?}"))?;
        let value: u64 = value
            .parse()
            .map_err(|_| format!("bad log line {line:?}"))?;
        match what {
            "run" if checkpointed.contains(&value) => {
                return Err(format!(
                    "branch {value} ran again after a checkpoint recorded it as finished"
                ));
            }
            "run" => ran.push(value),
            "checkpointed" => checkpointed.push(value),
            "done" => done = Some(value),
            _ => return Err(format!("bad log line {line:?}")),
        }
    }
    if let Some(missing) = (1..=12).find(|n| !ran.contains(n)) {
        return Err(format!("branch {missing} never ran"));
    }
    match done {
        Some(EXPECTED) => Ok(()),
        other => Err(format!("output {other:?}, expected {EXPECTED}")),
    }
}

#[test]
fn sigkill_at_random_instants_loses_nothing() {
    let rounds: u32 = std::env::var("RESILIENCE_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    let base = std::env::temp_dir().join(format!("resilience-fan-crash-{}", std::process::id()));
    let mut kills = 0;
    let mut resumed_mid_way = 0;
    let mut resumed_mid_step = 0;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut clock = kill::KillClock::calibrate(|n| {
        let dir = base.join(format!("calibrate-{n}"));
        std::fs::create_dir_all(&dir).expect("calibration dir");
        let start = Instant::now();
        let status = worker(&dir).wait().expect("calibration run");
        assert!(status.success(), "the calibration run failed: {status}");
        start.elapsed()
    });
    for round in 0..rounds {
        let dir = base.join(round.to_string());
        std::fs::create_dir_all(&dir).expect("round dir");
        let mut spawns = 0;
        loop {
            spawns += 1;
            assert!(spawns < 500, "round {round}: the workflow never finished");
            let mut child = worker(&dir);
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
                    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
                    if log.lines().any(|line| line.starts_with("done ")) {
                        break;
                    }
                }
            }
            // Whatever the instant, the checkpoint left behind reads back.
            let store = DirectoryStore::open(dir.join("checkpoints")).expect("store");
            runtime.block_on(async {
                let lease = store
                    .claim("Fan", "job")
                    .await
                    .expect("claim after the kill");
                if let Some(checkpoint) = store.load(&lease).await.unwrap_or_else(|e| {
                    panic!("round {round}: unreadable checkpoint after a kill: {e}")
                }) {
                    checkpoint
                        .verify("crash test", "Fan", Fan::FINGERPRINT)
                        .expect("the checkpoint is this workflow's");
                    assert!(u64::from(checkpoint.position) <= STEPS);
                    if (1..STEPS).contains(&u64::from(checkpoint.position)) {
                        resumed_mid_way += 1;
                    }
                    if let Some(branches) = &checkpoint.branches {
                        assert_eq!(branches.step, "squares");
                        resumed_mid_step += 1;
                        let log = Log {
                            path: dir.join("log"),
                        };
                        for (index, _) in &branches.done {
                            // Item `index` is the number `index + 1`.
                            log.append(&format!("checkpointed {}", index + 1));
                        }
                    }
                }
            });
        }
        let log = std::fs::read_to_string(dir.join("log")).expect("log");
        if let Err(problem) = check_log(&log) {
            panic!("round {round}: {problem}\nlog:\n{log}");
        }
        // The output was recorded, then the checkpoint discarded (or, killed
        // in between, it is the final one).
        let store = DirectoryStore::open(dir.join("checkpoints")).expect("store");
        runtime.block_on(async {
            let lease = store.claim("Fan", "job").await.expect("claim");
            if let Some(checkpoint) = store.load(&lease).await.expect("load") {
                assert_eq!(u64::from(checkpoint.position), STEPS, "round {round}");
            }
        });
    }
    let _ = std::fs::remove_dir_all(&base);
    println!(
        "{rounds} rounds completed through {kills} SIGKILLs (seed {}, a whole run {}us); \
         {resumed_mid_way} resumed from a checkpoint mid-way, {resumed_mid_step} of them with finished branches",
        clock.seed, clock.whole_run
    );
    assert!(
        kills >= rounds / 2,
        "too few kills ({kills}) to mean anything (seed {}, a whole run {}us)",
        clock.seed,
        clock.whole_run
    );
    assert!(
        resumed_mid_step > 0,
        "no kill left finished branches in a checkpoint: no branch was resumed"
    );
}

#[test]
fn check_log_catches_a_rerun() {
    let all: String = (1..=12).map(|n| format!("run {n}\n")).collect();
    assert!(check_log(&format!("{all}done 650")).is_ok());
    assert!(check_log(&format!("{all}checkpointed 3\nrun 4\nrun 3\ndone 650")).is_err());
    assert!(check_log(&format!("{all}done 7")).is_err());
    assert!(check_log("run 1\ndone 650").is_err());
}
