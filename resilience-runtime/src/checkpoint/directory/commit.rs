//! Group commit: the saves and deletes of many leases made durable by one
//! flush.
//!
//! On Linux, inside a tokio runtime, a [`DirectoryStore`](super::DirectoryStore)
//! hands every save and delete to its [`Committer`]: one task on the
//! blocking pool at a time takes every job queued so far (a batch), writes
//! them all without flushing, flushes the whole file system once
//! (`syncfs`), and only then completes their futures. While it flushes, the
//! next batch queues up. A batch of one job flushes it the way a lone save
//! always did (`fdatasync` of the file, or `fsync` of a new file and its
//! directory), which is cheaper than a `syncfs`.
//!
//! A batch that creates files (the first save of an id, or one that
//! outgrew its slots) flushes twice: the new files' bytes first, then,
//! once they are renamed over the checkpoints, the renames. So a rename on
//! disk always names a whole file, as with the lone save's `fsync` before
//! its rename.
//!
//! Elsewhere (no `syncfs`), and outside a runtime, every job flushes itself
//! on the blocking pool (or inline), concurrently with the others.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use super::{Flush, Shared, Written, blocking};
use crate::checkpoint::CheckpointError;

/// What a job does.
#[derive(Debug)]
pub(super) enum Op {
    /// Save a checkpoint (as `encode` wrote it) under this lease-local
    /// sequence number.
    Save { seq: u64, bytes: Vec<u8> },
    /// Delete the checkpoint.
    Delete,
}

/// The group commit of one store (shared by its clones).
#[derive(Debug)]
pub(super) struct Committer {
    queue: Mutex<Queue>,
    /// The size of every batch committed, for the tests.
    #[cfg(test)]
    sizes: Mutex<Vec<usize>>,
    /// How many of the next flushes fail, for the tests.
    #[cfg(test)]
    failing_flushes: std::sync::atomic::AtomicU32,
    /// The directory, open: `syncfs` flushes its file system. Opened once,
    /// so that a write-back error of any file since is reported (Linux 5.8
    /// and later).
    #[cfg(target_os = "linux")]
    dir: std::fs::File,
    /// Whether saves share batches: on Linux 5.8 or later (before, `syncfs`
    /// does not report write-back errors) and not on FUSE (whose `syncfs`
    /// does not ask the server to make the data durable before Linux
    /// 5.14); elsewhere every job flushes itself.
    batches: bool,
}

#[derive(Debug, Default)]
struct Queue {
    jobs: Vec<Job>,
    /// Whether a task on the blocking pool is committing batches.
    running: bool,
}

#[derive(Debug)]
struct Job {
    shared: Arc<Shared>,
    op: Op,
    done: Done,
}

/// Where a job's result goes: for a delete, whether there was a
/// checkpoint.
type Done = oneshot::Sender<Result<bool, CheckpointError>>;

impl Committer {
    /// The committer of the store in `dir` (canonical, `location` its
    /// display).
    #[cfg_attr(not(target_os = "linux"), allow(clippy::unnecessary_wraps))]
    pub(super) fn new(dir: &std::path::Path, location: &str) -> Result<Self, CheckpointError> {
        #[cfg(not(target_os = "linux"))]
        let _ = (dir, location);
        #[cfg(target_os = "linux")]
        let dir = std::fs::File::open(dir)
            .map_err(|e| CheckpointError::io(location, "open the checkpoint directory", e))?;
        #[cfg(target_os = "linux")]
        let batches = syncfs_is_durable(&dir);
        #[cfg(not(target_os = "linux"))]
        let batches = false;
        Ok(Self {
            queue: Mutex::default(),
            #[cfg(test)]
            sizes: Mutex::default(),
            #[cfg(test)]
            failing_flushes: std::sync::atomic::AtomicU32::new(0),
            #[cfg(target_os = "linux")]
            dir,
            batches,
        })
    }
}

/// Whether one `syncfs` of the file system holding `dir` makes every write
/// before it durable and reports a failed write-back: Linux 5.8 or later
/// (read from `/proc/sys/kernel/osrelease`), and not FUSE. When unsure, no.
#[cfg(target_os = "linux")]
fn syncfs_is_durable(dir: &std::fs::File) -> bool {
    const FUSE_SUPER_MAGIC: rustix::fs::FsWord = 0x6573_5546;
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut numbers = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(str::parse::<u32>);
    let recent = match (numbers.next(), numbers.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= (5, 8),
        _ => false,
    };
    recent && rustix::fs::fstatfs(dir).is_ok_and(|fs| fs.f_type != FUSE_SUPER_MAGIC)
}

/// Runs `op` for the lease `shared`, durably: in the next batch of
/// `committer` (Linux, inside a tokio runtime), or by itself.
pub(super) async fn submit(
    committer: &Arc<Committer>,
    shared: Arc<Shared>,
    op: Op,
) -> Result<bool, CheckpointError> {
    let operation = match op {
        Op::Save { .. } => "save the checkpoint",
        Op::Delete => "delete the checkpoint",
    };
    let batched = committer.batches && tokio::runtime::Handle::try_current().is_ok();
    if !batched {
        let location = shared.location.clone();
        return blocking(&location, operation, move || run(&shared, op, Flush::Own).0).await;
    }
    let location = shared.location.clone();
    let (done, result) = oneshot::channel();
    let start = {
        let mut queue = committer
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        queue.jobs.push(Job { shared, op, done });
        !std::mem::replace(&mut queue.running, true)
    };
    if start {
        let running = Running {
            committer: Arc::clone(committer),
            stopped: false,
        };
        // Not awaited: the task ends when the queue is empty. If the
        // runtime is shutting down, the closure is dropped unrun, and so is
        // `running`, which fails the queued jobs.
        drop(tokio::task::spawn_blocking(move || running.run()));
    }
    match result.await {
        Ok(result) => result,
        Err(_) => Err(CheckpointError::io(
            &location,
            operation,
            io::Error::other(
                "the committer stopped before the checkpoint was flushed \
                 (its runtime shut down, or it panicked): it may not be on disk",
            ),
        )),
    }
}

/// The task committing batches; dropped without having stopped (unrun, or
/// unwinding), it fails the queued jobs, so that no save waits forever.
struct Running {
    committer: Arc<Committer>,
    /// Set once it stopped with an empty queue.
    stopped: bool,
}

impl Running {
    fn run(mut self) {
        loop {
            let jobs = {
                let mut queue = self
                    .committer
                    .queue
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if queue.jobs.is_empty() {
                    queue.running = false;
                    self.stopped = true;
                    return;
                }
                one_per_lease(&mut queue.jobs)
            };
            self.committer.commit(jobs);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.stopped {
            let mut queue = self
                .committer
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            queue.running = false;
            queue.jobs.clear();
        }
    }
}

/// Takes the next batch out of `queued`: the first job of each lease, in
/// queue order; a lease's later jobs stay queued, in order, for the next
/// batches. So a batch writes at most one new file per lease (they share
/// the lease's temporary path) and a lease's jobs never wait on a flush
/// together with an older job of their own.
fn one_per_lease(queued: &mut Vec<Job>) -> Vec<Job> {
    let mut batch: Vec<Job> = Vec::with_capacity(queued.len());
    let mut later = Vec::new();
    for job in queued.drain(..) {
        if batch
            .iter()
            .any(|taken| Arc::ptr_eq(&taken.shared, &job.shared))
        {
            later.push(job);
        } else {
            batch.push(job);
        }
    }
    *queued = later;
    batch
}

/// Runs one job's op with `flush`: its result, and whether it wrote a new
/// file to rename.
fn run(shared: &Shared, op: Op, flush: Flush) -> (Result<bool, CheckpointError>, bool) {
    match op {
        Op::Save { seq, bytes } => match shared.write(seq, &bytes, flush) {
            Ok(written) => (Ok(true), written == Written::New),
            Err(e) => (Err(e), false),
        },
        Op::Delete => (shared.remove(flush), false),
    }
}

impl Committer {
    /// Commits one batch: every job written, the file system flushed, every
    /// job completed.
    fn commit(&self, jobs: Vec<Job>) {
        #[cfg(test)]
        self.sizes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(jobs.len());
        let flush = if jobs.len() == 1 {
            Flush::Own
        } else {
            Flush::Batch
        };
        let mut results = Vec::with_capacity(jobs.len());
        let mut renames = Vec::new();
        let mut waiters = Vec::with_capacity(jobs.len());
        let mut saved = Vec::with_capacity(jobs.len());
        for (k, Job { shared, op, done }) in jobs.into_iter().enumerate() {
            saved.push(match op {
                Op::Save { seq, .. } => Some(seq),
                Op::Delete => None,
            });
            let (result, new) = run(&shared, op, flush);
            if new {
                renames.push(k);
            }
            results.push(result);
            waiters.push((shared, done));
        }
        if flush == Flush::Batch {
            // The new files' bytes on disk before their names. A batch has
            // one job per lease (`one_per_lease`), so each lease has at
            // most this one new file, and its temporary path is its own.
            if !renames.is_empty() {
                self.flush(&waiters, &mut results);
                for k in renames {
                    if results[k].is_ok()
                        && let Err(e) = waiters[k].0.rename_new()
                    {
                        results[k] = Err(e);
                    }
                }
            }
            if results.iter().any(Result::is_ok) {
                self.flush(&waiters, &mut results);
            }
            for (((shared, _), result), seq) in waiters.iter().zip(&results).zip(saved) {
                if let (Ok(_), Some(seq)) = (result, seq) {
                    shared.flushed(seq);
                }
            }
        }
        for ((shared, done), result) in waiters.into_iter().zip(results) {
            // The lease's lock is released (a delete's last reference to
            // it) before its future wakes up.
            drop(shared);
            // A dropped future no longer waits: nothing to tell.
            let _ = done.send(result);
        }
    }

    /// Flushes the file system of the directory; on failure, every job
    /// still successful fails, naming its own file, and its lease forgets
    /// what it knew of the disk.
    fn flush(
        &self,
        waiters: &[(Arc<Shared>, Done)],
        results: &mut [Result<bool, CheckpointError>],
    ) {
        #[cfg(target_os = "linux")]
        let flushed = rustix::fs::syncfs(&self.dir).map_err(io::Error::from);
        #[cfg(not(target_os = "linux"))]
        let flushed: io::Result<()> = Err(io::Error::from(io::ErrorKind::Unsupported));
        #[cfg(test)]
        let flushed = flushed.and_then(|()| {
            let failing = &self.failing_flushes;
            match failing.load(std::sync::atomic::Ordering::Relaxed) {
                0 => Ok(()),
                n => {
                    failing.store(n - 1, std::sync::atomic::Ordering::Relaxed);
                    Err(io::Error::other("injected write-back error"))
                }
            }
        });
        let Err(e) = flushed else {
            return;
        };
        for ((shared, _), result) in waiters.iter().zip(results) {
            if result.is_ok() {
                shared.forget();
                *result = Err(CheckpointError::io(
                    &shared.location,
                    "flush the file system to disk (syncfs)",
                    io::Error::new(e.kind(), e.to_string()),
                ));
            }
        }
    }
}

// The batches flush with `syncfs`: Linux only.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::checkpoint::{
        Checkpoint, CheckpointLease, CheckpointStore, DirectoryLease, DirectoryStore, Phase, encode,
    };

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "resilience-commit-{}-{name}-{}",
                std::process::id(),
                fastrand::u64(..)
            ));
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn running(position: u32) -> Checkpoint {
        Checkpoint::new("W", 7, position, Phase::Running, b"[1]".to_vec())
    }

    /// A job for `lease` and its result's receiver.
    fn job(
        lease: &DirectoryLease,
        op: Op,
    ) -> (Job, oneshot::Receiver<Result<bool, CheckpointError>>) {
        let (done, result) = oneshot::channel();
        let shared = Arc::clone(&lease.shared);
        (Job { shared, op, done }, result)
    }

    fn save(lease: &DirectoryLease, position: u32) -> Op {
        let bytes = encode(&lease.id, &running(position), "t").unwrap();
        let seq = lease.shared.next_write.fetch_add(1, Ordering::Relaxed);
        Op::Save { seq, bytes }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// One batch of every kind of job: a save in place, the first saves of
    /// two ids (one saved again, one deleted, in the same batch), a delete.
    /// Each gets its own result, and the files are what the jobs say, with
    /// no temporary file left.
    #[tokio::test]
    async fn one_batch_writes_in_place_creates_and_deletes() {
        use std::os::unix::fs::MetadataExt;
        let tmp = TempDir::new("batch");
        let store = DirectoryStore::open(&tmp.0).unwrap();
        let claim = |id: &'static str| store.claim("W", id);
        let (a, b, c, d) = (
            claim("a").await.unwrap(),
            claim("b").await.unwrap(),
            claim("c").await.unwrap(),
            claim("d").await.unwrap(),
        );
        store.save(&a, &running(1)).await.unwrap();
        store.save(&c, &running(1)).await.unwrap();
        let inode = std::fs::metadata(a.location()).unwrap().ino();

        let jobs = vec![
            job(&a, save(&a, 2)),
            job(&b, save(&b, 1)),
            job(&c, Op::Delete),
            job(&d, save(&d, 1)),
            job(&d, Op::Delete),
            job(&b, save(&b, 2)),
        ];
        let (jobs, mut results): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
        store.committer.commit(jobs);
        let results: Vec<_> = results
            .iter_mut()
            .map(|result| result.try_recv().unwrap().unwrap())
            .collect();
        // Saves say `true`; the deletes whether there was a checkpoint (d's
        // was never renamed into place).
        assert_eq!(results, [true, true, true, true, false, true]);
        assert_eq!(store.committer.sizes.lock().unwrap().last(), Some(&6));

        assert_eq!(store.load(&a).await.unwrap(), Some(running(2)));
        assert_eq!(std::fs::metadata(a.location()).unwrap().ino(), inode);
        assert_eq!(store.load(&b).await.unwrap(), Some(running(2)));
        drop((a, b, c, d));
        assert_eq!(
            names(&tmp.0),
            ["W.a.checkpoint", "W.a.lock", "W.b.checkpoint", "W.b.lock"]
        );
        // What a new claim (another lease) reads back.
        let b = store.claim("W", "b").await.unwrap();
        assert_eq!(store.load(&b).await.unwrap(), Some(running(2)));
        let c = store.claim("W", "c").await.unwrap();
        assert_eq!(store.load(&c).await.unwrap(), None);
    }

    /// Concurrent saves of many leases share batches, and every one of
    /// them is on disk when its future completes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_saves_share_batches() {
        const LEASES: usize = 40;
        const SAVES: u32 = 10;
        let tmp = TempDir::new("concurrent");
        let store = DirectoryStore::open(&tmp.0).unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..LEASES {
            let store = store.clone();
            tasks.spawn(async move {
                let lease = store.claim("W", &i.to_string()).await.unwrap();
                for position in 1..=SAVES {
                    store.save(&lease, &running(position)).await.unwrap();
                    // Read back by path, as another lease would after a
                    // crash: the save is in the file.
                    let bytes = std::fs::read(lease.location()).unwrap();
                    let (_, found) = crate::checkpoint::decode(&bytes, "t").unwrap();
                    assert_eq!(found.position, position);
                }
                if i % 2 == 0 {
                    store.delete(lease).await.unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let sizes = store.committer.sizes.lock().unwrap().clone();
        let jobs: usize = sizes.iter().sum();
        assert_eq!(jobs, LEASES * SAVES as usize + LEASES / 2);
        assert!(
            sizes.len() < jobs / 2,
            "{} batches for {jobs} jobs: {sizes:?}",
            sizes.len()
        );
        let listed = store.list_unfinished().await.unwrap();
        assert_eq!(listed.len(), LEASES / 2);
        for info in listed {
            assert_eq!(info.unwrap().position, SAVES);
        }
        assert!(!names(&tmp.0).iter().any(|name| name.ends_with(".tmp")));
    }

    /// A flush that fails (a write-back error) fails every job of its
    /// batch, each naming its own file; the next save of each lease writes
    /// a new file and succeeds. Failing the first of a batch's two flushes
    /// leaves the new files unrenamed.
    #[tokio::test]
    async fn a_failed_flush_fails_its_batch_and_the_next_saves_write_new_files() {
        use std::os::unix::fs::MetadataExt;
        let tmp = TempDir::new("failed-flush");
        let store = DirectoryStore::open(&tmp.0).unwrap();
        let a = store.claim("W", "a").await.unwrap();
        let b = store.claim("W", "b").await.unwrap();
        store.save(&a, &running(1)).await.unwrap();
        let inode = std::fs::metadata(a.location()).unwrap().ino();
        store.committer.failing_flushes.store(1, Ordering::Relaxed);
        let (jobs, mut results): (Vec<_>, Vec<_>) = [job(&a, save(&a, 2)), job(&b, save(&b, 1))]
            .into_iter()
            .unzip();
        store.committer.commit(jobs);
        for (result, lease) in results.iter_mut().zip([&a, &b]) {
            let err = result.try_recv().unwrap().unwrap_err();
            assert_eq!(err.location(), lease.location());
            let text = err.to_string();
            assert!(
                text.contains("syncfs") && text.contains("injected write-back error"),
                "{text}"
            );
        }
        // b's new file was never renamed into place.
        assert!(!std::path::Path::new(b.location()).exists());

        store.save(&a, &running(3)).await.unwrap();
        store.save(&b, &running(1)).await.unwrap();
        assert_ne!(std::fs::metadata(a.location()).unwrap().ino(), inode);
        drop((a, b));
        for (id, position) in [("a", 3), ("b", 1)] {
            let lease = store.claim("W", id).await.unwrap();
            assert_eq!(store.load(&lease).await.unwrap(), Some(running(position)));
        }
        assert_eq!(store.committer.failing_flushes.load(Ordering::Relaxed), 0);
    }

    /// A batch takes the first job of each lease; a lease's later jobs stay
    /// queued, in order, behind it.
    #[tokio::test]
    async fn a_batch_takes_one_job_per_lease() {
        let tmp = TempDir::new("one-per-lease");
        let store = DirectoryStore::open(&tmp.0).unwrap();
        let a = store.claim("W", "a").await.unwrap();
        let b = store.claim("W", "b").await.unwrap();
        let (a1, a2, b1, a3) = (save(&a, 1), save(&a, 2), save(&b, 1), Op::Delete);
        let mut queued: Vec<Job> = [job(&a, a1), job(&a, a2), job(&b, b1), job(&a, a3)]
            .into_iter()
            .map(|(job, _)| job)
            .collect();
        let describe = |jobs: &[Job]| -> Vec<(&str, Option<u64>)> {
            jobs.iter()
                .map(|job| {
                    let seq = match &job.op {
                        Op::Save { seq, .. } => Some(*seq),
                        Op::Delete => None,
                    };
                    let id = if Arc::ptr_eq(&job.shared, &a.shared) {
                        "a"
                    } else {
                        "b"
                    };
                    (id, seq)
                })
                .collect()
        };
        let first = one_per_lease(&mut queued);
        assert_eq!(describe(&first), [("a", Some(1)), ("b", Some(1))]);
        assert_eq!(describe(&queued), [("a", Some(2)), ("a", None)]);
        let second = one_per_lease(&mut queued);
        assert_eq!(describe(&second), [("a", Some(2))]);
        assert_eq!(describe(&queued), [("a", None)]);
    }

    /// Two saves of one lease queued together, the second outgrowing the
    /// file the first creates: each goes in its own batch, both succeed and
    /// the newer one is what a new claim reads (sharing a batch, they shared
    /// the lease's temporary file: the second truncated the first's and the
    /// second rename failed).
    #[tokio::test]
    async fn saves_of_one_lease_queued_together_each_get_their_batch() {
        let tmp = TempDir::new("same-lease");
        let store = DirectoryStore::open(&tmp.0).unwrap();
        let a = store.claim("W", "a").await.unwrap();
        let b = store.claim("W", "b").await.unwrap();
        // No save before: a committer task of this store would still be
        // around and take the jobs queued below.
        let big = Checkpoint::new("W", 7, 2, Phase::Running, vec![b'7'; 64 * 1024]);
        let first = job(&a, save(&a, 1));
        let big_op = Op::Save {
            seq: a.shared.next_write.fetch_add(1, Ordering::Relaxed),
            bytes: encode(&a.id, &big, "t").unwrap(),
        };
        let mut results = Vec::new();
        {
            let mut queue = store.committer.queue.lock().unwrap();
            for (queued, result) in [first, job(&a, big_op), job(&b, save(&b, 2))] {
                queue.jobs.push(queued);
                results.push(result);
            }
            queue.running = true;
        }
        Running {
            committer: Arc::clone(&store.committer),
            stopped: false,
        }
        .run();
        for result in &mut results {
            assert!(result.try_recv().unwrap().unwrap());
        }
        // Two batches: a's first save with b's, then a's second alone.
        assert_eq!(*store.committer.sizes.lock().unwrap(), [2, 1]);
        drop((a, b));
        let a = store.claim("W", "a").await.unwrap();
        let loaded = store.load(&a).await.unwrap().unwrap();
        assert!(
            loaded == big,
            "loaded position {}, not the big save",
            loaded.position
        );
        let b = store.claim("W", "b").await.unwrap();
        assert_eq!(store.load(&b).await.unwrap(), Some(running(2)));
        assert_eq!(
            names(&tmp.0),
            ["W.a.checkpoint", "W.a.lock", "W.b.checkpoint", "W.b.lock"]
        );
    }

    /// A save whose batch failed to flush does not count as on disk: an
    /// older save of the same lease queued after it is written, not skipped
    /// as if a newer one were there, and it is what a new claim reads.
    #[tokio::test]
    async fn an_older_save_after_a_failed_flush_is_written() {
        let tmp = TempDir::new("older-after-failure");
        let store = DirectoryStore::open(&tmp.0).unwrap();
        let a = store.claim("W", "a").await.unwrap();
        let b = store.claim("W", "b").await.unwrap();
        store.save(&a, &running(1)).await.unwrap();
        // Two saves of `a` race; the newer (position 6) is queued first.
        let older = save(&a, 5);
        let newer = save(&a, 6);
        store.committer.failing_flushes.store(1, Ordering::Relaxed);
        let (jobs, mut results): (Vec<_>, Vec<_>) =
            [job(&a, newer), job(&b, save(&b, 1))].into_iter().unzip();
        store.committer.commit(jobs);
        for result in &mut results {
            assert!(result.try_recv().unwrap().is_err());
        }
        let (jobs, mut results): (Vec<_>, Vec<_>) =
            [job(&a, older), job(&b, save(&b, 2))].into_iter().unzip();
        store.committer.commit(jobs);
        for result in &mut results {
            assert!(result.try_recv().unwrap().unwrap());
        }
        drop((a, b));
        let a = store.claim("W", "a").await.unwrap();
        assert_eq!(store.load(&a).await.unwrap(), Some(running(5)));
        let b = store.claim("W", "b").await.unwrap();
        assert_eq!(store.load(&b).await.unwrap(), Some(running(2)));
    }

    /// A committer task that never ran (its runtime shut down) fails the
    /// queued jobs instead of leaving their saves waiting forever, and the
    /// next save starts a new one.
    #[tokio::test]
    async fn a_committer_dropped_unrun_fails_the_queued_jobs() {
        let tmp = TempDir::new("unrun");
        let store = DirectoryStore::open(&tmp.0).unwrap();
        let lease = store.claim("W", "a").await.unwrap();
        let (queued, mut result) = job(&lease, save(&lease, 1));
        {
            let mut queue = store.committer.queue.lock().unwrap();
            queue.jobs.push(queued);
            queue.running = true;
        }
        drop(Running {
            committer: Arc::clone(&store.committer),
            stopped: false,
        });
        assert!(matches!(
            result.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        assert!(!store.committer.queue.lock().unwrap().running);
        store.save(&lease, &running(2)).await.unwrap();
        assert_eq!(store.load(&lease).await.unwrap(), Some(running(2)));
    }
}
