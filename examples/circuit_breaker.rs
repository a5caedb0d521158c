//! A flaky agent trips its circuit breaker: its calls fail fast while the
//! breaker is open, a trial call goes through once the break is over, and
//! the breaker closes when the agent has recovered.
//!
//! Run: `cargo run --example circuit_breaker`. Time is tokio's paused
//! clock, so the 10 s break passes at once.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use resilience::{BreakerPolicy, CircuitBreaker, CircuitOpen, OwnedEventKind, circuit_breaker};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Open(#[from] CircuitOpen),
    #[error("the model is overloaded")]
    Overloaded,
    #[error("the prompt is empty")]
    EmptyPrompt,
}

impl AgentError {
    /// Only the model's failures count; an empty prompt is the caller's.
    fn is_agent_failure(&self) -> bool {
        matches!(self, AgentError::Overloaded)
    }
}

/// An agent with its own breaker: three failures in a row open it for 10 s.
struct Agent {
    name: &'static str,
    healthy: AtomicBool,
    calls: AtomicU32,
    breaker: CircuitBreaker,
}

impl Agent {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            healthy: AtomicBool::new(false),
            calls: AtomicU32::new(0),
            breaker: CircuitBreaker::new(
                BreakerPolicy::consecutive(3).with_break(Duration::from_secs(10)),
            )
            .with_name("summariser"),
        }
    }

    #[circuit_breaker(state = self.breaker, when = AgentError::is_agent_failure)]
    async fn summarise(&self, text: &str) -> Result<String, AgentError> {
        if text.is_empty() {
            return Err(AgentError::EmptyPrompt);
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.healthy.load(Ordering::Relaxed) {
            Ok(format!("a summary of {text:?}"))
        } else {
            Err(AgentError::Overloaded)
        }
    }
}

async fn ask(agent: &Agent, at: Duration, text: &str) {
    let outcome = match agent.summarise(text).await {
        Ok(summary) => format!("answered: {summary}"),
        Err(AgentError::Open(open)) => match open.remaining() {
            Some(left) if !left.is_zero() => format!(
                "not called, failed fast: the breaker is open for another {}",
                resilience::fmt_duration(left)
            ),
            _ => "not called, failed fast".to_string(),
        },
        Err(error) => format!("failed: {error}"),
    };
    println!(
        "  t = {:>4}  {} ({} calls reached the model)  {outcome}",
        resilience::fmt_duration(at),
        agent.name,
        agent.calls.load(Ordering::Relaxed)
    );
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let agent = Agent::new("summariser");
    let start = tokio::time::Instant::now();
    let scope = resilience::events::Scope::new();
    let mut events = scope.subscribe();
    let now = || start.elapsed();

    scope
        .run(async {
            println!("1. The model is overloaded; every failure counts.");
            for _ in 0..3 {
                ask(&agent, now(), "quarterly report").await;
            }
            println!("   The breaker is now {}.", agent.breaker.state());

            println!("2. While it is open, calls fail fast and the model is left alone.");
            for _ in 0..2 {
                tokio::time::sleep(Duration::from_secs(4)).await;
                ask(&agent, now(), "quarterly report").await;
            }

            println!("3. The model recovers; after the 10 s break one trial call goes through.");
            agent.healthy.store(true, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(2)).await;
            println!("   At t = {} the breaker reports {}.", resilience::fmt_duration(now()), agent.breaker.state());
            ask(&agent, now(), "quarterly report").await;
            println!("   The trial succeeded: the breaker is {} again.", agent.breaker.state());

            println!("4. Calls go through as usual.");
            ask(&agent, now(), "board minutes").await;
            ask(&agent, now(), "").await;
            println!(
                "   The empty prompt is the caller's fault: `when` keeps it from counting ({} failures in a row).",
                agent.breaker.stats().consecutive_failures
            );
        })
        .await;

    let stats = agent.breaker.stats();
    println!(
        "The breaker opened {} time(s) and refused {} call(s).",
        stats.opened, stats.rejected
    );
    println!("Its events:");
    while let Some(event) = events.try_recv() {
        let tag = match event.kind {
            OwnedEventKind::CircuitOpened { .. } => "opened",
            OwnedEventKind::CircuitHalfOpen { .. } => "half-open",
            OwnedEventKind::CircuitClosed { .. } => "closed",
            _ => continue,
        };
        println!("  [{tag}] {event}");
    }
}
