//! [`PostgresStore`]: the pool, the owner name, and the trait's operations.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use resilience_runtime::checkpoint::{
    Checkpoint, CheckpointError, CheckpointInfo, CheckpointStore, decode, encode,
};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::NoTls;

use crate::commit::{self, Committer};
use crate::error::backend;
use crate::lease::{Key, PostgresLease};
use crate::schema::{self, STORE, TABLE};

/// The lease duration unless [`PostgresStore::with_lease`] says otherwise.
const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// Connections in a pool that [`PostgresStore::connect`] makes.
const POOL_SIZE: usize = 16;
/// How long opening one connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest workflow name or id, in bytes (as for the other stores).
const MAX_NAME: usize = 200;

/// Checkpoints in PostgreSQL: one row per workflow id, with a lease that
/// expires unless renewed and a fencing epoch, so that many workers on many
/// machines share the work and a worker that lost its lease cannot
/// overwrite its successor.
///
/// Clones share the pool, the owner name and the leases: a second claim of
/// an id through any clone is [`Locked`](CheckpointError::Locked), as it is
/// from another process. Each [`connect`](Self::connect) is a new owner.
///
/// | setting | default |
/// |---|---|
/// | lease duration ([`with_lease`](Self::with_lease)) | 30 s, renewed every 10 s |
/// | connections ([`connect`](Self::connect)) | 16, opening one times out after 10 s |
///
/// Errors name the row as `postgres:resilience_checkpoints/<workflow>/<id>`.
///
/// Where it differs from a [`DirectoryStore`](resilience_runtime::DirectoryStore):
/// a dropped lease is released at once, but the lease of a process that
/// died ends only when it expires (up to the lease duration later); and a
/// run whose lease was lost (it stalled past the expiry, or another worker
/// took the id over) gets [`LeaseLost`](CheckpointError::LeaseLost) from its
/// next save or delete, and must stop.
///
/// # Examples
///
/// ```no_run
/// use resilience_postgres::PostgresStore;
/// use resilience_runtime::checkpoint::{CheckpointError, CheckpointStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), CheckpointError> {
/// let store = PostgresStore::connect("host=/run/postgresql user=app dbname=app").await?;
/// let lease = store.claim("Provision", "42").await?;
/// let err = store.claim("Provision", "42").await.unwrap_err();
/// assert!(matches!(err, CheckpointError::Locked { .. }));
/// assert_eq!(err.location(), "postgres:resilience_checkpoints/Provision/42");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pub(crate) shared: Arc<Shared>,
    lease: Duration,
}

/// What clones of a store share.
pub(crate) struct Shared {
    pub(crate) pool: Pool,
    /// This store's name in the `owner` column: `<pid>-<random>@<host>`.
    pub(crate) owner: String,
    /// The ids with a live lease of this store.
    pub(crate) claimed: Mutex<HashSet<Key>>,
    /// The group committer that writes the saves, started by the first
    /// save (again if its runtime has shut down since).
    committer: Mutex<Option<Committer>>,
}

impl Shared {
    /// Hands `save` to the committer, starting one on the current runtime
    /// if there is none or it stopped.
    fn submit(&self, save: commit::Save) {
        let mut committer = self
            .committer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let save = match committer.as_ref() {
            Some(tx) => match tx.send(save) {
                Ok(()) => return,
                Err(mpsc::error::SendError(save)) => save,
            },
            None => save,
        };
        let tx = commit::start(self.pool.clone(), self.owner.clone());
        // A new channel whose receiver lives in the task just spawned.
        let _ = tx.send(save);
        *committer = Some(tx);
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("owner", &self.shared.owner)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (a `postgres://` URL or a
    /// `key=value` string, as `tokio_postgres::Config` reads them; `host`
    /// may be a socket directory), without TLS, with a pool of 16
    /// connections, and creates the tables if they are missing.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Backend`] if `url` cannot be parsed, the server
    /// cannot be reached, or its tables have a newer schema version than
    /// this build reads.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use resilience_postgres::PostgresStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), resilience_runtime::CheckpointError> {
    /// let store = PostgresStore::connect("postgres://app:secret@localhost:5432/app").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, CheckpointError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| backend(STORE, "parse the connection string", e))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| backend(STORE, "build the connection pool", e))?;
        Self::from_pool(pool).await
    }

    /// A store on a pool of your own (for TLS, or other settings), creating
    /// the tables if they are missing.
    ///
    /// # Errors
    ///
    /// As for [`connect`](Self::connect).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use deadpool_postgres::{Manager, Pool};
    /// use resilience_postgres::PostgresStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let config: tokio_postgres::Config = "host=localhost user=app".parse()?;
    /// let pool = Pool::builder(Manager::new(config, tokio_postgres::NoTls)).max_size(4).build()?;
    /// let store = PostgresStore::from_pool(pool).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn from_pool(pool: Pool) -> Result<Self, CheckpointError> {
        let mut client = pool
            .get()
            .await
            .map_err(|e| backend(STORE, "connect to the database", e))?;
        schema::ensure(&mut client).await?;
        Ok(Self {
            shared: Arc::new(Shared {
                pool,
                owner: format!(
                    "{}-{:016x}@{}",
                    std::process::id(),
                    fastrand::u64(..),
                    host_name()
                ),
                claimed: Mutex::default(),
                committer: Mutex::default(),
            }),
            lease: DEFAULT_LEASE,
        })
    }

    /// The same store with leases of `lease` (default 30 s), renewed every
    /// third of it while held. A worker that cannot reach the database for
    /// longer loses its lease to the next worker that claims the id.
    ///
    /// # Panics
    ///
    /// If `lease` is under 3 ms.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use resilience_postgres::PostgresStore;
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), resilience_runtime::CheckpointError> {
    /// let store = PostgresStore::connect("host=/run/postgresql").await?.with_lease(Duration::from_secs(10));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        assert!(
            lease >= Duration::from_millis(3),
            "a lease must last at least 3ms, got {lease:?}"
        );
        self.lease = lease;
        self
    }

    /// The lease duration.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), resilience_runtime::CheckpointError> {
    /// let store = resilience_postgres::PostgresStore::connect("host=/run/postgresql").await?;
    /// assert_eq!(store.lease(), std::time::Duration::from_secs(30));
    /// # Ok(())
    /// # }
    /// ```
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// This store's name in the `owner` column (`<pid>-<random hex>@<host>`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), resilience_runtime::CheckpointError> {
    /// let store = resilience_postgres::PostgresStore::connect("host=/run/postgresql").await?;
    /// assert!(store.owner().starts_with(&format!("{}-", std::process::id())));
    /// # Ok(())
    /// # }
    /// ```
    pub fn owner(&self) -> &str {
        &self.shared.owner
    }

    /// A pooled connection; errors name `location`.
    async fn client(
        &self,
        location: &str,
        operation: &'static str,
    ) -> Result<deadpool_postgres::Client, CheckpointError> {
        self.shared
            .pool
            .get()
            .await
            .map_err(|e| backend(location, operation, e))
    }

    /// The lease's key, if this store granted it.
    fn own<'a>(&self, lease: &'a PostgresLease) -> Result<&'a Key, CheckpointError> {
        if Arc::ptr_eq(&self.shared, &lease.shared) {
            Ok(&lease.key)
        } else {
            Err(CheckpointError::ForeignLease {
                location: lease.location.clone(),
            })
        }
    }

    /// Deletes the row of a lease; whether it held a checkpoint.
    async fn remove(&self, lease: PostgresLease) -> Result<bool, CheckpointError> {
        let (workflow, id) = self.own(&lease)?;
        let location = &lease.location;
        let failed = |e| backend(location, "delete the checkpoint", e);
        let client = self.client(location, "delete the checkpoint").await?;
        let epoch = lease.epoch_i64();
        let statement = client
            .prepare_cached(schema::DELETE)
            .await
            .map_err(failed)?;
        let row = client
            .query_opt(&statement, &[workflow, id, &self.shared.owner, &epoch])
            .await
            .map_err(failed)?;
        let result = match row {
            Some(row) => Ok(row.get(0)),
            None => Err(lease.lost()),
        };
        drop(lease.finish());
        result
    }
}

pub(crate) fn lock(claimed: &Mutex<HashSet<Key>>) -> MutexGuard<'_, HashSet<Key>> {
    claimed.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `postgres:resilience_checkpoints/<workflow>/<id>`
pub(crate) fn location(workflow: &str, id: &str) -> String {
    format!("postgres:{TABLE}/{workflow}/{id}")
}

/// This machine's name, as the kernel has it (empty if unknown).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

/// The pid in an owner name `<pid>-<random>@<host>`, if it is a process of
/// this machine (a pid of another machine would be named as ours).
fn holder_pid(owner: &str, this_host: &str) -> Option<u32> {
    let (process, host) = owner.rsplit_once('@')?;
    if host != this_host {
        return None;
    }
    process.split_once('-')?.0.parse().ok()
}

/// Seconds, as `make_interval` takes them.
pub(crate) fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

/// The same checks of names as the other stores, so that a workflow id
/// that works on one store works on all.
fn check_names(workflow: &str, id: &str) -> Result<(), CheckpointError> {
    let problem = |name: &str, forbidden: &[char]| {
        if name.is_empty() {
            Some("it must not be empty")
        } else if name.len() > MAX_NAME {
            Some("it must be at most 200 bytes long")
        } else if name.contains(forbidden) {
            Some(if forbidden.contains(&'.') {
                "it must not contain `.`, `/` or `\\`"
            } else {
                "it must not contain `/` or `\\`"
            })
        } else if name.chars().any(char::is_control) {
            Some("it must not contain NUL or other control characters")
        } else {
            None
        }
    };
    if let Some(reason) = problem(workflow, &['.', '/', '\\']) {
        return Err(CheckpointError::InvalidName {
            location: STORE.to_owned(),
            workflow: workflow.to_owned(),
            reason,
        });
    }
    let reason = problem(id, &['/', '\\'])
        .or_else(|| id.contains("..").then_some("it must not contain `..`"));
    match reason {
        Some(reason) => Err(CheckpointError::InvalidId {
            location: STORE.to_owned(),
            id: id.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Decodes a row's checkpoint and checks that it is the row's.
fn decode_row(
    location: &str,
    workflow: &str,
    id: &str,
    bytes: &[u8],
) -> Result<Checkpoint, CheckpointError> {
    let (found_id, checkpoint) = decode(bytes, location)?;
    if checkpoint.workflow != workflow {
        return Err(CheckpointError::WrongWorkflow {
            location: location.to_owned(),
            expected: workflow.to_owned(),
            found: checkpoint.workflow,
        });
    }
    if found_id != id {
        return Err(CheckpointError::WrongId {
            location: location.to_owned(),
            expected: id.to_owned(),
            found: found_id,
        });
    }
    Ok(checkpoint)
}

/// A fingerprint in a `bigint` column, bit for bit.
fn fingerprint_column(fingerprint: u64) -> i64 {
    i64::from_ne_bytes(fingerprint.to_ne_bytes())
}

impl CheckpointStore for PostgresStore {
    type Lease = PostgresLease;

    async fn claim(&self, workflow: &str, id: &str) -> Result<PostgresLease, CheckpointError> {
        check_names(workflow, id)?;
        let key: Key = (workflow.to_owned(), id.to_owned());
        let location = location(workflow, id);
        let locked = |holder| CheckpointError::Locked {
            location: location.clone(),
            workflow: workflow.to_owned(),
            id: id.to_owned(),
            holder,
        };
        if !lock(&self.shared.claimed).insert(key.clone()) {
            return Err(locked(Some(std::process::id())));
        }
        // From here on, an early return must give the key back.
        let unclaim = |err| {
            lock(&self.shared.claimed).remove(&key);
            err
        };
        let failed = |e| backend(&location, "claim the lease", e);
        let client = self
            .client(&location, "claim the lease")
            .await
            .map_err(unclaim)?;
        let owner = &self.shared.owner;
        let statement = client
            .prepare_cached(schema::CLAIM)
            .await
            .map_err(|e| unclaim(failed(e)))?;
        let row = client
            .query_opt(&statement, &[&workflow, &id, owner, &secs(self.lease)])
            .await
            .map_err(|e| unclaim(failed(e)))?;
        let Some(row) = row else {
            let holder = client
                .query_opt(schema::HOLDER, &[&workflow, &id])
                .await
                .ok()
                .flatten()
                .and_then(|row| holder_pid(row.get(0), &host_name()));
            return Err(unclaim(locked(holder)));
        };
        let epoch: i64 = row.get(0);
        let attempt: i32 = row.get(1);
        Ok(
            PostgresLease::start(Arc::clone(&self.shared), key, location, epoch, self.lease)
                .with_attempt(attempt),
        )
    }

    async fn load(&self, lease: &PostgresLease) -> Result<Option<Checkpoint>, CheckpointError> {
        let (workflow, id) = self.own(lease)?;
        let location = &lease.location;
        let client = self.client(location, "load the checkpoint").await?;
        let failed = |e| backend(location, "load the checkpoint", e);
        let statement = client.prepare_cached(schema::LOAD).await.map_err(failed)?;
        let row = client
            .query_opt(&statement, &[workflow, id])
            .await
            .map_err(failed)?;
        match row.and_then(|row| row.get::<_, Option<Vec<u8>>>(0)) {
            None => Ok(None),
            Some(bytes) => decode_row(location, workflow, id, &bytes).map(Some),
        }
    }

    async fn save(
        &self,
        lease: &PostgresLease,
        checkpoint: &Checkpoint,
    ) -> Result<(), CheckpointError> {
        let (workflow, id) = self.own(lease)?;
        let location = &lease.location;
        if checkpoint.workflow != *workflow {
            return Err(CheckpointError::WrongWorkflow {
                location: location.clone(),
                expected: workflow.clone(),
                found: checkpoint.workflow.clone(),
            });
        }
        if lease.is_lost() {
            return Err(lease.lost());
        }
        let bytes = encode(id, checkpoint, location)?;
        // Handed to the committer, which writes it with the saves of other
        // workflows waiting at the same time, in one statement and one
        // commit; durable once the answer comes.
        let (reply, answer) = oneshot::channel();
        self.shared.submit(commit::Save {
            key: (workflow.clone(), id.clone()),
            epoch: lease.epoch_i64(),
            bytes,
            fingerprint: fingerprint_column(checkpoint.fingerprint),
            position: i64::from(checkpoint.position),
            phase: checkpoint.phase.to_string(),
            lease: secs(self.lease),
            reply,
        });
        let failed = |e: String| backend(location, "save the checkpoint", e);
        let written = answer
            .await
            .map_err(|_| failed("the committer task stopped (its runtime shut down)".to_owned()))?
            .map_err(failed)?;
        if !written {
            lease.mark_lost();
            return Err(lease.lost());
        }
        Ok(())
    }

    async fn delete(&self, lease: PostgresLease) -> Result<(), CheckpointError> {
        self.remove(lease).await.map(drop)
    }

    async fn list_unfinished(
        &self,
    ) -> Result<Vec<Result<CheckpointInfo, CheckpointError>>, CheckpointError> {
        let failed = |e| backend(STORE, "list the checkpoints", e);
        let client = self.client(STORE, "list the checkpoints").await?;
        let rows = client.query(schema::LIST, &[]).await.map_err(failed)?;
        let mut listed: Vec<(String, Result<CheckpointInfo, CheckpointError>)> = rows
            .iter()
            .map(|row| {
                let (workflow, id): (String, String) = (row.get(0), row.get(1));
                let bytes: Vec<u8> = row.get(2);
                let attempts = u32::try_from(row.get::<_, i32>(3)).unwrap_or(0);
                let location = location(&workflow, &id);
                let entry = decode_row(&location, &workflow, &id, &bytes).map(|checkpoint| {
                    CheckpointInfo::new(id, location.clone(), checkpoint).with_attempts(attempts)
                });
                (location, entry)
            })
            .collect();
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(listed.into_iter().map(|(_, entry)| entry).collect())
    }

    async fn discard(&self, workflow: &str, id: &str) -> Result<bool, CheckpointError> {
        let lease = self.claim(workflow, id).await?;
        self.remove(lease).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_as_by_the_other_stores() {
        for id in ["", "a/b", "a\\b", "..", "a\0b", &"x".repeat(201)] {
            assert!(
                matches!(check_names("W", id), Err(CheckpointError::InvalidId { .. })),
                "{id:?}"
            );
        }
        for workflow in ["", "a.b", "a/b", "a\nb"] {
            assert!(
                matches!(
                    check_names(workflow, "1"),
                    Err(CheckpointError::InvalidName { .. })
                ),
                "{workflow:?}"
            );
        }
        assert!(check_names("W", "order.42-é").is_ok());
    }

    #[test]
    fn owners_name_their_process() {
        assert_eq!(holder_pid("4242-00ff@db-1", "db-1"), Some(4242));
        assert_eq!(holder_pid("4242-00ff@db-2", "db-1"), None);
        assert_eq!(holder_pid("garbage", ""), None);
        assert_eq!(fingerprint_column(u64::MAX), -1);
    }
}
