//! What `workflow!` expansions call: the same reports, failures and events
//! as [`saga()`](super::saga), for a state machine that undoes its own steps;
//! and the [`Hooks`] through which a durable run (in `durable/`) saves its
//! state, which an in-memory run compiles away.

use core::future::Future;

use super::report::{CompensationReport, Failure, SagaError};
use super::runner::report_for;
use crate::events::{Event, EventKind, emit};
use crate::support::error_ref::ErrorRef;
use crate::support::panic::CatchPanic;

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
