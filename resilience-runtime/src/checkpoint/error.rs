//! [`CheckpointError`]: why a checkpoint could not be claimed, read or
//! written.

use std::io;

/// Why a checkpoint could not be claimed, read, written or listed.
///
/// Every variant names its *location*: the file (`/var/lib/app/Provision.42.checkpoint`),
/// the lock file, the store's directory, or `memory:<workflow>/<id>` for a
/// [`MemoryStore`](super::MemoryStore); [`location`](Self::location) returns
/// it. The `Display` text starts with the location and says what is wrong, so
/// that a log line is enough to find and fix the file.
///
/// None of these is ever handled by starting the workflow over: a checkpoint
/// that cannot be used is reported, and stays where it is until it is fixed
/// or thrown away with [`CheckpointStore::discard`](super::CheckpointStore::discard).
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::{Checkpoint, CheckpointError, Phase};
///
/// let checkpoint = Checkpoint::new("Provision", 0xfeed, 1, Phase::Running, b"{}".to_vec());
/// let err = checkpoint.verify("/data/Provision.42.checkpoint", "Provision", 0xbeef).unwrap_err();
/// assert!(matches!(err, CheckpointError::DefinitionChanged { expected: 0xbeef, found: 0xfeed, .. }));
/// assert_eq!(err.location(), "/data/Provision.42.checkpoint");
/// assert!(err.to_string().starts_with("/data/Provision.42.checkpoint: the definition of workflow `Provision` changed"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The workflow id cannot name a checkpoint: it is empty, longer than
    /// 200 bytes, contains `/`, `\`, `..` or a control character (NUL
    /// included), or would make a file name longer than 255 bytes.
    #[error("{location}: invalid workflow id {id:?}: {reason}")]
    InvalidId {
        /// The store (its directory, or `memory:`).
        location: String,
        /// The id that was given.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The workflow name cannot name a checkpoint: it is empty, longer than
    /// 200 bytes, or contains `.`, `/`, `\` or a control character.
    #[error("{location}: invalid workflow name {workflow:?}: {reason}")]
    InvalidName {
        /// The store (its directory, or `memory:`).
        location: String,
        /// The name that was given.
        workflow: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Another process, or another task of this one, holds this workflow id:
    /// it is running it. Two runs of one id at once would both execute its
    /// steps, so the second is refused.
    #[error(
        "{location}: {} is already running workflow `{workflow}` id `{id}`; \
         wait for it to finish, or stop it",
        holder_text(*holder)
    )]
    Locked {
        /// The lock file (or the memory location).
        location: String,
        /// The workflow's name.
        workflow: String,
        /// The workflow id.
        id: String,
        /// The process id that holds the lock, if it could be read.
        holder: Option<u32>,
    },
    /// The lease on this id is no longer this run's: it expired (its
    /// renewal did not reach the store in time, say the process was paused
    /// or cut off) or another worker has claimed the id since, with a newer
    /// fencing epoch. The store refused the write, so the new owner's
    /// progress is intact. The run must stop: another worker owns the id.
    /// Returned by stores with expiring leases (a database's rows), never
    /// by [`DirectoryStore`](super::DirectoryStore) or
    /// [`MemoryStore`](super::MemoryStore).
    #[error(
        "{location}: this run's lease on workflow `{workflow}` id `{id}` (epoch {epoch}) \
         was lost: it expired or another worker claimed the id; the write was refused, \
         stop this run"
    )]
    LeaseLost {
        /// The row (or key) of the checkpoint.
        location: String,
        /// The workflow's name.
        workflow: String,
        /// The workflow id.
        id: String,
        /// The fencing epoch of the lost lease; the new owner's is higher.
        epoch: u64,
    },
    /// The file ends early: a header line without its end, or fewer body
    /// bytes than the header announces.
    #[error("{location}: truncated checkpoint: {}", truncated_text(*expected, *found))]
    Truncated {
        /// The checkpoint file.
        location: String,
        /// The body length the header announces; `None` if the header line
        /// itself is cut off.
        expected: Option<u64>,
        /// The bytes found: of the body, or of the header line if
        /// `expected` is `None`.
        found: u64,
    },
    /// The file is not a well-formed checkpoint: a bad header line, bytes
    /// after the body, JSON that does not parse or lacks a field, a bad file
    /// name.
    #[error("{location}: corrupt checkpoint: {reason}")]
    Corrupt {
        /// The checkpoint file.
        location: String,
        /// What is wrong, with the JSON parser's message where there is one.
        reason: String,
    },
    /// The body does not match the checksum in the header: some bytes
    /// changed after the file was written.
    #[error(
        "{location}: checksum mismatch: the header says crc32={expected:08x}, \
         the body has crc32={found:08x}"
    )]
    Checksum {
        /// The checkpoint file.
        location: String,
        /// The checksum the header records.
        expected: u32,
        /// The checksum of the body as read.
        found: u32,
    },
    /// The file was written in a format version this build does not read
    /// (by a newer version of this crate, say).
    #[error(
        "{location}: unknown checkpoint format version {version} \
         (this build reads versions 1 to {})",
        super::format::NEWEST_READ
    )]
    UnknownVersion {
        /// The checkpoint file.
        location: String,
        /// The version in the header.
        version: u32,
    },
    /// The checkpoint belongs to another workflow.
    #[error("{location}: this is a checkpoint of workflow `{found}`, not of `{expected}`")]
    WrongWorkflow {
        /// The checkpoint file.
        location: String,
        /// The workflow that wanted it.
        expected: String,
        /// The workflow it records.
        found: String,
    },
    /// The checkpoint belongs to another id of the same workflow (a file
    /// copied or renamed by hand).
    #[error("{location}: this is the checkpoint of id `{found}`, not of `{expected}`")]
    WrongId {
        /// The checkpoint file.
        location: String,
        /// The id that wanted it.
        expected: String,
        /// The id it records.
        found: String,
    },
    /// The workflow's definition (its steps and their types) changed since
    /// the checkpoint was written, so its state cannot be trusted to mean
    /// the same thing.
    #[error(
        "{location}: the definition of workflow `{workflow}` changed since this checkpoint \
         was written (fingerprint {found:016x}, now {expected:016x}); finish the run with \
         the old build, or discard the checkpoint"
    )]
    DefinitionChanged {
        /// The checkpoint file.
        location: String,
        /// The workflow's name.
        workflow: String,
        /// The fingerprint of the definition now.
        expected: u64,
        /// The fingerprint recorded in the checkpoint.
        found: u64,
    },
    /// The state to save is not one JSON value.
    #[error("{location}: the state to save is not valid JSON: {reason}")]
    InvalidState {
        /// Where it was to be saved.
        location: String,
        /// The JSON parser's message.
        reason: String,
    },
    /// A lease was passed to a store other than the one that granted it.
    #[error("{location}: this lease was granted by another checkpoint store")]
    ForeignLease {
        /// The lease's location.
        location: String,
    },
    /// The operating system refused an operation.
    #[error("{location}: could not {operation}: {source}")]
    Io {
        /// The file or directory.
        location: String,
        /// What was being done, as a verb phrase: "write the temporary file".
        operation: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A store that is not made of files (a database, a remote service)
    /// failed: the connection dropped, a query was refused, a transaction
    /// was rolled back. Built with [`CheckpointError::backend`].
    #[error("{location}: could not {operation}: {source}")]
    Backend {
        /// The row, key or object the operation was about (for example
        /// `postgres:checkpoints/Provision/42`).
        location: String,
        /// What was being done, as a verb phrase: "save the checkpoint".
        operation: &'static str,
        /// The backend's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A durable workflow's inputs could not be saved in, or read back
    /// from, its checkpoint: the stored inputs do not decode as this
    /// workflow's input types (edited by hand, or the inputs' types changed),
    /// or the inputs to save are not one JSON value.
    #[error("{location}: invalid workflow inputs: {reason}")]
    InvalidInputs {
        /// The checkpoint.
        location: String,
        /// What is wrong, with the JSON parser's message.
        reason: String,
    },
}

impl CheckpointError {
    /// The file, directory or memory location the error is about.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{CheckpointStore, MemoryStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryStore::new();
    /// let _lease = store.claim("Provision", "42").await.unwrap();
    /// let err = store.claim("Provision", "42").await.unwrap_err();
    /// assert_eq!(err.location(), "memory:Provision/42");
    /// # }
    /// ```
    pub fn location(&self) -> &str {
        match self {
            Self::InvalidId { location, .. }
            | Self::InvalidName { location, .. }
            | Self::Locked { location, .. }
            | Self::LeaseLost { location, .. }
            | Self::Truncated { location, .. }
            | Self::Corrupt { location, .. }
            | Self::Checksum { location, .. }
            | Self::UnknownVersion { location, .. }
            | Self::WrongWorkflow { location, .. }
            | Self::WrongId { location, .. }
            | Self::DefinitionChanged { location, .. }
            | Self::InvalidState { location, .. }
            | Self::ForeignLease { location }
            | Self::Io { location, .. }
            | Self::Backend { location, .. }
            | Self::InvalidInputs { location, .. } => location,
        }
    }

    /// A [`Backend`](Self::Backend) error: what a store that is not made of
    /// files returns when its database or service fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::CheckpointError;
    ///
    /// let refused = std::io::Error::other("connection refused");
    /// let err = CheckpointError::backend("postgres:checkpoints/Provision/42", "save the checkpoint", refused);
    /// assert_eq!(err.location(), "postgres:checkpoints/Provision/42");
    /// assert_eq!(
    ///     err.to_string(),
    ///     "postgres:checkpoints/Provision/42: could not save the checkpoint: connection refused"
    /// );
    /// ```
    pub fn backend(
        location: impl Into<String>,
        operation: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::Backend {
            location: location.into(),
            operation,
            source: source.into(),
        }
    }

    /// An [`Io`](Self::Io) error.
    pub(crate) fn io(location: &str, operation: &'static str, source: io::Error) -> Self {
        Self::Io {
            location: location.to_owned(),
            operation,
            source,
        }
    }
}

fn holder_text(holder: Option<u32>) -> String {
    match holder {
        Some(pid) if pid == std::process::id() => {
            format!("another task of this process (pid {pid})")
        }
        Some(pid) => format!("another process (pid {pid})"),
        None => "another process (or task)".to_owned(),
    }
}

fn truncated_text(expected: Option<u64>, found: u64) -> String {
    match expected {
        Some(expected) => {
            format!("the header announces {expected} body bytes, the file has {found}")
        }
        None => format!("the header line is cut off after {found} bytes"),
    }
}
