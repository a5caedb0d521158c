//! [`saga()`]: compensating transactions, the scope that `#[compensate]`
//! registers its undo actions into.
//!
//! # Why "saga"
//!
//! The guide this crate follows names the pattern "compensating transactions
//! (sagas)": a long-running operation made of steps that each commit on
//! their own, where every step that did something has a *compensation*, an
//! action that undoes it. If a later step fails, the compensations of the
//! steps that completed run in reverse order. The word comes from
//! Garcia-Molina and Salem's paper "Sagas" (1987), and it is the word that
//! workflow engines use for exactly this, so the scope is called [`saga()`]
//! and its error [`SagaError`].
//!
//! # Semantics
//!
//! - Inside `saga(body)`, every successful call of a
//!   `#[compensate(with = undo)]` fn registers `undo(output)` with
//!   [`register_compensation`]. **Outside a saga `#[compensate]` does
//!   nothing**: [`in_saga`] returns `false`, the output is not even cloned,
//!   and [`register_compensation`] and [`step_failed`] are no-ops.
//! - If `body` returns `Ok`, so does the saga, and no compensation runs. A
//!   saga nested in another one hands its compensations over to the
//!   enclosing saga, which runs them if it fails later.
//! - If `body` returns `Err` or panics, the compensations registered so far
//!   run one after the other in reverse order. Each one runs even if an
//!   earlier one failed. A compensation that panics counts as failed. The
//!   [`SagaError`] then says what failed ([`Failure::Error`] or
//!   [`Failure::Panic`]), in which step if known, which steps had completed
//!   and what each compensation did. A nested saga that fails undoes only its
//!   own steps; what the enclosing saga does is up to its body.
//! - Every compensation emits [`EventKind::Compensated`] or
//!   [`EventKind::CompensationFailed`] with the step's name as the
//!   operation; see [`events`](crate::events).
//! - The body does not need to be `Send`: the saga runs it on the current
//!   task. The compensations are `Send + 'static`, because they may have to
//!   run on a task of their own (next point).
//!
//! # Cancellation
//!
//! A saga future that is dropped before it finished (an outer timeout, the
//! losing branch of a `select!`) still undoes what its completed steps did.
//! It cannot wait for anything while being dropped, so it spawns one task on
//! the current tokio runtime that runs the remaining compensations in
//! reverse order and emits their events; a compensation that was already
//! running goes on in that task first. The task runs only if the runtime
//! keeps running. When the saga is dropped where there is no tokio runtime,
//! it emits an [`EventKind::CompensationFailed`] event (level ERROR) for
//! each step that could not be undone. It never panics.
//!
//! # Spawned tasks
//!
//! The saga lives in a task-local, and task-locals do not cross
//! `tokio::spawn`: a step in a plainly spawned task is *not* part of the
//! saga. Take the saga with [`current`] and run the spawned future in it with
//! [`SagaHandle::scope`]. A step that completes in such a task after the
//! saga ended is handled as it would have been inside: undone at once if the
//! saga failed (in a spawned task, outside the [`SagaError`]), handed to the
//! enclosing saga if it succeeded inside one, and forgotten otherwise.
//!
//! # Examples
//!
//! What `#[compensate(with = delete)]` on `create` writes, by hand: after a
//! success it registers the compensation, after a failure it names the step.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use resilience_runtime::saga::{clone_output, in_saga, register_compensation, saga, step_failed};
//!
//! type Journal = Arc<Mutex<Vec<String>>>;
//!
//! async fn create(journal: &Journal, name: &str) -> Result<String, String> {
//!     let result: Result<String, String> = Ok(format!("rid-{name}"));
//!     // The part `#[compensate(with = delete)]` generates:
//!     match &result {
//!         Ok(out) if in_saga() => {
//!             let (out, journal) = (clone_output(out), Arc::clone(journal));
//!             register_compensation("create", move || delete(journal, out));
//!         }
//!         Ok(_) => {}
//!         Err(_) => step_failed("create"),
//!     }
//!     result
//! }
//!
//! async fn delete(journal: Journal, rid: String) -> Result<(), String> {
//!     journal.lock().unwrap().push(format!("deleted {rid}"));
//!     Ok(())
//! }
//!
//! async fn configure(_rid: &str) -> Result<(), String> {
//!     step_failed("configure");
//!     Err("disk full".to_owned())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let journal = Journal::default();
//! let result = saga(async {
//!     let rid = create(&journal, "a").await?;
//!     configure(&rid).await
//! })
//! .await;
//!
//! let error = result.unwrap_err();
//! assert_eq!(error.to_string(), "step `configure` failed: disk full; undone: `create` (ok)");
//! assert_eq!(*journal.lock().unwrap(), ["deleted rid-a"]);
//!
//! // Outside a saga, nothing is registered and nothing is undone.
//! create(&journal, "b").await.unwrap();
//! assert_eq!(journal.lock().unwrap().len(), 1);
//! # }
//! ```

use core::any::Any;
use core::fmt;
use core::future::Future;
use core::panic::AssertUnwindSafe;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use pin_project_lite::pin_project;

use crate::error_ref::ErrorRef;
use crate::events::{Event, EventKind, emit};

tokio::task_local! {
    /// The saga that the running task is in, if any.
    static SAGA: SagaHandle;
}

/// What a step's compensation returns, boxed so that it can be spawned.
type UndoFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Why a step could not be undone when a saga is dropped outside a runtime.
const NO_RUNTIME: &str =
    "the saga was dropped outside a tokio runtime, so its compensation could not run";

/// Runs `body` as a saga: if it fails, what its completed steps did is
/// undone, in reverse order.
///
/// `body` runs on the current task with a saga log in a task-local. Each
/// `#[compensate]` step that succeeds in it (or a hand-written
/// [`register_compensation`]) adds its compensation to the log. See the
/// [module docs](self) for the details: nesting, cancellation, spawned
/// tasks and events.
///
/// # Errors
///
/// A [`SagaError`] if `body` returns `Err` or panics, after every
/// compensation has run. It holds the [`Failure`], the failed step if one
/// was named with [`step_failed`], the completed steps and a
/// [`CompensationReport`] for each compensation.
///
/// # Panics
///
/// Never: a panic in `body` or in a compensation is caught and reported.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{register_compensation, saga};
/// use resilience_runtime::Failure;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let ok: Result<u32, _> = saga(async { Ok::<_, String>(7) }).await;
/// assert_eq!(ok.unwrap(), 7);
///
/// let failed = saga(async {
///     register_compensation("reserve", || async { Ok(()) });
///     register_compensation("charge", || async { Err("refund refused".to_owned()) });
///     Err::<(), _>("out of stock")
/// })
/// .await
/// .unwrap_err();
/// assert_eq!(failed.failure(), &Failure::Error("out of stock"));
/// assert_eq!(failed.completed(), ["reserve", "charge"]);
/// assert_eq!(
///     failed.to_string(),
///     "saga failed: out of stock; undone: `charge` (failed: refund refused), `reserve` (ok)"
/// );
/// # }
/// ```
pub async fn saga<T, E, F>(body: F) -> Result<T, SagaError<E>>
where
    F: Future<Output = Result<T, E>>,
{
    let handle = SagaHandle::new(current());
    let mut unwinder = Unwinder {
        handle: handle.clone(),
        in_flight: None,
    };
    let failure = match SAGA.scope(handle, CatchUnwind { inner: body }).await {
        Ok(Ok(value)) => {
            unwinder.handle.commit();
            return Ok(value);
        }
        Ok(Err(error)) => Failure::Error(error),
        Err(payload) => Failure::Panic(panic_message(&*payload)),
    };
    let (failed_step, completed) = unwinder.handle.abort(matches!(failure, Failure::Panic(_)));
    let mut compensations = Vec::with_capacity(completed.len());
    while let Some(compensation) = unwinder.handle.pop() {
        let (step, undo) = unwinder.in_flight.insert(compensation.start());
        let step = *step;
        let outcome = undo.await;
        unwinder.in_flight = None;
        report(step, &outcome);
        compensations.push(CompensationReport { step, outcome });
    }
    Err(SagaError {
        failure,
        failed_step,
        completed,
        compensations,
    })
}

/// Owns what is left to undo while a saga runs; if the saga future is
/// dropped early, its `Drop` hands that to a task of its own.
struct Unwinder {
    handle: SagaHandle,
    /// The compensation being awaited, if any.
    in_flight: Option<(&'static str, UndoFuture)>,
}

impl Drop for Unwinder {
    fn drop(&mut self) {
        let mut pending: Vec<_> = self.in_flight.take().into_iter().collect();
        let rest = self.handle.abandon();
        pending.extend(rest.into_iter().rev().map(Compensation::start));
        if !pending.is_empty() {
            compensate_in_background(pending);
        }
    }
}

/// Runs `pending` in order on a new task of the current runtime, or reports
/// each step as not undone if there is none.
fn compensate_in_background(pending: Vec<(&'static str, UndoFuture)>) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            // Detached on purpose: nobody is left to wait for it.
            drop(runtime.spawn(async move {
                for (step, undo) in pending {
                    let outcome = undo.await;
                    report(step, &outcome);
                }
            }));
        }
        Err(_) => {
            for (step, _) in pending {
                let kind = EventKind::CompensationFailed {
                    step,
                    error: ErrorRef::Display(&NO_RUNTIME),
                };
                emit(&Event::new(step, kind));
            }
        }
    }
}

/// Emits the event for one compensation's outcome.
fn report(step: &'static str, outcome: &Result<(), String>) {
    report_for(step, step, outcome);
}

/// Emits the event for one compensation's outcome, for `operation` (a
/// workflow names its steps `Workflow::step`, like their retry events).
fn report_for(operation: &'static str, step: &'static str, outcome: &Result<(), String>) {
    let kind = match outcome {
        Ok(()) => EventKind::Compensated { step },
        Err(error) => EventKind::CompensationFailed {
            step,
            error: ErrorRef::Display(error),
        },
    };
    emit(&Event::new(operation, kind));
}

/// A registered compensation, not started yet.
struct Compensation {
    step: &'static str,
    undo: Box<dyn FnOnce() -> UndoFuture + Send>,
}

impl Compensation {
    /// The compensation as a future, with a panic (in the call or in the
    /// future) turned into a failure. Runs nothing until polled.
    fn start(self) -> (&'static str, UndoFuture) {
        let Self { step, undo } = self;
        let future = CatchUnwind {
            inner: async move { undo().await },
        };
        let undo: UndoFuture = Box::pin(async move {
            match future.await {
                Ok(outcome) => outcome,
                Err(payload) => Err(format!("panicked: {}", panic_message(&*payload))),
            }
        });
        (step, undo)
    }
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

/// A saga, as returned by [`current`]: lets a spawned task take part in the
/// saga that spawned it, with [`scope`](SagaHandle::scope).
///
/// Cloning it is cheap (an `Arc`). A handle kept after its saga ended still
/// works; see the [module docs](self#spawned-tasks).
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
    fn new(parent: Option<Self>) -> Self {
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
    fn push(&self, mut compensations: Vec<Compensation>) {
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
    fn fail(&self, step: &'static str) {
        let mut log = self.lock();
        if log.state == State::Open {
            log.failed_step = Some(step);
        }
    }

    /// The body succeeded: hands the compensations to the parent, if any.
    fn commit(&self) {
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
    fn abort(&self, panicked: bool) -> (Option<&'static str>, Vec<&'static str>) {
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
    fn pop(&self) -> Option<Compensation> {
        self.lock().compensations.pop()
    }

    /// The saga future is being dropped: everything still to undo, unless
    /// the saga committed.
    fn abandon(&self) -> Vec<Compensation> {
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

/// The saga that the current task is in, to run a spawned future in it with
/// [`SagaHandle::scope`]; `None` outside a saga.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{self, saga};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert!(saga::current().is_none());
/// saga(async {
///     assert!(saga::current().is_some());
///     Ok::<_, ()>(())
/// })
/// .await
/// .unwrap();
/// # }
/// ```
pub fn current() -> Option<SagaHandle> {
    SAGA.try_with(SagaHandle::clone).ok()
}

/// Whether the current task is inside a saga: one task-local read.
///
/// The code that `#[compensate]` generates calls it after a success and
/// clones the output for the compensation only when it returns `true`, so
/// that a `#[compensate]` fn costs nothing outside a saga.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{in_saga, saga};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert!(!in_saga());
/// assert!(saga(async { Ok::<_, ()>(in_saga()) }).await.unwrap());
/// # }
/// ```
#[inline]
pub fn in_saga() -> bool {
    SAGA.try_with(|_| ()).is_ok()
}

/// Registers `undo` as the compensation of `step`, which just completed:
/// if the saga fails, `undo()` runs, after the compensations of the steps
/// that completed later. Outside a saga it does nothing, and
/// `#[compensate]` with it.
///
/// `undo` reports failure as a `String`, shown in the [`SagaError`] and the
/// events. It is `Send + 'static` because a cancelled saga runs it on a
/// task of its own.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{register_compensation, saga};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// register_compensation("ignored", || async { unreachable!("not in a saga") });
///
/// let error = saga(async {
///     let booking = 42;
///     register_compensation("book", move || async move {
///         println!("cancelling booking {booking}");
///         Ok(())
///     });
///     Err::<(), _>("payment declined")
/// })
/// .await
/// .unwrap_err();
/// assert!(error.is_fully_compensated());
/// # }
/// ```
pub fn register_compensation<F, Fut>(step: &'static str, undo: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let _outside = SAGA.try_with(|saga| {
        let undo = Box::new(move || -> UndoFuture { Box::pin(undo()) });
        saga.push(vec![Compensation { step, undo }]);
    });
}

/// Records that `step` failed, so that the [`SagaError`] names it; the last
/// call before the body returns wins. Outside a saga it does nothing.
///
/// A nested saga that fails passes its failed step on to the enclosing one.
/// A panic is not a reported failure: when the body panics,
/// [`SagaError::failed_step`] is `None`.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{saga, step_failed};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let error = saga(async {
///     step_failed("configure");
///     Err::<(), _>("disk full")
/// })
/// .await
/// .unwrap_err();
/// assert_eq!(error.failed_step(), Some("configure"));
/// # }
/// ```
pub fn step_failed(step: &'static str) {
    let _outside = SAGA.try_with(|saga| saga.fail(step));
}

/// Clones a step's output for its compensation; see [`clone_output`].
///
/// Implemented for every [`Clone`] type. It exists to say, when an output
/// is not `Clone`, what to do about it.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::CloneOutput;
///
/// let rid = String::from("rid-7");
/// assert_eq!(rid.clone_output(), "rid-7");
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[compensate]` hands a clone of the output to its compensation, but `{Self}` is not `Clone`",
    note = "make the output `Clone`, or return a handle (an id) that is"
)]
pub trait CloneOutput: Sized {
    /// A clone of `self` for the compensation.
    fn clone_output(&self) -> Self;
}

impl<T: Clone> CloneOutput for T {
    fn clone_output(&self) -> Self {
        self.clone()
    }
}

/// Clones the output of a successful `#[compensate]` step, to hand to its
/// compensation while the caller keeps the original. The generated code
/// calls it only inside a saga ([`in_saga`]).
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::clone_output;
///
/// let rid = vec![1, 2];
/// let for_the_compensation: Vec<i32> = clone_output(&rid);
/// assert_eq!(for_the_compensation, rid);
/// ```
pub fn clone_output<T: CloneOutput>(value: &T) -> T {
    value.clone_output()
}

/// What made a saga fail: the body's error, or a panic.
///
/// # Examples
///
/// ```
/// use resilience_runtime::Failure;
///
/// let failure: Failure<&str> = Failure::Panic("index out of bounds".to_owned());
/// assert_eq!(failure.to_string(), "panicked: index out of bounds");
/// assert_eq!(Failure::Error("disk full").to_string(), "disk full");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure<E> {
    /// The body returned this error.
    Error(E),
    /// The body panicked; holds the panic message.
    Panic(String),
    /// A durable workflow failed in an earlier run, which died while
    /// compensating; this run finished the compensation. Holds the failure
    /// as the checkpoint recorded it (its `Display` text).
    Recorded(String),
}

impl<E> Failure<E> {
    /// The error, unless the body panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Failure;
    ///
    /// assert_eq!(Failure::Error(503).error(), Some(&503));
    /// assert_eq!(Failure::<u16>::Panic("boom".into()).error(), None);
    /// ```
    pub const fn error(&self) -> Option<&E> {
        match self {
            Self::Error(error) => Some(error),
            Self::Panic(_) | Self::Recorded(_) => None,
        }
    }

    /// The panic message, if the body panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Failure;
    ///
    /// assert_eq!(Failure::<u16>::Panic("boom".into()).panic_message(), Some("boom"));
    /// assert_eq!(Failure::Error(503).panic_message(), None);
    /// ```
    pub const fn panic_message(&self) -> Option<&str> {
        match self {
            Self::Error(_) | Self::Recorded(_) => None,
            Self::Panic(message) => Some(message.as_str()),
        }
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(error) => error.fmt(f),
            Self::Panic(message) => write!(f, "panicked: {message}"),
            Self::Recorded(message) => f.write_str(message),
        }
    }
}

/// What one compensation did, in a [`SagaError`].
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{register_compensation, saga};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let error = saga(async {
///     register_compensation("reserve", || async { Err("503".to_owned()) });
///     Err::<(), _>("payment declined")
/// })
/// .await
/// .unwrap_err();
/// let report = &error.compensations()[0];
/// assert_eq!((report.step, report.outcome.clone()), ("reserve", Err("503".to_owned())));
/// assert_eq!(report.to_string(), "`reserve` (failed: 503)");
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompensationReport {
    /// The step whose compensation ran.
    pub step: &'static str,
    /// `Ok` if the step was undone, else why not.
    pub outcome: Result<(), String>,
}

impl CompensationReport {
    /// Whether the step was undone.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::saga::{register_compensation, saga};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async {
    ///     register_compensation("reserve", || async { Ok(()) });
    ///     Err::<(), _>("payment declined")
    /// })
    /// .await
    /// .unwrap_err();
    /// assert!(error.compensations()[0].is_undone());
    /// # }
    /// ```
    pub const fn is_undone(&self) -> bool {
        self.outcome.is_ok()
    }
}

impl fmt::Display for CompensationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Ok(()) => write!(f, "`{}` (ok)", self.step),
            Err(error) => write!(f, "`{}` (failed: {error})", self.step),
        }
    }
}

/// A saga that failed: what failed, and what was undone.
///
/// Its `Display` reads like
/// ``step `configure` failed: disk full; undone: `create` (ok), `reserve` (failed: 503)``.
/// Its [`source`](std::error::Error::source) is the body's error.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{register_compensation, saga, step_failed};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let error = saga(async {
///     register_compensation("reserve", || async { Err("503".to_owned()) });
///     register_compensation("create", || async { Ok(()) });
///     step_failed("configure");
///     Err::<(), _>(std::io::Error::other("disk full"))
/// })
/// .await
/// .unwrap_err();
///
/// assert_eq!(
///     error.to_string(),
///     "step `configure` failed: disk full; undone: `create` (ok), `reserve` (failed: 503)"
/// );
/// assert_eq!(error.failed_step(), Some("configure"));
/// assert_eq!(error.completed(), ["reserve", "create"]);
/// assert!(!error.is_fully_compensated());
/// assert_eq!(std::error::Error::source(&error).unwrap().to_string(), "disk full");
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SagaError<E> {
    failure: Failure<E>,
    failed_step: Option<&'static str>,
    completed: Vec<&'static str>,
    compensations: Vec<CompensationReport>,
}

impl<E> SagaError<E> {
    /// What made the saga fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{saga, Failure};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async { Err::<(), _>("timeout") }).await.unwrap_err();
    /// assert_eq!(error.failure(), &Failure::Error("timeout"));
    /// # }
    /// ```
    pub const fn failure(&self) -> &Failure<E> {
        &self.failure
    }

    /// The body's error, unless it panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::saga;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async { Err::<(), _>(404) }).await.unwrap_err();
    /// assert_eq!(error.error(), Some(&404));
    /// # }
    /// ```
    pub const fn error(&self) -> Option<&E> {
        self.failure.error()
    }

    /// The step that failed, if the body named it with [`step_failed`] (the
    /// `#[compensate]` code does); `None` after a panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::saga::{saga, step_failed};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async { step_failed("pay"); Err::<(), _>(()) }).await.unwrap_err();
    /// assert_eq!(error.failed_step(), Some("pay"));
    /// # }
    /// ```
    pub const fn failed_step(&self) -> Option<&'static str> {
        self.failed_step
    }

    /// The steps that had completed and registered a compensation, in the
    /// order they completed (steps handed over by nested sagas included).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::saga::{register_compensation, saga};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async {
    ///     register_compensation("a", || async { Ok(()) });
    ///     register_compensation("b", || async { Ok(()) });
    ///     Err::<(), _>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert_eq!(error.completed(), ["a", "b"]);
    /// # }
    /// ```
    pub const fn completed(&self) -> &[&'static str] {
        self.completed.as_slice()
    }

    /// One report per compensation, in the order they ran (the reverse of
    /// [`completed`](Self::completed)).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::saga::{register_compensation, saga};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async {
    ///     register_compensation("a", || async { Ok(()) });
    ///     register_compensation("b", || async { Ok(()) });
    ///     Err::<(), _>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// let order: Vec<_> = error.compensations().iter().map(|r| r.step).collect();
    /// assert_eq!(order, ["b", "a"]);
    /// # }
    /// ```
    pub const fn compensations(&self) -> &[CompensationReport] {
        self.compensations.as_slice()
    }

    /// Whether every compensation succeeded (also when there was none).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::saga;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async { Err::<(), _>(()) }).await.unwrap_err();
    /// assert!(error.is_fully_compensated());
    /// # }
    /// ```
    pub fn is_fully_compensated(&self) -> bool {
        self.compensations.iter().all(CompensationReport::is_undone)
    }

    /// The [`Failure`], dropping the rest.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{saga, Failure};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async { Err::<(), _>("quota exceeded") }).await.unwrap_err();
    /// assert_eq!(error.into_failure(), Failure::Error("quota exceeded"));
    /// # }
    /// ```
    pub fn into_failure(self) -> Failure<E> {
        self.failure
    }
}

impl<E: fmt::Display> fmt::Display for SagaError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.failed_step, &self.failure) {
            (Some(step), Failure::Error(error)) => write!(f, "step `{step}` failed: {error}"),
            (Some(step), Failure::Panic(message)) => write!(f, "step `{step}` panicked: {message}"),
            (None, Failure::Error(error)) => write!(f, "saga failed: {error}"),
            (None, Failure::Panic(message)) => write!(f, "saga panicked: {message}"),
            (Some(step), Failure::Recorded(message)) => {
                write!(f, "step `{step}` failed in an earlier run: {message}")
            }
            (None, Failure::Recorded(message)) => {
                write!(f, "saga failed in an earlier run: {message}")
            }
        }?;
        if self.compensations.is_empty() {
            return f.write_str("; nothing to undo");
        }
        f.write_str("; undone: ")?;
        for (i, report) in self.compensations.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            report.fmt(f)?;
        }
        Ok(())
    }
}

impl<E: std::error::Error + 'static> std::error::Error for SagaError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.failure {
            Failure::Error(error) => Some(error),
            Failure::Panic(_) | Failure::Recorded(_) => None,
        }
    }
}

/// What `workflow!` expansions call: the same reports, failures and events
/// as [`saga()`], for a state machine that undoes its own steps.
#[doc(hidden)]
pub mod workflow {
    use super::{CompensationReport, Failure, SagaError, report_for};
    use core::future::Future;

    /// Runs one step, turning a panic into `Err` with its message.
    pub fn catch_panic<F: Future>(steps: F) -> super::CatchPanic<F> {
        super::CatchPanic { inner: steps }
    }

    /// Emits the event of a failed workflow step, before its undo.
    pub fn step_failed_event(
        workflow: &'static str,
        step: &'static str,
        error: crate::error_ref::ErrorRef<'_>,
    ) {
        crate::events::emit(&crate::events::Event::new(
            workflow,
            crate::events::EventKind::StepFailed { step, error },
        ));
    }

    /// Records (and emits the event of) one compensation's outcome;
    /// `operation` is `Workflow::step`, as in the step's other events.
    pub fn compensated(
        operation: &'static str,
        step: &'static str,
        outcome: Result<(), String>,
    ) -> CompensationReport {
        report_for(operation, step, &outcome);
        CompensationReport { step, outcome }
    }

    /// The error of a workflow whose step `failed_step` failed.
    pub fn saga_error<E>(
        failure: Failure<E>,
        failed_step: &'static str,
        completed: &'static [&'static str],
        compensations: Vec<CompensationReport>,
    ) -> SagaError<E> {
        SagaError {
            failure,
            failed_step: Some(failed_step),
            completed: completed.to_vec(),
            compensations,
        }
    }
}

pin_project! {
    /// Catches a panic while polling `inner`.
    struct CatchUnwind<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        // A future that panicked is never polled again, so no broken
        // invariant can be observed.
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

pin_project! {
    /// Catches a panic while polling `inner`, as its message: what a
    /// workflow's steps run in (one layer, no extra state machine).
    #[doc(hidden)]
    pub struct CatchPanic<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        // A future that panicked is never polled again, so no broken
        // invariant can be observed.
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(panic_message(&*payload))),
        }
    }
}

/// The message of a panic payload (`panic!` with a literal or a format).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic whose payload is not a string".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;
    use std::rc::Rc;

    use tokio::time::sleep;

    use super::*;
    use crate::events::{OwnedEventKind, Subscription, subscribe};

    /// What the compensations did, in order.
    #[derive(Clone, Default)]
    struct Journal(Arc<Mutex<Vec<String>>>);

    impl Journal {
        fn push(&self, line: String) {
            self.0.lock().unwrap().push(line);
        }

        fn lines(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }

    /// What `#[compensate(with = ..)]` generates around a step, by hand: the
    /// step returns `result`; its compensation logs `undo <step> <output>`
    /// and returns `undo`.
    async fn step(
        journal: &Journal,
        name: &'static str,
        result: Result<u32, String>,
        undo: Result<(), String>,
    ) -> Result<u32, String> {
        match &result {
            Ok(output) if in_saga() => {
                let (output, journal) = (clone_output(output), journal.clone());
                register_compensation(name, move || async move {
                    journal.push(format!("undo {name} {output}"));
                    undo
                });
            }
            Ok(_) => {}
            Err(_) => step_failed(name),
        }
        result
    }

    async fn ok(journal: &Journal, name: &'static str, output: u32) -> Result<u32, String> {
        step(journal, name, Ok(output), Ok(())).await
    }

    async fn fails(journal: &Journal, name: &'static str, error: &str) -> Result<u32, String> {
        step(journal, name, Err(error.to_owned()), Ok(())).await
    }

    /// The saga events whose step starts with `prefix`, as text.
    fn saga_events(sub: &mut Subscription, prefix: &str) -> Vec<String> {
        core::iter::from_fn(|| sub.try_recv())
            .filter(|e| e.operation.starts_with(prefix))
            .map(|e| {
                match &e.kind {
                    OwnedEventKind::Compensated { step }
                    | OwnedEventKind::CompensationFailed { step, .. } => {
                        assert_eq!(*step, e.operation);
                    }
                    other => panic!("unexpected {other:?}"),
                }
                e.to_string()
            })
            .collect()
    }

    #[tokio::test]
    async fn success_returns_the_value_and_undoes_nothing() {
        let journal = Journal::default();
        let result = saga(async {
            let a = ok(&journal, "success::a", 1).await?;
            let b = ok(&journal, "success::b", 2).await?;
            Ok::<_, String>(a + b)
        })
        .await;
        assert_eq!(result.unwrap(), 3);
        assert!(journal.lines().is_empty());
    }

    #[tokio::test]
    async fn compensations_run_in_reverse_order() {
        let mut sub = subscribe();
        let journal = Journal::default();
        let error = saga(async {
            ok(&journal, "rev::a", 1).await?;
            ok(&journal, "rev::b", 2).await?;
            ok(&journal, "rev::c", 3).await?;
            fails(&journal, "rev::d", "disk full").await?;
            ok(&journal, "rev::e", 5).await
        })
        .await
        .unwrap_err();

        assert_eq!(
            journal.lines(),
            ["undo rev::c 3", "undo rev::b 2", "undo rev::a 1"]
        );
        assert_eq!(error.failure(), &Failure::Error("disk full".to_owned()));
        assert_eq!(error.failed_step(), Some("rev::d"));
        assert_eq!(error.completed(), ["rev::a", "rev::b", "rev::c"]);
        let order: Vec<_> = error.compensations().iter().map(|r| r.step).collect();
        assert_eq!(order, ["rev::c", "rev::b", "rev::a"]);
        assert!(error.is_fully_compensated());
        assert_eq!(
            saga_events(&mut sub, "rev::"),
            [
                "`rev::c` undone by its compensation",
                "`rev::b` undone by its compensation",
                "`rev::a` undone by its compensation",
            ]
        );
    }

    #[tokio::test]
    async fn a_failing_compensation_is_recorded_and_the_others_still_run() {
        let mut sub = subscribe();
        let journal = Journal::default();
        let error = saga(async {
            ok(&journal, "undo_fails::a", 1).await?;
            step(&journal, "undo_fails::b", Ok(2), Err("503".into())).await?;
            register_compensation("undo_fails::c", || async { panic!("undo bug {}", 7) });
            ok(&journal, "undo_fails::d", 4).await?;
            fails(&journal, "undo_fails::e", "quota").await
        })
        .await
        .unwrap_err();

        assert_eq!(
            journal.lines(),
            [
                "undo undo_fails::d 4",
                "undo undo_fails::b 2",
                "undo undo_fails::a 1"
            ]
        );
        let outcomes: Vec<_> = error
            .compensations()
            .iter()
            .map(|r| (r.step, r.outcome.clone()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("undo_fails::d", Ok(())),
                ("undo_fails::c", Err("panicked: undo bug 7".to_owned())),
                ("undo_fails::b", Err("503".to_owned())),
                ("undo_fails::a", Ok(())),
            ]
        );
        assert!(!error.is_fully_compensated());
        assert_eq!(
            saga_events(&mut sub, "undo_fails::"),
            [
                "`undo_fails::d` undone by its compensation",
                "`undo_fails::c` could not be undone: panicked: undo bug 7",
                "`undo_fails::b` could not be undone: 503",
                "`undo_fails::a` undone by its compensation",
            ]
        );
    }

    #[tokio::test]
    async fn a_panic_in_a_step_compensates_and_reports_the_message() {
        let journal = Journal::default();
        let error = saga(async {
            ok(&journal, "panic::a", 1).await?;
            ok(&journal, "panic::b", 2).await?;
            let n: u32 = ok(&journal, "panic::c", 3).await.map(|_| 0)?;
            if n == 0 {
                panic!("index {n} out of bounds");
            }
            Ok::<_, String>(())
        })
        .await
        .unwrap_err();

        assert_eq!(
            journal.lines(),
            ["undo panic::c 3", "undo panic::b 2", "undo panic::a 1"]
        );
        assert_eq!(
            error.failure(),
            &Failure::Panic("index 0 out of bounds".to_owned())
        );
        assert_eq!(
            error.failure().panic_message(),
            Some("index 0 out of bounds")
        );
        assert_eq!(error.failed_step(), None);
        assert!(error.is_fully_compensated());
        assert_eq!(
            error.to_string(),
            "saga panicked: index 0 out of bounds; undone: `panic::c` (ok), `panic::b` (ok), `panic::a` (ok)"
        );
    }

    #[tokio::test]
    async fn a_literal_panic_and_a_non_string_payload() {
        let error = saga(async {
            panic!("plain");
            #[allow(unreachable_code)]
            Ok::<(), String>(())
        })
        .await
        .unwrap_err();
        assert_eq!(error.failure().panic_message(), Some("plain"));

        let error = saga(async {
            std::panic::panic_any(42_u8);
            #[allow(unreachable_code)]
            Ok::<(), String>(())
        })
        .await
        .unwrap_err();
        assert_eq!(
            error.failure().panic_message(),
            Some("a panic whose payload is not a string")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_saga_compensates_its_completed_steps_in_the_background() {
        let mut sub = subscribe();
        let journal = Journal::default();
        let started = tokio::time::Instant::now();
        let result = tokio::time::timeout(
            Duration::from_secs(1),
            saga(async {
                ok(&journal, "cancel::a", 1).await?;
                ok(&journal, "cancel::b", 2).await?;
                sleep(Duration::from_secs(10)).await;
                ok(&journal, "cancel::c", 3).await
            }),
        )
        .await;

        assert!(result.is_err(), "the timeout fired");
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        // The compensations run on a task of their own: let it run.
        sleep(Duration::from_millis(1)).await;
        assert_eq!(journal.lines(), ["undo cancel::b 2", "undo cancel::a 1"]);
        assert_eq!(
            saga_events(&mut sub, "cancel::"),
            [
                "`cancel::b` undone by its compensation",
                "`cancel::a` undone by its compensation",
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_saga_cancelled_while_compensating_finishes_in_the_background() {
        let journal = Journal::default();
        let result = tokio::time::timeout(
            Duration::from_secs(1),
            saga(async {
                ok(&journal, "cancel_mid::a", 1).await?;
                let slow = journal.clone();
                register_compensation("cancel_mid::b", move || async move {
                    sleep(Duration::from_secs(5)).await;
                    slow.push("undo cancel_mid::b after 5s".to_owned());
                    Ok(())
                });
                ok(&journal, "cancel_mid::c", 3).await?;
                fails(&journal, "cancel_mid::d", "boom").await
            }),
        )
        .await;

        assert!(result.is_err(), "the timeout fired while `b` was undone");
        assert_eq!(journal.lines(), ["undo cancel_mid::c 3"]);
        sleep(Duration::from_secs(5)).await;
        assert_eq!(
            journal.lines(),
            [
                "undo cancel_mid::c 3",
                "undo cancel_mid::b after 5s",
                "undo cancel_mid::a 1"
            ]
        );
    }

    #[test]
    fn a_saga_dropped_outside_a_runtime_reports_what_it_could_not_undo() {
        let mut sub = subscribe();
        let journal = Journal::default();
        {
            let mut future = core::pin::pin!(saga(async {
                ok(&journal, "no_rt::a", 1).await?;
                ok(&journal, "no_rt::b", 2).await?;
                core::future::pending::<Result<(), String>>().await
            }));
            let mut cx = Context::from_waker(core::task::Waker::noop());
            assert!(future.as_mut().poll(&mut cx).is_pending());
        }
        assert!(journal.lines().is_empty());
        let why = format!("could not be undone: {NO_RUNTIME}");
        assert_eq!(
            saga_events(&mut sub, "no_rt::"),
            [format!("`no_rt::b` {why}"), format!("`no_rt::a` {why}")]
        );
    }

    #[tokio::test]
    async fn a_nested_saga_that_succeeds_hands_its_compensations_over() {
        let journal = Journal::default();
        let error = saga(async {
            ok(&journal, "nested_ok::a", 1).await?;
            let inner = saga(async {
                ok(&journal, "nested_ok::b", 2).await?;
                ok(&journal, "nested_ok::c", 3).await
            })
            .await
            .map_err(|e| e.to_string())?;
            assert!(journal.lines().is_empty(), "nothing undone yet");
            ok(&journal, "nested_ok::d", inner + 1).await?;
            fails(&journal, "nested_ok::e", "late failure").await
        })
        .await
        .unwrap_err();

        assert_eq!(
            error.completed(),
            [
                "nested_ok::a",
                "nested_ok::b",
                "nested_ok::c",
                "nested_ok::d"
            ]
        );
        assert_eq!(
            journal.lines(),
            [
                "undo nested_ok::d 4",
                "undo nested_ok::c 3",
                "undo nested_ok::b 2",
                "undo nested_ok::a 1"
            ]
        );
        assert_eq!(error.failed_step(), Some("nested_ok::e"));
    }

    #[tokio::test]
    async fn a_nested_saga_that_fails_undoes_only_its_own_steps() {
        let journal = Journal::default();
        let outer = saga(async {
            ok(&journal, "nested_err::a", 1).await?;
            let inner = saga(async {
                ok(&journal, "nested_err::b", 2).await?;
                fails(&journal, "nested_err::c", "refused").await
            })
            .await
            .unwrap_err();
            assert_eq!(inner.completed(), ["nested_err::b"]);
            assert_eq!(journal.lines(), ["undo nested_err::b 2"]);
            // The outer saga recovers: its own step stays done.
            Ok::<_, String>(inner.to_string())
        })
        .await;
        assert_eq!(
            outer.unwrap(),
            "step `nested_err::c` failed: refused; undone: `nested_err::b` (ok)"
        );
        assert_eq!(journal.lines(), ["undo nested_err::b 2"]);

        // When the outer saga propagates the failure, it undoes its own step
        // and knows which step failed.
        let journal = Journal::default();
        let outer = saga(async {
            ok(&journal, "nested_err2::a", 1).await?;
            saga(async { fails(&journal, "nested_err2::b", "refused").await })
                .await
                .map_err(|e| e.into_failure().to_string())
        })
        .await
        .unwrap_err();
        assert_eq!(journal.lines(), ["undo nested_err2::a 1"]);
        assert_eq!(
            outer.to_string(),
            "step `nested_err2::b` failed: refused; undone: `nested_err2::a` (ok)"
        );
    }

    #[tokio::test]
    async fn a_spawned_task_is_in_the_saga_only_through_scope() {
        let journal = Journal::default();
        let error = saga(async {
            let plain = {
                let journal = journal.clone();
                tokio::spawn(async move {
                    let registered = in_saga();
                    ok(&journal, "spawn::plain", 1).await.map(|_| registered)
                })
            };
            assert_eq!(plain.await.unwrap(), Ok(false));

            let handle = current().expect("inside a saga");
            let scoped = {
                let journal = journal.clone();
                tokio::spawn(handle.scope(async move {
                    let registered = in_saga();
                    ok(&journal, "spawn::scoped", 2).await.map(|_| registered)
                }))
            };
            assert_eq!(scoped.await.unwrap(), Ok(true));
            Err::<(), _>("stop")
        })
        .await
        .unwrap_err();

        assert_eq!(error.completed(), ["spawn::scoped"]);
        assert_eq!(journal.lines(), ["undo spawn::scoped 2"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_step_that_completes_after_its_saga_failed_is_undone_at_once() {
        let journal = Journal::default();
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let late = Arc::new(Mutex::new(None));
        let error = saga(async {
            let handle = current().unwrap();
            let journal = journal.clone();
            *late.lock().unwrap() = Some(tokio::spawn(handle.scope(async move {
                wait.await.unwrap();
                ok(&journal, "late::a", 1).await
            })));
            Err::<(), _>("early failure")
        })
        .await
        .unwrap_err();
        assert!(error.completed().is_empty());

        go.send(()).unwrap();
        let task = late.lock().unwrap().take().unwrap();
        assert_eq!(task.await.unwrap(), Ok(1));
        sleep(Duration::from_millis(1)).await;
        assert_eq!(journal.lines(), ["undo late::a 1"]);
    }

    #[tokio::test]
    async fn outside_a_saga_nothing_is_registered() {
        assert!(!in_saga());
        assert!(current().is_none());
        let journal = Journal::default();
        let dropped = Arc::new(());
        let witness = Arc::clone(&dropped);
        register_compensation("outside::a", move || async move {
            drop(witness);
            unreachable!("never called outside a saga")
        });
        // The compensation was dropped at once, not kept anywhere.
        assert_eq!(Arc::strong_count(&dropped), 1);
        step_failed("outside::b");
        assert_eq!(ok(&journal, "outside::c", 1).await, Ok(1));
        assert!(journal.lines().is_empty());
    }

    #[tokio::test]
    async fn the_body_need_not_be_send_and_the_saga_is_send_when_it_is() {
        fn assert_send<T: Send>(_: &T) {}
        let send = saga(async { Ok::<_, String>(1) });
        assert_send(&send);
        assert_eq!(send.await.unwrap(), 1);

        let not_send = Rc::new(5);
        let result = saga(async {
            let value = Rc::clone(&not_send);
            tokio::task::yield_now().await;
            Ok::<_, String>(*value)
        })
        .await;
        assert_eq!(result.unwrap(), 5);
    }

    #[test]
    fn display_says_what_failed_and_what_was_undone() {
        let report = |step, outcome: Result<(), &str>| CompensationReport {
            step,
            outcome: outcome.map_err(str::to_owned),
        };
        let error = SagaError {
            failure: Failure::Error("disk full"),
            failed_step: Some("configure"),
            completed: vec!["reserve", "create"],
            compensations: vec![report("create", Ok(())), report("reserve", Err("503"))],
        };
        assert_eq!(
            error.to_string(),
            "step `configure` failed: disk full; undone: `create` (ok), `reserve` (failed: 503)"
        );
        let cases = [
            (
                Some("pay"),
                Failure::Panic("overflow".to_owned()),
                "step `pay` panicked: overflow; nothing to undo",
            ),
            (
                None,
                Failure::Error("refused"),
                "saga failed: refused; nothing to undo",
            ),
            (
                None,
                Failure::Panic("oops".to_owned()),
                "saga panicked: oops; nothing to undo",
            ),
        ];
        for (failed_step, failure, want) in cases {
            let error = SagaError {
                failure,
                failed_step,
                completed: Vec::new(),
                compensations: Vec::new(),
            };
            assert_eq!(error.to_string(), want);
            assert!(error.is_fully_compensated());
        }
    }

    #[tokio::test]
    async fn source_is_the_bodys_error() {
        use std::error::Error as _;
        let error = saga(async { Err::<(), _>(std::io::Error::other("disk full")) })
            .await
            .unwrap_err();
        assert_eq!(error.source().unwrap().to_string(), "disk full");
        assert_eq!(error.error().unwrap().kind(), std::io::ErrorKind::Other);
        assert!(format!("{error:?}").starts_with("SagaError { failure: Error("));

        let panicked = saga(async {
            panic!("boom");
            #[allow(unreachable_code)]
            Err::<(), std::io::Error>(std::io::Error::other("never"))
        })
        .await
        .unwrap_err();
        assert!(panicked.source().is_none());
        assert!(panicked.error().is_none());
    }

    #[test]
    fn clone_output_clones() {
        let rid = String::from("rid-7");
        assert_eq!(clone_output(&rid), rid);
    }

    #[tokio::test]
    async fn handle_debug_lists_the_steps() {
        saga(async {
            register_compensation("debug::a", || async { Ok(()) });
            let shown = format!("{:?}", current().unwrap());
            assert_eq!(
                shown,
                "SagaHandle { state: Open, steps: [\"debug::a\"], .. }"
            );
            Ok::<_, ()>(())
        })
        .await
        .unwrap();
    }
}
