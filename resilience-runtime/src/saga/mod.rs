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
//! - Every compensation emits [`EventKind::Compensated`](crate::EventKind::Compensated) or
//!   [`EventKind::CompensationFailed`](crate::EventKind::CompensationFailed) with the step's name as the
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
//! it emits an [`EventKind::CompensationFailed`](crate::EventKind::CompensationFailed) event (level ERROR) for
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

mod parallel;
mod registry;
mod report;
mod runner;
mod scope;
#[doc(hidden)]
pub mod workflow;

#[cfg(test)]
mod tests;

pub use parallel::ParallelError;
pub use registry::SagaHandle;
pub use report::{CompensationReport, Failure, SagaError};
pub use scope::{
    CloneOutput, clone_output, current, in_saga, register_compensation, saga, step_failed,
};
