//! Coordinator failover: a primary coordinator and its backups, shared by
//! many tasks; an unhealthy or failing coordinator is replaced by the next
//! one (the guide's `ResilientCoordination`).
//!
//! Before a call, the current coordinator's health is probed (an async
//! check under a time limit) unless a probe of it ended less than an
//! interval ago. Unhealthy, or the call failed or panicked: the next
//! coordinator becomes current and the failed one goes to the back of the
//! order, so it comes round again. Each call tries each coordinator at most
//! once (up to `1 + backups` attempts), then returns a
//! [`FailoverError`] with every coordinator's failure.
//!
//! # Defaults
//!
//! | setting | default (the guide's) | builder |
//! |---|---|---|
//! | name of events and errors | `"coordinate"` | [`FailoverConfig::with_name`] |
//! | probe time limit | 5 s | [`FailoverConfig::with_probe_timeout`] |
//! | probe result reused for | 30 s | [`FailoverConfig::with_probe_interval`] |
//! | fail back to the primary | off | [`FailoverConfig::with_fail_back`] |
//!
//! # From the guide
//!
//! The guide's Python:
//!
//! ```python
//! coordination = ResilientCoordination(primary, [backup_1, backup_2])
//! result = await coordination.coordinate(task, agents)
//! # which, per attempt, runs: is_coordinator_healthy() (health_check() under
//! # wait_for(timeout=5.0)), failover() when unhealthy or on an exception,
//! # then current_coordinator.coordinate_task(task, agents)
//! ```
//!
//! The same in Rust: the probe and the call are the user's own async
//! calls, which may carry `#[retry]` or `#[timeout]` themselves.
//!
//! ```
//! use resilience_runtime::{Failover, FailoverConfig};
//!
//! struct Coordinator { up: bool }
//! impl Coordinator {
//!     async fn health_check(&self) -> bool { self.up }
//!     async fn coordinate_task(&self, task: &str, agents: &[&str]) -> Result<String, String> {
//!         Ok(format!("{task} split across {}", agents.join(" and ")))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let coordination = Failover::new(
//!     FailoverConfig::new(), // 5 s probes, reused for 30 s
//!     ("primary", Coordinator { up: false }),
//!     [("backup-1", Coordinator { up: true }), ("backup-2", Coordinator { up: true })],
//! )?;
//!
//! let (task, agents) = ("summarise", ["reader", "writer"]);
//! let plan = coordination
//!     .run(|c| c.health_check(), |c| c.coordinate_task(task, &agents))
//!     .await?;
//! assert_eq!(plan, "summarise split across reader and writer");
//! assert_eq!(coordination.current().name(), "backup-1");
//! # Ok(())
//! # }
//! ```
//!
//! # What differs from the guide
//!
//! - A probe that answers `false` is unhealthy (the guide counts only an
//!   exception or a timeout).
//! - Cancelling the caller (dropping the future) cancels the probe or call
//!   in flight at once, and fails nothing over (the guide's bare `except:`
//!   turns a cancellation into a failover).
//! - Many tasks share one [`Failover`] (`&self`, `Send + Sync`). When they
//!   see the same coordinator fail at once, it fails over once, not once
//!   per task: each call remembers which order it saw, and only the first
//!   to report the failure rotates it.
//! - At most one probe of a coordinator runs at a time; the tasks waiting
//!   for it reuse its result. A result is reused for the probe interval (the
//!   guide sets `health_check_interval` and never reads it). A failed call
//!   forgets its coordinator's result, so it is probed again before its
//!   next call.
//! - A panicking probe or call is that coordinator's failure, not the
//!   caller's crash.
//! - Each failover is an event ([`EventKind::FailedOver`], from, to, why);
//!   a call that runs out of coordinators emits [`EventKind::GaveUp`].
//! - Opt-in fail-back: the primary becomes current again once it is
//!   healthy ([`EventKind::FailedBack`]).
//!
//! [`EventKind::FailedOver`]: crate::EventKind::FailedOver
//! [`EventKind::FailedBack`]: crate::EventKind::FailedBack
//! [`EventKind::GaveUp`]: crate::EventKind::GaveUp

use core::fmt;
use core::future::Future;

use crate::coordination::Named;
use crate::events::{Event, EventKind, GiveUpReason, emit};
use crate::support::error_ref::ErrorRef;
use crate::support::panic::CatchPanic;

mod config;
mod error;
mod state;

pub use config::FailoverConfig;
pub(crate) use error::write_list;
pub use error::{
    CoordinatorFailure, FailoverConfigError, FailoverError, FailoverReason, Unhealthy,
};
use state::{Health, State, Ticket};

/// A primary coordinator and its backups, shared by many tasks: each call
/// goes to the current one, and an unhealthy or failing one is replaced by
/// the next. See the [module docs](self) for the rules and the guide's
/// code side by side.
///
/// `Failover<A>` is `Send + Sync` when `A` is: put it in an `Arc` (or a
/// `static`) and call [`run`](Self::run) from as many tasks as you like.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use resilience_runtime::{Failover, FailoverConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let shared = Arc::new(Failover::new(FailoverConfig::new(), ("primary", 1), [("backup", 2)])?);
/// let worker = Arc::clone(&shared);
/// let answer = tokio::spawn(async move {
///     worker.run(|_| async { true }, |n| async move { Ok::<_, String>(**n * 10) }).await
/// });
/// assert_eq!(answer.await??, 10);
/// # Ok(())
/// # }
/// ```
pub struct Failover<A> {
    config: FailoverConfig,
    coordinators: Box<[Named<A>]>,
    state: State,
}

impl<A> Failover<A> {
    /// A failover from `primary` to `backups`, in order. Coordinators are
    /// [`Named`] agents, or `(name, agent)` pairs.
    ///
    /// # Errors
    ///
    /// [`FailoverConfigError::ZeroProbeTimeout`] if `config`'s probe time
    /// limit is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Failover, FailoverConfig, coordination::Named};
    ///
    /// let failover: Failover<&str> =
    ///     Failover::new(FailoverConfig::new(), ("primary", "gpt"), [Named::new("backup", "claude")])?;
    /// assert_eq!(failover.coordinators().len(), 2);
    /// # Ok::<(), resilience_runtime::FailoverConfigError>(())
    /// ```
    pub fn new<B: Into<Named<A>>>(
        config: FailoverConfig,
        primary: impl Into<Named<A>>,
        backups: impl IntoIterator<Item = B>,
    ) -> Result<Self, FailoverConfigError> {
        let coordinators =
            core::iter::once(primary.into()).chain(backups.into_iter().map(Into::into));
        Self::from_coordinators(config, coordinators)
    }

    /// A failover over `coordinators`: the first is the primary, the rest
    /// are its backups in order. For a list built at run time.
    ///
    /// # Errors
    ///
    /// [`FailoverConfigError::NoCoordinators`] if the list is empty,
    /// [`FailoverConfigError::ZeroProbeTimeout`] if `config`'s probe time
    /// limit is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Failover, FailoverConfig, FailoverConfigError};
    ///
    /// let names = ["eu", "us", "ap"];
    /// let failover = Failover::from_coordinators(FailoverConfig::new(), names.map(|n| (n, ())))?;
    /// assert_eq!(failover.order(), ["eu", "us", "ap"]);
    ///
    /// let none = Failover::<()>::from_coordinators(FailoverConfig::new(), Vec::<(&str, ())>::new());
    /// assert_eq!(none.err(), Some(FailoverConfigError::NoCoordinators));
    /// # Ok::<(), FailoverConfigError>(())
    /// ```
    pub fn from_coordinators<B: Into<Named<A>>>(
        config: FailoverConfig,
        coordinators: impl IntoIterator<Item = B>,
    ) -> Result<Self, FailoverConfigError> {
        config.validate()?;
        let coordinators: Box<[Named<A>]> = coordinators.into_iter().map(Into::into).collect();
        if coordinators.is_empty() {
            return Err(FailoverConfigError::NoCoordinators);
        }
        Ok(Self {
            config,
            state: State::new(coordinators.len()),
            coordinators,
        })
    }

    /// The configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Failover, FailoverConfig};
    ///
    /// let failover = Failover::new(FailoverConfig::new().with_name("plan"), ("p", ()), [("b", ())])?;
    /// assert_eq!(failover.config().name(), "plan");
    /// # Ok::<(), resilience_runtime::FailoverConfigError>(())
    /// ```
    pub const fn config(&self) -> &FailoverConfig {
        &self.config
    }

    /// Every coordinator, the primary first, in the order they were given.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Failover, FailoverConfig};
    ///
    /// let failover = Failover::new(FailoverConfig::new(), ("p", 1), [("b", 2)])?;
    /// assert_eq!(failover.coordinators()[1].name(), "b");
    /// # Ok::<(), resilience_runtime::FailoverConfigError>(())
    /// ```
    pub fn coordinators(&self) -> &[Named<A>] {
        &self.coordinators
    }

    /// The coordinator that the next call goes to first.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Failover, FailoverConfig};
    ///
    /// let failover = Failover::new(FailoverConfig::new(), ("primary", 1), [("backup", 2)])?;
    /// assert_eq!(failover.current().name(), "primary");
    /// # Ok::<(), resilience_runtime::FailoverConfigError>(())
    /// ```
    pub fn current(&self) -> &Named<A> {
        &self.coordinators[self.state.current()]
    }

    /// The coordinators' names in their current order: the current one
    /// first, the one that failed last at the back.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Failover, FailoverConfig};
    ///
    /// let failover = Failover::new(FailoverConfig::new(), ("primary", 1), [("backup", 2)])?;
    /// assert_eq!(failover.order(), ["primary", "backup"]);
    /// # Ok::<(), resilience_runtime::FailoverConfigError>(())
    /// ```
    pub fn order(&self) -> Vec<&str> {
        self.state
            .order()
            .into_iter()
            .map(|i| self.coordinators[i].name())
            .collect()
    }

    /// How many times the current coordinator changed (failovers and
    /// fail-backs) since this failover was made.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Failover, FailoverConfig};
    ///
    /// let failover = Failover::new(FailoverConfig::new(), ("primary", 1), [("backup", 2)])?;
    /// assert_eq!(failover.switches(), 0);
    /// # Ok::<(), resilience_runtime::FailoverConfigError>(())
    /// ```
    pub fn switches(&self) -> u64 {
        self.state.generation()
    }

    /// Runs `call` on the current coordinator, after `probe` says it is
    /// healthy (or a probe of it said so less than the probe interval ago);
    /// on an unhealthy coordinator, or a call that fails or panics, fails
    /// over to the next one and tries again, each coordinator at most once.
    ///
    /// `probe` answers `true` for healthy; it runs under the configured
    /// time limit. Both closures get the coordinator as `&Named<A>` (which
    /// derefs to `A`) and may borrow from it. Nothing is spawned: dropping
    /// the returned future cancels the probe or call in flight, and fails
    /// nothing over.
    ///
    /// # Errors
    ///
    /// [`FailoverError::AllFailed`] when no coordinator served the call,
    /// with each one's failure in the order they were tried.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Failover, FailoverConfig, FailoverReason, Unhealthy};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let failover = Failover::new(FailoverConfig::new(), ("primary", false), [("backup", true)]).unwrap();
    /// let healthy = |up: &bool| core::future::ready(*up);
    ///
    /// let answer = failover.run(|c| healthy(c), |c| async move { Ok::<_, String>(c.name().to_owned()) }).await;
    /// assert_eq!(answer.unwrap(), "backup");
    ///
    /// let err = failover.run(|c| healthy(c), |_| async { Err::<(), _>("overloaded") }).await.unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "`coordinate`: all 2 coordinators failed: backup (failed: overloaded), primary (unhealthy: probe returned false)"
    /// );
    /// assert!(matches!(err.failures()[1].reason(), FailoverReason::Unhealthy(Unhealthy::ProbeFalse)));
    /// # }
    /// ```
    pub async fn run<'s, T, E, P, PF, F, Fut>(
        &'s self,
        mut probe: P,
        mut call: F,
    ) -> Result<T, FailoverError<E>>
    where
        P: FnMut(&'s Named<A>) -> PF,
        PF: Future<Output = bool>,
        F: FnMut(&'s Named<A>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: fmt::Display,
    {
        if self.config.fail_back() {
            self.try_fail_back(&mut probe).await;
        }
        let mut tried = Tried::default();
        let mut failures = Vec::new();
        while let Some(ticket) = self.state.pick(&tried) {
            tried.add(ticket.index);
            let coordinator = &self.coordinators[ticket.index];
            let reason = match self.health(ticket.index, &mut probe).await {
                Err(unhealthy) => FailoverReason::Unhealthy(unhealthy),
                Ok(()) => {
                    let reason = match CatchPanic::new(async { call(coordinator).await }).await {
                        Ok(Ok(value)) => return Ok(value),
                        Ok(Err(error)) => FailoverReason::Failed(error),
                        Err(panic) => FailoverReason::Panicked(panic),
                    };
                    self.state.forget(ticket.index);
                    reason
                }
            };
            self.fail_over(ticket, &reason);
            failures.push(CoordinatorFailure::new(coordinator.name(), reason));
        }
        emit(&Event::new(
            self.config.name(),
            EventKind::GaveUp {
                attempts: u32::try_from(failures.len()).unwrap_or(u32::MAX),
                reason: GiveUpReason::Exhausted,
                error: ErrorRef::Display(&List(&failures)),
            },
        ));
        Err(FailoverError::AllFailed {
            operation: self.config.name(),
            failures,
        })
    }

    /// What is known of the coordinator's health, or a probe's answer.
    async fn health<'s, P, PF>(&'s self, index: usize, probe: &mut P) -> Health
    where
        P: FnMut(&'s Named<A>) -> PF,
        PF: Future<Output = bool>,
    {
        let interval = self.config.probe_interval();
        if let Some(health) = self.state.known_health(index, interval) {
            return health;
        }
        let limit = self.config.probe_timeout();
        // One probe at a time per coordinator; the others wait for its
        // result, but no longer than a probe may take: the task holding
        // the gate may not be polled (a `select!` that keeps its future),
        // and then this one probes by itself.
        let _gate = tokio::time::timeout(limit, self.state.gate(index).lock())
            .await
            .ok();
        // Another task may have probed while this one waited.
        if let Some(health) = self.state.known_health(index, interval) {
            return health;
        }
        let coordinator = &self.coordinators[index];
        let mark = self.state.probe_mark(index);
        let probed =
            tokio::time::timeout(limit, CatchPanic::new(async { probe(coordinator).await }));
        let health = match probed.await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(Unhealthy::ProbeFalse),
            Ok(Err(panic)) => Err(Unhealthy::ProbePanicked(panic)),
            Err(_) => Err(Unhealthy::ProbeTimedOut(limit)),
        };
        self.state.record(index, health.clone(), mark);
        health
    }

    /// Rotates the failed coordinator to the back, if no other task did,
    /// and reports it.
    fn fail_over<E: fmt::Display>(&self, ticket: Ticket, reason: &FailoverReason<E>) {
        let Some(to) = self.state.rotate(ticket, self.config.probe_interval()) else {
            return;
        };
        emit(&Event::new(
            self.config.name(),
            EventKind::FailedOver {
                from: self.coordinators[ticket.index].name(),
                to: self.coordinators[to].name(),
                reason: ErrorRef::Display(reason),
            },
        ));
    }

    /// With fail-back on and a backup current: probes the primary (at most
    /// once per interval) and makes it current again if it is healthy.
    async fn try_fail_back<'s, P, PF>(&'s self, probe: &mut P)
    where
        P: FnMut(&'s Named<A>) -> PF,
        PF: Future<Output = bool>,
    {
        let Some(generation) = self.state.claim_fail_back(self.config.probe_interval()) else {
            return;
        };
        if self.health(0, probe).await.is_err() {
            return;
        }
        if let Some(from) = self.state.fail_back(generation) {
            emit(&Event::new(
                self.config.name(),
                EventKind::FailedBack {
                    from: self.coordinators[from].name(),
                    to: self.coordinators[0].name(),
                },
            ));
        }
    }
}

impl<A> fmt::Debug for Failover<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failover")
            .field("config", &self.config)
            .field("order", &self.order())
            .field("switches", &self.switches())
            .finish_non_exhaustive()
    }
}

/// The coordinators one call has tried: a bit set for the first 64, a list
/// beyond (no allocation for a usual failover).
#[derive(Default)]
struct Tried {
    low: u64,
    high: Vec<usize>,
}

impl Tried {
    fn add(&mut self, index: usize) {
        match u32::try_from(index) {
            Ok(bit) if bit < 64 => self.low |= 1 << bit,
            _ => self.high.push(index),
        }
    }

    fn contains(&self, index: usize) -> bool {
        match u32::try_from(index) {
            Ok(bit) if bit < 64 => self.low & (1 << bit) != 0,
            _ => self.high.contains(&index),
        }
    }
}

/// A list of failures, shown separated by commas.
struct List<'a, T>(&'a [T]);

impl<T: fmt::Display> fmt::Display for List<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, self.0)
    }
}
