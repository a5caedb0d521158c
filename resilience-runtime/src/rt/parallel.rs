//! What the parallel steps of `workflow!` call: a fan-out step
//! (`step s: Branches<T, E> = for item in items, .. => call(item).await;`)
//! runs [`fan_out`] over the coordination runtime's branch engine, and a
//! consensus step (`step v: T = consensus agent in agents, .. => ..;`) runs
//! [`consensus_step`] over [`Consensus`]. Each step is one self-contained
//! `async` block in the generated state machine; a failure reaches the
//! workflow's error through [`FromParallelError`].

use core::fmt;
use core::future::Future;
use core::hash::Hash;

pub use crate::coordination::{Branches, Consensus, Named};
use crate::coordination::{ByAnswer, ConsensusError, VoteKey};
use crate::saga::CompensationReport;
pub use crate::saga::ParallelError;

/// The outputs of a completed fan-out step, latest completed first: what
/// its compensation undoes, in that order.
pub fn undo_order<T, E>(branches: Branches<T, E>) -> Vec<(usize, T)> {
    branches.into_undo_order()
}

/// The items of a fan-out step's collection, in order.
#[diagnostic::on_unimplemented(
    message = "a parallel step runs one branch per item of a collection, but `{Self}` is not one",
    label = "not a collection",
    note = "give `for item in ..` something to iterate: a `Vec`, a slice, an array, a range, or an iterator"
)]
pub trait Collection {
    /// One item.
    type Item;
    /// The items, in order.
    fn into_items(self) -> Vec<Self::Item>;
}

impl<C: IntoIterator> Collection for C {
    type Item = C::Item;

    fn into_items(self) -> Vec<C::Item> {
        self.into_iter().collect()
    }
}

/// The items of `collection`, in order.
pub fn branch_items<C: Collection>(collection: C) -> Vec<C::Item> {
    collection.into_items()
}

/// Runs `branch(item)` for every item, up to `concurrency` at a time,
/// recording the order they complete in; stops starting branches once
/// `min_success` is out of reach. `Err` (with what ran) below the minimum.
pub async fn fan_out<I, T, E, F, Fut>(
    operation: &'static str,
    step: &'static str,
    concurrency: usize,
    min_success: f64,
    items: Vec<I>,
    branch: F,
) -> Result<Branches<T, E>, Branches<T, E>>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: fmt::Display,
{
    crate::coordination::branches::run(operation, step, concurrency, min_success, items, branch)
        .await
}

/// The error of a fan-out step below its minimum, and the outputs of its
/// successful branches, latest completed first, to undo.
pub fn below_minimum<T, E: fmt::Display>(
    workflow: &'static str,
    step: &'static str,
    min_success: f64,
    branches: Branches<T, E>,
) -> (ParallelError, Vec<(usize, T)>) {
    let error = ParallelError::BelowMinimum {
        workflow,
        step,
        succeeded: branches.len(),
        items: branches.items(),
        min_success,
        failures: branches
            .failures()
            .iter()
            .map(ToString::to_string)
            .collect(),
        compensations: Vec::new(),
    };
    (error, branches.into_undo_order())
}

/// Records the compensation of one branch in the error of its step.
pub fn add_compensation(error: &mut ParallelError, report: CompensationReport) {
    if let ParallelError::BelowMinimum { compensations, .. } = error {
        compensations.push(report);
    }
}

/// The list of agents of a consensus step: anything that is a slice of
/// [`Named`] agents.
#[diagnostic::on_unimplemented(
    message = "a consensus step asks agents named for its report, but `{Self}` is not a list of `Named` agents",
    label = "not a list of `Named<A>`",
    note = "wrap each agent with its name, `Named::new(\"critic\", agent)` (`resilience::coordination::Named`), in a `Vec`, an array or a slice"
)]
pub trait AgentList<A> {
    /// The agents.
    fn agents(&self) -> &[Named<A>];
}

impl<A, C: AsRef<[Named<A>]> + ?Sized> AgentList<A> for C {
    fn agents(&self) -> &[Named<A>] {
        self.as_ref()
    }
}

/// The agents of a consensus step.
pub fn agents<A, C: AgentList<A> + ?Sized>(list: &C) -> &[Named<A>] {
    list.agents()
}

/// Runs a consensus step: `call(agent)` for every agent at once, each under
/// the time limit, and the answer of the majority (grouped by the answer).
pub async fn consensus_step<'a, A, O, E, F, Fut>(
    workflow: &'static str,
    step: &'static str,
    consensus: Consensus,
    agents: &'a [Named<A>],
    call: F,
) -> Result<O, ParallelError>
where
    F: Fn(&'a A) -> Fut,
    Fut: Future<Output = Result<O, E>>,
    O: Eq + Hash,
    E: fmt::Display,
{
    consensus_step_by(workflow, step, consensus, agents, call, ByAnswer).await
}

/// [`consensus_step`] with answers grouped by `key` (`key = |answer| ..`).
pub async fn consensus_step_by<'a, A, O, E, F, Fut, K>(
    workflow: &'static str,
    step: &'static str,
    consensus: Consensus,
    agents: &'a [Named<A>],
    call: F,
    key: K,
) -> Result<O, ParallelError>
where
    F: Fn(&'a A) -> Fut,
    Fut: Future<Output = Result<O, E>>,
    K: VoteKey<O>,
    E: fmt::Display,
{
    let result = consensus
        .ask(&(), agents, |agent, _: &()| call(agent))
        .by_key_of(key)
        .decide()
        .await;
    result
        .map(crate::coordination::Decision::into_answer)
        .map_err(|error| no_decision(workflow, step, &error))
}

fn no_decision<O, E: fmt::Display>(
    workflow: &'static str,
    step: &'static str,
    error: &ConsensusError<O, E>,
) -> ParallelError {
    let failures = error
        .opinions()
        .unwrap_or_default()
        .iter()
        .filter_map(|opinion| {
            let failure = opinion.response.as_ref().err()?;
            Some(format!("`{}`: {failure}", opinion.agent))
        })
        .collect();
    ParallelError::NoDecision {
        workflow,
        step,
        reason: error.to_string(),
        failures,
    }
}

/// Error types of a workflow with a parallel step: every
/// `E: From<ParallelError>`. It exists to explain, when the conversion is
/// missing, how to add it.
#[diagnostic::on_unimplemented(
    message = "a parallel step needs the workflow's error type `{Self}` to implement `From<resilience::ParallelError>`",
    label = "a parallel step fails with `ParallelError`",
    note = "add a variant such as `#[error(transparent)] Parallel(#[from] resilience::ParallelError)`"
)]
pub trait FromParallelError {
    /// Converts the step's error.
    fn from_parallel(error: ParallelError) -> Self;
}

impl<E: From<ParallelError>> FromParallelError for E {
    fn from_parallel(error: ParallelError) -> Self {
        E::from(error)
    }
}

/// Converts a parallel step's error into the workflow's error type.
pub fn parallel_error<E: FromParallelError>(error: ParallelError) -> E {
    E::from_parallel(error)
}

/// What a durable run adds to its hooks for a fan-out step: the branches
/// that finished before a crash (which do not run again), and a checkpoint
/// after each branch that finishes. An in-memory run ([`InMemory`]) has
/// none and saves nothing.
#[cfg(feature = "durable")]
pub trait BranchHooks<S>: crate::saga::workflow::Hooks<S> {
    /// The finished branches of `step` (with `items` items) that the run
    /// resumed from, decoded, in the order they completed.
    fn finished_branches<T: serde::de::DeserializeOwned>(
        &mut self,
        step: &'static str,
        items: usize,
    ) -> Result<Vec<(usize, T)>, Self::Error>;

    /// Branch `index` of `step` finished with `output`: saved before the
    /// step goes on.
    fn branch_done<T: serde::Serialize>(
        &mut self,
        step: &'static str,
        index: usize,
        output: &T,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The step failed and undoes its branches: forget them, so that a run
    /// resumed from here runs the step whole.
    fn branches_abandoned(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

#[cfg(feature = "durable")]
impl<S: Sync> BranchHooks<S> for crate::saga::workflow::InMemory {
    fn finished_branches<T>(
        &mut self,
        _: &'static str,
        _: usize,
    ) -> Result<Vec<(usize, T)>, Self::Error> {
        Ok(Vec::new())
    }

    fn branch_done<T>(
        &mut self,
        _: &'static str,
        _: usize,
        _: &T,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        core::future::ready(Ok(()))
    }

    async fn branches_abandoned(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[cfg(feature = "durable")]
impl<St, S> BranchHooks<S> for crate::durable::Durable<'_, St, S>
where
    St: crate::checkpoint::CheckpointStore,
    S: serde::Serialize + serde::de::DeserializeOwned + Sync,
{
    fn finished_branches<T: serde::de::DeserializeOwned>(
        &mut self,
        step: &'static str,
        items: usize,
    ) -> Result<Vec<(usize, T)>, Self::Error> {
        crate::durable::Durable::finished_branches(self, step, items)
    }

    fn branch_done<T: serde::Serialize>(
        &mut self,
        step: &'static str,
        index: usize,
        output: &T,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let output = serde_json::to_vec(output).map_err(|error| error.to_string());
        crate::durable::Durable::branch_done(self, step, index, output)
    }

    fn branches_abandoned(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        crate::durable::Durable::branches_abandoned(self)
    }
}

/// Each finished branch, to the hooks.
#[cfg(feature = "durable")]
struct HookSink<'h, H, S> {
    hooks: &'h mut H,
    step: &'static str,
    state: core::marker::PhantomData<fn(S)>,
}

#[cfg(feature = "durable")]
impl<T: serde::Serialize, H: BranchHooks<S>, S> crate::coordination::branches::Sink<T>
    for HookSink<'_, H, S>
{
    type Error = H::Error;

    fn done(&mut self, index: usize, output: &T) -> impl Future<Output = Result<(), H::Error>> {
        self.hooks.branch_done(self.step, index, output)
    }
}

/// [`fan_out`] in a durable run: the branches that finished before the
/// run was resumed do not run again, and each branch that finishes is
/// checkpointed before the step goes on. `Err` when a checkpoint could not
/// be read or written: the step stops there.
#[cfg(feature = "durable")]
#[allow(clippy::too_many_arguments)]
pub async fn fan_out_durable<S, H, I, T, E, F, Fut>(
    hooks: &mut H,
    operation: &'static str,
    step: &'static str,
    concurrency: usize,
    min_success: f64,
    items: Vec<I>,
    branch: F,
) -> Result<Result<Branches<T, E>, Branches<T, E>>, H::Error>
where
    H: BranchHooks<S>,
    T: serde::Serialize + serde::de::DeserializeOwned,
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: fmt::Display,
{
    let done = hooks.finished_branches::<T>(step, items.len())?;
    let mut sink = HookSink {
        hooks,
        step,
        state: core::marker::PhantomData::<fn(S)>,
    };
    crate::coordination::branches::run_with(
        operation,
        step,
        (concurrency, min_success),
        items,
        done,
        branch,
        &mut sink,
    )
    .await
}

/// A durable fan-out step below its minimum, before it undoes its
/// branches: its checkpoint forgets them.
#[cfg(feature = "durable")]
pub async fn abandon_branches<S, H: BranchHooks<S>>(hooks: &mut H) -> Result<(), H::Error> {
    hooks.branches_abandoned().await
}
