//! Many agents, one task: fan-out with fallbacks, consensus, coordinator
//! failover and progressive retry (the guide's workflow-level, coordination
//! and recovery patterns).
//!
//! Level 3 of the runtime: it may use `call/` (timeouts, retries),
//! `events/` and `support/`, never the levels above it.
//!
//! Every pattern here takes the user's own agents, of any type, each with a
//! name for reports and events: wrap an agent in [`Named`] (or pass a
//! `(name, agent)` pair where a `Named` is expected).

use core::fmt;
use std::borrow::Cow;

pub(crate) mod branches;
pub mod consensus;
mod failure;
pub mod fanout;

pub use branches::{BranchFailure, Branches};
pub use consensus::{
    Arbiter, Ballot, ByAnswer, Consensus, ConsensusError, Decided, Decision, NoArbiter, Opinion,
    VoteKey,
};
pub use failure::{AgentError, AgentFailure};
pub(crate) use failure::{Percent, rate};
pub use fanout::{FanOut, FanOutError, FanOutReport, TaskOutcome, TaskReport};
pub mod escalate;
pub mod failover;

pub use escalate::{
    Escalation, EscalationConfigError, EscalationError, Tier, TierError, TierFailure, escalate,
};
pub use failover::{
    CoordinatorFailure, Failover, FailoverConfig, FailoverConfigError, FailoverError,
    FailoverReason, Unhealthy,
};

/// An agent with the name that reports and events give it.
///
/// The agent can be anything: a model client, an HTTP client, a struct
/// with a model, a reference to one. The name is usually a `&'static str`;
/// a `String` works too, for agents named at run time.
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::Named;
///
/// struct Model { temperature: f32 }
///
/// let agent = Named::new("gpt-small", Model { temperature: 0.2 });
/// assert_eq!(agent.name(), "gpt-small");
/// assert_eq!(agent.temperature, 0.2); // derefs to the agent
///
/// let from_pair: Named<u8> = ("backup", 7).into();
/// assert_eq!((from_pair.name(), *from_pair.agent()), ("backup", 7));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Named<A> {
    name: Cow<'static, str>,
    agent: A,
}

impl<A> Named<A> {
    /// `agent`, called `name` in reports and events.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Named;
    ///
    /// let runtime_name = format!("worker-{}", 3);
    /// assert_eq!(Named::new(runtime_name, ()).name(), "worker-3");
    /// ```
    pub fn new(name: impl Into<Cow<'static, str>>, agent: A) -> Self {
        Self {
            name: name.into(),
            agent,
        }
    }

    /// The agent's name.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Named;
    ///
    /// assert_eq!(Named::new("planner", ()).name(), "planner");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The agent.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Named;
    ///
    /// assert_eq!(*Named::new("planner", 5).agent(), 5);
    /// ```
    pub const fn agent(&self) -> &A {
        &self.agent
    }

    /// The agent, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Named;
    ///
    /// let mut agent = Named::new("counter", 0);
    /// *agent.agent_mut() += 1;
    /// assert_eq!(*agent, 1);
    /// ```
    pub const fn agent_mut(&mut self) -> &mut A {
        &mut self.agent
    }

    /// The agent, without its name.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Named;
    ///
    /// assert_eq!(Named::new("planner", 5).into_agent(), 5);
    /// ```
    pub fn into_agent(self) -> A {
        self.agent
    }
}

impl<A> core::ops::Deref for Named<A> {
    type Target = A;

    fn deref(&self) -> &A {
        &self.agent
    }
}

impl<A> core::ops::DerefMut for Named<A> {
    fn deref_mut(&mut self) -> &mut A {
        &mut self.agent
    }
}

impl<A, N: Into<Cow<'static, str>>> From<(N, A)> for Named<A> {
    fn from((name, agent): (N, A)) -> Self {
        Self::new(name, agent)
    }
}

impl<A> fmt::Debug for Named<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Named")
            .field(&self.name)
            .finish_non_exhaustive()
    }
}

impl<A> fmt::Display for Named<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}
