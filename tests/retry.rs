//! `#[retry]` on tokio's paused clock: every delay is stated exactly.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Agent, AgentError};
use resilience::{EventKind, GiveUpReason, retry};

#[retry]
async fn defaults(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn default_policy_is_three_attempts_exponential_from_100ms() {
    let agent = Agent::always_failing();
    let result = defaults(&agent).await;
    // The last error, unchanged.
    assert_eq!(result, Err(AgentError::Transient(3)));
    assert_eq!(agent.at_ms(), [0, 100, 300]);
}

#[tokio::test(start_paused = true)]
async fn success_returns_at_once_and_after_failures() {
    let agent = Agent::new(Ok);
    assert_eq!(defaults(&agent).await, Ok(1));
    assert_eq!(agent.at_ms(), [0]);

    let agent = Agent::new(|n| {
        if n < 3 {
            Err(AgentError::Transient(n))
        } else {
            Ok(n)
        }
    });
    assert_eq!(defaults(&agent).await, Ok(3));
    assert_eq!(agent.at_ms(), [0, 100, 300]);
}

#[retry(attempts = 4, backoff = constant, delay = "50ms")]
async fn constant(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn constant_backoff() {
    let agent = Agent::always_failing();
    assert_eq!(constant(&agent).await, Err(AgentError::Transient(4)));
    assert_eq!(agent.at_ms(), [0, 50, 100, 150]);
}

#[retry(attempts = 4, backoff = "linear", delay = 0.1)]
async fn linear(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn linear_backoff() {
    let agent = Agent::always_failing();
    assert_eq!(linear(&agent).await, Err(AgentError::Transient(4)));
    // delays 100, 200, 300
    assert_eq!(agent.at_ms(), [0, 100, 300, 600]);
}

#[retry(attempts = 4, backoff = exponential, delay = "100ms", factor = 3)]
async fn exponential_factor(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn exponential_backoff_with_factor() {
    let agent = Agent::always_failing();
    assert_eq!(
        exponential_factor(&agent).await,
        Err(AgentError::Transient(4))
    );
    // delays 100, 300, 900
    assert_eq!(agent.at_ms(), [0, 100, 400, 1300]);
}

#[retry(attempts = 6, delay = "100ms", max_delay = "250ms")]
async fn capped(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn max_delay_caps_every_delay() {
    let agent = Agent::always_failing();
    assert_eq!(capped(&agent).await, Err(AgentError::Transient(6)));
    // delays 100, 200, 250, 250, 250
    assert_eq!(agent.at_ms(), [0, 100, 300, 550, 800, 1050]);
}

#[retry(attempts = 8, delay = "100ms", max_delay = "1s", jitter)]
async fn full_jitter(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[retry(attempts = 8, delay = "100ms", max_delay = "1s", jitter = equal)]
async fn equal_jitter(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[retry(
    attempts = 8,
    delay = "100ms",
    max_delay = "1s",
    jitter = "decorrelated"
)]
async fn decorrelated_jitter(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

/// The nominal (un-jittered) delay before retry n: 100ms × 2^(n-1), capped at 1s.
fn nominal(n: usize) -> Duration {
    Duration::from_millis((100u64 << (n - 1).min(20)).min(1000))
}

/// tokio's timer fires on whole milliseconds: a jittered sleep ends up to 1ms late.
const TICK: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn jitter_stays_within_its_bounds() {
    let (mut full_below, mut equal_below) = (0, 0);
    for _ in 0..40 {
        let agent = Agent::always_failing();
        full_jitter(&agent).await.unwrap_err();
        for (i, gap) in agent.gaps().into_iter().enumerate() {
            let d = nominal(i + 1);
            assert!(gap <= d + TICK, "full jitter: gap {gap:?} above {d:?}");
            full_below += usize::from(gap + TICK < d);
        }

        let agent = Agent::always_failing();
        equal_jitter(&agent).await.unwrap_err();
        for (i, gap) in agent.gaps().into_iter().enumerate() {
            let d = nominal(i + 1);
            assert!(
                gap >= d / 2 && gap <= d + TICK,
                "equal jitter: {gap:?} outside [{:?}, {d:?}]",
                d / 2
            );
            equal_below += usize::from(gap + TICK < d);
        }

        let agent = Agent::always_failing();
        decorrelated_jitter(&agent).await.unwrap_err();
        let mut prev = Duration::from_millis(100);
        for gap in agent.gaps() {
            let base = Duration::from_millis(100);
            let upper = (prev * 3).min(Duration::from_secs(1));
            assert!(
                gap >= base && gap <= upper + TICK,
                "decorrelated jitter: {gap:?} outside [{base:?}, {upper:?}]"
            );
            prev = gap;
        }
    }
    // Jitter actually spreads the delays (40 runs × 7 delays each).
    assert!(full_below > 200, "full jitter barely varied: {full_below}");
    assert!(
        equal_below > 200,
        "equal jitter barely varied: {equal_below}"
    );
}

#[retry(attempts = 5, backoff = constant, delay = "10ms", when = AgentError::is_transient)]
async fn only_transient(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn when_limits_retries_to_accepted_errors() {
    let agent = Agent::new(|n| {
        if n < 2 {
            Err(AgentError::Transient(n))
        } else {
            Err(AgentError::Fatal(n))
        }
    });
    assert_eq!(only_transient(&agent).await, Err(AgentError::Fatal(2)));
    assert_eq!(agent.at_ms(), [0, 10]);

    let agent = Agent::always_failing();
    assert_eq!(only_transient(&agent).await, Err(AgentError::Transient(5)));
    assert_eq!(agent.calls(), 5);
}

#[retry(attempts = 3, delay = "100ms", max_delay = "1s", retry_after = AgentError::retry_after)]
async fn rate_limited(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn retry_after_overrides_the_backoff() {
    let agent = Agent::new(|n| match n {
        1 => Err(AgentError::RateLimited(n, Duration::from_secs(2))),
        2 => Err(AgentError::Transient(n)),
        _ => Ok(n),
    });
    assert_eq!(rate_limited(&agent).await, Ok(3));
    // 2s asked by the error (not capped by max_delay), then the backoff's 200ms.
    assert_eq!(agent.at_ms(), [0, 2000, 2200]);
}

#[retry(attempts = 10, backoff = constant, delay = "100ms", max_elapsed = "250ms")]
async fn bounded_in_time(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_gives_up_once_the_budget_is_spent() {
    let agent = Agent::always_failing();
    assert_eq!(bounded_in_time(&agent).await, Err(AgentError::Transient(4)));
    // Checked after each failure: at 300ms, 250ms have passed.
    assert_eq!(agent.at_ms(), [0, 100, 200, 300]);
}

#[retry(attempts = 1)]
async fn once(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn one_attempt_means_no_retry() {
    let agent = Agent::always_failing();
    assert_eq!(once(&agent).await, Err(AgentError::Transient(1)));
    assert_eq!(agent.calls(), 1);
}

#[retry(attempts = 3, backoff = constant, delay = "20ms")]
async fn observed_op(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn every_retry_and_the_give_up_are_events() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let scope = resilience::events::Scope::new();
    let _observer = scope.observe(move |event| {
        let line = match event.kind {
            EventKind::Retry {
                attempt,
                delay,
                error,
            } => format!("retry {attempt} in {delay:?}: {error}"),
            EventKind::GaveUp {
                attempts,
                reason,
                error,
            } => {
                assert_eq!(reason, GiveUpReason::Exhausted);
                format!("gave up after {attempts}: {error}")
            }
            other => format!("{other:?}"),
        };
        sink.lock().unwrap().push(line);
    });
    let agent = Agent::always_failing();
    scope.run(observed_op(&agent)).await.unwrap_err();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "retry 1 in 20ms: transient failure on call 1",
            "retry 2 in 20ms: transient failure on call 2",
            "gave up after 3: transient failure on call 3",
        ]
    );
}

/// An error type with neither `Display` nor `Debug` still works.
struct Opaque;

#[retry(attempts = 2, backoff = constant, delay = "1ms")]
async fn opaque_error(agent: &Agent) -> Result<u32, Opaque> {
    agent.call().map_err(|_| Opaque)
}

#[tokio::test(start_paused = true)]
async fn errors_without_display_are_retried_too() {
    let agent = Agent::always_failing();
    assert!(opaque_error(&agent).await.is_err());
    assert_eq!(agent.calls(), 2);
}

#[retry(attempts = 5, delay = "100ms", max_elapsed = "10s", retry_after = AgentError::retry_after)]
async fn rate_limited_with_budget(agent: &Agent) -> Result<u32, AgentError> {
    agent.call()
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_past_the_budget_gives_up_at_once() {
    let agent = Agent::new(|n| Err(AgentError::RateLimited(n, Duration::from_secs(86_400))));
    let start = tokio::time::Instant::now();
    assert!(matches!(
        rate_limited_with_budget(&agent).await,
        Err(AgentError::RateLimited(1, _))
    ));
    assert_eq!(agent.calls(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}
