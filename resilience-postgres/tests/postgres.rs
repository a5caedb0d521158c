//! `PostgresStore` on a real PostgreSQL started for these tests: the whole
//! `CheckpointStore` contract (as the directory and memory stores keep it),
//! leases with fencing epochs and heartbeats, concurrent claims, the schema,
//! and a durable workflow run end to end.
//!
//! Without PostgreSQL on the machine every test prints that it was skipped
//! and passes, unless `RESILIENCE_REQUIRE_POSTGRES=1` (see `support`).

// `pub workflow`s need `pub` step and error types; a test crate exports
// nothing, so these lints of the workspace table do not apply.
#![allow(missing_docs, missing_debug_implementations, unreachable_pub)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use resilience::checkpoint::{
    Checkpoint, CheckpointError, CheckpointLease, CheckpointStore, CompensationRecord, Phase,
    encode,
};
use resilience::workflow;
use resilience_postgres::PostgresStore;
use tokio::time::{Instant, sleep, timeout};

const ROW: &str = "postgres:resilience_checkpoints";

/// A fresh database and a store on it; `None`: PostgreSQL is not here.
async fn store() -> Option<(String, PostgresStore)> {
    let url = support::database().await?;
    let store = PostgresStore::connect(&url).await.unwrap();
    Some((url, store))
}

macro_rules! store_or_skip {
    () => {
        match store().await {
            Some(found) => found,
            None => return,
        }
    };
}

fn running(workflow: &str, position: u32) -> Checkpoint {
    Checkpoint::new(
        workflow,
        0xfeed_0000_beef_0001,
        position,
        Phase::Running,
        serde_json::to_vec(
            &serde_json::json!({ "After": { "create": position, "name": "ü\n\"" } }),
        )
        .unwrap(),
    )
}

fn failed(workflow: &str) -> Checkpoint {
    let mut checkpoint = running(workflow, 2);
    checkpoint.phase = Phase::Failed {
        failed_step: "configure".into(),
        failure: "the API is busy".into(),
        compensations: vec![
            CompensationRecord::new("reserve", Err("503".into())),
            CompensationRecord::new("create", Ok(())),
        ],
    };
    checkpoint
}

/// Asserts that `err` names `location` first and contains `words`.
#[track_caller]
fn assert_names(err: &CheckpointError, location: &str, words: &str) {
    let text = err.to_string();
    assert_eq!(err.location(), location, "{text}");
    assert!(text.starts_with(&format!("{location}: ")), "{text}");
    assert!(text.contains(words), "{text:?} should contain {words:?}");
}

/// Replaces a row's stored checkpoint bytes, as damage would.
async fn put_raw(url: &str, workflow: &str, id: &str, bytes: &[u8]) {
    let client = support::connect(url).await;
    client
        .execute(
            "INSERT INTO resilience_checkpoints (workflow, id, owner, epoch, lease_until, checkpoint)
             VALUES ($1, $2, 'by-hand', 1, '-infinity', $3)
             ON CONFLICT (workflow, id) DO UPDATE SET checkpoint = EXCLUDED.checkpoint",
            &[&workflow, &id, &bytes],
        )
        .await
        .unwrap();
}

/// Claims `id` through `store`, waiting for a dropped lease's release to
/// reach the server (it is sent from a spawned task).
async fn claim_soon(
    store: &PostgresStore,
    workflow: &str,
    id: &str,
) -> Result<resilience_postgres::PostgresLease, CheckpointError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match store.claim(workflow, id).await {
            Err(CheckpointError::Locked { .. }) if Instant::now() < deadline => {
                sleep(Duration::from_millis(10)).await;
            }
            other => return other,
        }
    }
}

#[tokio::test]
async fn round_trip_of_every_phase() {
    let (_, store) = store_or_skip!();
    let lease = store.claim("Provision", "order-42").await.unwrap();
    assert_eq!(
        lease.location(),
        "postgres:resilience_checkpoints/Provision/order-42"
    );
    assert_eq!((lease.workflow(), lease.id()), ("Provision", "order-42"));
    assert_eq!(store.load(&lease).await.unwrap(), None);
    for checkpoint in [running("Provision", 1), failed("Provision")] {
        store.save(&lease, &checkpoint).await.unwrap();
        assert_eq!(store.load(&lease).await.unwrap(), Some(checkpoint));
    }
    // A fingerprint with the top bit set survives the `bigint` column.
    let mut checkpoint = running("Provision", 3);
    checkpoint.fingerprint = u64::MAX - 1;
    store.save(&lease, &checkpoint).await.unwrap();
    assert_eq!(store.load(&lease).await.unwrap(), Some(checkpoint));
    // Clones share everything.
    let clone = store.clone();
    assert_eq!(clone.load(&lease).await.unwrap().unwrap().position, 3);
}

#[tokio::test]
async fn a_second_claim_is_locked_until_the_first_is_dropped() {
    let (url, store) = store_or_skip!();
    let other = PostgresStore::connect(&url).await.unwrap();
    let lease = store.claim("Provision", "7").await.unwrap();
    store.save(&lease, &running("Provision", 1)).await.unwrap();

    // The same store (or a clone), and another owner: both locked, at once.
    for claimant in [&store, &store.clone(), &other] {
        let err = claimant.claim("Provision", "7").await.unwrap_err();
        assert!(matches!(err, CheckpointError::Locked { .. }), "{err}");
        assert_names(
            &err,
            &format!("{ROW}/Provision/7"),
            "is already running workflow `Provision` id `7`",
        );
    }
    // The holder is named: a process of this machine, this one.
    let err = other.claim("Provision", "7").await.unwrap_err();
    assert!(
        matches!(err, CheckpointError::Locked { holder: Some(pid), .. } if pid == std::process::id()),
        "{err:?}"
    );
    // Another id is free.
    drop(store.claim("Provision", "8").await.unwrap());

    // Dropped: the same store claims at once, another owner as soon as the
    // release reaches the server, well before the 30 s expiry.
    let first = lease.epoch();
    drop(lease);
    let again = store.claim("Provision", "7").await.unwrap();
    assert!(again.epoch() > first);
    drop(again);
    let started = Instant::now();
    let theirs = claim_soon(&other, "Provision", "7").await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        other.load(&theirs).await.unwrap(),
        Some(running("Provision", 1))
    );
}

#[tokio::test]
async fn delete_removes_the_checkpoint_and_releases_the_id() {
    let (url, store) = store_or_skip!();
    let lease = store.claim("Provision", "7").await.unwrap();
    store.save(&lease, &running("Provision", 2)).await.unwrap();
    store.delete(lease).await.unwrap();
    assert!(store.list_unfinished().await.unwrap().is_empty());
    let other = PostgresStore::connect(&url).await.unwrap();
    let lease = other.claim("Provision", "7").await.unwrap();
    assert_eq!(other.load(&lease).await.unwrap(), None);
    // Deleting a lease that never saved is fine too.
    other.delete(lease).await.unwrap();
    let rows = support::connect(&url)
        .await
        .query("SELECT 1 FROM resilience_checkpoints", &[])
        .await
        .unwrap();
    assert!(rows.is_empty(), "no row is left behind");
}

#[tokio::test]
async fn discard_throws_away_a_damaged_checkpoint_but_not_a_running_one() {
    let (url, store) = store_or_skip!();
    put_raw(&url, "Provision", "7", b"garbage").await;
    assert!(store.discard("Provision", "7").await.unwrap());
    assert!(!store.discard("Provision", "7").await.unwrap());

    let lease = store.claim("Provision", "8").await.unwrap();
    store.save(&lease, &failed("Provision")).await.unwrap();
    let err = store.discard("Provision", "8").await.unwrap_err();
    assert!(matches!(err, CheckpointError::Locked { .. }));
    drop(lease);
    assert!(store.discard("Provision", "8").await.unwrap());
    assert!(store.list_unfinished().await.unwrap().is_empty());
}

#[tokio::test]
async fn list_unfinished_shows_running_failed_and_damaged_rows() {
    let (url, store) = store_or_skip!();
    assert!(store.list_unfinished().await.unwrap().is_empty());
    let a = store.claim("Provision", "a").await.unwrap();
    store.save(&a, &running("Provision", 1)).await.unwrap();
    let b = store.claim("Deploy", "b").await.unwrap();
    store.save(&b, &failed("Deploy")).await.unwrap();
    // Claimed but nothing saved yet: not listed.
    let _c = store.claim("Provision", "c").await.unwrap();
    put_raw(&url, "Provision", "d", b"resilience-checkpoint 1 crc32=").await;

    let listed = store.list_unfinished().await.unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");
    let deploy = listed[0].as_ref().unwrap();
    assert_eq!(
        (
            deploy.workflow.as_str(),
            deploy.id.as_str(),
            deploy.position
        ),
        ("Deploy", "b", 2)
    );
    assert_eq!(deploy.location, format!("{ROW}/Deploy/b"));
    assert_eq!(deploy.phase, failed("Deploy").phase);
    let provision = listed[1].as_ref().unwrap();
    assert_eq!((provision.id.as_str(), provision.position), ("a", 1));
    let err = listed[2].as_ref().unwrap_err();
    assert!(matches!(err, CheckpointError::Truncated { .. }), "{err}");
    assert_names(err, &format!("{ROW}/Provision/d"), "truncated checkpoint");
}

#[tokio::test]
async fn every_damaged_foreign_or_changed_checkpoint_is_typed_and_names_the_row() {
    let (url, store) = store_or_skip!();
    let location = format!("{ROW}/Provision/7");
    let lease = store.claim("Provision", "7").await.unwrap();
    let whole = encode("7", &failed("Provision"), "x").unwrap();
    let load = |bytes: Vec<u8>| {
        let (url, store, lease) = (&url, &store, &lease);
        async move {
            put_raw(url, "Provision", "7", &bytes).await;
            store.load(lease).await
        }
    };
    assert_eq!(
        load(whole.clone()).await.unwrap(),
        Some(failed("Provision"))
    );

    let err = load(whole[..whole.len() - 10].to_vec()).await.unwrap_err();
    assert!(matches!(err, CheckpointError::Truncated { .. }), "{err}");
    assert_names(&err, &location, "truncated checkpoint");

    let err = load([&whole[..], b"xx"].concat()).await.unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
    assert_names(&err, &location, "trailing garbage");

    let mut flipped = whole.clone();
    *flipped.last_mut().unwrap() ^= 0x20;
    let err = load(flipped).await.unwrap_err();
    assert!(matches!(err, CheckpointError::Checksum { .. }), "{err}");
    assert_names(&err, &location, "checksum mismatch");

    let newer = String::from_utf8(whole.clone()).unwrap().replacen(
        "resilience-checkpoint 1 ",
        "resilience-checkpoint 9 ",
        1,
    );
    let err = load(newer.into_bytes()).await.unwrap_err();
    assert!(
        matches!(err, CheckpointError::UnknownVersion { version: 9, .. }),
        "{err}"
    );
    assert_names(&err, &location, "unknown checkpoint format version 9");

    let err = load(encode("7", &failed("Deploy"), "x").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err, CheckpointError::WrongWorkflow { .. }),
        "{err}"
    );
    assert_names(&err, &location, "workflow `Deploy`, not of `Provision`");

    let err = load(encode("8", &failed("Provision"), "x").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, CheckpointError::WrongId { .. }), "{err}");
    assert_names(&err, &location, "id `8`, not of `7`");

    // A changed definition: the checkpoint loads, `verify` refuses it.
    let loaded = load(whole).await.unwrap().unwrap();
    let err = loaded
        .verify(lease.location(), "Provision", 0x0bad)
        .unwrap_err();
    assert!(
        matches!(err, CheckpointError::DefinitionChanged { .. }),
        "{err}"
    );
    assert_names(
        &err,
        &location,
        "the definition of workflow `Provision` changed",
    );

    // What cannot be saved.
    let mut bad = running("Provision", 1);
    bad.state = b"{not json".to_vec();
    let err = store.save(&lease, &bad).await.unwrap_err();
    assert!(matches!(err, CheckpointError::InvalidState { .. }), "{err}");
    assert_names(&err, &location, "not valid JSON");
    let err = store.save(&lease, &running("Deploy", 1)).await.unwrap_err();
    assert!(
        matches!(err, CheckpointError::WrongWorkflow { .. }),
        "{err}"
    );

    // A lease of another store; names that cannot be stored.
    let other = PostgresStore::connect(&url).await.unwrap();
    let err = other.load(&lease).await.unwrap_err();
    assert!(matches!(err, CheckpointError::ForeignLease { .. }), "{err}");
    assert_names(&err, &location, "granted by another checkpoint store");
    for (workflow, id) in [("Provision", ""), ("Provision", "a/b"), ("a.b", "1")] {
        let err = store.claim(workflow, id).await.unwrap_err();
        assert!(
            matches!(
                err,
                CheckpointError::InvalidId { .. } | CheckpointError::InvalidName { .. }
            ),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_cannot_overwrite_the_new_owner() {
    let (url, first) = store_or_skip!();
    let second = PostgresStore::connect(&url).await.unwrap();
    let stale = first.claim("Provision", "7").await.unwrap();
    first.save(&stale, &running("Provision", 1)).await.unwrap();

    // The first worker stalls past its lease: expire it by hand.
    let admin = support::connect(&url).await;
    admin
        .execute(
            "UPDATE resilience_checkpoints SET lease_until = now() - interval '1 second'",
            &[],
        )
        .await
        .unwrap();
    let fresh = second.claim("Provision", "7").await.unwrap();
    assert!(fresh.epoch() > stale.epoch());
    assert_eq!(
        second.load(&fresh).await.unwrap(),
        Some(running("Provision", 1))
    );
    second.save(&fresh, &running("Provision", 2)).await.unwrap();

    // The first wakes up: its save and its delete are refused, typed.
    let err = first
        .save(&stale, &running("Provision", 5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CheckpointError::LeaseLost { epoch, .. } if epoch == stale.epoch()),
        "{err}"
    );
    assert_names(&err, &format!("{ROW}/Provision/7"), "was lost");
    assert!(stale.is_lost());
    let err = first.delete(stale).await.unwrap_err();
    assert!(matches!(err, CheckpointError::LeaseLost { .. }), "{err}");

    // The row is the second owner's, with its progress.
    assert_eq!(
        second.load(&fresh).await.unwrap(),
        Some(running("Provision", 2))
    );
    let row = admin
        .query_one(
            "SELECT owner, epoch, position FROM resilience_checkpoints",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), second.owner());
    assert_eq!(row.get::<_, i64>(1), i64::try_from(fresh.epoch()).unwrap());
    assert_eq!(row.get::<_, i64>(2), 2);
    second.delete(fresh).await.unwrap();
}

#[tokio::test]
async fn a_row_deleted_and_claimed_again_never_reuses_an_epoch() {
    let (url, store) = store_or_skip!();
    let other = PostgresStore::connect(&url).await.unwrap();
    let stale = store.claim("Provision", "7").await.unwrap();
    // It stalls, its lease expires, another worker finishes the run.
    support::connect(&url)
        .await
        .execute(
            "UPDATE resilience_checkpoints SET lease_until = now() - interval '1 second'",
            &[],
        )
        .await
        .unwrap();
    let done = other.claim("Provision", "7").await.unwrap();
    other.delete(done).await.unwrap();
    // A third run of the same id starts on a new row.
    let third = other.claim("Provision", "7").await.unwrap();
    assert!(third.epoch() > stale.epoch());
    let err = store
        .save(&stale, &running("Provision", 9))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckpointError::LeaseLost { .. }), "{err}");
    assert_eq!(other.load(&third).await.unwrap(), None);
}

#[tokio::test]
async fn an_expired_lease_is_lost_at_the_next_save_even_if_nobody_took_it() {
    let (url, store) = store_or_skip!();
    let lease = store.claim("Provision", "7").await.unwrap();
    store.save(&lease, &running("Provision", 1)).await.unwrap();
    support::connect(&url)
        .await
        .execute(
            "UPDATE resilience_checkpoints SET lease_until = now() - interval '1 second'",
            &[],
        )
        .await
        .unwrap();
    let err = store
        .save(&lease, &running("Provision", 2))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckpointError::LeaseLost { .. }), "{err}");
    drop(lease);
    // Nothing was lost: the last good checkpoint is there for the next run.
    let lease = store.claim("Provision", "7").await.unwrap();
    assert_eq!(
        store.load(&lease).await.unwrap(),
        Some(running("Provision", 1))
    );
}

#[tokio::test]
async fn the_heartbeat_keeps_a_live_lease_alive() {
    let (url, store) = store_or_skip!();
    let lease_time = Duration::from_millis(300);
    let store = store.with_lease(lease_time);
    let other = PostgresStore::connect(&url).await.unwrap();
    let lease = store.claim("Provision", "7").await.unwrap();
    for _ in 0..5 {
        sleep(lease_time).await;
        let err = other.claim("Provision", "7").await.unwrap_err();
        assert!(matches!(err, CheckpointError::Locked { .. }), "{err}");
    }
    store.save(&lease, &running("Provision", 1)).await.unwrap();
    assert!(!lease.is_lost());

    // Without a heartbeat (the lease dropped without release: the process
    // died), the lease expires and another owner takes over.
    let client = support::connect(&url).await;
    client
        .execute(
            "UPDATE resilience_checkpoints SET owner = 'dead-process'",
            &[],
        )
        .await
        .unwrap();
    sleep(lease_time * 2).await;
    let theirs = other.claim("Provision", "7").await.unwrap();
    assert_eq!(
        other.load(&theirs).await.unwrap(),
        Some(running("Provision", 1))
    );
    // Its next renewal finds the lease gone; its next save is refused.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !lease.is_lost() && Instant::now() < deadline {
        sleep(lease_time / 10).await;
    }
    assert!(lease.is_lost());
    let err = store
        .save(&lease, &running("Provision", 2))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckpointError::LeaseLost { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_workers_claiming_one_id_never_block_and_exactly_one_wins() {
    let (url, _) = store_or_skip!();
    let mut stores = Vec::new();
    for _ in 0..8 {
        stores.push(PostgresStore::connect(&url).await.unwrap());
    }
    for round in 0..5 {
        let id = format!("job-{round}");
        let mut tasks = Vec::new();
        for store in &stores {
            for _ in 0..4 {
                let (store, id) = (store.clone(), id.clone());
                tasks.push(tokio::spawn(
                    async move { store.claim("Provision", &id).await },
                ));
            }
        }
        let mut won = Vec::new();
        for task in tasks {
            match timeout(Duration::from_secs(10), task)
                .await
                .expect("a claim never waits")
                .unwrap()
            {
                Ok(lease) => won.push(lease),
                Err(CheckpointError::Locked { .. }) => {}
                Err(err) => panic!("{err}"),
            }
        }
        assert_eq!(won.len(), 1, "round {round}");
    }
}

#[tokio::test]
async fn the_schema_is_created_once_and_versioned() {
    let Some(url) = support::database().await else {
        return;
    };
    let connects: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    for connect in connects {
        connect.await.unwrap().unwrap();
    }
    let store = PostgresStore::connect(&url).await.unwrap();
    let lease = store.claim("Provision", "7").await.unwrap();
    store.save(&lease, &running("Provision", 1)).await.unwrap();
    drop(PostgresStore::connect(&url).await.unwrap());
    assert_eq!(
        store.load(&lease).await.unwrap(),
        Some(running("Provision", 1)),
        "connecting again keeps the rows"
    );

    let admin = support::connect(&url).await;
    let versions = admin
        .query("SELECT version FROM resilience_schema", &[])
        .await
        .unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].get::<_, i32>(0), 2);

    // Tables of a newer release: refused, naming the schema table.
    admin
        .execute("UPDATE resilience_schema SET version = 3", &[])
        .await
        .unwrap();
    let err = PostgresStore::connect(&url).await.unwrap_err();
    assert!(matches!(err, CheckpointError::Backend { .. }), "{err}");
    assert_names(&err, "postgres:resilience_schema", "schema version 3");
}

/// The tables as schema version 1 created them.
const SCHEMA_1: &str = "
CREATE TABLE resilience_schema (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version integer NOT NULL
);
INSERT INTO resilience_schema (version) VALUES (1);
CREATE SEQUENCE resilience_epochs;
CREATE TABLE resilience_checkpoints (
    workflow text NOT NULL,
    id text NOT NULL,
    owner text NOT NULL,
    epoch bigint NOT NULL,
    lease_until timestamptz NOT NULL,
    fingerprint bigint,
    position bigint,
    phase text,
    checkpoint bytea,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow, id)
);";

#[tokio::test]
async fn tables_of_schema_version_1_are_migrated_and_keep_their_runs() {
    let Some(url) = support::database().await else {
        return;
    };
    let admin = support::connect(&url).await;
    admin.batch_execute(SCHEMA_1).await.unwrap();
    let bytes = encode("7", &running("Provision", 1), "by hand").unwrap();
    put_raw(&url, "Provision", "7", &bytes).await;

    let store = PostgresStore::connect(&url).await.unwrap();
    let version: i32 = admin
        .query_one("SELECT version FROM resilience_schema", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 2);
    // The run in progress is still there, its claims counted from 0.
    let listed = store.list_unfinished().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].as_ref().unwrap().attempts, Some(0));
    let lease = store.claim("Provision", "7").await.unwrap();
    assert_eq!(lease.attempt(), Some(1));
    assert_eq!(
        store.load(&lease).await.unwrap(),
        Some(running("Provision", 1))
    );
    // Connecting again (another worker) migrates nothing twice.
    drop(PostgresStore::connect(&url).await.unwrap());
}

#[tokio::test]
async fn claims_are_counted_until_the_run_is_deleted() {
    let (_url, store) = store_or_skip!();
    let first = store.claim("Provision", "7").await.unwrap();
    assert_eq!(first.attempt(), Some(1));
    store.save(&first, &running("Provision", 1)).await.unwrap();
    drop(first);
    let second = claim_soon(&store, "Provision", "7").await.unwrap();
    assert_eq!(second.attempt(), Some(2));
    let listed = store.list_unfinished().await.unwrap();
    assert_eq!(listed[0].as_ref().unwrap().attempts, Some(2));
    store.delete(second).await.unwrap();
    // A new run of the same id counts from 1 again.
    let again = store.claim("Provision", "7").await.unwrap();
    assert_eq!(again.attempt(), Some(1));
}

#[tokio::test]
async fn a_bad_connection_string_or_server_is_a_backend_error() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let err = PostgresStore::connect("host=/nonexistent-dir port=1 connect_timeout=2")
        .await
        .unwrap_err();
    assert!(matches!(err, CheckpointError::Backend { .. }), "{err}");
    assert_names(&err, ROW, "could not connect to the database");
    let err = PostgresStore::connect(&cluster.url("no_such_database"))
        .await
        .unwrap_err();
    assert_names(&err, ROW, "no_such_database");
}

// A durable workflow, end to end.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    #[error("step {0} failed")]
    Failed(u32),
}

/// A handle, not data: a durable workflow stores its inputs, so the fields
/// that are not data are skipped (saved as `{}`).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Worker {
    #[serde(skip)]
    log: Arc<Mutex<Vec<String>>>,
    #[serde(skip)]
    work: Duration,
}

impl Worker {
    fn new(work: Duration) -> Self {
        Self {
            log: Arc::default(),
            work,
        }
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    async fn step(&self, k: u32, input: u32) -> Result<u32, JobError> {
        self.log.lock().unwrap().push(format!("run {k}"));
        sleep(self.work).await;
        Ok(input * 10 + k)
    }
}

workflow! {
    durable workflow Job(worker: Worker) -> Result<u32, JobError> {
        step one: u32 = worker.step(1, 0).await;
        step two: u32 = worker.step(2, *one).await;
        step three: u32 = worker.step(3, *two).await;
        three
    }
}

#[tokio::test]
async fn a_durable_workflow_resumes_after_a_crash_on_another_worker() {
    let (url, store) = store_or_skip!();
    let worker = Worker::new(Duration::from_millis(200));
    // "Crash" during step 2: the run is dropped at 300 ms.
    let crashed = timeout(
        Duration::from_millis(300),
        Job::new(worker.clone()).run_durable(&store, "a"),
    )
    .await;
    assert!(crashed.is_err());
    assert_eq!(worker.log(), ["run 1", "run 2"]);
    let listed = store.list_unfinished().await.unwrap();
    assert_eq!(listed[0].as_ref().unwrap().position, 1);

    // Another worker (another owner) resumes after step 1 once the crashed
    // run's lease is released.
    let other = PostgresStore::connect(&url).await.unwrap();
    drop(claim_soon(&other, "Job", "a").await.unwrap());
    assert_eq!(
        Job::new(worker.clone())
            .run_durable(&other, "a")
            .await
            .unwrap(),
        123
    );
    assert_eq!(worker.log(), ["run 1", "run 2", "run 2", "run 3"]);
    assert!(other.list_unfinished().await.unwrap().is_empty());
}
