//! A compensation that panics inside a `workflow!` counts as a failed
//! compensation (`Err("panicked: <message>")`, as in `saga()`): the other
//! compensations still run, in reverse order, and the run returns its
//! `SagaError`. A durable run records it and ends in the failed phase, so a
//! rerun reports the earlier failure instead of panicking again.

// `pub workflow`s here need `pub` step and error types; a test crate
// exports nothing, so these lints of the workspace table do not apply.
#![allow(missing_docs, missing_debug_implementations)]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use resilience::checkpoint::{CheckpointStore, CompensationRecord, MemoryStore, Phase};
use resilience::durable::DurableError;
use resilience::workflow;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LedgerError {
    #[error("step `{0}` failed")]
    Failed(&'static str),
}

/// Where `b`'s compensation panics.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub enum Panics {
    /// In the call that makes its future, before any future exists.
    InTheCall,
    /// On the first poll of its future.
    OnFirstPoll,
}

/// Records what ran. A durable workflow saves its inputs: the log is not
/// data, so it is skipped.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Ledger {
    #[serde(skip)]
    log: Arc<Mutex<Vec<String>>>,
    panics: Panics,
}

type Undo = Pin<Box<dyn Future<Output = Result<(), LedgerError>> + Send>>;

impl Ledger {
    fn new(panics: Panics) -> Self {
        Self {
            log: Arc::default(),
            panics,
        }
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn push(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }

    async fn run(&self, step: &'static str, output: u32) -> Result<u32, LedgerError> {
        self.push(format!("run {step}"));
        if step == "c" {
            Err(LedgerError::Failed(step))
        } else {
            Ok(output)
        }
    }

    async fn undo_a(&self, output: u32) -> Result<(), LedgerError> {
        self.push(format!("undo a {output}"));
        Ok(())
    }

    /// Not `async`: it can panic before it returns a future.
    fn undo_b(&self, output: u32) -> Undo {
        self.push(format!("undo b {output}"));
        match self.panics {
            Panics::InTheCall => panic!("undo b broke in the call"),
            Panics::OnFirstPoll => Box::pin(async move {
                panic!("undo b broke when polled");
            }),
        }
    }
}

workflow! {
    pub workflow InMemory(ledger: Ledger) -> Result<u32, LedgerError> {
        #[compensate(with = { let ledger = ledger.clone(); move |a| async move { ledger.undo_a(a).await } })]
        step a: u32 = ledger.run("a", 1).await;
        #[compensate(with = { let ledger = ledger.clone(); move |b| async move { ledger.undo_b(b).await } })]
        step b: u32 = ledger.run("b", 2).await;
        step c: u32 = ledger.run("c", 3).await;
        c
    }
}

workflow! {
    pub durable workflow Durable(ledger: Ledger) -> Result<u32, LedgerError> {
        #[compensate(with = |a| ledger.undo_a(a))]
        step a: u32 = ledger.run("a", 1).await;
        #[compensate(with = |b| ledger.undo_b(b))]
        step b: u32 = ledger.run("b", 2).await;
        step c: u32 = ledger.run("c", 3).await;
        c
    }
}

fn expected_outcome(panics: Panics) -> Result<(), String> {
    Err(match panics {
        Panics::InTheCall => "panicked: undo b broke in the call".to_owned(),
        Panics::OnFirstPoll => "panicked: undo b broke when polled".to_owned(),
    })
}

async fn in_memory(panics: Panics) {
    let ledger = Ledger::new(panics);
    let err = InMemory::new(ledger.clone()).run().await.unwrap_err();
    assert_eq!(
        ledger.log(),
        ["run a", "run b", "run c", "undo b 2", "undo a 1"]
    );
    assert_eq!(err.failed_step(), Some("c"));
    assert_eq!(err.error(), Some(&LedgerError::Failed("c")));
    let outcomes: Vec<_> = err
        .compensations()
        .iter()
        .map(|c| (c.step, c.outcome.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [("b", expected_outcome(panics)), ("a", Ok(()))],
        "{err}"
    );
    assert!(!err.is_fully_compensated());
    let text = err.to_string();
    assert!(
        text.contains("`b` (failed: panicked: undo b broke"),
        "{text}"
    );
    assert!(text.contains("`a` (ok)"), "{text}");
}

#[tokio::test]
async fn in_memory_a_compensation_panicking_in_its_call_is_a_failed_compensation() {
    in_memory(Panics::InTheCall).await;
}

#[tokio::test]
async fn in_memory_a_compensation_panicking_on_first_poll_is_a_failed_compensation() {
    in_memory(Panics::OnFirstPoll).await;
}

async fn durable(panics: Panics) {
    let store = MemoryStore::new();
    let ledger = Ledger::new(panics);
    let err = Durable::new(ledger.clone())
        .run_durable(&store, "p")
        .await
        .unwrap_err();
    let DurableError::Failed(saga) = &err else {
        panic!("expected Failed, got {err:?}")
    };
    assert_eq!(saga.failed_step(), Some("c"));
    let outcomes: Vec<_> = saga
        .compensations()
        .iter()
        .map(|c| (c.step, c.outcome.clone()))
        .collect();
    assert_eq!(outcomes, [("b", expected_outcome(panics)), ("a", Ok(()))]);
    assert_eq!(
        ledger.log(),
        ["run a", "run b", "run c", "undo b 2", "undo a 1"]
    );

    // The checkpoint ends in the failed phase and records the panic.
    let records = vec![
        CompensationRecord::new("b", expected_outcome(panics)),
        CompensationRecord::new("a", Ok(())),
    ];
    {
        let lease = store.claim("Durable", "p").await.unwrap();
        let checkpoint = store.load(&lease).await.unwrap().unwrap();
        assert_eq!(
            checkpoint.phase,
            Phase::Failed {
                failed_step: "c".into(),
                failure: "step `c` failed".into(),
                compensations: records.clone(),
            }
        );
    }

    // A rerun reports the earlier failure: it neither panics nor runs
    // anything again.
    let again = Ledger::new(panics);
    let err = Durable::new(again.clone())
        .run_durable(&store, "p")
        .await
        .unwrap_err();
    let DurableError::PreviouslyFailed {
        failed_step,
        compensations,
        ..
    } = &err
    else {
        panic!("expected PreviouslyFailed, got {err:?}")
    };
    assert_eq!(failed_step, "c");
    assert_eq!(compensations, &records);
    assert!(again.log().is_empty(), "{:?}", again.log());
}

#[tokio::test]
async fn durable_a_compensation_panicking_in_its_call_ends_in_the_failed_phase() {
    durable(Panics::InTheCall).await;
}

#[tokio::test]
async fn durable_a_compensation_panicking_on_first_poll_ends_in_the_failed_phase() {
    durable(Panics::OnFirstPoll).await;
}
