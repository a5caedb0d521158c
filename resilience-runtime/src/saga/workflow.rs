//! What `workflow!` expansions call: the same reports, failures and events
//! as [`saga()`](super::saga), for a state machine that undoes its own steps.

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
    SagaError::new(
        failure,
        Some(failed_step),
        completed.to_vec(),
        compensations,
    )
}
