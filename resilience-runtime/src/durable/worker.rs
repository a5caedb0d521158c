//! [`Worker`]: a loop that finds durable runs nobody is running and runs
//! them, by workflow name, many at once; and [`DurableWorkflow`], what
//! `durable workflow` implements so that a worker can run it by name.

use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::Poll;
use core::time::Duration;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::time::Instant;

use super::{DurableError, DurableOptions};
use crate::checkpoint::{CheckpointError, CheckpointStore, Phase};
use crate::error_ref::ErrorRef;
use crate::events::{Event, EventKind, emit};

/// A workflow declared `durable workflow` in `workflow!`: what a
/// [`Worker`] needs to resume its runs by name. The macro implements it;
/// there is nothing to write by hand.
///
/// # Examples
///
/// ```
/// use resilience_runtime::durable::DurableWorkflow;
///
/// /// The name that checkpoints of `W` record.
/// fn name_of<W: DurableWorkflow>() -> &'static str {
///     W::WORKFLOW
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a durable workflow",
    label = "a worker runs durable workflows only",
    note = "declare it `durable workflow {Self}(..) -> Result<T, E> {{ .. }}` in `workflow!`"
)]
pub trait DurableWorkflow: 'static {
    /// The workflow's name, as its checkpoints record it.
    const WORKFLOW: &'static str;
    /// The hash of its definition (`FINGERPRINT`): a worker only takes the
    /// runs of the definition it was built with, so that workers of two
    /// versions can share a store during a rolling deploy.
    const DEFINITION: u64;
    /// How many steps it has: a kept checkpoint at that position is a
    /// finished run, not one to resume.
    const STEP_COUNT: usize;
    /// What a successful run returns.
    type Output;
    /// The workflow's error type.
    type Error;

    /// Resumes run `id` from its checkpoint in `store`, with the inputs the
    /// checkpoint records (`resume_durable_with`).
    fn resume<St: CheckpointStore>(
        store: &St,
        id: &str,
        options: DurableOptions,
    ) -> impl Future<Output = Result<Self::Output, DurableError<Self::Error>>>;
}

/// What became of one run that a worker took up.
///
/// # Examples
///
/// ```
/// use resilience_runtime::durable::RunOutcome;
///
/// assert_eq!(RunOutcome::Finished.to_string(), "finished");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RunOutcome {
    /// It succeeded.
    Finished,
    /// A step failed and the completed steps were compensated; the
    /// checkpoint is kept in the failed phase.
    Failed,
    /// It stopped on a checkpoint error: its lease was lost (another worker
    /// took it over), or the store failed. What was saved stays.
    Stopped,
    /// It had been claimed too often ([`Worker::with_max_attempts`]): not
    /// run, and left alone from then on.
    SetAside,
    /// It cannot be run as it is (a damaged checkpoint, stored inputs that
    /// do not decode, a checkpoint written before inputs were stored): not
    /// run, and left alone by this worker from then on. The
    /// [`EventKind::RunStopped`] event says why.
    Refused,
    /// Another worker had it, or it had finished meanwhile: nothing ran.
    Skipped,
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
            Self::SetAside => "set aside",
            Self::Refused => "refused",
            Self::Skipped => "skipped",
        })
    }
}

/// What a [`Worker`] did until it was shut down: how many runs it took up,
/// by outcome.
///
/// # Examples
///
/// ```
/// use resilience_runtime::durable::WorkerReport;
///
/// let report = WorkerReport::default();
/// assert_eq!(report.finished, 0);
/// assert_eq!(report.to_string(), "0 finished, 0 failed, 0 stopped, 0 set aside, 0 refused");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerReport {
    /// Runs that succeeded.
    pub finished: usize,
    /// Runs that failed (and were compensated).
    pub failed: usize,
    /// Runs that stopped on a checkpoint error (a lost lease, a store
    /// failure), or were cut off by the end of the shutdown grace period.
    pub stopped: usize,
    /// Runs set aside: claimed too often (each counted once, when the
    /// worker first finds it so).
    pub set_aside: usize,
    /// Runs that cannot be run as they are (see [`RunOutcome::Refused`]).
    pub refused: usize,
}

impl WorkerReport {
    fn record(&mut self, outcome: RunOutcome) {
        match outcome {
            RunOutcome::Finished => self.finished += 1,
            RunOutcome::Failed => self.failed += 1,
            RunOutcome::Stopped => self.stopped += 1,
            RunOutcome::SetAside => self.set_aside += 1,
            RunOutcome::Refused => self.refused += 1,
            RunOutcome::Skipped => {}
        }
    }
}

impl fmt::Display for WorkerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} finished, {} failed, {} stopped, {} set aside, {} refused",
            self.finished, self.failed, self.stopped, self.set_aside, self.refused
        )
    }
}

/// A run's future, borrowing the worker's store.
type RunFuture<'a> = Pin<Box<dyn Future<Output = RunOutcome> + 'a>>;

/// Starts a run of one workflow type: (store, id, options, worker name).
type Start<St> =
    Box<dyn for<'a> Fn(&'a St, String, DurableOptions, String) -> RunFuture<'a> + Send + Sync>;

/// One registered workflow type, its type erased.
struct Entry<St> {
    definition: u64,
    steps: usize,
    start: Start<St>,
}

/// Makes `start` higher-ranked over the store's lifetime.
fn erase<St, F>(start: F) -> F
where
    F: for<'a> Fn(&'a St, String, DurableOptions, String) -> RunFuture<'a>,
{
    start
}

/// (workflow, id)
type Key = (String, String);

/// A run in progress, with its key.
type KeyedRun<'a> = Pin<Box<dyn Future<Output = (Key, RunOutcome)> + 'a>>;

/// Runs durable workflows that nobody is running: the ones submitted to be
/// run by workers, and the ones whose worker died. Register the workflow
/// types by name, then [`run`](Self::run) until a shutdown signal.
///
/// # How it works
///
/// Every poll interval, the worker lists the store's unfinished runs
/// ([`CheckpointStore::list_unfinished`]) and takes up those of a
/// registered workflow (and of the same definition) that are running or
/// compensating, as long as it runs fewer than its concurrency limit; each
/// one is resumed by its id alone (`resume_durable`), with the inputs its
/// checkpoint records. A run held by another worker is refused by its
/// lease ([`CheckpointError::Locked`]) and skipped, so many workers can
/// share one store: a [`PostgresStore`] across machines, a
/// [`DirectoryStore`](crate::checkpoint::DirectoryStore) on one. When a
/// worker dies, its leases lapse (a `PostgresStore` lease after its
/// duration, a `DirectoryStore` lock at once) and the next poll of another
/// worker finishes its runs from their last checkpoints. When a run ends
/// and more were waiting, the worker polls again at once. A run left at
/// its last step (its worker died between its last save and the delete)
/// is finished without running a step; see
/// [`with_checkpoints_kept`](Self::with_checkpoints_kept).
///
/// The runs of one worker are polled on the task that awaits
/// [`run`](Self::run), like `buffer_unordered`: a run's future need not
/// be `Send`, and a step that computes for long should hand that to
/// [`spawn_blocking`](tokio::task::spawn_blocking). Run several workers
/// (processes, or tasks) to use more cores.
///
/// # Crash loops
///
/// Every claim of a run is counted
/// ([`CheckpointLease::attempt`](crate::checkpoint::CheckpointLease::attempt):
/// by all three stores; a store of your own may not count). A run claimed more than
/// [`with_max_attempts`](Self::with_max_attempts) times (default 100, as
/// DBOS) keeps crashing its workers: it is set aside, with an
/// [`EventKind::SetAside`] event, and no worker takes it again until it
/// is discarded or run by hand (`run_durable` has no limit). The
/// submission and every takeover count as claims.
///
/// # Shutdown
///
/// When the future given to [`run`](Self::run) completes (a signal, say
/// `tokio::signal::ctrl_c()`), the worker takes up nothing more and lets the
/// runs in progress finish. With
/// [`with_shutdown_grace`](Self::with_shutdown_grace), those still running
/// when the grace period ends are dropped instead: their leases are
/// released and another worker resumes them from their last checkpoint
/// (the interrupted step runs again: steps run at least once).
///
/// | setting | default |
/// |---|---|
/// | poll interval ([`with_poll_interval`](Self::with_poll_interval)) | 1 s |
/// | runs at once ([`with_concurrency`](Self::with_concurrency)) | 16 |
/// | claims of a run before it is set aside ([`with_max_attempts`](Self::with_max_attempts)) | 100 |
/// | shutdown grace ([`with_shutdown_grace`](Self::with_shutdown_grace)) | none: wait for the runs |
/// | name, in events ([`with_name`](Self::with_name)) | `worker-<pid>` |
/// | keep the checkpoints of successes ([`with_checkpoints_kept`](Self::with_checkpoints_kept)) | no: deleted |
///
/// [`PostgresStore`]: https://docs.rs/resilience/latest/resilience/struct.PostgresStore.html
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::checkpoint::MemoryStore;
/// use resilience_runtime::durable::Worker;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryStore::new();
/// let worker = Worker::new(store)
///     .with_name("worker-1")
///     .with_concurrency(8)
///     .with_poll_interval(Duration::from_millis(200));
/// // .register::<Research>() for each `durable workflow Research(..)`
/// let report = worker.run(async {}).await; // usually `tokio::signal::ctrl_c()`
/// assert_eq!(report.finished, 0);
/// # }
/// ```
pub struct Worker<St> {
    store: St,
    name: String,
    entries: HashMap<&'static str, Entry<St>>,
    poll: Duration,
    concurrency: usize,
    max_attempts: u32,
    grace: Option<Duration>,
    keep: bool,
}

impl<St> fmt::Debug for Worker<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut workflows: Vec<_> = self.entries.keys().collect();
        workflows.sort();
        f.debug_struct("Worker")
            .field("name", &self.name)
            .field("workflows", &workflows)
            .field("poll", &self.poll)
            .field("concurrency", &self.concurrency)
            .field("max_attempts", &self.max_attempts)
            .field("grace", &self.grace)
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

impl<St: CheckpointStore> Worker<St> {
    /// A worker on `store`, with no workflow registered yet.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::MemoryStore;
    /// use resilience_runtime::durable::Worker;
    ///
    /// let worker = Worker::new(MemoryStore::new());
    /// assert_eq!(worker.name(), format!("worker-{}", std::process::id()));
    /// ```
    pub fn new(store: St) -> Self {
        Self {
            store,
            name: format!("worker-{}", std::process::id()),
            entries: HashMap::new(),
            poll: Duration::from_secs(1),
            concurrency: 16,
            max_attempts: 100,
            grace: None,
            keep: false,
        }
    }

    /// Runs workflow `W` when its runs are found; their outputs are dropped
    /// (record them in the last step, or use
    /// [`register_with`](Self::register_with)).
    ///
    /// # Examples
    ///
    /// ```ignore
    /// let worker = Worker::new(store).register::<Research>().register::<Deploy>();
    /// ```
    #[must_use]
    pub fn register<W: DurableWorkflow>(self) -> Self {
        self.register_with::<W>(|_, _| {})
    }

    /// Runs workflow `W` when its runs are found, and gives each run's id
    /// and result to `on_done` (a success, a failure, or why it stopped)
    /// when it ends, on the worker's task. A run that another worker had
    /// (`Locked`) or that had finished meanwhile (`NotFound`) did not run:
    /// it is not passed on.
    ///
    /// # Examples
    ///
    /// ```ignore
    /// let worker = Worker::new(store).register_with::<Research>(|id, result| match result {
    ///     Ok(summary) => println!("{id}: {summary}"),
    ///     Err(error) => eprintln!("{id}: {error}"),
    /// });
    /// ```
    #[must_use]
    pub fn register_with<W: DurableWorkflow>(
        mut self,
        on_done: impl Fn(&str, Result<W::Output, DurableError<W::Error>>) + Send + Sync + 'static,
    ) -> Self {
        let on_done = Arc::new(on_done);
        let start = erase(move |store: &St, id: String, options, worker: String| {
            let on_done = Arc::clone(&on_done);
            Box::pin(async move {
                let result = W::resume(store, &id, options).await;
                let outcome = outcome(W::WORKFLOW, &id, &worker, &result);
                if outcome != RunOutcome::Skipped {
                    on_done(&id, result);
                }
                outcome
            }) as RunFuture<'_>
        });
        self.entries.insert(
            W::WORKFLOW,
            Entry {
                definition: W::DEFINITION,
                steps: W::STEP_COUNT,
                start: Box::new(start),
            },
        );
        self
    }

    /// The name that the worker's events carry (default `worker-<pid>`).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::MemoryStore;
    /// use resilience_runtime::durable::Worker;
    ///
    /// assert_eq!(Worker::new(MemoryStore::new()).with_name("eu-1").name(), "eu-1");
    /// ```
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// How long to wait between two looks at the store (default 1 s) when
    /// no run has ended meanwhile.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::checkpoint::MemoryStore;
    /// use resilience_runtime::durable::Worker;
    ///
    /// let worker = Worker::new(MemoryStore::new()).with_poll_interval(Duration::from_millis(250));
    /// ```
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll = interval;
        self
    }

    /// How many runs the worker runs at once (default 16; at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::MemoryStore;
    /// use resilience_runtime::durable::Worker;
    ///
    /// let worker = Worker::new(MemoryStore::new()).with_concurrency(4);
    /// ```
    #[must_use]
    pub fn with_concurrency(mut self, runs: usize) -> Self {
        self.concurrency = runs.max(1);
        self
    }

    /// How many claims a run may have before it is set aside (default
    /// 100; at least 1). See "Crash loops" above.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::MemoryStore;
    /// use resilience_runtime::durable::Worker;
    ///
    /// let worker = Worker::new(MemoryStore::new()).with_max_attempts(5);
    /// ```
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// On shutdown, wait at most `grace` for the runs in progress, then drop
    /// them (their leases are released; another worker resumes them from
    /// their last checkpoint). Without it (the default) the worker waits
    /// until they end.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::checkpoint::MemoryStore;
    /// use resilience_runtime::durable::Worker;
    ///
    /// let worker = Worker::new(MemoryStore::new()).with_shutdown_grace(Duration::from_secs(10));
    /// ```
    #[must_use]
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = Some(grace);
        self
    }

    /// Keep the final checkpoint of every run that succeeds
    /// ([`DurableOptions::with_checkpoint_kept`]), so that whoever submitted
    /// it can read its output, even if the worker died between finishing
    /// the run and reporting it: `W::resume_durable_with(&store, id,
    /// DurableOptions::new().with_checkpoint_kept())` returns it again
    /// without running any step; then [`discard`](CheckpointStore::discard)
    /// the checkpoint. Such a worker never takes up a run at its last step.
    ///
    /// A worker without this option does: a run left at its last step, not
    /// held, is one whose worker died after its last save and before it
    /// deleted the checkpoint. It finishes it (no step runs: the output is
    /// computed from the recorded outputs, passed to `register_with`'s
    /// callback, and the checkpoint is deleted). So do not point a worker
    /// without this option at runs whose checkpoints you keep on purpose
    /// (`run_durable_with` and `with_checkpoint_kept`).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::MemoryStore;
    /// use resilience_runtime::durable::Worker;
    ///
    /// let worker = Worker::new(MemoryStore::new()).with_checkpoints_kept();
    /// ```
    #[must_use]
    pub fn with_checkpoints_kept(mut self) -> Self {
        self.keep = true;
        self
    }

    /// The worker's name.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::MemoryStore;
    /// use resilience_runtime::durable::Worker;
    ///
    /// assert!(Worker::new(MemoryStore::new()).name().starts_with("worker-"));
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The store.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::MemoryStore;
    /// use resilience_runtime::durable::Worker;
    ///
    /// let worker = Worker::new(MemoryStore::new());
    /// assert!(worker.store().get_raw("Research", "1").is_none());
    /// ```
    pub fn store(&self) -> &St {
        &self.store
    }

    /// Runs until `shutdown` completes, then as "Shutdown" above says;
    /// returns what it did. A store that cannot be listed is tried again at
    /// the next poll (a `tracing` warning says why): the worker does not
    /// stop for it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::checkpoint::MemoryStore;
    /// use resilience_runtime::durable::Worker;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let worker = Worker::new(MemoryStore::new());
    /// let report = worker.run(tokio::time::sleep(Duration::from_secs(5))).await;
    /// assert_eq!(report.to_string(), "0 finished, 0 failed, 0 stopped, 0 set aside, 0 refused");
    /// # }
    /// ```
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> WorkerReport {
        let mut shutdown = pin!(shutdown);
        let mut report = WorkerReport::default();
        let mut running: FuturesUnordered<KeyedRun<'_>> = FuturesUnordered::new();
        let mut in_flight: HashSet<Key> = HashSet::new();
        // Runs this worker will not take again: set aside, or refused.
        let mut set_aside: HashSet<Key> = HashSet::new();
        let mut timer = pin!(tokio::time::sleep_until(Instant::now()));
        // Whether the last poll left runs waiting for a free slot.
        let mut backlog = false;
        let mut options = DurableOptions::new().with_max_attempts(self.max_attempts);
        if self.keep {
            options = options.with_checkpoint_kept();
            options.skip_finished = true;
        }
        loop {
            enum Wake {
                Shutdown,
                Ended(Key, RunOutcome),
                Poll,
            }
            let wake = poll_fn(|cx| {
                if shutdown.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Shutdown);
                }
                if let Poll::Ready(Some((key, outcome))) = running.poll_next_unpin(cx) {
                    return Poll::Ready(Wake::Ended(key, outcome));
                }
                if running.len() < self.concurrency && timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Poll);
                }
                Poll::Pending
            })
            .await;
            match wake {
                Wake::Shutdown => break,
                Wake::Ended(key, outcome) => {
                    in_flight.remove(&key);
                    report.record(outcome);
                    if matches!(outcome, RunOutcome::SetAside | RunOutcome::Refused) {
                        set_aside.insert(key);
                    }
                    if backlog && outcome != RunOutcome::Skipped {
                        // Runs are waiting: look again now. (Not after a
                        // run that another worker had: the next ones
                        // listed are likely held too, and trying them all
                        // again at once would spin.)
                        timer.as_mut().reset(Instant::now());
                    }
                }
                Wake::Poll => {
                    timer.as_mut().reset(Instant::now() + self.poll);
                    let free = self.concurrency - running.len();
                    let candidates = self
                        .candidates(&in_flight, &mut set_aside, &mut report)
                        .await;
                    backlog = candidates.len() > free;
                    for key in candidates.into_iter().take(free) {
                        let Some(entry) = self.entries.get(key.0.as_str()) else {
                            continue;
                        };
                        let run =
                            (entry.start)(&self.store, key.1.clone(), options, self.name.clone());
                        in_flight.insert(key.clone());
                        running.push(Box::pin(async move { (key, run.await) }));
                    }
                }
            }
        }
        // Shutdown: take up nothing more; let the runs in progress end.
        let drain = async {
            while let Some((_, outcome)) = running.next().await {
                report.record(outcome);
            }
        };
        match self.grace {
            None => drain.await,
            Some(grace) => {
                if tokio::time::timeout(grace, drain).await.is_err() {
                    report.stopped += running.len();
                }
            }
        }
        report
    }

    /// The runs to take up now, in a random order (so that workers polling
    /// at once do not all try the same run first).
    async fn candidates(
        &self,
        in_flight: &HashSet<Key>,
        set_aside: &mut HashSet<Key>,
        report: &mut WorkerReport,
    ) -> Vec<Key> {
        let listed = match self.store.list_unfinished().await {
            Ok(listed) => listed,
            Err(error) => {
                tracing::warn!(
                    worker = %self.name,
                    %error,
                    "could not list the unfinished runs; trying again at the next poll"
                );
                return Vec::new();
            }
        };
        let mut candidates = Vec::new();
        for info in listed.into_iter().flatten() {
            let Some(entry) = self.entries.get(info.workflow.as_str()) else {
                continue;
            };
            let runnable = match info.phase {
                // At its last step: finished and kept, if this worker keeps
                // checkpoints; else its worker died before deleting it.
                Phase::Running => (info.position as usize) < entry.steps || !self.keep,
                Phase::Compensating { .. } => true,
                _ => false,
            };
            let key = (info.workflow, info.id);
            if !runnable
                || info.fingerprint != entry.definition
                || in_flight.contains(&key)
                || set_aside.contains(&key)
            {
                continue;
            }
            if let Some(attempts) = info.attempts
                && attempts >= self.max_attempts
            {
                emit(&Event::new(
                    entry_name(&self.entries, &key.0),
                    EventKind::SetAside {
                        id: &key.1,
                        attempts,
                    },
                ));
                set_aside.insert(key);
                report.set_aside += 1;
                continue;
            }
            candidates.push(key);
        }
        if !candidates.is_empty() {
            let len = candidates.len() as u64;
            candidates.rotate_left(crate::random::u64_in(0..=len - 1) as usize);
        }
        candidates
    }
}

/// The registered (static) name of `workflow`, for an event's operation.
fn entry_name<St>(entries: &HashMap<&'static str, Entry<St>>, workflow: &str) -> &'static str {
    entries
        .get_key_value(workflow)
        .map_or("worker", |(name, _)| name)
}

/// What a run's result means to the worker; emits the worker's event.
fn outcome<T, E>(
    workflow: &'static str,
    id: &str,
    worker: &str,
    result: &Result<T, DurableError<E>>,
) -> RunOutcome {
    match result {
        Ok(_) => {
            emit(&Event::new(workflow, EventKind::RunFinished { id, worker }));
            RunOutcome::Finished
        }
        Err(DurableError::Failed(_)) => RunOutcome::Failed,
        Err(DurableError::SetAside { attempts, .. }) => {
            emit(&Event::new(
                workflow,
                EventKind::SetAside {
                    id,
                    attempts: *attempts,
                },
            ));
            RunOutcome::SetAside
        }
        Err(DurableError::Checkpoint(CheckpointError::Locked { .. }))
        | Err(DurableError::NotFound { .. })
        | Err(DurableError::PreviouslyFailed { .. }) => RunOutcome::Skipped,
        Err(DurableError::Checkpoint(error)) => {
            emit(&Event::new(
                workflow,
                EventKind::RunStopped {
                    id,
                    worker,
                    error: ErrorRef::Display(error),
                },
            ));
            if transient(error) {
                RunOutcome::Stopped
            } else {
                RunOutcome::Refused
            }
        }
        Err(error) => {
            let error = error.to_string_lossy();
            emit(&Event::new(
                workflow,
                EventKind::RunStopped {
                    id,
                    worker,
                    error: ErrorRef::Display(&error),
                },
            ));
            RunOutcome::Refused
        }
    }
}

/// Whether a run that stopped on `error` may run if taken up again: a
/// lost lease, a store that failed. Not a damaged or foreign checkpoint.
fn transient(error: &CheckpointError) -> bool {
    matches!(
        error,
        CheckpointError::LeaseLost { .. }
            | CheckpointError::Locked { .. }
            | CheckpointError::Io { .. }
            | CheckpointError::Backend { .. }
    )
}

impl<E> DurableError<E> {
    /// The message of an error that does not depend on `E`.
    fn to_string_lossy(&self) -> String {
        match self {
            DurableError::InputsDiffer { workflow, id, .. } => {
                format!("workflow `{workflow}` with id `{id}` was started with other inputs")
            }
            DurableError::InputsNotStored { location, .. } => format!(
                "{location}: the checkpoint was written before inputs were stored; resume it with its inputs"
            ),
            _ => "the run stopped".to_owned(),
        }
    }
}
