//! Progressive retry: ordered tiers, each with more resources than the one
//! before (more agents, a longer time limit, a bigger model); a failed tier
//! is cleaned up and the next one runs (the guide's
//! `execute_with_progressive_retry`).
//!
//! The tiers are the user's own type; it says its time limit through
//! [`Tier`]. Each tier runs under its own limit. After a failed tier its
//! cleanup runs, exactly once, with what the tier created (nothing if
//! creating its agents failed). A `when` predicate decides which errors
//! escalate: a content-policy refusal should not buy a bigger model. When
//! no tier succeeds the [`EscalationError`] carries every tier's failure.
//!
//! # Defaults
//!
//! | setting | default | builder |
//! |---|---|---|
//! | name of events and errors | `"escalate"` | [`Escalation::with_name`] |
//! | errors that escalate | all | [`Escalation::when`] |
//! | time limit | each tier's own ([`Tier::time_limit`]) | — |
//!
//! # From the guide
//!
//! The guide's Python:
//!
//! ```python
//! strategies = [
//!     {"agents": 1, "timeout": 30, "model": "small"},
//!     {"agents": 3, "timeout": 60, "model": "medium"},
//!     {"agents": 5, "timeout": 120, "model": "large"},
//! ]
//! for i, strategy in enumerate(strategies):
//!     try:
//!         agents = await self.create_agents(count=strategy["agents"], model=strategy["model"])
//!         return await asyncio.wait_for(self.execute_with_agents(task, agents), timeout=strategy["timeout"])
//!     except Exception as e:
//!         last_error = e
//!         await self.cleanup_agents(agents)
//! raise WorkflowError(f"All strategies failed. Last error: {last_error}")
//! ```
//!
//! The same in Rust:
//!
//! ```
//! use std::time::Duration;
//! use resilience_runtime::{Escalation, Tier};
//!
//! struct Strategy { agents: usize, timeout: Duration, model: &'static str }
//! impl Tier for Strategy {
//!     fn time_limit(&self) -> Duration { self.timeout }
//! }
//! const STRATEGIES: [Strategy; 3] = [
//!     Strategy { agents: 1, timeout: Duration::from_secs(30), model: "small" },
//!     Strategy { agents: 3, timeout: Duration::from_secs(60), model: "medium" },
//!     Strategy { agents: 5, timeout: Duration::from_secs(120), model: "large" },
//! ];
//!
//! # #[derive(Clone)]
//! # struct Agent(&'static str);
//! # async fn create_agents(count: usize, model: &'static str) -> Result<Vec<Agent>, String> {
//! #     Ok((0..count).map(|_| Agent(model)).collect())
//! # }
//! # async fn execute_with_agents(task: &str, agents: &[Agent]) -> Result<String, String> {
//! #     if agents.len() < 3 { Err("not enough agents".into()) } else { Ok(format!("{task} by {} {}", agents.len(), agents[0].0)) }
//! # }
//! # async fn cleanup_agents(agents: Vec<Agent>) { drop(agents) }
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let task = "summarise the report";
//! let answer = Escalation::new(&STRATEGIES)
//!     .run_with(
//!         |s| create_agents(s.agents, s.model),
//!         |_, agents| async move { execute_with_agents(task, &agents).await },
//!         |_, agents| async move { if let Some(agents) = agents { cleanup_agents(agents).await } },
//!     )
//!     .await?;
//! assert_eq!(answer, "summarise the report by 3 medium");
//! # Ok(())
//! # }
//! ```
//!
//! With nothing to create or clean up, [`escalate`] is one call; it is also
//! what an attribute on an async fn that receives its tier expands to:
//!
//! ```
//! # use std::time::Duration;
//! use resilience_runtime::escalate;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! const LIMITS: [Duration; 2] = [Duration::from_secs(30), Duration::from_secs(60)];
//! let answer = escalate(&LIMITS, |limit| async move {
//!     if *limit < Duration::from_secs(60) { Err("too hard") } else { Ok("done") }
//! })
//! .await;
//! assert_eq!(answer, Ok("done"));
//! # }
//! ```
//!
//! # What differs from the guide
//!
//! - A tier that runs out of time says which tier, after how long
//!   (`tier 1 (timed out after 30s)`); the guide's message is empty.
//! - The cleanup runs exactly once per failed tier, with what that tier
//!   created: `None` when creating its agents failed (the guide raises
//!   `NameError` on the first tier, and cleans up the previous tier's agents
//!   a second time on a later one).
//! - The time limit covers creating the agents as well as the call.
//! - `when` decides which errors escalate; a time-out or a panic always
//!   does.
//! - A panic while creating agents or in the call is that tier's failure;
//!   a panicking cleanup is reported and the next tier still runs.
//! - Each escalation is an event ([`EventKind::Escalated`], from tier, to
//!   tier, why); giving up emits [`EventKind::GaveUp`].
//! - Dropping the returned future cancels the tier in flight; its cleanup
//!   does not run (nothing is spawned).
//!
//! [`EventKind::Escalated`]: crate::EventKind::Escalated
//! [`EventKind::GaveUp`]: crate::EventKind::GaveUp

use core::fmt;
use core::future::Future;
use core::time::Duration;

use crate::coordination::Named;
use crate::events::{Event, EventKind, GiveUpReason, emit};
use crate::support::error_ref::ErrorRef;
use crate::support::panic::CatchPanic;

mod error;

pub use error::{EscalationConfigError, EscalationError, TierError, TierFailure};

/// A tier of a progressive retry: the user's own type (agent count, model,
/// …), which says how long the tier may take.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::Tier;
///
/// struct Strategy { agents: usize, model: &'static str, timeout: Duration }
/// impl Tier for Strategy {
///     fn time_limit(&self) -> Duration { self.timeout }
/// }
/// assert_eq!(Duration::from_secs(5).time_limit(), Duration::from_secs(5)); // a bare limit is a tier too
/// ```
pub trait Tier {
    /// How long this tier may take, creating its agents included.
    fn time_limit(&self) -> Duration;
}

impl Tier for Duration {
    fn time_limit(&self) -> Duration {
        *self
    }
}

impl<T: Tier + ?Sized> Tier for &T {
    fn time_limit(&self) -> Duration {
        (**self).time_limit()
    }
}

impl<T: Tier> Tier for Named<T> {
    fn time_limit(&self) -> Duration {
        self.agent().time_limit()
    }
}

/// Which errors escalate to the next tier; see [`Escalation::when`].
/// Implemented by [`EscalateAll`] and by every `Fn(&E) -> bool`.
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::escalate::{EscalateAll, When};
///
/// assert!(When::<&str>::escalates(&EscalateAll, &"anything"));
/// let not_refusals = |e: &&str| *e != "refused";
/// assert!(!not_refusals.escalates(&"refused"));
/// ```
pub trait When<E> {
    /// Whether `error` sends the work to the next tier.
    fn escalates(&self, error: &E) -> bool;
}

/// Every error escalates: the default of an [`Escalation`].
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::escalate::{EscalateAll, When};
///
/// assert!(EscalateAll.escalates(&42));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EscalateAll;

impl<E> When<E> for EscalateAll {
    fn escalates(&self, _: &E) -> bool {
        true
    }
}

impl<E, F: Fn(&E) -> bool> When<E> for F {
    fn escalates(&self, error: &E) -> bool {
        self(error)
    }
}

/// A progressive retry over `tiers`, in order: a builder, then
/// [`run`](Self::run) or [`run_with`](Self::run_with). See the
/// [module docs](self) for the rules and the guide's code side by side.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{Escalation, EscalationError};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// const LIMITS: [Duration; 3] = [Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4)];
/// let result = Escalation::new(&LIMITS)
///     .with_name("answer")
///     .when(|e: &&str| *e != "content policy")
///     .run(|_| async { Err::<(), _>("content policy") })
///     .await;
/// let err = result.unwrap_err();
/// assert!(matches!(err, EscalationError::NotEscalated { .. }));
/// assert_eq!(err.failures().len(), 1); // no bigger model bought for a refusal
/// # }
/// ```
#[derive(Clone, Copy)]
#[must_use = "an Escalation does nothing until `run` or `run_with` is awaited"]
pub struct Escalation<'t, T, W = EscalateAll> {
    name: &'static str,
    tiers: &'t [T],
    when: W,
}

impl<'t, T> Escalation<'t, T> {
    /// A progressive retry over `tiers`, named `"escalate"`, where every
    /// error escalates.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Escalation;
    ///
    /// const LIMITS: [Duration; 2] = [Duration::from_secs(30), Duration::from_secs(60)];
    /// const RETRY: Escalation<'static, Duration> = Escalation::new(&LIMITS);
    /// assert_eq!(RETRY.tiers().len(), 2);
    /// ```
    pub const fn new(tiers: &'t [T]) -> Self {
        Self {
            name: "escalate",
            tiers,
            when: EscalateAll,
        }
    }
}

impl<'t, T, W> Escalation<'t, T, W> {
    /// The name of events and errors (the events' `operation`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Escalation;
    ///
    /// const LIMITS: [Duration; 1] = [Duration::from_secs(1)];
    /// let retry = Escalation::new(&LIMITS).with_name("solve");
    /// assert_eq!(retry.name(), "solve");
    /// ```
    pub const fn with_name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Only errors for which `when` returns `true` escalate to the next
    /// tier; another error ends the retry with
    /// [`EscalationError::NotEscalated`]. A time-out or a panic always
    /// escalates.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Escalation;
    ///
    /// #[derive(Debug)]
    /// enum AgentError { ContentPolicy, Wrong }
    /// const LIMITS: [Duration; 1] = [Duration::from_secs(1)];
    /// let retry = Escalation::new(&LIMITS)
    ///     .when(|e: &AgentError| !matches!(e, AgentError::ContentPolicy));
    /// # let _ = retry;
    /// ```
    pub fn when<W2>(self, when: W2) -> Escalation<'t, T, W2> {
        Escalation {
            name: self.name,
            tiers: self.tiers,
            when,
        }
    }

    /// The name of events and errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Escalation;
    ///
    /// assert_eq!(Escalation::new(&[Duration::from_secs(1)]).name(), "escalate");
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The tiers, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Escalation;
    ///
    /// assert_eq!(Escalation::new(&[Duration::from_secs(1)]).tiers(), [Duration::from_secs(1)]);
    /// ```
    pub const fn tiers(&self) -> &'t [T] {
        self.tiers
    }
}

impl<'t, T: Tier, W> Escalation<'t, T, W> {
    /// Checks that the tiers can work.
    ///
    /// # Errors
    ///
    /// [`EscalationConfigError::NoTiers`] for an empty list,
    /// [`EscalationConfigError::ZeroTimeLimit`] for a tier whose time limit
    /// is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::{Escalation, EscalationConfigError};
    ///
    /// let empty: [Duration; 0] = [];
    /// assert_eq!(Escalation::new(&empty).validate(), Err(EscalationConfigError::NoTiers));
    /// let zero = [Duration::from_secs(1), Duration::ZERO];
    /// assert_eq!(Escalation::new(&zero).validate(), Err(EscalationConfigError::ZeroTimeLimit { tier: 2 }));
    /// ```
    pub fn validate(&self) -> Result<(), EscalationConfigError> {
        if self.tiers.is_empty() {
            return Err(EscalationConfigError::NoTiers);
        }
        match self.tiers.iter().position(|t| t.time_limit().is_zero()) {
            Some(i) => Err(EscalationConfigError::ZeroTimeLimit { tier: number(i) }),
            None => Ok(()),
        }
    }

    /// Runs `call` with each tier in turn, each under its time limit, until
    /// one succeeds or an error does not escalate. For tiers that create
    /// agents to clean up afterwards, see [`run_with`](Self::run_with).
    ///
    /// # Errors
    ///
    /// [`EscalationError::Exhausted`] when every tier failed,
    /// [`EscalationError::NotEscalated`] when an error did not escalate,
    /// [`EscalationError::Config`] when the tiers cannot work (see
    /// [`validate`](Self::validate)); the first two carry each tier's
    /// failure.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Escalation;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// const LIMITS: [Duration; 2] = [Duration::from_secs(30), Duration::from_secs(60)];
    /// let err = Escalation::new(&LIMITS)
    ///     .run(|limit| async move {
    ///         tokio::time::sleep(*limit * 2).await; // too slow for every tier
    ///         Ok::<(), String>(())
    ///     })
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "`escalate`: all 2 tiers failed: tier 1 (timed out after 30s), tier 2 (timed out after 1m)"
    /// );
    /// # }
    /// ```
    pub async fn run<O, E, F, Fut>(self, mut call: F) -> Result<O, EscalationError<E>>
    where
        F: FnMut(&'t T) -> Fut,
        Fut: Future<Output = Result<O, E>>,
        W: When<E>,
        E: fmt::Display,
    {
        self.run_with(
            |_| core::future::ready(Ok(())),
            |tier, ()| call(tier),
            |_, _| core::future::ready(()),
        )
        .await
    }

    /// Runs each tier in turn, each under its time limit (which covers
    /// both steps): `create` makes the tier's agents, then `call` does the
    /// work with a clone of them (agents are usually handles, cheap to
    /// clone; the clone keeps the call's future free of borrows, so it can
    /// run on a spawned task). After a failed tier, `cleanup` gets the tier
    /// and what it created, `Some(agents)`, or `None` when `create` failed,
    /// panicked or ran out of time; it runs exactly once per failed tier,
    /// outside the time limit. After a success the agents are dropped.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use std::time::Duration;
    /// use resilience_runtime::Escalation;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// const LIMITS: [Duration; 2] = [Duration::from_secs(30), Duration::from_secs(60)];
    /// let cleaned = Mutex::new(Vec::new());
    /// let answer = Escalation::new(&LIMITS)
    ///     .run_with(
    ///         |limit| async move { Ok::<_, String>(vec!["agent"; limit.as_secs() as usize / 30]) },
    ///         |_, agents| async move { if agents.len() > 1 { Ok(agents.len()) } else { Err("too few".to_owned()) } },
    ///         |_, agents| { cleaned.lock().unwrap().push(agents.map_or(0, |a| a.len())); async {} },
    ///     )
    ///     .await;
    /// assert_eq!(answer, Ok(2));
    /// assert_eq!(*cleaned.lock().unwrap(), [1]); // the first tier's one agent, once
    /// # }
    /// ```
    pub async fn run_with<R, O, E, C, CFut, F, Fut, K, KFut>(
        self,
        mut create: C,
        mut call: F,
        mut cleanup: K,
    ) -> Result<O, EscalationError<E>>
    where
        C: FnMut(&'t T) -> CFut,
        CFut: Future<Output = Result<R, E>>,
        F: FnMut(&'t T, R) -> Fut,
        Fut: Future<Output = Result<O, E>>,
        R: Clone,
        K: FnMut(&'t T, Option<R>) -> KFut,
        KFut: Future<Output = ()>,
        W: When<E>,
        E: fmt::Display,
    {
        if let Err(error) = self.validate() {
            return Err(EscalationError::Config {
                operation: self.name,
                error,
            });
        }
        let mut failures = Vec::new();
        for (i, tier) in self.tiers.iter().enumerate() {
            let limit = tier.time_limit();
            let mut created = None;
            let attempt = async {
                let agents = match CatchPanic::new(async { create(tier).await }).await {
                    Ok(Ok(agents)) => created.insert(agents).clone(),
                    Ok(Err(error)) => return Err(TierError::Failed(error)),
                    Err(panic) => return Err(TierError::Panicked(panic)),
                };
                match CatchPanic::new(async { call(tier, agents).await }).await {
                    Ok(Ok(value)) => Ok(value),
                    Ok(Err(error)) => Err(TierError::Failed(error)),
                    Err(panic) => Err(TierError::Panicked(panic)),
                }
            };
            let error = match tokio::time::timeout(limit, attempt).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) => error,
                Err(_) => TierError::TimedOut(limit),
            };
            if let Err(panic) = CatchPanic::new(async { cleanup(tier, created.take()).await }).await
            {
                tracing::error!(
                    target: "resilience",
                    operation = self.name,
                    tier = number(i),
                    panic = %panic,
                    "`{}` tier {} cleanup panicked ({panic}); going on",
                    self.name,
                    number(i),
                );
            }
            let escalates = error.error().is_none_or(|e| self.when.escalates(e));
            if let Some(error) = after_failure(
                self.name,
                i,
                self.tiers.len(),
                error,
                escalates,
                &mut failures,
            ) {
                return Err(error);
            }
        }
        unreachable!("validate() rejects an empty list of tiers")
    }
}

impl<T, W> fmt::Debug for Escalation<'_, T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Escalation")
            .field("name", &self.name)
            .field("tiers", &self.tiers.len())
            .finish_non_exhaustive()
    }
}

/// Runs `call` with each of `tiers` in turn, each under its time limit,
/// until one succeeds: [`Escalation::new(tiers).run(call)`](Escalation::run).
/// Every error escalates; for a `when` predicate, a name or a cleanup use
/// [`Escalation`].
///
/// This is what an attribute on an async fn that receives its tier
/// expands to: the fn's body becomes `call`.
///
/// # Errors
///
/// As [`Escalation::run`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::escalate;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// const LIMITS: [Duration; 2] = [Duration::from_millis(100), Duration::from_secs(1)];
/// let start = tokio::time::Instant::now();
/// let answer = escalate(&LIMITS, |_| async {
///     tokio::time::sleep(Duration::from_millis(300)).await;
///     Ok::<_, String>("slow but done")
/// })
/// .await;
/// assert_eq!(answer.unwrap(), "slow but done");
/// assert_eq!(start.elapsed(), Duration::from_millis(400)); // 100ms lost to tier 1
/// # }
/// ```
pub async fn escalate<'t, T, O, E, F, Fut>(tiers: &'t [T], call: F) -> Result<O, EscalationError<E>>
where
    T: Tier,
    F: FnMut(&'t T) -> Fut,
    Fut: Future<Output = Result<O, E>>,
    E: fmt::Display,
{
    Escalation::new(tiers).run(call).await
}

/// After tier `i` (of `tiers`) failed with `error`: records the failure in
/// `failures` and returns `None` to run the next tier (an
/// [`EventKind::Escalated`] event), or the error to return (after an
/// [`EventKind::GaveUp`] event). What [`Escalation`] and the `#[escalate]`
/// expansion both do.
pub(crate) fn after_failure<E: fmt::Display>(
    operation: &'static str,
    i: usize,
    tiers: usize,
    error: TierError<E>,
    escalates: bool,
    failures: &mut Vec<TierFailure<E>>,
) -> Option<EscalationError<E>> {
    let failure = TierFailure::new(number(i), error);
    if escalates && i + 1 < tiers {
        emit(&Event::new(
            operation,
            EventKind::Escalated {
                from: number(i),
                to: number(i + 1),
                reason: ErrorRef::Display(failure.error()),
            },
        ));
        failures.push(failure);
        return None;
    }
    emit(&Event::new(
        operation,
        EventKind::GaveUp {
            attempts: number(i),
            reason: if escalates {
                GiveUpReason::Exhausted
            } else {
                GiveUpReason::NotRetryable
            },
            error: ErrorRef::Display(&failure),
        },
    ));
    failures.push(failure);
    let failures = core::mem::take(failures);
    Some(if escalates {
        EscalationError::Exhausted {
            operation,
            failures,
        }
    } else {
        EscalationError::NotEscalated {
            operation,
            failures,
        }
    })
}

/// Tier `i` (from 0) as the number people read (from 1).
fn number(i: usize) -> u32 {
    u32::try_from(i + 1).unwrap_or(u32::MAX)
}
