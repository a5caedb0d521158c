//! [`DirectoryStore`]: one checkpoint file per workflow id, in a directory.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::format::slots;
use commit::{Committer, Op};

mod commit;
use super::{
    Checkpoint, CheckpointError, CheckpointInfo, CheckpointLease, CheckpointStore, check_names,
    check_owner, decode, encode,
};

/// The suffix of checkpoint files.
const CHECKPOINT: &str = ".checkpoint";
/// The suffix of the file a save writes before renaming it.
const TMP: &str = ".checkpoint.tmp";
/// The suffix of lock files.
const LOCK: &str = ".lock";
/// The longest file name most file systems accept, in bytes.
const MAX_FILE_NAME: usize = 255;

/// Checkpoints in a directory: the default store for a single machine.
///
/// # Files
///
/// For workflow `Provision` and id `order-42`:
///
/// - `Provision.order-42.checkpoint`: the checkpoint, in two slots that
///   saves write in turn (format version 4, see [`decode`]; each slot holds
///   the checkpoint as [`encode`] writes it, its JSON readable in the file,
///   cut into 512-byte sectors with 12 bytes of sequence number and
///   checksum each). Files an older build wrote (versions 1 to 3, a header
///   line and JSON) are read, and the next save turns them into this one.
/// - `Provision.order-42.checkpoint.tmp`: exists only during the first
///   save of an id (or one that outgrew its slots), or after a crash during
///   one; the next such save overwrites it and
///   [`list_unfinished`](CheckpointStore::list_unfinished) ignores it.
/// - `Provision.order-42.lock`: the lock file. [`claim`](CheckpointStore::claim)
///   takes an exclusive OS lock on it ([`File::try_lock`]: `flock` on Unix,
///   `LockFileEx` on Windows), which the OS releases when the lease is
///   dropped or the process dies, however it dies. It holds the pid of the
///   last holder, for the [`Locked`](CheckpointError::Locked) message, and
///   the number of claims of the run ([`CheckpointLease::attempt`]). On
///   Unix, a lock file goes with its checkpoint
///   ([`delete`](CheckpointStore::delete), [`discard`](CheckpointStore::discard)),
///   and [`DirectoryStore::remove_stale_locks`] sweeps those that outlived
///   theirs: a lock file is only ever removed by the holder of its lock,
///   who first marks it removed; a claim that locks a file marked removed
///   (it opened it just before the removal) opens the file of that name
///   anew. So two processes of this version never lock two files of one
///   name. Every process that shares the directory must run a version
///   that knows the mark (0.1 and later of this crate); an older one could
///   lock a removed file. Elsewhere lock files stay.
///
/// Use a local file system: OS locks on network file systems are not
/// reliable.
///
/// # Durability
///
/// When [`save`](CheckpointStore::save) returns `Ok`, its checkpoint is on
/// disk: it survives the process being killed and the machine losing
/// power. When [`delete`](CheckpointStore::delete) returns `Ok`, so is the
/// deletion. A crash at any instant before that leaves the old checkpoint
/// or the new one, never a mix.
///
/// The first save of an id creates the file whole: a temporary file with
/// both slots (the second one zeros), flushed (`fsync`), renamed over the
/// checkpoint, and the directory flushed. Every later save writes the slot
/// that does not hold the newest checkpoint, in place (`pwrite`), and
/// flushes it (`fdatasync`): the file's size and blocks do not change, so
/// that one flush is all it needs. A crash during the write tears at most
/// that slot; the other still holds the previous checkpoint, and
/// [`load`](CheckpointStore::load) reads the newer whole one.
/// Every 512-byte sector of a slot carries its write's sequence number and
/// a checksum: a torn write (whole sectors of two writes) is told apart
/// from damage (a sector that fails its checksum), which is an error, never
/// silently replaced by the older checkpoint. This assumes what databases
/// assume: the disk writes a 512-byte sector whole or not at all.
///
/// A checkpoint that outgrows its slot (each has room for twice the first
/// checkpoint, at least 4 KiB) is saved like the first one, into a new file
/// with bigger slots. [`delete`](CheckpointStore::delete) flushes the
/// directory.
///
/// # Group commit (Linux)
///
/// On Linux 5.8 or later, inside a tokio runtime and not on FUSE, saves
/// and deletes that wait at the same time share one flush. One task on the
/// blocking pool takes the save or delete queued first by each lease of
/// this store and its clones (a lease's later ones wait for the next
/// batch), writes them all as above but without their flushes, then flushes the
/// whole file system once (`syncfs`), and only then do their futures
/// return. A batch that creates files flushes twice: their bytes, then,
/// once they are renamed over the checkpoints, the renames. While a batch
/// flushes, the next one queues up. A save alone in its batch flushes
/// itself as above, an `fdatasync`, which costs less than a `syncfs`. So
/// 200 workflows saving at once cost a few flushes, not 200 (see
/// `benches/durable.rs` for the figures).
///
/// `syncfs` flushes every dirty page of the file system, other programs'
/// too: a build or a copy writing to the same file system lengthens the
/// batches' flushes. Put the directory on a file system of its own for
/// predictable latency. It reports a write-back error (a failing disk) of
/// any file of the file system, this store's or not, since the store was
/// opened: every save and delete of that batch then fails, and each
/// lease's next save writes a new file. (Older kernels do not report it,
/// and FUSE's `syncfs` did not ask its server to make the data durable
/// before 5.14: there, and when the kernel's version cannot be read, the
/// store does not batch.)
///
/// Elsewhere, and outside a runtime, every save flushes itself; concurrent
/// saves of many ids run on as many threads of the blocking pool, so their
/// flushes are in flight together and the kernel merges them into few
/// flushes of the disk's cache.
///
/// # Blocking
///
/// File I/O runs on tokio's blocking thread pool
/// ([`spawn_blocking`](tokio::task::spawn_blocking)) when called inside a
/// tokio runtime, and inline otherwise. An `fsync` takes from tens of
/// microseconds (a RAM-backed disk) to tens of milliseconds (a spinning
/// disk); inline, it would stall every task of the worker thread (every task
/// of a `current_thread` runtime) for that long. The hand-off costs a few
/// microseconds, small beside an fsync.
///
/// A save whose future is dropped may still complete in the background
/// (its batch is written whatever happens to its future); the lease's lock
/// is held until it has. A later save of the same lease, or its
/// [`delete`](CheckpointStore::delete), always wins over it.
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::{Checkpoint, CheckpointError, CheckpointLease, CheckpointStore, DirectoryStore, Phase};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), CheckpointError> {
/// # let tmp = std::env::temp_dir().join(format!("resilience-doc-dir-{}", std::process::id()));
/// let store = DirectoryStore::open(&tmp)?;
/// let lease = store.claim("Provision", "order-42").await?;
/// assert!(lease.location().ends_with("Provision.order-42.checkpoint"));
///
/// let checkpoint = Checkpoint::new("Provision", 9, 1, Phase::Running, b"[1]".to_vec());
/// store.save(&lease, &checkpoint).await?;
/// let bytes = std::fs::read(lease.location()).unwrap();
/// assert!(bytes.starts_with(b"resilience-checkpoint 4 seq=1 len="));
///
/// // A second run of the same id is refused while the first holds it.
/// let err = store.claim("Provision", "order-42").await.unwrap_err();
/// assert!(matches!(err, CheckpointError::Locked { .. }));
/// # store.delete(lease).await?;
/// # std::fs::remove_dir_all(&tmp).unwrap();
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct DirectoryStore {
    dir: PathBuf,
    location: String,
    /// Makes saves and deletes durable, many at a time.
    committer: Arc<Committer>,
}

/// A [`DirectoryStore`]'s lease: the open, locked lock file of one workflow
/// id. Dropping it releases the lock.
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::{CheckpointLease, CheckpointStore, DirectoryLease, DirectoryStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let tmp = std::env::temp_dir().join(format!("resilience-doc-lease-{}", std::process::id()));
/// let store = DirectoryStore::open(&tmp).unwrap();
/// let lease: DirectoryLease = store.claim("Provision", "7").await.unwrap();
/// assert_eq!(lease.id(), "7");
/// drop(lease); // released
/// assert!(store.claim("Provision", "7").await.is_ok());
/// # std::fs::remove_dir_all(&tmp).unwrap();
/// # }
/// ```
#[derive(Debug)]
pub struct DirectoryLease {
    shared: Arc<Shared>,
    workflow: String,
    id: String,
    /// Which claim of the run this is, counted in the lock file.
    attempt: u32,
}

/// What a lease shares with its saves and deletes running on the blocking
/// pool: the lock lives until the last of them is done.
#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    path: PathBuf,
    tmp: PathBuf,
    location: String,
    /// The lock file's path, removed with the checkpoint.
    lock_path: PathBuf,
    /// The locked lock file; closing it releases the lock.
    _lock: File,
    /// The sequence number of the next save.
    next_write: AtomicU64,
    writes: Mutex<Writes>,
}

/// Serialises the writes of one lease.
#[derive(Debug, Default)]
struct Writes {
    /// The sequence number of the newest save written: an older one is not
    /// written. In a batch, written but not yet flushed; a failed flush or
    /// rename puts it back to `durable`.
    last: u64,
    /// The sequence number of the newest save known to be on disk.
    durable: u64,
    /// Set by a delete: no save is written after it.
    deleted: bool,
    /// What the file on disk holds: `None` until the lease's first save
    /// reads it.
    file: Option<OnDisk>,
}

/// The checkpoint file, as the next save finds it.
#[derive(Debug)]
enum OnDisk {
    /// A file of two slots (format version 4): the next save writes the
    /// older slot in place.
    Slots(SlotFile),
    /// No file, a file of version 1 to 3, one with no whole slot, or one
    /// whose last write failed: the next save writes a new file and renames
    /// it over, with a sequence number of at least `next_seq`.
    Rewrite { next_seq: u64 },
}

/// Who makes a write durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flush {
    /// The write itself: `fdatasync` of the file it wrote in place, or the
    /// new file's `fsync`, rename and directory `fsync`.
    Own,
    /// The batch it is part of, with one flush of the file system for all
    /// its writes (see [`commit`]).
    Batch,
}

/// What a save wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Written {
    /// Into the checkpoint file, or nothing (a newer save or a delete got
    /// there first).
    InPlace,
    /// A new temporary file ([`Flush::Batch`] only), to be renamed over the
    /// checkpoint once its bytes are on disk.
    New,
}

/// The next save writes a new file: what the disk holds is unknown.
fn forget(writes: &mut Writes) {
    if let Some(OnDisk::Slots(file)) = &writes.file {
        writes.file = Some(OnDisk::Rewrite {
            next_seq: file.next_seq + 1,
        });
    }
    // A save older than the failed one, still to come, must be written (a
    // new file), not skipped as if the failed one were on disk.
    writes.last = writes.durable;
}

/// An open checkpoint file of two slots.
#[derive(Debug)]
struct SlotFile {
    file: File,
    /// The size of each slot.
    slot_size: usize,
    /// The slot that holds the newest checkpoint, 0 or 1.
    newest: usize,
    /// The sequence number of the next write: above every one in the file.
    next_seq: u64,
}

impl DirectoryStore {
    /// A store in directory `dir`, created (with its parents) if it does not
    /// exist. Error messages name files by their canonical path.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Io`] if the directory cannot be created or
    /// resolved.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::DirectoryStore;
    ///
    /// let dir = std::env::temp_dir().join(format!("resilience-doc-open-{}/checkpoints", std::process::id()));
    /// let store = DirectoryStore::open(&dir).unwrap();
    /// assert!(store.path().is_dir());
    /// # std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        let dir = dir.as_ref();
        let location = dir.display().to_string();
        // The levels that do not exist yet, deepest first.
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|level| !level.as_os_str().is_empty() && !level.is_dir())
            .map(Path::to_path_buf)
            .collect();
        fs::create_dir_all(dir)
            .map_err(|e| CheckpointError::io(&location, "create the checkpoint directory", e))?;
        let dir = fs::canonicalize(dir)
            .map_err(|e| CheckpointError::io(&location, "resolve the checkpoint directory", e))?;
        // Make every new level's entry durable, not only the last one's.
        for level in &missing {
            let level = fs::canonicalize(level).map_err(|e| {
                CheckpointError::io(&location, "resolve the checkpoint directory", e)
            })?;
            if let Some(parent) = level.parent() {
                sync_dir(parent)?;
            }
        }
        let location = dir.display().to_string();
        let committer = Arc::new(Committer::new(&dir, &location)?);
        Ok(Self {
            dir,
            location,
            committer,
        })
    }

    /// Removes the lock files whose checkpoint is gone and whose lock nobody
    /// holds (lock files that older versions left, or of a run that died
    /// before its first save); returns how many. A lock file in use, or
    /// beside a checkpoint, stays. Safe while other processes claim, save
    /// and delete in the same directory (see "Files" above). Does nothing
    /// where lock files cannot be removed safely (not Unix).
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Io`] if the directory cannot be read or a lock
    /// file cannot be removed.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::{CheckpointStore, DirectoryStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let dir = std::env::temp_dir().join(format!("resilience-doc-stale-{}", std::process::id()));
    /// let store = DirectoryStore::open(&dir).unwrap();
    /// let held = store.claim("Provision", "1").await.unwrap();
    /// drop(store.claim("Provision", "2").await.unwrap()); // claimed, never saved
    /// assert_eq!(store.remove_stale_locks().await.unwrap(), if cfg!(unix) { 1 } else { 0 });
    /// assert!(store.path().join("Provision.1.lock").exists()); // still held
    /// # drop(held);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # }
    /// ```
    pub async fn remove_stale_locks(&self) -> Result<usize, CheckpointError> {
        if !SAFE_TO_REMOVE_LOCKS {
            return Ok(0);
        }
        let (dir, location) = (self.dir.clone(), self.location.clone());
        blocking(&self.location, "remove stale lock files", move || {
            remove_stale_locks(&dir, &location)
        })
        .await
    }

    /// The directory, canonicalised.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::checkpoint::DirectoryStore;
    ///
    /// let dir = std::env::temp_dir().join(format!("resilience-doc-path-{}", std::process::id()));
    /// let store = DirectoryStore::open(&dir).unwrap();
    /// assert!(store.path().is_absolute());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The lease's shared half, if this store granted it.
    fn own<'a>(&self, lease: &'a DirectoryLease) -> Result<&'a Arc<Shared>, CheckpointError> {
        if lease.shared.dir == self.dir {
            Ok(&lease.shared)
        } else {
            Err(CheckpointError::ForeignLease {
                location: lease.shared.location.clone(),
            })
        }
    }

    /// Deletes the leased checkpoint and ends the lease; whether there was
    /// one.
    async fn remove(&self, lease: DirectoryLease) -> Result<bool, CheckpointError> {
        let shared = Arc::clone(self.own(&lease)?);
        // The clone keeps the lock until the file is gone.
        drop(lease);
        commit::submit(&self.committer, shared, Op::Delete).await
    }
}

impl CheckpointStore for DirectoryStore {
    type Lease = DirectoryLease;

    async fn claim(&self, workflow: &str, id: &str) -> Result<DirectoryLease, CheckpointError> {
        check_names(&self.location, workflow, id)?;
        let stem = format!("{workflow}.{id}");
        if stem.len() + TMP.len() > MAX_FILE_NAME {
            return Err(CheckpointError::InvalidId {
                location: self.location.clone(),
                id: id.to_owned(),
                reason: "the file name `<workflow>.<id>.checkpoint.tmp` would be longer than 255 bytes",
            });
        }
        let lock_path = self.dir.join(format!("{stem}{LOCK}"));
        let lock_location = lock_path.display().to_string();
        let (owned_workflow, owned_id) = (workflow.to_owned(), id.to_owned());
        let locked_path = lock_path.clone();
        let (lock, attempt) = blocking(&lock_location.clone(), "lock", move || {
            lock(&locked_path, lock_location, owned_workflow, owned_id)
        })
        .await?;
        let path = self.dir.join(format!("{stem}{CHECKPOINT}"));
        let shared = Shared {
            dir: self.dir.clone(),
            tmp: self.dir.join(format!("{stem}{TMP}")),
            location: path.display().to_string(),
            path,
            lock_path,
            _lock: lock,
            next_write: AtomicU64::new(1),
            writes: Mutex::default(),
        };
        Ok(DirectoryLease {
            shared: Arc::new(shared),
            workflow: workflow.to_owned(),
            id: id.to_owned(),
            attempt,
        })
    }

    async fn load(&self, lease: &DirectoryLease) -> Result<Option<Checkpoint>, CheckpointError> {
        let shared = Arc::clone(self.own(lease)?);
        let (workflow, id) = (lease.workflow.clone(), lease.id.clone());
        blocking(&lease.shared.location, "read the checkpoint", move || {
            let Some((found_id, checkpoint)) = read_checkpoint(&shared.path, &shared.location)?
            else {
                return Ok(None);
            };
            check_owner(&shared.location, &workflow, &id, &found_id, &checkpoint)?;
            Ok(Some(checkpoint))
        })
        .await
    }

    async fn save(
        &self,
        lease: &DirectoryLease,
        checkpoint: &Checkpoint,
    ) -> Result<(), CheckpointError> {
        let shared = Arc::clone(self.own(lease)?);
        if checkpoint.workflow != lease.workflow {
            return Err(CheckpointError::WrongWorkflow {
                location: shared.location.clone(),
                expected: lease.workflow.clone(),
                found: checkpoint.workflow.clone(),
            });
        }
        let bytes = encode(&lease.id, checkpoint, &shared.location)?;
        let seq = shared.next_write.fetch_add(1, Ordering::Relaxed);
        commit::submit(&self.committer, shared, Op::Save { seq, bytes }).await?;
        Ok(())
    }

    async fn delete(&self, lease: DirectoryLease) -> Result<(), CheckpointError> {
        self.remove(lease).await.map(drop)
    }

    async fn list_unfinished(
        &self,
    ) -> Result<Vec<Result<CheckpointInfo, CheckpointError>>, CheckpointError> {
        let (dir, location) = (self.dir.clone(), self.location.clone());
        blocking(&self.location, "list the directory", move || {
            list(&dir, &location)
        })
        .await
    }

    async fn discard(&self, workflow: &str, id: &str) -> Result<bool, CheckpointError> {
        let lease = self.claim(workflow, id).await?;
        self.remove(lease).await
    }
}

impl CheckpointLease for DirectoryLease {
    fn workflow(&self) -> &str {
        &self.workflow
    }

    fn id(&self) -> &str {
        &self.id
    }

    /// The checkpoint file's path.
    fn location(&self) -> &str {
        &self.shared.location
    }

    /// Counted in the lock file; on Unix the count goes with it (when the
    /// run's checkpoint is deleted), elsewhere it goes on across runs of
    /// the same id.
    fn attempt(&self) -> Option<u32> {
        Some(self.attempt)
    }
}

impl Shared {
    /// Replaces the checkpoint with `bytes` (as [`encode`] wrote them),
    /// unless a newer save or a delete got there first: durably with
    /// [`Flush::Own`]; with [`Flush::Batch`], the batch's flush makes it
    /// durable, and if the write created a new file ([`Written::New`]) the
    /// batch renames it over the checkpoint ([`Shared::rename_new`]) once
    /// its bytes are on disk.
    fn write(&self, seq: u64, bytes: &[u8], flush: Flush) -> Result<Written, CheckpointError> {
        let mut writes = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        if writes.deleted || seq <= writes.last {
            return Ok(Written::InPlace);
        }
        let on_disk = match writes.file.take() {
            Some(on_disk) => on_disk,
            None => self.probe()?,
        };
        let (result, on_disk) = match on_disk {
            OnDisk::Slots(mut file) if slots::fits(file.slot_size, bytes.len()) => {
                match self.write_in_place(&mut file, bytes, flush) {
                    Ok(()) => (Ok(Written::InPlace), OnDisk::Slots(file)),
                    // The flush failed: what the disk holds is unknown (a
                    // failed fsync may leave pages marked clean), so the
                    // next save writes a whole new file.
                    Err(e) => (
                        Err(e),
                        OnDisk::Rewrite {
                            next_seq: file.next_seq + 1,
                        },
                    ),
                }
            }
            OnDisk::Slots(file) => self.rewrite(file.next_seq, bytes, file.slot_size, flush),
            OnDisk::Rewrite { next_seq } => self.rewrite(next_seq, bytes, 0, flush),
        };
        writes.file = Some(on_disk);
        let written = result?;
        writes.last = seq;
        if flush == Flush::Own {
            writes.durable = seq;
        }
        Ok(written)
    }

    /// The batch that wrote save `seq` of this lease has flushed it (and
    /// renamed its new file, if it wrote one).
    fn flushed(&self, seq: u64) {
        let mut writes = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        writes.durable = writes.durable.max(seq);
    }

    /// Renames the new file a [`Flush::Batch`] write created over the
    /// checkpoint, once the batch has flushed its bytes; nothing if the
    /// lease deleted the checkpoint meanwhile. A failure leaves the next
    /// save to write a new file again.
    fn rename_new(&self) -> Result<(), CheckpointError> {
        let mut writes = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        if writes.deleted {
            return Ok(());
        }
        fs::rename(&self.tmp, &self.path).map_err(|e| {
            forget(&mut writes);
            CheckpointError::io(
                &self.location,
                "rename the temporary file over the checkpoint",
                e,
            )
        })
    }

    /// After a failed flush of a batch this lease wrote in: what the disk
    /// holds is unknown, so the next save writes a new file.
    fn forget(&self) {
        forget(&mut self.writes.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// What the file on disk holds, read at the first save of a lease.
    fn probe(&self) -> Result<OnDisk, CheckpointError> {
        let Some(bytes) = read(&self.path, &self.location)? else {
            return Ok(OnDisk::Rewrite { next_seq: 1 });
        };
        if !bytes.starts_with(slots::MAGIC) {
            // A file of version 1 to 3 (an older build's) or garbage.
            return Ok(OnDisk::Rewrite { next_seq: 1 });
        }
        let Ok(scan) = slots::scan(&bytes, &self.location) else {
            return Ok(OnDisk::Rewrite { next_seq: 1 });
        };
        let (slot_size, next_seq) = (scan.slot_size, scan.max_seq + 1);
        let Ok(newest) = slots::newest(scan, &self.location) else {
            return Ok(OnDisk::Rewrite { next_seq });
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(|e| CheckpointError::io(&self.location, "open the checkpoint", e))?;
        Ok(OnDisk::Slots(SlotFile {
            file,
            slot_size,
            newest: newest.slot,
            next_seq,
        }))
    }

    /// Writes `bytes` into the older slot of `file`, then flushes it (one
    /// `fdatasync`) unless the batch does.
    fn write_in_place(
        &self,
        file: &mut SlotFile,
        bytes: &[u8],
        flush: Flush,
    ) -> Result<(), CheckpointError> {
        let target = 1 - file.newest;
        let slot = slots::slot_bytes(file.next_seq, bytes);
        let offset = (target * file.slot_size) as u64;
        write_at(&file.file, &slot, offset)
            .map_err(|e| CheckpointError::io(&self.location, "write the checkpoint", e))?;
        if flush == Flush::Own {
            file.file.sync_data().map_err(|e| {
                CheckpointError::io(&self.location, "flush the checkpoint to disk", e)
            })?;
        }
        file.newest = target;
        file.next_seq += 1;
        Ok(())
    }

    /// Writes a new file holding `bytes` in slot 0 under sequence number
    /// `seq`, with slots of at least `slot_size` bytes: the temporary file,
    /// flushed, renamed over the checkpoint, and the directory flushed (or,
    /// with [`Flush::Batch`], only the temporary file: the batch does the
    /// rest). The first save of an id, and a checkpoint that outgrew its
    /// slots.
    fn rewrite(
        &self,
        seq: u64,
        bytes: &[u8],
        slot_size: usize,
        flush: Flush,
    ) -> (Result<Written, CheckpointError>, OnDisk) {
        let slot_size = slots::slot_size_for(bytes.len()).max(slot_size);
        match self.write_new(seq, bytes, slot_size, flush) {
            Ok(file) => (
                Ok(match flush {
                    Flush::Own => Written::InPlace,
                    Flush::Batch => Written::New,
                }),
                OnDisk::Slots(SlotFile {
                    file,
                    slot_size,
                    newest: 0,
                    next_seq: seq + 1,
                }),
            ),
            Err(e) => (Err(e), OnDisk::Rewrite { next_seq: seq + 1 }),
        }
    }

    fn write_new(
        &self,
        seq: u64,
        bytes: &[u8],
        slot_size: usize,
        flush: Flush,
    ) -> Result<File, CheckpointError> {
        let tmp_location = self.tmp.display().to_string();
        let tmp_location = tmp_location.as_str();
        let tmp_error = |operation| move |e| CheckpointError::io(tmp_location, operation, e);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&self.tmp)
            .map_err(tmp_error("create the temporary file"))?;
        // Every byte written, zeros included: the blocks are allocated now,
        // so that a write in place later changes no metadata and one
        // `fdatasync` makes it durable.
        file.write_all(&slots::new_file(seq, bytes, slot_size))
            .map_err(tmp_error("write the temporary file"))?;
        if flush == Flush::Batch {
            return Ok(file);
        }
        file.sync_all()
            .map_err(tmp_error("flush the temporary file to disk"))?;
        fs::rename(&self.tmp, &self.path).map_err(|e| {
            CheckpointError::io(
                &self.location,
                "rename the temporary file over the checkpoint",
                e,
            )
        })?;
        sync_dir(&self.dir)?;
        Ok(file)
    }

    /// Deletes the checkpoint (and a stale temporary file); whether there
    /// was one. No save is written after this. Durable with [`Flush::Own`];
    /// with [`Flush::Batch`], once the batch has flushed.
    fn remove(&self, flush: Flush) -> Result<bool, CheckpointError> {
        let mut writes = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        writes.deleted = true;
        writes.file = None;
        let existed = match fs::remove_file(&self.path) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => {
                return Err(CheckpointError::io(
                    &self.location,
                    "delete the checkpoint",
                    e,
                ));
            }
        };
        let tmp = match fs::remove_file(&self.tmp) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => {
                let location = self.tmp.display().to_string();
                Err(CheckpointError::io(
                    &location,
                    "delete the temporary file",
                    e,
                ))
            }
        };
        // The lock file goes too, while this lease still holds its lock:
        // marked first, so that a claim that opened it before the unlink
        // and locks it after knows it holds a removed file. Only once the
        // checkpoint is gone, and after a failure above, not at all.
        let lock = if SAFE_TO_REMOVE_LOCKS && tmp.is_ok() {
            entomb(&self._lock, &self.lock_path)
        } else {
            Ok(())
        };
        // The deletion is made durable even if a leftover could not go.
        if existed && flush == Flush::Own {
            sync_dir(&self.dir)?;
        }
        tmp.and(lock)?;
        Ok(existed)
    }
}

/// Whether lock files are removed: on Unix, where a file that another
/// process holds open can be unlinked (see [`TOMBSTONE`]).
const SAFE_TO_REMOVE_LOCKS: bool = cfg!(unix);

/// How many times a claim reopens a lock file that was removed between its
/// open and its lock before it gives up (each retry means a removal raced
/// with it; more than a few means something else is wrong).
const LOCK_RETRIES: u32 = 16;

/// Opens (creating it) and locks the lock file at `path`; counts the claim
/// in it and returns its number.
fn lock(
    path: &Path,
    location: String,
    workflow: String,
    id: String,
) -> Result<(File, u32), CheckpointError> {
    for _ in 0..LOCK_RETRIES {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| CheckpointError::io(&location, "open the lock file", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(CheckpointError::Locked {
                    location,
                    workflow,
                    id,
                    holder: holder(&file),
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(CheckpointError::io(&location, "lock the lock file", e));
            }
        }
        if is_tombstone(&file) {
            // Its holder removed it between our open and our lock: the
            // lock we hold is on a file nobody else can find. Open anew.
            continue;
        }
        // Record the holder for the next claimant's error message, and count
        // the claim. Failing loses only those details, not the lock.
        let attempt = attempts(&file).unwrap_or(0).saturating_add(1);
        let _ = file
            .set_len(0)
            .and_then(|()| (&file).seek(SeekFrom::Start(0)))
            .and_then(|_| {
                (&file).write_all(format!("{} {attempt}", std::process::id()).as_bytes())
            });
        return Ok((file, attempt));
    }
    Err(CheckpointError::io(
        &location,
        "lock the lock file",
        io::Error::other("it was removed and recreated under every attempt to lock it"),
    ))
}

/// What a lock file holds once its holder has removed it: no pid, so a
/// claim that locks such a file (opened before the removal) knows to open
/// the file of that name anew. It needs no inode numbers, so it works on
/// every file system where the OS lock works.
const TOMBSTONE: &[u8] = b"removed";

/// Marks the locked lock `file` as removed, then removes `path`. Only the
/// holder of the file's lock calls this.
fn entomb(file: &File, path: &Path) -> Result<(), CheckpointError> {
    let location = || path.display().to_string();
    file.set_len(0)
        .and_then(|()| {
            let mut file = file;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(TOMBSTONE)
        })
        .map_err(|e| CheckpointError::io(&location(), "mark the lock file removed", e))?;
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CheckpointError::io(&location(), "delete the lock file", e)),
    }
}

/// Whether the locked `file` was removed by its previous holder.
fn is_tombstone(file: &File) -> bool {
    let mut text = Vec::new();
    let mut file = file;
    file.seek(SeekFrom::Start(0)).is_ok()
        && file.read_to_end(&mut text).is_ok()
        && text == TOMBSTONE
}

/// See [`DirectoryStore::remove_stale_locks`].
fn remove_stale_locks(dir: &Path, location: &str) -> Result<usize, CheckpointError> {
    let entries =
        fs::read_dir(dir).map_err(|e| CheckpointError::io(location, "list the directory", e))?;
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| CheckpointError::io(location, "list the directory", e))?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|name| name.strip_suffix(LOCK)) else {
            continue;
        };
        // Only this store's lock files: `<workflow>.<id>.lock` with valid
        // names, never another program's `*.lock`.
        let valid = stem
            .split_once('.')
            .is_some_and(|(workflow, id)| check_names(location, workflow, id).is_ok());
        let checkpoint = dir.join(format!("{stem}{CHECKPOINT}"));
        if !valid || checkpoint.exists() {
            continue;
        }
        let lock_path = entry.path();
        let Ok(file) = OpenOptions::new().read(true).write(true).open(&lock_path) else {
            continue; // gone meanwhile
        };
        // Only the holder of a lock file's lock removes it, and only if no
        // checkpoint needs it and nobody removed it already.
        if file.try_lock().is_err() || is_tombstone(&file) || checkpoint.exists() {
            continue;
        }
        entomb(&file, &lock_path)?;
        removed += 1;
    }
    if removed > 0 {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// The pid written in a lock file (`<pid> <claims>`), if it can be read.
fn holder(mut file: &File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// The claims counted in a lock file (`<pid> <claims>`), if any.
fn attempts(mut file: &File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    claims_in(&text)
}

/// The claims in the text of a lock file.
fn claims_in(text: &str) -> Option<u32> {
    text.split_whitespace().nth(1)?.parse().ok()
}

/// The bytes of the file at `path`, or `None` if there is none.
fn read(path: &Path, location: &str) -> Result<Option<Vec<u8>>, CheckpointError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CheckpointError::io(location, "read the checkpoint", e)),
    }
}

/// How many times a checkpoint file whose slots look damaged is read again
/// before the damage is reported.
const DAMAGE_REREADS: u32 = 3;

/// The checkpoint in the file at `path`, or `None` if there is none.
///
/// A save in place may be copying its sector into the page cache at the
/// very moment this reads it (a listing while workflows run, or a save
/// whose future was dropped): the reader can see a sector half copied,
/// which fails its checksum like damage. So a file of two slots that reads
/// as damaged is read again, after a millisecond, up to
/// [`DAMAGE_REREADS`] times: a write in flight is over by then, damage
/// stays.
fn read_checkpoint(
    path: &Path,
    location: &str,
) -> Result<Option<(String, Checkpoint)>, CheckpointError> {
    let mut rereads = 0;
    loop {
        let Some(bytes) = read(path, location)? else {
            return Ok(None);
        };
        match decode(&bytes, location) {
            Err(CheckpointError::Checksum { .. } | CheckpointError::Corrupt { .. })
                if bytes.starts_with(slots::MAGIC) && rereads < DAMAGE_REREADS =>
            {
                rereads += 1;
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            decoded => return decoded.map(Some),
        }
    }
}

/// Every `*.checkpoint` file in `dir`, sorted by path.
fn list(
    dir: &Path,
    location: &str,
) -> Result<Vec<Result<CheckpointInfo, CheckpointError>>, CheckpointError> {
    let list_error = |e| CheckpointError::io(location, "list the directory", e);
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(list_error)? {
        let entry = entry.map_err(list_error)?;
        if entry
            .file_name()
            .as_encoded_bytes()
            .ends_with(CHECKPOINT.as_bytes())
        {
            paths.push(entry.path());
        }
    }
    paths.sort();
    // A file deleted since the directory was read is finished: left out.
    Ok(paths
        .iter()
        .filter_map(|path| info(path).transpose())
        .collect())
}

/// What the checkpoint file at `path` holds, or `None` if it is gone.
fn info(path: &Path) -> Result<Option<CheckpointInfo>, CheckpointError> {
    let location = path.display().to_string();
    let names = path
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_suffix(CHECKPOINT))
        .and_then(|stem| stem.split_once('.'))
        .filter(|(workflow, id)| check_names(&location, workflow, id).is_ok());
    let Some((workflow, id)) = names else {
        return Err(CheckpointError::Corrupt {
            location,
            reason: "the file name is not `<workflow>.<id>.checkpoint` \
                     with a valid workflow name and id"
                .to_owned(),
        });
    };
    let Some((found_id, checkpoint)) = read_checkpoint(path, &location)? else {
        return Ok(None);
    };
    check_owner(&location, workflow, id, &found_id, &checkpoint)?;
    Ok(Some(CheckpointInfo {
        workflow: checkpoint.workflow,
        id: found_id,
        location,
        fingerprint: checkpoint.fingerprint,
        position: checkpoint.position,
        phase: checkpoint.phase,
        attempts: fs::read_to_string(path.with_file_name(format!("{workflow}.{id}{LOCK}")))
            .ok()
            .and_then(|text| claims_in(&text)),
    }))
}

/// Flushes the entries of directory `dir` (a rename, a new or deleted
/// file) to disk. Windows has no such call: there it does nothing.
fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    if cfg!(unix) {
        File::open(dir).and_then(|dir| dir.sync_all()).map_err(|e| {
            CheckpointError::io(&dir.display().to_string(), "flush the directory to disk", e)
        })
    } else {
        Ok(())
    }
}

/// Writes all of `bytes` at `offset` of `file` (`pwrite` on Unix).
fn write_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
    }
    #[cfg(not(unix))]
    {
        let mut file = file;
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(bytes)
    }
}

/// Runs blocking file I/O on tokio's blocking pool if there is a runtime,
/// inline otherwise.
async fn blocking<T: Send + 'static>(
    location: &str,
    operation: &'static str,
    f: impl FnOnce() -> Result<T, CheckpointError> + Send + 'static,
) -> Result<T, CheckpointError> {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => match runtime.spawn_blocking(f).await {
            Ok(result) => result,
            // A panic in `f` (there is none) or a runtime shutting down.
            Err(e) => Err(CheckpointError::io(
                location,
                operation,
                io::Error::other(e),
            )),
        },
        Err(_) => f(),
    }
}
