//! Progressive retry: the guide's `execute_with_progressive_retry`.
//!
//! A hard task is tried with one small-model agent (30 s), then three
//! medium-model agents (60 s), then five large-model agents (120 s). Each
//! tier creates its agents, runs under its own time limit, and is cleaned up
//! exactly once when it fails, with the agents it created (none when
//! creating them failed). A second task is refused by the content policy:
//! that error does not escalate, so no bigger model is bought for it.
//!
//! Then the same two tasks run through the declarative form: an `async fn`
//! with `#[escalate(tiers = STRATEGIES, when = ..)]` that receives its tier
//! as a `#[tier]` parameter (creating its agents is part of the tier; they
//! are dropped with it, as the attribute has no cleanup hook).
//!
//! The agents are simulated on tokio's paused clock, so the run takes no
//! real time and always tells the same story.
//!
//! Run it with `cargo run --example progressive_retry`.

use std::time::Duration;

use resilience::events::Scope;
use resilience::{Escalation, EscalationError, Tier, escalate, fmt_duration};
use tokio::time::{Instant, sleep};

/// One of the guide's strategies.
struct Strategy {
    agents: usize,
    timeout: Duration,
    model: &'static str,
}

impl Tier for Strategy {
    fn time_limit(&self) -> Duration {
        self.timeout
    }
}

const STRATEGIES: [Strategy; 3] = [
    Strategy {
        agents: 1,
        timeout: Duration::from_secs(30),
        model: "small",
    },
    Strategy {
        agents: 3,
        timeout: Duration::from_secs(60),
        model: "medium",
    },
    Strategy {
        agents: 5,
        timeout: Duration::from_secs(120),
        model: "large",
    },
];

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("no {0} model available")]
    NoCapacity(&'static str),
    #[error("refused by the content policy")]
    ContentPolicy,
    /// What `#[escalate]` returns when no tier succeeded.
    #[error(transparent)]
    Escalation(#[from] EscalationError<AgentError>),
}

impl AgentError {
    /// A content-policy refusal does not buy a bigger model.
    fn escalates(&self) -> bool {
        !matches!(self, AgentError::ContentPolicy)
    }
}

/// A simulated agent.
#[derive(Clone, Debug)]
struct Agent {
    model: &'static str,
}

async fn create_agents(count: usize, model: &'static str) -> Result<Vec<Agent>, AgentError> {
    sleep(Duration::from_secs(2)).await;
    if model == "medium" {
        return Err(AgentError::NoCapacity(model)); // the medium pool is empty today
    }
    Ok(vec![Agent { model }; count])
}

async fn execute_with_agents(task: &str, agents: &[Agent]) -> Result<String, AgentError> {
    if task.contains("forbidden") {
        return Err(AgentError::ContentPolicy);
    }
    // A small model thinks forever about a hard task; a large one solves it.
    let thinking = if agents[0].model == "small" { 600 } else { 45 };
    sleep(Duration::from_secs(thinking)).await;
    Ok(format!(
        "`{task}` solved by {} {} agents",
        agents.len(),
        agents[0].model
    ))
}

async fn cleanup_agents(tier: &Strategy, agents: Option<Vec<Agent>>) {
    match agents {
        Some(agents) => println!(
            "     cleanup: released {} {} agent(s)",
            agents.len(),
            tier.model
        ),
        None => println!(
            "     cleanup: tier `{}` created no agents, nothing to release",
            tier.model
        ),
    }
}

async fn solve(task: &str) -> Result<String, EscalationError<AgentError>> {
    Escalation::new(&STRATEGIES)
        .with_name("solve")
        .when(|e: &AgentError| !matches!(e, AgentError::ContentPolicy))
        .run_with(
            |s| {
                println!(
                    "     tier `{}`: creating {} agent(s), limit {}",
                    s.model,
                    s.agents,
                    fmt_duration(s.timeout)
                );
                create_agents(s.agents, s.model)
            },
            |_, agents| async move { execute_with_agents(task, &agents).await },
            cleanup_agents,
        )
        .await
}

/// The same, declared: the attribute runs the body once per tier, each
/// under the tier's time limit; callers pass only the task.
#[escalate(tiers = STRATEGIES, when = AgentError::escalates)]
async fn solve_declared(task: &str, #[tier] strategy: &Strategy) -> Result<String, AgentError> {
    println!(
        "     tier `{}`: creating {} agent(s), limit {}",
        strategy.model,
        strategy.agents,
        fmt_duration(strategy.timeout)
    );
    let agents = create_agents(strategy.agents, strategy.model).await?;
    execute_with_agents(task, &agents).await
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let scope = Scope::new();
    let _printer = scope.observe(|event| println!("     event: {event}"));
    for task in ["prove the lemma", "write the forbidden essay"] {
        println!("Task `{task}`:");
        let start = Instant::now();
        let outcome = scope.run(solve(task)).await;
        match outcome {
            Ok(answer) => println!("  -> {answer}, after {}", fmt_duration(start.elapsed())),
            Err(err @ EscalationError::NotEscalated { .. }) => {
                println!("  -> stopped without escalating: {err}");
            }
            Err(err) => println!("  -> failed: {err}"),
        }
    }
    println!();
    println!("Declared with `#[escalate]`:");
    for task in ["prove the lemma", "write the forbidden essay"] {
        println!("Task `{task}`:");
        let start = Instant::now();
        match scope.run(solve_declared(task)).await {
            Ok(answer) => println!("  -> {answer}, after {}", fmt_duration(start.elapsed())),
            Err(AgentError::Escalation(err @ EscalationError::NotEscalated { .. })) => {
                println!("  -> stopped without escalating: {err}");
            }
            Err(err) => println!("  -> failed: {err}"),
        }
    }
}
