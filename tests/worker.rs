//! The durable worker on the in-memory store, on tokio's paused clock: it
//! runs submitted workflows within its concurrency limit, finishes runs
//! abandoned by another process without running their saved steps again,
//! sets aside a run that keeps crashing its workers, shuts down cleanly, and
//! leaves alone what is not its own.

#![allow(missing_docs, missing_debug_implementations)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use resilience::checkpoint::{Checkpoint, CheckpointLease, CheckpointStore, MemoryStore, Phase};
use resilience::durable::{DurableError, DurableOptions, Worker, WorkerReport};
use resilience::events::{OwnedEventKind, Scope};
use resilience::workflow;
use tokio::time::{sleep, timeout};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("step {0} failed")]
pub struct Boom(u32);

/// What the steps of one test did: a run's inputs name their test, so each
/// test reads only its own record (runs resumed by a worker get their
/// inputs from the checkpoint, so a handle cannot be passed).
#[derive(Default)]
struct Record {
    ran: Vec<String>,
    now: usize,
    most: usize,
}

static RECORDS: Mutex<Option<HashMap<String, Record>>> = Mutex::new(None);

fn with_record<R>(test: &str, f: impl FnOnce(&mut Record) -> R) -> R {
    let mut records = RECORDS.lock().unwrap_or_else(|e| e.into_inner());
    f(records
        .get_or_insert_with(HashMap::new)
        .entry(test.to_owned())
        .or_default())
}

fn ran(test: &str) -> Vec<String> {
    with_record(test, |r| r.ran.clone())
}

fn most_at_once(test: &str) -> usize {
    with_record(test, |r| r.most)
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Job {
    test: String,
    x: u32,
    /// How long each step takes, in ms.
    work: u64,
    /// The step that fails, if any.
    fail_at: Option<u32>,
}

impl Job {
    fn new(test: &str, x: u32) -> Self {
        Self {
            test: test.to_owned(),
            x,
            work: 10,
            fail_at: None,
        }
    }

    async fn step(&self, k: u32, input: u32) -> Result<u32, Boom> {
        with_record(&self.test, |r| {
            r.ran.push(format!("{}:{k}", self.x));
            r.now += 1;
            r.most = r.most.max(r.now);
        });
        // Counted down even if the run is dropped mid-step.
        struct Done<'a>(&'a str);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                with_record(self.0, |r| r.now -= 1);
            }
        }
        let _done = Done(&self.test);
        sleep(Duration::from_millis(self.work)).await;
        if self.fail_at == Some(k) {
            return Err(Boom(k));
        }
        Ok(input * 10 + k)
    }
}

workflow! {
    durable workflow Add(job: Job) -> Result<u32, Boom> {
        step one: u32 = job.step(1, job.x).await;
        step two: u32 = job.step(2, *one).await;
        two
    }
}

workflow! {
    durable workflow Other(job: Job) -> Result<u32, Boom> {
        step only: u32 = job.step(9, job.x).await;
        only
    }
}

fn expected(x: u32) -> u32 {
    x * 100 + 12
}

type Outputs = Arc<Mutex<Vec<(String, Result<u32, String>)>>>;

/// A worker of `Add` whose outputs go to the returned list.
fn worker(store: &MemoryStore) -> (Worker<MemoryStore>, Outputs) {
    let outputs = Outputs::default();
    let sink = Arc::clone(&outputs);
    let worker = Worker::new(store.clone())
        .with_name("w1")
        .with_poll_interval(Duration::from_millis(100))
        .register_with::<Add>(move |id, result| {
            sink.lock()
                .unwrap()
                .push((id.to_owned(), result.map_err(|e| e.to_string())));
        });
    (worker, outputs)
}

#[tokio::test(start_paused = true)]
async fn a_worker_runs_submitted_workflows_within_its_concurrency_limit() {
    const TEST: &str = "submitted";
    let store = MemoryStore::new();
    for x in 0..10 {
        let submitted = Add::new(Job::new(TEST, x))
            .submit_durable(&store, &format!("run-{x}"))
            .await
            .unwrap();
        assert!(submitted);
    }
    assert!(ran(TEST).is_empty(), "submitting runs nothing");
    let (worker, outputs) = worker(&store);
    let worker = worker.with_concurrency(3);
    let scope = Scope::new();
    let mut events = scope.subscribe();
    let report = scope.run(worker.run(sleep(Duration::from_secs(2)))).await;

    assert_eq!(report.finished, 10, "{report}");
    assert_eq!(
        report.to_string(),
        "10 finished, 0 failed, 0 stopped, 0 set aside, 0 refused"
    );
    let mut outputs = outputs.lock().unwrap().clone();
    outputs.sort();
    let mut want: Vec<_> = (0..10)
        .map(|x| (format!("run-{x}"), Ok(expected(x))))
        .collect();
    want.sort();
    assert_eq!(outputs, want);
    // Every step ran once, never more than 3 runs at once.
    let mut steps = ran(TEST);
    steps.sort();
    let mut want: Vec<_> = (0..10)
        .flat_map(|x| [format!("{x}:1"), format!("{x}:2")])
        .collect();
    want.sort();
    assert_eq!(steps, want);
    assert_eq!(most_at_once(TEST), 3);
    assert!(store.list_unfinished().await.unwrap().is_empty());
    let finished: Vec<_> = std::iter::from_fn(|| events.try_recv())
        .filter(|e| matches!(e.kind, OwnedEventKind::RunFinished { .. }))
        .collect();
    assert_eq!(finished.len(), 10);
    assert!(
        finished
            .iter()
            .any(|e| e.to_string() == "`Add` id `run-0` finished by worker `w1`"),
        "{finished:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn submitting_twice_changes_nothing_and_other_inputs_are_refused() {
    const TEST: &str = "submit-twice";
    let store = MemoryStore::new();
    assert!(
        Add::new(Job::new(TEST, 1))
            .submit_durable(&store, "a")
            .await
            .unwrap()
    );
    assert!(
        !Add::new(Job::new(TEST, 1))
            .submit_durable(&store, "a")
            .await
            .unwrap()
    );
    let err = Add::new(Job::new(TEST, 2))
        .submit_durable(&store, "a")
        .await
        .unwrap_err();
    assert!(matches!(err, DurableError::InputsDiffer { .. }), "{err}");
    let listed = store.list_unfinished().await.unwrap();
    let info = listed[0].as_ref().unwrap();
    assert_eq!((info.position, &info.phase), (0, &Phase::Running));
    assert!(ran(TEST).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_run_abandoned_mid_way_is_finished_without_running_its_saved_steps() {
    const TEST: &str = "abandoned";
    let store = MemoryStore::new();
    // Another process started it and died in step two (the run is dropped
    // at 15 ms: step one was saved at 10 ms).
    let started = timeout(
        Duration::from_millis(15),
        Add::new(Job::new(TEST, 4)).run_durable(&store, "run-4"),
    )
    .await;
    assert!(started.is_err());
    let (worker, outputs) = worker(&store);
    let report = worker.run(sleep(Duration::from_secs(1))).await;
    assert_eq!(report.finished, 1);
    assert_eq!(
        *outputs.lock().unwrap(),
        [("run-4".to_owned(), Ok(expected(4)))]
    );
    // Step one ran once; step two, interrupted, twice (at least once).
    assert_eq!(ran(TEST), ["4:1", "4:2", "4:2"]);
}

/// Saves a checkpoint of no step done for `id`, then claims the run
/// `crashes` times, each claim dropped without a save: what workers that
/// crash on it leave behind.
async fn crash_looping(store: &MemoryStore, test: &str, id: &str, crashes: u32) {
    Add::new(Job::new(test, 7))
        .submit_durable(store, id)
        .await
        .unwrap();
    for _ in 0..crashes {
        drop(store.claim("Add", id).await.unwrap());
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_that_keeps_crashing_its_workers_is_set_aside() {
    const TEST: &str = "set-aside";
    let store = MemoryStore::new();
    // The submission is claim 1, three crashed workers claims 2 to 4.
    crash_looping(&store, TEST, "looping", 3).await;
    // One that crashed fewer times still runs.
    crash_looping(&store, TEST, "unlucky", 2).await;
    let (worker, outputs) = worker(&store);
    let worker = worker.with_max_attempts(4);
    let scope = Scope::new();
    let mut events = scope.subscribe();
    let report = scope.run(worker.run(sleep(Duration::from_secs(1)))).await;

    assert_eq!(report.finished, 1, "{report}");
    assert_eq!(
        *outputs.lock().unwrap(),
        [("unlucky".to_owned(), Ok(expected(7)))]
    );
    assert_eq!(ran(TEST), ["7:1", "7:2"]);
    let set_aside: Vec<_> = std::iter::from_fn(|| events.try_recv())
        .filter(|e| matches!(e.kind, OwnedEventKind::SetAside { .. }))
        .collect();
    // Reported once, although the worker polled ten times.
    assert_eq!(set_aside.len(), 1, "{set_aside:?}");
    assert_eq!(
        set_aside[0].to_string(),
        "`Add` id `looping` set aside after 4 attempts: it keeps crashing its workers"
    );
    // It was not claimed again: still 4 claims, and it is still there.
    let listed = store.list_unfinished().await.unwrap();
    let info = listed[0].as_ref().unwrap();
    assert_eq!((info.id.as_str(), info.attempts), ("looping", Some(4)));

    // Run by id with a limit, it is refused at the claim, nothing runs.
    let options = DurableOptions::new().with_max_attempts(4);
    let err = Add::resume_durable_with(&store, "looping", options)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DurableError::SetAside {
                attempts: 5,
                limit: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "workflow `Add` with id `looping` is set aside: this is claim 5, past the limit of 4 \
         (it keeps crashing the processes that run it); run it without the limit or discard it"
    );
    // Without the limit, by hand, it runs.
    assert_eq!(
        Add::resume_durable(&store, "looping").await.unwrap(),
        expected(7)
    );
    assert_eq!(ran(TEST).len(), 4);
}

#[tokio::test(start_paused = true)]
async fn on_shutdown_the_runs_in_progress_finish() {
    const TEST: &str = "drain";
    let store = MemoryStore::new();
    Add::new(Job::new(TEST, 3))
        .submit_durable(&store, "r")
        .await
        .unwrap();
    let (worker, outputs) = worker(&store);
    // Taken up at 0 ms; the shutdown at 15 ms finds it in step two.
    let report = worker.run(sleep(Duration::from_millis(15))).await;
    assert_eq!(report.finished, 1);
    assert_eq!(outputs.lock().unwrap().len(), 1);
    assert_eq!(ran(TEST), ["3:1", "3:2"]);
}

#[tokio::test(start_paused = true)]
async fn after_the_grace_period_runs_are_dropped_and_another_worker_finishes_them() {
    const TEST: &str = "grace";
    let store = MemoryStore::new();
    Add::new(Job::new(TEST, 5))
        .submit_durable(&store, "r")
        .await
        .unwrap();
    let (worker, outputs) = worker(&store);
    let worker = worker.with_shutdown_grace(Duration::from_millis(1));
    let start = tokio::time::Instant::now();
    let report = worker.run(sleep(Duration::from_millis(15))).await;
    assert_eq!(start.elapsed(), Duration::from_millis(16));
    assert_eq!(report.stopped, 1, "{report}");
    assert!(outputs.lock().unwrap().is_empty());
    // Its lease is released: another worker takes it up at once.
    let (second, outputs) = worker_named(&store, "w2");
    let report = second.run(sleep(Duration::from_millis(500))).await;
    assert_eq!(report.finished, 1);
    assert_eq!(
        *outputs.lock().unwrap(),
        [("r".to_owned(), Ok(expected(5)))]
    );
    assert_eq!(ran(TEST), ["5:1", "5:2", "5:2"]);
}

fn worker_named(store: &MemoryStore, name: &str) -> (Worker<MemoryStore>, Outputs) {
    let (worker, outputs) = worker(store);
    (worker.with_name(name), outputs)
}

#[tokio::test(start_paused = true)]
async fn a_worker_leaves_alone_what_is_not_its_own() {
    const TEST: &str = "not-its-own";
    let store = MemoryStore::new();
    // A run that failed (kept for inspection).
    let mut failing = Job::new(TEST, 1);
    failing.fail_at = Some(1);
    let err = Add::new(failing)
        .run_durable(&store, "failed")
        .await
        .unwrap_err();
    assert!(matches!(err, DurableError::Failed(_)));
    // A run of another definition of `Add` (another version of the program).
    let lease = store.claim("Add", "old-version").await.unwrap();
    let old = Checkpoint::new(
        "Add",
        Add::FINGERPRINT ^ 1,
        0,
        Phase::Running,
        b"\"Start\"".to_vec(),
    )
    .with_inputs(br#"{"job":{"test":"not-its-own","x":3,"work":10,"fail_at":null}}"#.to_vec());
    store.save(&lease, &old).await.unwrap();
    drop(lease);
    // A run of a workflow this worker does not know.
    Other::new(Job::new(TEST, 4))
        .submit_durable(&store, "other")
        .await
        .unwrap();
    // A run another worker holds.
    Add::new(Job::new(TEST, 5))
        .submit_durable(&store, "held")
        .await
        .unwrap();
    let held = store.claim("Add", "held").await.unwrap();

    let ran_before = ran(TEST);
    let (worker, outputs) = worker(&store);
    let report = worker.run(sleep(Duration::from_secs(1))).await;
    assert_eq!(report, WorkerReport::default());
    assert!(outputs.lock().unwrap().is_empty());
    assert_eq!(ran(TEST), ran_before);
    assert_eq!(store.list_unfinished().await.unwrap().len(), 4);
    assert_eq!(held.id(), "held");
}

#[tokio::test]
async fn a_worker_on_a_directory_store_finishes_runs_and_counts_claims() {
    const TEST: &str = "directory";
    let dir = std::env::temp_dir().join(format!("resilience-worker-{}", std::process::id()));
    let store = resilience::DirectoryStore::open(&dir).unwrap();
    for x in 0..3 {
        let mut job = Job::new(TEST, x);
        job.work = 1;
        Add::new(job)
            .submit_durable(&store, &format!("d{x}"))
            .await
            .unwrap();
    }
    // `d0` crashed a worker twice already (claims 2 and 3).
    for _ in 0..2 {
        drop(store.claim("Add", "d0").await.unwrap());
    }
    let listed = store.list_unfinished().await.unwrap();
    assert_eq!(listed[0].as_ref().unwrap().attempts, Some(3));
    let (all_done, done) = tokio::sync::oneshot::channel();
    let all_done = Mutex::new(Some(all_done));
    let finished = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&finished);
    let worker = Worker::new(store.clone())
        .with_max_attempts(3)
        .with_poll_interval(Duration::from_millis(10))
        .register_with::<Add>(move |id, result| {
            let mut finished = sink.lock().unwrap();
            finished.push((id.to_owned(), result.unwrap()));
            if finished.len() == 2 {
                let _ = all_done.lock().unwrap().take().unwrap().send(());
            }
        });
    let report = worker
        .run(async {
            let _ = done.await;
        })
        .await;
    assert_eq!(report.finished, 2, "{report}");
    assert_eq!(report.set_aside, 1, "{report}");
    let mut finished = finished.lock().unwrap().clone();
    finished.sort();
    assert_eq!(
        finished,
        [
            ("d1".to_owned(), expected(1)),
            ("d2".to_owned(), expected(2))
        ]
    );
    // `d0` is left, set aside, its claims unchanged.
    let listed = store.list_unfinished().await.unwrap();
    assert_eq!(listed.len(), 1);
    let info = listed[0].as_ref().unwrap();
    assert_eq!((info.id.as_str(), info.attempts), ("d0", Some(3)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `MemoryStore` that counts how often it is listed; `stale`, its
/// listing shows every run at its first step, as a worker's listing does
/// when another worker finishes the run between the listing and the claim.
#[derive(Clone, Default)]
struct Counted {
    inner: MemoryStore,
    lists: Arc<std::sync::atomic::AtomicUsize>,
    stale: bool,
}

impl CheckpointStore for Counted {
    type Lease = <MemoryStore as CheckpointStore>::Lease;

    async fn claim(
        &self,
        workflow: &str,
        id: &str,
    ) -> Result<Self::Lease, resilience::CheckpointError> {
        self.inner.claim(workflow, id).await
    }

    async fn load(
        &self,
        lease: &Self::Lease,
    ) -> Result<Option<Checkpoint>, resilience::CheckpointError> {
        self.inner.load(lease).await
    }

    async fn save(
        &self,
        lease: &Self::Lease,
        checkpoint: &Checkpoint,
    ) -> Result<(), resilience::CheckpointError> {
        self.inner.save(lease, checkpoint).await
    }

    async fn delete(&self, lease: Self::Lease) -> Result<(), resilience::CheckpointError> {
        self.inner.delete(lease).await
    }

    async fn list_unfinished(
        &self,
    ) -> Result<
        Vec<Result<resilience::CheckpointInfo, resilience::CheckpointError>>,
        resilience::CheckpointError,
    > {
        self.lists
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut listed = self.inner.list_unfinished().await?;
        if self.stale {
            for info in listed.iter_mut().flatten() {
                info.position = 0;
            }
        }
        Ok(listed)
    }

    async fn discard(&self, workflow: &str, id: &str) -> Result<bool, resilience::CheckpointError> {
        self.inner.discard(workflow, id).await
    }
}

#[tokio::test(start_paused = true)]
async fn runs_held_by_other_workers_are_tried_once_per_poll() {
    const TEST: &str = "held-elsewhere";
    let store = Counted::default();
    // Three runs, all held by other workers (more than the free slot).
    let mut held = Vec::new();
    for x in 0..3 {
        let id = format!("h{x}");
        Add::new(Job::new(TEST, x))
            .submit_durable(&store, &id)
            .await
            .unwrap();
        held.push(store.claim("Add", &id).await.unwrap());
    }
    let worker = Worker::new(store.clone())
        .with_concurrency(1)
        .with_poll_interval(Duration::from_millis(100))
        .register::<Add>();
    let report = worker.run(sleep(Duration::from_millis(950))).await;
    assert_eq!(report, WorkerReport::default());
    // Polls at 0, 100, .., 900 ms: ten lists, not a spin.
    assert_eq!(store.lists.load(std::sync::atomic::Ordering::Relaxed), 10);
    assert!(ran(TEST).is_empty());
    drop(held);
}

#[tokio::test(start_paused = true)]
async fn a_run_left_at_its_last_step_is_finished_without_a_step_unless_checkpoints_are_kept() {
    const TEST: &str = "last-step";
    let store = MemoryStore::new();
    // As a worker that died after its last save, before the delete, leaves
    // it (and as a worker that keeps checkpoints leaves every success).
    let kept = DurableOptions::new().with_checkpoint_kept();
    Add::new(Job::new(TEST, 2))
        .run_durable_with(&store, "last", kept)
        .await
        .unwrap();
    assert_eq!(ran(TEST).len(), 2);

    // A worker that keeps checkpoints leaves it alone: it is a success.
    let (keeping, outputs) = worker(&store);
    let report = keeping
        .with_checkpoints_kept()
        .run(sleep(Duration::from_secs(1)))
        .await;
    assert_eq!(report, WorkerReport::default());
    assert!(outputs.lock().unwrap().is_empty());
    assert_eq!(store.list_unfinished().await.unwrap().len(), 1);

    // Any other finishes it: the output again, no step run, no checkpoint.
    let (worker, outputs) = worker(&store);
    let report = worker.run(sleep(Duration::from_secs(1))).await;
    assert_eq!(report.finished, 1, "{report}");
    assert_eq!(
        *outputs.lock().unwrap(),
        [("last".to_owned(), Ok(expected(2)))]
    );
    assert_eq!(ran(TEST).len(), 2);
    assert!(store.list_unfinished().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_run_finished_and_kept_by_another_worker_after_the_listing_is_not_reported_again() {
    const TEST: &str = "kept-meanwhile";
    let store = Counted {
        stale: true,
        ..Counted::default()
    };
    // Another worker finished it and kept its checkpoint, after this
    // worker's listing (which still shows it at its first step).
    let kept = DurableOptions::new().with_checkpoint_kept();
    Add::new(Job::new(TEST, 3))
        .run_durable_with(&store, "done-elsewhere", kept)
        .await
        .unwrap();
    assert_eq!(ran(TEST).len(), 2);

    let finished = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&finished);
    let worker = Worker::new(store.clone())
        .with_poll_interval(Duration::from_millis(100))
        .with_checkpoints_kept()
        .register_with::<Add>(move |id, result| {
            sink.lock().unwrap().push((id.to_owned(), result.is_ok()));
        });
    let report = worker.run(sleep(Duration::from_millis(250))).await;
    // Claimed at each of the three polls, skipped each time: not finished
    // a second time, not passed to `on_done`, no step run.
    assert_eq!(report, WorkerReport::default());
    assert!(finished.lock().unwrap().is_empty());
    assert_eq!(ran(TEST).len(), 2);
    // The kept checkpoint is still there, released: its owner reads it.
    let receipt = Add::resume_durable_with(&store, "done-elsewhere", kept)
        .await
        .unwrap();
    assert_eq!(receipt, expected(3));
    assert_eq!(ran(TEST).len(), 2);
}
