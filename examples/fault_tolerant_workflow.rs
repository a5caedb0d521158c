//! Fault-tolerant fan-out: the guide's "Fault-Tolerant Workflows"
//! (`execute_with_fallbacks`) and its chaos test.
//!
//! Ten tasks go to five "chaos" agents (task i to agent i mod 5). Each call
//! carries the guide's `@retry(attempts=2, delay=1.0)` and
//! `@timeout(seconds=60)` as `#[retry]` and `#[timeout]`. Some agents fail
//! some tasks for good; those tasks go to the fallback agents in turn. The
//! run needs 70% of the tasks to succeed.
//!
//! The agents are scripted, so every run tells the same story; tokio's clock
//! is paused, so the retry delays and the timeouts take no real time.
//!
//! Run it with `cargo run --example fault_tolerant_workflow`.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use resilience::coordination::{Named, TaskOutcome};
use resilience::{Elapsed, FanOut, FanOutError, fmt_duration, retry, timeout};
use tokio::time::sleep;

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] Elapsed),
    #[error("Simulated connection error")]
    Connection,
}

/// An agent that fails some tasks for good and stalls once on others.
struct ChaosAgent {
    /// Tasks it always fails.
    broken: &'static [usize],
    /// Tasks whose first attempt hangs past the time limit.
    stalls: &'static [usize],
    /// The tasks it has seen, so a stall happens once.
    seen: Mutex<HashSet<usize>>,
}

impl ChaosAgent {
    fn new(broken: &'static [usize], stalls: &'static [usize]) -> Self {
        Self {
            broken,
            stalls,
            seen: Mutex::new(HashSet::new()),
        }
    }

    async fn process(&self, task: usize) -> Result<String, AgentError> {
        let first_time = self.seen.lock().unwrap().insert(task);
        if self.stalls.contains(&task) && first_time {
            sleep(Duration::from_secs(120)).await;
        }
        sleep(Duration::from_millis(500)).await;
        if self.broken.contains(&task) {
            return Err(AgentError::Connection);
        }
        Ok(format!("summary of task_{task}"))
    }
}

/// The guide's `execute_task_with_agent`, with its two decorators.
#[retry(attempts = 2, delay = "1s")]
#[timeout(seconds = 60)]
async fn execute_task_with_agent(agent: &ChaosAgent, task: &usize) -> Result<String, AgentError> {
    agent.process(*task).await
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let tasks: Vec<usize> = (0..10).collect();
    let chaos: Vec<Named<ChaosAgent>> = [
        ("chaos_0", ChaosAgent::new(&[], &[])),
        ("chaos_1", ChaosAgent::new(&[], &[6])),
        ("chaos_2", ChaosAgent::new(&[2, 7], &[])),
        ("chaos_3", ChaosAgent::new(&[3], &[])),
        ("chaos_4", ChaosAgent::new(&[], &[])),
    ]
    .into_iter()
    .map(Named::from)
    .collect();
    let fallbacks = [
        Named::new("backup_0", ChaosAgent::new(&[7], &[])),
        Named::new("backup_1", ChaosAgent::new(&[7], &[])),
    ];

    println!("The guide's chaos test: 10 tasks, 5 chaos agents, minimum success rate 70%.");
    println!("The guide's `zip` would run only 5 of the 10 tasks and could never pass.");
    println!();

    println!("As it happens (the events):");
    let _watch = resilience::events::observe(|event| println!("  {event}"));
    let result = FanOut::new()
        .with_operation("chaos_test")
        .with_min_success(0.7)
        .with_concurrency(4)
        .run(&tasks, &chaos, &fallbacks, execute_task_with_agent)
        .await;

    drop(_watch);
    println!();
    println!("The report, in task order:");
    let report = match result {
        Ok(report) => report,
        Err(FanOutError::BelowMinimum { report, .. }) => {
            println!("The workflow failed, but here is what did succeed:");
            report
        }
        Err(other) => panic!("cannot run: {other}"),
    };
    for task in &report.tasks {
        let name = format!("task_{}", task.index);
        let took = fmt_duration(task.duration);
        match &task.outcome {
            TaskOutcome::Served {
                agent,
                fallback: false,
                output,
            } => {
                println!("{name}: served by primary {agent} in {took}: {output}")
            }
            TaskOutcome::Served {
                agent,
                fallback: true,
                output,
            } => {
                println!("{name}: fell back to {agent}, served in {took}: {output}")
            }
            TaskOutcome::Failed => {
                let errors: Vec<String> = task.errors.iter().map(ToString::to_string).collect();
                println!(
                    "{name}: FAILED on every agent after {took}: {}",
                    errors.join("; ")
                )
            }
            TaskOutcome::NotStarted => println!("{name}: not started"),
            _ => println!("{name}: ?"),
        }
    }
    println!();
    let fell_back: Vec<String> = report
        .fell_back()
        .map(|t| format!("task_{}", t.index))
        .collect();
    let failed: Vec<String> = report
        .tasks
        .iter()
        .filter(|t| t.outcome == TaskOutcome::Failed)
        .map(|t| format!("task_{}", t.index))
        .collect();
    println!("Tasks that fell back: {}", fell_back.join(", "));
    println!("Tasks that failed: {}", failed.join(", "));
    println!(
        "Success rate: {:.0}% (minimum 70%), in {} of (paused) time.",
        report.success_rate() * 100.0,
        fmt_duration(report.elapsed)
    );
    println!("Outcome: {report}.");
}
