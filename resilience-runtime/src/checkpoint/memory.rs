//! [`MemoryStore`]: checkpoints in memory, for tests.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{
    Checkpoint, CheckpointError, CheckpointInfo, CheckpointLease, CheckpointStore, check_names,
    check_owner, decode, encode,
};

/// The location of a store's invalid names.
const STORE: &str = "memory:";

/// (workflow, id)
type Key = (String, String);

/// Checkpoints in memory, with the semantics of a [`DirectoryStore`](super::DirectoryStore)
/// (one lease per id, a typed error for every damaged checkpoint), for tests.
///
/// It keeps the encoded bytes, in the file format, so a test can damage them
/// with [`put_raw`](Self::put_raw) and watch the workflow refuse them.
/// Clones share the same checkpoints. Leases are exclusive within the
/// process; nothing survives it.
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::{Checkpoint, CheckpointError, CheckpointStore, MemoryStore, Phase};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryStore::new();
/// let lease = store.claim("Provision", "7").await.unwrap();
/// let checkpoint = Checkpoint::new("Provision", 1, 1, Phase::Running, b"{}".to_vec());
/// store.save(&lease, &checkpoint).await.unwrap();
///
/// // Flip one byte of the body: the checksum catches it.
/// let mut bytes = store.get_raw("Provision", "7").unwrap();
/// *bytes.last_mut().unwrap() ^= 1;
/// store.put_raw("Provision", "7", bytes);
/// let err = store.load(&lease).await.unwrap_err();
/// assert!(matches!(err, CheckpointError::Checksum { .. }));
/// assert!(err.to_string().starts_with("memory:Provision/7: checksum mismatch"));
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The encoded checkpoints.
    entries: BTreeMap<Key, Vec<u8>>,
    /// The ids with a live lease.
    claimed: BTreeSet<Key>,
    /// How many times each id was claimed, until its checkpoint goes.
    attempts: BTreeMap<Key, u32>,
}

/// A [`MemoryStore`]'s lease; dropping it releases the id.
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::{CheckpointStore, MemoryLease, MemoryStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryStore::new();
/// let lease: MemoryLease = store.claim("Provision", "7").await.unwrap();
/// assert!(store.claim("Provision", "7").await.is_err());
/// drop(lease);
/// assert!(store.claim("Provision", "7").await.is_ok());
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryLease {
    store: Arc<Mutex<Inner>>,
    key: Key,
    location: String,
    attempt: u32,
}

impl MemoryStore {
    /// An empty store.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::MemoryStore;
    ///
    /// let store = MemoryStore::new();
    /// assert_eq!(store.get_raw("Provision", "7"), None);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `bytes` as the checkpoint of `workflow` and `id`, as they are:
    /// a test hook to corrupt, truncate or replace a checkpoint.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{CheckpointError, CheckpointStore, MemoryStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryStore::new();
    /// store.put_raw("Provision", "7", b"resilience-checkpoint 1 crc32=".to_vec());
    /// let lease = store.claim("Provision", "7").await.unwrap();
    /// assert!(matches!(store.load(&lease).await, Err(CheckpointError::Truncated { .. })));
    /// # }
    /// ```
    pub fn put_raw(&self, workflow: &str, id: &str, bytes: Vec<u8>) {
        lock(&self.inner)
            .entries
            .insert((workflow.to_owned(), id.to_owned()), bytes);
    }

    /// The stored bytes of the checkpoint of `workflow` and `id`, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::MemoryStore;
    ///
    /// let store = MemoryStore::new();
    /// store.put_raw("Provision", "7", b"abc".to_vec());
    /// assert_eq!(store.get_raw("Provision", "7").as_deref(), Some(&b"abc"[..]));
    /// ```
    pub fn get_raw(&self, workflow: &str, id: &str) -> Option<Vec<u8>> {
        lock(&self.inner)
            .entries
            .get(&(workflow.to_owned(), id.to_owned()))
            .cloned()
    }

    /// The lease's key, if this store granted it.
    fn own<'a>(&self, lease: &'a MemoryLease) -> Result<&'a Key, CheckpointError> {
        if Arc::ptr_eq(&self.inner, &lease.store) {
            Ok(&lease.key)
        } else {
            Err(CheckpointError::ForeignLease {
                location: lease.location.clone(),
            })
        }
    }

    /// Deletes the leased checkpoint and ends the lease; whether there was
    /// one.
    fn remove(&self, lease: MemoryLease) -> Result<bool, CheckpointError> {
        let key = self.own(&lease)?;
        let mut inner = lock(&self.inner);
        inner.attempts.remove(key);
        Ok(inner.entries.remove(key).is_some())
    }
}

/// `memory:<workflow>/<id>`
fn location(workflow: &str, id: &str) -> String {
    format!("{STORE}{workflow}/{id}")
}

/// The location of a listed entry.
fn entry_location(entry: &Result<CheckpointInfo, CheckpointError>) -> &str {
    match entry {
        Ok(info) => &info.location,
        Err(err) => err.location(),
    }
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CheckpointStore for MemoryStore {
    type Lease = MemoryLease;

    async fn claim(&self, workflow: &str, id: &str) -> Result<MemoryLease, CheckpointError> {
        check_names(STORE, workflow, id)?;
        let key = (workflow.to_owned(), id.to_owned());
        let location = location(workflow, id);
        let mut inner = lock(&self.inner);
        if !inner.claimed.insert(key.clone()) {
            return Err(CheckpointError::Locked {
                location,
                workflow: key.0,
                id: key.1,
                holder: Some(std::process::id()),
            });
        }
        let attempt = inner.attempts.entry(key.clone()).or_default();
        *attempt = attempt.saturating_add(1);
        let attempt = *attempt;
        drop(inner);
        Ok(MemoryLease {
            store: Arc::clone(&self.inner),
            key,
            location,
            attempt,
        })
    }

    async fn load(&self, lease: &MemoryLease) -> Result<Option<Checkpoint>, CheckpointError> {
        let (workflow, id) = self.own(lease)?;
        let Some(bytes) = self.get_raw(workflow, id) else {
            return Ok(None);
        };
        let (found_id, checkpoint) = decode(&bytes, &lease.location)?;
        check_owner(&lease.location, workflow, id, &found_id, &checkpoint)?;
        Ok(Some(checkpoint))
    }

    async fn save(
        &self,
        lease: &MemoryLease,
        checkpoint: &Checkpoint,
    ) -> Result<(), CheckpointError> {
        let (workflow, id) = self.own(lease)?;
        if checkpoint.workflow != *workflow {
            return Err(CheckpointError::WrongWorkflow {
                location: lease.location.clone(),
                expected: workflow.clone(),
                found: checkpoint.workflow.clone(),
            });
        }
        let bytes = encode(id, checkpoint, &lease.location)?;
        self.put_raw(workflow, id, bytes);
        Ok(())
    }

    async fn delete(&self, lease: MemoryLease) -> Result<(), CheckpointError> {
        self.remove(lease).map(drop)
    }

    async fn list_unfinished(
        &self,
    ) -> Result<Vec<Result<CheckpointInfo, CheckpointError>>, CheckpointError> {
        let (entries, attempts) = {
            let inner = lock(&self.inner);
            (inner.entries.clone(), inner.attempts.clone())
        };
        let info = |((workflow, id), bytes): (Key, Vec<u8>)| {
            let claims = attempts.get(&(workflow.clone(), id.clone())).copied();
            let location = location(&workflow, &id);
            let (found_id, checkpoint) = decode(&bytes, &location)?;
            check_owner(&location, &workflow, &id, &found_id, &checkpoint)?;
            Ok(CheckpointInfo {
                workflow,
                id,
                location,
                fingerprint: checkpoint.fingerprint,
                position: checkpoint.position,
                phase: checkpoint.phase,
                attempts: claims,
            })
        };
        let mut listed: Vec<_> = entries.into_iter().map(info).collect();
        listed.sort_by(|a, b| entry_location(a).cmp(entry_location(b)));
        Ok(listed)
    }

    async fn discard(&self, workflow: &str, id: &str) -> Result<bool, CheckpointError> {
        let lease = self.claim(workflow, id).await?;
        self.remove(lease)
    }
}

impl CheckpointLease for MemoryLease {
    fn workflow(&self) -> &str {
        &self.key.0
    }

    fn id(&self) -> &str {
        &self.key.1
    }

    /// `memory:<workflow>/<id>`.
    fn location(&self) -> &str {
        &self.location
    }

    /// Counted per id until its checkpoint is deleted (or, if it never
    /// had one, until the lease ends).
    fn attempt(&self) -> Option<u32> {
        Some(self.attempt)
    }
}

impl Drop for MemoryLease {
    fn drop(&mut self) {
        let mut inner = lock(&self.store);
        inner.claimed.remove(&self.key);
        if !inner.entries.contains_key(&self.key) {
            inner.attempts.remove(&self.key);
        }
    }
}
