//! What `workflow!` expansions call: the same reports, failures and events
//! as [`saga()`](super::saga), for a state machine that undoes its own steps;
//! and the [`Hooks`] through which a durable run (in `durable/`) saves its
//! state, which an in-memory run compiles away.

use core::cell::Cell;
use core::future::Future;
use core::panic::AssertUnwindSafe;
use core::pin::Pin;
use core::task::{Context, Poll};

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
//
// With nothing to undo, a fresh run is the steps' own `async` block (a
// failed step returns the workflow's error at once, made out of line), in a
// [`Run`] beside the boxed resumed run. With compensations, it is a [`Saga`]:
// the steps' block, caught; the [`Undo`] guards of its completed
// `#[compensate]` steps hand their compensations over (on [`DUE`]) when the
// steps fail, panic or are dropped, and the saga takes them into a
// [`Ledger`].

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
/// has at most 65,534 steps: `u16::MAX` is [`done`](Progress::done)).
#[doc(hidden)]
#[derive(Debug)]
pub struct Progress(pub u16);

impl Progress {
    /// What `.0` holds once the steps are over.
    const DONE: u16 = u16::MAX;

    /// The steps are over: nothing is left to name. (A store, and the
    /// check on drop that follows folds away. Not a move: a moved
    /// `Progress` would need a drop flag in the run's future.)
    #[inline(always)]
    pub fn done(&mut self) {
        self.0 = Self::DONE;
    }
}

impl Drop for Progress {
    #[inline]
    fn drop(&mut self) {
        // Also dropped when the run ends or its future is: only a panic
        // counts.
        if self.0 != Self::DONE && std::thread::panicking() {
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
#[cold]
fn panicked_at() -> usize {
    PANICKED_AT.try_with(|at| at.replace(0)).unwrap_or(0)
}

pin_project! {
    /// `run()`'s future for a workflow with nothing to undo: a fresh run
    /// (the steps' `async` block), or a resumed one (boxed, so that the
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

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RunProj::Fresh { run } => poll_fresh(run, cx),
            RunProj::Resumed { run } => poll_resumed(run.as_mut(), cx),
        }
    }
}

/// The fresh run. With `Run::poll` inlined into its caller, the choice of
/// the variant folds away there (the caller has just made a fresh run) and
/// the fresh run's poll is compiled as the hand-written `async fn`'s is.
#[inline]
fn poll_fresh<A: Future>(run: Pin<&mut A>, cx: &mut Context<'_>) -> Poll<A::Output> {
    run.poll(cx)
}

/// The resumed run, out of line: its state machine does not weigh on the
/// code (registers, stack frame) of a fresh run's poll.
#[inline(never)]
fn poll_resumed<B: Future>(run: Pin<&mut B>, cx: &mut Context<'_>) -> Poll<B::Output> {
    run.poll(cx)
}

pin_project! {
    /// Where a [`Saga`] is.
    #[project = PhaseProj]
    enum Phase<F, U, R> {
        /// The steps run (or have returned their output).
        Running { #[pin] steps: F },
        /// A step failed or panicked: the compensations that were due run.
        Undoing { undo: Pin<Box<U>> },
        /// A run from a saved state, through the state machine.
        Resumed { run: Pin<Box<R>> },
    }
}

pin_project! {
    /// `run()`'s future for a workflow with a `#[compensate]` step: a fresh
    /// run (the steps' `async` block, polled inside one `catch_unwind`), or
    /// a resumed one (boxed). The [`Undo`] of a completed `#[compensate]`
    /// step that is dropped armed (the steps failed, panicked or were
    /// dropped) hands its compensation over on the thread's stack of due
    /// compensations ([`DUE`]); the saga takes what its steps handed over
    /// (last step first) and either `stop(position, failure, ledger)`, out
    /// of line and boxed, undoes it and makes the error, or (the saga was
    /// dropped while its steps ran) the compensations run on a task of
    /// their own.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Saga<F, S, U, R> {
        #[pin]
        phase: Phase<F, U, R>,
        stop: S,
        // Dropped after `phase`.
        collect: Collect,
    }

    impl<F, S, U, R> PinnedDrop for Saga<F, S, U, R> {
        fn drop(this: Pin<&mut Self>) {
            // The steps' armed `Undo`s, dropped next with `phase`, hand
            // their compensations over above this height; `collect` takes
            // them (last step first) and runs them on a task of their own.
            this.project().collect.mark = due_mark();
        }
    }
}

/// Takes what the steps of a dropped [`Saga`] handed over (above `mark`)
/// and runs it on a task of its own.
#[derive(Debug)]
struct Collect {
    mark: usize,
}

impl Drop for Collect {
    #[inline]
    fn drop(&mut self) {
        if due_mark() != self.mark {
            self.abandon();
        }
    }
}

impl Collect {
    #[cold]
    fn abandon(&self) {
        drop(Ledger::with_due(take_due(self.mark)));
    }
}

impl<F, S, U, R> core::fmt::Debug for Saga<F, S, U, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Saga").finish_non_exhaustive()
    }
}

impl<F, S, U, R> Saga<F, S, U, R> {
    /// A run of `steps` from the first step; `stop(position, failure,
    /// ledger)` undoes what `ledger` holds after the steps failed or
    /// panicked with `position` steps completed.
    #[inline]
    pub const fn fresh(steps: F, stop: S) -> Self {
        Self {
            phase: Phase::Running { steps },
            stop,
            collect: Collect { mark: 0 },
        }
    }

    /// A run from a saved state: `run`, boxed (`stop` is not called: the
    /// state machine undoes its own steps).
    pub fn resumed(run: R, stop: S) -> Self {
        Self {
            phase: Phase::Resumed { run: Box::pin(run) },
            stop,
            collect: Collect { mark: 0 },
        }
    }
}

impl<F, S, U, R, T, E> Future for Saga<F, S, U, R>
where
    F: Future<Output = Result<T, (usize, E)>>,
    S: Fn(usize, Failure<E>, Ledger) -> U,
    U: Future<Output = SagaError<E>>,
    R: Future<Output = Result<T, SagaError<E>>>,
{
    type Output = Result<T, SagaError<E>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let (caught, mark) = match this.phase.as_mut().project() {
            PhaseProj::Running { steps } => {
                let mark = due_mark();
                // A future that panicked is never polled again, so no
                // broken invariant can be observed.
                let caught = std::panic::catch_unwind(AssertUnwindSafe(|| steps.poll(cx)));
                (caught, mark)
            }
            PhaseProj::Undoing { undo } => return undo.as_mut().poll(cx).map(Err),
            PhaseProj::Resumed { run } => return poll_resumed(run.as_mut(), cx),
        };
        match caught {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(output))) => Poll::Ready(Ok(output)),
            Ok(Poll::Ready(Err((position, error)))) => {
                let ledger = Ledger::with_due(take_due(mark));
                undo_steps(
                    this.phase,
                    this.stop,
                    position,
                    Failure::Error(error),
                    ledger,
                    cx,
                )
            }
            Err(payload) => {
                let ledger = Ledger::with_due(take_due(mark));
                let failure = Failure::Panic(panic_message(&*payload));
                undo_steps(this.phase, this.stop, panicked_at(), failure, ledger, cx)
            }
        }
    }
}

/// The steps failed or panicked after `position` completed, having handed
/// `ledger` their compensations: the undo starts.
#[cold]
#[inline(never)]
fn undo_steps<F, S, U, R, T, E>(
    mut phase: Pin<&mut Phase<F, U, R>>,
    stop: &S,
    position: usize,
    failure: Failure<E>,
    ledger: Ledger,
    cx: &mut Context<'_>,
) -> Poll<Result<T, SagaError<E>>>
where
    S: Fn(usize, Failure<E>, Ledger) -> U,
    U: Future<Output = SagaError<E>>,
{
    phase.set(Phase::Undoing {
        undo: Box::pin(stop(position, failure, ledger)),
    });
    match phase.project() {
        PhaseProj::Undoing { undo } => undo.as_mut().poll(cx).map(Err),
        _ => unreachable!("the phase was set just above"),
    }
}

std::thread_local! {
    /// The compensations handed over by [`Undo`]s dropped armed on this
    /// thread, which the [`Saga`] whose steps held them has not taken yet:
    /// a stack, since a saga can run (or be dropped) inside another's
    /// steps. A saga notes its height before it polls or drops its steps
    /// and takes what is above it after, so it is empty between polls.
    static DUE: core::cell::RefCell<Vec<PendingUndo>> = const { core::cell::RefCell::new(Vec::new()) };
    /// The height of [`DUE`], read before each poll of a saga's steps.
    static DUE_LEN: Cell<usize> = const { Cell::new(0) };
}

/// The height of [`DUE`] (before a saga polls or drops its steps).
#[inline(always)]
fn due_mark() -> usize {
    DUE_LEN.try_with(Cell::get).unwrap_or(0)
}

/// What was handed over since `mark`, in order (last step first).
#[cold]
fn take_due(mark: usize) -> Vec<PendingUndo> {
    DUE.try_with(|due| {
        // Never borrowed here already: `hand_over` runs no code of others
        // while it holds the stack.
        let Ok(mut due) = due.try_borrow_mut() else {
            return Vec::new();
        };
        let at = mark.min(due.len());
        let taken = due.split_off(at);
        DUE_LEN.set(due.len());
        taken
    })
    .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Compensations of a fresh in-memory run
// ---------------------------------------------------------------------------

/// Where a compensation comes from: `(workflow, operation, step)`, the
/// operation being `Workflow::step`, as in the step's other events.
type Names = (&'static str, &'static str, &'static str);

/// A compensation that has not started.
type PendingUndo = (&'static Names, Box<dyn FnOnce() -> UndoFuture + Send>);

/// The compensations of a fresh in-memory run that are due, last step
/// first: what the [`Undo`]s of its completed `#[compensate]` steps handed
/// over when they were dropped armed (the steps failed, panicked or were
/// dropped). If the ledger itself is dropped with compensations in it (the
/// run's future was dropped), they run on a task of their own, as
/// [`saga()`](super::saga) does.
#[doc(hidden)]
pub struct Ledger {
    /// Each with its workflow's name, which the events of a background
    /// undo carry (one workflow's: a saga takes its own steps' only).
    due: Vec<PendingUndo>,
}

impl core::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ledger")
            .field("due", &self.due.len())
            .finish()
    }
}

impl Ledger {
    /// The ledger holding `due`.
    const fn with_due(due: Vec<PendingUndo>) -> Self {
        Self { due }
    }

    /// The workflow whose compensations these are.
    fn workflow(due: &[PendingUndo]) -> Option<&'static str> {
        due.first().map(|(names, _)| names.0)
    }

    /// Runs the due compensations in order (last step first), each with a
    /// panic counted as a failure, emitting their events. If this future is
    /// dropped, what is left runs on a task of its own.
    pub async fn undo(mut self) -> Vec<CompensationReport> {
        let due = core::mem::take(&mut self.due);
        let mut reports = Vec::with_capacity(due.len());
        let mut left = Unwinding {
            workflow: Self::workflow(&due),
            in_flight: None,
            rest: due.into_iter(),
        };
        for (&(_, operation, step), undo) in left.rest.by_ref() {
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
        if !self.due.is_empty() {
            self.abandon();
        }
    }
}

impl Ledger {
    /// The run's future was dropped with compensations due.
    #[cold]
    fn abandon(&mut self) {
        let due = core::mem::take(&mut self.due);
        let workflow = Self::workflow(&due);
        compensate_in_background_for(
            due.into_iter()
                .map(|(&(_, operation, step), undo)| (operation, step, start(undo)))
                .collect(),
            workflow,
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
    workflow: Option<&'static str>,
    in_flight: Option<(&'static str, &'static str, UndoFuture)>,
    rest: std::vec::IntoIter<PendingUndo>,
}

impl Drop for Unwinding {
    fn drop(&mut self) {
        let mut pending: Vec<_> = self.in_flight.take().into_iter().collect();
        pending.extend(
            self.rest
                .by_ref()
                .map(|(&(_, operation, step), undo)| (operation, step, start(undo))),
        );
        if !pending.is_empty() {
            compensate_in_background_for(pending, self.workflow);
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
/// run, with its compensation, armed: dropped armed (the steps failed,
/// panicked or were dropped), it hands the compensation over to the
/// [`Saga`] that runs the steps. The steps after it read the output with
/// [`Undo::output`]; [`Undo::disarm`] gives it back when all have
/// succeeded.
#[doc(hidden)]
pub struct Undo<T: Send + 'static, C: Compensation<T>> {
    /// `(names, output, compensation)`, `names` being `(workflow,
    /// operation, step)`; taken by `disarm` (or by `drop`). The reference
    /// is the `Option`'s tag: arming stores nothing more than the fields.
    armed: Option<(&'static Names, T, C)>,
}

impl<T: Send + 'static, C: Compensation<T>> core::fmt::Debug for Undo<T, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Undo")
            .field("step", &self.armed.as_ref().map(|(names, ..)| names.2))
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static, C: Compensation<T>> Undo<T, C> {
    /// `output` of step `names.2` (`names` is `(workflow, operation,
    /// step)`), to be undone by `compensation`.
    #[inline(always)]
    pub const fn new(names: &'static Names, output: T, compensation: C) -> Self {
        Self {
            armed: Some((names, output, compensation)),
        }
    }

    /// The output, for the steps after it.
    #[inline(always)]
    pub fn output(&self) -> &T {
        match &self.armed {
            Some((_, output, _)) => output,
            None => unreachable!("an `Undo` is armed until it is disarmed"),
        }
    }

    /// The output, when nothing is left to undo (the compensation is
    /// dropped). The `Undo` stays where it is, disarmed (not moved: a
    /// moved one would need a drop flag in the run's future).
    #[inline(always)]
    pub fn disarm(&mut self) -> T {
        match self.armed.take() {
            Some((_, output, _)) => output,
            None => unreachable!("an `Undo` is disarmed once"),
        }
    }
}

impl<T: Send + 'static, C: Compensation<T>> Drop for Undo<T, C> {
    #[inline]
    fn drop(&mut self) {
        if let Some((names, output, compensation)) = self.armed.take() {
            hand_over(names, output, compensation);
        }
    }
}

#[cold]
fn hand_over<T: Send + 'static, C: Compensation<T>>(
    names: &'static Names,
    output: T,
    compensation: C,
) {
    let undo: Box<dyn FnOnce() -> UndoFuture + Send> =
        Box::new(move || -> UndoFuture { Box::pin(compensation.call(output)) });
    let mut undo = Some(undo);
    let _ = DUE.try_with(|due| {
        if let Ok(mut due) = due.try_borrow_mut()
            && let Some(undo) = undo.take()
        {
            due.push((names, undo));
            DUE_LEN.set(due.len());
        }
    });
    if let Some(undo) = undo {
        // The thread is exiting (no stack to hand it to): the compensation
        // still runs, on a task of its own.
        let &(workflow, operation, step) = names;
        compensate_in_background_for(vec![(operation, step, start(undo))], Some(workflow));
    }
}
