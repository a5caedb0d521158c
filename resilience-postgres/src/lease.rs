//! [`PostgresLease`]: a row lease, its heartbeat, and its release on drop.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use resilience_runtime::checkpoint::{CheckpointError, CheckpointLease};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::schema;
use crate::store::{Shared, lock, secs};

/// (workflow, id)
pub(crate) type Key = (String, String);

/// A [`PostgresStore`](crate::PostgresStore)'s lease on one workflow id:
/// the row's owner and fencing epoch, renewed by a background task every
/// third of the lease duration while it lives.
///
/// Dropping it stops the renewal and releases the row at once (in a
/// spawned task; if that cannot run, the lease simply expires). A lease
/// whose renewal failed past its expiry, or whose id another worker has
/// claimed since, makes the next save fail with
/// [`CheckpointError::LeaseLost`].
///
/// # Examples
///
/// ```no_run
/// use resilience_postgres::{PostgresLease, PostgresStore};
/// use resilience_runtime::checkpoint::{CheckpointLease, CheckpointStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), resilience_runtime::CheckpointError> {
/// let store = PostgresStore::connect("host=/run/postgresql").await?;
/// let lease: PostgresLease = store.claim("Provision", "42").await?;
/// assert_eq!(lease.location(), "postgres:resilience_checkpoints/Provision/42");
/// assert!(lease.epoch() >= 1);
/// # Ok(())
/// # }
/// ```
pub struct PostgresLease {
    pub(crate) shared: Arc<Shared>,
    pub(crate) key: Key,
    pub(crate) location: String,
    epoch: i64,
    /// Set when the store refused a renewal or a save: the lease is gone.
    lost: Arc<AtomicBool>,
    heartbeat: JoinHandle<()>,
    /// The runtime the lease was claimed on, to release it from `drop`.
    runtime: Handle,
    /// Set once a delete has ended the row: nothing to release.
    finished: bool,
    /// Which claim of the row this is (the `attempts` column).
    attempt: u32,
}

impl fmt::Debug for PostgresLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLease")
            .field("location", &self.location)
            .field("owner", &self.shared.owner)
            .field("epoch", &self.epoch)
            .field("lost", &self.is_lost())
            .finish_non_exhaustive()
    }
}

impl PostgresLease {
    /// A lease just claimed with `epoch`; starts its heartbeat.
    pub(crate) fn start(
        shared: Arc<Shared>,
        key: Key,
        location: String,
        epoch: i64,
        duration: Duration,
    ) -> Self {
        let lost = Arc::new(AtomicBool::new(false));
        let heartbeat = tokio::spawn(heartbeat(
            Arc::clone(&shared),
            key.clone(),
            location.clone(),
            epoch,
            duration,
            Arc::clone(&lost),
        ));
        Self {
            shared,
            key,
            location,
            epoch,
            lost,
            heartbeat,
            runtime: Handle::current(),
            finished: false,
            attempt: 0,
        }
    }

    /// The same lease, the `attempt`th claim of its row.
    pub(crate) fn with_attempt(mut self, attempt: i32) -> Self {
        self.attempt = u32::try_from(attempt).unwrap_or(0);
        self
    }

    /// The fencing epoch: every claim gets a higher one than all claims
    /// before it (of any id), so a newer owner's is higher.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use resilience_runtime::checkpoint::CheckpointStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), resilience_runtime::CheckpointError> {
    /// let store = resilience_postgres::PostgresStore::connect("host=/run/postgresql").await?;
    /// let first = store.claim("Provision", "42").await?.epoch();
    /// let second = store.claim("Provision", "42").await?.epoch();
    /// assert!(second > first);
    /// # Ok(())
    /// # }
    /// ```
    pub fn epoch(&self) -> u64 {
        u64::try_from(self.epoch).unwrap_or(0)
    }

    /// Whether the store has already told this lease that it is lost (a
    /// refused renewal or save). `false` does not promise that it is live.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use resilience_runtime::checkpoint::CheckpointStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), resilience_runtime::CheckpointError> {
    /// let store = resilience_postgres::PostgresStore::connect("host=/run/postgresql").await?;
    /// let lease = store.claim("Provision", "42").await?;
    /// assert!(!lease.is_lost());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    pub(crate) fn epoch_i64(&self) -> i64 {
        self.epoch
    }

    pub(crate) fn mark_lost(&self) {
        self.lost.store(true, Ordering::Relaxed);
        self.heartbeat.abort();
    }

    /// The row is gone (deleted by this lease, or lost): nothing to release.
    pub(crate) fn finish(mut self) -> Self {
        self.finished = true;
        self
    }

    /// The error for a lost lease.
    pub(crate) fn lost(&self) -> CheckpointError {
        CheckpointError::LeaseLost {
            location: self.location.clone(),
            workflow: self.key.0.clone(),
            id: self.key.1.clone(),
            epoch: self.epoch(),
        }
    }
}

/// Renews the lease every third of `duration` until it is aborted or told
/// the lease is gone. A failed round trip is retried at the next tick; if
/// none succeeds before the expiry, the renewal after it finds the lease
/// expired and marks it lost.
async fn heartbeat(
    shared: Arc<Shared>,
    key: Key,
    location: String,
    epoch: i64,
    duration: Duration,
    lost: Arc<AtomicBool>,
) {
    let period = duration / 3;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let renewed = match shared.pool.get().await {
            Ok(client) => match client.prepare_cached(schema::RENEW).await {
                Ok(statement) => client
                    .execute(
                        &statement,
                        &[&key.0, &key.1, &shared.owner, &epoch, &secs(duration)],
                    )
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        match renewed {
            Ok(0) => {
                tracing::warn!(%location, epoch, "checkpoint lease lost: it expired or another worker claimed the id");
                lost.store(true, Ordering::Relaxed);
                return;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%location, epoch, %error, "could not renew the checkpoint lease; retrying");
            }
        }
    }
}

impl CheckpointLease for PostgresLease {
    fn workflow(&self) -> &str {
        &self.key.0
    }

    fn id(&self) -> &str {
        &self.key.1
    }

    /// `postgres:resilience_checkpoints/<workflow>/<id>`.
    fn location(&self) -> &str {
        &self.location
    }

    /// The `attempts` column: claims of the row since it was created (a
    /// row goes when its run finishes, or when a claim that saved nothing
    /// ends).
    fn attempt(&self) -> Option<u32> {
        Some(self.attempt)
    }
}

impl Drop for PostgresLease {
    fn drop(&mut self) {
        self.heartbeat.abort();
        lock(&self.shared.claimed).remove(&self.key);
        if self.finished || self.is_lost() {
            return;
        }
        // Release at once so that another worker need not wait for the
        // expiry; fenced by the epoch, so a release that arrives after this
        // store claimed the id again does nothing.
        let shared = Arc::clone(&self.shared);
        let (workflow, id) = self.key.clone();
        let epoch = self.epoch;
        let location = self.location.clone();
        let runtime = Handle::try_current().unwrap_or_else(|_| self.runtime.clone());
        drop(runtime.spawn(async move {
            let released = match shared.pool.get().await {
                Ok(client) => client
                    .execute(schema::RELEASE, &[&workflow, &id, &shared.owner, &epoch])
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(error) = released {
                tracing::debug!(%location, %error, "could not release the checkpoint lease; it will expire");
            }
        }));
    }
}
