//! `#[circuit_breaker]` on tokio's paused clock: a `static` breaker and one
//! per agent, `when`, and the stacking orders that matter (a breaker above
//! `#[retry]` sees one failure per call, below it each attempt; a
//! `#[timeout]` below the breaker counts, above it cancels; `#[fallback]`
//! above catches the refusal; a `retry_after` waits out the break; two
//! breakers), with the events they emit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use resilience::events::{Scope, Subscription};
use resilience::{
    BreakerPolicy, CircuitBreaker, CircuitOpen, CircuitState, Elapsed, circuit_breaker, fallback,
    retry, timeout,
};
use tokio::time::{Instant, advance};

#[derive(Debug, PartialEq, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Open(#[from] CircuitOpen),
    #[error(transparent)]
    Timeout(#[from] Elapsed),
    #[error("the model is overloaded")]
    Overloaded,
    #[error("the prompt was refused")]
    Refused,
}

impl AgentError {
    /// Whether the agent is at fault (a refused prompt is the caller's).
    fn counts(&self) -> bool {
        !matches!(self, AgentError::Refused)
    }

    fn is_open(&self) -> bool {
        matches!(self, AgentError::Open(_))
    }

    fn remaining_break(&self) -> Option<Duration> {
        match self {
            AgentError::Open(open) => open.remaining(),
            _ => None,
        }
    }
}

const SECS: fn(u64) -> Duration = Duration::from_secs;

fn texts(events: &mut Subscription) -> Vec<String> {
    std::iter::from_fn(|| events.try_recv())
        .map(|e| e.to_string())
        .collect()
}

/// An agent whose calls fail while `failing` is set, counting its calls.
#[derive(Default)]
struct Model {
    calls: AtomicU32,
    failing: std::sync::atomic::AtomicBool,
}

impl Model {
    async fn complete(&self, prompt: &str) -> Result<String, AgentError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.failing.load(Ordering::Relaxed) {
            Err(AgentError::Overloaded)
        } else {
            Ok(format!("answer to {prompt}"))
        }
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::Relaxed);
    }
}

#[tokio::test(start_paused = true)]
async fn a_static_breaker_opens_refuses_tries_and_closes() {
    static BREAKER: CircuitBreaker =
        CircuitBreaker::new(BreakerPolicy::consecutive(3).with_break(Duration::from_secs(30)))
            .with_name("model");
    static MODEL: Model = Model {
        calls: AtomicU32::new(0),
        failing: std::sync::atomic::AtomicBool::new(true),
    };

    #[circuit_breaker(state = BREAKER)]
    async fn ask(prompt: &str) -> Result<String, AgentError> {
        MODEL.complete(prompt).await
    }

    let scope = Scope::new();
    let mut events = scope.subscribe();
    for _ in 0..3 {
        assert_eq!(scope.run(ask("hi")).await, Err(AgentError::Overloaded));
    }
    assert_eq!(BREAKER.state(), CircuitState::Open);

    // Open: the body does not run, the refusal arrives through `From`.
    advance(SECS(10)).await;
    let refused = scope.run(ask("hi")).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        "`ask` not called: circuit `model` is open for another 20s"
    );
    assert_eq!(MODEL.calls(), 3);

    // After the break, one trial call; it succeeds and closes the breaker.
    advance(SECS(20)).await;
    MODEL.fail(false);
    assert_eq!(scope.run(ask("hi")).await.unwrap(), "answer to hi");
    assert_eq!(BREAKER.state(), CircuitState::Closed);
    assert_eq!(MODEL.calls(), 4);
    assert_eq!(
        texts(&mut events),
        [
            "`ask` circuit `model` opened after 3 consecutive failures (last error: the model is overloaded); calls fail fast for 30s",
            "`ask` circuit `model` half-open: the break is over, 1 trial call may go through",
            "`ask` circuit `model` closed: 1 trial call succeeded",
        ]
    );
}

struct Agent {
    model: Model,
    breaker: CircuitBreaker,
}

impl Agent {
    fn new() -> Self {
        Self {
            model: Model::default(),
            breaker: CircuitBreaker::new(BreakerPolicy::consecutive(2)),
        }
    }

    #[circuit_breaker(state = self.breaker, when = AgentError::counts)]
    async fn ask(&self, prompt: &str) -> Result<String, AgentError> {
        if prompt.is_empty() {
            return Err(AgentError::Refused);
        }
        self.model.complete(prompt).await
    }
}

#[tokio::test(start_paused = true)]
async fn each_agent_has_its_own_breaker() {
    let (flaky, steady) = (Agent::new(), Agent::new());
    flaky.model.fail(true);
    for _ in 0..2 {
        assert_eq!(flaky.ask("x").await, Err(AgentError::Overloaded));
    }
    assert!(flaky.ask("x").await.unwrap_err().is_open());
    assert_eq!(flaky.model.calls(), 2);
    // The other agent's breaker is untouched.
    assert_eq!(steady.ask("x").await.unwrap(), "answer to x");
    assert_eq!(steady.breaker.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn errors_that_when_refuses_count_as_successes() {
    let agent = Agent::new();
    agent.model.fail(true);
    // A failure, then a refusal (not the agent's fault): the count starts
    // again, so two more failures are needed.
    assert_eq!(agent.ask("x").await, Err(AgentError::Overloaded));
    assert_eq!(agent.ask("").await, Err(AgentError::Refused));
    assert_eq!(agent.breaker.stats().consecutive_failures, 0);
    assert_eq!(agent.ask("x").await, Err(AgentError::Overloaded));
    assert_eq!(agent.breaker.state(), CircuitState::Closed);
    assert_eq!(agent.ask("x").await, Err(AgentError::Overloaded));
    assert_eq!(agent.breaker.state(), CircuitState::Open);
    // A refused trial call closes it too: the agent answered.
    advance(SECS(5)).await;
    assert_eq!(agent.ask("").await, Err(AgentError::Refused));
    assert_eq!(agent.breaker.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_breaker_above_retry_sees_one_failure_per_call() {
    static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(2));
    static MODEL: Model = Model {
        calls: AtomicU32::new(0),
        failing: std::sync::atomic::AtomicBool::new(true),
    };

    #[circuit_breaker(state = BREAKER)]
    #[retry(attempts = 3, backoff = constant, delay = "1s")]
    async fn ask(prompt: &str) -> Result<String, AgentError> {
        MODEL.complete(prompt).await
    }

    // A call is three attempts; the breaker counts the call once.
    assert_eq!(ask("x").await, Err(AgentError::Overloaded));
    assert_eq!(MODEL.calls(), 3);
    assert_eq!(BREAKER.stats().consecutive_failures, 1);
    assert_eq!(ask("x").await, Err(AgentError::Overloaded));
    assert_eq!(MODEL.calls(), 6);
    assert_eq!(BREAKER.state(), CircuitState::Open);
    // Open: not a single attempt, and no retry delays.
    let before = Instant::now();
    assert!(ask("x").await.unwrap_err().is_open());
    assert_eq!(MODEL.calls(), 6);
    assert_eq!(before.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_breaker_below_retry_sees_each_attempt() {
    static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(2));
    static MODEL: Model = Model {
        calls: AtomicU32::new(0),
        failing: std::sync::atomic::AtomicBool::new(true),
    };

    #[retry(attempts = 4, backoff = constant, delay = "1s", when = |e: &AgentError| !e.is_open())]
    #[circuit_breaker(state = BREAKER)]
    async fn ask(prompt: &str) -> Result<String, AgentError> {
        MODEL.complete(prompt).await
    }

    // Attempts 1 and 2 fail and open the breaker; attempt 3 is refused,
    // and `when` does not retry a refusal: the call ends with it.
    let error = ask("x").await.unwrap_err();
    assert!(error.is_open(), "{error}");
    assert_eq!(MODEL.calls(), 2);
    assert_eq!(BREAKER.stats().opened, 1);
}

#[tokio::test(start_paused = true)]
async fn a_retry_can_wait_out_the_break() {
    static BREAKER: CircuitBreaker =
        CircuitBreaker::new(BreakerPolicy::consecutive(1).with_break(Duration::from_secs(7)));
    static MODEL: Model = Model {
        calls: AtomicU32::new(0),
        failing: std::sync::atomic::AtomicBool::new(true),
    };

    #[retry(attempts = 3, backoff = constant, delay = "1s", retry_after = AgentError::remaining_break)]
    #[circuit_breaker(state = BREAKER)]
    async fn ask(prompt: &str) -> Result<String, AgentError> {
        let answer = MODEL.complete(prompt).await;
        MODEL.fail(false); // the agent recovers after one failure
        answer
    }

    // Attempt 1 fails and opens the breaker (wait 1 s); attempt 2 is
    // refused with 6 s left of the break, which the retry waits; attempt 3
    // is the trial, which succeeds.
    let before = Instant::now();
    assert_eq!(ask("x").await.unwrap(), "answer to x");
    assert_eq!(before.elapsed(), SECS(7));
    assert_eq!(MODEL.calls(), 2);
    assert_eq!(BREAKER.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_below_the_breaker_counts_as_a_failure() {
    static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(2));

    #[circuit_breaker(state = BREAKER)]
    #[timeout("1s")]
    async fn ask(_prompt: &str) -> Result<String, AgentError> {
        tokio::time::sleep(SECS(60)).await;
        Ok("late".into())
    }

    let scope = Scope::new();
    let mut events = scope.subscribe();
    for _ in 0..2 {
        assert!(matches!(
            scope.run(ask("x")).await,
            Err(AgentError::Timeout(_))
        ));
    }
    assert_eq!(BREAKER.state(), CircuitState::Open);
    assert_eq!(
        texts(&mut events)[2..],
        [
            "`ask` circuit opened after 2 consecutive failures (last error: `ask` timed out after 1s); calls fail fast for 5s"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeout_above_the_breaker_cancels_and_counts_nothing() {
    static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(1));

    #[timeout("1s")]
    #[circuit_breaker(state = BREAKER)]
    async fn ask(_prompt: &str) -> Result<String, AgentError> {
        tokio::time::sleep(SECS(60)).await;
        Ok("late".into())
    }

    for _ in 0..3 {
        assert!(matches!(ask("x").await, Err(AgentError::Timeout(_))));
    }
    // The calls were dropped before they ended: nothing counted.
    assert_eq!(BREAKER.state(), CircuitState::Closed);
    assert_eq!(BREAKER.stats().consecutive_failures, 0);
}

#[tokio::test(start_paused = true)]
async fn a_trial_cancelled_by_a_timeout_above_does_not_wedge_the_breaker() {
    static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(1));
    static SLOW: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

    #[timeout("1s")]
    #[circuit_breaker(state = BREAKER)]
    async fn ask(fail: bool) -> Result<u32, AgentError> {
        if fail {
            return Err(AgentError::Overloaded);
        }
        if SLOW.load(Ordering::Relaxed) {
            tokio::time::sleep(SECS(60)).await;
        }
        Ok(1)
    }

    assert_eq!(ask(true).await, Err(AgentError::Overloaded));
    advance(SECS(5)).await;
    // The trial runs out of time above the breaker: it is dropped.
    assert!(matches!(ask(false).await, Err(AgentError::Timeout(_))));
    assert_eq!(BREAKER.state(), CircuitState::HalfOpen);
    // The next call is the trial; it succeeds and closes the breaker.
    SLOW.store(false, Ordering::Relaxed);
    assert_eq!(ask(false).await, Ok(1));
    assert_eq!(BREAKER.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_fallback_above_catches_the_refusal() {
    static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(1));
    static MODEL: Model = Model {
        calls: AtomicU32::new(0),
        failing: std::sync::atomic::AtomicBool::new(true),
    };

    #[fallback(default = String::from("cached answer"), when = AgentError::is_open)]
    #[circuit_breaker(state = BREAKER)]
    async fn ask(prompt: &str) -> Result<String, AgentError> {
        MODEL.complete(prompt).await
    }

    // The failure itself is not the fallback's (`when`); the refusals are.
    assert_eq!(ask("x").await, Err(AgentError::Overloaded));
    assert_eq!(ask("x").await.unwrap(), "cached answer");
    assert_eq!(ask("x").await.unwrap(), "cached answer");
    assert_eq!(MODEL.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_shared_breaker_above_each_agents_own() {
    // Every agent's calls also go through one breaker for the provider.
    static PROVIDER: CircuitBreaker =
        CircuitBreaker::new(BreakerPolicy::consecutive(3)).with_name("provider");

    struct Agent {
        model: Model,
        breaker: Arc<CircuitBreaker>,
    }

    impl Agent {
        #[circuit_breaker(state = PROVIDER)]
        #[circuit_breaker(state = self.breaker)]
        async fn ask(&self, prompt: &str) -> Result<String, AgentError> {
            self.model.complete(prompt).await
        }
    }

    let agents: Vec<Agent> = (0..3)
        .map(|_| Agent {
            model: Model::default(),
            breaker: Arc::new(CircuitBreaker::new(BreakerPolicy::consecutive(2))),
        })
        .collect();
    agents[0].model.fail(true);
    // Agent 0 fails twice: its own breaker opens; the provider's counts 2.
    for _ in 0..2 {
        assert_eq!(agents[0].ask("x").await, Err(AgentError::Overloaded));
    }
    let refused = agents[0].ask("x").await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        "`ask` not called: circuit is open for another 5s"
    );
    // The refusal by the agent's breaker is an error the provider's counts
    // too (no `when`): a third failure in a row opens it for everyone.
    assert_eq!(PROVIDER.state(), CircuitState::Open);
    let refused = agents[1].ask("x").await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        "`ask` not called: circuit `provider` is open for another 5s"
    );
    assert_eq!(agents[1].model.calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_mut_self_method_uses_a_static_breaker() {
    static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(1));

    struct Counter {
        calls: u32,
    }

    impl Counter {
        #[circuit_breaker(state = BREAKER)]
        async fn bump(&mut self, fail: bool) -> Result<u32, AgentError> {
            self.calls += 1;
            if fail {
                Err(AgentError::Overloaded)
            } else {
                Ok(self.calls)
            }
        }
    }

    let mut counter = Counter { calls: 0 };
    assert_eq!(counter.bump(false).await, Ok(1));
    assert_eq!(counter.bump(true).await, Err(AgentError::Overloaded));
    assert!(counter.bump(false).await.unwrap_err().is_open());
    assert_eq!(counter.calls, 2);
}

#[tokio::test(start_paused = true)]
async fn the_failure_ratio_mode_through_the_attribute() {
    static BREAKER: CircuitBreaker = CircuitBreaker::new(
        BreakerPolicy::failure_ratio(0.5)
            .with_min_throughput(4)
            .with_sampling(Duration::from_secs(10)),
    );

    #[circuit_breaker(state = BREAKER)]
    async fn ask(fail: bool) -> Result<u32, AgentError> {
        if fail {
            Err(AgentError::Overloaded)
        } else {
            Ok(1)
        }
    }

    let scope = Scope::new();
    let mut events = scope.subscribe();
    for fail in [false, true, false] {
        let _ = scope.run(ask(fail)).await;
    }
    assert_eq!(BREAKER.state(), CircuitState::Closed);
    // 2 of 4 failed: 0.5 with the minimum throughput.
    let _ = scope.run(ask(true)).await;
    assert_eq!(BREAKER.state(), CircuitState::Open);
    assert_eq!(
        texts(&mut events),
        [
            "`ask` circuit opened after 2 of 4 calls failed in the last 10s (last error: the model is overloaded); calls fail fast for 5s"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_that_panics_through_the_attribute_counts_as_a_failure() {
    use futures::FutureExt;

    static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(2));

    #[circuit_breaker(state = BREAKER)]
    async fn ask(crash: bool) -> Result<u32, AgentError> {
        tokio::task::yield_now().await;
        if crash {
            panic!("agent crashed");
        }
        Ok(1)
    }

    // Closed: a panic after the call's first await counts, as a failure
    // in a row would.
    let panicked = std::panic::AssertUnwindSafe(ask(true)).catch_unwind().await;
    assert!(panicked.is_err());
    assert_eq!(BREAKER.stats().consecutive_failures, 1);
    let panicked = std::panic::AssertUnwindSafe(ask(true)).catch_unwind().await;
    assert!(panicked.is_err());
    assert_eq!(BREAKER.state(), CircuitState::Open);

    // Half-open: the trial that panics opens it again.
    advance(SECS(5)).await;
    let panicked = std::panic::AssertUnwindSafe(ask(true)).catch_unwind().await;
    assert!(panicked.is_err());
    assert_eq!(BREAKER.state(), CircuitState::Open);
    assert!(ask(false).await.unwrap_err().is_open());
    advance(SECS(5)).await;
    assert_eq!(ask(false).await, Ok(1));
    assert_eq!(BREAKER.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_when_that_panics_counts_the_call_as_a_failure() {
    use futures::FutureExt;

    static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(1));

    fn counts(_: &AgentError) -> bool {
        panic!("the predicate crashed")
    }

    #[circuit_breaker(state = BREAKER, when = counts)]
    async fn ask() -> Result<u32, AgentError> {
        Err(AgentError::Overloaded)
    }

    let panicked = std::panic::AssertUnwindSafe(ask()).catch_unwind().await;
    assert!(panicked.is_err());
    assert_eq!(BREAKER.state(), CircuitState::Open);
}
