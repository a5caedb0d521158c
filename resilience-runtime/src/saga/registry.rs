//! The task-local log of the running saga: what completed, what failed,
//! and where compensations go once the body has ended.

use core::fmt;
use core::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::runner::{Compensation, compensate_in_background};

tokio::task_local! {
    /// The saga that the running task is in, if any.
    pub(super) static SAGA: SagaHandle;
}

/// Where a saga is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The body is running.
    Open,
    /// The body succeeded; the compensations went to the parent, if any.
    Committed,
    /// The body failed, panicked or was dropped; compensating.
    Aborted,
}

/// The log of one saga.
struct Log {
    state: State,
    /// In the order the steps completed.
    compensations: Vec<Compensation>,
    failed_step: Option<&'static str>,
    /// The enclosing saga.
    parent: Option<SagaHandle>,
}

/// A saga, as returned by [`current`](super::current): lets a spawned task take part in the
/// saga that spawned it, with [`scope`](SagaHandle::scope).
///
/// Cloning it is cheap (an `Arc`). A handle kept after its saga ended still
/// works; see the [module docs](mod@crate::saga#spawned-tasks).
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{self, in_saga, saga, SagaHandle};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// saga(async {
///     let handle: SagaHandle = saga::current().expect("inside a saga");
///     let plain = tokio::spawn(async { in_saga() }).await.unwrap();
///     let scoped = tokio::spawn(handle.scope(async { in_saga() })).await.unwrap();
///     assert_eq!((plain, scoped), (false, true));
///     Ok::<_, String>(())
/// })
/// .await
/// .unwrap();
/// # }
/// ```
#[derive(Clone)]
pub struct SagaHandle {
    log: Arc<Mutex<Log>>,
}

impl SagaHandle {
    pub(super) fn new(parent: Option<Self>) -> Self {
        Self {
            log: Arc::new(Mutex::new(Log {
                state: State::Open,
                compensations: Vec::new(),
                failed_step: None,
                parent,
            })),
        }
    }

    /// Runs `future` inside this saga: a step that completes in it registers
    /// its compensation here, as if it ran in the saga's own task. Use it for
    /// a future that you spawn, since task-locals do not cross
    /// `tokio::spawn`.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::saga::{self, register_compensation, saga};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async {
    ///     let handle = saga::current().unwrap();
    ///     tokio::spawn(handle.scope(async {
    ///         register_compensation("upload", || async { Ok(()) });
    ///     }))
    ///     .await
    ///     .unwrap();
    ///     Err::<(), _>("index failed")
    /// })
    /// .await
    /// .unwrap_err();
    /// assert_eq!(error.completed(), ["upload"]);
    /// # }
    /// ```
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        SAGA.scope(self, future).await
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        // No user code runs under the lock, but be robust anyway.
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds compensations of completed steps, in the order they completed.
    pub(super) fn push(&self, mut compensations: Vec<Compensation>) {
        if compensations.is_empty() {
            return;
        }
        let mut log = self.lock();
        match log.state {
            State::Open => log.compensations.append(&mut compensations),
            State::Committed => {
                let parent = log.parent.clone();
                drop(log);
                // Without a parent the saga succeeded for good: nothing to do.
                if let Some(parent) = parent {
                    parent.push(compensations);
                }
            }
            State::Aborted => {
                drop(log);
                let pending = compensations.into_iter().rev().map(Compensation::start);
                compensate_in_background(pending.collect());
            }
        }
    }

    /// Records the failing step while the body runs.
    pub(super) fn fail(&self, step: &'static str) {
        let mut log = self.lock();
        if log.state == State::Open {
            log.failed_step = Some(step);
        }
    }

    /// The body succeeded: hands the compensations to the parent, if any.
    pub(super) fn commit(&self) {
        let mut log = self.lock();
        log.state = State::Committed;
        let compensations = core::mem::take(&mut log.compensations);
        let parent = log.parent.clone();
        drop(log);
        if let Some(parent) = parent {
            parent.push(compensations);
        }
    }

    /// The body failed: the failed step (not for a panic, which is not a
    /// step's reported failure) and the completed steps. The failed step is
    /// also recorded in the parent.
    pub(super) fn abort(&self, panicked: bool) -> (Option<&'static str>, Vec<&'static str>) {
        let mut log = self.lock();
        log.state = State::Aborted;
        let failed_step = if panicked { None } else { log.failed_step };
        let completed = log.compensations.iter().map(|c| c.step).collect();
        let parent = log.parent.clone();
        drop(log);
        if let (Some(parent), Some(step)) = (parent, failed_step) {
            parent.fail(step);
        }
        (failed_step, completed)
    }

    /// The next compensation to run: the last one registered.
    pub(super) fn pop(&self) -> Option<Compensation> {
        self.lock().compensations.pop()
    }

    /// The saga future is being dropped: everything still to undo, unless
    /// the saga committed.
    pub(super) fn abandon(&self) -> Vec<Compensation> {
        let mut log = self.lock();
        if log.state == State::Committed {
            return Vec::new();
        }
        log.state = State::Aborted;
        core::mem::take(&mut log.compensations)
    }
}

impl fmt::Debug for SagaHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let log = self.lock();
        let steps: Vec<_> = log.compensations.iter().map(|c| c.step).collect();
        f.debug_struct("SagaHandle")
            .field("state", &log.state)
            .field("steps", &steps)
            .finish_non_exhaustive()
    }
}
