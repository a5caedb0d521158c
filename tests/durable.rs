//! Durable workflows on the in-memory store: resume after a crash (a dropped
//! run), compensation that survives a crash, kept and discarded checkpoints,
//! every bad checkpoint a typed error, and one owner per id.

// `pub workflow`s here need `pub` step and error types; a test crate
// exports nothing, so these lints of the workspace table do not apply.
#![allow(missing_docs, missing_debug_implementations)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use resilience::checkpoint::{
    Checkpoint, CheckpointError, CheckpointStore, MemoryStore, Phase, decode, encode,
};
use resilience::durable::{DurableError, DurableOptions};
use resilience::workflow;
use tokio::time::{sleep, timeout};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    #[error("step {0} failed")]
    Failed(u32),
}

/// Records what ran; step `fail_at` fails; every call takes `work`.
///
/// A handle, not data: a durable workflow saves its inputs, so it is serde
/// with every field skipped (saved as `{}`; a resume by id alone gets a
/// fresh one from the defaults).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Worker {
    #[serde(skip)]
    log: Arc<Mutex<Vec<String>>>,
    #[serde(skip)]
    fail_at: Option<u32>,
    #[serde(skip, default = "ten_ms")]
    work: Duration,
}

fn ten_ms() -> Duration {
    Duration::from_millis(10)
}

impl Worker {
    fn new() -> Self {
        Self {
            log: Arc::default(),
            fail_at: None,
            work: ten_ms(),
        }
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    async fn step(&self, k: u32, input: u32) -> Result<u32, JobError> {
        self.log.lock().unwrap().push(format!("run {k}"));
        sleep(self.work).await;
        if self.fail_at == Some(k) {
            Err(JobError::Failed(k))
        } else {
            Ok(input * 10 + k)
        }
    }

    async fn undo(&self, k: u32) -> Result<(), JobError> {
        self.log.lock().unwrap().push(format!("undo {k}"));
        sleep(self.work).await;
        Ok(())
    }
}

workflow! {
    durable workflow Job(worker: Worker) -> Result<u32, JobError> {
        #[compensate(with = |_| worker.undo(1))]
        step one: u32 = worker.step(1, 0).await;
        #[compensate(with = |_| worker.undo(2))]
        step two: u32 = worker.step(2, *one).await;
        step three: u32 = worker.step(3, *two).await;
        three
    }
}

#[tokio::test(start_paused = true)]
async fn runs_to_the_end_and_removes_its_checkpoint() {
    let store = MemoryStore::new();
    let worker = Worker::new();
    assert_eq!(
        Job::new(worker.clone())
            .run_durable(&store, "a")
            .await
            .unwrap(),
        123
    );
    assert_eq!(worker.log(), ["run 1", "run 2", "run 3"]);
    assert!(store.get_raw("Job", "a").is_none());
}

#[tokio::test(start_paused = true)]
async fn keeps_the_checkpoint_when_asked() {
    let store = MemoryStore::new();
    let options = DurableOptions::new().with_checkpoint_kept();
    Job::new(Worker::new())
        .run_durable_with(&store, "a", options)
        .await
        .unwrap();
    let lease = store.claim("Job", "a").await.unwrap();
    let checkpoint = store.load(&lease).await.unwrap().expect("kept");
    assert_eq!(checkpoint.position, 3);
    assert_eq!(checkpoint.phase, Phase::Running);
}

#[tokio::test(start_paused = true)]
async fn a_crash_resumes_after_the_last_completed_step() {
    let store = MemoryStore::new();
    let worker = Worker::new();
    // "Crash" during step 2: the run is dropped at 15ms.
    let crashed = timeout(
        Duration::from_millis(15),
        Job::new(worker.clone()).run_durable(&store, "a"),
    )
    .await;
    assert!(crashed.is_err());
    assert_eq!(worker.log(), ["run 1", "run 2"]);
    // Step 1's checkpoint was written; step 2 runs again (at least once).
    assert_eq!(
        Job::new(worker.clone())
            .run_durable(&store, "a")
            .await
            .unwrap(),
        123
    );
    assert_eq!(worker.log(), ["run 1", "run 2", "run 2", "run 3"]);
}

#[tokio::test(start_paused = true)]
async fn a_failure_compensates_and_is_kept_until_discarded() {
    let store = MemoryStore::new();
    let worker = Worker {
        fail_at: Some(3),
        ..Worker::new()
    };
    let err = Job::new(worker.clone())
        .run_durable(&store, "a")
        .await
        .unwrap_err();
    let DurableError::Failed(saga) = err else {
        panic!("expected Failed, got {err:?}")
    };
    assert_eq!(saga.failed_step(), Some("three"));
    assert_eq!(
        worker.log(),
        ["run 1", "run 2", "run 3", "undo 2", "undo 1"]
    );

    // Kept: running it again reports the earlier failure, runs nothing.
    let err = Job::new(worker.clone())
        .run_durable(&store, "a")
        .await
        .unwrap_err();
    let DurableError::PreviouslyFailed {
        failed_step,
        failure,
        compensations,
        ..
    } = &err
    else {
        panic!("expected PreviouslyFailed, got {err:?}")
    };
    assert_eq!(
        (failed_step.as_str(), failure.as_str()),
        ("three", "step 3 failed")
    );
    assert_eq!(compensations.len(), 2);
    assert_eq!(worker.log().len(), 5);
    assert!(err.to_string().contains("discard its checkpoint"), "{err}");

    // Discarded: it starts over.
    assert!(store.discard("Job", "a").await.unwrap());
    let worker = Worker::new();
    assert_eq!(
        Job::new(worker.clone())
            .run_durable(&store, "a")
            .await
            .unwrap(),
        123
    );
}

#[tokio::test(start_paused = true)]
async fn a_crash_while_compensating_continues_the_compensation() {
    let store = MemoryStore::new();
    let worker = Worker {
        fail_at: Some(3),
        ..Worker::new()
    };
    // Steps end at 10, 20, 30ms; "undo 2" runs 30..40ms: crash at 35ms.
    let crashed = timeout(
        Duration::from_millis(35),
        Job::new(worker.clone()).run_durable(&store, "a"),
    )
    .await;
    assert!(crashed.is_err());
    assert_eq!(worker.log(), ["run 1", "run 2", "run 3", "undo 2"]);
    {
        let lease = store.claim("Job", "a").await.unwrap();
        let checkpoint = store.load(&lease).await.unwrap().unwrap();
        assert!(
            matches!(checkpoint.phase, Phase::Compensating { .. }),
            "{:?}",
            checkpoint.phase
        );
    }
    // Resuming undoes, and runs no step again.
    let healthy = Worker::new();
    let err = Job::new(healthy.clone())
        .run_durable(&store, "a")
        .await
        .unwrap_err();
    assert_eq!(healthy.log(), ["undo 2", "undo 1"]);
    let DurableError::Failed(saga) = err else {
        panic!("expected Failed, got {err:?}")
    };
    assert_eq!(saga.failed_step(), Some("three"));
    assert_eq!(
        saga.to_string(),
        "step `three` failed in an earlier run: step 3 failed; undone: `two` (ok), `one` (ok)"
    );
}

#[tokio::test(start_paused = true)]
async fn one_owner_per_id() {
    let store = MemoryStore::new();
    let _held = store.claim("Job", "a").await.unwrap();
    let err = Job::new(Worker::new())
        .run_durable(&store, "a")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DurableError::Checkpoint(CheckpointError::Locked { .. })
        ),
        "{err:?}"
    );
    // Another id is free.
    Job::new(Worker::new())
        .run_durable(&store, "b")
        .await
        .unwrap();
}

/// A checkpoint of step 1 of `Job`, as bytes.
async fn checkpoint_after_step_one(store: &MemoryStore, id: &str) -> Vec<u8> {
    let _ = timeout(
        Duration::from_millis(15),
        Job::new(Worker::new()).run_durable(store, id),
    )
    .await;
    store.get_raw("Job", id).expect("a checkpoint after step 1")
}

#[tokio::test(start_paused = true)]
async fn every_bad_checkpoint_is_a_typed_error_and_nothing_runs() {
    let store = MemoryStore::new();
    let good = checkpoint_after_step_one(&store, "a").await;

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() - 5].to_vec()),
        ("corrupt", b"this is not a checkpoint".to_vec()),
        ("checksum", {
            let mut bytes = good.clone();
            let last = bytes.len() - 2;
            bytes[last] ^= 0x01;
            bytes
        }),
        (
            "version",
            String::from_utf8(good.clone())
                .unwrap()
                .replacen("resilience-checkpoint 2", "resilience-checkpoint 9", 1)
                .into_bytes(),
        ),
    ];
    for (what, bytes) in cases {
        store.put_raw("Job", "a", bytes);
        let worker = Worker::new();
        let err = Job::new(worker.clone())
            .run_durable(&store, "a")
            .await
            .unwrap_err();
        let DurableError::Checkpoint(error) = &err else {
            panic!("{what}: expected a checkpoint error, got {err:?}")
        };
        let matched = match what {
            "truncated" => matches!(error, CheckpointError::Truncated { .. }),
            "corrupt" => matches!(error, CheckpointError::Corrupt { .. }),
            "checksum" => matches!(error, CheckpointError::Checksum { .. }),
            _ => matches!(error, CheckpointError::UnknownVersion { .. }),
        };
        assert!(matched, "{what}: got {error:?}");
        assert!(
            error.to_string().contains("Job"),
            "{what}: the message names the checkpoint: {error}"
        );
        assert!(
            worker.log().is_empty(),
            "{what}: no step may run on a bad checkpoint"
        );
        // Nothing was overwritten: the bad bytes are still there to inspect.
        assert!(store.get_raw("Job", "a").is_some());
    }
}

workflow! {
    durable workflow Other(worker: Worker) -> Result<u32, JobError> {
        step one: u32 = worker.step(1, 0).await;
        step two: u32 = worker.step(2, *one).await;
        two
    }
}

mod changed {
    use super::*;

    // The same name as `Job`, another definition: `two` has a new type.
    workflow! {
        pub durable workflow Job(worker: Worker) -> Result<u32, JobError> {
            step one: u32 = worker.step(1, 0).await;
            step two: u64 = worker.step(2, *one).await.map(u64::from);
            step three: u32 = worker.step(3, 0).await;
            three
        }
    }
}

#[tokio::test(start_paused = true)]
async fn another_workflow_or_a_changed_definition_is_refused() {
    let store = MemoryStore::new();
    let good = checkpoint_after_step_one(&store, "a").await;

    // `Other`'s id holding `Job`'s checkpoint.
    store.put_raw("Other", "a", good.clone());
    let err = Other::new(Worker::new())
        .run_durable(&store, "a")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DurableError::Checkpoint(CheckpointError::WrongWorkflow { .. })
        ),
        "{err:?}"
    );

    // A `Job` whose definition changed since the checkpoint was written.
    assert_ne!(changed::Job::FINGERPRINT, Job::FINGERPRINT);
    store.put_raw("Job", "a", good);
    let worker = Worker::new();
    let err = changed::Job::new(worker.clone())
        .run_durable(&store, "a")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DurableError::Checkpoint(CheckpointError::DefinitionChanged { .. })
        ),
        "{err:?}"
    );
    assert!(worker.log().is_empty());
}

/// A step output of the user's own serde type, saved and read back.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Order {
    id: u32,
    items: Vec<String>,
}

workflow! {
    durable workflow Shop(worker: Worker) -> Result<String, JobError> {
        step order: Order = {
            let id = worker.step(1, 0).await?;
            Ok::<_, JobError>(Order { id, items: vec!["tea".into(), "cup".into()] })
        };
        step shipped: u32 = worker.step(2, order.id).await;
        format!("{shipped}: {}", order.items.join(", "))
    }
}

#[tokio::test(start_paused = true)]
async fn a_serde_step_type_is_saved_as_serde_writes_it_and_read_back_on_resume() {
    let store = MemoryStore::new();
    let worker = Worker::new();
    // Crash during step 2: step 1's `Order` is in the checkpoint.
    let crashed = timeout(
        Duration::from_millis(15),
        Shop::new(worker.clone()).run_durable(&store, "s"),
    )
    .await;
    assert!(crashed.is_err());
    let raw = String::from_utf8(store.get_raw("Shop", "s").unwrap()).unwrap();
    assert!(
        raw.contains(r#"{"AfterOrder":{"order":{"id":1,"items":["tea","cup"]}}}"#),
        "{raw}"
    );
    // Resumed: step 1 does not run again, its output is read back.
    assert_eq!(
        Shop::new(worker.clone())
            .run_durable(&store, "s")
            .await
            .unwrap(),
        "12: tea, cup"
    );
    assert_eq!(worker.log(), ["run 1", "run 2", "run 2"]);
}

// ---------------------------------------------------------------------------
// Inputs in the checkpoint (issue 12): compared on resume, and enough to
// resume by id alone.
// ---------------------------------------------------------------------------

thread_local! {
    /// What `research` ran, on this test's thread (a current-thread runtime).
    static RAN: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn ran() -> Vec<String> {
    RAN.with(|ran| ran.borrow().clone())
}

async fn research(what: &str, about: &str) -> Result<String, JobError> {
    RAN.with(|ran| ran.borrow_mut().push(format!("{what} {about}")));
    sleep(Duration::from_millis(10)).await;
    Ok(format!("{what}({about})"))
}

workflow! {
    durable workflow Research(topic: String, depth: u32) -> Result<String, JobError> {
        step plan: String = research("plan", topic).await;
        step notes: String = research("notes", &format!("{plan}/{depth}")).await;
        format!("{topic}: {notes}")
    }
}

/// A run of `Research` dropped during its second step: step 1 is saved.
async fn dropped_research(store: &MemoryStore, id: &str, topic: &str) {
    let crashed = timeout(
        Duration::from_millis(15),
        Research::new(topic.to_owned(), 2).run_durable(store, id),
    )
    .await;
    assert!(crashed.is_err());
}

#[tokio::test(start_paused = true)]
async fn resuming_with_other_inputs_is_a_typed_error_and_nothing_runs() {
    let store = MemoryStore::new();
    dropped_research(&store, "r", "cats").await;
    assert_eq!(ran(), ["plan cats", "notes plan(cats)/2"]);
    let before = store.get_raw("Research", "r").unwrap();

    let err = Research::new("dogs".to_owned(), 2)
        .run_durable(&store, "r")
        .await
        .unwrap_err();
    let DurableError::InputsDiffer {
        workflow,
        id,
        stored,
        given,
    } = &err
    else {
        panic!("expected InputsDiffer, got {err:?}")
    };
    assert_eq!((workflow.as_str(), id.as_str()), ("Research", "r"));
    assert_eq!(stored, r#"{"topic":"cats","depth":2}"#);
    assert_eq!(given, r#"{"topic":"dogs","depth":2}"#);
    assert_eq!(
        err.to_string(),
        "workflow `Research` with id `r` was started with inputs {\"topic\":\"cats\",\"depth\":2}, \
         not {\"topic\":\"dogs\",\"depth\":2}; resume it with the same inputs or by its id alone, \
         or discard its checkpoint to start over"
    );
    // Nothing ran, nothing was written, and the id is free again.
    assert_eq!(ran(), ["plan cats", "notes plan(cats)/2"]);
    assert_eq!(store.get_raw("Research", "r").unwrap(), before);

    // Another input differing (a number) is refused the same way.
    let err = Research::new("cats".to_owned(), 3)
        .run_durable(&store, "r")
        .await
        .unwrap_err();
    assert!(matches!(err, DurableError::InputsDiffer { .. }), "{err:?}");

    // The same inputs resume it.
    assert_eq!(
        Research::new("cats".to_owned(), 2)
            .run_durable(&store, "r")
            .await
            .unwrap(),
        "cats: notes(plan(cats)/2)"
    );
}

#[tokio::test(start_paused = true)]
async fn resume_by_id_alone_continues_a_dropped_run_like_a_resume_with_inputs() {
    let store = MemoryStore::new();
    dropped_research(&store, "with-inputs", "cats").await;
    dropped_research(&store, "by-id", "cats").await;
    let raw = String::from_utf8(store.get_raw("Research", "by-id").unwrap()).unwrap();
    assert!(raw.starts_with("resilience-checkpoint 2 "), "{raw}");
    assert!(
        raw.contains(r#""inputs": {"topic":"cats","depth":2}"#),
        "{raw}"
    );
    RAN.with(|ran| ran.borrow_mut().clear());

    let with_inputs = Research::new("cats".to_owned(), 2)
        .run_durable(&store, "with-inputs")
        .await
        .unwrap();
    let by_id = Research::resume_durable(&store, "by-id").await.unwrap();
    assert_eq!(by_id, with_inputs);
    assert_eq!(by_id, "cats: notes(plan(cats)/2)");
    // Only step 2 ran again, in each: step 1 came from the checkpoint.
    assert_eq!(ran(), ["notes plan(cats)/2", "notes plan(cats)/2"]);
    assert!(store.get_raw("Research", "by-id").is_none());

    // Kept on success: resumed by id again, it returns the output again
    // without running a step.
    dropped_research(&store, "kept", "cats").await;
    let options = DurableOptions::new().with_checkpoint_kept();
    let first = Research::resume_durable_with(&store, "kept", options)
        .await
        .unwrap();
    let count = ran().len();
    let again = Research::resume_durable(&store, "kept").await.unwrap();
    assert_eq!(first, again);
    assert_eq!(ran().len(), count);
    assert!(store.get_raw("Research", "kept").is_none());
}

#[tokio::test(start_paused = true)]
async fn resume_by_id_without_a_checkpoint_is_not_found_and_frees_the_id() {
    let store = MemoryStore::new();
    let err = Research::resume_durable(&store, "nope").await.unwrap_err();
    assert!(
        matches!(&err, DurableError::NotFound { workflow, id } if workflow == "Research" && id == "nope"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("no checkpoint of workflow `Research` with id `nope`")
    );
    assert!(ran().is_empty());
    assert!(store.get_raw("Research", "nope").is_none());
    let _lease = store.claim("Research", "nope").await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_handle_input_with_skipped_fields_resumes_by_id_with_a_fresh_handle() {
    let store = MemoryStore::new();
    let worker = Worker::new();
    let _ = timeout(
        Duration::from_millis(15),
        Job::new(worker.clone()).run_durable(&store, "j"),
    )
    .await;
    assert_eq!(Job::resume_durable(&store, "j").await.unwrap(), 123);
    // The fresh worker ran the rest; the first one only steps 1 and 2.
    assert_eq!(worker.log(), ["run 1", "run 2"]);
}

/// The checkpoint of `Research` id `id` in `store`, decoded.
fn stored(store: &MemoryStore, id: &str) -> Checkpoint {
    decode(&store.get_raw("Research", id).unwrap(), "test")
        .unwrap()
        .1
}

/// Stores `checkpoint` as the one of `Research` id `id`, encoded.
fn restore(store: &MemoryStore, id: &str, checkpoint: &Checkpoint) {
    store.put_raw("Research", id, encode(id, checkpoint, "test").unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_version_1_checkpoint_resumes_with_inputs_but_not_by_id_alone() {
    let store = MemoryStore::new();
    dropped_research(&store, "old", "cats").await;
    // As an older build wrote it: format version 1, no inputs.
    let mut checkpoint = stored(&store, "old");
    checkpoint.inputs = None;
    restore(&store, "old", &checkpoint);
    let old = store.get_raw("Research", "old").unwrap();
    assert!(old.starts_with(b"resilience-checkpoint 1 "));
    RAN.with(|ran| ran.borrow_mut().clear());

    let err = Research::resume_durable(&store, "old").await.unwrap_err();
    let DurableError::InputsNotStored { location, .. } = &err else {
        panic!("expected InputsNotStored, got {err:?}")
    };
    assert_eq!(location, "memory:Research/old");
    assert!(
        err.to_string()
            .contains("cannot be resumed by id alone; resume it with its inputs"),
        "{err}"
    );
    assert!(ran().is_empty());
    assert_eq!(store.get_raw("Research", "old").unwrap(), old);

    // With its inputs it resumes (they cannot be checked: none are stored),
    // and from its next save on the checkpoint records them.
    let options = DurableOptions::new().with_checkpoint_kept();
    let output = Research::new("cats".to_owned(), 2)
        .run_durable_with(&store, "old", options)
        .await
        .unwrap();
    assert_eq!(output, "cats: notes(plan(cats)/2)");
    assert_eq!(ran(), ["notes plan(cats)/2"]);
    assert_eq!(
        stored(&store, "old").inputs.as_deref(),
        Some(&br#"{"topic":"cats","depth":2}"#[..])
    );
}

#[tokio::test(start_paused = true)]
async fn stored_inputs_that_do_not_decode_are_a_typed_error_naming_the_checkpoint() {
    let store = MemoryStore::new();
    dropped_research(&store, "bad", "cats").await;
    let good = stored(&store, "bad");
    RAN.with(|ran| ran.borrow_mut().clear());

    for inputs in [
        &br#"{"topic":5,"depth":2}"#[..],
        br#"{"topic":"cats"}"#,
        br#"{"topic":"cats","depth":2,"extra":1}"#,
        br#""cats""#,
        b"null",
    ] {
        let what = String::from_utf8_lossy(inputs);
        restore(&store, "bad", &good.clone().with_inputs(inputs.to_vec()));
        let err = Research::resume_durable(&store, "bad").await.unwrap_err();
        let DurableError::Checkpoint(error @ CheckpointError::InvalidInputs { .. }) = &err else {
            panic!("{what}: expected InvalidInputs, got {err:?}")
        };
        assert_eq!(error.location(), "memory:Research/bad", "{what}");
        assert!(
            error.to_string().starts_with(
                "memory:Research/bad: invalid workflow inputs: the stored inputs do not decode as this workflow's inputs: "
            ),
            "{what}: {error}"
        );
        // With inputs: they differ from the stored ones.
        let err = Research::new("cats".to_owned(), 2)
            .run_durable(&store, "bad")
            .await
            .unwrap_err();
        assert!(
            matches!(err, DurableError::InputsDiffer { .. }),
            "{what}: {err:?}"
        );
        assert!(ran().is_empty(), "{what}: nothing may run");
        assert!(store.get_raw("Research", "bad").is_some());
    }
}

workflow! {
    durable workflow NoInputs() -> Result<String, JobError> {
        step one: String = research("one", "none").await;
        step two: String = research("two", one).await;
        two
    }
}

workflow! {
    durable workflow RawNames(r#type: String, json: Vec<u8>) -> Result<String, JobError> {
        step one: String = research("one", r#type).await;
        step two: String = research("two", &format!("{one}{}", json.len())).await;
        two
    }
}

#[tokio::test(start_paused = true)]
async fn no_inputs_and_raw_input_names_are_stored_and_resumed_by_id() {
    let store = MemoryStore::new();
    let _ = timeout(
        Duration::from_millis(15),
        NoInputs::new().run_durable(&store, "n"),
    )
    .await;
    let raw = String::from_utf8(store.get_raw("NoInputs", "n").unwrap()).unwrap();
    assert!(raw.contains(r#""inputs": {}"#), "{raw}");
    assert_eq!(
        NoInputs::resume_durable(&store, "n").await.unwrap(),
        "two(one(none))"
    );

    let _ = timeout(
        Duration::from_millis(15),
        RawNames::new("t".to_owned(), vec![1, 2]).run_durable(&store, "r"),
    )
    .await;
    let raw = String::from_utf8(store.get_raw("RawNames", "r").unwrap()).unwrap();
    assert!(
        raw.contains(r#""inputs": {"type":"t","json":[1,2]}"#),
        "{raw}"
    );
    assert_eq!(
        RawNames::resume_durable(&store, "r").await.unwrap(),
        "two(one(t)2)"
    );
}
