//! Durable parallel steps: each finished branch of a fan-out is
//! checkpointed (format version 3), so a run resumed after a crash re-runs
//! only the unfinished branches (calls counted per item); compensation
//! after a resume undoes the branches of both runs, latest completed
//! first; finished branches that do not fit the workflow are typed errors.

// `pub workflow`s here need `pub` step and error types; a test crate
// exports nothing, so these lints of the workspace table do not apply.
#![allow(missing_docs, missing_debug_implementations)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use resilience::{Branches, ParallelError, workflow};
use tokio::time::{Instant, sleep};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppError {
    #[error("no summary of {0}")]
    Unreadable(String),
    #[error(transparent)]
    Parallel(#[from] ParallelError),
}

/// A crawler whose calls and undos are counted per page; a page takes its
/// length in tens of milliseconds, pages named in `broken` fail.
///
/// A handle, not data: a durable workflow saves its inputs, so every field
/// is skipped by serde.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Crawler {
    #[serde(skip)]
    log: Arc<Mutex<Vec<String>>>,
    #[serde(skip)]
    broken: Vec<&'static str>,
}

impl Crawler {
    fn calls(&self, what: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| *l == what)
            .count()
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    async fn fetch(&self, page: &str) -> Result<String, AppError> {
        self.log.lock().unwrap().push(format!("fetch {page}"));
        sleep(Duration::from_millis(10 * page.len() as u64)).await;
        if self.broken.contains(&page) {
            return Err(AppError::Unreadable(page.to_owned()));
        }
        Ok(page.to_uppercase())
    }

    async fn unfetch(&self, page: String) -> Result<(), AppError> {
        self.log.lock().unwrap().push(format!("unfetch {page}"));
        Ok(())
    }
}

workflow! {
    /// Fetch every page (two at a time, half must succeed), then join them.
    pub durable workflow Crawl(crawler: Crawler, pages: Vec<String>) -> Result<String, AppError> {
        #[compensate(with = |page| crawler.unfetch(page))]
        step fetched: Branches<String, AppError> =
            for page in pages, concurrency = 2, min_success = 0.5 => crawler.fetch(page).await;

        step joined: String = Ok(fetched.join(","));

        joined
    }
}

fn pages(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_resumed_run_reruns_only_the_unfinished_branches() {
    use resilience::checkpoint::{MemoryStore, decode};
    let store = MemoryStore::new();
    let crawler = Crawler::default();
    let names = pages(&["aaaa", "b", "cc", "ddd"]);
    // Two at a time: b finishes at 10ms, cc (started at 10) at 30, aaaa
    // at 40, ddd (started at 30) at 60. The process "dies" at 35ms.
    let crashed = tokio::time::timeout(
        Duration::from_millis(35),
        Crawl::new(crawler.clone(), names.clone()).run_durable(&store, "c1"),
    )
    .await;
    assert!(crashed.is_err(), "the run was still going at 35ms");
    let bytes = store.get_raw("Crawl", "c1").expect("a checkpoint");
    assert!(bytes.starts_with(b"resilience-checkpoint 3 "));
    let (_, checkpoint) = decode(&bytes, "t").unwrap();
    assert_eq!(checkpoint.position, 0);
    let branches = checkpoint.branches.expect("the finished branches");
    assert_eq!(branches.step, "fetched");
    let done: Vec<(usize, String)> = branches
        .done
        .iter()
        .map(|(i, json)| (*i, String::from_utf8(json.clone()).unwrap()))
        .collect();
    assert_eq!(done, [(1, "\"B\"".to_owned()), (2, "\"CC\"".to_owned())]);

    // Resumed: b and cc do not run again; aaaa and ddd, in flight at the
    // crash, do.
    let start = Instant::now();
    let out = Crawl::new(crawler.clone(), names)
        .run_durable(&store, "c1")
        .await
        .unwrap();
    assert_eq!(out, "AAAA,B,CC,DDD");
    let calls: Vec<usize> = ["aaaa", "b", "cc", "ddd"]
        .iter()
        .map(|p| crawler.calls(&format!("fetch {p}")))
        .collect();
    assert_eq!(calls, [2, 1, 1, 2]);
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(40),
        "aaaa and ddd side by side"
    );
    assert!(store.get_raw("Crawl", "c1").is_none(), "deleted on success");
}

#[tokio::test(start_paused = true)]
async fn a_resumed_run_below_the_minimum_undoes_the_branches_of_both_runs_latest_first() {
    use resilience::checkpoint::{CheckpointStore, MemoryStore, Phase};
    use resilience::durable::DurableError;
    let store = MemoryStore::new();
    let crawler = Crawler {
        broken: vec!["cc", "ddd", "eeeee"],
        ..Crawler::default()
    };
    let names = pages(&["aaaa", "b", "cc", "ddd", "eeeee"]);
    // b finishes at 10ms, cc fails at 30, aaaa finishes at 40; "dies" at 45.
    let crashed = tokio::time::timeout(
        Duration::from_millis(45),
        Crawl::new(crawler.clone(), names.clone()).run_durable(&store, "c2"),
    )
    .await;
    assert!(crashed.is_err());
    // Resumed: cc, ddd and eeeee fail; 2 of 5 is below 50%. The step
    // undoes its successes, latest completed first: aaaa, then b.
    let err = Crawl::new(crawler.clone(), names)
        .run_durable(&store, "c2")
        .await
        .unwrap_err();
    assert_eq!(
        crawler.log(),
        [
            "fetch aaaa",
            "fetch b",
            "fetch cc",
            "fetch ddd",
            "fetch eeeee",
            // resumed
            "fetch cc",
            "fetch ddd",
            "fetch eeeee",
            "unfetch AAAA",
            "unfetch B",
        ]
    );
    let DurableError::Failed(saga) = &err else {
        panic!("{err}");
    };
    assert_eq!(saga.failed_step(), Some("fetched"));
    assert_eq!(
        err.to_string(),
        "step `fetched` failed: 2 of 5 branches succeeded (40%), below the minimum 50%; \
         item 2: no summary of cc and 2 more; undid 2 branches; nothing to undo"
    );
    let lease = store.claim("Crawl", "c2").await.unwrap();
    let checkpoint = store.load(&lease).await.unwrap().expect("kept on failure");
    assert!(
        matches!(checkpoint.phase, Phase::Failed { .. }),
        "{:?}",
        checkpoint.phase
    );
    assert_eq!(checkpoint.branches, None);
}

#[tokio::test(start_paused = true)]
async fn finished_branches_that_do_not_fit_the_workflow_are_a_typed_error() {
    use resilience::checkpoint::{CheckpointError, MemoryStore, decode, encode};
    use resilience::durable::DurableError;
    let store = MemoryStore::new();
    let crawler = Crawler::default();
    let names = pages(&["aaaa", "b", "cc", "ddd"]);
    let crashed = tokio::time::timeout(
        Duration::from_millis(35),
        Crawl::new(crawler.clone(), names.clone()).run_durable(&store, "c3"),
    )
    .await;
    assert!(crashed.is_err());
    let (id, good) = decode(&store.get_raw("Crawl", "c3").unwrap(), "t").unwrap();
    type Damage = fn(&mut resilience::checkpoint::Checkpoint);
    let cases: [(&str, Damage); 3] = [
        (
            "it records finished branches of step `joined`, but the step that runs next is `fetched`",
            |c| c.branches.as_mut().unwrap().step = "joined".into(),
        ),
        (
            "the output of branch 1 of step `fetched` does not decode: invalid type: integer `5`",
            |c| c.branches.as_mut().unwrap().done[0].1 = b"5".to_vec(),
        ),
        (
            "it records branch 9 of step `fetched` as finished, but the step has 4 items",
            |c| c.branches.as_mut().unwrap().done[0].0 = 9,
        ),
    ];
    for (expected, damage) in cases {
        let mut checkpoint = good.clone();
        damage(&mut checkpoint);
        store.put_raw("Crawl", "c3", encode(&id, &checkpoint, "t").unwrap());
        let err = Crawl::new(crawler.clone(), names.clone())
            .run_durable(&store, "c3")
            .await
            .unwrap_err();
        let DurableError::Checkpoint(CheckpointError::InvalidState { location, reason }) = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(location, "memory:Crawl/c3");
        assert!(reason.starts_with(expected), "{reason}");
    }
    // Nothing ran again: every refusal came before a branch started (ddd
    // ran once, in the crashed run).
    assert_eq!(crawler.calls("fetch ddd"), 1);
    assert_eq!(crawler.calls("fetch aaaa"), 1);
}
