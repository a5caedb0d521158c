//! Events: what the policies did, as `tracing` events and for code that
//! watches.
//!
//! Every retry, give-up, timeout, fallback, compensation and checkpoint goes
//! through [`emit`], which
//!
//! 1. records a [`tracing`] event with target `"resilience"` and structured
//!    fields (`operation`, `agent` when the call runs as one, and
//!    `attempt`, `attempts`, `delay`, `limit`,
//!    `reason`, `step`, `error`, `id`, `position` as they apply): WARN for a
//!    retry, a timeout, a fallback and a compensation, ERROR for a give-up,
//!    a failed step and a compensation that failed, DEBUG for a saved
//!    checkpoint; and
//! 2. hands the [`Event`] to the callbacks registered with [`observe`] and
//!    the subscriptions opened with [`subscribe`], each behind its
//!    [`Filter`].
//!
//! When nobody observes, step 2 costs one relaxed atomic load, and step 1
//! what `tracing` costs when no subscriber wants the event.
//!
//! # Watching only your own: scopes
//!
//! The bus is process-wide. A supervisor (or a test) that wants the events
//! of its own agents only runs their calls in a [`Scope`] and subscribes to
//! that scope: events of other tasks never reach it. A [`Filter`] can also
//! keep one operation.
//!
//! # Which agent
//!
//! A call decorated with `#[agent(name = ..)]` (or run in [`with_agent`])
//! runs as that agent: [`emit`] puts the name on every event emitted while
//! it runs ([`Event::agent`]), whatever emits it, and
//! [`Filter::agent`] keeps one agent's events. The name lives in a
//! task-local that `emit` reads; a call without a name pays nothing.
//!
//! # Bounded subscriptions
//!
//! A [`Subscription`] holds at most [`Subscription::DEFAULT_CAPACITY`]
//! unread events (or what [`Filter::subscribe_with_capacity`] says). A
//! reader that falls behind loses the oldest, and [`Subscription::missed`]
//! tells it how many: memory stays bounded however many events a load
//! produces.
//!
//! # A supervisor
//!
//! A coordinator can watch its agents and react when one gives up, for
//! example by sending the task to a backup agent:
//!
//! ```
//! use resilience_runtime::events::{OwnedEventKind, Scope};
//! use resilience_runtime::{ErrorRef, RetryPolicy, RetryState};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let agents = Scope::new();
//! let mut events = agents.subscribe();
//! let supervisor = tokio::spawn(async move {
//!     while let Some(event) = events.recv().await {
//!         if let OwnedEventKind::GaveUp { attempts, error, .. } = &event.kind {
//!             // Here: reroute the work, page someone, open a circuit…
//!             return format!("`{}` needs help after {attempts} attempts: {error}", event.operation);
//!         }
//!     }
//!     String::new()
//! });
//!
//! // An agent of this supervisor fails for good (the `#[retry]` code does this).
//! agents.run(async {
//!     let policy = RetryPolicy::new("summarise").with_attempts(1);
//!     RetryState::new().next_delay(&policy, true, None, None, ErrorRef::Display(&"model overloaded"));
//! }).await;
//!
//! assert_eq!(
//!     supervisor.await.unwrap(),
//!     "`summarise` needs help after 1 attempts: model overloaded"
//! );
//! # }
//! ```
//!
//! # Adding a kind
//!
//! Every kind is one entry of the table in `events/kind.rs`: its fields
//! (borrowed and owned types), its `tracing` level and its text. The enums,
//! the conversions, the text and the `tracing` event all come from it.

use core::fmt;

mod agent;
mod bus;
mod kind;

pub(crate) use agent::with_agent_or_current;
pub use agent::{AgentName, current_agent, with_agent};
pub use bus::{Filter, Observer, Scope, Subscription, emit, observe, subscribe};
pub(crate) use bus::{current_scopes, within_scopes};
pub use kind::{EventKind, GiveUpReason, OwnedEventKind, RejectReason, TripReason};

/// A new scope and a subscription to it: what a test that reads events
/// uses, so that no other test's events reach it.
#[cfg(test)]
pub(crate) fn scoped() -> (Scope, Subscription) {
    let scope = Scope::new();
    let subscription = scope.subscribe();
    (scope, subscription)
}

/// Something a policy did to an operation; passed to [`emit`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{Event, EventKind};
///
/// let event = Event::new("ask", EventKind::Timeout { limit: Duration::from_secs(30) });
/// assert_eq!(event.to_string(), "`ask` timed out after 30s");
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Event<'a> {
    /// The operation: the decorated fn's name, a workflow's name, or
    /// `Workflow::step`. Borrowed, so a name known only at run time (a
    /// worker's workflow) costs nothing to emit.
    pub operation: &'a str,
    /// The agent the call ran for: the name `#[agent(name = ..)]` gave it
    /// (or [`with_agent`]), filled in by [`emit`] from the running task; in
    /// a workflow's compensation, the workflow's name. `None` outside any.
    pub agent: Option<&'a str>,
    /// What happened.
    pub kind: EventKind<'a>,
}

impl<'a> Event<'a> {
    /// An event of `kind` for `operation`.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{ErrorRef, Event, EventKind};
    ///
    /// let event = Event::new("ask", EventKind::Fallback { error: ErrorRef::Display(&"refused") });
    /// assert_eq!(event.operation, "ask");
    /// ```
    pub const fn new(operation: &'a str, kind: EventKind<'a>) -> Self {
        Self {
            operation,
            agent: None,
            kind,
        }
    }

    /// The event, for the agent `agent` (which [`emit`] then keeps, instead
    /// of the running task's agent).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::{Event, EventKind};
    ///
    /// let event = Event::new("ask", EventKind::Timeout { limit: Duration::from_secs(3) }).with_agent("critic");
    /// assert_eq!(event.to_string(), "critic: `ask` timed out after 3s");
    /// ```
    #[must_use]
    pub const fn with_agent(mut self, agent: &'a str) -> Self {
        self.agent = Some(agent);
        self
    }

    /// The event with its error rendered to a `String`, to keep or send.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{ErrorRef, Event, EventKind, OwnedEventKind};
    ///
    /// let owned = Event::new("ask", EventKind::Fallback { error: ErrorRef::Display(&"refused") }).into_owned();
    /// assert_eq!(owned.kind, OwnedEventKind::Fallback { error: "refused".to_owned() });
    /// ```
    pub fn into_owned(self) -> OwnedEvent {
        OwnedEvent {
            operation: self.operation.to_owned(),
            agent: self.agent.map(str::to_owned),
            kind: self.kind.to_owned_kind(),
        }
    }
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(agent) = self.agent {
            write!(f, "{agent}: ")?;
        }
        self.kind.write(self.operation, f)
    }
}

/// An [`Event`] that owns its data, as received from a [`Subscription`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{Event, EventKind, OwnedEvent};
///
/// let owned: OwnedEvent = Event::new("ask", EventKind::Timeout { limit: Duration::from_secs(2) }).into_owned();
/// assert_eq!(owned.to_string(), "`ask` timed out after 2s");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OwnedEvent {
    /// The operation; see [`Event::operation`].
    pub operation: String,
    /// The agent; see [`Event::agent`].
    pub agent: Option<String>,
    /// What happened.
    pub kind: OwnedEventKind,
}

impl OwnedEvent {
    /// Borrows this event as an [`Event`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::{Event, EventKind};
    ///
    /// let owned = Event::new("ask", EventKind::Timeout { limit: Duration::from_secs(1) }).into_owned();
    /// assert_eq!(owned.as_event().operation, "ask");
    /// ```
    pub fn as_event(&self) -> Event<'_> {
        Event {
            operation: &self.operation,
            agent: self.agent.as_deref(),
            kind: self.kind.as_kind(),
        }
    }
}

impl From<&Event<'_>> for OwnedEvent {
    fn from(event: &Event<'_>) -> Self {
        event.into_owned()
    }
}

impl fmt::Display for OwnedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_event().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::support::error_ref::ErrorRef;

    fn timeout(operation: &'static str, secs: u64) -> Event<'static> {
        Event::new(
            operation,
            EventKind::Timeout {
                limit: Duration::from_secs(secs),
            },
        )
    }

    /// Every event waiting in `sub`.
    fn drain(sub: &mut Subscription) -> Vec<OwnedEvent> {
        core::iter::from_fn(|| sub.try_recv()).collect()
    }

    #[test]
    fn observer_receives_events_and_unregisters_on_drop() {
        let scope = Scope::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let observer = scope.observe(move |event| sink.lock().unwrap().push(event.into_owned()));
        scope.run_sync(|| {
            emit(&timeout("observer", 1));
            emit(&timeout("observer", 2));
        });
        emit(&timeout("observer", 9)); // outside the scope
        drop(observer);
        scope.run_sync(|| emit(&timeout("observer", 3)));
        let limits: Vec<_> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|e| match e.kind {
                OwnedEventKind::Timeout { limit } => limit.as_secs(),
                _ => 0,
            })
            .collect();
        assert_eq!(limits, [1, 2]);
    }

    #[test]
    fn observers_may_reenter() {
        let scope = Scope::new();
        let inner = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&inner);
        let outer = scope.observe(move |event| {
            if event.operation == "reenter" {
                // Registering and emitting from a callback must not deadlock.
                *slot.lock().unwrap() = Some(observe(|_| {}));
                emit(&timeout("reentered", 1));
            }
        });
        let mut sub = scope.subscribe();
        scope.run_sync(|| emit(&timeout("reenter", 1)));
        drop(outer);
        assert!(inner.lock().unwrap().take().is_some());
        // The observer (registered first) emits its event before the
        // subscription receives the one that set it off.
        let seen: Vec<_> = drain(&mut sub).into_iter().map(|e| e.operation).collect();
        assert_eq!(seen, ["reentered", "reenter"]);
    }

    #[test]
    fn a_panicking_observer_is_caught_and_the_others_still_see_the_event() {
        let scope = Scope::new();
        let calls = Arc::new(Mutex::new(0));
        let panicky = scope.observe(|event| panic!("observer bug on {}", event.operation));
        let count = Arc::clone(&calls);
        let counting = scope.observe(move |_| *count.lock().unwrap() += 1);
        let mut sub = scope.subscribe();
        scope.run_sync(|| {
            emit(&timeout("watched", 1));
            emit(&timeout("watched", 2));
        });
        assert_eq!(*calls.lock().unwrap(), 2);
        assert_eq!(drain(&mut sub).len(), 2);
        drop((panicky, counting));
    }

    #[test]
    fn an_error_whose_display_panics_does_not_escape_emit() {
        struct Bad;
        impl fmt::Display for Bad {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                panic!("display bug")
            }
        }
        let scope = Scope::new();
        let mut sub = scope.subscribe();
        scope.run_sync(|| {
            emit(&Event::new(
                "bad_display",
                EventKind::Fallback {
                    error: ErrorRef::Display(&Bad),
                },
            ));
        });
        // The operation went on; the event could not be rendered.
        assert!(sub.try_recv().is_none());
    }

    #[tokio::test]
    async fn subscription_receives_owned_events() {
        let scope = Scope::new();
        let mut sub = scope.subscribe();
        let error = std::io::Error::other("rate limited");
        scope
            .run(async {
                emit(&Event::new(
                    "sub",
                    EventKind::Retry {
                        attempt: 2,
                        delay: Duration::from_millis(400),
                        error: ErrorRef::Display(&error),
                    },
                ));
                emit(&Event::new(
                    "sub",
                    EventKind::GaveUp {
                        attempts: 3,
                        reason: GiveUpReason::Exhausted,
                        error: ErrorRef::Debug(&42),
                    },
                ));
            })
            .await;
        let first = sub.recv().await.unwrap();
        assert_eq!(
            first.kind,
            OwnedEventKind::Retry {
                attempt: 2,
                delay: Duration::from_millis(400),
                error: "rate limited".to_owned()
            }
        );
        assert_eq!(
            first.to_string(),
            "`sub` attempt 2 failed (rate limited); retrying in 400ms"
        );
        let rest = drain(&mut sub);
        assert_eq!(rest.len(), 1);
        assert_eq!(
            rest[0].to_string(),
            "`sub` gave up after 3 attempts (attempts exhausted): 42"
        );
    }

    #[tokio::test]
    async fn recv_waits_for_an_event_from_another_task() {
        let scope = Scope::new();
        let mut sub = scope.subscribe();
        let emitter = {
            let scope = scope.clone();
            tokio::spawn(async move {
                tokio::task::yield_now().await;
                scope.run(async { emit(&timeout("later", 4)) }).await;
            })
        };
        let event = sub.recv().await.unwrap();
        assert_eq!(event.to_string(), "`later` timed out after 4s");
        emitter.await.unwrap();
    }

    #[tokio::test]
    async fn scopes_nest_and_do_not_leak_to_other_tasks() {
        let (outer, inner) = (Scope::new(), Scope::new());
        let (mut outer_sub, mut inner_sub) = (outer.subscribe(), inner.subscribe());
        outer
            .run(async {
                emit(&timeout("outer_only", 1));
                inner.run(async { emit(&timeout("both", 2)) }).await;
                // A plain spawned task is not in the scope.
                tokio::spawn(async { emit(&timeout("spawned", 3)) })
                    .await
                    .unwrap();
            })
            .await;
        let names = |sub: &mut Subscription| -> Vec<String> {
            drain(sub).into_iter().map(|e| e.operation).collect()
        };
        assert_eq!(names(&mut outer_sub), ["outer_only", "both"]);
        assert_eq!(names(&mut inner_sub), ["both"]);
    }

    #[test]
    fn a_filter_keeps_one_operation() {
        let scope = Scope::new();
        let mut asks = Filter::new().in_scope(&scope).operation("ask").subscribe();
        scope.run_sync(|| {
            emit(&timeout("plan", 1));
            emit(&timeout("ask", 2));
        });
        let seen: Vec<_> = drain(&mut asks)
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(seen, ["`ask` timed out after 2s"]);
    }

    #[test]
    fn a_full_subscription_drops_the_oldest_and_counts_them() {
        let scope = Scope::new();
        let mut sub = Filter::new().in_scope(&scope).subscribe_with_capacity(3);
        scope.run_sync(|| {
            for secs in 1..=10 {
                emit(&timeout("burst", secs));
            }
        });
        assert_eq!(sub.missed(), 7);
        assert_eq!(sub.missed(), 0);
        let kept: Vec<_> = drain(&mut sub).into_iter().map(|e| e.to_string()).collect();
        assert_eq!(
            kept,
            [
                "`burst` timed out after 8s",
                "`burst` timed out after 9s",
                "`burst` timed out after 10s"
            ]
        );
        assert_eq!(Filter::new().subscribe_with_capacity(0).capacity(), 1);
    }

    #[test]
    fn dropped_subscription_stops_receiving() {
        let scope = Scope::new();
        let mut kept = scope.subscribe();
        let dropped = scope.subscribe();
        let id = dropped.id();
        assert!(bus::is_registered(id));
        drop(dropped);
        assert!(!bus::is_registered(id));
        scope.run_sync(|| emit(&timeout("dropped", 1)));
        assert_eq!(drain(&mut kept).len(), 1);
    }

    #[tokio::test]
    async fn emit_names_the_running_agent_unless_the_event_names_one() {
        let (scope, mut sub) = scoped();
        scope
            .run(with_agent("outer", async {
                emit(&timeout("agent_a", 1));
                emit(&timeout("agent_b", 2).with_agent("explicit"));
                with_agent(AgentName::from(String::from("inner")), async {
                    emit(&timeout("agent_c", 3));
                })
                .await;
                emit(&timeout("agent_d", 4));
            }))
            .await;
        scope.run(async { emit(&timeout("agent_e", 5)) }).await;
        let agents: Vec<_> = drain(&mut sub).into_iter().map(|e| e.agent).collect();
        assert_eq!(
            agents,
            [
                Some("outer".to_owned()),
                Some("explicit".to_owned()),
                Some("inner".to_owned()),
                Some("outer".to_owned()),
                None
            ]
        );
        // Owned and back keeps the agent.
        let owned = timeout("agent_f", 6).with_agent("x").into_owned();
        assert_eq!(owned.as_event().into_owned(), owned);
        assert_eq!(owned.to_string(), "x: `agent_f` timed out after 6s");
    }

    #[test]
    fn display_of_each_kind() {
        let err = "boom";
        let cases = [
            (
                EventKind::Retry {
                    attempt: 1,
                    delay: Duration::from_millis(1500),
                    error: ErrorRef::Display(&err),
                },
                "`op` attempt 1 failed (boom); retrying in 1.5s",
            ),
            (
                EventKind::GaveUp {
                    attempts: 1,
                    reason: GiveUpReason::NotRetryable,
                    error: ErrorRef::Display(&err),
                },
                "`op` gave up after 1 attempt (error is not retryable): boom",
            ),
            (
                EventKind::Timeout {
                    limit: Duration::from_millis(250),
                },
                "`op` timed out after 250ms",
            ),
            (
                EventKind::Fallback {
                    error: ErrorRef::Opaque("my::Error"),
                },
                "`op` failed (an error of type `my::Error`); using the fallback",
            ),
            (
                EventKind::Compensated { step: "op" },
                "`op` undone by its compensation",
            ),
            (
                EventKind::CompensationFailed {
                    step: "op",
                    error: ErrorRef::Display(&"503"),
                },
                "`op` could not be undone: 503",
            ),
            (
                EventKind::Checkpointed {
                    id: "order-7",
                    position: 1,
                },
                "`op` id `order-7` checkpointed after 1 step",
            ),
            (
                EventKind::Checkpointed {
                    id: "order-7",
                    position: 2,
                },
                "`op` id `order-7` checkpointed after 2 steps",
            ),
        ];
        let coordination = [
            (
                EventKind::TaskFailed {
                    task: 3,
                    agent: "a1",
                    error: ErrorRef::Display(&err),
                },
                "`op` task 3 failed on `a1` (boom)",
            ),
            (
                EventKind::FellBack {
                    task: 3,
                    agent: "b1",
                },
                "`op` task 3 goes to fallback `b1`",
            ),
            (
                EventKind::FanOutAbandoned {
                    failed: 1,
                    skipped: 2,
                },
                "`op` cannot reach its minimum success rate after 1 failed task; 2 tasks not started",
            ),
            (
                EventKind::BelowMinimum {
                    succeeded: 3,
                    tasks: 10,
                },
                "`op` only 3 of 10 tasks succeeded, below the minimum success rate",
            ),
            (EventKind::Voted { agent: "a1" }, "`op` `a1` voted"),
            (
                EventKind::NoVote {
                    agent: "a2",
                    error: ErrorRef::Display(&err),
                },
                "`op` `a2` has no vote (boom)",
            ),
            (
                EventKind::TooFewResponses {
                    answers: 1,
                    agents: 5,
                },
                "`op` only 1 of 5 agents answered",
            ),
            (
                EventKind::Agreed {
                    votes: 3,
                    answers: 4,
                },
                "`op` agreed: 3 of 4 answers",
            ),
            (
                EventKind::NoConsensus {
                    largest: 2,
                    answers: 4,
                },
                "`op` has no consensus: the largest group has 2 of 4 answers",
            ),
            (
                EventKind::Arbitrated { answers: 4 },
                "`op` decided by the arbiter over 4 answers",
            ),
            (
                EventKind::FailedOver {
                    from: "p",
                    to: "b",
                    reason: ErrorRef::Display(&err),
                },
                "`op` failed over from `p` to `b` (boom)",
            ),
            (
                EventKind::FailedBack { from: "b", to: "p" },
                "`op` failed back from `b` to `p`, which is healthy again",
            ),
            (
                EventKind::Escalated {
                    from: 1,
                    to: 2,
                    reason: ErrorRef::Display(&err),
                },
                "`op` tier 1 failed (boom); escalating to tier 2",
            ),
            (
                EventKind::NeedsHelp {
                    failures: 3,
                    error: ErrorRef::Display(&err),
                },
                "`op` needs help: 3 calls in a row failed, the last with: boom",
            ),
            (
                EventKind::NeedsHelp {
                    failures: 1,
                    error: ErrorRef::Display(&err),
                },
                "`op` needs help: 1 call in a row failed, the last with: boom",
            ),
            (
                EventKind::Abandoned {},
                "`op` not run: the supervisor gave up on this agent",
            ),
        ];
        for (kind, want) in cases.into_iter().chain(coordination) {
            let event = Event::new("op", kind);
            assert_eq!(event.to_string(), want);
            let owned = event.into_owned();
            assert_eq!(owned.to_string(), want);
            // Owned and back: the same kind, field by field.
            assert_eq!(owned.as_event().into_owned(), owned);
        }
    }

    /// Records the level and fields of the `tracing` events it sees.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(tracing::Level, String)>>);

    struct Fields(String);

    impl tracing::field::Visit for Fields {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
            if field.name() != "message" {
                self.0 += &format!("{}={value:?} ", field.name());
            }
        }
    }

    impl tracing::Subscriber for &'static Recorder {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            let line = format!("{} {}", event.metadata().target(), fields.0.trim_end());
            self.0
                .lock()
                .unwrap()
                .push((*event.metadata().level(), line));
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    #[test]
    fn tracing_events_carry_structured_fields() {
        let recorder: &'static Recorder = Box::leak(Box::default());
        let err = "boom";
        tracing::subscriber::with_default(recorder, || {
            let kinds = [
                EventKind::Retry {
                    attempt: 1,
                    delay: Duration::from_millis(100),
                    error: ErrorRef::Display(&err),
                },
                EventKind::GaveUp {
                    attempts: 3,
                    reason: GiveUpReason::MaxElapsed,
                    error: ErrorRef::Display(&err),
                },
                EventKind::Timeout {
                    limit: Duration::from_secs(30),
                },
                EventKind::Fallback {
                    error: ErrorRef::Display(&err),
                },
                EventKind::Compensated { step: "traced" },
                EventKind::CompensationFailed {
                    step: "traced",
                    error: ErrorRef::Display(&err),
                },
                EventKind::Checkpointed {
                    id: "run-1",
                    position: 3,
                },
            ];
            // Other test threads register the same callsites concurrently,
            // and `tracing` may cache one as uninteresting to this scoped
            // subscriber if both race. So: register them all here, let any
            // registration in flight finish, recompute every interest, then
            // record.
            for kind in kinds {
                emit(&Event::new("traced", kind));
            }
            let help = EventKind::NeedsHelp {
                failures: 3,
                error: ErrorRef::Display(&err),
            };
            emit(&Event::new("traced", help).with_agent("critic"));
            std::thread::sleep(Duration::from_millis(10));
            tracing::callsite::rebuild_interest_cache();
            recorder.0.lock().unwrap().clear();
            for kind in kinds {
                emit(&Event::new("traced", kind));
            }
            let help = EventKind::NeedsHelp {
                failures: 3,
                error: ErrorRef::Display(&err),
            };
            emit(&Event::new("traced", help).with_agent("critic"));
        });
        use tracing::Level;
        assert_eq!(
            *recorder.0.lock().unwrap(),
            [
                (
                    Level::WARN,
                    "resilience operation=\"traced\" attempt=1 delay=100ms error=boom".into()
                ),
                (
                    Level::ERROR,
                    "resilience operation=\"traced\" attempts=3 reason=max elapsed time reached error=boom"
                        .into()
                ),
                (
                    Level::WARN,
                    "resilience operation=\"traced\" limit=30s".into()
                ),
                (
                    Level::WARN,
                    "resilience operation=\"traced\" error=boom".into()
                ),
                (
                    Level::WARN,
                    "resilience operation=\"traced\" step=\"traced\"".into()
                ),
                (
                    Level::ERROR,
                    "resilience operation=\"traced\" step=\"traced\" error=boom".into()
                ),
                (
                    Level::DEBUG,
                    "resilience operation=\"traced\" id=\"run-1\" position=3".into()
                ),
                (
                    Level::ERROR,
                    "resilience operation=\"traced\" agent=\"critic\" failures=3 error=boom".into()
                ),
            ]
        );
    }
}
