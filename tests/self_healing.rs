//! `#[self_healing]` and `#[agent]`: the failed calls in a row, help asked
//! once per streak (a time-out counts), the supervisor's answers (a cure,
//! a reset, giving up), the stacking orders that matter, agent names on
//! every event of a call, and the counts under many concurrent tasks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use resilience::events::{Filter, Scope, Subscription};
use resilience::{
    Abandoned, AgentName, Elapsed, Health, OwnedEvent, OwnedEventKind, agent, fallback, retry,
    self_healing, timeout,
};
use tokio::time::sleep;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum AgentError {
    #[error("{0} is overloaded")]
    Overloaded(&'static str),
    #[error(transparent)]
    Timeout(#[from] Elapsed),
    #[error(transparent)]
    Abandoned(#[from] Abandoned),
}

/// A model that fails while `failing` is set, and counts its requests.
struct Model {
    name: &'static str,
    failing: std::sync::atomic::AtomicBool,
    stalls: std::sync::atomic::AtomicBool,
    requests: AtomicU32,
}

impl Model {
    fn new(name: &'static str) -> Arc<Self> {
        Arc::new(Self {
            name,
            failing: false.into(),
            stalls: false.into(),
            requests: AtomicU32::new(0),
        })
    }

    fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::Relaxed);
    }

    fn requests(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }

    async fn complete(&self, prompt: &str) -> Result<String, AgentError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if self.stalls.load(Ordering::Relaxed) {
            sleep(Duration::from_secs(3600)).await;
        }
        if self.failing.load(Ordering::Relaxed) {
            return Err(AgentError::Overloaded(self.name));
        }
        Ok(format!("{} answers {prompt}", self.name))
    }
}

/// An agent whose supervisor can hand it a backup model.
struct Agent {
    name: AgentName,
    primary: Arc<Model>,
    health: Arc<Health<Arc<Model>>>,
    calls: u32,
}

impl Agent {
    fn new(name: &'static str, primary: &Arc<Model>) -> Self {
        Self {
            name: AgentName::new(name),
            primary: Arc::clone(primary),
            health: Arc::new(Health::new()),
            calls: 0,
        }
    }

    /// Self-healing outside the retry: counts calls, not attempts.
    #[agent(name = self.name)]
    #[self_healing(state = self.health, max_failures = 3)]
    #[retry(attempts = 3, delay = "10ms")]
    #[timeout("1s")]
    async fn ask(&mut self, prompt: &str) -> Result<String, AgentError> {
        self.calls += 1;
        let model = self
            .health
            .cure()
            .map_or_else(|| Arc::clone(&self.primary), |cure| Arc::clone(&cure));
        model.complete(prompt).await
    }
}

fn drain(events: &mut Subscription) -> Vec<OwnedEvent> {
    std::iter::from_fn(|| events.try_recv()).collect()
}

fn needs_help(events: &[OwnedEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| matches!(e.kind, OwnedEventKind::NeedsHelp { .. }))
        .map(ToString::to_string)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn help_is_asked_once_at_the_threshold_with_the_agent_the_operation_the_error_and_the_count()
{
    let scope = Scope::new();
    let mut events = scope.subscribe();
    let primary = Model::new("primary");
    let mut agent = Agent::new("planner", &primary);
    primary.fail(true);

    for call in 1..=5 {
        let error = scope.run(agent.ask("q")).await.unwrap_err();
        assert_eq!(error, AgentError::Overloaded("primary"));
        assert_eq!(agent.health.failures(), call);
    }
    // Three attempts per call: the count is of calls.
    assert_eq!(agent.calls, 15);
    let seen = drain(&mut events);
    let help: Vec<&OwnedEvent> = seen
        .iter()
        .filter(|e| matches!(e.kind, OwnedEventKind::NeedsHelp { .. }))
        .collect();
    // Once per streak: not again at the 4th and 5th failure (the guide asks
    // on every failed call after the third).
    assert_eq!(help.len(), 1);
    assert_eq!(help[0].agent.as_deref(), Some("planner"));
    assert_eq!(help[0].operation, "ask");
    assert_eq!(
        help[0].kind,
        OwnedEventKind::NeedsHelp {
            failures: 3,
            error: "primary is overloaded".into()
        }
    );
    assert_eq!(
        help[0].to_string(),
        "planner: `ask` needs help: 3 calls in a row failed, the last with: primary is overloaded"
    );
    // The help came after the third call's give-up, not during its retries.
    let position = seen
        .iter()
        .position(|e| matches!(e.kind, OwnedEventKind::NeedsHelp { .. }))
        .unwrap();
    let give_ups_before = seen[..position]
        .iter()
        .filter(|e| matches!(e.kind, OwnedEventKind::GaveUp { .. }))
        .count();
    assert_eq!(give_ups_before, 3);
    assert!(agent.health.needs_help());

    // A success ends the streak; the next streak asks again.
    primary.fail(false);
    assert_eq!(
        scope.run(agent.ask("q")).await.unwrap(),
        "primary answers q"
    );
    assert_eq!(agent.health.failures(), 0);
    assert!(!agent.health.needs_help());
    primary.fail(true);
    for _ in 0..3 {
        scope.run(agent.ask("q")).await.unwrap_err();
    }
    assert_eq!(needs_help(&drain(&mut events)).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_counts_as_a_failure_and_help_is_asked_once_per_streak() {
    static HEALTH: Health = Health::new();
    static CALLS: AtomicU32 = AtomicU32::new(0);

    #[self_healing(state = HEALTH, max_failures = 2)]
    #[timeout("50ms")]
    async fn stall() -> Result<(), AgentError> {
        CALLS.fetch_add(1, Ordering::Relaxed);
        sleep(Duration::from_secs(60)).await;
        Ok(())
    }

    let scope = Scope::new();
    let mut events = scope.subscribe();
    let start = tokio::time::Instant::now();
    for _ in 0..4 {
        let error = scope.run(stall()).await.unwrap_err();
        assert!(matches!(error, AgentError::Timeout(_)), "{error:?}");
    }
    assert_eq!(start.elapsed(), Duration::from_millis(200));
    assert_eq!(HEALTH.failures(), 4);
    assert_eq!(
        needs_help(&drain(&mut events)),
        [
            "`stall` needs help: 2 calls in a row failed, the last with: `stall` timed out after 50ms"
        ]
    );
    assert_eq!(CALLS.load(Ordering::Relaxed), 4);
}

#[tokio::test(start_paused = true)]
async fn under_a_retry_it_counts_attempts() {
    static HEALTH: Health = Health::new();

    #[retry(attempts = 3, delay = "10ms")]
    #[self_healing(state = HEALTH, max_failures = 3)]
    async fn flaky() -> Result<(), AgentError> {
        Err(AgentError::Overloaded("flaky"))
    }

    let scope = Scope::new();
    let mut events = scope.subscribe();
    scope.run(flaky()).await.unwrap_err();
    assert_eq!(HEALTH.failures(), 3);
    // The third attempt asks, before the retry gives up.
    let seen: Vec<String> = drain(&mut events).iter().map(ToString::to_string).collect();
    assert_eq!(
        seen,
        [
            "`flaky` attempt 1 failed (flaky is overloaded); retrying in 10ms",
            "`flaky` attempt 2 failed (flaky is overloaded); retrying in 20ms",
            "`flaky` needs help: 3 calls in a row failed, the last with: flaky is overloaded",
            "`flaky` gave up after 3 attempts (attempts exhausted): flaky is overloaded",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_supervisor_answers_with_a_cure_that_the_next_call_uses() {
    let scope = Scope::new();
    let primary = Model::new("primary");
    let backup = Model::new("backup");
    let mut agent = Agent::new("writer", &primary);
    primary.fail(true);

    // The supervisor watches this agent only, and heals it when asked.
    let mut help = Filter::new().in_scope(&scope).agent("writer").subscribe();
    let health = Arc::clone(&agent.health);
    let spare = Arc::clone(&backup);
    let supervisor = tokio::spawn(async move {
        while let Some(event) = help.recv().await {
            if let OwnedEventKind::NeedsHelp { failures, .. } = event.kind {
                health.heal(Arc::clone(&spare));
                return failures;
            }
        }
        0
    });

    for _ in 0..3 {
        scope.run(agent.ask("q")).await.unwrap_err();
    }
    assert_eq!(supervisor.await.unwrap(), 3);
    // The answer reset the streak; the next call uses the cure.
    assert_eq!(agent.health.failures(), 0);
    assert!(!agent.health.needs_help());
    let requests = primary.requests();
    assert_eq!(scope.run(agent.ask("q")).await.unwrap(), "backup answers q");
    assert_eq!(primary.requests(), requests);
    assert_eq!(backup.requests(), 1);

    // If the cure fails too, help is asked again (a new streak).
    let mut events = scope.subscribe();
    backup.fail(true);
    for _ in 0..3 {
        scope.run(agent.ask("q")).await.unwrap_err();
    }
    assert_eq!(
        needs_help(&drain(&mut events)),
        ["writer: `ask` needs help: 3 calls in a row failed, the last with: backup is overloaded"]
    );
    // Taking the cure back: the primary again.
    primary.fail(false);
    agent.health.remove_cure();
    assert_eq!(
        scope.run(agent.ask("q")).await.unwrap(),
        "primary answers q"
    );
}

#[tokio::test(start_paused = true)]
async fn after_giving_up_calls_are_not_made_until_a_reset() {
    let scope = Scope::new();
    let mut events = scope.subscribe();
    let primary = Model::new("primary");
    let mut agent = Agent::new("critic", &primary);

    agent.health.give_up();
    let start = tokio::time::Instant::now();
    let error = scope.run(agent.ask("q")).await.unwrap_err();
    let AgentError::Abandoned(abandoned) = &error else {
        panic!("expected Abandoned, got {error:?}");
    };
    assert_eq!(abandoned.operation(), "ask");
    assert_eq!(abandoned.agent().map(|a| a.as_str()), Some("critic"));
    assert_eq!(
        error.to_string(),
        "`ask` was not run: the supervisor gave up on agent `critic`"
    );
    // Not run at all: no attempt, no retry, no wait.
    assert_eq!(agent.calls, 0);
    assert_eq!(primary.requests(), 0);
    assert_eq!(start.elapsed(), Duration::ZERO);
    // A refused call is not a failure of the agent.
    assert_eq!(agent.health.failures(), 0);
    let seen: Vec<String> = drain(&mut events).iter().map(ToString::to_string).collect();
    assert_eq!(
        seen,
        ["critic: `ask` not run: the supervisor gave up on this agent"]
    );

    agent.health.reset();
    assert_eq!(
        scope.run(agent.ask("q")).await.unwrap(),
        "primary answers q"
    );
    assert_eq!(agent.calls, 1);
}

#[tokio::test(start_paused = true)]
async fn a_fallback_outside_still_counts_the_failure_and_inside_hides_it() {
    static OUTSIDE: Health = Health::new();
    static INSIDE: Health = Health::new();

    #[fallback(default = 0)]
    #[self_healing(state = OUTSIDE, max_failures = 1)]
    async fn fallback_outside() -> Result<u32, AgentError> {
        Err(AgentError::Overloaded("m"))
    }

    #[self_healing(state = INSIDE, max_failures = 1)]
    #[fallback(default = 0)]
    async fn fallback_inside() -> Result<u32, AgentError> {
        Err(AgentError::Overloaded("m"))
    }

    let scope = Scope::new();
    let mut events = scope.subscribe();
    assert_eq!(scope.run(fallback_outside()).await, Ok(0));
    assert_eq!(scope.run(fallback_inside()).await, Ok(0));
    assert_eq!(OUTSIDE.failures(), 1);
    assert_eq!(INSIDE.failures(), 0);
    let seen: Vec<String> = drain(&mut events).iter().map(ToString::to_string).collect();
    assert_eq!(
        seen,
        [
            "`fallback_outside` needs help: 1 call in a row failed, the last with: m is overloaded",
            "`fallback_outside` failed (m is overloaded); using the fallback",
            "`fallback_inside` failed (m is overloaded); using the fallback",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn every_event_of_a_call_carries_its_agent_and_a_nested_agent_names_its_own() {
    struct Critic {
        name: String,
    }

    impl Critic {
        #[agent(name = self.name)]
        #[retry(attempts = 2, delay = "1ms")]
        async fn review(&self) -> Result<(), AgentError> {
            Err(AgentError::Overloaded("critic-model"))
        }
    }

    struct Planner {
        name: &'static str,
        critic: Critic,
    }

    impl Planner {
        #[agent(name = self.name)]
        #[fallback(default = ())]
        #[retry(attempts = 2, delay = "1ms")]
        #[timeout("10ms")]
        async fn plan(&self) -> Result<(), AgentError> {
            // The critic's events name the critic, then the planner's
            // timeout names the planner again.
            let _ = self.critic.review().await;
            sleep(Duration::from_secs(1)).await;
            Ok(())
        }
    }

    let planner = Planner {
        name: "planner",
        critic: Critic {
            name: String::from("critic"),
        },
    };
    let scope = Scope::new();
    let mut events = scope.subscribe();
    let mut planner_only = Filter::new().in_scope(&scope).agent("planner").subscribe();
    scope.run(planner.plan()).await.unwrap();
    // Outside any agent: no name.
    scope.run(planner.critic.review()).await.unwrap_err();
    #[retry(attempts = 1)]
    async fn anonymous() -> Result<(), AgentError> {
        Err(AgentError::Overloaded("nobody"))
    }
    scope.run(anonymous()).await.unwrap_err();

    let seen: Vec<String> = drain(&mut events).iter().map(ToString::to_string).collect();
    assert_eq!(
        seen,
        [
            "critic: `review` attempt 1 failed (critic-model is overloaded); retrying in 1ms",
            "critic: `review` gave up after 2 attempts (attempts exhausted): critic-model is overloaded",
            "planner: `plan` timed out after 10ms",
            "planner: `plan` attempt 1 failed (`plan` timed out after 10ms); retrying in 1ms",
            "critic: `review` attempt 1 failed (critic-model is overloaded); retrying in 1ms",
            "critic: `review` gave up after 2 attempts (attempts exhausted): critic-model is overloaded",
            "planner: `plan` timed out after 10ms",
            "planner: `plan` gave up after 2 attempts (attempts exhausted): `plan` timed out after 10ms",
            "planner: `plan` failed (`plan` timed out after 10ms); using the fallback",
            "critic: `review` attempt 1 failed (critic-model is overloaded); retrying in 1ms",
            "critic: `review` gave up after 2 attempts (attempts exhausted): critic-model is overloaded",
            "`anonymous` gave up after 1 attempt (attempts exhausted): nobody is overloaded",
        ]
    );
    let planner_events = drain(&mut planner_only);
    assert_eq!(planner_events.len(), 5);
    assert!(
        planner_events
            .iter()
            .all(|e| e.agent.as_deref() == Some("planner") && e.operation == "plan")
    );
}

/// Many tasks fail at once on one agent: every failure is counted and help
/// is asked exactly once per streak.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_count_every_failure_and_ask_once_per_streak() {
    const TASKS: u32 = 64;
    const CALLS: u32 = 200;

    struct Shared {
        health: Health<&'static str>,
        failing: std::sync::atomic::AtomicBool,
    }

    impl Shared {
        #[agent(name = "crowd")]
        #[self_healing(state = self.health, max_failures = 3)]
        async fn call(&self) -> Result<(), AgentError> {
            tokio::task::yield_now().await;
            if self.failing.load(Ordering::Relaxed) {
                Err(AgentError::Overloaded("crowd-model"))
            } else {
                Ok(())
            }
        }
    }

    let shared = Arc::new(Shared {
        health: Health::new(),
        failing: true.into(),
    });
    let scope = Scope::new();
    let mut events = Filter::new().in_scope(&scope).subscribe_with_capacity(16);

    async fn round(shared: &Arc<Shared>, scope: &Scope) {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let shared = Arc::clone(shared);
                let scope = scope.clone();
                tokio::spawn(async move {
                    scope
                        .run(async {
                            for _ in 0..CALLS {
                                let _ = shared.call().await;
                            }
                        })
                        .await;
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }

    round(&shared, &scope).await;
    assert_eq!(shared.health.failures(), TASKS * CALLS);
    let first = drain(&mut events);
    assert_eq!(events.missed(), 0);
    assert_eq!(needs_help(&first).len(), 1, "{first:?}");
    assert_eq!(first[0].agent.as_deref(), Some("crowd"));
    assert!(matches!(
        first[0].kind,
        OwnedEventKind::NeedsHelp { failures: 3, .. }
    ));

    // The supervisor's answer opens a new streak: help is asked once more.
    shared.health.heal("backup");
    round(&shared, &scope).await;
    assert_eq!(shared.health.failures(), TASKS * CALLS);
    assert_eq!(needs_help(&drain(&mut events)).len(), 1);

    // Successes end the streak, whatever the interleaving.
    shared.failing.store(false, Ordering::Relaxed);
    round(&shared, &scope).await;
    assert_eq!(shared.health.failures(), 0);
    assert!(!shared.health.needs_help());
    assert!(drain(&mut events).is_empty());
}

/// A decorated future is no larger than the same logic written by hand
/// (measured in the same build), and the two do the same work.
mod size {
    use std::mem::size_of_val;

    use resilience::events::with_agent;
    use resilience::{Abandoned, ErrorRef, HealingPolicy, Health, agent, self_healing};

    #[derive(Debug)]
    enum Error {
        Failed,
        #[allow(dead_code)]
        Abandoned(Abandoned),
    }

    impl From<Abandoned> for Error {
        fn from(error: Abandoned) -> Self {
            Error::Abandoned(error)
        }
    }

    static DECORATED: Health = Health::new();
    static HAND: Health = Health::new();

    async fn work(x: &u64) -> Result<u64, Error> {
        tokio::task::yield_now().await;
        if *x == 0 { Err(Error::Failed) } else { Ok(*x) }
    }

    #[self_healing(state = DECORATED)]
    async fn decorated(x: &u64) -> Result<u64, Error> {
        work(x).await
    }

    async fn hand(x: &u64) -> Result<u64, Error> {
        const POLICY: HealingPolicy = HealingPolicy::new("hand", 3);
        if let Err(error) = POLICY.enter(&HAND) {
            return Err(error.into());
        }
        let result = work(x).await;
        match &result {
            Ok(_) => POLICY.succeeded(&HAND),
            Err(error) => POLICY.failed(&HAND, ErrorRef::Debug(error)),
        }
        result
    }

    #[agent(name = "a")]
    async fn decorated_agent(x: &u64) -> Result<u64, Error> {
        work(x).await
    }

    async fn hand_agent(x: &u64) -> Result<u64, Error> {
        with_agent("a", work(x)).await
    }

    #[test]
    fn decorated_futures_are_no_larger_than_hand_written() {
        let x = 1;
        let pairs = [
            (
                "self_healing",
                size_of_val(&decorated(&x)),
                size_of_val(&hand(&x)),
            ),
            (
                "agent",
                size_of_val(&decorated_agent(&x)),
                size_of_val(&hand_agent(&x)),
            ),
        ];
        for (name, ours, theirs) in pairs {
            assert!(
                ours <= theirs,
                "{name}: decorated {ours} bytes > hand-written {theirs}"
            );
        }
    }

    #[tokio::test]
    async fn the_compared_futures_do_the_same_work() {
        for x in [1, 0, 0, 0, 2] {
            assert_eq!(
                format!("{:?}", decorated(&x).await),
                format!("{:?}", hand(&x).await)
            );
            assert_eq!(
                format!("{:?}", decorated_agent(&x).await),
                format!("{:?}", hand_agent(&x).await)
            );
        }
        assert_eq!(DECORATED.failures(), 0);
        assert_eq!(HAND.failures(), 0);
    }
}

/// A workflow's undo runs as the workflow: its compensation events, and the
/// events of the compensations' own calls, carry the workflow's name.
mod workflow_compensation {
    use std::sync::atomic::{AtomicU32, Ordering};

    use resilience::events::Scope;
    use resilience::{agent, retry, workflow};

    #[derive(Debug, Clone, PartialEq, thiserror::Error)]
    enum BookingError {
        #[error("no seats")]
        NoSeats,
        #[error("the payment service is busy")]
        Busy,
    }

    static REFUND_CALLS: AtomicU32 = AtomicU32::new(0);

    async fn reserve() -> Result<u32, BookingError> {
        Ok(7)
    }

    /// Fails once, then undoes: its retry is an event of the undo.
    #[retry(attempts = 2, delay = "1ms")]
    async fn release(seat: u32) -> Result<(), BookingError> {
        let _ = seat;
        if REFUND_CALLS
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(2)
        {
            Err(BookingError::Busy)
        } else {
            Ok(())
        }
    }

    async fn pay() -> Result<(), BookingError> {
        Err(BookingError::NoSeats)
    }

    workflow! {
        workflow Booking() -> Result<u32, BookingError> {
            #[compensate(with = release)]
            step seat: u32 = reserve().await;
            step paid: () = pay().await;
            { let () = paid; seat }
        }
    }

    struct Travel;

    impl Travel {
        #[agent(name = "travel-agent")]
        async fn book(&self) -> Result<u32, BookingError> {
            Booking::new()
                .run()
                .await
                .map_err(|_| BookingError::NoSeats)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn compensation_events_carry_the_workflow_or_the_running_agent() {
        let scope = Scope::new();
        let mut events = scope.subscribe();
        scope.run(Booking::new().run()).await.unwrap_err();
        let seen: Vec<String> = std::iter::from_fn(|| events.try_recv())
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            seen,
            [
                "`Booking` step `paid` failed (no seats); undoing the completed steps",
                "Booking: `release` attempt 1 failed (the payment service is busy); retrying in 1ms",
                "Booking: `seat` undone by its compensation",
            ]
        );

        // Run by an agent: the undo is that agent's.
        scope.run(Travel.book()).await.unwrap_err();
        let agents: Vec<Option<String>> = std::iter::from_fn(|| events.try_recv())
            .map(|e| e.agent)
            .collect();
        assert_eq!(agents, vec![Some("travel-agent".to_owned()); 3]);
    }
}

/// In a `saga()`, a compensation runs as the agent whose call registered
/// it: its events, and its own calls' events, carry that agent's name.
mod saga_compensation {
    use resilience::events::Scope;
    use resilience::{agent, compensate, retry, saga};

    #[derive(Debug, Clone, PartialEq, thiserror::Error)]
    enum CloudError {
        #[error("quota exceeded")]
        Quota,
        #[error("busy")]
        Busy,
    }

    struct Provisioner {
        name: &'static str,
    }

    #[retry(attempts = 2, delay = "1ms")]
    async fn delete_vm(id: u32) -> Result<(), CloudError> {
        // Busy on the first try, so the retry is an event of the undo.
        static TRIES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let _ = id;
        if TRIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0 {
            Err(CloudError::Busy)
        } else {
            Ok(())
        }
    }

    impl Provisioner {
        #[agent(name = self.name)]
        #[compensate(with = delete_vm)]
        async fn create_vm(&self) -> Result<u32, CloudError> {
            Ok(7)
        }
    }

    async fn configure() -> Result<(), CloudError> {
        Err(CloudError::Quota)
    }

    #[tokio::test(start_paused = true)]
    async fn a_compensation_runs_as_the_agent_that_registered_it() {
        let scope = Scope::new();
        let mut events = scope.subscribe();
        let provisioner = Provisioner {
            name: "provisioner",
        };
        let error = scope
            .run(saga(async {
                provisioner.create_vm().await?;
                configure().await
            }))
            .await
            .unwrap_err();
        assert_eq!(error.compensations().len(), 1);
        let seen: Vec<String> = std::iter::from_fn(|| events.try_recv())
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            seen,
            [
                "provisioner: `delete_vm` attempt 1 failed (busy); retrying in 1ms",
                "provisioner: `create_vm` undone by its compensation",
            ]
        );
    }
}
