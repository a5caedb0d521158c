//! Checkpoints: what a durable workflow persists after each step, and the
//! stores that keep them.
//!
//! A durable workflow (`workflow!` with a store) runs like this:
//!
//! 1. [`claim`](CheckpointStore::claim) its id: a lease that makes this run
//!    the only one of that id (a lock that dies with its process). A second
//!    run gets [`CheckpointError::Locked`].
//! 2. [`load`](CheckpointStore::load) the checkpoint, if any, and
//!    [`verify`](Checkpoint::verify) that it belongs to this workflow and
//!    to this definition of it; then resume from its position.
//! 3. After every step, [`save`](CheckpointStore::save) a [`Checkpoint`]
//!    (the position, the state so far and the workflow's inputs). It is durable when `save`
//!    returns, before the next step starts.
//! 4. When the workflow has succeeded, [`delete`](CheckpointStore::delete)
//!    the checkpoint. A workflow that failed and was compensated keeps a
//!    checkpoint in phase [`Phase::Failed`] for inspection, until it is
//!    [`discard`](CheckpointStore::discard)ed.
//!
//! Nothing is lost, and nothing is silently thrown away: a checkpoint that is
//! truncated, corrupt, of another workflow, of a changed definition or of an
//! unknown format is a typed [`CheckpointError`] that names the file and the
//! reason. The caller decides; [`discard`](CheckpointStore::discard) is the
//! one explicit way to throw a checkpoint away.
//!
//! # Stores
//!
//! - [`DirectoryStore`]: one file per workflow id, written atomically
//!   (temporary file, fsync, rename, fsync of the directory); the lease is an
//!   OS file lock. The default for a single machine.
//! - [`MemoryStore`]: the same semantics in memory, for tests; it keeps the
//!   encoded bytes and lets a test corrupt them.
//! - Your own: implement [`CheckpointStore`]. The trait is shaped for a
//!   database with row leases too (claim = take the lease, save = an update
//!   guarded by it, list = the rows left); [`encode`] and [`decode`] give it
//!   the same versioned, checksummed format.
//!
//! A store only stores: it depends on nothing of the engine. The durable
//! driver emits [`EventKind::Checkpointed`](crate::EventKind::Checkpointed)
//! after every successful save (a `tracing` event at DEBUG level, see
//! [`events`](crate::events)), whatever the store.
//!
//! # Examples
//!
//! ```
//! use resilience_runtime::checkpoint::{Checkpoint, CheckpointLease, CheckpointStore, DirectoryStore, Phase};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), resilience_runtime::checkpoint::CheckpointError> {
//! # let tmp = std::env::temp_dir().join(format!("resilience-doc-mod-{}", std::process::id()));
//! let store = DirectoryStore::open(&tmp)?;
//! const FINGERPRINT: u64 = 0x5eed;
//!
//! // A run of workflow `Provision`, id `order-42`.
//! let lease = store.claim("Provision", "order-42").await?;
//! let position = match store.load(&lease).await? {
//!     Some(checkpoint) => {
//!         checkpoint.verify(lease.location(), "Provision", FINGERPRINT)?;
//!         checkpoint.position
//!     }
//!     None => 0,
//! };
//! assert_eq!(position, 0);
//!
//! // After step 1:
//! let checkpoint = Checkpoint::new("Provision", FINGERPRINT, 1, Phase::Running, br#"{"AfterCreate":{"create":7}}"#.to_vec());
//! store.save(&lease, &checkpoint).await?;
//! assert_eq!(store.load(&lease).await?, Some(checkpoint));
//!
//! // Done: the checkpoint goes, and so does the lease.
//! store.delete(lease).await?;
//! assert!(store.list_unfinished().await?.is_empty());
//! # std::fs::remove_dir_all(&tmp).unwrap();
//! # Ok(())
//! # }
//! ```

use core::fmt;

mod directory;
mod error;
mod format;
mod memory;

pub use directory::{DirectoryLease, DirectoryStore};
pub use error::CheckpointError;
pub use format::{decode, encode};
pub use memory::{MemoryLease, MemoryStore};

/// What a workflow persists after each step.
///
/// The store adds the workflow id; [`encode`] shows the file format.
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::{Checkpoint, Phase};
///
/// let checkpoint = Checkpoint::new("Provision", 0x5eed, 1, Phase::Running, serde_json::to_vec(&serde_json::json!({ "AfterCreate": { "create": 7 } })).unwrap());
/// assert!(checkpoint.verify("memory:Provision/1", "Provision", 0x5eed).is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The workflow's name.
    pub workflow: String,
    /// A hash of the workflow's definition (its steps and their types),
    /// computed by `workflow!`: a checkpoint of another definition is not
    /// resumed.
    pub fingerprint: u64,
    /// The number of steps completed.
    pub position: u32,
    /// Running, compensating or failed.
    pub phase: Phase,
    /// The workflow's state enum as JSON (`serde_json::to_vec`). It must be
    /// one JSON value; it is stored byte for byte, except for whitespace
    /// around the value.
    pub state: Vec<u8>,
    /// The workflow's inputs as JSON (an object keyed by input name), so
    /// that a run can be resumed by its id alone; `None` in a checkpoint
    /// of format version 1, written before inputs were stored. Like
    /// `state`, one JSON value, stored byte for byte.
    pub inputs: Option<Vec<u8>>,
    /// The finished branches of the parallel step running after
    /// `position` (format version 3), so that a resumed run re-runs only
    /// the unfinished ones; `None` between steps.
    pub branches: Option<FinishedBranches>,
}

/// The branches of a parallel step (`for item in items => ..` in
/// `workflow!`) that finished before the checkpoint was written: what a
/// resumed run does not run again.
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::{Checkpoint, FinishedBranches, Phase};
///
/// let branches = FinishedBranches::new("summaries", vec![(3, br#""C""#.to_vec()), (0, br#""A""#.to_vec())]);
/// let checkpoint = Checkpoint::new("Digest", 7, 1, Phase::Running, b"{}".to_vec())
///     .with_inputs(b"{}".to_vec())
///     .with_branches(branches.clone());
/// assert_eq!(checkpoint.branches, Some(branches));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FinishedBranches {
    /// The parallel step, the one after the checkpoint's position.
    pub step: String,
    /// Each finished branch in the order it completed: the item's index
    /// in the step's collection and the branch's output as JSON (one JSON
    /// value, stored byte for byte).
    pub done: Vec<(usize, Vec<u8>)>,
}

impl FinishedBranches {
    /// The branches of `step` finished so far.
    ///
    /// # Examples
    ///
    /// See [`FinishedBranches`].
    pub fn new(step: impl Into<String>, done: Vec<(usize, Vec<u8>)>) -> Self {
        Self {
            step: step.into(),
            done,
        }
    }
}

impl Checkpoint {
    /// A checkpoint of `workflow` (whose definition hashes to
    /// `fingerprint`) after `position` steps, in `phase`, with the state
    /// enum encoded as JSON in `state`.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{Checkpoint, Phase};
    ///
    /// let checkpoint = Checkpoint::new("Provision", 0x5eed, 1, Phase::Running, b"{}".to_vec());
    /// assert_eq!((checkpoint.workflow.as_str(), checkpoint.position), ("Provision", 1));
    /// ```
    pub fn new(
        workflow: impl Into<String>,
        fingerprint: u64,
        position: u32,
        phase: Phase,
        state: Vec<u8>,
    ) -> Self {
        Self {
            workflow: workflow.into(),
            fingerprint,
            position,
            phase,
            state,
            inputs: None,
            branches: None,
        }
    }

    /// The same checkpoint, recording the finished branches of the
    /// parallel step that runs next (format version 3, which also records
    /// the inputs).
    ///
    /// # Examples
    ///
    /// See [`FinishedBranches`].
    #[must_use]
    pub fn with_branches(mut self, branches: FinishedBranches) -> Self {
        self.branches = Some(branches);
        self
    }

    /// The same checkpoint, recording the workflow's `inputs` as JSON.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{Checkpoint, Phase};
    ///
    /// let checkpoint = Checkpoint::new("Research", 7, 0, Phase::Running, b"\"Start\"".to_vec())
    ///     .with_inputs(br#"{"topic":"cats"}"#.to_vec());
    /// assert_eq!(checkpoint.inputs.as_deref(), Some(&br#"{"topic":"cats"}"#[..]));
    /// ```
    #[must_use]
    pub fn with_inputs(mut self, inputs: Vec<u8>) -> Self {
        self.inputs = Some(inputs);
        self
    }

    /// Checks that a loaded checkpoint belongs to `workflow` and to the
    /// definition whose fingerprint is `fingerprint`. `location` (see
    /// [`CheckpointLease::location`]) names the checkpoint in the error.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::WrongWorkflow`] if it is another workflow's;
    /// [`CheckpointError::DefinitionChanged`] if the definition changed.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{Checkpoint, CheckpointError, Phase};
    ///
    /// let checkpoint = Checkpoint::new("Deploy", 1, 3, Phase::Running, b"null".to_vec());
    /// let err = checkpoint.verify("/data/Provision.7.checkpoint", "Provision", 1).unwrap_err();
    /// assert!(matches!(err, CheckpointError::WrongWorkflow { .. }));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "/data/Provision.7.checkpoint: this is a checkpoint of workflow `Deploy`, not of `Provision`"
    /// );
    /// ```
    pub fn verify(
        &self,
        location: &str,
        workflow: &str,
        fingerprint: u64,
    ) -> Result<(), CheckpointError> {
        if self.workflow != workflow {
            return Err(CheckpointError::WrongWorkflow {
                location: location.to_owned(),
                expected: workflow.to_owned(),
                found: self.workflow.clone(),
            });
        }
        if self.fingerprint != fingerprint {
            return Err(CheckpointError::DefinitionChanged {
                location: location.to_owned(),
                workflow: workflow.to_owned(),
                expected: fingerprint,
                found: self.fingerprint,
            });
        }
        Ok(())
    }
}

/// Where a workflow is, in a [`Checkpoint`].
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::{CompensationRecord, Phase};
///
/// let phase = Phase::Failed {
///     failed_step: "configure".into(),
///     failure: "disk full".into(),
///     compensations: vec![CompensationRecord::new("create", Ok(()))],
/// };
/// assert_eq!(phase.to_string(), "failed at `configure` (disk full); undone: `create` (ok)");
/// assert_eq!(Phase::Running.to_string(), "running");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Running its steps.
    Running,
    /// Undoing after `failed_step` failed with `failure` (its Display text);
    /// `compensations` done so far, in the order they ran.
    Compensating {
        /// The step that failed.
        failed_step: String,
        /// Why it failed.
        failure: String,
        /// The compensations done so far.
        compensations: Vec<CompensationRecord>,
    },
    /// Failed and fully handled; kept for inspection until discarded.
    Failed {
        /// The step that failed.
        failed_step: String,
        /// Why it failed.
        failure: String,
        /// What each compensation did.
        compensations: Vec<CompensationRecord>,
    },
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (word, failed_step, failure, compensations) = match self {
            Self::Running => return f.write_str("running"),
            Self::Compensating {
                failed_step,
                failure,
                compensations,
            } => ("compensating", failed_step, failure, compensations),
            Self::Failed {
                failed_step,
                failure,
                compensations,
            } => ("failed", failed_step, failure, compensations),
        };
        write!(f, "{word} at `{failed_step}` ({failure})")?;
        for (i, record) in compensations.iter().enumerate() {
            f.write_str(if i == 0 { "; undone: " } else { ", " })?;
            record.fmt(f)?;
        }
        Ok(())
    }
}

/// What one compensation did, in a [`Phase`]: the persisted form of a
/// [`CompensationReport`](crate::CompensationReport).
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::CompensationRecord;
///
/// let record = CompensationRecord::new("reserve", Err("503".into()));
/// assert_eq!(record.to_string(), "`reserve` (failed: 503)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompensationRecord {
    /// The step whose compensation ran.
    pub step: String,
    /// `Ok` if the step was undone, else why not.
    pub outcome: Result<(), String>,
}

impl CompensationRecord {
    /// What the compensation of `step` did.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::CompensationRecord;
    ///
    /// let record = CompensationRecord::new("reserve", Err("503".into()));
    /// assert_eq!(record.to_string(), "`reserve` (failed: 503)");
    /// ```
    pub fn new(step: impl Into<String>, outcome: Result<(), String>) -> Self {
        Self {
            step: step.into(),
            outcome,
        }
    }
}

impl fmt::Display for CompensationRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Ok(()) => write!(f, "`{}` (ok)", self.step),
            Err(error) => write!(f, "`{}` (failed: {error})", self.step),
        }
    }
}

/// A checkpoint left in a store, as listed by
/// [`list_unfinished`](CheckpointStore::list_unfinished).
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::{Checkpoint, CheckpointStore, MemoryStore, Phase};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryStore::new();
/// let lease = store.claim("Provision", "7").await.unwrap();
/// let checkpoint = Checkpoint::new("Provision", 1, 1, Phase::Running, b"0".to_vec());
/// store.save(&lease, &checkpoint).await.unwrap();
///
/// let listed = store.list_unfinished().await.unwrap();
/// let info = listed[0].as_ref().unwrap();
/// assert_eq!((info.workflow.as_str(), info.id.as_str(), info.position), ("Provision", "7", 1));
/// assert_eq!(info.location, "memory:Provision/7");
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckpointInfo {
    /// The workflow's name.
    pub workflow: String,
    /// The workflow id.
    pub id: String,
    /// Where the checkpoint is (a file path, `memory:<workflow>/<id>`).
    pub location: String,
    /// The fingerprint of the definition that wrote it.
    pub fingerprint: u64,
    /// The number of steps completed.
    pub position: u32,
    /// Running, compensating or failed.
    pub phase: Phase,
    /// How many times the run has been claimed (see
    /// [`CheckpointLease::attempt`]), if the store counts claims: a worker
    /// sets aside a run whose count reached its limit without claiming it
    /// again.
    pub attempts: Option<u32>,
}

impl CheckpointInfo {
    /// What a store lists about the checkpoint of run `id` found at
    /// `location`: a store that is not in this crate builds it with this.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{Checkpoint, CheckpointInfo, Phase};
    ///
    /// let checkpoint = Checkpoint::new("Provision", 9, 2, Phase::Running, b"{}".to_vec());
    /// let info = CheckpointInfo::new("7", "db:checkpoints/Provision/7", checkpoint);
    /// assert_eq!((info.id.as_str(), info.position), ("7", 2));
    /// ```
    pub fn new(id: impl Into<String>, location: impl Into<String>, checkpoint: Checkpoint) -> Self {
        Self {
            workflow: checkpoint.workflow,
            id: id.into(),
            location: location.into(),
            fingerprint: checkpoint.fingerprint,
            position: checkpoint.position,
            phase: checkpoint.phase,
            attempts: None,
        }
    }

    /// The same entry, recording that the run has been claimed `attempts`
    /// times: a store that counts claims lists them with this.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{Checkpoint, CheckpointInfo, Phase};
    ///
    /// let checkpoint = Checkpoint::new("Provision", 9, 2, Phase::Running, b"{}".to_vec());
    /// let info = CheckpointInfo::new("7", "db:Provision/7", checkpoint).with_attempts(3);
    /// assert_eq!(info.attempts, Some(3));
    /// ```
    #[must_use]
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = Some(attempts);
        self
    }
}

/// Exclusive ownership of one workflow id, granted by
/// [`CheckpointStore::claim`] and held until dropped.
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::{CheckpointLease, CheckpointStore, MemoryStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryStore::new();
/// let lease = store.claim("Provision", "7").await.unwrap();
/// assert_eq!((lease.workflow(), lease.id(), lease.location()), ("Provision", "7", "memory:Provision/7"));
/// # }
/// ```
pub trait CheckpointLease: Send + Sync {
    /// The workflow's name.
    fn workflow(&self) -> &str;
    /// The workflow id.
    fn id(&self) -> &str;
    /// Where the checkpoint is kept: the name that errors use.
    fn location(&self) -> &str;

    /// Which claim of this run the lease is: 1 for the first claim of the
    /// id, one more for every claim since (a resume after a crash, a
    /// worker taking the run over, the claim of a submission), until the
    /// checkpoint is deleted. `None` (the default) if the store does not
    /// count claims.
    ///
    /// A durable run started with
    /// [`DurableOptions::with_max_attempts`](crate::durable::DurableOptions::with_max_attempts)
    /// (as a [`Worker`](crate::durable::Worker) starts them) refuses to run
    /// past the limit: a run that keeps crashing its workers is set aside
    /// instead of being retried forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{Checkpoint, CheckpointLease, CheckpointStore, MemoryStore, Phase};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryStore::new();
    /// let first = store.claim("Provision", "7").await.unwrap();
    /// assert_eq!(first.attempt(), Some(1));
    /// let checkpoint = Checkpoint::new("Provision", 1, 1, Phase::Running, b"{}".to_vec());
    /// store.save(&first, &checkpoint).await.unwrap();
    /// drop(first); // as if its process had died
    /// let second = store.claim("Provision", "7").await.unwrap();
    /// assert_eq!(second.attempt(), Some(2));
    /// # }
    /// ```
    fn attempt(&self) -> Option<u32> {
        None
    }
}

/// Where checkpoints are kept: claimed, saved, loaded, deleted, listed.
///
/// # Contract
///
/// - [`claim`](Self::claim) grants at most one live lease per (workflow, id)
///   across every process that shares the store; the lease ends when it is
///   dropped or its process dies. A second claim fails with
///   [`CheckpointError::Locked`] at once; it does not wait.
/// - [`save`](Self::save) is atomic and durable when it returns: after a
///   crash at any instant, [`load`](Self::load) returns either the previous
///   checkpoint or this one, whole. (A store emits no event: the durable
///   driver reports each save.)
/// - [`load`](Self::load) never returns a checkpoint it could not check:
///   a damaged one is an error that names it, never `None`.
/// - Nothing is removed except by [`delete`](Self::delete) and
///   [`discard`](Self::discard).
///
/// # Examples
///
/// Code that works with any store:
///
/// ```
/// use resilience_runtime::checkpoint::{CheckpointError, CheckpointStore, MemoryStore, Phase};
///
/// /// The runs left behind, and why some cannot be resumed.
/// async fn report(store: &impl CheckpointStore) -> Result<Vec<String>, CheckpointError> {
///     Ok(store
///         .list_unfinished()
///         .await?
///         .into_iter()
///         .map(|entry| match entry {
///             Ok(info) => format!("{} {}: {} steps, {}", info.workflow, info.id, info.position, info.phase),
///             Err(err) => format!("unreadable: {err}"),
///         })
///         .collect())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryStore::new();
/// store.put_raw("Provision", "7", b"garbage".to_vec());
/// assert_eq!(
///     report(&store).await.unwrap(),
///     ["unreadable: memory:Provision/7: corrupt checkpoint: it does not start with a \
///       `resilience-checkpoint <version> crc32=<hex> len=<bytes>` line"]
/// );
/// # }
/// ```
pub trait CheckpointStore: Send + Sync {
    /// Exclusive ownership of one workflow id until dropped (a file lock, a
    /// row lease).
    type Lease: CheckpointLease;

    /// Takes exclusive ownership of workflow id `id` of `workflow`.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Locked`] if a live lease exists (in this process
    /// or another); [`CheckpointError::InvalidId`] or
    /// [`CheckpointError::InvalidName`] for names that cannot be stored;
    /// [`CheckpointError::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{CheckpointError, CheckpointStore, MemoryStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryStore::new();
    /// let lease = store.claim("Provision", "7").await.unwrap();
    /// let err = store.claim("Provision", "7").await.unwrap_err();
    /// assert!(matches!(err, CheckpointError::Locked { .. }));
    /// drop(lease);
    /// assert!(store.claim("Provision", "7").await.is_ok());
    /// # }
    /// ```
    fn claim(
        &self,
        workflow: &str,
        id: &str,
    ) -> impl Future<Output = Result<Self::Lease, CheckpointError>> + Send;

    /// The checkpoint of the leased id, or `None` if there is none.
    ///
    /// # Errors
    ///
    /// [`Truncated`](CheckpointError::Truncated),
    /// [`Corrupt`](CheckpointError::Corrupt),
    /// [`Checksum`](CheckpointError::Checksum),
    /// [`UnknownVersion`](CheckpointError::UnknownVersion),
    /// [`WrongWorkflow`](CheckpointError::WrongWorkflow) and
    /// [`WrongId`](CheckpointError::WrongId) for a checkpoint that cannot be
    /// used, [`ForeignLease`](CheckpointError::ForeignLease),
    /// [`Io`](CheckpointError::Io). The definition is checked by
    /// [`Checkpoint::verify`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{CheckpointStore, MemoryStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryStore::new();
    /// let lease = store.claim("Provision", "new-run").await.unwrap();
    /// assert_eq!(store.load(&lease).await.unwrap(), None);
    /// # }
    /// ```
    fn load(
        &self,
        lease: &Self::Lease,
    ) -> impl Future<Output = Result<Option<Checkpoint>, CheckpointError>> + Send;

    /// Replaces the checkpoint of the leased id. Durable when it returns: a
    /// crash after `save` resumes from this checkpoint.
    ///
    /// If the future is dropped before it completes, the store holds either
    /// the previous checkpoint or this one, never a mix.
    ///
    /// # Errors
    ///
    /// [`WrongWorkflow`](CheckpointError::WrongWorkflow) if the checkpoint
    /// names another workflow than the lease,
    /// [`InvalidState`](CheckpointError::InvalidState),
    /// [`ForeignLease`](CheckpointError::ForeignLease),
    /// [`Io`](CheckpointError::Io).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{Checkpoint, CheckpointStore, MemoryStore, Phase};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryStore::new();
    /// let lease = store.claim("Provision", "7").await.unwrap();
    /// let checkpoint = Checkpoint::new("Provision", 1, 1, Phase::Running, b"[7]".to_vec());
    /// store.save(&lease, &checkpoint).await.unwrap();
    /// assert_eq!(store.load(&lease).await.unwrap().unwrap().position, 1);
    /// # }
    /// ```
    fn save(
        &self,
        lease: &Self::Lease,
        checkpoint: &Checkpoint,
    ) -> impl Future<Output = Result<(), CheckpointError>> + Send;

    /// Removes the checkpoint of the leased id, if any, then ends the lease:
    /// what a workflow does when it has succeeded.
    ///
    /// # Errors
    ///
    /// [`ForeignLease`](CheckpointError::ForeignLease),
    /// [`Io`](CheckpointError::Io).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{Checkpoint, CheckpointStore, MemoryStore, Phase};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryStore::new();
    /// let lease = store.claim("Provision", "7").await.unwrap();
    /// let checkpoint = Checkpoint::new("Provision", 1, 2, Phase::Running, b"{}".to_vec());
    /// store.save(&lease, &checkpoint).await.unwrap();
    /// store.delete(lease).await.unwrap();
    /// assert!(store.get_raw("Provision", "7").is_none());
    /// # }
    /// ```
    fn delete(
        &self,
        lease: Self::Lease,
    ) -> impl Future<Output = Result<(), CheckpointError>> + Send;

    /// Every checkpoint in the store, sorted by location: running ones (a
    /// crashed run, or a success kept with `with_checkpoint_kept`: its position
    /// is the number of steps), compensating ones and failed ones. A
    /// checkpoint that cannot be read is an `Err` entry that names it, not
    /// skipped.
    ///
    /// # Errors
    ///
    /// The outer error if the store itself cannot be listed
    /// ([`Io`](CheckpointError::Io)); an inner one per unreadable checkpoint,
    /// as from [`load`](Self::load).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{CheckpointStore, MemoryStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryStore::new();
    /// assert!(store.list_unfinished().await.unwrap().is_empty());
    /// # }
    /// ```
    fn list_unfinished(
        &self,
    ) -> impl Future<Output = Result<Vec<Result<CheckpointInfo, CheckpointError>>, CheckpointError>> + Send;

    /// The explicit way to throw a checkpoint away, readable or not: claims
    /// the id, deletes its checkpoint, releases it. Returns whether there
    /// was one.
    ///
    /// # Errors
    ///
    /// [`Locked`](CheckpointError::Locked) if the id is running, and the
    /// errors of [`claim`](Self::claim) and [`delete`](Self::delete).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{CheckpointStore, MemoryStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryStore::new();
    /// store.put_raw("Provision", "7", b"corrupt".to_vec());
    /// assert!(store.discard("Provision", "7").await.unwrap());
    /// assert!(!store.discard("Provision", "7").await.unwrap());
    /// # }
    /// ```
    fn discard(
        &self,
        workflow: &str,
        id: &str,
    ) -> impl Future<Output = Result<bool, CheckpointError>> + Send;
}

/// The longest workflow name or id, in bytes.
const MAX_NAME: usize = 200;

/// Checks that `workflow` and `id` can name a checkpoint.
fn check_names(location: &str, workflow: &str, id: &str) -> Result<(), CheckpointError> {
    let name_problem = if workflow.is_empty() {
        Some("it must not be empty")
    } else if workflow.len() > MAX_NAME {
        Some("it must be at most 200 bytes long")
    } else if workflow.contains(['.', '/', '\\']) {
        Some("it must not contain `.`, `/` or `\\`")
    } else if workflow.chars().any(char::is_control) {
        Some("it must not contain NUL or other control characters")
    } else {
        None
    };
    if let Some(reason) = name_problem {
        return Err(CheckpointError::InvalidName {
            location: location.to_owned(),
            workflow: workflow.to_owned(),
            reason,
        });
    }
    let id_problem = if id.is_empty() {
        Some("it must not be empty")
    } else if id.len() > MAX_NAME {
        Some("it must be at most 200 bytes long")
    } else if id.contains(['/', '\\']) {
        Some("it must not contain `/` or `\\`")
    } else if id.contains("..") {
        Some("it must not contain `..`")
    } else if id.chars().any(char::is_control) {
        Some("it must not contain NUL or other control characters")
    } else {
        None
    };
    match id_problem {
        Some(reason) => Err(CheckpointError::InvalidId {
            location: location.to_owned(),
            id: id.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Checks that a decoded checkpoint is the one of `workflow` and `id`.
fn check_owner(
    location: &str,
    workflow: &str,
    id: &str,
    found_id: &str,
    checkpoint: &Checkpoint,
) -> Result<(), CheckpointError> {
    if checkpoint.workflow != workflow {
        return Err(CheckpointError::WrongWorkflow {
            location: location.to_owned(),
            expected: workflow.to_owned(),
            found: checkpoint.workflow.clone(),
        });
    }
    if found_id != id {
        return Err(CheckpointError::WrongId {
            location: location.to_owned(),
            expected: id.to_owned(),
            found: found_id.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        let bad_ids = [
            ("", "it must not be empty"),
            ("a/b", "it must not contain `/` or `\\`"),
            ("a\\b", "it must not contain `/` or `\\`"),
            ("..", "it must not contain `..`"),
            ("a..b", "it must not contain `..`"),
            (
                "a\0b",
                "it must not contain NUL or other control characters",
            ),
            (
                "a\nb",
                "it must not contain NUL or other control characters",
            ),
        ];
        for (id, want) in bad_ids {
            match check_names("dir", "W", id) {
                Err(CheckpointError::InvalidId { reason, .. }) => {
                    assert_eq!(reason, want, "{id:?}")
                }
                other => panic!("{id:?}: {other:?}"),
            }
        }
        let long = "x".repeat(201);
        assert!(matches!(
            check_names("dir", "W", &long),
            Err(CheckpointError::InvalidId { .. })
        ));
        assert!(check_names("dir", "W", &"x".repeat(200)).is_ok());
        assert!(check_names("dir", "W", "order.42-é").is_ok());
        for workflow in ["", "a.b", "a/b", "a\0", &long] {
            assert!(
                matches!(
                    check_names("dir", workflow, "1"),
                    Err(CheckpointError::InvalidName { .. })
                ),
                "{workflow:?}"
            );
        }
    }

    #[test]
    fn phase_display() {
        let phase = Phase::Compensating {
            failed_step: "pay".into(),
            failure: "declined".into(),
            compensations: vec![
                CompensationRecord::new("ship", Err("503".into())),
                CompensationRecord::new("reserve", Ok(())),
            ],
        };
        assert_eq!(
            phase.to_string(),
            "compensating at `pay` (declined); undone: `ship` (failed: 503), `reserve` (ok)"
        );
    }
}
