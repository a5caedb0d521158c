//! `#[hedge]`: every timing on tokio's paused clock (Polly's defaults, the
//! delay counted from each start, a failure that starts the next attempt at
//! once, a race with `after = 0`, the last error, the losers cancelled),
//! owned arguments cloned per attempt, methods, events, and the stacking
//! orders that matter.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use resilience::events::Scope;
use resilience::{
    Bulkhead, Elapsed, OwnedEventKind, Rejected, bulkhead, fallback, hedge, retry, timeout,
};
use tokio::time::{Instant, sleep};

#[derive(Debug, PartialEq, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] Elapsed),
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error("attempt {0} failed")]
    Failed(u32),
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What each attempt does, by its number (from 1): how long it takes and
/// whether it succeeds. Every start and end (finished or cancelled) is
/// logged with the time since `t0`.
struct Replicas {
    plan: Vec<(u64, bool)>,
    calls: AtomicU32,
    log: Mutex<Vec<String>>,
    t0: Instant,
}

impl Replicas {
    fn new(plan: &[(u64, bool)]) -> Self {
        Self {
            plan: plan.to_vec(),
            calls: AtomicU32::new(0),
            log: Mutex::new(Vec::new()),
            t0: Instant::now(),
        }
    }

    fn note(&self, what: String) {
        let at = self.t0.elapsed().as_millis();
        self.log.lock().unwrap().push(format!("{at}ms {what}"));
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    async fn call(&self) -> Result<u32, AgentError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.note(format!("start {n}"));
        struct End<'a>(&'a Replicas, u32);
        impl Drop for End<'_> {
            fn drop(&mut self) {
                self.0.note(format!("end {}", self.1));
            }
        }
        let _end = End(self, n);
        let (delay, ok) = self.plan[n as usize - 1];
        sleep(ms(delay)).await;
        if ok {
            Ok(n)
        } else {
            Err(AgentError::Failed(n))
        }
    }
}

#[hedge]
async fn polly_defaults(replicas: &Replicas) -> Result<u32, AgentError> {
    replicas.call().await
}

#[tokio::test(start_paused = true)]
async fn polly_defaults_one_hedge_after_two_seconds() {
    let scope = Scope::new();
    let mut events = scope.subscribe();
    let replicas = Replicas::new(&[(10_000, true), (100, true), (1, true)]);
    let result = scope.run(polly_defaults(&replicas)).await;
    assert_eq!(result, Ok(2));
    assert_eq!(
        replicas.log(),
        [
            "0ms start 1",
            "2000ms start 2",
            "2100ms end 2",
            "2100ms end 1"
        ]
    );
    let event = events.try_recv().unwrap();
    assert_eq!(event.operation, "polly_defaults");
    assert_eq!(
        event.kind,
        OwnedEventKind::Hedged {
            attempt: 2,
            running: 1
        }
    );
    assert_eq!(
        event.to_string(),
        "`polly_defaults` starts hedged attempt 2 (1 still running)"
    );
    assert!(events.try_recv().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_first_attempt_within_the_delay_is_alone() {
    let scope = Scope::new();
    let mut events = scope.subscribe();
    let replicas = Replicas::new(&[(1999, true), (1, true)]);
    assert_eq!(scope.run(polly_defaults(&replicas)).await, Ok(1));
    assert_eq!(replicas.log(), ["0ms start 1", "1999ms end 1"]);
    assert!(events.try_recv().is_none());
}

#[hedge(after = "100ms", attempts = 3)]
async fn three(replicas: &Replicas) -> Result<u32, AgentError> {
    replicas.call().await
}

#[tokio::test(start_paused = true)]
async fn each_delay_counts_from_the_last_start() {
    let replicas = Replicas::new(&[(1000, true), (1000, true), (50, true)]);
    assert_eq!(three(&replicas).await, Ok(3));
    assert_eq!(
        replicas.log(),
        [
            "0ms start 1",
            "100ms start 2",
            "200ms start 3",
            "250ms end 3",
            "250ms end 1",
            "250ms end 2"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failure_starts_the_next_attempt_at_once() {
    let replicas = Replicas::new(&[(30, false), (1000, true), (20, true)]);
    assert_eq!(three(&replicas).await, Ok(3));
    assert_eq!(
        replicas.log(),
        [
            "0ms start 1",
            "30ms end 1",
            "30ms start 2",
            "130ms start 3",
            "150ms end 3",
            "150ms end 2"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn all_failing_returns_the_last_error_to_fail() {
    let replicas = Replicas::new(&[(500, false), (900, false), (100, false)]);
    let start = Instant::now();
    // Attempt 2 (started at 100ms, failed at 1000ms) fails last.
    assert_eq!(three(&replicas).await, Err(AgentError::Failed(2)));
    assert_eq!(start.elapsed(), ms(1000));
}

#[hedge(after = 0, attempts = 3)]
async fn race(replicas: &Replicas) -> Result<u32, AgentError> {
    replicas.call().await
}

#[tokio::test(start_paused = true)]
async fn after_zero_races_every_attempt_at_once() {
    let replicas = Replicas::new(&[(50, true), (20, true), (40, true)]);
    assert_eq!(race(&replicas).await, Ok(2));
    assert_eq!(
        replicas.log(),
        [
            "0ms start 1",
            "0ms start 2",
            "0ms start 3",
            "20ms end 2",
            "20ms end 1",
            "20ms end 3"
        ]
    );
}

/// Owned arguments: each attempt gets its own clone.
#[hedge(after = "10ms", attempts = 3)]
async fn owned(
    mut prompt: String,
    seen: &Mutex<Vec<String>>,
    replicas: &Replicas,
) -> Result<u32, AgentError> {
    prompt.push('!');
    seen.lock().unwrap().push(prompt);
    replicas.call().await
}

#[tokio::test(start_paused = true)]
async fn owned_arguments_are_cloned_per_attempt() {
    let replicas = Replicas::new(&[(100, true), (100, true), (5, true)]);
    let seen = Mutex::new(Vec::new());
    assert_eq!(owned("hi".to_owned(), &seen, &replicas).await, Ok(3));
    assert_eq!(*seen.lock().unwrap(), ["hi!", "hi!", "hi!"]);
}

struct Agent {
    name: &'static str,
    replicas: Replicas,
}

impl Agent {
    #[hedge(after = "1s")]
    async fn ask(&self, question: String) -> Result<String, AgentError> {
        let n = self.replicas.call().await?;
        Ok(format!("{} answers {question} (replica {n})", self.name))
    }
}

#[tokio::test(start_paused = true)]
async fn methods_on_self_hedge_too() {
    let agent = Agent {
        name: "scout",
        replicas: Replicas::new(&[(5000, true), (10, true)]),
    };
    assert_eq!(
        agent.ask("why".into()).await.unwrap(),
        "scout answers why (replica 2)"
    );
}

// --- Stacking ------------------------------------------------------------

/// Each attempt has its own limit; a timed-out attempt is a failed one,
/// so the next starts at once.
#[hedge(after = "100ms", attempts = 3)]
#[timeout("150ms")]
async fn timeout_per_attempt(replicas: &Replicas) -> Result<u32, AgentError> {
    replicas.call().await
}

#[tokio::test(start_paused = true)]
async fn hedge_over_timeout_gives_each_attempt_its_limit() {
    let replicas = Replicas::new(&[(1000, true), (1000, true), (10, true)]);
    assert_eq!(timeout_per_attempt(&replicas).await, Ok(3));
    assert_eq!(
        replicas.log(),
        [
            "0ms start 1",
            "100ms start 2",
            "150ms end 1",
            "150ms start 3",
            "160ms end 3",
            "160ms end 2"
        ]
    );
}

/// One limit for the whole hedged call.
#[timeout("150ms")]
#[hedge(after = "100ms", attempts = 3)]
async fn timeout_for_all(replicas: &Replicas) -> Result<u32, AgentError> {
    replicas.call().await
}

#[tokio::test(start_paused = true)]
async fn timeout_over_hedge_bounds_every_attempt_together() {
    let replicas = Replicas::new(&[(1000, true), (1000, true), (1000, true)]);
    let result = timeout_for_all(&replicas).await;
    assert!(matches!(result, Err(AgentError::Timeout(_))));
    assert_eq!(
        replicas.log(),
        ["0ms start 1", "100ms start 2", "150ms end 1", "150ms end 2"]
    );
}

/// A second hedged round after a failed one.
#[retry(attempts = 2, backoff = constant, delay = "10ms")]
#[hedge(after = "100ms", attempts = 2)]
async fn retried_rounds(replicas: &Replicas) -> Result<u32, AgentError> {
    replicas.call().await
}

#[tokio::test(start_paused = true)]
async fn retry_over_hedge_retries_whole_rounds() {
    let replicas = Replicas::new(&[(20, false), (30, false), (500, true), (40, true)]);
    assert_eq!(retried_rounds(&replicas).await, Ok(4));
    assert_eq!(
        replicas.log(),
        [
            "0ms start 1",
            "20ms end 1",
            "20ms start 2",
            "50ms end 2",
            "60ms start 3",
            "160ms start 4",
            "200ms end 4",
            "200ms end 3"
        ]
    );
}

/// Each hedged attempt retries on its own.
#[hedge(after = "100ms", attempts = 2)]
#[retry(attempts = 2, backoff = constant, delay = "10ms")]
async fn retrying_attempts(replicas: &Replicas) -> Result<u32, AgentError> {
    replicas.call().await
}

#[tokio::test(start_paused = true)]
async fn hedge_over_retry_retries_inside_each_attempt() {
    // Attempt 1: call 1 fails at 20ms, call 2 (at 30ms) hangs. The hedge
    // starts at 100ms: call 3 answers at 110ms.
    let replicas = Replicas::new(&[(20, false), (1000, true), (10, true)]);
    assert_eq!(retrying_attempts(&replicas).await, Ok(3));
    assert_eq!(
        replicas.log(),
        [
            "0ms start 1",
            "20ms end 1",
            "30ms start 2",
            "100ms start 3",
            "110ms end 3",
            "110ms end 2"
        ]
    );
}

static ONE_SLOT: Bulkhead = Bulkhead::new(1);

/// Each attempt needs a slot: a hedge finds the bulkhead full.
#[hedge(after = "100ms", attempts = 2)]
#[bulkhead(state = ONE_SLOT)]
async fn hedges_take_slots(replicas: &Replicas) -> Result<u32, AgentError> {
    replicas.call().await
}

#[tokio::test(start_paused = true)]
async fn hedge_over_bulkhead_counts_hedges_against_the_limit() {
    let replicas = Replicas::new(&[(300, true), (10, true)]);
    // The hedge is turned away (a failed attempt); the first one answers.
    assert_eq!(hedges_take_slots(&replicas).await, Ok(1));
    assert_eq!(replicas.log(), ["0ms start 1", "300ms end 1"]);
    assert_eq!(ONE_SLOT.running(), 0);
}

static ONE_CALL: Bulkhead = Bulkhead::new(1);

/// One slot for the whole hedged call.
#[bulkhead(state = ONE_CALL)]
#[hedge(after = "100ms", attempts = 2)]
async fn one_slot_per_call(replicas: &Replicas) -> Result<u32, AgentError> {
    replicas.call().await
}

#[tokio::test(start_paused = true)]
async fn bulkhead_over_hedge_takes_one_slot_for_every_attempt() {
    let replicas = Replicas::new(&[(300, true), (10, true)]);
    assert_eq!(one_slot_per_call(&replicas).await, Ok(2));
    assert_eq!(
        replicas.log(),
        ["0ms start 1", "100ms start 2", "110ms end 2", "110ms end 1"]
    );
}

#[fallback(default = 0)]
#[hedge(after = "100ms", attempts = 2)]
async fn with_fallback(replicas: &Replicas) -> Result<u32, AgentError> {
    replicas.call().await
}

#[tokio::test(start_paused = true)]
async fn fallback_over_hedge_replaces_the_last_error() {
    let replicas = Replicas::new(&[(10, false), (10, false)]);
    assert_eq!(with_fallback(&replicas).await, Ok(0));
    assert_eq!(replicas.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_hedged_call_is_send() {
    fn send<T: Send>(t: T) -> T {
        t
    }
    let replicas = Replicas::new(&[(0, true)]);
    assert_eq!(send(three(&replicas)).await, Ok(1));
}

// --- Size ----------------------------------------------------------------

async fn op(replicas: &Replicas) -> Result<u32, AgentError> {
    replicas.call().await
}

/// `#[hedge(after = "2s", attempts = 2)]` by hand: the first attempt or
/// the delay, then both raced.
async fn hand_hedge(replicas: &Replicas) -> Result<u32, AgentError> {
    let first = op(replicas);
    tokio::pin!(first);
    let delay = sleep(Duration::from_secs(2));
    tokio::pin!(delay);
    tokio::select! {
        biased;
        result = &mut first => match result {
            Ok(value) => return Ok(value),
            Err(_) => return op(replicas).await,
        },
        () = &mut delay => {}
    }
    let second = op(replicas);
    tokio::pin!(second);
    tokio::select! {
        biased;
        result = &mut first => match result {
            Ok(value) => Ok(value),
            Err(_) => second.await,
        },
        result = &mut second => match result {
            Ok(value) => Ok(value),
            Err(_) => first.await,
        },
    }
}

#[hedge(after = "2s", attempts = 2)]
async fn decorated_hedge(replicas: &Replicas) -> Result<u32, AgentError> {
    op(replicas).await
}

#[test]
fn a_hedged_future_is_no_larger_than_by_hand() {
    let replicas = Replicas::new(&[]);
    let ours = std::mem::size_of_val(&decorated_hedge(&replicas));
    let hand = std::mem::size_of_val(&hand_hedge(&replicas));
    assert!(ours <= hand, "ours {ours} bytes, by hand {hand}");
}
