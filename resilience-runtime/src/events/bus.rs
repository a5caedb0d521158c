//! The bus: [`emit`] hands each event to `tracing` and to the registered
//! observers and subscriptions whose [`Filter`] it passes.

use core::future::Future;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use tokio::sync::Notify;

use super::{Event, OwnedEvent};
use crate::support::panic::catch_call;

/// Reports `event`: the one entry point of every policy (see the
/// [module docs](super)). It records a `tracing` event, then calls the
/// observers and fills the subscriptions whose filter it passes. Observers
/// run on the emitting task, so they should be quick; one that panics is
/// reported (a `tracing` error) and the operation goes on.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::events::{emit, Scope};
/// use resilience_runtime::{Event, EventKind};
///
/// let scope = Scope::new();
/// let mut events = scope.subscribe();
/// scope.run_sync(|| emit(&Event::new("my_step", EventKind::Timeout { limit: Duration::from_secs(5) })));
/// assert_eq!(events.try_recv().unwrap().to_string(), "`my_step` timed out after 5s");
/// ```
pub fn emit(event: &Event<'_>) {
    // The running call's agent, unless the event names one. Cloned out of
    // the task-local, so that an observer may itself run as an agent.
    if event.agent.is_none()
        && let Some(agent) = super::current_agent()
    {
        return emit_event(&event.with_agent(&agent));
    }
    emit_event(event);
}

fn emit_event(event: &Event<'_>) {
    // An event shows the user's error through its `Display` or `Debug`; if
    // that panics, the operation still goes on (as for a panicking
    // observer), and the panic is reported.
    let reported = catch_call(|| {
        event.kind.record(event.operation, event);
        if LISTENERS.load(Ordering::Relaxed) != 0 {
            notify(event);
        }
    });
    if let Err(message) = reported {
        tracing::error!(
            target: "resilience",
            operation = event.operation,
            panic = %message,
            "formatting an event of `{}` panicked ({message}); the operation goes on",
            event.operation
        );
    }
}

/// A registered callback or subscription, with what it wants to see.
struct Listener {
    filter: Filter,
    sink: Sink,
}

enum Sink {
    Callback(Box<dyn Fn(&Event<'_>) + Send + Sync>),
    Queue(Arc<Queue>),
}

/// How many listeners are registered: the fast path reads only this.
static LISTENERS: AtomicUsize = AtomicUsize::new(0);
/// The listeners, by id.
static REGISTRY: RwLock<Vec<(u64, Arc<Listener>)>> = RwLock::new(Vec::new());
/// The next listener or scope id.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

tokio::task_local! {
    /// The scopes the running task is in, innermost last.
    static SCOPES: Arc<[u64]>;
}

/// The observer half of [`emit`], out of line to keep the fast path small.
#[cold]
#[inline(never)]
fn notify(event: &Event<'_>) {
    // Copy the list out so that a callback may register, unregister or emit
    // without deadlocking on the registry.
    let listeners: Vec<Arc<Listener>> = REGISTRY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(_, listener)| Arc::clone(listener))
        .collect();
    let scopes = SCOPES.try_with(Arc::clone).ok();
    let scopes: &[u64] = scopes.as_deref().unwrap_or(&[]);
    let mut owned = None;
    for listener in listeners {
        if !listener.filter.matches(event, scopes) {
            continue;
        }
        match &listener.sink {
            Sink::Callback(f) => {
                if let Err(message) = catch_call(|| f(event)) {
                    tracing::error!(
                        target: "resilience",
                        operation = event.operation,
                        panic = %message,
                        "an event observer panicked ({message}) on \"{event}\"; the operation goes on as if nobody had been watching"
                    );
                }
            }
            Sink::Queue(queue) => {
                let owned = owned.get_or_insert_with(|| event.into_owned());
                queue.push(owned.clone());
            }
        }
    }
}

fn register(listener: Listener) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    registry.push((id, Arc::new(listener)));
    LISTENERS.store(registry.len(), Ordering::Relaxed);
    id
}

fn unregister(id: u64) {
    let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    registry.retain(|(other, _)| *other != id);
    LISTENERS.store(registry.len(), Ordering::Relaxed);
}

/// Which events an observer or a subscription sees: all of them by
/// default, or only those emitted inside a [`Scope`], or only those of one
/// operation, or of one agent, or any combination.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::events::{emit, Filter, Scope};
/// use resilience_runtime::{Event, EventKind};
///
/// let scope = Scope::new();
/// let mut asks = Filter::new().in_scope(&scope).operation("ask").subscribe();
/// scope.run_sync(|| {
///     emit(&Event::new("plan", EventKind::Timeout { limit: Duration::from_secs(1) }));
///     emit(&Event::new("ask", EventKind::Timeout { limit: Duration::from_secs(2) }));
/// });
/// emit(&Event::new("ask", EventKind::Timeout { limit: Duration::from_secs(3) })); // outside
/// assert_eq!(asks.try_recv().unwrap().to_string(), "`ask` timed out after 2s");
/// assert!(asks.try_recv().is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    scope: Option<u64>,
    operation: Option<String>,
    agent: Option<String>,
}

impl Filter {
    /// Every event.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::Filter;
    ///
    /// let everything = Filter::new().subscribe();
    /// # drop(everything);
    /// ```
    pub const fn new() -> Self {
        Self {
            scope: None,
            operation: None,
            agent: None,
        }
    }

    /// Only the events emitted while `scope` runs (see [`Scope::run`]),
    /// nested scopes included.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::{Filter, Scope};
    ///
    /// let agents = Scope::new();
    /// let mine = Filter::new().in_scope(&agents).subscribe();
    /// # drop(mine);
    /// ```
    #[must_use]
    pub fn in_scope(mut self, scope: &Scope) -> Self {
        self.scope = Some(scope.id);
        self
    }

    /// Only the events of `operation` (a decorated fn's name, a workflow's
    /// name, or `Workflow::step`).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::Filter;
    ///
    /// let asks = Filter::new().operation("ask").subscribe();
    /// # drop(asks);
    /// ```
    #[must_use]
    pub fn operation(mut self, operation: impl Into<String>) -> Self {
        self.operation = Some(operation.into());
        self
    }

    /// Only the events of the agent named `agent` (see
    /// [`Event::agent`](super::Event::agent)): how a supervisor of many
    /// agents watches one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::events::{emit, Filter};
    /// use resilience_runtime::{Event, EventKind};
    ///
    /// let mut critic = Filter::new().agent("critic").subscribe();
    /// emit(&Event::new("ask", EventKind::Timeout { limit: Duration::from_secs(1) }).with_agent("planner"));
    /// emit(&Event::new("ask", EventKind::Timeout { limit: Duration::from_secs(2) }).with_agent("critic"));
    /// assert_eq!(critic.try_recv().unwrap().to_string(), "critic: `ask` timed out after 2s");
    /// assert!(critic.try_recv().is_none());
    /// ```
    #[must_use]
    pub fn agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = Some(agent.into());
        self
    }

    /// Calls `f` with every event that passes this filter, on the emitting
    /// task, until the returned [`Observer`] is dropped. See [`observe`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::Filter;
    ///
    /// let observer = Filter::new().operation("ask").observe(|event| eprintln!("{event}"));
    /// # drop(observer);
    /// ```
    pub fn observe(self, f: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Observer {
        Observer {
            id: register(Listener {
                filter: self,
                sink: Sink::Callback(Box::new(f)),
            }),
        }
    }

    /// Opens a [`Subscription`] to every event that passes this filter,
    /// holding at most [`Subscription::DEFAULT_CAPACITY`] unread events.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::Filter;
    ///
    /// let events = Filter::new().operation("ask").subscribe();
    /// assert_eq!(events.capacity(), 1024);
    /// ```
    pub fn subscribe(self) -> Subscription {
        self.subscribe_with_capacity(Subscription::DEFAULT_CAPACITY)
    }

    /// Opens a [`Subscription`] that holds at most `capacity` unread events
    /// (at least 1): when it is full, the oldest unread event is dropped and
    /// counted in [`Subscription::missed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::Filter;
    ///
    /// let events = Filter::new().subscribe_with_capacity(16);
    /// assert_eq!(events.capacity(), 16);
    /// ```
    pub fn subscribe_with_capacity(self, capacity: usize) -> Subscription {
        let queue = Arc::new(Queue {
            capacity: capacity.max(1),
            state: Mutex::new(QueueState::default()),
            ready: Notify::new(),
        });
        let id = register(Listener {
            filter: self,
            sink: Sink::Queue(Arc::clone(&queue)),
        });
        Subscription { id, queue }
    }

    fn matches(&self, event: &Event<'_>, scopes: &[u64]) -> bool {
        self.scope.is_none_or(|scope| scopes.contains(&scope))
            && self
                .operation
                .as_deref()
                .is_none_or(|operation| operation == event.operation)
            && self
                .agent
                .as_deref()
                .is_none_or(|agent| Some(agent) == event.agent)
    }
}

/// A group of work whose events can be watched apart from everything else
/// in the process: the calls of one agent, one supervisor's agents, one
/// request, or one test.
///
/// Events are emitted on the task that makes the call, so a scope follows
/// the task: [`run`](Scope::run) a future in it, and every event emitted
/// while that future is polled belongs to the scope (and to the scopes it
/// runs in). Task-locals do not cross `tokio::spawn`: run a spawned future
/// in the scope too.
///
/// # Examples
///
/// A supervisor that watches only its own agents, while other code in the
/// process emits events of the same operation:
///
/// ```
/// use resilience_runtime::events::Scope;
/// use resilience_runtime::{ErrorRef, RetryPolicy, RetryState};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// fn give_up(error: &str) {
///     let policy = RetryPolicy::new("summarise").with_attempts(1);
///     RetryState::new().next_delay(&policy, true, None, None, ErrorRef::Display(&error));
/// }
///
/// let my_agents = Scope::new();
/// let mut events = my_agents.subscribe();
/// give_up("someone else's agent");
/// my_agents.run(async { give_up("model overloaded") }).await;
///
/// let event = events.recv().await.unwrap();
/// assert_eq!(event.to_string(), "`summarise` gave up after 1 attempt (attempts exhausted): model overloaded");
/// assert!(events.try_recv().is_none());
/// # }
/// ```
/// Cloning a scope gives the same scope (to run a spawned task in it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    id: u64,
}

impl Scope {
    /// A new scope, distinct from every other.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::Scope;
    ///
    /// assert_ne!(Scope::new(), Scope::new());
    /// ```
    #[allow(clippy::new_without_default)] // each scope is new: no "default" one
    pub fn new() -> Self {
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Runs `future` in this scope (and in the scopes the current task is
    /// already in).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::Scope;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new();
    /// assert_eq!(scope.run(async { 1 + 1 }).await, 2);
    /// # }
    /// ```
    pub async fn run<F: Future>(&self, future: F) -> F::Output {
        SCOPES.scope(self.chain(), future).await
    }

    /// Calls `f` in this scope: for synchronous code.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::Scope;
    ///
    /// assert_eq!(Scope::new().run_sync(|| 7), 7);
    /// ```
    pub fn run_sync<R>(&self, f: impl FnOnce() -> R) -> R {
        SCOPES.sync_scope(self.chain(), f)
    }

    /// Opens a [`Subscription`] to the events of this scope; the same as
    /// `Filter::new().in_scope(self).subscribe()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::Scope;
    ///
    /// let scope = Scope::new();
    /// let mut events = scope.subscribe();
    /// assert!(events.try_recv().is_none());
    /// ```
    pub fn subscribe(&self) -> Subscription {
        Filter::new().in_scope(self).subscribe()
    }

    /// Calls `f` with the events of this scope; the same as
    /// `Filter::new().in_scope(self).observe(f)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::Scope;
    ///
    /// let scope = Scope::new();
    /// let observer = scope.observe(|event| eprintln!("{event}"));
    /// # drop(observer);
    /// ```
    pub fn observe(&self, f: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Observer {
        Filter::new().in_scope(self).observe(f)
    }

    /// The scopes of the current task, with this one added.
    fn chain(&self) -> Arc<[u64]> {
        let mut chain: Vec<u64> = SCOPES
            .try_with(|scopes| scopes.to_vec())
            .unwrap_or_default();
        chain.push(self.id);
        chain.into()
    }
}

/// Calls `f` with every event, on the emitting task, until the returned
/// [`Observer`] is dropped. To see only some events, use
/// [`Filter::observe`] or [`Scope::observe`].
///
/// `f` may itself observe, subscribe or emit. Once the [`Observer`] is
/// dropped, events emitted after that no longer reach `f`; one that another
/// thread was already handing out may still call it, just after. If `f`
/// panics, the panic is caught and reported as a `tracing` error, and the
/// operation that emitted the event goes on as if nobody had been watching.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use resilience_runtime::events::{emit, observe};
/// use resilience_runtime::{Event, EventKind};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = Arc::clone(&seen);
/// let observer = observe(move |event| {
///     if event.operation == "fetch" {
///         sink.lock().unwrap().push(event.to_string());
///     }
/// });
///
/// emit(&Event::new("fetch", EventKind::Timeout { limit: Duration::from_secs(1) }));
/// drop(observer);
/// emit(&Event::new("fetch", EventKind::Timeout { limit: Duration::from_secs(2) }));
///
/// assert_eq!(*seen.lock().unwrap(), ["`fetch` timed out after 1s"]);
/// ```
pub fn observe(f: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Observer {
    Filter::new().observe(f)
}

/// Keeps a callback registered by [`observe`]; dropping it unregisters the
/// callback.
///
/// # Examples
///
/// ```
/// use resilience_runtime::events::{observe, Observer};
///
/// let observer: Observer = observe(|event| eprintln!("{event}"));
/// drop(observer); // no more calls for events emitted from now on
/// ```
#[must_use = "dropping the Observer unregisters the callback at once"]
#[derive(Debug)]
pub struct Observer {
    id: u64,
}

impl Observer {
    /// Keeps the callback registered for the rest of the program.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::observe;
    ///
    /// observe(|event| eprintln!("{event}")).forever();
    /// ```
    pub fn forever(self) {
        core::mem::forget(self);
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        unregister(self.id);
    }
}

/// The scopes of the current task, to carry over to a task that works on
/// its behalf (a saga's background compensations).
pub(crate) fn current_scopes() -> Option<Arc<[u64]>> {
    SCOPES.try_with(Arc::clone).ok()
}

/// Runs `future` in `scopes`, as taken by [`current_scopes`].
pub(crate) async fn within_scopes<F: Future>(scopes: Option<Arc<[u64]>>, future: F) -> F::Output {
    match scopes {
        Some(scopes) => SCOPES.scope(scopes, future).await,
        None => future.await,
    }
}

/// Opens a [`Subscription`] to every event in the process, from now on. To
/// receive only some, use [`Scope::subscribe`] or [`Filter::subscribe`].
///
/// A subscription holds at most [`Subscription::DEFAULT_CAPACITY`] unread
/// events: a reader that falls behind loses the oldest ones, and
/// [`Subscription::missed`] says how many.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::events::{emit, subscribe};
/// use resilience_runtime::{Event, EventKind, OwnedEventKind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut events = subscribe();
/// emit(&Event::new("plan", EventKind::Timeout { limit: Duration::from_secs(9) }));
/// let event = loop {
///     let event = events.recv().await.unwrap();
///     if event.operation == "plan" { break event; } // other code may emit too
/// };
/// assert_eq!(event.kind, OwnedEventKind::Timeout { limit: Duration::from_secs(9) });
/// # }
/// ```
pub fn subscribe() -> Subscription {
    Filter::new().subscribe()
}

/// The unread events of a subscription.
struct Queue {
    capacity: usize,
    state: Mutex<QueueState>,
    /// Woken after each push; one waiter, the subscription.
    ready: Notify,
}

#[derive(Default)]
struct QueueState {
    events: VecDeque<OwnedEvent>,
    /// Dropped since the reader last asked.
    missed: u64,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // No user code runs under the lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, event: OwnedEvent) {
        let mut state = self.lock();
        let mut first_miss = false;
        if state.events.len() >= self.capacity {
            state.events.pop_front();
            state.missed += 1;
            first_miss = state.missed == 1;
        }
        state.events.push_back(event);
        drop(state);
        // Outside the lock: a `tracing` layer may itself emit.
        if first_miss {
            tracing::warn!(
                target: "resilience",
                capacity = self.capacity,
                "an event subscription is full ({} unread events): the oldest are dropped; `Subscription::missed` counts them",
                self.capacity
            );
        }
        self.ready.notify_one();
    }
}

/// The receiving end of [`subscribe`], [`Scope::subscribe`] or
/// [`Filter::subscribe`]; dropping it unsubscribes.
///
/// It holds a bounded number of unread events ([`capacity`](Self::capacity)):
/// when a reader falls behind, the oldest are dropped, so memory stays
/// bounded under any load, and [`missed`](Self::missed) tells the reader how
/// many it lost (as tokio's broadcast channel reports `Lagged(n)`).
///
/// # Examples
///
/// ```
/// use resilience_runtime::events::{subscribe, Subscription};
///
/// let events: Subscription = subscribe();
/// drop(events); // unsubscribes
/// ```
#[derive(Debug)]
pub struct Subscription {
    id: u64,
    queue: Arc<Queue>,
}

impl core::fmt::Debug for Queue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = self.lock();
        f.debug_struct("Queue")
            .field("capacity", &self.capacity)
            .field("unread", &state.events.len())
            .field("missed", &state.missed)
            .finish()
    }
}

impl Subscription {
    /// How many unread events a subscription holds unless told otherwise.
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// Waits for the next event. Returns `None` only if the subscription was
    /// closed, which does not happen while it is alive; the `Option` mirrors
    /// tokio's channels so that `while let Some(event)` loops read well.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::events::{emit, Scope};
    /// use resilience_runtime::{Event, EventKind};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new();
    /// let mut events = scope.subscribe();
    /// scope.run_sync(|| emit(&Event::new("recv_doc", EventKind::Timeout { limit: Duration::from_secs(1) })));
    /// while let Some(event) = events.recv().await {
    ///     assert_eq!(event.operation, "recv_doc");
    ///     break;
    /// }
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Option<OwnedEvent> {
        loop {
            if let Some(event) = self.try_recv() {
                return Some(event);
            }
            // A push between `try_recv` and here leaves a permit: no wakeup
            // is lost.
            self.queue.ready.notified().await;
        }
    }

    /// The next event if one is waiting, without blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::events::{emit, Scope};
    /// use resilience_runtime::{Event, EventKind};
    ///
    /// let scope = Scope::new();
    /// let mut events = scope.subscribe();
    /// scope.run_sync(|| emit(&Event::new("try_doc", EventKind::Timeout { limit: Duration::from_secs(1) })));
    /// assert_eq!(events.try_recv().unwrap().operation, "try_doc");
    /// assert!(events.try_recv().is_none());
    /// ```
    pub fn try_recv(&mut self) -> Option<OwnedEvent> {
        self.queue.lock().events.pop_front()
    }

    /// How many events were dropped because this subscription was full,
    /// since the last call; resets the count.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::events::{emit, Filter, Scope};
    /// use resilience_runtime::{Event, EventKind};
    ///
    /// let scope = Scope::new();
    /// let mut events = Filter::new().in_scope(&scope).subscribe_with_capacity(2);
    /// scope.run_sync(|| {
    ///     for secs in 1..=5 {
    ///         emit(&Event::new("burst", EventKind::Timeout { limit: Duration::from_secs(secs) }));
    ///     }
    /// });
    /// assert_eq!(events.missed(), 3);
    /// assert_eq!(events.missed(), 0);
    /// // The newest are kept.
    /// assert_eq!(events.try_recv().unwrap().to_string(), "`burst` timed out after 4s");
    /// ```
    pub fn missed(&mut self) -> u64 {
        core::mem::take(&mut self.queue.lock().missed)
    }

    /// How many unread events this subscription holds at most.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::events::{subscribe, Subscription};
    ///
    /// assert_eq!(subscribe().capacity(), Subscription::DEFAULT_CAPACITY);
    /// ```
    pub fn capacity(&self) -> usize {
        self.queue.capacity
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        unregister(self.id);
    }
}

#[cfg(test)]
pub(super) fn is_registered(id: u64) -> bool {
    REGISTRY
        .read()
        .unwrap()
        .iter()
        .any(|(other, _)| *other == id)
}

#[cfg(test)]
impl Subscription {
    pub(super) const fn id(&self) -> u64 {
        self.id
    }
}
