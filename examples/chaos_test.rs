//! The guide's chaos test, `test_workflow_resilience`: five chaos agents
//! that fail 30% of their calls, ten tasks, a fault-tolerant fan-out with
//! fallback agents and a minimum success rate of 0.7.
//!
//! Each agent's `process` is `#[chaos(state = self.chaos)]` under
//! `#[retry(attempts = 2, delay = "1s")]`: every attempt may get an
//! injected timeout, connection, processing or resource-exhaustion error,
//! after 50 to 500ms of injected latency. Each agent has its own `Chaos`,
//! seeded from the run's seed, so the same seed tells the same story; pass
//! another as the first argument to see another run, and the printed seed
//! to replay one. tokio's clock is paused: the latency and the retry
//! delays take no real time.
//!
//! Needs the `chaos` feature:
//! `cargo run --example chaos_test --features chaos [-- SEED]`.

use std::time::Duration;

use resilience::coordination::{Named, TaskOutcome};
use resilience::{
    Chaos, ChaosConfig, ChaosError, ChaosKind, FanOut, FanOutError, Latency, chaos, fmt_duration,
    retry,
};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Chaos(#[from] ChaosError),
}

/// The guide's `ChaosAgent`: a plain agent whose calls go through chaos.
struct ChaosAgent {
    chaos: Chaos,
}

impl ChaosAgent {
    fn new(seed: u64) -> Self {
        let config = ChaosConfig::new()
            .with_failure_rate(0.3)
            .with_latency(Latency::between(
                Duration::from_millis(50),
                Duration::from_millis(500),
            ))
            .with_seed(seed);
        Self {
            chaos: Chaos::try_new(config).expect("a valid chaos configuration"),
        }
    }

    #[retry(attempts = 2, delay = "1s")]
    #[chaos(state = self.chaos)]
    async fn process(&self, task: &str) -> Result<String, AgentError> {
        Ok(format!("{task} done"))
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let seed: u64 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(2026);
    println!(
        "Chaos test, seed {seed}: 5 chaos agents at 30%, 10 tasks, minimum success rate 0.7\n"
    );

    let primaries: Vec<Named<ChaosAgent>> = (0..5)
        .map(|i| Named::new(format!("chaos_{i}"), ChaosAgent::new(seed.wrapping_add(i))))
        .collect();
    // The fallbacks are chaos agents too: the layer must absorb their faults as well.
    let fallbacks: Vec<Named<ChaosAgent>> = (0..2)
        .map(|i| {
            Named::new(
                format!("backup_{i}"),
                ChaosAgent::new(seed.wrapping_add(100 + i)),
            )
        })
        .collect();
    let tasks: Vec<String> = (0..10).map(|i| format!("task_{i}")).collect();

    let started = tokio::time::Instant::now();
    let outcome = FanOut::new()
        .with_operation("chaos_test")
        .with_min_success(0.7)
        .run(
            &tasks,
            &primaries,
            &fallbacks,
            |agent: &ChaosAgent, task: &String| agent.process(task),
        )
        .await;

    let report = match &outcome {
        Ok(report) => {
            println!(
                "Workflow succeeded despite failures: {} of {} tasks completed ({:.0}%) in {} of simulated time",
                report.succeeded(),
                tasks.len(),
                report.success_rate() * 100.0,
                fmt_duration(started.elapsed())
            );
            report
        }
        Err(FanOutError::BelowMinimum { report, .. }) => {
            println!(
                "Workflow failed: only {} of {} tasks completed, below the minimum of 70%",
                report.succeeded(),
                tasks.len()
            );
            report
        }
        Err(other) => {
            println!("Workflow could not run: {other}");
            return;
        }
    };

    println!("\nTasks:");
    for (task, result) in tasks.iter().zip(&report.tasks) {
        let how = match &result.outcome {
            TaskOutcome::Served { .. } if result.fell_back() => "served by fallback",
            TaskOutcome::Served { .. } => "served",
            _ => "failed",
        };
        println!(
            "  {task}: {how}{}",
            result
                .served_by()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default()
        );
    }

    println!("\nWhat chaos injected, agent by agent (calls = injected + passed through):");
    let mut injected = 0;
    let mut calls = 0;
    for agent in primaries.iter().chain(&fallbacks) {
        let stats = agent.agent().chaos.stats();
        let kinds: Vec<String> = ChaosKind::ALL
            .iter()
            .filter(|&&kind| stats.injected_of(kind) > 0)
            .map(|&kind| format!("{} {kind}", stats.injected_of(kind)))
            .collect();
        println!(
            "  {:<9} {:>2} call{}, {:>2} injected{}, {} of latency added",
            agent.name(),
            stats.calls,
            if stats.calls == 1 { "" } else { "s" },
            stats.injected(),
            if kinds.is_empty() {
                String::new()
            } else {
                format!(" ({})", kinds.join(", "))
            },
            fmt_duration(stats.latency_added)
        );
        assert_eq!(stats.calls, stats.injected() + stats.passed_through());
        injected += stats.injected();
        calls += stats.calls;
    }

    let failed_tasks = report.failed() + report.not_started();
    let fell_back = report.fell_back().count();
    println!("\nWhat the resilience layer absorbed:");
    println!("  {injected} injected faults over {calls} calls;");
    println!(
        "  #[retry] and the fallbacks turned them into {} successful tasks ({} via a fallback), {} failed task{}.",
        report.succeeded(),
        fell_back,
        failed_tasks,
        if failed_tasks == 1 { "" } else { "s" }
    );
    assert_eq!(report.succeeded() + failed_tasks, tasks.len());
    println!("\nReplay this run with `cargo run --example chaos_test --features chaos -- {seed}`.");
}
