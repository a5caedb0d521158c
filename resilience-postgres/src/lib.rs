//! [`PostgresStore`]: checkpoints of durable workflows in PostgreSQL, shared
//! by many workers on many machines.
//!
//! Depend on `resilience` with its `postgres` feature and use
//! `resilience::PostgresStore`; this crate is its implementation, kept apart
//! so that the common build does not compile a database driver.
//!
//! # How it works
//!
//! One row per workflow id in `resilience_checkpoints`, created by
//! [`PostgresStore::connect`] if missing (with a schema version in
//! `resilience_schema`, so that a later release can migrate it):
//!
//! | column | what |
//! |---|---|
//! | `workflow`, `id` | the primary key |
//! | `owner`, `epoch`, `lease_until` | the lease: who holds it, its fencing epoch, until when |
//! | `checkpoint` | the checkpoint in the versioned, checksummed format of [`encode`](resilience_runtime::checkpoint::encode); `NULL` while a claimed run has saved nothing |
//! | `fingerprint`, `position`, `phase` | copies for people and SQL queries; never read back |
//! | `updated_at` | the last save |
//! | `attempts` | how many times the run has been claimed (schema version 2): a worker sets aside a run that keeps crashing its workers |
//!
//! **Leases, not locks.** No connection holds a lock while a workflow runs.
//! A [`claim`](resilience_runtime::CheckpointStore::claim) is one statement
//! (`INSERT .. ON CONFLICT DO UPDATE .. WHERE lease_until <= now()`) that
//! records this store's owner, a lease expiry and a new, higher fencing
//! epoch; a row whose lease is live is
//! [`Locked`](resilience_runtime::CheckpointError::Locked) at once. While a
//! lease lives, a task renews it every third of the lease duration. Every
//! save and delete is an `UPDATE`/`DELETE .. WHERE owner = .. AND epoch =
//! ..`: a worker that lost its lease (paused past the expiry, cut off from
//! the database) and was replaced gets
//! [`LeaseLost`](resilience_runtime::CheckpointError::LeaseLost) and cannot
//! overwrite the new owner's progress. All times are the database's clock.
//!
//! **Group commit.** Saves of many workflows at once share one commit: each
//! save hands its row to the store's committer task, which writes every
//! save waiting (up to 1024) with one `UPDATE .. FROM unnest(..)`, one
//! transaction and so one WAL flush, and answers each save once that
//! commit is durable. Each row keeps its own fence: a save whose lease was
//! lost fails alone with `LeaseLost`, and the others of its batch are
//! written. One batch is in flight at a time, so the saves of one lease
//! commit in the order they were made.
//!
//! # Examples
//!
//! ```no_run
//! use resilience_postgres::PostgresStore;
//! use resilience_runtime::checkpoint::{Checkpoint, CheckpointStore, Phase};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), resilience_runtime::CheckpointError> {
//! let store = PostgresStore::connect("postgres://app@db.internal/app")
//!     .await?
//!     .with_lease(Duration::from_secs(30));
//! let lease = store.claim("Provision", "order-42").await?;
//! let checkpoint = Checkpoint::new("Provision", 0x5eed, 1, Phase::Running, b"{}".to_vec());
//! store.save(&lease, &checkpoint).await?;
//! store.delete(lease).await?;
//! # Ok(())
//! # }
//! ```

mod commit;
mod error;
mod lease;
mod schema;
mod store;

pub use lease::PostgresLease;
pub use store::PostgresStore;

/// The driver, for [`PostgresStore::from_pool`]'s configuration and for
/// queries of your own beside the store, without a dependency of your own
/// on it (the same version as the store's).
pub use tokio_postgres;

/// The connection pool of [`PostgresStore::from_pool`].
pub use deadpool_postgres;
