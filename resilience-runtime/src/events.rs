//! Events: what the policies did, as `tracing` events and for code that
//! watches.
//!
//! Every retry, give-up, timeout, fallback, compensation and checkpoint goes
//! through [`emit`], which
//!
//! 1. records a [`tracing`] event with target `"resilience"` and structured
//!    fields (`operation`, and `attempt`, `attempts`, `delay`, `limit`,
//!    `reason`, `step`, `error`, `id`, `position` as they apply): WARN for a
//!    retry, a timeout, a fallback and a compensation, ERROR for a give-up
//!    and a compensation that failed, DEBUG for a saved checkpoint; and
//! 2. hands the [`Event`] to the callbacks registered with [`observe`] and
//!    the channels opened with [`subscribe`].
//!
//! When nobody observes, step 2 costs one relaxed atomic load, and step 1
//! what `tracing` costs when no subscriber wants the event.
//!
//! # A supervisor
//!
//! A coordinator can watch its agents and react when one gives up, for
//! example by sending the task to a backup agent:
//!
//! ```
//! use resilience_runtime::events::{self, OwnedEventKind};
//! use resilience_runtime::{ErrorRef, RetryPolicy, RetryState};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut events = events::subscribe();
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
//! // An agent somewhere fails for good (the `#[retry]` code does this).
//! let policy = RetryPolicy::new("summarise").with_attempts(1);
//! RetryState::new().next_delay(&policy, true, None, None, ErrorRef::Display(&"model overloaded"));
//!
//! assert_eq!(
//!     supervisor.await.unwrap(),
//!     "`summarise` needs help after 1 attempts: model overloaded"
//! );
//! # }
//! ```

use core::fmt;
use core::time::Duration;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::mpsc;

use crate::duration::fmt_duration;
use crate::error_ref::ErrorRef;
use crate::retry::GiveUpReason;

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
    /// The operation: the decorated fn's name.
    pub operation: &'static str,
    /// What happened.
    pub kind: EventKind<'a>,
}

/// What happened, in an [`Event`]. More kinds will come (failover and
/// others), hence `#[non_exhaustive]`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{ErrorRef, Event, EventKind};
///
/// let kind = EventKind::Retry { attempt: 1, delay: Duration::from_millis(100), error: ErrorRef::Display(&"busy") };
/// assert_eq!(Event::new("ask", kind).to_string(), "`ask` attempt 1 failed (busy); retrying in 100ms");
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum EventKind<'a> {
    /// An attempt failed and another one follows after `delay`.
    Retry {
        /// The attempt that failed, from 1.
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
        /// The error of the failed attempt.
        error: ErrorRef<'a>,
    },
    /// The last attempt failed and no other follows: the error is returned.
    GaveUp {
        /// The number of attempts made.
        attempts: u32,
        /// Why there is no further attempt.
        reason: GiveUpReason,
        /// The error returned.
        error: ErrorRef<'a>,
    },
    /// The operation ran out of time.
    Timeout {
        /// The time limit.
        limit: Duration,
    },
    /// The operation failed and a fallback value or fn replaces its error.
    Fallback {
        /// The error replaced.
        error: ErrorRef<'a>,
    },
    /// A workflow step failed (or panicked): the completed steps are undone
    /// next. The event's operation is the workflow's name.
    StepFailed {
        /// The step that failed.
        step: &'static str,
        /// What it failed with.
        error: ErrorRef<'a>,
    },
    /// A saga failed and the compensation of a step that had completed
    /// undid it (see [`saga`](mod@crate::saga)).
    Compensated {
        /// The step undone; also the event's operation.
        step: &'static str,
    },
    /// A saga failed and the compensation of a step that had completed
    /// failed too, or could not run: the step is still done.
    CompensationFailed {
        /// The step that could not be undone; also the event's operation.
        step: &'static str,
        /// Why the compensation failed.
        error: ErrorRef<'a>,
    },
    /// A durable workflow's checkpoint was saved and flushed to disk (see
    /// [`checkpoint`](crate::checkpoint)); the event's operation is the
    /// workflow's name.
    Checkpointed {
        /// The id of the workflow run.
        id: &'a str,
        /// The number of steps completed.
        position: u32,
    },
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
    pub const fn new(operation: &'static str, kind: EventKind<'a>) -> Self {
        Self { operation, kind }
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
        let kind = match self.kind {
            EventKind::Retry {
                attempt,
                delay,
                error,
            } => OwnedEventKind::Retry {
                attempt,
                delay,
                error: error.to_string(),
            },
            EventKind::GaveUp {
                attempts,
                reason,
                error,
            } => OwnedEventKind::GaveUp {
                attempts,
                reason,
                error: error.to_string(),
            },
            EventKind::Timeout { limit } => OwnedEventKind::Timeout { limit },
            EventKind::Fallback { error } => OwnedEventKind::Fallback {
                error: error.to_string(),
            },
            EventKind::StepFailed { step, error } => OwnedEventKind::StepFailed {
                step,
                error: error.to_string(),
            },
            EventKind::Compensated { step } => OwnedEventKind::Compensated { step },
            EventKind::CompensationFailed { step, error } => OwnedEventKind::CompensationFailed {
                step,
                error: error.to_string(),
            },
            EventKind::Checkpointed { id, position } => OwnedEventKind::Checkpointed {
                id: id.to_owned(),
                position,
            },
        };
        OwnedEvent {
            operation: self.operation,
            kind,
        }
    }
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.operation;
        match self.kind {
            EventKind::Retry {
                attempt,
                delay,
                error,
            } => write!(
                f,
                "`{op}` attempt {attempt} failed ({error}); retrying in {}",
                fmt_duration(delay)
            ),
            EventKind::GaveUp {
                attempts,
                reason,
                error,
            } => write!(
                f,
                "`{op}` gave up after {attempts} attempt{} ({reason}): {error}",
                if attempts == 1 { "" } else { "s" }
            ),
            EventKind::Timeout { limit } => {
                write!(f, "`{op}` timed out after {}", fmt_duration(limit))
            }
            EventKind::Fallback { error } => {
                write!(f, "`{op}` failed ({error}); using the fallback")
            }
            EventKind::StepFailed { step, error } => {
                write!(
                    f,
                    "`{op}` step `{step}` failed ({error}); undoing the completed steps"
                )
            }
            EventKind::Compensated { step } => write!(f, "`{step}` undone by its compensation"),
            EventKind::CompensationFailed { step, error } => {
                write!(f, "`{step}` could not be undone: {error}")
            }
            EventKind::Checkpointed { id, position } => write!(
                f,
                "`{op}` id `{id}` checkpointed after {position} step{}",
                if position == 1 { "" } else { "s" }
            ),
        }
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
    /// The operation: the decorated fn's name.
    pub operation: &'static str,
    /// What happened.
    pub kind: OwnedEventKind,
}

/// An [`EventKind`] with its error rendered to a `String`.
///
/// # Examples
///
/// ```
/// use resilience_runtime::{ErrorRef, Event, EventKind, OwnedEventKind};
///
/// let event = Event::new("ask", EventKind::Fallback { error: ErrorRef::Debug(&404) });
/// assert!(matches!(event.into_owned().kind, OwnedEventKind::Fallback { error } if error == "404"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OwnedEventKind {
    /// See [`EventKind::Retry`].
    Retry {
        /// The attempt that failed, from 1.
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
        /// The error of the failed attempt.
        error: String,
    },
    /// See [`EventKind::GaveUp`].
    GaveUp {
        /// The number of attempts made.
        attempts: u32,
        /// Why there is no further attempt.
        reason: GiveUpReason,
        /// The error returned.
        error: String,
    },
    /// See [`EventKind::Timeout`].
    Timeout {
        /// The time limit.
        limit: Duration,
    },
    /// See [`EventKind::Fallback`].
    Fallback {
        /// The error replaced.
        error: String,
    },
    /// See [`EventKind::StepFailed`].
    StepFailed {
        /// The step that failed.
        step: &'static str,
        /// What it failed with.
        error: String,
    },
    /// See [`EventKind::Compensated`].
    Compensated {
        /// The step undone; also the event's operation.
        step: &'static str,
    },
    /// See [`EventKind::CompensationFailed`].
    CompensationFailed {
        /// The step that could not be undone; also the event's operation.
        step: &'static str,
        /// Why the compensation failed.
        error: String,
    },
    /// See [`EventKind::Checkpointed`].
    Checkpointed {
        /// The id of the workflow run.
        id: String,
        /// The number of steps completed.
        position: u32,
    },
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
        let kind = match &self.kind {
            OwnedEventKind::Retry {
                attempt,
                delay,
                error,
            } => EventKind::Retry {
                attempt: *attempt,
                delay: *delay,
                error: ErrorRef::Display(error),
            },
            OwnedEventKind::GaveUp {
                attempts,
                reason,
                error,
            } => EventKind::GaveUp {
                attempts: *attempts,
                reason: *reason,
                error: ErrorRef::Display(error),
            },
            OwnedEventKind::Timeout { limit } => EventKind::Timeout { limit: *limit },
            OwnedEventKind::Fallback { error } => EventKind::Fallback {
                error: ErrorRef::Display(error),
            },
            OwnedEventKind::StepFailed { step, error } => EventKind::StepFailed {
                step,
                error: ErrorRef::Display(error),
            },
            OwnedEventKind::Compensated { step } => EventKind::Compensated { step },
            OwnedEventKind::CompensationFailed { step, error } => EventKind::CompensationFailed {
                step,
                error: ErrorRef::Display(error),
            },
            OwnedEventKind::Checkpointed { id, position } => EventKind::Checkpointed {
                id,
                position: *position,
            },
        };
        Event::new(self.operation, kind)
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

/// Reports `event`: the one entry point of every policy (see the
/// [module docs](self)). It records a `tracing` event, then calls the
/// observers; observers run on the emitting task, so they should be quick.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::events::{emit, subscribe};
/// use resilience_runtime::{Event, EventKind};
///
/// let mut events = subscribe();
/// emit(&Event::new("my_step", EventKind::Timeout { limit: Duration::from_secs(5) }));
/// let got: Vec<_> = std::iter::from_fn(|| events.try_recv())
///     .filter(|e| e.operation == "my_step") // other code may emit too
///     .collect();
/// assert_eq!(got[0].to_string(), "`my_step` timed out after 5s");
/// ```
pub fn emit(event: &Event<'_>) {
    record(event);
    if LISTENERS.load(Ordering::Relaxed) != 0 {
        notify(event);
    }
}

/// The `tracing` half of [`emit`].
fn record(event: &Event<'_>) {
    let operation = event.operation;
    match event.kind {
        EventKind::Retry {
            attempt,
            delay,
            error,
        } => tracing::warn!(
            target: "resilience",
            operation,
            attempt,
            delay = %fmt_duration(delay),
            error = %error,
            "{event}"
        ),
        EventKind::GaveUp {
            attempts,
            reason,
            error,
        } => tracing::error!(
            target: "resilience",
            operation,
            attempts,
            reason = %reason,
            error = %error,
            "{event}"
        ),
        EventKind::Timeout { limit } => tracing::warn!(
            target: "resilience",
            operation,
            limit = %fmt_duration(limit),
            "{event}"
        ),
        EventKind::Fallback { error } => tracing::warn!(
            target: "resilience",
            operation,
            error = %error,
            "{event}"
        ),
        EventKind::StepFailed { step, error } => tracing::error!(
            target: "resilience",
            operation,
            step,
            error = %error,
            "{event}"
        ),
        EventKind::Compensated { step } => tracing::warn!(
            target: "resilience",
            operation,
            step,
            "{event}"
        ),
        EventKind::CompensationFailed { step, error } => tracing::error!(
            target: "resilience",
            operation,
            step,
            error = %error,
            "{event}"
        ),
        EventKind::Checkpointed { id, position } => tracing::debug!(
            target: "resilience",
            operation,
            id,
            position,
            "{event}"
        ),
    }
}

/// A registered callback or channel.
#[derive(Clone)]
enum Listener {
    Callback(Arc<dyn Fn(&Event<'_>) + Send + Sync>),
    Channel(mpsc::UnboundedSender<OwnedEvent>),
}

/// How many listeners are registered: the fast path reads only this.
static LISTENERS: AtomicUsize = AtomicUsize::new(0);
/// The listeners, by id.
static REGISTRY: RwLock<Vec<(u64, Listener)>> = RwLock::new(Vec::new());
/// The next listener id.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// The observer half of [`emit`], out of line to keep the fast path small.
#[cold]
#[inline(never)]
fn notify(event: &Event<'_>) {
    // Copy the list out so that a callback may register, unregister or emit
    // without deadlocking on the registry.
    let listeners: Vec<Listener> = REGISTRY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(_, listener)| listener.clone())
        .collect();
    let mut owned = None;
    for listener in listeners {
        match listener {
            Listener::Callback(f) => f(event),
            Listener::Channel(tx) => {
                let owned = owned.get_or_insert_with(|| event.into_owned());
                // Fails only while the subscription is being dropped.
                let _ = tx.send(owned.clone());
            }
        }
    }
}

fn register(listener: Listener) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    registry.push((id, listener));
    LISTENERS.store(registry.len(), Ordering::Relaxed);
    id
}

fn unregister(id: u64) {
    let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    registry.retain(|(other, _)| *other != id);
    LISTENERS.store(registry.len(), Ordering::Relaxed);
}

/// Calls `f` with every event, on the emitting task, until the returned
/// [`Observer`] is dropped.
///
/// `f` may itself observe, subscribe or emit. An event emitted while the
/// guard is being dropped on another thread may still reach `f`.
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
    Observer {
        id: register(Listener::Callback(Arc::new(f))),
    }
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
/// drop(observer); // no more calls
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

/// Opens a channel that receives every event from now on, as an
/// [`OwnedEvent`], until the returned [`Subscription`] is dropped.
///
/// The channel is unbounded: a `Subscription` that is kept but never read
/// grows for as long as events happen. Receive from it, or drop it.
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
    let (tx, rx) = mpsc::unbounded_channel();
    Subscription {
        id: register(Listener::Channel(tx)),
        rx,
    }
}

/// The receiving end of [`subscribe`]; dropping it unsubscribes.
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
    rx: mpsc::UnboundedReceiver<OwnedEvent>,
}

impl Subscription {
    /// Waits for the next event. Returns `None` only if the subscription was
    /// closed, which does not happen while it is alive; the `Option` mirrors
    /// tokio's channels so that `while let Some(event)` loops read well.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::events::{emit, subscribe};
    /// use resilience_runtime::{Event, EventKind};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut events = subscribe();
    /// emit(&Event::new("recv_doc", EventKind::Timeout { limit: Duration::from_secs(1) }));
    /// while let Some(event) = events.recv().await {
    ///     if event.operation == "recv_doc" {
    ///         break;
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Option<OwnedEvent> {
        self.rx.recv().await
    }

    /// The next event if one is waiting, without blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::events::{emit, subscribe};
    /// use resilience_runtime::{Event, EventKind};
    ///
    /// let mut events = subscribe();
    /// emit(&Event::new("try_doc", EventKind::Timeout { limit: Duration::from_secs(1) }));
    /// assert!(std::iter::from_fn(|| events.try_recv()).any(|e| e.operation == "try_doc"));
    /// ```
    pub fn try_recv(&mut self) -> Option<OwnedEvent> {
        self.rx.try_recv().ok()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        unregister(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn timeout(operation: &'static str, secs: u64) -> Event<'static> {
        Event::new(
            operation,
            EventKind::Timeout {
                limit: Duration::from_secs(secs),
            },
        )
    }

    /// The events of `operation` waiting in `sub` (other tests emit too).
    fn drain(sub: &mut Subscription, operation: &str) -> Vec<OwnedEvent> {
        core::iter::from_fn(|| sub.try_recv())
            .filter(|e| e.operation == operation)
            .collect()
    }

    #[test]
    fn observer_receives_events_and_unregisters_on_drop() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let observer = observe(move |event| {
            if event.operation == "events::observer" {
                sink.lock().unwrap().push(event.into_owned());
            }
        });
        emit(&timeout("events::observer", 1));
        emit(&timeout("events::observer", 2));
        drop(observer);
        emit(&timeout("events::observer", 3));
        let seen = seen.lock().unwrap();
        let limits: Vec<_> = seen
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
        let inner = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&inner);
        let outer = observe(move |event| {
            if event.operation == "events::reenter" {
                // Registering and emitting from a callback must not deadlock.
                *slot.lock().unwrap() = Some(observe(|_| {}));
                emit(&timeout("events::reentered", 1));
            }
        });
        emit(&timeout("events::reenter", 1));
        drop(outer);
        assert!(inner.lock().unwrap().take().is_some());
    }

    #[tokio::test]
    async fn subscription_receives_owned_events() {
        let mut sub = subscribe();
        let error = std::io::Error::other("rate limited");
        emit(&Event::new(
            "events::sub",
            EventKind::Retry {
                attempt: 2,
                delay: Duration::from_millis(400),
                error: ErrorRef::Display(&error),
            },
        ));
        emit(&Event::new(
            "events::sub",
            EventKind::GaveUp {
                attempts: 3,
                reason: GiveUpReason::Exhausted,
                error: ErrorRef::Debug(&42),
            },
        ));
        let first = loop {
            let event = sub.recv().await.unwrap();
            if event.operation == "events::sub" {
                break event;
            }
        };
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
            "`events::sub` attempt 2 failed (rate limited); retrying in 400ms"
        );
        let rest = drain(&mut sub, "events::sub");
        assert_eq!(rest.len(), 1);
        assert_eq!(
            rest[0].to_string(),
            "`events::sub` gave up after 3 attempts (attempts exhausted): 42"
        );
    }

    #[test]
    fn dropped_subscription_stops_receiving() {
        let mut kept = subscribe();
        let dropped = subscribe();
        let id = dropped.id;
        drop(dropped);
        assert!(
            REGISTRY
                .read()
                .unwrap()
                .iter()
                .all(|(other, _)| *other != id)
        );
        emit(&timeout("events::dropped", 1));
        assert_eq!(drain(&mut kept, "events::dropped").len(), 1);
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
        for (kind, want) in cases {
            let event = Event::new("op", kind);
            assert_eq!(event.to_string(), want);
            assert_eq!(event.into_owned().to_string(), want);
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
            std::thread::sleep(Duration::from_millis(10));
            tracing::callsite::rebuild_interest_cache();
            recorder.0.lock().unwrap().clear();
            for kind in kinds {
                emit(&Event::new("traced", kind));
            }
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
            ]
        );
    }
}
