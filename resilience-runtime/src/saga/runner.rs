//! Running compensations: in order after a failure, or on a task of their
//! own when the saga future is dropped.

use core::future::Future;
use core::pin::Pin;

use super::registry::SagaHandle;
use crate::events::{
    AgentName, Event, EventKind, current_agent, current_scopes, emit, with_agent, within_scopes,
};
use crate::support::error_ref::ErrorRef;
use crate::support::panic::CatchPanic;

/// What a step's compensation returns, boxed so that it can be spawned.
pub(super) type UndoFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Why a step could not be undone when a saga is dropped outside a runtime.
pub(super) const NO_RUNTIME: &str =
    "the saga was dropped outside a tokio runtime, so its compensation could not run";

/// Owns what is left to undo while a saga runs; if the saga future is
/// dropped early, its `Drop` hands that to a task of its own.
pub(super) struct Unwinder {
    pub(super) handle: SagaHandle,
    /// The compensation being awaited, if any.
    pub(super) in_flight: Option<(&'static str, UndoFuture)>,
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
pub(super) fn compensate_in_background(pending: Vec<(&'static str, UndoFuture)>) {
    compensate_in_background_for(
        pending
            .into_iter()
            .map(|(step, undo)| (step, step, undo))
            .collect(),
        None,
    );
}

/// [`compensate_in_background`] with an operation per compensation (a
/// workflow's events name its steps `Workflow::step`): `(operation, step,
/// undo)`; `workflow` names the workflow whose undo this is, whose name
/// (or that of the agent whose call it was) the events then carry.
pub(super) fn compensate_in_background_for(
    pending: Vec<(&'static str, &'static str, UndoFuture)>,
    workflow: Option<&'static str>,
) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            // The events of the compensations belong to the saga's scopes,
            // so whoever watched the saga sees them.
            let scopes = current_scopes();
            let agent =
                workflow.map(|name| current_agent().unwrap_or_else(|| AgentName::new(name)));
            let undo = async move {
                for (operation, step, undo) in pending {
                    let outcome = undo.await;
                    // A saga's compensation reports its own outcome (as the
                    // agent that registered it); a workflow's is reported here.
                    if workflow.is_some() {
                        report_for(operation, step, &outcome);
                    }
                }
            };
            // Detached on purpose: nobody is left to wait for it.
            drop(match agent {
                Some(agent) => runtime.spawn(within_scopes(scopes, with_agent(agent, undo))),
                None => runtime.spawn(within_scopes(scopes, undo)),
            });
        }
        Err(_) => {
            for (operation, step, _) in pending {
                let kind = EventKind::CompensationFailed {
                    step,
                    error: ErrorRef::Display(&NO_RUNTIME),
                };
                emit(&Event::new(operation, kind));
            }
        }
    }
}

/// Emits the event for one compensation's outcome.
pub(super) fn report(step: &'static str, outcome: &Result<(), String>) {
    report_for(step, step, outcome);
}

/// Emits the event for one compensation's outcome, for `operation` (a
/// workflow names its steps `Workflow::step`, like their retry events).
pub(super) fn report_for(
    operation: &'static str,
    step: &'static str,
    outcome: &Result<(), String>,
) {
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
pub(super) struct Compensation {
    pub(super) step: &'static str,
    /// The agent whose call registered it (`#[agent]`): the compensation
    /// runs as that agent, so its events carry the name.
    pub(super) agent: Option<AgentName>,
    pub(super) undo: Box<dyn FnOnce() -> UndoFuture + Send>,
}

impl Compensation {
    /// The compensation as a future, with a panic (in the call or in the
    /// future) turned into a failure, that reports its outcome (the event)
    /// when it ends, as the agent that registered it. Runs nothing until
    /// polled.
    pub(super) fn start(self) -> (&'static str, UndoFuture) {
        let Self { step, agent, undo } = self;
        let future = CatchPanic::new(async move { undo().await });
        let undo = async move {
            let outcome = match future.await {
                Ok(outcome) => outcome,
                Err(message) => Err(format!("panicked: {message}")),
            };
            report(step, &outcome);
            outcome
        };
        let undo: UndoFuture = match agent {
            Some(agent) => Box::pin(with_agent(agent, undo)),
            None => Box::pin(undo),
        };
        (step, undo)
    }
}
