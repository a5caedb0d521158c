//! Parallel steps in `workflow!`: the guide's fault-tolerant fan-out and
//! its consensus, as two steps of one workflow.
//!
//! A research digest: ten sources are summarized concurrently (four at a
//! time, each call with the guide's `@retry(attempts=2, delay=1.0)` and
//! `@timeout(seconds=60)`, 70% must succeed, as the guide's
//! `min_success_rate`), then five reviewers vote on the digest (30 s each,
//! 60% must answer, the majority decides), then it is published. Each
//! summary is stored as it is made, so a failure later undoes each one,
//! latest first.
//!
//! Part 2 runs the same workflow durably, "crashes" it half-way through
//! the summaries, and resumes it: the summaries that had finished are not
//! made again.
//!
//! The agents are scripted and tokio's clock is paused, so every run tells
//! the same story at once.
//!
//! Run it with `cargo run --example parallel_workflow`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use resilience::checkpoint::MemoryStore;
use resilience::coordination::Named;
use resilience::{Branches, Elapsed, ParallelError, fmt_duration, workflow};
use tokio::time::{Instant, sleep};

#[derive(Debug, thiserror::Error)]
enum DigestError {
    #[error("source {0} is unreachable")]
    Unreachable(usize),
    #[error("the publisher is down")]
    PublisherDown,
    #[error(transparent)]
    Parallel(#[from] ParallelError),
    #[error(transparent)]
    Timeout(#[from] Elapsed),
}

/// The summarizer, the store of summaries and the publisher, scripted: some
/// sources are down for good, one stalls on its first call. A handle, not
/// data: its fields are not saved with a durable run's inputs.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
struct Desk {
    #[serde(skip)]
    down: Vec<usize>,
    #[serde(skip)]
    stalls: Vec<usize>,
    #[serde(skip)]
    publisher_down: bool,
    #[serde(skip)]
    calls: Arc<Mutex<HashMap<usize, u32>>>,
}

impl Desk {
    async fn summarize(&self, source: usize) -> Result<String, DigestError> {
        let call = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls.entry(source).or_default();
            *n += 1;
            *n
        };
        if self.stalls.contains(&source) && call == 1 {
            sleep(Duration::from_secs(120)).await; // past the 60 s limit
        }
        sleep(Duration::from_millis(500 + 100 * source as u64)).await;
        if self.down.contains(&source) {
            return Err(DigestError::Unreachable(source));
        }
        println!("  summarized source {source} (call {call})");
        Ok(format!("summary {source}"))
    }

    async fn discard(&self, summary: String) -> Result<(), DigestError> {
        println!("  undo: discarded {summary}");
        Ok(())
    }

    async fn publish(
        &self,
        summaries: &Branches<String, DigestError>,
    ) -> Result<String, DigestError> {
        if self.publisher_down {
            return Err(DigestError::PublisherDown);
        }
        Ok(format!("digest of {} sources", summaries.len()))
    }

    fn calls(&self) -> u32 {
        self.calls.lock().unwrap().values().sum()
    }
}

/// A reviewer's scripted verdict after some seconds, or an error.
struct Reviewer {
    verdict: Result<&'static str, &'static str>,
    secs: u64,
}

impl Reviewer {
    async fn review(&self, digest: &Branches<String, DigestError>) -> Result<String, String> {
        sleep(Duration::from_secs(self.secs)).await;
        self.verdict
            .map(|v| format!("{v} ({} summaries read)", digest.len()))
            .map_err(|e| e.to_owned())
    }
}

workflow! {
    /// Summarize every source, have the reviewers vote, publish.
    workflow Digest(desk: Desk, sources: Vec<usize>, reviewers: Vec<Named<Reviewer>>) -> Result<String, DigestError> {
        #[retry(attempts = 2, backoff = constant, delay = "1s")]
        #[timeout("60s")]
        #[compensate(with = { let desk = desk.clone(); move |summary| async move { desk.discard(summary).await } })]
        step summaries: Branches<String, DigestError> =
            for source in sources, concurrency = 4, min_success = 0.7 => desk.summarize(*source).await;

        step verdict: String =
            consensus reviewer in reviewers, time_limit = "30s", response_rate = 0.6, key = |v: &String| v.split(' ').next().map(str::to_owned)
            => reviewer.review(summaries).await;

        step published: String = desk.publish(summaries).await;

        format!("{published}, reviewers say {verdict}")
    }
}

workflow! {
    /// The summaries alone, durably: each finished summary is checkpointed.
    durable workflow DurableDigest(desk: Desk, sources: Vec<usize>) -> Result<usize, DigestError> {
        step summaries: Branches<String, DigestError> =
            for source in sources, concurrency = 4, min_success = 0.7 => desk.summarize(*source).await;

        summaries.len()
    }
}

fn reviewers() -> Vec<Named<Reviewer>> {
    [
        (Ok("publish"), 3),
        (Ok("publish with edits"), 5),
        (Ok("hold"), 4),
        (Err("rate limited"), 1),
        (Ok("publish"), 90), // hangs: no vote after 30 s
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (verdict, secs))| Named::new(format!("reviewer_{i}"), Reviewer { verdict, secs }))
    .collect()
}

fn desk(publisher_down: bool) -> Desk {
    Desk {
        down: vec![3, 8],
        stalls: vec![6],
        publisher_down,
        ..Desk::default()
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let sources: Vec<usize> = (0..10).collect();

    println!(
        "The workflow, as a Mermaid flowchart:\n{}",
        Digest::diagram()
    );

    println!("Part 1: ten sources, two of them down, one that stalls once.");
    let start = Instant::now();
    match Digest::new(desk(false), sources.clone(), reviewers())
        .run()
        .await
    {
        Ok(out) => println!(
            "Done in {} (paused time): {out}.",
            fmt_duration(start.elapsed())
        ),
        Err(error) => println!("Failed: {error}"),
    }
    println!();

    println!("Part 1b: the same, but the publisher is down: each summary is undone, latest first.");
    match Digest::new(desk(true), sources.clone(), reviewers())
        .run()
        .await
    {
        Ok(out) => println!("Done: {out}"),
        Err(error) => println!("Failed: {error}"),
    }
    println!();

    println!("Part 2: a durable run, 'killed' after 1.2 s, then resumed.");
    let store = MemoryStore::new();
    let first = desk(false);
    let killed = tokio::time::timeout(
        Duration::from_millis(1200),
        DurableDigest::new(first.clone(), sources.clone()).run_durable(&store, "digest-1"),
    )
    .await;
    assert!(killed.is_err());
    println!(
        "  killed; {} summarize calls so far (sources 0, 1 and 2 finished and were checkpointed)",
        first.calls()
    );
    let second = desk(false);
    let count = DurableDigest::new(second.clone(), sources)
        .run_durable(&store, "digest-1")
        .await
        .expect("resumed run");
    println!(
        "  resumed: {count} summaries, with {} summarize calls (the finished ones were not made again)",
        second.calls()
    );
}
