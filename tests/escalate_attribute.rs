//! `#[escalate]` on tokio's paused clock: tier order and exact time limits,
//! `when`, the error through `From`, panics, stacking with `#[retry]` and
//! `#[timeout]` both ways, methods on `&self` and `&mut self`, owned
//! arguments cloned per tier, and the same events as the runtime's
//! `escalate()`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use resilience::events::Scope;
use resilience::{
    EscalationConfigError, EscalationError, Tier, TierError, TierFailure, escalate, retry, timeout,
};
use tokio::time::{Instant, sleep};

/// The guide's strategies (shortened).
#[derive(Debug, PartialEq)]
struct Strategy {
    agents: usize,
    limit: Duration,
    model: &'static str,
}

impl Strategy {
    const fn new(agents: usize, seconds: u64, model: &'static str) -> Self {
        Self {
            agents,
            limit: Duration::from_secs(seconds),
            model,
        }
    }
}

impl Tier for Strategy {
    fn time_limit(&self) -> Duration {
        self.limit
    }
}

const STRATEGIES: [Strategy; 3] = [
    Strategy::new(1, 30, "small"),
    Strategy::new(3, 60, "medium"),
    Strategy::new(5, 120, "large"),
];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum SolveError {
    #[error("the {0} model got it wrong")]
    Wrong(&'static str),
    #[error("refused by the content policy")]
    Refused,
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
    #[error(transparent)]
    Escalation(#[from] EscalationError<SolveError>),
}

impl SolveError {
    fn escalates(&self) -> bool {
        !matches!(self, SolveError::Refused)
    }

    /// The progressive retry's error inside, or a panic.
    fn escalation(self) -> EscalationError<SolveError> {
        match self {
            SolveError::Escalation(error) => error,
            other => panic!("expected an escalation error, got {other:?}"),
        }
    }
}

/// What each call saw: when (ms since the log's creation) and which model.
struct Log {
    start: Instant,
    calls: Mutex<Vec<(u64, &'static str)>>,
}

impl Log {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn call(&self, model: &'static str) {
        let at = self.start.elapsed().as_millis() as u64;
        self.calls.lock().unwrap().push((at, model));
    }

    fn calls(&self) -> Vec<(u64, &'static str)> {
        self.calls.lock().unwrap().clone()
    }
}

/// small hangs, medium is wrong after 10s, large answers after 45s.
#[escalate(tiers = STRATEGIES)]
async fn solve(log: &Log, task: &str, #[tier] strategy: &Strategy) -> Result<String, SolveError> {
    log.call(strategy.model);
    match strategy.model {
        "small" => std::future::pending().await,
        "medium" => {
            sleep(Duration::from_secs(10)).await;
            Err(SolveError::Wrong("medium"))
        }
        _ => {
            sleep(Duration::from_secs(45)).await;
            Ok(format!(
                "{task} by {} {} agents",
                strategy.agents, strategy.model
            ))
        }
    }
}

#[tokio::test(start_paused = true)]
async fn tiers_run_in_order_each_under_its_own_limit() {
    let log = Log::new();
    let answer = solve(&log, "prove it").await;
    assert_eq!(answer.unwrap(), "prove it by 5 large agents");
    // small cut at 30s, medium wrong at 30 + 10, large done at 40 + 45.
    assert_eq!(
        log.calls(),
        [(0, "small"), (30_000, "medium"), (40_000, "large")]
    );
    assert_eq!(log.start.elapsed(), Duration::from_secs(85));
}

#[escalate(tiers = STRATEGIES)]
async fn hang(log: &Log, #[tier] strategy: &Strategy) -> Result<(), SolveError> {
    log.call(strategy.model);
    sleep(Duration::from_secs(1_000)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn every_tier_times_out_at_exactly_its_limit_and_the_error_comes_through_from() {
    let log = Log::new();
    let err = hang(&log).await.unwrap_err();
    assert_eq!(
        log.calls(),
        [(0, "small"), (30_000, "medium"), (90_000, "large")]
    );
    assert_eq!(log.start.elapsed(), Duration::from_secs(210));
    assert_eq!(
        err.to_string(),
        "`hang`: all 3 tiers failed: tier 1 (timed out after 30s), tier 2 (timed out after 1m), tier 3 (timed out after 2m)"
    );
    let failures = err.escalation().into_failures();
    assert_eq!(
        failures,
        [
            TierFailure::new(1, TierError::TimedOut(Duration::from_secs(30))),
            TierFailure::new(2, TierError::TimedOut(Duration::from_secs(60))),
            TierFailure::new(3, TierError::TimedOut(Duration::from_secs(120))),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn success_on_the_first_tier_runs_it_once_without_events() {
    #[escalate(tiers = STRATEGIES)]
    async fn easy(log: &Log, #[tier] strategy: &Strategy) -> Result<&'static str, SolveError> {
        log.call(strategy.model);
        Ok(strategy.model)
    }

    let scope = Scope::new();
    let mut events = scope.subscribe();
    let log = Log::new();
    assert_eq!(scope.run(easy(&log)).await, Ok("small"));
    assert_eq!(log.calls(), [(0, "small")]);
    assert!(events.try_recv().is_none());
}

/// Every error escalates but a refusal.
#[escalate(tiers = STRATEGIES, when = SolveError::escalates)]
async fn answer(
    log: &Log,
    refuse_at: &str,
    #[tier] strategy: &Strategy,
) -> Result<u32, SolveError> {
    log.call(strategy.model);
    if strategy.model == refuse_at {
        return Err(SolveError::Refused);
    }
    Err(SolveError::Wrong(strategy.model))
}

#[tokio::test(start_paused = true)]
async fn when_stops_the_escalation_at_an_error_it_refuses() {
    let log = Log::new();
    let err = answer(&log, "medium").await.unwrap_err().escalation();
    assert_eq!(log.calls(), [(0, "small"), (0, "medium")]); // no large model bought
    assert_eq!(
        err,
        EscalationError::NotEscalated {
            operation: "answer",
            failures: vec![
                TierFailure::new(1, TierError::Failed(SolveError::Wrong("small"))),
                TierFailure::new(2, TierError::Failed(SolveError::Refused)),
            ],
        }
    );
    assert_eq!(
        err.to_string(),
        "`answer`: tier 2 failed with an error that does not escalate (refused by the content policy); tried: tier 1 (the small model got it wrong), tier 2 (refused by the content policy)"
    );

    // Errors it accepts escalate to the last tier.
    let log = Log::new();
    let err = answer(&log, "none").await.unwrap_err().escalation();
    assert!(matches!(err, EscalationError::Exhausted { .. }), "{err:?}");
    assert_eq!(log.calls().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_closure_when_sees_the_arguments() {
    #[escalate(tiers = STRATEGIES, when = |e: &SolveError| *e != SolveError::Wrong(stop_at))]
    async fn guess(
        log: &Log,
        stop_at: &'static str,
        #[tier] s: &Strategy,
    ) -> Result<(), SolveError> {
        log.call(s.model);
        Err(SolveError::Wrong(s.model))
    }

    let log = Log::new();
    let err = guess(&log, "small").await.unwrap_err().escalation();
    assert!(
        matches!(err, EscalationError::NotEscalated { .. }),
        "{err:?}"
    );
    assert_eq!(log.calls(), [(0, "small")]);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_tier_is_that_tiers_failure_and_the_next_one_runs() {
    #[escalate(tiers = STRATEGIES)]
    async fn shaky(log: &Log, #[tier] strategy: &Strategy) -> Result<usize, SolveError> {
        log.call(strategy.model);
        sleep(Duration::from_secs(1)).await;
        if strategy.agents == 1 {
            panic!("the {} agent crashed", strategy.model);
        }
        Ok(strategy.agents)
    }

    let scope = Scope::new();
    let mut events = scope.subscribe();
    let log = Log::new();
    assert_eq!(scope.run(shaky(&log)).await, Ok(3));
    assert_eq!(log.calls(), [(0, "small"), (1_000, "medium")]);
    let seen: Vec<String> = std::iter::from_fn(|| events.try_recv())
        .map(|e| e.to_string())
        .collect();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].contains("panicked: the small agent crashed"),
        "{seen:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_events_are_those_of_the_runtime_fn() {
    #[escalate(tiers = LIMITS, when = |e: &SolveError| *e != SolveError::Refused)]
    async fn declared(#[tier] limit: &Duration) -> Result<(), SolveError> {
        if *limit < Duration::from_secs(2) {
            return Err(SolveError::Wrong("fast"));
        }
        Err(SolveError::Refused)
    }
    const LIMITS: [Duration; 3] = [
        Duration::from_secs(1),
        Duration::from_secs(2),
        Duration::from_secs(3),
    ];

    let by_attribute = Scope::new();
    let mut attribute_events = by_attribute.subscribe();
    let declared_err = by_attribute.run(declared()).await.unwrap_err().escalation();

    let by_hand = Scope::new();
    let mut hand_events = by_hand.subscribe();
    let hand_err = by_hand
        .run(
            resilience::Escalation::new(&LIMITS)
                .with_name("declared")
                .when(|e: &SolveError| *e != SolveError::Refused)
                .run(|limit| async move {
                    if *limit < Duration::from_secs(2) {
                        return Err::<(), _>(SolveError::Wrong("fast"));
                    }
                    Err(SolveError::Refused)
                }),
        )
        .await
        .unwrap_err();

    assert_eq!(declared_err, hand_err);
    let strings = |events: &mut resilience::events::Subscription| {
        std::iter::from_fn(|| events.try_recv())
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    };
    let seen = strings(&mut attribute_events);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen, strings(&mut hand_events));
}

#[tokio::test(start_paused = true)]
async fn tiers_that_cannot_work_are_a_config_error_and_nothing_runs() {
    const NONE: [Duration; 0] = [];
    #[escalate(tiers = NONE)]
    async fn never(log: &Log, #[tier] _limit: &Duration) -> Result<(), SolveError> {
        log.call("none");
        Ok(())
    }

    let log = Log::new();
    let err = never(&log).await.unwrap_err().escalation();
    assert_eq!(
        err,
        EscalationError::Config {
            operation: "never",
            error: EscalationConfigError::NoTiers
        }
    );
    assert!(log.calls().is_empty());
}

// --- stacking ---------------------------------------------------------------

/// Retries within each tier: 2 attempts, 1s apart, then the next tier.
#[escalate(tiers = STRATEGIES)]
#[retry(attempts = 2, backoff = constant, delay = "1s")]
async fn retried_per_tier(log: &Log, #[tier] strategy: &Strategy) -> Result<(), SolveError> {
    log.call(strategy.model);
    Err(SolveError::Wrong(strategy.model))
}

#[tokio::test(start_paused = true)]
async fn escalate_over_retry_retries_within_each_tier() {
    let log = Log::new();
    let err = retried_per_tier(&log).await.unwrap_err().escalation();
    assert_eq!(
        log.calls(),
        [
            (0, "small"),
            (1_000, "small"),
            (1_000, "medium"),
            (2_000, "medium"),
            (2_000, "large"),
            (3_000, "large"),
        ]
    );
    // Each tier failed with its last attempt's error.
    assert_eq!(
        err.to_string(),
        "`retried_per_tier`: all 3 tiers failed: tier 1 (the small model got it wrong), tier 2 (the medium model got it wrong), tier 3 (the large model got it wrong)"
    );
}

/// Retries the whole escalation: 2 rounds of every tier, 1s apart.
#[retry(attempts = 2, backoff = constant, delay = "1s")]
#[escalate(tiers = STRATEGIES)]
async fn retried_escalation(log: &Log, #[tier] strategy: &Strategy) -> Result<(), SolveError> {
    log.call(strategy.model);
    Err(SolveError::Wrong(strategy.model))
}

#[tokio::test(start_paused = true)]
async fn retry_over_escalate_retries_the_whole_escalation() {
    let log = Log::new();
    let err = retried_escalation(&log).await.unwrap_err().escalation();
    assert_eq!(
        log.calls(),
        [
            (0, "small"),
            (0, "medium"),
            (0, "large"),
            (1_000, "small"),
            (1_000, "medium"),
            (1_000, "large"),
        ]
    );
    assert_eq!(err.failures().len(), 3); // the last round's
}

/// A 10s limit on each tier's call, inside the tier's own limit.
#[escalate(tiers = STRATEGIES)]
#[timeout("10s")]
async fn timed_per_tier(log: &Log, #[tier] strategy: &Strategy) -> Result<(), SolveError> {
    log.call(strategy.model);
    std::future::pending().await
}

#[tokio::test(start_paused = true)]
async fn escalate_over_timeout_bounds_each_tiers_call() {
    let log = Log::new();
    let err = timed_per_tier(&log).await.unwrap_err().escalation();
    assert_eq!(
        log.calls(),
        [(0, "small"), (10_000, "medium"), (20_000, "large")]
    );
    // The inner timeout is the tier's error (`Failed`), not the tier's limit.
    assert!(
        err.failures()
            .iter()
            .all(|f| matches!(f.error(), TierError::Failed(SolveError::Timeout(_)))),
        "{err:?}"
    );
    assert_eq!(log.start.elapsed(), Duration::from_secs(30));
}

/// 50s for all the tiers together.
#[timeout("50s")]
#[escalate(tiers = STRATEGIES)]
async fn timed_escalation(log: &Log, #[tier] strategy: &Strategy) -> Result<(), SolveError> {
    log.call(strategy.model);
    std::future::pending().await
}

#[tokio::test(start_paused = true)]
async fn timeout_over_escalate_bounds_all_the_tiers() {
    let log = Log::new();
    let err = timed_escalation(&log).await.unwrap_err();
    assert!(matches!(err, SolveError::Timeout(_)), "{err:?}");
    assert_eq!(err.to_string(), "`timed_escalation` timed out after 50s");
    assert_eq!(log.calls(), [(0, "small"), (30_000, "medium")]);
    assert_eq!(log.start.elapsed(), Duration::from_secs(50));
}

// --- methods and arguments --------------------------------------------------

struct Solver {
    log: Log,
    tiers_tried: u32,
}

impl Solver {
    #[escalate(tiers = STRATEGIES, when = SolveError::escalates)]
    async fn solve(&self, task: &str, #[tier] strategy: &Strategy) -> Result<String, SolveError> {
        self.log.call(strategy.model);
        if strategy.agents < 5 {
            return Err(SolveError::Wrong(strategy.model));
        }
        Ok(format!("{task}: done"))
    }

    #[escalate(tiers = STRATEGIES)]
    async fn solve_mut(&mut self, #[tier] strategy: &Strategy) -> Result<u32, SolveError> {
        self.tiers_tried += 1;
        self.log.call(strategy.model);
        let thinking = if strategy.model == "medium" { 100 } else { 20 };
        sleep(Duration::from_secs(thinking)).await;
        if strategy.agents < 5 {
            return Err(SolveError::Wrong(strategy.model));
        }
        Ok(self.tiers_tried)
    }
}

#[tokio::test(start_paused = true)]
async fn a_method_on_shared_self() {
    let solver = Solver {
        log: Log::new(),
        tiers_tried: 0,
    };
    assert_eq!(solver.solve("sort").await.unwrap(), "sort: done");
    assert_eq!(
        solver.log.calls(),
        [(0, "small"), (0, "medium"), (0, "large")]
    );
}

#[tokio::test(start_paused = true)]
async fn a_method_on_mut_self_sees_its_own_changes_across_tiers() {
    let mut solver = Solver {
        log: Log::new(),
        tiers_tried: 0,
    };
    // small wrong at 20s; medium cut at 20 + 60s (its limit); large done 20s later.
    assert_eq!(solver.solve_mut().await, Ok(3));
    assert_eq!(solver.tiers_tried, 3);
    assert_eq!(
        solver.log.calls(),
        [(0, "small"), (20_000, "medium"), (80_000, "large")]
    );
}

/// Counts its clones.
struct Prompt<'a> {
    text: String,
    clones: &'a AtomicUsize,
}

impl Clone for Prompt<'_> {
    fn clone(&self) -> Self {
        self.clones.fetch_add(1, Ordering::Relaxed);
        Self {
            text: self.text.clone(),
            clones: self.clones,
        }
    }
}

#[escalate(tiers = STRATEGIES)]
async fn consume<'a>(
    log: &Log,
    mut prompt: Prompt<'a>,
    #[tier] strategy: &Strategy,
) -> Result<String, SolveError> {
    log.call(strategy.model);
    prompt.text.push_str(strategy.model); // each tier has its own copy
    let text = std::mem::take(&mut prompt.text);
    drop(prompt); // taken by value
    if strategy.agents < 5 {
        return Err(SolveError::Wrong(strategy.model));
    }
    Ok(text)
}

#[tokio::test(start_paused = true)]
async fn an_owned_argument_is_cloned_for_each_tier() {
    let clones = AtomicUsize::new(0);
    let log = Log::new();
    let prompt = Prompt {
        text: "task for ".into(),
        clones: &clones,
    };
    assert_eq!(consume(&log, prompt).await.unwrap(), "task for large");
    assert_eq!(clones.load(Ordering::Relaxed), 3);
}
