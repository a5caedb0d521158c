//! `#[timeout]`, `#[fallback]` and both stacking orders, on tokio's paused clock.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{Agent, AgentError};
use resilience::{Elapsed, fallback, retry, timeout};
use tokio::time::{Instant, sleep};

#[timeout("100ms")]
async fn slow(agent: &Agent, work: Duration) -> Result<u32, AgentError> {
    let n = agent.call()?;
    sleep(work).await;
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn timeout_returns_elapsed_naming_the_operation_and_limit() {
    let agent = Agent::new(Ok);
    let start = Instant::now();
    let err = slow(&agent, Duration::from_secs(10)).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    let AgentError::Timeout(elapsed) = err else {
        panic!("expected a timeout, got {err:?}");
    };
    assert_eq!(elapsed.operation(), "slow");
    assert_eq!(elapsed.limit(), Duration::from_millis(100));
    assert_eq!(elapsed.to_string(), "`slow` timed out after 100ms");
}

#[tokio::test(start_paused = true)]
async fn timeout_lets_fast_calls_through() {
    let agent = Agent::new(Ok);
    assert_eq!(slow(&agent, Duration::from_millis(99)).await, Ok(1));
}

#[timeout(1)]
async fn one_second() -> Result<(), AgentError> {
    sleep(Duration::from_secs(2)).await;
    Ok(())
}

#[timeout(seconds = 2)]
async fn two_seconds() -> Result<(), AgentError> {
    sleep(Duration::from_secs(3)).await;
    Ok(())
}

#[timeout(ms = 500)]
async fn half_second() -> Result<(), AgentError> {
    sleep(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn every_timeout_form_means_what_it_says() {
    for (future, expected) in [
        (
            Box::pin(one_second()) as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
            1000,
        ),
        (Box::pin(two_seconds()), 2000),
        (Box::pin(half_second()), 500),
    ] {
        let start = Instant::now();
        assert!(matches!(future.await, Err(AgentError::Timeout(_))));
        assert_eq!(start.elapsed().as_millis(), expected);
    }
}

// Each attempt gets its own 50ms; 10ms between attempts.
#[retry(attempts = 3, backoff = constant, delay = "10ms")]
#[timeout("50ms")]
async fn per_attempt(agent: &Agent) -> Result<u32, AgentError> {
    let n = agent.call()?;
    sleep(Duration::from_secs(1)).await;
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn retry_over_timeout_times_each_attempt() {
    let agent = Agent::new(Ok);
    let start = Instant::now();
    let err = per_attempt(&agent).await.unwrap_err();
    assert!(matches!(err, AgentError::Timeout(e) if e.limit() == Duration::from_millis(50)));
    assert_eq!(agent.at_ms(), [0, 60, 120]);
    assert_eq!(start.elapsed(), Duration::from_millis(170));
}

// 100ms for all attempts together.
#[timeout("100ms")]
#[retry(attempts = 5, backoff = constant, delay = "30ms")]
async fn all_attempts(agent: &Agent) -> Result<u32, AgentError> {
    sleep(Duration::from_millis(40)).await;
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn timeout_over_retry_bounds_all_attempts() {
    let agent = Agent::always_failing();
    let start = Instant::now();
    let err = all_attempts(&agent).await.unwrap_err();
    assert!(matches!(err, AgentError::Timeout(e) if e.limit() == Duration::from_millis(100)));
    // Calls at 40ms and 110ms would be the second; the limit cuts it at 100ms.
    assert_eq!(agent.at_ms(), [40]);
    assert_eq!(start.elapsed(), Duration::from_millis(100));
}

static DEFAULT_EVALUATIONS: AtomicU32 = AtomicU32::new(0);

fn expensive_default() -> u32 {
    DEFAULT_EVALUATIONS.fetch_add(1, Ordering::SeqCst);
    42
}

#[fallback(default = expensive_default())]
async fn with_default(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn fallback_default_is_evaluated_only_on_failure() {
    let ok = Agent::new(Ok);
    assert_eq!(with_default(&ok).await, Ok(1));
    assert_eq!(DEFAULT_EVALUATIONS.load(Ordering::SeqCst), 0);

    let failing = Agent::always_failing();
    assert_eq!(with_default(&failing).await, Ok(42));
    assert_eq!(DEFAULT_EVALUATIONS.load(Ordering::SeqCst), 1);
}

async fn backup_agent(error: AgentError) -> Result<u32, AgentError> {
    match error {
        AgentError::Transient(n) => Ok(100 + n),
        other => Err(other),
    }
}

#[fallback(with = backup_agent)]
async fn with_backup(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn fallback_with_calls_the_backup_with_the_error() {
    assert_eq!(with_backup(&Agent::new(Ok)).await, Ok(1));
    assert_eq!(with_backup(&Agent::always_failing()).await, Ok(101));
    let fatal = Agent::new(|n| Err(AgentError::Fatal(n)));
    assert_eq!(with_backup(&fatal).await, Err(AgentError::Fatal(1)));
}

#[fallback(default = 0, when = AgentError::is_transient)]
async fn only_transient(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[fallback(with = backup_agent, when = |e: &AgentError| matches!(e, AgentError::Transient(_)))]
async fn with_when_closure(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn fallback_when_limits_it_to_accepted_errors() {
    assert_eq!(only_transient(&Agent::always_failing()).await, Ok(0));
    let fatal = Agent::new(|n| Err(AgentError::Fatal(n)));
    assert_eq!(only_transient(&fatal).await, Err(AgentError::Fatal(1)));
    assert_eq!(with_when_closure(&Agent::always_failing()).await, Ok(101));
    let fatal = Agent::new(|n| Err(AgentError::Fatal(n)));
    assert_eq!(with_when_closure(&fatal).await, Err(AgentError::Fatal(1)));
}

// The full stack: a fallback catches what three timed attempts leave.
#[fallback(default = 0)]
#[retry(attempts = 3, backoff = constant, delay = "10ms")]
#[timeout("50ms")]
async fn full_stack(agent: &Agent) -> Result<u32, AgentError> {
    let n = agent.call()?;
    if n < 3 {
        sleep(Duration::from_secs(1)).await;
    }
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn full_stack_recovers_on_the_third_attempt() {
    let agent = Agent::new(Ok);
    assert_eq!(full_stack(&agent).await, Ok(3));
    assert_eq!(agent.at_ms(), [0, 60, 120]);

    let failing = Agent::always_failing();
    assert_eq!(full_stack(&failing).await, Ok(0));
    assert_eq!(failing.calls(), 3);
}

// The same stack and timeout as above, under names no other test uses:
// events are global, and tests run in parallel.
#[fallback(default = 0)]
#[retry(attempts = 3, backoff = constant, delay = "10ms")]
#[timeout("50ms")]
async fn observed_stack(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[timeout("100ms")]
async fn observed_slow() -> Result<u32, AgentError> {
    sleep(Duration::from_secs(1)).await;
    Ok(0)
}

#[tokio::test(start_paused = true)]
async fn timeouts_and_fallbacks_are_events() {
    let scope = resilience::events::Scope::new();
    let mut events = scope.subscribe();
    scope
        .run(async {
            observed_stack(&Agent::always_failing()).await.unwrap();
            observed_slow().await.unwrap_err();
        })
        .await;
    let mut seen = Vec::new();
    while let Some(event) = events.try_recv() {
        seen.push(event.to_string());
    }
    assert_eq!(
        seen,
        [
            "`observed_stack` attempt 1 failed (transient failure on call 1); retrying in 10ms",
            "`observed_stack` attempt 2 failed (transient failure on call 2); retrying in 10ms",
            "`observed_stack` gave up after 3 attempts (attempts exhausted): transient failure on call 3",
            "`observed_stack` failed (transient failure on call 3); using the fallback",
            "`observed_slow` timed out after 100ms",
        ]
    );
}

/// The error type only needs `From<Elapsed>`.
#[derive(Debug)]
struct Minimal;

impl From<Elapsed> for Minimal {
    fn from(_: Elapsed) -> Self {
        Minimal
    }
}

#[timeout("1ms")]
async fn minimal() -> Result<(), Minimal> {
    sleep(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn any_error_with_from_elapsed_works() {
    assert!(minimal().await.is_err());
}
