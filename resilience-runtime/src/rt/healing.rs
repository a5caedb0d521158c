//! What `#[self_healing(state = PATH)]` and `#[agent(name = EXPR)]` call.

use core::future::Future;
use std::string::String;
use std::sync::Arc;

use crate::events::{AgentName, with_agent, with_agent_or_current};
use crate::health::{Abandoned, HealingPolicy, Health};
use crate::support::error_ref::ErrorRef;

/// A value `#[self_healing(state = ..)]` can name: a [`Health`], or a
/// reference or an `Arc` to one.
#[diagnostic::on_unimplemented(
    message = "`#[self_healing]` needs `state` to be a `resilience::Health`, found `{Self}`",
    label = "not a `resilience::Health`",
    note = "give the agent a field `health: resilience::Health<Cure>` (or `Arc<Health<Cure>>`, shared with its supervisor) and write `#[self_healing(state = self.health)]`"
)]
pub trait HealthState {
    /// What the supervisor's cure is.
    type Cure;
    /// The health.
    fn health_state(&self) -> &Health<Self::Cure>;
}

impl<C> HealthState for Health<C> {
    type Cure = C;
    fn health_state(&self) -> &Health<C> {
        self
    }
}

impl<T: HealthState + ?Sized> HealthState for &T {
    type Cure = T::Cure;
    fn health_state(&self) -> &Health<T::Cure> {
        (**self).health_state()
    }
}

impl<T: HealthState + ?Sized> HealthState for Arc<T> {
    type Cure = T::Cure;
    fn health_state(&self) -> &Health<T::Cure> {
        (**self).health_state()
    }
}

/// The error type of a `#[self_healing]` fn: it receives [`Abandoned`]
/// through `From`.
#[diagnostic::on_unimplemented(
    message = "`#[self_healing]` needs `{Self}` to implement `From<resilience::Abandoned>`",
    label = "the error type of this `#[self_healing]` fn",
    note = "add a variant such as `#[error(transparent)] Abandoned(#[from] resilience::Abandoned)`: the calls made after the supervisor gave up return it"
)]
pub trait FromAbandoned {
    /// Converts the error.
    fn from_abandoned(error: Abandoned) -> Self;
}

impl<E: From<Abandoned>> FromAbandoned for E {
    fn from_abandoned(error: Abandoned) -> Self {
        E::from(error)
    }
}

/// Converts `error` into the fn's error type.
pub fn abandoned_error<E: FromAbandoned>(error: Abandoned) -> E {
    E::from_abandoned(error)
}

/// Where a self-healing call is.
#[derive(Clone, Copy, Debug)]
pub enum Healing<'a> {
    /// Before the call.
    Enter,
    /// The call succeeded.
    Succeeded,
    /// The call failed with this error.
    Failed(ErrorRef<'a>),
}

/// Before a self-healing call: whether it may run (`false` once the
/// supervisor gave up); after it: counts the outcome (and returns `true`).
/// One fn for the three, so that a `state` that is no `Health` is one
/// error at the user's token, not three. A `bool`, so that nothing of it is
/// kept in the future while the call runs.
#[inline]
pub fn healing<S: HealthState + ?Sized>(
    state: &S,
    policy: &HealingPolicy,
    at: Healing<'_>,
) -> bool {
    let health = state.health_state();
    match at {
        Healing::Enter => !health.is_abandoned(),
        Healing::Succeeded => {
            policy.succeeded(health);
            true
        }
        Healing::Failed(error) => {
            policy.failed(health, error);
            true
        }
    }
}

/// The error of a call refused because the supervisor gave up (and its
/// event).
pub fn abandoned(policy: &HealingPolicy) -> Abandoned {
    policy.refuse()
}

/// A value `#[agent(name = ..)]` can take.
#[diagnostic::on_unimplemented(
    message = "`#[agent]` needs `name` to be a `&'static str`, a `String`, an `Arc<str>` or a `resilience::AgentName`, found `{Self}`",
    label = "not an agent's name",
    note = "keep the name in the agent, e.g. a field `name: resilience::AgentName` (cloned per call without allocating), and write `#[agent(name = self.name)]`"
)]
pub trait IntoAgentName {
    /// The name, for one call.
    fn agent_name(&self) -> AgentName;
}

impl IntoAgentName for AgentName {
    fn agent_name(&self) -> AgentName {
        self.clone()
    }
}

impl IntoAgentName for &'static str {
    fn agent_name(&self) -> AgentName {
        AgentName::new(self)
    }
}

impl IntoAgentName for String {
    fn agent_name(&self) -> AgentName {
        AgentName::from(self.clone())
    }
}

impl IntoAgentName for Arc<str> {
    fn agent_name(&self) -> AgentName {
        AgentName::from(Arc::clone(self))
    }
}

impl<T: IntoAgentName + ?Sized> IntoAgentName for &T {
    fn agent_name(&self) -> AgentName {
        (**self).agent_name()
    }
}

/// The name `#[agent(name = ..)]` gives the call.
pub fn agent_name<N: IntoAgentName + ?Sized>(name: &N) -> AgentName {
    name.agent_name()
}

/// Runs the call as the agent `name`.
pub fn as_agent<F: Future>(name: AgentName, future: F) -> impl Future<Output = F::Output> {
    with_agent(name, future)
}

/// Runs a workflow's undo as the workflow, unless the run is already an
/// agent's call: the compensations' events carry the workflow's name.
pub async fn as_workflow<F: Future>(workflow: &'static str, future: F) -> F::Output {
    with_agent_or_current(workflow, future).await
}
