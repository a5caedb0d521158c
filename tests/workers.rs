//! Many worker processes on one PostgreSQL: 3 workers, 50 durable
//! workflows, one worker killed with SIGKILL mid-run, one paused with
//! SIGSTOP past its lease and resumed with SIGCONT (a zombie).
//!
//! Checked: every workflow finishes with the right output; no step starts
//! once its checkpoint is written (each step records, in the same
//! statement, the position of its run's checkpoint when it started); the
//! killed worker's runs are finished by the others; the zombie's save is
//! refused (`LeaseLost`), it stops that run and runs nothing more of it;
//! steps run again only where a run was interrupted.
//!
//! The test binary is its own worker: `worker_process` does nothing unless
//! `RESILIENCE_WORKERS_DB` is set, and the driver runs this binary with it.
//! A worker stops (cleanly: it lets its runs finish) when its stdin closes.
//! PostgreSQL is started for the test (see `resilience-postgres/tests/support`);
//! without it the test says it was skipped, unless
//! `RESILIENCE_REQUIRE_POSTGRES=1`.

#![allow(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    dead_code
)]

#[path = "../resilience-postgres/tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use resilience::PostgresStore;
use resilience::durable::{DurableError, Worker};
use resilience::postgres::tokio_postgres;
use resilience::workflow;

const WORKFLOWS: i64 = 50;
const STEPS: i64 = 5;
/// Every lease: a worker that stops renewing it loses it this long after.
const LEASE: Duration = Duration::from_secs(2);
const STEP_TIME: Duration = Duration::from_millis(40);

/// The worker process's connection, for the steps' records.
static DB: OnceLock<tokio_postgres::Client> = OnceLock::new();
/// The worker process's name.
static NAME: OnceLock<String> = OnceLock::new();
/// Set in the zombie: its first step waits (and says so), to be paused.
static HOLD: AtomicBool = AtomicBool::new(false);

#[derive(Debug, thiserror::Error)]
#[error("could not record the step: {0}")]
pub struct StepError(String);

/// One workflow's inputs: its id, and the number it computes with.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Job {
    id: String,
    n: i64,
}

impl Job {
    /// Step `k`: records that it starts (with its checkpoint's position at
    /// that instant), works, returns `input * 10 + k`; the last step also
    /// records the output.
    async fn step(&self, k: i64, input: i64) -> Result<i64, StepError> {
        let db = DB.get().expect("a worker process");
        let name = NAME.get().expect("a worker process");
        let failed = |e: tokio_postgres::Error| StepError(e.to_string());
        db.execute(
            "INSERT INTO executions (id, step, worker, position_at_start)
             SELECT $1, $2, $3, coalesce(
                 (SELECT position FROM resilience_checkpoints WHERE workflow = 'Pipeline' AND id = $1), 0)",
            &[&self.id, &k, name],
        )
        .await
        .map_err(failed)?;
        if HOLD.swap(false, Ordering::Relaxed) {
            println!("holding {} {k}", self.id);
            tokio::time::sleep(LEASE * 2).await;
        } else {
            tokio::time::sleep(STEP_TIME).await;
        }
        let output = input * 10 + k;
        if k == STEPS {
            db.execute(
                "INSERT INTO outputs (id, output, worker) VALUES ($1, $2, $3)",
                &[&self.id, &output, name],
            )
            .await
            .map_err(failed)?;
        }
        Ok(output)
    }
}

workflow! {
    durable workflow Pipeline(job: Job) -> Result<i64, StepError> {
        step s1: i64 = job.step(1, job.n).await;
        step s2: i64 = job.step(2, *s1).await;
        step s3: i64 = job.step(3, *s2).await;
        step s4: i64 = job.step(4, *s3).await;
        step s5: i64 = job.step(5, *s4).await;
        s5
    }
}

fn expected(n: i64) -> i64 {
    n * 100_000 + 12_345
}

/// A worker process: runs `Pipeline`s until its stdin closes, printing
/// `finished <id> <output>` or `stopped <id> <why>` for each run it ends.
#[test]
fn worker_process() {
    let Ok(url) = std::env::var("RESILIENCE_WORKERS_DB") else {
        return;
    };
    let name = std::env::var("RESILIENCE_WORKERS_NAME").expect("a name");
    let concurrency = std::env::var("RESILIENCE_WORKERS_CONCURRENCY")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(4);
    HOLD.store(
        std::env::var_os("RESILIENCE_WORKERS_HOLD").is_some(),
        Ordering::Relaxed,
    );
    NAME.set(name.clone()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        DB.set(support::connect(&url).await).unwrap();
        let store = PostgresStore::connect(&url)
            .await
            .unwrap()
            .with_lease(LEASE);
        let worker = Worker::new(store)
            .with_name(&name)
            .with_concurrency(concurrency)
            .with_poll_interval(Duration::from_millis(100))
            .register_with::<Pipeline>(|id, result| match result {
                Ok(output) => println!("finished {id} {output}"),
                Err(DurableError::Checkpoint(error)) => println!("stopped {id} {error}"),
                Err(error) => println!("error {id} {error}"),
            });
        let stdin_closed = async {
            let _ =
                tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
        };
        let report = worker.run(stdin_closed).await;
        println!("report {report}");
    });
}

/// A worker process and its name.
struct Process {
    name: &'static str,
    child: Child,
}

fn spawn(
    url: &str,
    name: &'static str,
    zombie: bool,
    lines: &mpsc::Sender<(&'static str, String)>,
) -> Process {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "worker_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env("RESILIENCE_WORKERS_DB", url)
        .env("RESILIENCE_WORKERS_NAME", name)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if zombie {
        command
            .env("RESILIENCE_WORKERS_HOLD", "1")
            .env("RESILIENCE_WORKERS_CONCURRENCY", "1");
    }
    let mut child = command.spawn().expect("spawn a worker");
    let stdout = child.stdout.take().unwrap();
    let lines = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send((name, line)).is_err() {
                break;
            }
        }
    });
    Process { name, child }
}

fn signal(process: &Process, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &process.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {}", process.name);
}

/// Waits for a line of `lines` for which `f` says yes, keeping every line
/// seen in `seen`.
fn wait_for(
    lines: &mpsc::Receiver<(&'static str, String)>,
    seen: &mut Vec<(&'static str, String)>,
    what: &str,
    mut f: impl FnMut(&str, &str) -> bool,
) -> (&'static str, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (name, line) = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("waited 60 s for {what}; seen: {seen:#?}"));
        seen.push((name, line.clone()));
        if f(name, &line) {
            return (name, line);
        }
    }
}

#[test]
fn three_workers_one_killed_one_paused_finish_every_workflow() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let Some(url) = runtime.block_on(support::database()) else {
        return;
    };
    let db = runtime.block_on(support::connect(&url));
    runtime.block_on(async {
        db.batch_execute(
            "CREATE TABLE executions (seq bigserial PRIMARY KEY, id text NOT NULL, step bigint NOT NULL,
                                      worker text NOT NULL, position_at_start bigint NOT NULL);
             CREATE TABLE outputs (seq bigserial PRIMARY KEY, id text NOT NULL, output bigint NOT NULL,
                                   worker text NOT NULL);",
        )
        .await
        .unwrap();
        let store = PostgresStore::connect(&url).await.unwrap();
        for n in 0..WORKFLOWS {
            let id = format!("wf-{n:02}");
            let job = Job { id: id.clone(), n };
            assert!(Pipeline::new(job).submit_durable(&store, &id).await.unwrap());
        }
    });

    let (sender, lines) = mpsc::channel();
    let mut seen = Vec::new();
    let mut killed = spawn(&url, "killed", false, &sender);
    let steady = spawn(&url, "steady", false, &sender);
    let zombie = spawn(&url, "zombie", true, &sender);

    // The zombie takes up a run and stops in its first step: pause it there.
    let (_, holding) = wait_for(
        &lines,
        &mut seen,
        "the zombie to hold a step",
        |name, line| name == "zombie" && line.starts_with("holding "),
    );
    signal(&zombie, "-STOP");
    let held: String = holding.split(' ').nth(1).unwrap().to_owned();

    // Kill `killed` mid-run: once 40 steps have started, just after it
    // started one (a step takes 40 ms; this looks every 2 ms).
    let count = |sql: &str| -> i64 { runtime.block_on(db.query_one(sql, &[])).unwrap().get(0) };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row = runtime
            .block_on(db.query_one(
                "SELECT count(*), (SELECT worker FROM executions ORDER BY seq DESC LIMIT 1)
                   FROM executions",
                &[],
            ))
            .unwrap();
        let (started, last): (i64, Option<String>) = (row.get(0), row.get(1));
        if started >= 40 && last.as_deref() == Some("killed") {
            break;
        }
        assert!(Instant::now() < deadline, "the workers never got going");
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed_pid = killed.child.id();
    killed.child.kill().expect("SIGKILL");
    killed.child.wait().unwrap();
    let killed_at = count("SELECT coalesce(max(seq), 0) FROM executions");

    // Another worker finishes the zombie's run once its lease lapses; then
    // the zombie wakes up.
    wait_for(
        &lines,
        &mut seen,
        "another worker to finish the held run",
        |name, line| name != "zombie" && line.starts_with(&format!("finished {held} ")),
    );
    signal(&zombie, "-CONT");
    wait_for(
        &lines,
        &mut seen,
        "the zombie to stop its run",
        |name, line| name == "zombie" && line.starts_with(&format!("stopped {held} ")),
    );

    // Wait until every workflow has finished (an output, and no checkpoint
    // left: a run whose worker died after its last step recorded the
    // output, but before its checkpoint was saved, runs that step again),
    // then stop the workers. (A row without a checkpoint is a claim that
    // saved nothing: the killed worker's claim of a run that had just
    // finished elsewhere, say. Nothing to run.)
    const LEFT: &str = "SELECT count(*) FROM resilience_checkpoints WHERE checkpoint IS NOT NULL";
    let deadline = Instant::now() + Duration::from_secs(60);
    while count("SELECT count(DISTINCT id) FROM outputs") < WORKFLOWS || count(LEFT) > 0 {
        if Instant::now() >= deadline {
            let rows = runtime
                .block_on(db.query(
                    "SELECT id, owner, position, lease_until::text, attempts, checkpoint IS NULL
                       FROM resilience_checkpoints",
                    &[],
                ))
                .unwrap()
                .iter()
                .map(|r| {
                    format!(
                        "{} owner {} at {:?} until {} claims {} empty {}",
                        r.get::<_, String>(0),
                        r.get::<_, String>(1),
                        r.get::<_, Option<i64>>(2),
                        r.get::<_, String>(3),
                        r.get::<_, i32>(4),
                        r.get::<_, bool>(5)
                    )
                })
                .collect::<Vec<_>>();
            panic!("not every workflow finished; rows: {rows:#?}\nseen: {seen:#?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for mut process in [steady, zombie] {
        drop(process.child.stdin.take());
        let status = process.child.wait().unwrap();
        assert!(status.success(), "{} exited with {status}", process.name);
    }
    drop(sender);
    seen.extend(lines.iter());

    // Every workflow's output is right (the last step may have run twice:
    // then it recorded the same output twice).
    let outputs = runtime
        .block_on(db.query("SELECT id, output, worker FROM outputs", &[]))
        .unwrap();
    let mut finished_by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in &outputs {
        let (id, output, worker): (String, i64, String) = (row.get(0), row.get(1), row.get(2));
        let n: i64 = id.trim_start_matches("wf-").parse().unwrap();
        assert_eq!(output, expected(n), "{id}");
        finished_by.entry(id).or_default().insert(worker);
    }
    assert_eq!(finished_by.len() as i64, WORKFLOWS);
    // Every step of every workflow ran; none started once its checkpoint
    // was written.
    assert_eq!(
        count("SELECT count(*) FROM (SELECT DISTINCT id, step FROM executions) AS s"),
        WORKFLOWS * STEPS
    );
    let reruns = runtime
        .block_on(db.query(
            "SELECT id, step, worker, position_at_start FROM executions WHERE position_at_start >= step",
            &[],
        ))
        .unwrap();
    assert!(
        reruns.is_empty(),
        "steps started after their checkpoint: {:?}",
        reruns
            .iter()
            .map(|r| (
                r.get::<_, String>(0),
                r.get::<_, i64>(1),
                r.get::<_, String>(2)
            ))
            .collect::<Vec<_>>()
    );
    // Steps ran again only where a run was interrupted: at most one per run
    // in progress in the killed worker (4), and the zombie's held step.
    let again = count("SELECT count(*) FROM executions") - WORKFLOWS * STEPS;
    assert!((1..=5).contains(&again), "{again} steps ran more than once");
    // The zombie ran nothing of the held run after its pause: only the step
    // it held, which another worker ran again.
    let zombie_steps = runtime
        .block_on(db.query(
            "SELECT step FROM executions WHERE id = $1 AND worker = 'zombie'",
            &[&held],
        ))
        .unwrap();
    let history = runtime
        .block_on(db.query(
            "SELECT seq, step, worker, position_at_start FROM executions WHERE id = $1 ORDER BY seq",
            &[&held],
        ))
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "#{} step {} by {} (checkpoint at {})",
                r.get::<_, i64>(0),
                r.get::<_, i64>(1),
                r.get::<_, String>(2),
                r.get::<_, i64>(3)
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(
        zombie_steps.len(),
        1,
        "{held}: {history:#?}\nseen: {seen:#?}"
    );
    let held_step: i64 = zombie_steps[0].get(0);
    let held_runs = runtime
        .block_on(db.query_one(
            "SELECT count(*) FROM executions WHERE id = $1 AND step = $2",
            &[&held, &held_step],
        ))
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(held_runs, 2);
    let (_, stopped) = seen
        .iter()
        .find(|(name, line)| *name == "zombie" && line.starts_with(&format!("stopped {held} ")))
        .unwrap();
    assert!(stopped.contains("lease"), "{stopped}");
    // The killed worker had runs in progress, and they were finished by the
    // others (by running their remaining steps, or, for a run it had saved
    // at its last step, without running a step).
    let started_by_killed: BTreeSet<String> = runtime
        .block_on(db.query(
            "SELECT DISTINCT id FROM executions WHERE worker = 'killed' AND seq <= $1",
            &[&killed_at],
        ))
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let finished_by_others: BTreeSet<String> = seen
        .iter()
        .filter(|(name, _)| *name != "killed")
        .filter_map(|(_, line)| {
            Some(
                line.strip_prefix("finished ")?
                    .split(' ')
                    .next()?
                    .to_owned(),
            )
        })
        .collect();
    let orphans: Vec<&String> = started_by_killed
        .intersection(&finished_by_others)
        .collect();
    assert!(
        !orphans.is_empty(),
        "no run of the killed worker was finished by another"
    );
    // Nothing is left in the store.
    assert_eq!(count(LEFT), 0, "checkpoints left behind");
    // Rows without a checkpoint: only claims of the killed worker that it
    // had not yet given back (no live worker leaves one).
    let empty = runtime
        .block_on(db.query("SELECT id, owner FROM resilience_checkpoints", &[]))
        .unwrap();
    for row in &empty {
        let owner: String = row.get(1);
        assert!(
            owner.starts_with(&format!("{killed_pid}-")),
            "{}: an empty row of {owner}",
            row.get::<_, String>(0)
        );
    }
    println!(
        "{WORKFLOWS} workflows finished; {again} steps ran again; the killed worker's runs {} \
         were finished by others ({} empty claim rows of it left); the zombie's run {held} was fenced off",
        orphans
            .iter()
            .map(|id| id.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        empty.len()
    );
}
