//! The coordination patterns against the same logic written by hand with
//! tokio, in one run.
//!
//! 1. `fanout`: 10,000 trivial tasks over 8 primary agents (task i on agent
//!    i mod 8) and 2 fallbacks, 50 at a time; 5% of the tasks (every 20th)
//!    fail on their primary and go to a fallback. Ours: [`FanOut::run`].
//!    By hand: a `JoinSet` with a `Semaphore` of 50 permits, each task
//!    spawned with `Arc`ed agents, the results put back in task order with
//!    who served each, its errors and its duration, then the success rate.
//! 2. `consensus`: 5 trivial agents (3 say "A", 2 say "B"), each under a
//!    30s time limit. Ours: [`Consensus::ask`] + `decide`. By hand:
//!    `join_all` of `tokio::time::timeout`s, then a `HashMap` count, the
//!    response rate, the majority share and the tie check.
//!
//! The calls return at once (after `black_box`), so the figures are the
//! patterns' own cost. All futures run on one current-thread runtime with
//! the time driver; no `tracing` subscriber and no event listener is
//! installed.
//!
//! After criterion, both variants of each group run again interleaved
//! ([`ROUNDS`] rounds, each timing both), and the last two lines print the
//! ratio of the medians: `fanout: ours/hand R` and `consensus: ours/hand R`.
//!
//! Run: `cargo bench --bench coordination`.

mod common;

use common::interleaved;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use resilience::coordination::Named;
use resilience::{Consensus, FanOut};
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const TASKS: u64 = 10_000;
const CONCURRENCY: usize = 50;
const LIMIT: Duration = Duration::from_secs(30);
/// Interleaved rounds for the summary.
const ROUNDS: usize = 21;
/// Consensus rounds per timing (one round is too short to time alone).
const CONSENSUS_BATCH: usize = 1_000;

// ---------------------------------------------------------------------------
// The calls
// ---------------------------------------------------------------------------

/// A trivial agent call: fails every 20th task on a primary.
async fn work(agent: &u32, task: &u64) -> Result<u64, &'static str> {
    let (agent, task) = (black_box(*agent), black_box(*task));
    if agent < 100 && task % 20 == 0 {
        Err("overloaded")
    } else {
        Ok(task + u64::from(agent))
    }
}

/// A trivial consensus voter.
async fn vote(agent: &u32, _task: &()) -> Result<&'static str, &'static str> {
    Ok(if black_box(*agent) < 3 { "A" } else { "B" })
}

fn primaries() -> Vec<Named<u32>> {
    (0..8).map(|i| Named::new("primary", i)).collect()
}

fn fallbacks() -> Vec<Named<u32>> {
    (100..102).map(|i| Named::new("fallback", i)).collect()
}

fn voters() -> Vec<Named<u32>> {
    (0..5).map(|i| Named::new("voter", i)).collect()
}

// ---------------------------------------------------------------------------
// Fan-out, ours and by hand
// ---------------------------------------------------------------------------

async fn fanout_ours(tasks: &[u64], primaries: &[Named<u32>], fallbacks: &[Named<u32>]) -> f64 {
    let report = FanOut::new()
        .with_concurrency(CONCURRENCY)
        .run(tasks, primaries, fallbacks, work)
        .await
        .expect("95% succeed");
    report.success_rate()
}

/// What the hand-written fan-out keeps per task: what ours reports.
#[allow(dead_code)]
struct HandReport {
    served_by: Option<(String, bool)>,
    output: Option<u64>,
    errors: Vec<(String, &'static str)>,
    duration: Duration,
}

async fn fanout_hand(
    tasks: Arc<[u64]>,
    primaries: Arc<[Named<u32>]>,
    fallbacks: Arc<[Named<u32>]>,
) -> f64 {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut set = JoinSet::new();
    let mut reports: Vec<Option<HandReport>> = (0..tasks.len()).map(|_| None).collect();
    for i in 0..tasks.len() {
        let permit = Arc::clone(&permits).acquire_owned().await.expect("open");
        let (tasks, primaries, fallbacks) = (
            Arc::clone(&tasks),
            Arc::clone(&primaries),
            Arc::clone(&fallbacks),
        );
        set.spawn(async move {
            let _permit = permit;
            let started = tokio::time::Instant::now();
            let task = &tasks[i];
            let mut errors = Vec::new();
            let primary = &primaries[i % primaries.len()];
            let mut served_by = None;
            let mut output = None;
            match work(primary.agent(), task).await {
                Ok(o) => (served_by, output) = (Some((primary.name().to_owned(), false)), Some(o)),
                Err(e) => {
                    errors.push((primary.name().to_owned(), e));
                    for k in 0..fallbacks.len() {
                        let fallback = &fallbacks[(i + k) % fallbacks.len()];
                        match work(fallback.agent(), task).await {
                            Ok(o) => {
                                (served_by, output) =
                                    (Some((fallback.name().to_owned(), true)), Some(o));
                                break;
                            }
                            Err(e) => errors.push((fallback.name().to_owned(), e)),
                        }
                    }
                }
            }
            (
                i,
                HandReport {
                    served_by,
                    output,
                    errors,
                    duration: started.elapsed(),
                },
            )
        });
        // Collect what has finished, as ours does, to keep memory flat.
        while let Some(done) = set.try_join_next() {
            let (i, report) = done.expect("no panic");
            reports[i] = Some(report);
        }
    }
    while let Some(done) = set.join_next().await {
        let (i, report) = done.expect("no panic");
        reports[i] = Some(report);
    }
    let succeeded = reports
        .iter()
        .flatten()
        .filter(|r| r.output.is_some())
        .count();
    black_box(&reports);
    succeeded as f64 / tasks.len() as f64
}

// ---------------------------------------------------------------------------
// Consensus, ours and by hand
// ---------------------------------------------------------------------------

async fn consensus_ours(voters: &[Named<u32>]) -> &'static str {
    Consensus::new()
        .ask(&(), voters, vote)
        .decide()
        .await
        .expect("a majority")
        .into_answer()
}

async fn consensus_hand(voters: &[Named<u32>]) -> &'static str {
    let calls = voters
        .iter()
        .map(|v| tokio::time::timeout(LIMIT, vote(v.agent(), &())));
    let results = futures::future::join_all(calls).await;
    let answers: Vec<&'static str> = results.into_iter().filter_map(|r| r.ok()?.ok()).collect();
    assert!(
        answers.len() as f64 / voters.len() as f64 >= 0.6,
        "too few responses"
    );
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for answer in &answers {
        *counts.entry(answer).or_default() += 1;
    }
    let mut sorted: Vec<(&str, usize)> = counts.into_iter().collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.1));
    let (winner, votes) = sorted[0];
    let tied = sorted.get(1).is_some_and(|s| s.1 == votes);
    assert!(
        !tied && votes as f64 / answers.len() as f64 >= 0.5,
        "no consensus"
    );
    winner
}

// ---------------------------------------------------------------------------
// Criterion, then the interleaved summary
// ---------------------------------------------------------------------------

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

struct Inputs {
    tasks: Arc<[u64]>,
    primaries: Arc<[Named<u32>]>,
    fallbacks: Arc<[Named<u32>]>,
    voters: Vec<Named<u32>>,
}

impl Inputs {
    fn new() -> Self {
        Self {
            tasks: (0..TASKS).collect(),
            primaries: primaries().into(),
            fallbacks: fallbacks().into(),
            voters: voters(),
        }
    }

    fn fanout_ours(&self, rt: &Runtime) -> f64 {
        rt.block_on(fanout_ours(&self.tasks, &self.primaries, &self.fallbacks))
    }

    fn fanout_hand(&self, rt: &Runtime) -> f64 {
        rt.block_on(fanout_hand(
            Arc::clone(&self.tasks),
            Arc::clone(&self.primaries),
            Arc::clone(&self.fallbacks),
        ))
    }

    fn consensus_ours(&self, rt: &Runtime) -> &'static str {
        rt.block_on(async {
            let mut last = "";
            for _ in 0..CONSENSUS_BATCH {
                last = consensus_ours(&self.voters).await;
            }
            last
        })
    }

    fn consensus_hand(&self, rt: &Runtime) -> &'static str {
        rt.block_on(async {
            let mut last = "";
            for _ in 0..CONSENSUS_BATCH {
                last = consensus_hand(&self.voters).await;
            }
            last
        })
    }
}

fn criterion_groups(c: &mut Criterion, rt: &Runtime, inputs: &Inputs) {
    let mut g = c.benchmark_group("fanout_10k_tasks_8_agents_c50_5pct_failures");
    g.bench_function("ours", |b| b.iter(|| inputs.fanout_ours(rt)));
    g.bench_function("hand_written_joinset_semaphore", |b| {
        b.iter(|| inputs.fanout_hand(rt))
    });
    g.finish();
    let mut g = c.benchmark_group("consensus_5_agents");
    g.bench_function("ours", |b| {
        b.iter(|| rt.block_on(consensus_ours(&inputs.voters)))
    });
    g.bench_function("hand_written_join_all_count", |b| {
        b.iter(|| rt.block_on(consensus_hand(&inputs.voters)))
    });
    g.finish();
}

fn main() {
    let rt = runtime();
    let inputs = Inputs::new();
    assert_eq!(inputs.fanout_ours(&rt), 1.0);
    assert_eq!(inputs.fanout_hand(&rt), 1.0);
    assert_eq!(inputs.consensus_ours(&rt), inputs.consensus_hand(&rt));

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args();
    criterion_groups(&mut c, &rt, &inputs);
    c.final_summary();

    let (fo, fh) = interleaved(
        ROUNDS,
        || inputs.fanout_ours(&rt),
        || inputs.fanout_hand(&rt),
    );
    let (co, ch) = interleaved(
        ROUNDS,
        || inputs.consensus_ours(&rt),
        || inputs.consensus_hand(&rt),
    );
    println!();
    println!("Interleaved, median of {ROUNDS} rounds:");
    println!("fan-out of {TASKS} tasks: ours {fo:?}, by hand {fh:?}");
    println!("consensus of 5 agents ({CONSENSUS_BATCH} rounds): ours {co:?}, by hand {ch:?}");
    println!(
        "fanout: ours/hand {:.2}",
        fo.as_secs_f64() / fh.as_secs_f64()
    );
    println!(
        "consensus: ours/hand {:.2}",
        co.as_secs_f64() / ch.as_secs_f64()
    );
}
