//! Progressive retry: timings on tokio's paused clock, cleanup counts,
//! the `when` predicate, every error path, cancellation and panics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use resilience_runtime::events::{Scope, Subscription};
use resilience_runtime::{
    Escalation, EscalationConfigError, EscalationError, Tier, TierError, TierFailure, escalate,
};
use tokio::time::{Instant, sleep};

/// The guide's strategies.
#[derive(Debug, PartialEq)]
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

#[derive(Debug, PartialEq)]
enum AgentError {
    Wrong,
    ContentPolicy,
    NoCapacity,
}

impl core::fmt::Display for AgentError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Wrong => "wrong answer",
            Self::ContentPolicy => "refused by the content policy",
            Self::NoCapacity => "no capacity for the model",
        })
    }
}

fn drain(sub: &mut Subscription) -> Vec<String> {
    core::iter::from_fn(|| sub.try_recv())
        .map(|e| e.to_string())
        .collect()
}

/// Agents made for a tier: "model#i".
fn agents(s: &Strategy) -> Vec<String> {
    (0..s.agents).map(|i| format!("{}#{i}", s.model)).collect()
}

#[tokio::test(start_paused = true)]
async fn each_tier_runs_under_its_own_time_limit() {
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let start = Instant::now();
    let tried = Mutex::new(Vec::new());
    let answer = scope
        .run(escalate(&STRATEGIES, |s| {
            tried.lock().unwrap().push((s.model, start.elapsed()));
            async {
                sleep(Duration::from_secs(100)).await;
                Ok::<_, AgentError>("done")
            }
        }))
        .await;
    assert_eq!(answer, Ok("done"));
    assert_eq!(start.elapsed(), Duration::from_secs(30 + 60 + 100));
    assert_eq!(
        *tried.lock().unwrap(),
        [
            ("small", Duration::ZERO),
            ("medium", Duration::from_secs(30)),
            ("large", Duration::from_secs(90)),
        ]
    );
    assert_eq!(
        drain(&mut sub),
        [
            "`escalate` tier 1 failed (timed out after 30s); escalating to tier 2",
            "`escalate` tier 2 failed (timed out after 1m); escalating to tier 3",
        ]
    );
}

/// Guide bug: a timed-out tier reported an empty error message.
#[tokio::test(start_paused = true)]
async fn a_timed_out_tier_says_which_tier_timed_out_after_how_long() {
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let start = Instant::now();
    let err = scope
        .run(
            Escalation::new(&STRATEGIES)
                .with_name("solve")
                .run(|_| core::future::pending::<Result<(), AgentError>>()),
        )
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(210));
    assert_eq!(
        err.to_string(),
        "`solve`: all 3 tiers failed: tier 1 (timed out after 30s), \
         tier 2 (timed out after 1m), tier 3 (timed out after 2m)"
    );
    assert_eq!(
        err.last(),
        Some(&TierFailure::new(
            3,
            TierError::TimedOut(Duration::from_secs(120))
        ))
    );
    assert_eq!(
        drain(&mut sub).last().unwrap(),
        "`solve` gave up after 3 attempts (attempts exhausted): tier 3 (timed out after 2m)"
    );
}

/// Guide bugs: cleanup of a failed tier could run twice (the previous
/// tier's agents again), and raised `NameError` when creating failed.
#[tokio::test(start_paused = true)]
async fn cleanup_runs_once_per_failed_tier_with_what_exists() {
    let cleaned = Mutex::new(Vec::new());
    let created = Mutex::new(Vec::new());
    let answer = Escalation::new(&STRATEGIES)
        .run_with(
            |s| {
                created.lock().unwrap().push(s.model);
                async move {
                    if s.model == "medium" {
                        Err(AgentError::NoCapacity)
                    } else {
                        Ok(agents(s))
                    }
                }
            },
            |s, agents| async move {
                match s.model {
                    "large" => Ok(agents.len()),
                    _ => Err(AgentError::Wrong),
                }
            },
            |s, agents| {
                cleaned.lock().unwrap().push((s.model, agents));
                async {}
            },
        )
        .await;
    assert_eq!(answer, Ok(5));
    assert_eq!(*created.lock().unwrap(), ["small", "medium", "large"]);
    assert_eq!(
        *cleaned.lock().unwrap(),
        [
            ("small", Some(vec!["small#0".to_owned()])),
            ("medium", None)
        ],
        "tier 1's agents once, nothing for tier 2, none after the success"
    );
}

#[tokio::test(start_paused = true)]
async fn cleanup_gets_nothing_when_the_first_tier_cannot_create_its_agents() {
    let cleaned = Mutex::new(Vec::new());
    let err = Escalation::new(&STRATEGIES[..1])
        .run_with(
            |_| async { Err::<Vec<String>, _>(AgentError::NoCapacity) },
            |_, _| async { Ok(()) },
            |s, agents| {
                cleaned.lock().unwrap().push((s.model, agents));
                async {}
            },
        )
        .await
        .unwrap_err();
    assert_eq!(*cleaned.lock().unwrap(), [("small", None)]);
    assert_eq!(
        err.to_string(),
        "`escalate`: all 1 tier failed: tier 1 (no capacity for the model)"
    );
}

#[tokio::test(start_paused = true)]
async fn the_time_limit_covers_creating_the_agents() {
    let cleaned = Mutex::new(Vec::new());
    let start = Instant::now();
    let answer = Escalation::new(&STRATEGIES[..2])
        .run_with(
            |s| async move {
                if s.model == "small" {
                    sleep(Duration::from_secs(45)).await; // past tier 1's 30 s
                }
                Ok::<_, AgentError>(agents(s))
            },
            |_, agents| async move { Ok(agents.len()) },
            |s, agents| {
                cleaned.lock().unwrap().push((s.model, agents.is_some()));
                async {}
            },
        )
        .await;
    assert_eq!(answer, Ok(3));
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(*cleaned.lock().unwrap(), [("small", false)]);
}

/// A content-policy refusal should not buy a bigger model.
#[tokio::test(start_paused = true)]
async fn the_when_predicate_decides_which_errors_escalate() {
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let tried = Mutex::new(Vec::new());
    let cleaned = Mutex::new(0);
    let retry = Escalation::new(&STRATEGIES)
        .with_name("answer")
        .when(|e: &AgentError| *e != AgentError::ContentPolicy);
    let err = scope
        .run(retry.run_with(
            |s| async move { Ok::<_, AgentError>(agents(s)) },
            |s, _| {
                tried.lock().unwrap().push(s.model);
                let error = match s.model {
                    "small" => AgentError::Wrong,
                    _ => AgentError::ContentPolicy,
                };
                async { Err::<(), _>(error) }
            },
            |_, _| {
                *cleaned.lock().unwrap() += 1;
                async {}
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(*tried.lock().unwrap(), ["small", "medium"]);
    assert_eq!(*cleaned.lock().unwrap(), 2);
    assert!(matches!(err, EscalationError::NotEscalated { .. }));
    assert_eq!(
        err.to_string(),
        "`answer`: tier 2 failed with an error that does not escalate (refused by the content policy); \
         tried: tier 1 (wrong answer), tier 2 (refused by the content policy)"
    );
    assert_eq!(
        drain(&mut sub),
        [
            "`answer` tier 1 failed (wrong answer); escalating to tier 2",
            "`answer` gave up after 2 attempts (error is not retryable): tier 2 (refused by the content policy)",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_agent_is_that_tiers_failure() {
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let answer = scope
        .run(Escalation::new(&STRATEGIES).run_with(
            |s| async move {
                if s.model == "medium" {
                    panic!("could not load {}", s.model);
                }
                Ok::<_, AgentError>(agents(s))
            },
            |s, agents| async move {
                if s.model == "small" {
                    panic!("agent {} crashed", agents[0]);
                }
                Ok(s.model)
            },
            |s, _| async move {
                if s.model == "medium" {
                    panic!("cleanup crashed");
                }
            },
        ))
        .await;
    assert_eq!(answer, Ok("large"));
    assert_eq!(
        drain(&mut sub),
        [
            "`escalate` tier 1 failed (panicked: agent small#0 crashed); escalating to tier 2",
            "`escalate` tier 2 failed (panicked: could not load medium); escalating to tier 3",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_future_cancels_the_tier_in_flight() {
    struct Guard(Arc<AtomicBool>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let cleaned = AtomicBool::new(false);
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let start = Instant::now();
    let run = Escalation::new(&STRATEGIES).run_with(
        |s| async move { Ok::<_, AgentError>(agents(s)) },
        |_, _| {
            let guard = Guard(Arc::clone(&dropped));
            async move {
                let _guard = guard;
                core::future::pending::<Result<(), AgentError>>().await
            }
        },
        |_, _| {
            cleaned.store(true, Ordering::SeqCst);
            async {}
        },
    );
    let cancelled = scope
        .run(tokio::time::timeout(Duration::from_secs(10), run))
        .await;
    assert!(cancelled.is_err());
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the call in flight is dropped"
    );
    assert!(!cleaned.load(Ordering::SeqCst));
    assert!(drain(&mut sub).is_empty());
}

#[tokio::test(start_paused = true)]
async fn invalid_tiers_are_a_typed_error_and_nothing_runs() {
    let empty: [Strategy; 0] = [];
    let err = escalate(&empty, |_| async { Ok::<_, AgentError>(()) })
        .await
        .unwrap_err();
    assert_eq!(
        err,
        EscalationError::Config {
            operation: "escalate",
            error: EscalationConfigError::NoTiers
        }
    );
    let zero = [Duration::from_secs(1), Duration::ZERO];
    let ran = AtomicBool::new(false);
    let err = escalate(&zero, |_| {
        ran.store(true, Ordering::SeqCst);
        async { Ok::<_, AgentError>(()) }
    })
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`escalate`: tier 2 has a time limit of 0s: it could never succeed"
    );
    assert!(!ran.load(Ordering::SeqCst));
    assert!(err.failures().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_first_tier_that_succeeds_ends_it() {
    let start = Instant::now();
    let answer = escalate(&STRATEGIES, |s| async move {
        sleep(Duration::from_secs(1)).await;
        Ok::<_, AgentError>(s.model)
    })
    .await;
    assert_eq!(answer, Ok("small"));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

#[tokio::test]
async fn a_progressive_retry_can_run_on_a_spawned_task() {
    static LIMITS: [Duration; 2] = [Duration::from_secs(5), Duration::from_secs(10)];
    let handle = tokio::spawn(async {
        Escalation::new(&LIMITS)
            .run_with(
                |limit| async move { Ok::<_, AgentError>(vec![limit.as_secs()]) },
                |_, agents| async move {
                    tokio::task::yield_now().await;
                    Ok(agents[0])
                },
                |_, agents| async move { drop(agents) },
            )
            .await
    });
    assert_eq!(handle.await.unwrap(), Ok(5));
}
