//! The breaker's transitions and timings on tokio's paused clock, its
//! guard (cancelled and panicking calls), outcomes of another generation,
//! manual control, the failure-ratio window, and its counts under many
//! tasks on the multi-thread runtime.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use tokio::time::{Instant, advance};

use super::*;
use crate::events::{Scope, Subscription, scoped};

const MS: fn(u64) -> Duration = Duration::from_millis;
const SECS: fn(u64) -> Duration = Duration::from_secs;

/// The events' texts so far.
fn texts(events: &mut Subscription) -> Vec<String> {
    core::iter::from_fn(|| events.try_recv())
        .map(|e| e.to_string())
        .collect()
}

/// One call with outcome `ok` (failure text `boom`), in `scope`.
fn call(scope: &Scope, breaker: &CircuitBreaker, ok: bool) -> Result<(), CircuitOpen> {
    scope.run_sync(|| {
        let permit = breaker.admit("ask")?;
        if ok {
            permit.succeeded();
        } else {
            permit.failed(ErrorRef::Display(&"boom"));
        }
        Ok(())
    })
}

#[tokio::test(start_paused = true)]
async fn consecutive_failures_open_it_and_a_trial_closes_it() {
    let (scope, mut events) = scoped();
    let breaker =
        CircuitBreaker::new(BreakerPolicy::consecutive(3).with_break(SECS(10))).with_name("search");

    // Two failures, then a success: the count starts again.
    for ok in [false, false, true, false, false] {
        call(&scope, &breaker, ok).unwrap();
    }
    assert_eq!(breaker.stats().consecutive_failures, 2);
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert!(texts(&mut events).is_empty());

    // The third in a row opens it.
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.state(), CircuitState::Open);
    assert_eq!(
        texts(&mut events),
        [
            "`ask` circuit `search` opened after 3 consecutive failures (last error: boom); calls fail fast for 10s"
        ]
    );

    // Open: refused, with the break's remaining time, which counts down.
    let refused = call(&scope, &breaker, true).unwrap_err();
    assert_eq!(
        refused,
        CircuitOpen::new("ask", "search", CircuitState::Open, Some(SECS(10)))
    );
    advance(MS(9_999)).await;
    let refused = call(&scope, &breaker, true).unwrap_err();
    assert_eq!(refused.remaining(), Some(MS(1)));
    assert_eq!(
        refused.to_string(),
        "`ask` not called: circuit `search` is open for another 1ms"
    );
    assert_eq!(breaker.state(), CircuitState::Open);
    assert_eq!(breaker.stats().rejected, 2);

    // At exactly 10 s the break is over: reported half-open before a call.
    advance(MS(1)).await;
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    let trial = scope.run_sync(|| breaker.admit("ask")).unwrap();
    assert!(trial.is_trial());
    // One trial at a time: the next call is refused while it runs.
    let busy = call(&scope, &breaker, true).unwrap_err();
    assert_eq!(busy.state(), CircuitState::HalfOpen);
    assert_eq!(busy.remaining(), Some(Duration::ZERO));
    assert_eq!(
        busy.to_string(),
        "`ask` not called: circuit `search` is half-open and its trial calls are under way"
    );
    scope.run_sync(|| trial.succeeded());
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(
        texts(&mut events),
        [
            "`ask` circuit `search` half-open: the break is over, 1 trial call may go through",
            "`ask` circuit `search` closed: 1 trial call succeeded",
        ]
    );
    let stats = breaker.stats();
    assert_eq!(
        (stats.consecutive_failures, stats.rejected, stats.opened),
        (0, 3, 1)
    );
    // Closed again, the count starts from zero.
    call(&scope, &breaker, false).unwrap();
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_failed_trial_opens_it_again_for_a_whole_break() {
    let (scope, mut events) = scoped();
    let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(1).with_break(SECS(5)));
    call(&scope, &breaker, false).unwrap();
    advance(SECS(5)).await;
    call(&scope, &breaker, false).unwrap(); // the trial, which fails
    assert_eq!(breaker.state(), CircuitState::Open);
    let refused = call(&scope, &breaker, true).unwrap_err();
    assert_eq!(refused.remaining(), Some(SECS(5)));
    assert_eq!(
        texts(&mut events),
        [
            "`ask` circuit opened after 1 consecutive failure (last error: boom); calls fail fast for 5s",
            "`ask` circuit half-open: the break is over, 1 trial call may go through",
            "`ask` circuit opened after the trial call failed (last error: boom); calls fail fast for 5s",
        ]
    );
    advance(MS(4_999)).await;
    assert!(call(&scope, &breaker, true).is_err());
    advance(MS(1)).await;
    call(&scope, &breaker, true).unwrap();
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.stats().opened, 2);
}

#[tokio::test(start_paused = true)]
async fn several_trials_must_all_succeed() {
    let (scope, mut events) = scoped();
    let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(1).with_trials(3));
    call(&scope, &breaker, false).unwrap();
    advance(SECS(5)).await;
    let trials: Vec<_> = (0..3)
        .map(|_| scope.run_sync(|| breaker.admit("ask")).unwrap())
        .collect();
    assert!(trials.iter().all(BreakerPermit::is_trial));
    assert!(breaker.admit("ask").is_err(), "a fourth trial");
    let mut trials = trials.into_iter();
    trials.next().unwrap().succeeded();
    trials.next().unwrap().succeeded();
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    // Two of three succeeded: the places are taken, still no fourth call.
    assert!(breaker.admit("ask").is_err());
    scope.run_sync(|| trials.next().unwrap().succeeded());
    assert_eq!(breaker.state(), CircuitState::Closed);
    let texts = texts(&mut events);
    assert_eq!(
        texts[1..],
        [
            "`ask` circuit half-open: the break is over, 3 trial calls may go through",
            "`ask` circuit closed: 3 trial calls succeeded",
        ]
    );

    // One failure among the trials opens it at once; the others' outcomes,
    // from a half-open generation that is over, change nothing.
    call(&scope, &breaker, false).unwrap();
    advance(SECS(5)).await;
    let first = breaker.admit("ask").unwrap();
    let second = breaker.admit("ask").unwrap();
    first.failed(ErrorRef::Display(&"still down"));
    assert_eq!(breaker.state(), CircuitState::Open);
    second.succeeded();
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_trial_gives_its_place_to_the_next_call() {
    let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(1));
    let (scope, _events) = scoped();
    call(&scope, &breaker, false).unwrap();
    advance(SECS(5)).await;

    // A trial call dropped before it ends (a timeout above the breaker).
    let slow = async {
        let _permit = breaker.admit("ask").unwrap();
        tokio::time::sleep(SECS(60)).await;
    };
    assert!(tokio::time::timeout(SECS(1), slow).await.is_err());
    assert_eq!(breaker.state(), CircuitState::HalfOpen);

    // Not wedged: the next call is the trial.
    let trial = breaker.admit("ask").expect("the cancelled trial's place");
    assert!(trial.is_trial());
    trial.succeeded();
    assert_eq!(breaker.state(), CircuitState::Closed);

    // A closed-state call that is cancelled counts as nothing.
    let closed = CircuitBreaker::new(BreakerPolicy::consecutive(2));
    closed
        .admit("ask")
        .unwrap()
        .failed(ErrorRef::Display(&"boom"));
    drop(closed.admit("ask").unwrap());
    assert_eq!(closed.stats().consecutive_failures, 1);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_call_counts_as_a_failure() {
    let (scope, mut events) = scoped();
    let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(1));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        scope.run_sync(|| {
            let _permit = breaker.admit("ask").unwrap();
            panic!("agent crashed");
        })
    }));
    assert!(panicked.is_err());
    assert_eq!(breaker.state(), CircuitState::Open);
    assert_eq!(
        texts(&mut events),
        [
            "`ask` circuit opened after 1 consecutive failure (last error: the call panicked); calls fail fast for 5s"
        ]
    );

    // A panicking trial opens it again (it does not stay half-open).
    advance(SECS(5)).await;
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _permit = breaker.admit("ask").unwrap();
        panic!("agent crashed again");
    }));
    assert!(panicked.is_err());
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[tokio::test(start_paused = true)]
async fn outcomes_of_calls_let_through_before_a_change_are_ignored() {
    let (scope, _events) = scoped();
    let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(2));
    // Three calls in flight while closed.
    let early: Vec<_> = (0..3).map(|_| breaker.admit("ask").unwrap()).collect();
    call(&scope, &breaker, false).unwrap();
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.state(), CircuitState::Open);
    advance(SECS(5)).await;
    let trial = breaker.admit("ask").unwrap();
    // The early calls end now: a success does not close the half-open
    // breaker, a failure does not open it.
    let mut early = early.into_iter();
    early.next().unwrap().succeeded();
    early.next().unwrap().failed(ErrorRef::Display(&"late"));
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    trial.succeeded();
    assert_eq!(breaker.state(), CircuitState::Closed);
    // Nor do they count in the closed generation that follows.
    early.next().unwrap().failed(ErrorRef::Display(&"late"));
    assert_eq!(breaker.stats().consecutive_failures, 0);
}

#[tokio::test(start_paused = true)]
async fn a_success_forgets_failures_counted_while_it_ran() {
    let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(3));
    // Let through with no failure in a row: a failure of another call
    // ends before it does, and its success forgets that failure.
    let first = breaker.admit("ask").unwrap();
    breaker
        .admit("ask")
        .unwrap()
        .failed(ErrorRef::Display(&"boom"));
    assert_eq!(breaker.stats().consecutive_failures, 1);
    first.succeeded();
    assert_eq!(breaker.stats().consecutive_failures, 0);

    // Let through after two failures: its success forgets them, and two
    // more do not open the breaker.
    for _ in 0..2 {
        breaker
            .admit("ask")
            .unwrap()
            .failed(ErrorRef::Display(&"boom"));
    }
    let after = breaker.admit("ask").unwrap();
    after.succeeded();
    assert_eq!(breaker.stats().consecutive_failures, 0);
    for _ in 0..2 {
        breaker
            .admit("ask")
            .unwrap()
            .failed(ErrorRef::Display(&"boom"));
    }
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.stats().consecutive_failures, 2);
}

#[tokio::test(start_paused = true)]
async fn a_success_of_an_older_generation_forgets_nothing() {
    let (scope, _events) = scoped();
    let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(2));
    // Let through while closed with no failure: the fast kind of ticket.
    let early = breaker.admit("ask").unwrap();
    // Opened, half-open, closed again: a later closed generation.
    call(&scope, &breaker, false).unwrap();
    call(&scope, &breaker, false).unwrap();
    advance(SECS(5)).await;
    call(&scope, &breaker, true).unwrap();
    assert_eq!(breaker.state(), CircuitState::Closed);
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.stats().consecutive_failures, 1);
    // The early call's success belongs to the first closed generation.
    early.succeeded();
    assert_eq!(breaker.stats().consecutive_failures, 1);
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[tokio::test(start_paused = true)]
async fn the_generation_wraps_around_in_30_bits() {
    let (scope, _events) = scoped();
    let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(1));
    breaker
        .state
        .store(word(CLOSED, GENERATIONS), Ordering::Relaxed);
    let early = breaker.admit("ask").unwrap();
    // Opens in generation 0: its break is found, and ends.
    call(&scope, &breaker, false).unwrap();
    assert_eq!(generation(breaker.state.load(Ordering::Relaxed)), 0);
    assert_eq!(breaker.admit("ask").unwrap_err().remaining(), Some(SECS(5)));
    advance(SECS(5)).await;
    let trial = breaker.admit("ask").unwrap();
    assert!(trial.is_trial());
    // The call let through before the wrap is of another generation.
    early.failed(ErrorRef::Display(&"late"));
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    trial.succeeded();
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(generation(breaker.state.load(Ordering::Relaxed)), 2);
}

#[tokio::test(start_paused = true)]
async fn a_ratio_breaker_counts_every_success_after_a_close_and_a_reset() {
    let (scope, _events) = scoped();
    let breaker = CircuitBreaker::new(
        BreakerPolicy::failure_ratio(0.5)
            .with_min_throughput(2)
            .with_sampling(SECS(60)),
    );
    call(&scope, &breaker, true).unwrap();
    assert_eq!(breaker.stats().window_calls, 1);
    // Closed by a trial: the window starts again, and counts successes.
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.state(), CircuitState::Open);
    advance(SECS(5)).await;
    call(&scope, &breaker, true).unwrap();
    assert_eq!(breaker.state(), CircuitState::Closed);
    call(&scope, &breaker, true).unwrap();
    assert_eq!(breaker.stats().window_calls, 1);
    // Reset by hand: the same.
    scope.run_sync(|| breaker.reset());
    call(&scope, &breaker, true).unwrap();
    call(&scope, &breaker, true).unwrap();
    let stats = breaker.stats();
    assert_eq!((stats.window_calls, stats.window_failures), (2, 0));
    assert_eq!(stats.consecutive_failures, 0);
}

#[tokio::test(start_paused = true)]
async fn isolate_and_reset_by_hand() {
    let (scope, mut events) = scoped();
    let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(2)).with_name("search");
    call(&scope, &breaker, false).unwrap();
    scope.run_sync(|| breaker.isolate());
    assert_eq!(breaker.state(), CircuitState::Isolated);
    // No break ends an isolation.
    advance(SECS(3600)).await;
    let refused = call(&scope, &breaker, true).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "`ask` not called: circuit `search` is isolated until it is reset"
    );
    assert_eq!(refused.remaining(), None);
    scope.run_sync(|| breaker.reset());
    assert_eq!(breaker.state(), CircuitState::Closed);
    // The failure before the isolation is forgotten.
    assert_eq!(breaker.stats().consecutive_failures, 0);
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(
        texts(&mut events),
        [
            "`search` circuit `search` isolated by hand: every call fails fast until it is reset",
            "`search` circuit `search` reset by hand: closed",
        ]
    );

    // Reset also ends a break early.
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.state(), CircuitState::Open);
    breaker.reset();
    assert!(breaker.admit("ask").is_ok());
}

#[tokio::test(start_paused = true)]
async fn the_ratio_waits_for_the_minimum_throughput() {
    let (scope, mut events) = scoped();
    let breaker = CircuitBreaker::new(
        BreakerPolicy::failure_ratio(0.5)
            .with_min_throughput(10)
            .with_sampling(SECS(10)),
    );
    // Nine failures: 100 %, but below the minimum throughput.
    for _ in 0..9 {
        call(&scope, &breaker, false).unwrap();
    }
    let stats = breaker.stats();
    assert_eq!((stats.window_calls, stats.window_failures), (9, 9));
    assert_eq!(stats.state, CircuitState::Closed);
    // The tenth call, a success: 9 of 10, but a success never opens it.
    call(&scope, &breaker, true).unwrap();
    assert_eq!(breaker.state(), CircuitState::Closed);
    // The next failure: 10 of 11 ≥ 0.5 with 11 calls ≥ 10.
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.state(), CircuitState::Open);
    assert_eq!(
        texts(&mut events),
        [
            "`ask` circuit opened after 10 of 11 calls failed in the last 10s (last error: boom); calls fail fast for 5s"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_ratio_is_compared_inclusively() {
    let (scope, _events) = scoped();
    // Polly's default ratio, 0.1, with a throughput of 10: the first
    // failure among 9 successes makes 1 of 10, which is 0.1: it opens.
    let breaker = CircuitBreaker::new(BreakerPolicy::new().with_min_throughput(10));
    for _ in 0..9 {
        call(&scope, &breaker, true).unwrap();
    }
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.state(), CircuitState::Open);

    // 1 of 11 is below 0.1: it stays closed.
    let breaker = CircuitBreaker::new(BreakerPolicy::new().with_min_throughput(10));
    for _ in 0..10 {
        call(&scope, &breaker, true).unwrap();
    }
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn old_outcomes_slide_out_of_the_window() {
    let (scope, _events) = scoped();
    // 10 s in buckets of 1 s.
    let breaker = CircuitBreaker::new(
        BreakerPolicy::failure_ratio(0.5)
            .with_min_throughput(4)
            .with_sampling(SECS(10)),
    );
    let start = Instant::now();
    // t = 0: three failures, below the throughput.
    for _ in 0..3 {
        call(&scope, &breaker, false).unwrap();
    }
    // t = 9.999 s: still in the window (bucket 0 of 0..=9).
    advance(MS(9_999)).await;
    assert_eq!(breaker.stats().window_calls, 3);
    // t = 10 s: bucket 0 has left the window.
    advance(MS(1)).await;
    assert_eq!(start.elapsed(), SECS(10));
    assert_eq!(breaker.stats().window_calls, 0);
    // So a fourth failure is 1 of 1: below the throughput, still closed.
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.state(), CircuitState::Closed);
    // Three more within the window: 4 of 4, it opens.
    for _ in 0..2 {
        call(&scope, &breaker, false).unwrap();
    }
    assert_eq!(breaker.state(), CircuitState::Closed);
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.state(), CircuitState::Open);
    // Closing clears the window: old failures do not reopen it.
    advance(SECS(5)).await;
    call(&scope, &breaker, true).unwrap();
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.stats().window_calls, 0);
}

#[tokio::test(start_paused = true)]
async fn call_counts_every_error_and_converts_the_refusal() {
    #[derive(Debug, PartialEq)]
    enum AgentError {
        Open(CircuitOpen),
        Down,
    }
    impl fmt::Display for AgentError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the model is down")
        }
    }
    impl From<CircuitOpen> for AgentError {
        fn from(open: CircuitOpen) -> Self {
            AgentError::Open(open)
        }
    }
    let (scope, mut events) = scoped();
    let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(1)).with_name("model");
    let calls = AtomicUsize::new(0);
    let attempt = || async {
        calls.fetch_add(1, Ordering::Relaxed);
        Err::<(), _>(AgentError::Down)
    };
    assert_eq!(
        scope.run(breaker.call(attempt)).await,
        Err(AgentError::Down)
    );
    let refused = scope.run(breaker.call(attempt)).await.unwrap_err();
    assert_eq!(
        refused,
        AgentError::Open(CircuitOpen::new(
            "model",
            "model",
            CircuitState::Open,
            Some(SECS(5))
        ))
    );
    assert_eq!(
        calls.load(Ordering::Relaxed),
        1,
        "the second call is not made"
    );
    assert_eq!(
        texts(&mut events),
        [
            "`model` circuit `model` opened after 1 consecutive failure (last error: the model is down); calls fail fast for 5s"
        ]
    );
}

#[test]
fn try_new_refuses_a_policy_that_cannot_work() {
    assert_eq!(
        CircuitBreaker::try_new(BreakerPolicy::failure_ratio(2.0)).unwrap_err(),
        BreakerPolicyError::Ratio { ratio: 2.0 }
    );
    assert!(CircuitBreaker::try_new(BreakerPolicy::consecutive(1)).is_ok());
    // The const panic of every error names what to fix.
    for error in [
        BreakerPolicyError::NoFailures,
        BreakerPolicyError::Ratio { ratio: 2.0 },
        BreakerPolicyError::NoThroughput,
        BreakerPolicyError::NoSampling,
        BreakerPolicyError::NoBreak,
        BreakerPolicyError::NoTrials,
        BreakerPolicyError::TooManyFailures {
            failures: 600_000_000,
        },
        BreakerPolicyError::TooManyTrials { trials: 40_000 },
        BreakerPolicyError::NotRatioMode {
            setting: "with_sampling",
        },
    ] {
        let panic = std::panic::catch_unwind(|| error.fail()).unwrap_err();
        let message = panic.downcast_ref::<&str>().copied().unwrap_or_default();
        assert!(message.starts_with("circuit breaker: "), "{message:?}");
        assert!(error.to_string().starts_with("circuit breaker: "));
    }
}

// The multi-thread runtime: no paused clock, so nothing here waits; the
// breaks are long (nothing reopens by accident) or 1 ns (over at once).

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counts_are_exact_under_many_tasks() {
    const TASKS: usize = 64;
    const CALLS: usize = 1_000;
    // Ratio mode, a throughput no run reaches: every outcome is counted.
    let breaker = Arc::new(CircuitBreaker::new(
        BreakerPolicy::failure_ratio(0.5)
            .with_min_throughput(u32::MAX)
            .with_sampling(SECS(3600)),
    ));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let breaker = Arc::clone(&breaker);
            tokio::spawn(async move {
                for i in 0..CALLS {
                    let permit = breaker.admit("ask").unwrap();
                    // Every third call of every task fails.
                    if (task + i) % 3 == 0 {
                        permit.failed(ErrorRef::Display(&"boom"));
                    } else {
                        permit.succeeded();
                    }
                    if i % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let failures = (0..TASKS)
        .flat_map(|task| (0..CALLS).map(move |i| (task + i) % 3 == 0))
        .filter(|failed| *failed)
        .count();
    let stats = breaker.stats();
    assert_eq!(stats.window_calls as usize, TASKS * CALLS);
    assert_eq!(stats.window_failures as usize, failures);
    assert_eq!(stats.state, CircuitState::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_in_a_row_are_counted_exactly_under_many_tasks() {
    const TASKS: usize = 64;
    const CALLS: usize = 1_000;
    // A threshold no run reaches: every failure is counted.
    let breaker = Arc::new(CircuitBreaker::new(BreakerPolicy::consecutive(
        policy::MAX_FAILURES,
    )));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let breaker = Arc::clone(&breaker);
            tokio::spawn(async move {
                for i in 0..CALLS {
                    breaker
                        .admit("ask")
                        .unwrap()
                        .failed(ErrorRef::Display(&"boom"));
                    if i % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let stats = breaker.stats();
    assert_eq!(stats.consecutive_failures as usize, TASKS * CALLS);
    assert_eq!(stats.state, CircuitState::Closed);
    breaker.admit("ask").unwrap().succeeded();
    assert_eq!(breaker.stats().consecutive_failures, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_open_it_once() {
    const TASKS: usize = 32;
    const THRESHOLD: u32 = 5_000;
    let breaker = Arc::new(CircuitBreaker::new(
        BreakerPolicy::consecutive(THRESHOLD).with_break(SECS(3600)),
    ));
    let admitted = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (breaker, admitted) = (Arc::clone(&breaker), Arc::clone(&admitted));
            tokio::spawn(async move {
                for i in 0..1_000 {
                    match breaker.admit("ask") {
                        Ok(permit) => {
                            admitted.fetch_add(1, Ordering::Relaxed);
                            permit.failed(ErrorRef::Display(&"boom"));
                        }
                        Err(open) => assert_eq!(open.state(), CircuitState::Open),
                    }
                    if i % 16 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let stats = breaker.stats();
    assert_eq!(stats.opened, 1, "opened once");
    assert_eq!(stats.state, CircuitState::Open);
    // Every call was let through or refused; the calls in flight when it
    // opened (at most one per task) ran past the threshold.
    let admitted = admitted.load(Ordering::Relaxed);
    assert_eq!(admitted as u64 + stats.rejected, (TASKS * 1_000) as u64);
    assert!(
        (THRESHOLD as usize..THRESHOLD as usize + TASKS).contains(&admitted),
        "{admitted} calls let through"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_half_open_breaker_lets_exactly_its_trials_through() {
    const TRIALS: u32 = 3;
    const TASKS: usize = 48;
    let breaker = Arc::new(CircuitBreaker::new(
        BreakerPolicy::consecutive(1)
            .with_break(Duration::from_nanos(1))
            .with_trials(TRIALS),
    ));
    breaker
        .admit("ask")
        .unwrap()
        .failed(ErrorRef::Display(&"boom"));
    // The break (1 ns) is over by the next clock reading.
    let start = Arc::new(tokio::sync::Barrier::new(TASKS));
    let finish = Arc::new(tokio::sync::Semaphore::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (breaker, start, finish) = (
                Arc::clone(&breaker),
                Arc::clone(&start),
                Arc::clone(&finish),
            );
            tokio::spawn(async move {
                start.wait().await;
                match breaker.admit("ask") {
                    Ok(permit) => {
                        assert!(permit.is_trial());
                        // Hold the trial until every task has tried.
                        finish.acquire().await.unwrap().forget();
                        permit.succeeded();
                        true
                    }
                    Err(open) => {
                        assert_eq!(open.state(), CircuitState::HalfOpen);
                        false
                    }
                }
            })
        })
        .collect();
    // Wait until every task that was refused is done: then only the trials
    // are left, each waiting.
    let mut refused = 0;
    while refused < TASKS - TRIALS as usize {
        refused = breaker.stats().rejected as usize;
        tokio::task::yield_now().await;
    }
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    finish.add_permits(TRIALS as usize);
    let mut trials = 0;
    for task in tasks {
        trials += usize::from(task.await.unwrap());
    }
    assert_eq!(trials, TRIALS as usize);
    assert_eq!(breaker.stats().rejected as usize, TASKS - TRIALS as usize);
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn an_opening_that_stalled_does_not_publish_its_break_over_a_newer_one() {
    let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(1).with_break(SECS(5)));
    // One thread opens it, and stalls before it writes when the break ends.
    let current = breaker.state.load(Ordering::Acquire);
    let stalled = breaker.open_state(current).unwrap();
    // Meanwhile: a reset, and a failure that opens it again.
    breaker.reset();
    let (scope, _events) = scoped();
    call(&scope, &breaker, false).unwrap();
    assert_eq!(breaker.state(), CircuitState::Open);
    // The stalled thread goes on: the newer break stands.
    breaker.publish_break(stalled);
    let refused = call(&scope, &breaker, true).unwrap_err();
    assert_eq!(refused.remaining(), Some(SECS(5)));
    advance(SECS(5)).await;
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    call(&scope, &breaker, true).unwrap();
    assert_eq!(breaker.state(), CircuitState::Closed);
}
