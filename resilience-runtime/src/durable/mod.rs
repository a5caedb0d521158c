//! Durable workflows: what a `durable workflow` expansion calls to persist
//! its state after every step and to resume from it.
//!
//! A `workflow!` declared `durable` gets `run_durable(&store, id)`. It claims
//! the id in a [`CheckpointStore`] (a second owner gets
//! [`CheckpointError::Locked`]), loads the checkpoint if there is one, checks
//! it belongs to this workflow and to this definition of it, checks that it
//! was started with the same inputs ([`DurableError::InputsDiffer`]
//! otherwise, and nothing runs), and then:
//!
//! - with no checkpoint, starts from the first step;
//! - with a running checkpoint, continues after its last completed step;
//! - with a compensating checkpoint (the process died while undoing),
//!   continues the compensation rather than running steps again;
//! - with a failed checkpoint, returns [`DurableError::PreviouslyFailed`]: it
//!   is kept for inspection until [`CheckpointStore::discard`] throws it away.
//!
//! After every step the new state is saved, durably, before the next step
//! starts. On success the checkpoint is deleted, or kept with
//! [`DurableOptions::with_checkpoint_kept`]. On failure the compensations run (each
//! one recorded in the checkpoint as it completes) and the checkpoint is kept
//! in the failed phase.
//!
//! # Inputs, and resuming by id alone
//!
//! The workflow's inputs are saved in every checkpoint, as a JSON object
//! keyed by input name ([`Checkpoint::inputs`], checkpoint format
//! version 2), so a worker that finds an abandoned run and knows only the
//! workflow and the id resumes it with `Workflow::resume_durable(&store, id)`
//! (or `resume_durable_with(&store, id, options)`): the inputs are read back
//! from the checkpoint, then it runs as `run_durable` does. Without a
//! checkpoint that is [`DurableError::NotFound`]; stored inputs that do not
//! decode as the workflow's inputs are [`CheckpointError::InvalidInputs`].
//!
//! Given inputs are compared with the stored ones by their JSON: the same
//! bytes, or the same JSON value (so a map serialized in another key order
//! is the same). A checkpoint written before inputs were stored (format
//! version 1) cannot be checked: `run_durable` with inputs accepts it and
//! saves the inputs from the next step on; `resume_durable` refuses it with
//! [`DurableError::InputsNotStored`].
//!
//! The inputs are stored as plain JSON, like the step outputs: keep
//! secrets (an API key inside a client) out of them with `#[serde(skip)]`.
//! A skipped field is rebuilt with its `Default` (or serde's `default =`)
//! by a resume by id alone: a client rebuilt that way has no key, so give
//! such a field a default that builds a working one, or resume with the
//! inputs given.
//!
//! Inputs are part of a run's identity: changing an input's type or name,
//! or passing inputs that serialize differently each time (a timestamp, a
//! request id), makes a run in progress refuse them (`InputsDiffer`, or
//! `InvalidInputs` by id alone). Finish or discard runs in progress before
//! changing a durable workflow's inputs.
//!
//! # Steps run at least once
//!
//! A step that was running when the process died runs again on resume: its
//! output was never recorded. Write steps so that running one twice is
//! harmless (an idempotency key on the request, a create that tolerates
//! "already exists", a read before a write), as Temporal and DBOS also ask.
//! A step whose checkpoint was written never runs again. Compensations are
//! at least once too: one that ran but whose checkpoint was not yet written
//! when the process died runs again when the compensation is resumed.
//!
//! # Receiving the output exactly once
//!
//! Deleting the checkpoint on success and handing the output to the caller
//! are two events: a crash between them, or before the caller records the
//! output, leaves no checkpoint, and running the id again starts a new
//! workflow. Where that matters, run with [`DurableOptions::with_checkpoint_kept`]:
//! a run that finds the final checkpoint returns the output again without
//! running any step (it is computed from the recorded outputs). Discard the
//! checkpoint once the output is safely recorded.

use core::fmt;
use core::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

mod worker;

pub use worker::{DurableWorkflow, RunOutcome, Worker, WorkerReport};

use crate::checkpoint::{
    Checkpoint, CheckpointError, CheckpointLease, CheckpointStore, CompensationRecord,
    FinishedBranches, Phase,
};
use crate::events::{Event, EventKind, emit};
use crate::saga::workflow::{Hooks, UndoOutcome};
use crate::saga::{CompensationReport, SagaError};

/// Options of a durable run.
///
/// # Examples
///
/// ```
/// use resilience_runtime::durable::DurableOptions;
///
/// const KEEP: DurableOptions = DurableOptions::new().with_checkpoint_kept();
/// assert!(KEEP.keeps_on_success());
/// assert!(!DurableOptions::default().keeps_on_success());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DurableOptions {
    keep_on_success: bool,
    /// The claims a run may have (see [`CheckpointLease::attempt`]); `0`:
    /// no limit.
    max_attempts: u32,
    /// A [`Worker`]'s runs: a kept checkpoint at the last step is a
    /// finished run (its worker kept it), not one to finish again.
    pub(crate) skip_finished: bool,
}

impl DurableOptions {
    /// Delete the checkpoint on success (the default).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::durable::DurableOptions;
    ///
    /// assert_eq!(DurableOptions::new(), DurableOptions::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            keep_on_success: false,
            max_attempts: 0,
            skip_finished: false,
        }
    }

    /// Keep the checkpoint of a successful run (in the running phase, at
    /// its last step), for audit or inspection.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::durable::DurableOptions;
    ///
    /// assert!(DurableOptions::new().with_checkpoint_kept().keeps_on_success());
    /// ```
    pub const fn with_checkpoint_kept(mut self) -> Self {
        self.keep_on_success = true;
        self
    }

    /// Refuse to run past the `attempts`th claim of the run
    /// ([`CheckpointLease::attempt`]): such a run is set aside, with
    /// [`DurableError::SetAside`], and nothing runs. A run that keeps
    /// crashing its process is then not retried forever. A
    /// [`Worker`] runs with its limit (default 100, as DBOS); without it
    /// (the default here) there is no limit. A store that does not count
    /// claims (`attempt` is `None`) has no limit either.
    ///
    /// # Panics
    ///
    /// If `attempts` is 0 (at compile time in a `const`).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::durable::DurableOptions;
    ///
    /// const AT_MOST_5: DurableOptions = DurableOptions::new().with_max_attempts(5);
    /// assert_eq!(AT_MOST_5.max_attempts(), Some(5));
    /// assert_eq!(DurableOptions::new().max_attempts(), None);
    /// ```
    pub const fn with_max_attempts(mut self, attempts: u32) -> Self {
        assert!(attempts > 0, "`max_attempts` must be at least 1");
        self.max_attempts = attempts;
        self
    }

    /// The limit of [`with_max_attempts`](Self::with_max_attempts), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::durable::DurableOptions;
    ///
    /// assert_eq!(DurableOptions::new().with_max_attempts(3).max_attempts(), Some(3));
    /// ```
    pub const fn max_attempts(&self) -> Option<u32> {
        if self.max_attempts == 0 {
            None
        } else {
            Some(self.max_attempts)
        }
    }

    /// The old name of [`with_checkpoint_kept`](Self::with_checkpoint_kept).
    #[deprecated(
        since = "0.1.1",
        note = "renamed `with_checkpoint_kept`, like the other builders"
    )]
    #[doc(hidden)]
    pub const fn keep_on_success(self) -> Self {
        self.with_checkpoint_kept()
    }

    /// Whether a successful run keeps its checkpoint.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::durable::DurableOptions;
    ///
    /// assert!(!DurableOptions::new().keeps_on_success());
    /// ```
    pub const fn keeps_on_success(&self) -> bool {
        self.keep_on_success
    }
}

/// Why a durable run did not return the workflow's output.
///
/// # Examples
///
/// ```
/// use resilience_runtime::durable::DurableError;
///
/// fn explain(error: &DurableError<std::io::Error>) -> String {
///     match error {
///         DurableError::Failed(saga) => format!("the workflow failed: {saga}"),
///         DurableError::Checkpoint(storage) => format!("storage: {storage}"),
///         DurableError::PreviouslyFailed { id, .. } => format!("{id} failed before; discard it first"),
///         _ => error.to_string(),
///     }
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum DurableError<E> {
    /// A step failed; the completed steps were compensated. The checkpoint
    /// is kept in the failed phase.
    Failed(SagaError<E>),
    /// The checkpoint could not be claimed, read, verified or written. The
    /// workflow stopped there: nothing that was recorded is lost.
    Checkpoint(CheckpointError),
    /// The checkpoint records a failure of an earlier run. It is kept for
    /// inspection; discard it (`CheckpointStore::discard`) to start over.
    PreviouslyFailed {
        /// The workflow's name.
        workflow: String,
        /// The workflow id.
        id: String,
        /// The step that failed.
        failed_step: String,
        /// What it failed with.
        failure: String,
        /// What the compensations did.
        compensations: Vec<CompensationRecord>,
    },
    /// The run was given inputs that differ from the ones its checkpoint
    /// records (the inputs it was started with). Nothing ran: resume it
    /// with the same inputs, or by its id alone (`resume_durable`), or
    /// discard its checkpoint to start it over with the new ones.
    InputsDiffer {
        /// The workflow's name.
        workflow: String,
        /// The workflow id.
        id: String,
        /// The inputs in the checkpoint, as JSON.
        stored: String,
        /// The inputs given, as JSON.
        given: String,
    },
    /// There is no checkpoint to resume by id (`resume_durable`): the run
    /// never started, or it succeeded and its checkpoint was deleted (or,
    /// to a [`Worker`] that keeps checkpoints, another worker finished it
    /// and kept it after this one listed it: the worker skips it).
    NotFound {
        /// The workflow's name.
        workflow: String,
        /// The workflow id.
        id: String,
    },
    /// The checkpoint was written (format version 1) before inputs were
    /// stored, so it cannot be resumed by id alone: resume it with its
    /// inputs (`Workflow::new(inputs..).run_durable(&store, id)`), which
    /// also stores them from then on.
    InputsNotStored {
        /// The workflow's name.
        workflow: String,
        /// The workflow id.
        id: String,
        /// Where the checkpoint is.
        location: String,
    },
    /// The run has been claimed more often than
    /// [`DurableOptions::with_max_attempts`] allows: it keeps crashing the
    /// processes that run it (or they keep being stopped). Nothing ran; its
    /// checkpoint is kept, and a [`Worker`] leaves it alone. Find out why,
    /// then run it with a higher limit or without one (`run_durable`), or
    /// discard it.
    SetAside {
        /// The workflow's name.
        workflow: String,
        /// The workflow id.
        id: String,
        /// This claim's number.
        attempts: u32,
        /// The limit.
        limit: u32,
    },
}

impl<E> From<CheckpointError> for DurableError<E> {
    fn from(error: CheckpointError) -> Self {
        DurableError::Checkpoint(error)
    }
}

impl<E: fmt::Display> fmt::Display for DurableError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurableError::Failed(error) => error.fmt(f),
            DurableError::Checkpoint(error) => error.fmt(f),
            DurableError::PreviouslyFailed {
                workflow,
                id,
                failed_step,
                failure,
                ..
            } => write!(
                f,
                "workflow `{workflow}` with id `{id}` already failed at step `{failed_step}` ({failure}); discard its checkpoint to run it again"
            ),
            DurableError::InputsDiffer {
                workflow,
                id,
                stored,
                given,
            } => write!(
                f,
                "workflow `{workflow}` with id `{id}` was started with inputs {}, not {}; \
                 resume it with the same inputs or by its id alone, or discard its checkpoint to start over",
                Short(stored),
                Short(given)
            ),
            DurableError::NotFound { workflow, id } => write!(
                f,
                "no checkpoint of workflow `{workflow}` with id `{id}` to resume: it never started, \
                 or it succeeded and its checkpoint was deleted"
            ),
            DurableError::InputsNotStored {
                workflow,
                id,
                location,
            } => write!(
                f,
                "{location}: the checkpoint of workflow `{workflow}` id `{id}` was written before inputs \
                 were stored (format version 1), so it cannot be resumed by id alone; resume it with its inputs"
            ),
            DurableError::SetAside {
                workflow,
                id,
                attempts,
                limit,
            } => write!(
                f,
                "workflow `{workflow}` with id `{id}` is set aside: this is claim {attempts}, past the limit \
                 of {limit} (it keeps crashing the processes that run it); run it without the limit or discard it"
            ),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for DurableError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DurableError::Failed(error) => Some(error),
            DurableError::Checkpoint(error) => Some(error),
            DurableError::PreviouslyFailed { .. }
            | DurableError::InputsDiffer { .. }
            | DurableError::NotFound { .. }
            | DurableError::InputsNotStored { .. }
            | DurableError::SetAside { .. } => None,
        }
    }
}

/// Inputs' JSON in a message: at most 120 characters of it.
struct Short<'a>(&'a str);

impl fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 120;
        match self.0.char_indices().nth(MAX) {
            Some((end, _)) => write!(f, "{}…", &self.0[..end]),
            None => f.write_str(self.0),
        }
    }
}

/// Whether two encodings of inputs are the same inputs: the same bytes, or
/// the same JSON value (a map whose keys serialize in another order).
fn same_inputs(stored: &[u8], given: &[u8]) -> bool {
    stored == given
        || matches!(
            (
                serde_json::from_slice::<serde_json::Value>(stored),
                serde_json::from_slice::<serde_json::Value>(given),
            ),
            (Ok(a), Ok(b)) if a == b
        )
}

/// Where a durable run starts, from its checkpoint.
#[doc(hidden)]
#[derive(Debug)]
pub enum Resume<S> {
    /// Run the steps after `state`.
    Run(S),
    /// The process died while compensating: continue undoing `state`.
    Compensate {
        /// What is left to undo.
        state: S,
        /// The step that failed (one of the workflow's steps).
        failed_step: &'static str,
        /// What it failed with, as recorded.
        failure: String,
        /// The compensations already done.
        compensations: Vec<CompensationReport>,
    },
}

/// One durable run: the claimed id in a store, and the hooks that save the
/// state after every step.
#[doc(hidden)]
pub struct Durable<'s, St: CheckpointStore, S> {
    store: &'s St,
    lease: Option<St::Lease>,
    workflow: &'static str,
    fingerprint: u64,
    id: String,
    options: DurableOptions,
    /// The inputs as JSON, saved in every checkpoint.
    inputs: Vec<u8>,
    state: PhantomData<fn(S) -> S>,
    /// The state as last saved or loaded (JSON), and its position: what a
    /// parallel step's checkpoints record beside its finished branches.
    state_json: Vec<u8>,
    position: u32,
    /// The finished branches of the parallel step that runs next.
    branches: Option<FinishedBranches>,
}

impl<St: CheckpointStore, S> fmt::Debug for Durable<'_, St, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Durable")
            .field("workflow", &self.workflow)
            .field("id", &self.id)
            .field("claimed", &self.lease.is_some())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'s, St: CheckpointStore, S: Serialize + DeserializeOwned> Durable<'s, St, S> {
    /// Claims `id` and loads its checkpoint: where to start. `inputs` are
    /// the run's inputs as JSON (or why they could not be serialized); a
    /// checkpoint that records other inputs is refused.
    #[allow(clippy::too_many_arguments)]
    pub async fn claim<E>(
        store: &'s St,
        workflow: &'static str,
        fingerprint: u64,
        steps: &'static [&'static str],
        id: &str,
        options: DurableOptions,
        inputs: Result<Vec<u8>, String>,
        initial: S,
    ) -> Result<(Self, Resume<S>), DurableError<E>> {
        let (this, resume) = Self::claim_inner(
            store,
            workflow,
            fingerprint,
            steps,
            id,
            options,
            Some(inputs),
        )
        .await?;
        let mut this = this;
        if resume.is_none() {
            // A parallel first step saves its branches beside this state.
            this.state_json =
                serde_json::to_vec(&initial).map_err(|error| CheckpointError::InvalidState {
                    location: this.location(),
                    reason: error.to_string(),
                })?;
        }
        Ok((this, resume.unwrap_or(Resume::Run(initial))))
    }

    /// Claims `id` to resume it by id alone: loads its checkpoint and
    /// decodes the inputs it records with `decode`.
    pub async fn claim_stored<E, I>(
        store: &'s St,
        workflow: &'static str,
        fingerprint: u64,
        steps: &'static [&'static str],
        id: &str,
        options: DurableOptions,
        decode: fn(&[u8]) -> Result<I, String>,
    ) -> Result<(Self, Resume<S>, I), DurableError<E>> {
        let (this, resume) =
            Self::claim_inner(store, workflow, fingerprint, steps, id, options, None).await?;
        let Some(resume) = resume else {
            // Nothing to resume: give the id back, and whatever the claim
            // created with it (a lock file, a row), so that asking for ids
            // that do not exist leaves nothing behind.
            let mut this = this;
            if let Some(lease) = this.lease.take() {
                store.delete(lease).await?;
            }
            return Err(DurableError::NotFound {
                workflow: workflow.to_owned(),
                id: this.id.clone(),
            });
        };
        let inputs = decode(&this.inputs).map_err(|reason| CheckpointError::InvalidInputs {
            location: this.location(),
            reason: format!("the stored inputs do not decode as this workflow's inputs: {reason}"),
        })?;
        Ok((this, resume, inputs))
    }

    /// Records run `id` for a worker to run: claims it, saves a checkpoint
    /// of no step done with the inputs, and releases it. `false` if the
    /// run already has a checkpoint (submitted before, or under way) with
    /// the same inputs: nothing changes. A run held at that moment is
    /// [`CheckpointError::Locked`].
    #[allow(clippy::too_many_arguments)]
    pub async fn submit<E>(
        store: &'s St,
        workflow: &'static str,
        fingerprint: u64,
        steps: &'static [&'static str],
        id: &str,
        options: DurableOptions,
        inputs: Result<Vec<u8>, String>,
        initial: S,
    ) -> Result<bool, DurableError<E>> {
        let (mut this, resume) = Self::claim_inner(
            store,
            workflow,
            fingerprint,
            steps,
            id,
            options,
            Some(inputs),
        )
        .await?;
        if resume.is_some() {
            return Ok(false);
        }
        this.save(&initial, 0, Phase::Running).await?;
        Ok(true)
    }

    /// Claims and loads; `None` when there is no checkpoint. `given`: the
    /// caller's inputs, or `None` to take the checkpoint's.
    async fn claim_inner<E>(
        store: &'s St,
        workflow: &'static str,
        fingerprint: u64,
        steps: &'static [&'static str],
        id: &str,
        options: DurableOptions,
        given: Option<Result<Vec<u8>, String>>,
    ) -> Result<(Self, Option<Resume<S>>), DurableError<E>> {
        let by_id = given.is_none();
        // Inputs that cannot be saved are refused before the id is claimed.
        let inputs = match given {
            Some(Err(reason)) => {
                return Err(CheckpointError::InvalidInputs {
                    location: format!("{workflow}/{id}"),
                    reason: format!("the inputs cannot be saved: {reason}"),
                }
                .into());
            }
            Some(Ok(inputs)) => inputs,
            None => Vec::new(),
        };
        let lease = store.claim(workflow, id).await?;
        if let (Some(limit), Some(attempts)) = (options.max_attempts(), lease.attempt())
            && attempts > limit
        {
            return Err(DurableError::SetAside {
                workflow: workflow.to_owned(),
                id: id.to_owned(),
                attempts,
                limit,
            });
        }
        let mut this = Self {
            store,
            lease: Some(lease),
            workflow,
            fingerprint,
            id: id.to_owned(),
            options,
            inputs,
            state: PhantomData,
            state_json: Vec::new(),
            position: 0,
            branches: None,
        };
        let location = this.location();
        let loaded = match &this.lease {
            Some(lease) => store.load(lease).await?,
            None => None,
        };
        let Some(checkpoint) = loaded else {
            return Ok((this, None));
        };
        checkpoint.verify(&location, workflow, fingerprint)?;
        match (checkpoint.inputs, by_id) {
            // By id alone: the checkpoint's inputs.
            (Some(stored), true) => this.inputs = stored,
            (None, true) => {
                return Err(DurableError::InputsNotStored {
                    workflow: workflow.to_owned(),
                    id: this.id.clone(),
                    location,
                });
            }
            (Some(stored), false) if !same_inputs(&stored, &this.inputs) => {
                return Err(DurableError::InputsDiffer {
                    workflow: workflow.to_owned(),
                    id: this.id.clone(),
                    stored: String::from_utf8_lossy(&stored).into_owned(),
                    given: String::from_utf8_lossy(&this.inputs).into_owned(),
                });
            }
            // The same inputs; or a version 1 checkpoint, which records
            // none: the given ones are saved from the next step on.
            (_, false) => {}
        }
        if by_id
            && options.skip_finished
            && checkpoint.phase == Phase::Running
            && checkpoint.position as usize >= steps.len()
        {
            // A worker listed this run before another one finished it and
            // kept its checkpoint: it is done, and was reported by the
            // worker that finished it. The lease is released as `this`
            // drops; the checkpoint stays.
            return Err(DurableError::NotFound {
                workflow: workflow.to_owned(),
                id: this.id.clone(),
            });
        }
        this.position = checkpoint.position;
        if checkpoint.phase == Phase::Running {
            this.branches = checkpoint.branches;
        }
        let state: S = serde_json::from_slice(&checkpoint.state).map_err(|error| {
            CheckpointError::InvalidState {
                location: location.clone(),
                reason: error.to_string(),
            }
        })?;
        this.state_json = checkpoint.state;
        let step_of = |name: &str| {
            steps.iter().copied().find(|s| *s == name).ok_or_else(|| {
                CheckpointError::InvalidState {
                    location: location.clone(),
                    reason: format!("it names step `{name}`, which this workflow does not have"),
                }
            })
        };
        let resume = match checkpoint.phase {
            Phase::Running => Resume::Run(state),
            Phase::Compensating {
                failed_step,
                failure,
                compensations,
            } => Resume::Compensate {
                state,
                failed_step: step_of(&failed_step)?,
                failure,
                compensations: compensations
                    .into_iter()
                    .map(|record| {
                        Ok(CompensationReport {
                            step: step_of(&record.step)?,
                            outcome: record.outcome,
                        })
                    })
                    .collect::<Result<_, CheckpointError>>()?,
            },
            Phase::Failed {
                failed_step,
                failure,
                compensations,
            } => {
                return Err(DurableError::PreviouslyFailed {
                    workflow: workflow.to_owned(),
                    id: this.id.clone(),
                    failed_step,
                    failure,
                    compensations,
                });
            }
        };
        Ok((this, Some(resume)))
    }

    fn location(&self) -> String {
        match &self.lease {
            Some(lease) => lease.location().to_owned(),
            None => format!("{}/{}", self.workflow, self.id),
        }
    }

    async fn save(
        &mut self,
        state: &S,
        position: usize,
        phase: Phase,
    ) -> Result<(), CheckpointError> {
        if self.lease.is_none() {
            return Ok(());
        }
        let state = serde_json::to_vec(state).map_err(|error| CheckpointError::InvalidState {
            location: self.location(),
            reason: error.to_string(),
        })?;
        // A step completed (or the undo moved on): no branches are running.
        self.branches = None;
        self.state_json = state;
        self.position = u32::try_from(position).unwrap_or(u32::MAX);
        self.write(phase).await
    }

    /// Writes the state last saved, its position and the finished branches
    /// of the step that runs next, in `phase`.
    async fn write(&mut self, phase: Phase) -> Result<(), CheckpointError> {
        let Some(lease) = &self.lease else {
            return Ok(());
        };
        let checkpoint = Checkpoint {
            workflow: self.workflow.to_owned(),
            fingerprint: self.fingerprint,
            position: self.position,
            phase,
            state: core::mem::take(&mut self.state_json),
            inputs: Some(self.inputs.clone()),
            branches: self.branches.take(),
        };
        let saved = self.store.save(lease, &checkpoint).await;
        // The state and branches stay for the next write, saved or not.
        self.state_json = checkpoint.state;
        self.branches = checkpoint.branches;
        saved?;
        let id = &self.id;
        let position = checkpoint.position;
        emit(&Event::new(
            self.workflow,
            EventKind::Checkpointed { id, position },
        ));
        Ok(())
    }

    /// The finished branches of parallel step `step` (with `items` items)
    /// recorded by the checkpoint this run resumed from, in the order they
    /// completed, decoded.
    pub(crate) fn finished_branches<T: DeserializeOwned>(
        &self,
        step: &'static str,
        items: usize,
    ) -> Result<Vec<(usize, T)>, CheckpointError> {
        let Some(branches) = &self.branches else {
            return Ok(Vec::new());
        };
        let invalid = |reason: String| CheckpointError::InvalidState {
            location: self.location(),
            reason,
        };
        if branches.step != step {
            return Err(invalid(format!(
                "it records finished branches of step `{}`, but the step that runs next is `{step}`",
                branches.step
            )));
        }
        branches
            .done
            .iter()
            .map(|(index, output)| {
                if *index >= items {
                    return Err(invalid(format!(
                        "it records branch {index} of step `{step}` as finished, but the step has {items} items"
                    )));
                }
                let output = serde_json::from_slice(output).map_err(|error| {
                    invalid(format!(
                        "the output of branch {index} of step `{step}` does not decode: {error}"
                    ))
                })?;
                Ok((*index, output))
            })
            .collect()
    }

    /// Records that branch `index` of parallel step `step` finished with
    /// `output` (JSON), before the step goes on.
    pub(crate) async fn branch_done(
        &mut self,
        step: &'static str,
        index: usize,
        output: Result<Vec<u8>, String>,
    ) -> Result<(), CheckpointError> {
        let output = output.map_err(|reason| CheckpointError::InvalidState {
            location: self.location(),
            reason: format!(
                "the output of branch {index} of step `{step}` cannot be saved: {reason}"
            ),
        })?;
        match &mut self.branches {
            Some(branches) if branches.step == step => branches.done.push((index, output)),
            other => *other = Some(FinishedBranches::new(step, vec![(index, output)])),
        }
        self.write(Phase::Running).await
    }

    /// Forgets the finished branches of the running parallel step (it
    /// failed and undoes them): a run resumed from here runs it whole.
    pub(crate) async fn branches_abandoned(&mut self) -> Result<(), CheckpointError> {
        if self.branches.take().is_none() {
            return Ok(());
        }
        self.write(Phase::Running).await
    }

    /// Ends the run: deletes the checkpoint of a success (unless kept: the
    /// last step already saved it), or passes the failure on (the failed
    /// phase is already saved).
    pub async fn finish<T, E>(
        mut self,
        outcome: Result<T, UndoOutcome<E, CheckpointError>>,
    ) -> Result<T, DurableError<E>> {
        match outcome {
            Ok(value) => {
                if let Some(lease) = self.lease.take()
                    && !self.options.keep_on_success
                {
                    self.store.delete(lease).await?;
                }
                Ok(value)
            }
            Err(UndoOutcome::Hook(error)) => Err(DurableError::Checkpoint(error)),
            Err(UndoOutcome::Failed(error)) => Err(DurableError::Failed(error)),
        }
    }
}

fn records(compensations: &[CompensationReport]) -> Vec<CompensationRecord> {
    compensations.iter().map(CompensationRecord::from).collect()
}

impl From<&CompensationReport> for CompensationRecord {
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::CompensationRecord;
    /// use resilience_runtime::saga::{register_compensation, saga};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async {
    ///     register_compensation("create", || async { Ok(()) });
    ///     Err::<(), _>("disk full")
    /// })
    /// .await
    /// .unwrap_err();
    /// let record = CompensationRecord::from(&error.compensations()[0]);
    /// assert_eq!(record, CompensationRecord::new("create", Ok(())));
    /// # }
    /// ```
    fn from(report: &CompensationReport) -> Self {
        Self {
            step: report.step.to_owned(),
            outcome: report.outcome.clone(),
        }
    }
}

impl<St, S> Hooks<S> for Durable<'_, St, S>
where
    St: CheckpointStore,
    S: Serialize + DeserializeOwned + Sync,
{
    const DURABLE: bool = true;
    type Error = CheckpointError;

    fn step_completed(
        &mut self,
        state: &S,
        position: usize,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.save(state, position, Phase::Running)
    }

    fn compensating(
        &mut self,
        state: &S,
        position: usize,
        failed_step: &str,
        failure: &str,
        compensations: &[CompensationReport],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let phase = Phase::Compensating {
            failed_step: failed_step.to_owned(),
            failure: failure.to_owned(),
            compensations: records(compensations),
        };
        self.save(state, position, phase)
    }

    fn failed(
        &mut self,
        state: &S,
        failed_step: &str,
        failure: &str,
        compensations: &[CompensationReport],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let phase = Phase::Failed {
            failed_step: failed_step.to_owned(),
            failure: failure.to_owned(),
            compensations: records(compensations),
        };
        self.save(state, 0, phase)
    }
}
