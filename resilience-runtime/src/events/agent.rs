//! Which agent a call runs for: a task-local name that [`emit`](super::emit)
//! puts on every event that does not name an agent itself.
//!
//! `#[agent(name = self.name)]` runs the decorated call in [`with_agent`]:
//! every event emitted while the call runs (a retry, a time-out, a
//! self-healing request, a breaker's or a bulkhead's) then carries the name,
//! and the code that emits it does nothing for that. A call with no name
//! pays nothing: the task-local is read only when an event is emitted.

use core::fmt;
use core::future::Future;
use core::ops::Deref;
use std::sync::Arc;

tokio::task_local! {
    /// The agent the running call works for.
    static AGENT: AgentName;
}

/// An agent's name, as events carry it: a `&'static str` (free to copy) or a
/// shared `Arc<str>` (one reference count per call). Make it once, when the
/// agent is built, and keep it in the agent: `#[agent(name = self.name)]`
/// then clones it per call without allocating.
///
/// # Examples
///
/// ```
/// use resilience_runtime::events::AgentName;
///
/// let planner = AgentName::new("planner");
/// let worker = AgentName::from(format!("worker-{}", 7));
/// assert_eq!(planner.as_str(), "planner");
/// assert_eq!(worker.to_string(), "worker-7");
/// assert_eq!(worker, AgentName::from("worker-7"));
/// ```
#[derive(Clone)]
pub struct AgentName(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl AgentName {
    /// A name known at compile time.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::AgentName;
    ///
    /// const PLANNER: AgentName = AgentName::new("planner");
    /// assert_eq!(PLANNER.as_str(), "planner");
    /// ```
    pub const fn new(name: &'static str) -> Self {
        Self(Repr::Static(name))
    }

    /// The name.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::AgentName;
    ///
    /// assert_eq!(AgentName::from(String::from("critic")).as_str(), "critic");
    /// ```
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(name) => name,
            Repr::Shared(name) => name,
        }
    }
}

impl Deref for AgentName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for AgentName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for AgentName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for AgentName {}

impl core::hash::Hash for AgentName {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for AgentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for AgentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&'static str> for AgentName {
    fn from(name: &'static str) -> Self {
        Self::new(name)
    }
}

impl From<String> for AgentName {
    fn from(name: String) -> Self {
        Self(Repr::Shared(name.into()))
    }
}

impl From<Arc<str>> for AgentName {
    fn from(name: Arc<str>) -> Self {
        Self(Repr::Shared(name))
    }
}

/// Runs `future` as the agent `name`: every event emitted while it runs
/// carries the name (see [`Event::agent`](super::Event::agent)), unless a
/// nested call runs as another agent. What `#[agent(name = ..)]` writes;
/// for code that calls policies by hand.
///
/// Like [`Scope`](super::Scope), the name follows the task: run a spawned
/// future in it too.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::events::{emit, with_agent, Scope};
/// use resilience_runtime::{Event, EventKind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new();
/// let mut events = scope.subscribe();
/// scope.run(with_agent("planner", async {
///     emit(&Event::new("ask", EventKind::Timeout { limit: Duration::from_secs(5) }));
/// })).await;
/// let event = events.try_recv().unwrap();
/// assert_eq!(event.agent.as_deref(), Some("planner"));
/// assert_eq!(event.to_string(), "planner: `ask` timed out after 5s");
/// # }
/// ```
pub fn with_agent<F: Future>(
    name: impl Into<AgentName>,
    future: F,
) -> impl Future<Output = F::Output> {
    // The task-local's own future, no `async` wrapper around it: it costs
    // the name and the future's slot, nothing more.
    AGENT.scope(name.into(), future)
}

/// The agent the current task's call runs for, if any.
///
/// # Examples
///
/// ```
/// use resilience_runtime::events::{current_agent, with_agent};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(current_agent(), None);
/// let inside = with_agent("critic", async { current_agent() }).await;
/// assert_eq!(inside.as_deref(), Some("critic"));
/// # }
/// ```
pub fn current_agent() -> Option<AgentName> {
    AGENT.try_with(AgentName::clone).ok()
}

/// Runs `future` as the agent `name` unless the task already runs as one:
/// a workflow's compensations run as the workflow (the agents whose calls
/// they undo have returned by then).
pub(crate) async fn with_agent_or_current<F: Future>(name: &'static str, future: F) -> F::Output {
    if current_agent().is_some() {
        future.await
    } else {
        AGENT.scope(AgentName::new(name), future).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn the_name_stays_with_its_task_across_yields() {
        let other = tokio::spawn(async {
            let mut seen = Vec::new();
            for _ in 0..4 {
                seen.push(current_agent());
                tokio::task::yield_now().await;
            }
            seen
        });
        let mine = with_agent("mine", async {
            let mut seen = Vec::new();
            for _ in 0..4 {
                seen.push(current_agent());
                tokio::task::yield_now().await;
            }
            seen
        })
        .await;
        assert!(mine.iter().all(|name| name.as_deref() == Some("mine")));
        assert!(other.await.unwrap().iter().all(Option::is_none));
        assert_eq!(current_agent(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_name_follows_the_task_to_other_threads() {
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                tokio::spawn(with_agent(format!("agent-{i}"), async move {
                    let mut ok = true;
                    for _ in 0..50 {
                        tokio::task::yield_now().await;
                        ok &= current_agent().as_deref() == Some(format!("agent-{i}").as_str());
                    }
                    ok
                }))
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap());
        }
    }

    #[test]
    fn a_panicking_poll_puts_the_outer_name_back() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(with_agent("outer", async {
            let inner = std::panic::AssertUnwindSafe(with_agent("inner", async {
                panic!("boom");
            }));
            let caught = futures_util::FutureExt::catch_unwind(inner).await;
            assert!(caught.is_err());
            assert_eq!(current_agent().as_deref(), Some("outer"));
        }));
        assert_eq!(current_agent(), None);
    }
}
