//! Self-healing: an agent's consecutive failed calls, a "needs help" event
//! at a threshold, and the supervisor's answer.
//!
//! # What `#[self_healing(state = self.health, max_failures = 3)]` writes, by hand
//!
//! ```
//! use resilience_runtime::{Abandoned, ErrorRef, Health, HealingPolicy};
//!
//! #[derive(Debug)]
//! enum AgentError { Abandoned(Abandoned), Model(&'static str) }
//! impl From<Abandoned> for AgentError {
//!     fn from(error: Abandoned) -> Self { AgentError::Abandoned(error) }
//! }
//!
//! const POLICY: HealingPolicy = HealingPolicy::new("ask", 3);
//!
//! async fn ask(health: &Health<&'static str>) -> Result<String, AgentError> {
//!     if let Err(abandoned) = POLICY.enter(health) {
//!         return Err(abandoned.into()); // the call is not made
//!     }
//!     let model = health.cure().map_or("primary", |backup| *backup);
//!     let result: Result<String, AgentError> = Err(AgentError::Model(model)); // the body
//!     match &result { // count, reset, or ask for help
//!         Ok(_) => POLICY.succeeded(health),
//!         Err(error) => POLICY.failed(health, ErrorRef::Debug(error)),
//!     }
//!     result
//! }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let health = Health::new();
//! for _ in 0..3 {
//!     assert!(matches!(ask(&health).await, Err(AgentError::Model("primary"))));
//! }
//! assert_eq!(health.failures(), 3);
//! health.heal("backup");
//! assert!(matches!(ask(&health).await, Err(AgentError::Model("backup"))));
//! health.give_up();
//! assert!(matches!(ask(&health).await, Err(AgentError::Abandoned(_))));
//! # }
//! ```
//!
//! # State
//!
//! One `AtomicU32` holds the count and three flags (help asked in this
//! streak, given up, a cure is set): a successful call costs two relaxed
//! loads and writes nothing unless a streak was running, so many tasks
//! calling one healthy agent share the cache line read-only. The cure sits
//! behind a `std::sync::RwLock`, read only when its flag says there is one
//! (after a supervisor answered), and written only by the supervisor: no
//! crate is needed for a slot that changes a few times in an agent's life.

use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::events::{AgentName, Event, EventKind, current_agent, emit};
use crate::support::error_ref::ErrorRef;

/// Given up by the supervisor: calls are refused.
const ABANDONED: u32 = 1 << 31;
/// Help was asked in the current streak.
const ASKED: u32 = 1 << 30;
/// The cure slot holds a value.
const CURED: u32 = 1 << 29;
/// The failed calls in a row.
const COUNT: u32 = CURED - 1;

/// The health of one agent, shared by all its calls: the failed calls in a
/// row, whether help was asked, the supervisor's cure and whether the
/// supervisor gave up. `#[self_healing(state = ..)]` names one; keep it in
/// the agent (a field, or an `Arc` the supervisor holds too) or in a
/// `static`, so that each agent has its own.
///
/// A supervisor answers a "needs help" event
/// ([`NeedsHelp`](crate::EventKind::NeedsHelp)) with [`heal`](Self::heal)
/// (a cure, such as a backup model, that the agent's calls read with
/// [`cure`](Self::cure)), [`reset`](Self::reset) (try again as is) or
/// [`give_up`](Self::give_up) (calls return [`Abandoned`] without running).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use resilience_runtime::Health;
///
/// // The cure type is the agent's to choose: here, a backup model's name.
/// static HEALTH: Health<&str> = Health::new();
/// assert_eq!(HEALTH.failures(), 0);
/// assert!(HEALTH.cure().is_none());
///
/// HEALTH.heal("backup-model");
/// assert_eq!(HEALTH.cure().as_deref(), Some(&"backup-model"));
///
/// // Shared between an agent and its supervisor:
/// let health: Arc<Health<String>> = Arc::new(Health::new());
/// let supervisor_side = Arc::clone(&health);
/// supervisor_side.give_up();
/// assert!(health.is_abandoned());
/// ```
pub struct Health<C = ()> {
    state: AtomicU32,
    cure: RwLock<Option<Arc<C>>>,
}

impl<C> Health<C> {
    /// A healthy agent: no failure, no cure.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Health;
    ///
    /// static HEALTH: Health = Health::new();
    /// assert!(!HEALTH.is_abandoned());
    /// ```
    pub const fn new() -> Self {
        Self {
            state: AtomicU32::new(0),
            cure: RwLock::new(None),
        }
    }

    /// The failed calls in a row, since the last success or the
    /// supervisor's last answer.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Health;
    ///
    /// assert_eq!(Health::<()>::new().failures(), 0);
    /// ```
    #[inline]
    pub fn failures(&self) -> u32 {
        self.state.load(Ordering::Relaxed) & COUNT
    }

    /// Whether help was asked in the current streak (and not answered yet).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Health;
    ///
    /// assert!(!Health::<()>::new().needs_help());
    /// ```
    #[inline]
    pub fn needs_help(&self) -> bool {
        self.state.load(Ordering::Relaxed) & ASKED != 0
    }

    /// Whether the supervisor gave up on the agent ([`give_up`](Self::give_up)).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Health;
    ///
    /// let health = Health::<()>::new();
    /// health.give_up();
    /// assert!(health.is_abandoned());
    /// ```
    #[inline]
    pub fn is_abandoned(&self) -> bool {
        self.state.load(Ordering::Relaxed) & ABANDONED != 0
    }

    /// The supervisor's cure, if it gave one ([`heal`](Self::heal)): what the
    /// agent's calls use instead of what failed. Lock-free while there is
    /// none.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Health;
    ///
    /// let health = Health::new();
    /// let model = health.cure().map_or("primary", |backup| *backup);
    /// assert_eq!(model, "primary");
    /// health.heal("backup");
    /// assert_eq!(health.cure().map_or("primary", |backup| *backup), "backup");
    /// ```
    pub fn cure(&self) -> Option<Arc<C>> {
        if self.state.load(Ordering::Acquire) & CURED == 0 {
            return None;
        }
        self.slot().clone()
    }

    /// The supervisor's answer: `cure` is what the agent's calls use from now
    /// on (they read it with [`cure`](Self::cure)), the failure streak starts
    /// again from 0 (so help is asked again if the cure fails too), and an
    /// agent that was given up is taken back.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Health;
    ///
    /// let health = Health::<String>::new();
    /// health.heal(String::from("backup-model"));
    /// assert_eq!(health.cure().unwrap().as_str(), "backup-model");
    /// assert_eq!(health.failures(), 0);
    /// ```
    pub fn heal(&self, cure: impl Into<Arc<C>>) {
        *self.slot_mut() = Some(cure.into());
        // Release: a call that sees `CURED` sees the cure.
        self.state.store(CURED, Ordering::Release);
    }

    /// Takes the cure back: calls go on without one. Returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Health;
    ///
    /// let health = Health::new();
    /// health.heal(7);
    /// assert_eq!(health.remove_cure().as_deref(), Some(&7));
    /// assert!(health.cure().is_none());
    /// ```
    pub fn remove_cure(&self) -> Option<Arc<C>> {
        let mut slot = self.slot_mut();
        self.state.fetch_and(!CURED, Ordering::Relaxed);
        slot.take()
    }

    /// The supervisor's answer "try again as you are": the failure streak
    /// starts again from 0 and an agent that was given up is taken back. The
    /// cure, if any, stays.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Health;
    ///
    /// let health = Health::<()>::new();
    /// health.give_up();
    /// health.reset();
    /// assert!(!health.is_abandoned());
    /// ```
    pub fn reset(&self) {
        self.state.fetch_and(CURED, Ordering::Relaxed);
    }

    /// The supervisor's answer "stop": from now on the agent's self-healing
    /// calls are not made and return [`Abandoned`] (through the error
    /// type's `From<Abandoned>`), until [`reset`](Self::reset) or
    /// [`heal`](Self::heal).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Health;
    ///
    /// let health = Health::<()>::new();
    /// health.give_up();
    /// assert!(health.is_abandoned());
    /// ```
    pub fn give_up(&self) {
        self.state.fetch_or(ABANDONED, Ordering::Relaxed);
    }

    /// A successful call: the streak ends. Writes only if one was running.
    #[inline]
    fn succeeded(&self) {
        if self.state.load(Ordering::Relaxed) & (COUNT | ASKED) != 0 {
            self.state.fetch_and(!(COUNT | ASKED), Ordering::Relaxed);
        }
    }

    /// A failed call: the count goes up; `Some(count)` for the one call of
    /// the streak that reaches `max_failures` first (it asks for help).
    fn failed(&self, max_failures: u32) -> Option<u32> {
        let mut ask = None;
        let _ = self
            .state
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |state| {
                let count = ((state & COUNT) + 1).min(COUNT);
                let mut next = (state & !COUNT) | count;
                ask = None;
                if count >= max_failures && state & ASKED == 0 {
                    next |= ASKED;
                    ask = Some(count);
                }
                Some(next)
            });
        ask
    }

    fn slot(&self) -> std::sync::RwLockReadGuard<'_, Option<Arc<C>>> {
        // No user code runs under the lock: a poisoned slot is still whole.
        self.cure.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn slot_mut(&self) -> std::sync::RwLockWriteGuard<'_, Option<Arc<C>>> {
        self.cure.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<C> Default for Health<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> fmt::Debug for Health<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Ordering::Relaxed);
        f.debug_struct("Health")
            .field("failures", &(state & COUNT))
            .field("needs_help", &(state & ASKED != 0))
            .field("abandoned", &(state & ABANDONED != 0))
            .field("cured", &(state & CURED != 0))
            .finish()
    }
}

/// The error of a self-healing call that was not made because the
/// supervisor gave up on its agent ([`Health::give_up`]). It reaches the
/// fn's error type through `From<Abandoned>`.
///
/// # Examples
///
/// ```
/// use resilience_runtime::{Health, HealingPolicy};
///
/// let health = Health::<()>::new();
/// health.give_up();
/// let abandoned = HealingPolicy::new("ask", 3).enter(&health).unwrap_err();
/// assert_eq!(abandoned.operation(), "ask");
/// assert_eq!(abandoned.to_string(), "`ask` was not run: the supervisor gave up on this agent");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Abandoned {
    operation: &'static str,
    agent: Option<AgentName>,
}

impl fmt::Display for Abandoned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` was not run: the supervisor gave up on ",
            self.operation
        )?;
        match &self.agent {
            Some(agent) => write!(f, "agent `{agent}`"),
            None => f.write_str("this agent"),
        }
    }
}

impl std::error::Error for Abandoned {}

impl Abandoned {
    /// The operation that was not run.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Health, HealingPolicy};
    ///
    /// let health = Health::<()>::new();
    /// health.give_up();
    /// assert_eq!(HealingPolicy::new("plan", 3).enter(&health).unwrap_err().operation(), "plan");
    /// ```
    pub const fn operation(&self) -> &'static str {
        self.operation
    }

    /// The agent, if the call ran as one (`#[agent(name = ..)]`).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Health, HealingPolicy};
    /// use resilience_runtime::events::with_agent;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let health = Health::<()>::new();
    /// health.give_up();
    /// let error = with_agent("critic", async { HealingPolicy::new("ask", 3).enter(&health) }).await.unwrap_err();
    /// assert_eq!(error.agent().map(|name| name.as_str()), Some("critic"));
    /// assert_eq!(error.to_string(), "`ask` was not run: the supervisor gave up on agent `critic`");
    /// # }
    /// ```
    pub fn agent(&self) -> Option<&AgentName> {
        self.agent.as_ref()
    }
}

/// What `#[self_healing]` builds in a `const`: the operation's name and the
/// failed calls in a row at which it asks for help.
///
/// # Examples
///
/// ```
/// use resilience_runtime::HealingPolicy;
///
/// const POLICY: HealingPolicy = HealingPolicy::new("ask", 3);
/// assert_eq!(POLICY.max_failures(), 3);
/// assert_eq!(HealingPolicy::new("ask", 0).max_failures(), 1); // at least 1
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HealingPolicy {
    operation: &'static str,
    max_failures: u32,
}

impl HealingPolicy {
    /// The self-healing of `operation`, asking for help after `max_failures`
    /// failed calls in a row (at least 1; the guide uses 3).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::HealingPolicy;
    ///
    /// assert_eq!(HealingPolicy::new("ask", 5).operation(), "ask");
    /// ```
    pub const fn new(operation: &'static str, max_failures: u32) -> Self {
        Self {
            operation,
            max_failures: if max_failures == 0 { 1 } else { max_failures },
        }
    }

    /// The operation's name.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::HealingPolicy;
    ///
    /// assert_eq!(HealingPolicy::new("ask", 3).operation(), "ask");
    /// ```
    pub const fn operation(&self) -> &'static str {
        self.operation
    }

    /// The failed calls in a row at which help is asked.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::HealingPolicy;
    ///
    /// assert_eq!(HealingPolicy::new("ask", 3).max_failures(), 3);
    /// ```
    pub const fn max_failures(&self) -> u32 {
        self.max_failures
    }

    /// Before a call: `Err` (and an [`Abandoned`](crate::EventKind::Abandoned)
    /// event) if the supervisor gave up on the agent, so the call is not made.
    ///
    /// # Errors
    ///
    /// [`Abandoned`] after [`Health::give_up`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Health, HealingPolicy};
    ///
    /// let health = Health::<()>::new();
    /// assert!(HealingPolicy::new("ask", 3).enter(&health).is_ok());
    /// ```
    #[inline]
    pub fn enter<C>(&self, health: &Health<C>) -> Result<(), Abandoned> {
        if health.state.load(Ordering::Relaxed) & ABANDONED == 0 {
            return Ok(());
        }
        Err(self.refuse())
    }

    /// A call refused: emits the [`Abandoned`](crate::EventKind::Abandoned)
    /// event and returns the error, which names the running agent (see
    /// [`enter`](Self::enter), which calls it once the supervisor gave up).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::HealingPolicy;
    ///
    /// let error = HealingPolicy::new("ask", 3).refuse();
    /// assert_eq!(error.to_string(), "`ask` was not run: the supervisor gave up on this agent");
    /// ```
    #[cold]
    #[inline(never)]
    pub fn refuse(&self) -> Abandoned {
        emit(&Event::new(self.operation, EventKind::Abandoned {}));
        Abandoned {
            operation: self.operation,
            agent: current_agent(),
        }
    }

    /// After a call: a success ends the streak; a failure counts, and the
    /// one that reaches [`max_failures`](Self::max_failures) first emits
    /// [`NeedsHelp`](crate::EventKind::NeedsHelp) with `error`.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Health, HealingPolicy};
    ///
    /// let policy = HealingPolicy::new("ask", 2);
    /// let health = Health::<()>::new();
    /// let failed: Result<(), &str> = Err("overloaded");
    /// policy.record(&health, &failed);
    /// policy.record(&health, &failed); // asks for help
    /// assert!(health.needs_help());
    /// policy.record(&health, &Ok::<(), &str>(()));
    /// assert_eq!(health.failures(), 0);
    /// ```
    pub fn record<C, T, E: fmt::Display>(&self, health: &Health<C>, result: &Result<T, E>) {
        match result {
            Ok(_) => self.succeeded(health),
            Err(error) => self.failed(health, ErrorRef::Display(error)),
        }
    }

    /// After a successful call: the streak ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Health, HealingPolicy};
    ///
    /// HealingPolicy::new("ask", 3).succeeded(&Health::<()>::new());
    /// ```
    #[inline]
    pub fn succeeded<C>(&self, health: &Health<C>) {
        health.succeeded();
    }

    /// After a failed call: the count goes up, and help is asked once per
    /// streak.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{ErrorRef, Health, HealingPolicy};
    ///
    /// let health = Health::<()>::new();
    /// HealingPolicy::new("ask", 3).failed(&health, ErrorRef::Display(&"refused"));
    /// assert_eq!(health.failures(), 1);
    /// ```
    pub fn failed<C>(&self, health: &Health<C>, error: ErrorRef<'_>) {
        if let Some(failures) = health.failed(self.max_failures) {
            emit(&Event::new(
                self.operation,
                EventKind::NeedsHelp { failures, error },
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{OwnedEventKind, scoped, with_agent};

    #[test]
    fn the_count_asks_once_per_streak_and_answers_reset_it() {
        let health = Health::<u8>::new();
        assert_eq!(health.failed(3), None);
        assert_eq!(health.failed(3), None);
        assert_eq!(health.failed(3), Some(3));
        assert_eq!(health.failed(3), None);
        assert_eq!(health.failures(), 4);
        assert!(health.needs_help());
        health.succeeded();
        assert_eq!((health.failures(), health.needs_help()), (0, false));
        // A cure resets the streak and takes back an agent given up.
        for _ in 0..3 {
            health.failed(3);
        }
        health.give_up();
        health.heal(9);
        assert_eq!(
            (
                health.failures(),
                health.needs_help(),
                health.is_abandoned()
            ),
            (0, false, false)
        );
        assert_eq!(health.failed(1), Some(1));
        // `reset` keeps the cure.
        health.reset();
        assert_eq!(health.cure().as_deref(), Some(&9));
        assert_eq!(health.remove_cure().as_deref(), Some(&9));
        assert_eq!(health.cure(), None);
        assert_eq!(
            format!("{health:?}"),
            "Health { failures: 0, needs_help: false, abandoned: false, cured: false }"
        );
    }

    #[test]
    fn the_count_saturates_without_touching_the_flags() {
        let health = Health::<()>::new();
        health.state.store(COUNT - 1, Ordering::Relaxed);
        health.failed(u32::MAX);
        health.failed(u32::MAX);
        assert_eq!(health.failures(), COUNT);
        assert!(!health.is_abandoned());
        assert!(health.cure().is_none());
    }

    #[test]
    fn success_on_a_healthy_agent_writes_nothing() {
        let health = Health::<()>::new();
        health.give_up();
        let before = health.state.load(Ordering::Relaxed);
        health.succeeded();
        assert_eq!(health.state.load(Ordering::Relaxed), before);
    }

    #[tokio::test]
    async fn the_events_name_the_agent() {
        let (scope, mut sub) = scoped();
        let policy = HealingPolicy::new("healing::events", 1);
        let health = Health::<()>::new();
        scope
            .run(with_agent("solver", async {
                policy.record(&health, &Err::<(), _>("no answer"));
                health.give_up();
                assert!(policy.enter(&health).is_err());
            }))
            .await;
        let seen: Vec<_> = core::iter::from_fn(|| sub.try_recv()).collect();
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|e| e.agent.as_deref() == Some("solver")));
        assert_eq!(
            seen[0].kind,
            OwnedEventKind::NeedsHelp {
                failures: 1,
                error: "no answer".into()
            }
        );
        assert_eq!(seen[1].kind, OwnedEventKind::Abandoned {});
    }
}
