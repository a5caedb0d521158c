//! Group commit: the saves of many workflows in one statement, one
//! transaction, one WAL flush.
//!
//! Every [`save`](resilience_runtime::CheckpointStore::save) hands its row
//! to the store's committer task and waits for its batch to commit. The
//! committer takes every save waiting (up to [`MAX_BATCH`]) and writes them
//! with one `UPDATE .. FROM unnest(..)` in autocommit: one round trip and
//! one commit for the batch. Each row keeps its own fence (owner, epoch,
//! live lease): the statement returns the rows it wrote, and a save whose
//! row is not among them lost its lease, alone; the others in its batch
//! are written. One batch is in flight at a time, so two saves of one
//! lease commit in the order they were made (a second save of a row
//! already in the batch waits for the next one).

use std::collections::{HashSet, VecDeque};

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};

use crate::lease::Key;
use crate::schema;

/// The most saves one statement writes.
pub(crate) const MAX_BATCH: usize = 1024;

/// One save, as the committer writes it.
pub(crate) struct Save {
    pub(crate) key: Key,
    pub(crate) epoch: i64,
    pub(crate) bytes: Vec<u8>,
    pub(crate) fingerprint: i64,
    pub(crate) position: i64,
    pub(crate) phase: String,
    /// The lease duration to renew the row with, in seconds.
    pub(crate) lease: f64,
    /// `Ok(true)`: written; `Ok(false)`: the row's lease was lost; `Err`:
    /// the batch failed (the server's message).
    pub(crate) reply: oneshot::Sender<Result<bool, String>>,
}

/// The sending half of a committer task.
pub(crate) type Committer = mpsc::UnboundedSender<Save>;

/// Starts a committer on the current tokio runtime; it ends when every
/// [`Committer`] handle is dropped.
pub(crate) fn start(pool: Pool, owner: String) -> Committer {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(pool, owner, rx));
    tx
}

async fn run(pool: Pool, owner: String, mut rx: mpsc::UnboundedReceiver<Save>) {
    // Saves of a row that was already in the batch being formed: they go
    // in a later batch, in the order they came.
    let mut deferred: VecDeque<Save> = VecDeque::new();
    loop {
        if deferred.is_empty() {
            match rx.recv().await {
                Some(save) => deferred.push_back(save),
                None => return,
            }
        }
        let mut keys = HashSet::new();
        let mut batch = Vec::new();
        let mut later = VecDeque::new();
        for save in deferred.drain(..) {
            if batch.len() < MAX_BATCH && keys.insert(save.key.clone()) {
                batch.push(save);
            } else {
                later.push_back(save);
            }
        }
        deferred = later;
        while batch.len() < MAX_BATCH {
            let Ok(save) = rx.try_recv() else { break };
            if keys.contains(&save.key) {
                deferred.push_back(save);
            } else {
                keys.insert(save.key.clone());
                batch.push(save);
            }
        }
        commit(&pool, &owner, batch).await;
    }
}

/// Writes `batch` in one statement and answers every save in it.
async fn commit(pool: &Pool, owner: &str, batch: Vec<Save>) {
    let n = batch.len();
    let (mut workflows, mut ids, mut epochs) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut bytes, mut fingerprints, mut positions, mut phases, mut leases) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut replies = Vec::with_capacity(n);
    for save in batch {
        workflows.push(save.key.0.clone());
        ids.push(save.key.1.clone());
        epochs.push(save.epoch);
        bytes.push(save.bytes);
        fingerprints.push(save.fingerprint);
        positions.push(save.position);
        phases.push(save.phase);
        leases.push(save.lease);
        replies.push((save.key, save.reply));
    }
    let written: Result<HashSet<Key>, String> = async {
        let client = pool.get().await.map_err(|e| detailed(&e))?;
        let statement = client
            .prepare_cached(schema::SAVE_BATCH)
            .await
            .map_err(|e| detailed(&e))?;
        let rows = client
            .query(
                &statement,
                &[
                    &workflows,
                    &ids,
                    &epochs,
                    &bytes,
                    &fingerprints,
                    &positions,
                    &phases,
                    &leases,
                    &owner,
                ],
            )
            .await
            .map_err(|e| detailed(&e))?;
        Ok(rows
            .iter()
            .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1)))
            .collect())
    }
    .await;
    for (key, reply) in replies {
        // A save whose caller stopped waiting: nobody to tell.
        let _ = reply.send(match &written {
            Ok(written) => Ok(written.contains(&key)),
            Err(error) => Err(error.clone()),
        });
    }
}

/// An error with its causes (tokio-postgres puts the server's message in
/// the source).
fn detailed(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let more = error.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = error.source();
    }
    text
}
