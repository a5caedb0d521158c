//! What `workflow!` expansions call: the same reports, failures and events
//! as [`saga()`](super::saga), for a state machine that undoes its own steps;
//! and the [`Hooks`] through which a durable run (in `durable/`) saves its
//! state, which an in-memory run compiles away.

use core::cell::Cell;
use core::future::Future;
use core::panic::AssertUnwindSafe;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::Mutex;

use pin_project_lite::pin_project;

use super::report::{CompensationReport, Failure, SagaError};
use super::runner::{UndoFuture, compensate_in_background_for, report_for};
use crate::events::{Event, EventKind, emit};
use crate::support::error_ref::ErrorRef;
use crate::support::panic::{CatchPanic, panic_message};

/// Runs one step, turning a panic into `Err` with its message.
pub fn catch_panic<F: Future>(steps: F) -> CatchPanic<F> {
    CatchPanic::new(steps)
}

/// Emits the event of a failed workflow step, before its undo.
pub fn step_failed_event(workflow: &'static str, step: &'static str, error: ErrorRef<'_>) {
    emit(&Event::new(workflow, EventKind::StepFailed { step, error }));
}

/// Records (and emits the event of) one compensation's outcome;
/// `operation` is `Workflow::step`, as in the step's other events.
pub fn record_compensation(
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
    SagaError::new(
        failure,
        Some(failed_step),
        completed.to_vec(),
        compensations,
    )
}

/// What the generated `drive` loop calls around its steps. In memory it is
/// [`InMemory`], whose `DURABLE` is `false`: the calls are compiled away.
#[doc(hidden)]
pub trait Hooks<S> {
    /// Whether the hooks do anything.
    const DURABLE: bool;
    /// Why a hook failed.
    type Error;
    /// A step completed: `state` holds every output so far.
    fn step_completed(
        &mut self,
        state: &S,
        position: usize,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Compensation starts, or one compensation finished: `state` is what
    /// is left to undo.
    fn compensating(
        &mut self,
        state: &S,
        position: usize,
        failed_step: &str,
        failure: &str,
        compensations: &[CompensationReport],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Compensation is over: the failure is final.
    fn failed(
        &mut self,
        state: &S,
        failed_step: &str,
        failure: &str,
        compensations: &[CompensationReport],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The hooks of an in-memory run: nothing.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct InMemory;

impl<S: Sync> Hooks<S> for InMemory {
    const DURABLE: bool = false;
    type Error = core::convert::Infallible;

    async fn step_completed(&mut self, _: &S, _: usize) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn compensating(
        &mut self,
        _: &S,
        _: usize,
        _: &str,
        _: &str,
        _: &[CompensationReport],
    ) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn failed(
        &mut self,
        _: &S,
        _: &str,
        _: &str,
        _: &[CompensationReport],
    ) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Why the generated steps loop stopped before the last step.
#[doc(hidden)]
#[derive(Debug)]
pub enum StepsError<E, H> {
    /// This step returned this error.
    Step(&'static str, E),
    /// A hook (a checkpoint write) failed: the run stopped there.
    Hook(H),
}

/// How the generated undo stopped.
#[doc(hidden)]
#[derive(Debug)]
pub enum UndoOutcome<E, H> {
    /// The workflow failed and was compensated.
    Failed(SagaError<E>),
    /// A hook (a checkpoint write) failed: the run stopped there.
    Hook(H),
}

/// The failure as text, for a checkpoint: `render` shows the error.
#[doc(hidden)]
pub fn failure_text<E>(failure: &Failure<E>, render: impl FnOnce(&E) -> String) -> String {
    match failure {
        Failure::Error(error) => render(error),
        Failure::Panic(message) => format!("panicked: {message}"),
        Failure::Recorded(message) => message.clone(),
    }
}

/// How the steps of a run ended without an output.
#[doc(hidden)]
#[derive(Debug)]
pub enum RunFailure<E, H> {
    /// This step failed (or panicked: `running` named it).
    Failed(&'static str, Failure<E>),
    /// A hook (a checkpoint write) failed.
    Hook(H),
}

/// Sorts out what `catch_panic(steps)` returned: the outputs, a failed
/// step, a panic in the step `running` names, or a hook's error.
#[doc(hidden)]
pub fn settle<T, E, H>(
    outcome: Result<Result<T, StepsError<E, H>>, String>,
    running: impl FnOnce() -> &'static str,
) -> Result<T, RunFailure<E, H>> {
    match outcome {
        Ok(Ok(outputs)) => Ok(outputs),
        Ok(Err(StepsError::Step(step, error))) => {
            Err(RunFailure::Failed(step, Failure::Error(error)))
        }
        Ok(Err(StepsError::Hook(error))) => Err(RunFailure::Hook(error)),
        Err(panic) => Err(RunFailure::Failed(running(), Failure::Panic(panic))),
    }
}

// ---------------------------------------------------------------------------
// The fresh in-memory run: the steps as a line of awaits
// ---------------------------------------------------------------------------

std::thread_local! {
    /// Where the last panic that unwound through a fresh run's steps was:
    /// set by [`Progress`]'s `Drop` while unwinding, read at once by the
    /// run's catch on the same thread.
    static PANICKED_AT: Cell<usize> = const { Cell::new(0) };
}

/// How many steps of a fresh in-memory run have completed. The generated
/// steps write `.0` after each step; if a panic unwinds through them, the
/// `Drop` records the count for [`panicked_at`], which names the step that
/// panicked. Nothing else is kept: a store of a `u16` per step (a workflow
/// has at most 65,535 steps), which shares a word with the future's state.
#[doc(hidden)]
#[derive(Debug)]
pub struct Progress(pub u16);

impl Progress {
    /// The steps are over: nothing is left to name (no check on drop).
    #[inline(always)]
    pub fn done(self) {
        core::mem::forget(self);
    }
}

impl Drop for Progress {
    #[inline]
    fn drop(&mut self) {
        // Also dropped when the run ends or its future is: only a panic
        // counts.
        if std::thread::panicking() {
            mark_panic(usize::from(self.0));
        }
    }
}

#[cold]
fn mark_panic(position: usize) {
    let _gone = PANICKED_AT.try_with(|at| at.set(position));
}

/// The number of steps that had completed when the steps panicked (see
/// [`Progress`]).
#[doc(hidden)]
#[cold]
pub fn panicked_at() -> usize {
    PANICKED_AT.try_with(|at| at.replace(0)).unwrap_or(0)
}

pin_project! {
    /// A fresh in-memory run of a workflow with nothing to undo: polls the
    /// steps (an `async` block of awaits) inside one `catch_unwind`, and on
    /// a failure or a panic calls `stop` (out of line) for the error. It
    /// adds nothing to the steps' future but their own size.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Straight<F, S> {
        #[pin]
        steps: F,
        stop: S,
    }
}

impl<F, S> Straight<F, S> {
    /// The run of `steps`; `stop(position, failure)` makes the error of a
    /// step that failed after `position` steps had completed.
    pub const fn new(steps: F, stop: S) -> Self {
        Self { steps, stop }
    }
}

impl<F, S, T, E> Future for Straight<F, S>
where
    F: Future<Output = Result<T, (usize, E)>>,
    S: Fn(usize, Failure<E>) -> SagaError<E>,
{
    type Output = Result<T, SagaError<E>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let steps = this.steps;
        // A future that panicked is never polled again, so no broken
        // invariant can be observed.
        match std::panic::catch_unwind(AssertUnwindSafe(|| steps.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(output))) => Poll::Ready(Ok(output)),
            Ok(Poll::Ready(Err((position, error)))) => {
                Poll::Ready(Err((this.stop)(position, Failure::Error(error))))
            }
            Err(payload) => Poll::Ready(Err(panicked(this.stop, &*payload))),
        }
    }
}

#[cold]
fn panicked<E>(
    stop: &impl Fn(usize, Failure<E>) -> SagaError<E>,
    payload: &(dyn core::any::Any + Send),
) -> SagaError<E> {
    stop(panicked_at(), Failure::Panic(panic_message(payload)))
}

/// Sorts out what the caught steps of a fresh run returned: the output, or
/// after how many completed steps they failed or panicked, and how.
#[doc(hidden)]
#[inline]
pub fn stopped<T, E>(
    outcome: Result<Result<T, (usize, E)>, String>,
) -> Result<T, (usize, Failure<E>)> {
    match outcome {
        Ok(Ok(output)) => Ok(output),
        Ok(Err((position, error))) => Err((position, Failure::Error(error))),
        Err(message) => Err((panicked_at(), Failure::Panic(message))),
    }
}

pin_project! {
    /// `run()`'s future: a fresh run, or a resumed one (boxed, so that the
    /// state machine does not weigh on a fresh run).
    #[doc(hidden)]
    #[project = RunProj]
    #[must_use = "futures do nothing unless polled"]
    pub enum Run<A, B> {
        /// A run from the first step.
        Fresh { #[pin] run: A },
        /// A run from a saved state.
        Resumed { run: Pin<Box<B>> },
    }
}

impl<A, B> Run<A, B> {
    /// A run from the first step.
    pub const fn fresh(run: A) -> Self {
        Self::Fresh { run }
    }

    /// A run from a saved state.
    pub fn resumed(run: B) -> Self {
        Self::Resumed { run: Box::pin(run) }
    }
}

impl<A: Future, B: Future<Output = A::Output>> Future for Run<A, B> {
    type Output = A::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RunProj::Fresh { run } => run.poll(cx),
            RunProj::Resumed { run } => poll_resumed(run.as_mut(), cx),
        }
    }
}

/// The resumed run, out of line: its state machine does not weigh on the
/// code (registers, stack frame) of a fresh run's poll.
#[inline(never)]
fn poll_resumed<B: Future>(run: Pin<&mut B>, cx: &mut Context<'_>) -> Poll<B::Output> {
    run.poll(cx)
}

// ---------------------------------------------------------------------------
// Compensations of a fresh in-memory run
// ---------------------------------------------------------------------------

/// A compensation that has not started: `(operation, step, undo)`.
type PendingUndo = (
    &'static str,
    &'static str,
    Box<dyn FnOnce() -> UndoFuture + Send>,
);

/// The compensations of a fresh in-memory run that are due: each completed
/// `#[compensate]` step's [`Undo`] hands its compensation over when it is
/// dropped armed (the steps failed, panicked or were dropped), last step
/// first. If the ledger itself is dropped with compensations in it (the
/// run's future was dropped), they run on a task of their own, as
/// [`saga()`](super::saga) does.
#[doc(hidden)]
pub struct Ledger {
    /// The workflow's name, which the events of a background undo carry.
    workflow: &'static str,
    due: Mutex<Vec<PendingUndo>>,
}

impl core::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ledger").finish_non_exhaustive()
    }
}

impl Ledger {
    /// An empty ledger for the workflow `workflow`.
    pub const fn new(workflow: &'static str) -> Self {
        Self {
            workflow,
            due: Mutex::new(Vec::new()),
        }
    }

    fn push(&self, undo: PendingUndo) {
        self.due
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(undo);
    }

    fn take(&mut self) -> Vec<PendingUndo> {
        core::mem::take(
            self.due
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Runs the due compensations in order (last step first), each with a
    /// panic counted as a failure, emitting their events. If this future is
    /// dropped, what is left runs on a task of its own.
    pub async fn undo(mut self) -> Vec<CompensationReport> {
        let due = self.take();
        let mut reports = Vec::with_capacity(due.len());
        let mut left = Unwinding {
            workflow: self.workflow,
            in_flight: None,
            rest: due.into_iter(),
        };
        for (operation, step, undo) in left.rest.by_ref() {
            let (_, _, running) = left.in_flight.insert((operation, step, start(undo)));
            let outcome = running.await;
            left.in_flight = None;
            report_for(operation, step, &outcome);
            reports.push(CompensationReport { step, outcome });
        }
        reports
    }
}

impl Drop for Ledger {
    #[inline]
    fn drop(&mut self) {
        // Nothing due (the run succeeded, or its undo ran): one check.
        if let Ok(due) = self.due.get_mut()
            && due.is_empty()
        {
            return;
        }
        self.abandon();
    }
}

impl Ledger {
    /// The run's future was dropped with compensations due.
    #[cold]
    fn abandon(&mut self) {
        let due = self.take();
        compensate_in_background_for(
            due.into_iter()
                .map(|(operation, step, undo)| (operation, step, start(undo)))
                .collect(),
            Some(self.workflow),
        );
    }
}

/// The compensation as a future, with a panic (in the call or in the
/// future) turned into a failure. Runs nothing until polled.
fn start(undo: Box<dyn FnOnce() -> UndoFuture + Send>) -> UndoFuture {
    let future = CatchPanic::new(async move { undo().await });
    Box::pin(async move {
        match future.await {
            Ok(outcome) => outcome,
            Err(message) => Err(format!("panicked: {message}")),
        }
    })
}

/// What is left of [`Ledger::undo`]; dropped early, it runs the rest on a
/// task of its own.
struct Unwinding {
    workflow: &'static str,
    in_flight: Option<(&'static str, &'static str, UndoFuture)>,
    rest: std::vec::IntoIter<PendingUndo>,
}

impl Drop for Unwinding {
    fn drop(&mut self) {
        let mut pending: Vec<_> = self.in_flight.take().into_iter().collect();
        pending.extend(
            self.rest
                .by_ref()
                .map(|(operation, step, undo)| (operation, step, start(undo))),
        );
        if !pending.is_empty() {
            compensate_in_background_for(pending, Some(self.workflow));
        }
    }
}

/// What an in-memory workflow's `#[compensate(with = ..)]` must be: called
/// with the step's output, it returns the compensation's future; both are
/// `Send + 'static`, because a run whose future is dropped runs the
/// compensations on a task of their own.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a workflow's compensation must be `Send + 'static`: `{Self}` is not",
    label = "this compensation",
    note = "if the run is dropped (a timeout, a `select!`), the compensation runs on a task of its own, so it may not borrow the inputs: capture clones, e.g. `with = {{ let api = api.clone(); move |id| async move {{ api.delete(id).await }} }}`; a `durable workflow` (which resumes instead) may borrow them"
)]
pub trait Compensation<T>: Send + 'static {
    /// The compensation's future.
    type Future: Future<Output = Result<(), String>> + Send + 'static;
    /// Starts undoing `output`.
    fn call(self, output: T) -> Self::Future;
}

impl<T, F, Fut> Compensation<T> for F
where
    F: FnOnce(T) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    type Future = Fut;
    fn call(self, output: T) -> Fut {
        self(output)
    }
}

/// The output of a completed `#[compensate]` step of a fresh in-memory
/// run, with its compensation, armed: dropped armed, it hands the
/// compensation to the [`Ledger`]. The steps after it read the output with
/// [`Undo::output`]; [`Undo::disarm`] gives it back when all have
/// succeeded.
#[doc(hidden)]
pub struct Undo<'l, T: Send + 'static, C: Compensation<T>> {
    ledger: &'l Ledger,
    /// `(operation, step)`.
    names: &'static (&'static str, &'static str),
    armed: Option<(T, C)>,
}

impl<T: Send + 'static, C: Compensation<T>> core::fmt::Debug for Undo<'_, T, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Undo")
            .field("step", &self.names.1)
            .finish_non_exhaustive()
    }
}

impl<'l, T: Send + 'static, C: Compensation<T>> Undo<'l, T, C> {
    /// `output` of step `names.1`, to be undone by `compensation`.
    #[inline]
    pub fn new(
        ledger: &'l Ledger,
        names: &'static (&'static str, &'static str),
        output: T,
        compensation: C,
    ) -> Self {
        Self {
            ledger,
            names,
            armed: Some((output, compensation)),
        }
    }

    /// The output, for the steps after it.
    #[inline]
    pub fn output(&self) -> &T {
        match &self.armed {
            Some((output, _)) => output,
            None => unreachable!("an `Undo` is armed until it is disarmed by value"),
        }
    }

    /// The output, when nothing is left to undo.
    #[inline]
    pub fn disarm(mut self) -> T {
        match self.armed.take() {
            Some((output, _)) => output,
            None => unreachable!("an `Undo` is armed until it is disarmed by value"),
        }
    }
}

impl<T: Send + 'static, C: Compensation<T>> Drop for Undo<'_, T, C> {
    #[inline]
    fn drop(&mut self) {
        if let Some(armed) = self.armed.take() {
            hand_over(self.ledger, self.names, armed);
        }
    }
}

#[cold]
fn hand_over<T: Send + 'static, C: Compensation<T>>(
    ledger: &Ledger,
    &(operation, step): &'static (&'static str, &'static str),
    (output, compensation): (T, C),
) {
    let undo = move || -> UndoFuture { Box::pin(compensation.call(output)) };
    ledger.push((operation, step, Box::new(undo)));
}
