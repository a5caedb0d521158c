//! Parallel steps in `workflow!`: a fan-out over a collection (`for doc in
//! docs, .. => ..`) and a consensus over agents (`consensus critic in
//! critics, .. => ..`): concurrency limits and time limits on the paused
//! clock, typed outputs in item order with the failures, the minimum
//! success rate, compensation of each branch in reverse order of
//! completion, per-branch policies, and the diagram.

// `pub workflow`s here need `pub` step and error types; a test crate
// exports nothing, so these lints of the workspace table do not apply.
#![allow(missing_docs, missing_debug_implementations)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use resilience::coordination::Named;
use resilience::events::Scope;
use resilience::{Branches, Elapsed, ParallelError, workflow};
use tokio::time::{Instant, sleep};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppError {
    #[error("no summary of {0}")]
    Unreadable(String),
    #[error("the index is full")]
    IndexFull,
    #[error(transparent)]
    Parallel(#[from] ParallelError),
    #[error(transparent)]
    Timeout(#[from] Elapsed),
}

/// A fake summarizer: each document takes its length in tens of
/// milliseconds; documents named in `broken` fail; every call and undo is
/// logged with its instant.
pub struct Summarizer {
    start: Instant,
    log: Mutex<Vec<String>>,
    broken: Vec<&'static str>,
    /// Documents whose first call fails (then succeed).
    flaky: Mutex<Vec<&'static str>>,
    fail_index: bool,
    running: Mutex<(usize, usize)>,
}

impl Summarizer {
    fn new(broken: &[&'static str]) -> Self {
        Self {
            start: Instant::now(),
            log: Mutex::default(),
            broken: broken.to_vec(),
            flaky: Mutex::default(),
            fail_index: false,
            running: Mutex::default(),
        }
    }

    fn record(&self, line: String) {
        let at = self.start.elapsed().as_millis();
        self.log.lock().unwrap().push(format!("{at}ms {line}"));
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn peak(&self) -> usize {
        self.running.lock().unwrap().1
    }

    async fn summarize(&self, doc: &str) -> Result<String, AppError> {
        self.record(format!("summarize {doc}"));
        {
            let mut running = self.running.lock().unwrap();
            running.0 += 1;
            running.1 = running.1.max(running.0);
        }
        sleep(Duration::from_millis(10 * doc.len() as u64)).await;
        self.running.lock().unwrap().0 -= 1;
        let flaky = {
            let mut flaky = self.flaky.lock().unwrap();
            let found = flaky.iter().position(|d| *d == doc);
            found.map(|i| flaky.remove(i)).is_some()
        };
        if self.broken.contains(&doc) || flaky {
            return Err(AppError::Unreadable(doc.to_owned()));
        }
        Ok(doc.to_uppercase())
    }

    async fn forget(&self, summary: String) -> Result<(), AppError> {
        self.record(format!("forget {summary}"));
        Ok(())
    }

    async fn index(&self, summaries: &Branches<String, AppError>) -> Result<usize, AppError> {
        self.record(format!("index {}", summaries.join(",")));
        if self.fail_index {
            Err(AppError::IndexFull)
        } else {
            Ok(summaries.len())
        }
    }

    async fn plan(&self) -> Result<u32, AppError> {
        self.record("plan".into());
        Ok(1)
    }

    async fn unplan(&self, _plan: u32) -> Result<(), AppError> {
        self.record("unplan".into());
        Ok(())
    }
}

workflow! {
    /// Plan, summarize every document (at most 2 at a time, 60% must
    /// succeed), then index the summaries.
    pub workflow Digest(api: Arc<Summarizer>, docs: Vec<&'static str>) -> Result<String, AppError> {
        #[compensate(with = { let api = api.clone(); move |p| async move { api.unplan(p).await } })]
        step plan: u32 = api.plan().await;

        #[compensate(with = { let api = api.clone(); move |summary| async move { api.forget(summary).await } })]
        step summaries: Branches<String, AppError> =
            for doc in docs, concurrency = 2, min_success = 0.6 => api.summarize(doc).await;

        step indexed: usize = api.index(summaries).await;

        {
            let failed: Vec<String> = summaries.failures().iter().map(ToString::to_string).collect();
            format!(
                "plan {plan}: indexed {indexed} of {} [{}] failed [{}]",
                summaries.items(),
                summaries.join(","),
                failed.join("; ")
            )
        }
    }
}

#[tokio::test(start_paused = true)]
async fn branches_run_concurrently_up_to_the_limit_and_keep_item_order() {
    let api = Arc::new(Summarizer::new(&[]));
    // "aaaa" takes 40ms, "b" 10ms, "cc" 20ms, "ddd" 30ms; two at a time:
    // aaaa and b start at 0; b ends at 10 (cc starts); cc ends at 30 (ddd
    // starts); aaaa ends at 40; ddd at 60.
    let out = Digest::new(api.clone(), vec!["aaaa", "b", "cc", "ddd"])
        .run()
        .await
        .unwrap();
    assert_eq!(out, "plan 1: indexed 4 of 4 [AAAA,B,CC,DDD] failed []");
    assert_eq!(
        api.log(),
        [
            "0ms plan",
            "0ms summarize aaaa",
            "0ms summarize b",
            "10ms summarize cc",
            "30ms summarize ddd",
            "60ms index AAAA,B,CC,DDD",
        ]
    );
    assert_eq!(api.peak(), 2, "at most two branches at once");
}

#[tokio::test(start_paused = true)]
async fn failed_branches_above_the_minimum_are_in_the_output() {
    let api = Arc::new(Summarizer::new(&["cc"]));
    let out = Digest::new(api.clone(), vec!["aaaa", "b", "cc", "ddd"])
        .run()
        .await
        .unwrap();
    // 3 of 4 (75%) reach the minimum of 60%: the step succeeds.
    assert_eq!(
        out,
        "plan 1: indexed 3 of 4 [AAAA,B,DDD] failed [item 2: no summary of cc]"
    );
}

#[tokio::test(start_paused = true)]
async fn below_the_minimum_the_step_undoes_its_branches_latest_first_then_the_steps_before() {
    let api = Arc::new(Summarizer::new(&["c", "xx", "yyy"]));
    let err = Digest::new(api.clone(), vec!["aaaa", "bb", "c", "xx", "yyy"])
        .run()
        .await
        .unwrap_err();
    // Two at a time: bb completes at 20ms, aaaa at 40ms; c, xx and yyy
    // fail: 2 of 5 (40%) is below 60%. Undone latest completed first:
    // AAAA, then BB (item order reversed would be BB, AAAA).
    assert_eq!(
        api.log(),
        [
            "0ms plan",
            "0ms summarize aaaa",
            "0ms summarize bb",
            "20ms summarize c",
            "30ms summarize xx",
            "40ms summarize yyy",
            "70ms forget AAAA",
            "70ms forget BB",
            "70ms unplan",
        ]
    );
    assert_eq!(err.failed_step(), Some("summaries"));
    assert_eq!(
        err.to_string(),
        "step `summaries` failed: 2 of 5 branches succeeded (40%), below the minimum 60%; \
         item 2: no summary of c and 2 more; undid 2 branches; undone: `plan` (ok)"
    );
    let Some(AppError::Parallel(ParallelError::BelowMinimum {
        succeeded,
        items,
        failures,
        compensations,
        ..
    })) = err.error()
    else {
        panic!("{err:?}");
    };
    assert_eq!((*succeeded, *items), (2, 5));
    assert_eq!(
        failures,
        &[
            "item 2: no summary of c",
            "item 3: no summary of xx",
            "item 4: no summary of yyy"
        ]
    );
    let undone: Vec<String> = compensations.iter().map(ToString::to_string).collect();
    assert_eq!(undone, ["`summaries` (ok)", "`summaries` (ok)"]);
}

#[tokio::test(start_paused = true)]
async fn a_later_failure_undoes_each_branch_in_reverse_order_of_completion() {
    let mut summarizer = Summarizer::new(&[]);
    summarizer.fail_index = true;
    let api = Arc::new(summarizer);
    let err = Digest::new(api.clone(), vec!["aaaa", "b", "cc"])
        .run()
        .await
        .unwrap_err();
    // b completes at 10ms, cc (started at 10) at 30, aaaa at 40.
    assert_eq!(
        api.log(),
        [
            "0ms plan",
            "0ms summarize aaaa",
            "0ms summarize b",
            "10ms summarize cc",
            "40ms index AAAA,B,CC",
            "40ms forget AAAA",
            "40ms forget CC",
            "40ms forget B",
            "40ms unplan",
        ]
    );
    assert_eq!(
        err.to_string(),
        "step `indexed` failed: the index is full; undone: `summaries` (ok), `summaries` (ok), \
         `summaries` (ok), `plan` (ok)"
    );
}

#[tokio::test(start_paused = true)]
async fn an_empty_collection_succeeds_with_no_branches() {
    let api = Arc::new(Summarizer::new(&[]));
    let out = Digest::new(api.clone(), Vec::new()).run().await.unwrap();
    assert_eq!(out, "plan 1: indexed 0 of 0 [] failed []");
}

workflow! {
    /// Every branch carries the step's policies: retried once, 25ms each.
    pub workflow Careful(api: Arc<Summarizer>, docs: Vec<&'static str>) -> Result<Vec<String>, AppError> {
        #[retry(attempts = 2, backoff = constant, delay = "5ms")]
        #[timeout("25ms")]
        step summaries: Branches<String, AppError> =
            for doc in docs, concurrency = 8, min_success = 0.5 => api.summarize(doc).await;

        {
            let mut out = summaries.indexed().map(|(i, s)| format!("{i}:{s}")).collect::<Vec<_>>();
            out.extend(summaries.failures().iter().map(ToString::to_string));
            out
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_steps_policies_apply_to_each_branch() {
    let api = Arc::new(Summarizer::new(&[]));
    *api.flaky.lock().unwrap() = vec!["bb"];
    let out = Careful::new(api.clone(), vec!["a", "bb", "ccccc"])
        .run()
        .await
        .unwrap();
    // bb fails once and is retried after 5ms; ccccc (50ms) times out
    // twice at 25ms and fails; a needs one call.
    assert_eq!(
        out,
        [
            "0:A",
            "1:BB",
            "item 2: `Careful::summaries` timed out after 25ms"
        ]
    );
    let calls: Vec<String> = api.log();
    let count = |doc: &str| {
        calls
            .iter()
            .filter(|l| l.ends_with(&format!("summarize {doc}")))
            .count()
    };
    assert_eq!((count("a"), count("bb"), count("ccccc")), (1, 2, 2));
    assert!(calls.contains(&"25ms summarize bb".to_owned()), "{calls:?}");
    assert!(
        calls.contains(&"30ms summarize ccccc".to_owned()),
        "{calls:?}"
    );
}

workflow! {
    /// A branch that panics is that branch's failure.
    pub workflow Tens(n: u32) -> Result<Vec<u32>, AppError> {
        step tens: Branches<u32, AppError> = for i in 0..*n, min_success = 0.5 => async {
            if i == 2 {
                panic!("boom at {i}");
            }
            Ok(i * 10)
        }
        .await;

        tens.into_outputs()
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_branch_is_a_failed_branch() {
    let scope = Scope::new();
    let mut events = scope.subscribe();
    let out = scope.run(Tens::new(4).run()).await.unwrap();
    assert_eq!(out, [0, 10, 30]);
    let event = events.try_recv().expect("the failed branch's event");
    assert_eq!(
        event.to_string(),
        "`Tens::tens` task 2 failed on `tens` (panicked: boom at 2)"
    );
}

/// A critic that gives its verdict after `secs` seconds, or an error.
pub struct Critic {
    verdict: Result<&'static str, &'static str>,
    secs: u64,
}

impl Critic {
    async fn review(&self, draft: &str) -> Result<String, String> {
        sleep(Duration::from_secs(self.secs)).await;
        self.verdict
            .map(|v| v.to_string())
            .map_err(|e| format!("{e} reading {draft}"))
    }
}

fn critics(verdicts: &[(Result<&'static str, &'static str>, u64)]) -> Vec<Named<Critic>> {
    verdicts
        .iter()
        .enumerate()
        .map(|(i, &(verdict, secs))| Named::new(format!("critic_{i}"), Critic { verdict, secs }))
        .collect()
}

workflow! {
    /// Three critics or more review a draft; the majority decides.
    pub workflow Review(critics: Vec<Named<Critic>>, draft: String) -> Result<String, AppError> {
        step verdict: String =
            consensus critic in critics, time_limit = "30s", response_rate = 0.6 => critic.review(draft).await;

        format!("{draft}: {verdict}")
    }
}

#[tokio::test(start_paused = true)]
async fn the_majority_decides_and_a_hung_critic_has_no_vote() {
    let start = Instant::now();
    let critics = critics(&[
        (Ok("ship"), 1),
        (Ok("wait"), 2),
        (Ok("ship"), 3),
        (Ok("ship"), 600),
    ]);
    let out = Review::new(critics, "v2".into()).run().await.unwrap();
    assert_eq!(out, "v2: ship");
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(30),
        "the hung critic's time limit"
    );
}

#[tokio::test(start_paused = true)]
async fn too_few_answers_is_a_parallel_error_naming_the_silent_critics() {
    let critics = critics(&[(Ok("ship"), 1), (Err("crashed"), 1), (Ok("ship"), 90)]);
    let err = Review::new(critics, "v2".into()).run().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "step `verdict` failed: 1 of 3 agents answered (33.3%), below the required 60%; nothing to undo"
    );
    let Some(AppError::Parallel(ParallelError::NoDecision { failures, step, .. })) = err.error()
    else {
        panic!("{err:?}");
    };
    assert_eq!(*step, "verdict");
    assert_eq!(
        failures,
        &[
            "`critic_1`: crashed reading v2",
            "`critic_2`: timed out after 30s"
        ]
    );
}

workflow! {
    /// Verdicts grouped by their first word, so "ship it" and "ship now" agree.
    pub workflow Loose(critics: Vec<Named<Critic>>, draft: String) -> Result<String, AppError> {
        step verdict: String =
            consensus critic in critics, time_limit = "5s", majority = 0.6, key = |v: &String| v.split(' ').next().map(str::to_owned)
            => critic.review(draft).await;

        verdict
    }
}

#[tokio::test(start_paused = true)]
async fn a_key_groups_the_answers() {
    let critics = critics(&[
        (Ok("ship it"), 1),
        (Ok("wait"), 1),
        (Ok("ship now"), 1),
        (Ok("wait"), 9),
    ]);
    // The last critic's call times out after 5s:
    // 3 answers, 2 of them "ship" (67% >= 60%).
    let out = Loose::new(critics, "v3".into()).run().await.unwrap();
    assert_eq!(out, "ship it");
}

#[test]
fn the_diagram_shows_the_fan_out() {
    let diagram = Digest::diagram();
    assert!(
        diagram.contains("subgraph summaries [\"summaries: Branches#lt;String, AppError#gt;<br/>for doc in docs · 2 at once · min success 60%<br/>each branch: compensate\"]"),
        "{diagram}"
    );
    assert!(
        diagram.contains(
            "summaries_fork --> summaries_1 & summaries_2 & summaries_n --> summaries_join"
        ),
        "{diagram}"
    );
    assert!(
        diagram.contains("plan --> summaries --> indexed"),
        "{diagram}"
    );
    assert!(
        diagram.contains("indexed -. fails .-> undo_summaries"),
        "{diagram}"
    );
    let review = Review::diagram();
    assert!(
        review.contains("consensus of critics · 30s each · answers ≥ 60% · majority ≥ 50%"),
        "{review}"
    );
}
