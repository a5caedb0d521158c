//! [`Bulkhead`]: at most N calls at once, an optional bounded queue and a
//! longest wait; what `#[bulkhead]` runs.
//!
//! A bulkhead keeps one slow or overloaded dependency from taking every
//! task of a program with it (the guide's "resource contention"): at most
//! `max` calls run through it at once; a call that finds every slot taken
//! waits in a queue of at most `queue` calls, for at most `wait`, or is
//! turned away at once with [`Rejected`], which says which operation, which
//! bulkhead and why ([`RejectReason`]). Every rejection is an event
//! ([`EventKind::BulkheadRejected`]).
//!
//! The slots are a [`tokio::sync::Semaphore`] (first come, first served:
//! a call that arrives while others wait never overtakes them); an
//! uncontended call costs one compare-and-swap to enter and the semaphore's
//! release to leave, and allocates nothing. Only a call that has to wait
//! allocates its wait.
//!
//! # Defaults
//!
//! | setting | default | like |
//! |---|---|---|
//! | `max` (calls at once) | required | resilience4j `maxConcurrentCalls` (25), Polly `PermitLimit` |
//! | [`with_queue`](Bulkhead::with_queue) (calls that may wait) | 0: turned away at once when full | Polly `QueueLimit` (0) |
//! | [`with_wait`](Bulkhead::with_wait) (longest wait in the queue) | none: wait for a slot | resilience4j `maxWaitDuration` |
//! | [`with_name`](Bulkhead::with_name) | `"bulkhead"` (`#[bulkhead(max = N)]`: the fn's name) | |
//!
//! # Examples
//!
//! The code that `#[bulkhead(state = LLM)]` writes, by hand:
//!
//! ```
//! use std::time::Duration;
//! use resilience_runtime::{Bulkhead, Rejected};
//!
//! static LLM: Bulkhead = Bulkhead::new(2).with_name("llm").with_queue(4).with_wait(Duration::from_secs(1));
//!
//! #[derive(Debug)]
//! enum AgentError { Rejected(Rejected) }
//! impl From<Rejected> for AgentError {
//!     fn from(e: Rejected) -> Self { AgentError::Rejected(e) }
//! }
//!
//! async fn ask(prompt: &str) -> Result<String, AgentError> {
//!     let _slot = LLM.acquire("ask").await?;
//!     Ok(format!("answer to {prompt}"))
//!     // `_slot` is dropped here: the slot is free again.
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! assert_eq!(ask("2 + 2").await.unwrap(), "answer to 2 + 2");
//! assert_eq!(LLM.running(), 0);
//! # }
//! ```

use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::{Context, Poll};
use core::time::Duration;
use std::sync::Arc;

use tokio::sync::{Semaphore, SemaphorePermit};

pub use crate::events::RejectReason;
use crate::events::{Event, EventKind, emit};

/// At most `max` calls at once, shared by every call through it; see the
/// [module docs](self) for the defaults.
///
/// [`Bulkhead::new`] and the `with_*` builders are `const`, so a bulkhead
/// can be a `static` shared by many fns (`#[bulkhead(state = LLM)]`), or a
/// field of an agent (`#[bulkhead(state = self.slots)]`). It is `Send` and
/// `Sync`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::Bulkhead;
///
/// static SEARCH: Bulkhead = Bulkhead::new(8).with_queue(16).with_wait(Duration::from_millis(100));
/// assert_eq!((SEARCH.max(), SEARCH.queue(), SEARCH.running()), (8, 16, 0));
/// ```
#[derive(Debug)]
pub struct Bulkhead {
    name: &'static str,
    max: usize,
    queue: usize,
    wait: Option<Duration>,
    slots: Semaphore,
    /// Calls in the queue now.
    waiting: AtomicUsize,
}

impl Bulkhead {
    /// A bulkhead of `max` calls at once, without a queue: a call that finds
    /// every slot taken is turned away at once. `max = 0` admits nothing
    /// (every call is [`RejectReason::Full`]); a `max` above
    /// [`Semaphore::MAX_PERMITS`] (about 2^61) counts as that.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Bulkhead;
    ///
    /// static POOL: Bulkhead = Bulkhead::new(4);
    /// assert_eq!((POOL.name(), POOL.max(), POOL.queue(), POOL.wait()), ("bulkhead", 4, 0, None));
    /// ```
    pub const fn new(max: usize) -> Self {
        let max = if max > Semaphore::MAX_PERMITS {
            Semaphore::MAX_PERMITS
        } else {
            max
        };
        Self {
            name: "bulkhead",
            max,
            queue: 0,
            wait: None,
            slots: Semaphore::const_new(max),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Names the bulkhead in events and errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Bulkhead;
    ///
    /// assert_eq!(Bulkhead::new(4).with_name("llm").name(), "llm");
    /// ```
    #[must_use]
    pub const fn with_name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Lets up to `queue` calls wait for a slot when every slot is taken
    /// (first come, first served); one more is turned away with
    /// [`RejectReason::QueueFull`]. 0, the default, turns a call away at
    /// once.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Bulkhead;
    ///
    /// assert_eq!(Bulkhead::new(4).with_queue(10).queue(), 10);
    /// ```
    #[must_use]
    pub const fn with_queue(mut self, queue: usize) -> Self {
        self.queue = queue;
        self
    }

    /// The longest a call waits in the queue; then it is turned away with
    /// [`RejectReason::WaitedTooLong`]. Without it (the default) a queued
    /// call waits until a slot is free. It matters only with a queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Bulkhead;
    ///
    /// let pool = Bulkhead::new(4).with_queue(10).with_wait(Duration::from_millis(250));
    /// assert_eq!(pool.wait(), Some(Duration::from_millis(250)));
    /// ```
    #[must_use]
    pub const fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = Some(wait);
        self
    }

    /// The name shown in events and errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Bulkhead;
    ///
    /// assert_eq!(Bulkhead::new(1).name(), "bulkhead");
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The most calls at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Bulkhead;
    ///
    /// assert_eq!(Bulkhead::new(3).max(), 3);
    /// ```
    pub const fn max(&self) -> usize {
        self.max
    }

    /// The most calls that may wait for a slot.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Bulkhead;
    ///
    /// assert_eq!(Bulkhead::new(3).queue(), 0);
    /// ```
    pub const fn queue(&self) -> usize {
        self.queue
    }

    /// The longest wait in the queue, if bounded.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Bulkhead;
    ///
    /// assert_eq!(Bulkhead::new(3).wait(), None);
    /// ```
    pub const fn wait(&self) -> Option<Duration> {
        self.wait
    }

    /// The calls inside now (holding a slot).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Bulkhead;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = Bulkhead::new(2);
    /// let slot = pool.acquire("ask").await.unwrap();
    /// assert_eq!(pool.running(), 1);
    /// drop(slot);
    /// assert_eq!(pool.running(), 0);
    /// # }
    /// ```
    pub fn running(&self) -> usize {
        self.max.saturating_sub(self.slots.available_permits())
    }

    /// The calls waiting in the queue now.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Bulkhead;
    ///
    /// assert_eq!(Bulkhead::new(2).with_queue(4).waiting(), 0);
    /// ```
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Takes a slot for a call of `operation` (the name in the error and the
    /// event): at once if one is free; else, with a queue, after waiting
    /// for one. The slot is free again when the [`BulkheadPermit`] is
    /// dropped.
    ///
    /// # Errors
    ///
    /// [`Rejected`] when the bulkhead turns the call away: every slot taken
    /// and no queue ([`RejectReason::Full`]), the queue full too
    /// ([`RejectReason::QueueFull`]), or no slot free within the longest
    /// wait ([`RejectReason::WaitedTooLong`]). Each emits, when the future returns it,
    /// [`EventKind::BulkheadRejected`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Bulkhead, RejectReason};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = Bulkhead::new(1).with_name("pool");
    /// let _held = pool.acquire("ask").await.unwrap();
    /// let rejected = pool.acquire("ask").await.unwrap_err();
    /// assert_eq!(rejected.reason(), RejectReason::Full { max: 1 });
    /// assert_eq!(rejected.to_string(), "`ask` rejected by bulkhead `pool`: all 1 slot is taken and there is no queue");
    /// # }
    /// ```
    pub fn acquire(&self, operation: &'static str) -> Acquire<'_> {
        let state = match self.slots.try_acquire() {
            Ok(slot) => State::Done(Some(Ok(BulkheadPermit { _slot: slot }))),
            Err(_) => self.contended(operation),
        };
        Acquire { state }
    }

    /// Takes a free slot at once, or says that there was none: what
    /// `#[bulkhead]` does first, so that the uncontended path is one
    /// compare-and-swap and no future. Awaiting the [`Contended`] then
    /// queues the call or turns it away, as [`acquire`](Self::acquire)
    /// does.
    ///
    /// # Errors
    ///
    /// [`Contended`] when every slot is taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Bulkhead, RejectReason};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = Bulkhead::new(1);
    /// let slot = pool.try_acquire("ask").unwrap();
    /// let contended = pool.try_acquire("ask").unwrap_err();
    /// assert_eq!(contended.await.unwrap_err().reason(), RejectReason::Full { max: 1 });
    /// # drop(slot);
    /// # }
    /// ```
    #[inline]
    pub fn try_acquire(
        &self,
        operation: &'static str,
    ) -> Result<BulkheadPermit<'_>, Contended<'_>> {
        match self.slots.try_acquire() {
            Ok(slot) => Ok(BulkheadPermit { _slot: slot }),
            Err(_) => Err(Contended {
                bulkhead: self,
                operation,
            }),
        }
    }

    /// Every slot was taken: queue the call, or turn it away.
    #[cold]
    fn contended(&self, operation: &'static str) -> State<'_> {
        if self.queue == 0 {
            return self.reject(operation, RejectReason::Full { max: self.max });
        }
        // Never counts past the bound, even for a moment.
        let joined = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |waiting| {
                (waiting < self.queue).then_some(waiting + 1)
            });
        if joined.is_err() {
            let reason = RejectReason::QueueFull {
                max: self.max,
                queue: self.queue,
            };
            return self.reject(operation, reason);
        }
        // Counted from here: a cancelled wait leaves the queue too.
        let queued = Queued(&self.waiting);
        State::Waiting(Box::pin(async move {
            let waited = match self.wait {
                None => self.slots.acquire().await,
                Some(wait) => match tokio::time::timeout(wait, self.slots.acquire()).await {
                    Ok(waited) => waited,
                    Err(_) => {
                        drop(queued);
                        return Err(self.rejected(operation, RejectReason::WaitedTooLong { wait }));
                    }
                },
            };
            drop(queued);
            match waited {
                Ok(slot) => Ok(BulkheadPermit { _slot: slot }),
                // The semaphore is never closed (it is private).
                Err(_) => Err(self.rejected(operation, RejectReason::Full { max: self.max })),
            }
        }))
    }

    fn reject(&self, operation: &'static str, reason: RejectReason) -> State<'_> {
        State::Done(Some(Err(self.rejected(operation, reason))))
    }

    /// The error; its event is emitted when the caller sees it (polled, so
    /// in the caller's [`Scope`](crate::events::Scope)).
    fn rejected(&self, operation: &'static str, reason: RejectReason) -> Rejected {
        Rejected {
            operation,
            bulkhead: self.name,
            reason,
        }
    }
}

/// Emits [`EventKind::BulkheadRejected`] for `rejected`.
fn report(rejected: Rejected) -> Rejected {
    emit(&Event::new(
        rejected.operation,
        EventKind::BulkheadRejected {
            bulkhead: rejected.bulkhead,
            reason: rejected.reason,
        },
    ));
    rejected
}

/// A call that found every slot of a [`Bulkhead`] taken (see
/// [`Bulkhead::try_acquire`]); awaiting it queues the call or turns it away.
///
/// # Examples
///
/// ```
/// use resilience_runtime::Bulkhead;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let pool = Bulkhead::new(1).with_queue(1);
/// let held = pool.try_acquire("ask").unwrap();
/// let waiting = pool.try_acquire("ask").unwrap_err();
/// drop(held);
/// assert!(waiting.await.is_ok());
/// # }
/// ```
#[derive(Debug)]
#[must_use = "the call is queued or turned away only when this is awaited"]
pub struct Contended<'a> {
    bulkhead: &'a Bulkhead,
    operation: &'static str,
}

impl<'a> IntoFuture for Contended<'a> {
    type Output = Result<BulkheadPermit<'a>, Rejected>;
    type IntoFuture = Acquire<'a>;

    fn into_future(self) -> Acquire<'a> {
        // A slot may have come free since.
        self.bulkhead.acquire(self.operation)
    }
}

/// One call in the queue; leaves it when dropped (the wait ended or was
/// cancelled).
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A slot of a [`Bulkhead`], held by one call; free again when dropped.
///
/// # Examples
///
/// ```
/// use resilience_runtime::Bulkhead;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let pool = Bulkhead::new(1);
/// let slot = pool.acquire("ask").await.unwrap();
/// assert!(pool.acquire("ask").await.is_err());
/// drop(slot);
/// assert!(pool.acquire("ask").await.is_ok());
/// # }
/// ```
#[derive(Debug)]
#[must_use = "the slot is free again as soon as the permit is dropped"]
pub struct BulkheadPermit<'a> {
    _slot: SemaphorePermit<'a>,
}

type Wait<'a> =
    Pin<Box<dyn Future<Output = Result<BulkheadPermit<'a>, Rejected>> + Send + Sync + 'a>>;

enum State<'a> {
    /// Decided at once: a free slot, or a rejection (taken when polled).
    Done(Option<Result<BulkheadPermit<'a>, Rejected>>),
    /// In the queue.
    Waiting(Wait<'a>),
}

/// The future of [`Bulkhead::acquire`]: ready at once when a slot was free
/// or the call is turned away, else waiting in the queue. Dropping it
/// leaves the queue.
///
/// # Examples
///
/// ```
/// use resilience_runtime::Bulkhead;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let pool = Bulkhead::new(1);
/// let acquire = pool.acquire("ask");
/// assert_eq!(pool.running(), 1); // the free slot was taken at once
/// let slot = acquire.await.unwrap();
/// # drop(slot);
/// # }
/// ```
#[must_use = "a slot is taken only when the future is awaited (or at once, if free)"]
pub struct Acquire<'a> {
    state: State<'a>,
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Done(_) => "done",
            State::Waiting(_) => "waiting",
        };
        f.debug_struct("Acquire").field("state", &state).finish()
    }
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<BulkheadPermit<'a>, Rejected>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            State::Waiting(wait) => wait.as_mut().poll(cx).map_err(report),
            State::Done(done) => match done.take() {
                Some(result) => Poll::Ready(result.map_err(report)),
                // Polled after completion: it stays pending (the `Fuse` contract).
                None => Poll::Pending,
            },
        }
    }
}

/// A call that a [`Bulkhead`] turned away: it did not run. It names the
/// operation, the bulkhead and why.
///
/// Error types of `#[bulkhead]` fns convert from it, usually with
/// `#[error(transparent)] Rejected(#[from] Rejected)`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{Bulkhead, RejectReason};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let pool = Bulkhead::new(1).with_name("llm").with_queue(1).with_wait(Duration::from_millis(100));
/// let _held = pool.acquire("summarise").await.unwrap();
/// let err = pool.acquire("summarise").await.unwrap_err();
/// assert_eq!((err.operation(), err.bulkhead()), ("summarise", "llm"));
/// assert_eq!(err.reason(), RejectReason::WaitedTooLong { wait: Duration::from_millis(100) });
/// assert_eq!(err.to_string(), "`summarise` rejected by bulkhead `llm`: no slot came free within 100ms");
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rejected {
    operation: &'static str,
    bulkhead: &'static str,
    reason: RejectReason,
}

impl Rejected {
    /// The error for a call of `operation` turned away by the bulkhead
    /// named `bulkhead`. It emits no event; [`Bulkhead::acquire`] does.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{RejectReason, Rejected};
    ///
    /// let err = Rejected::new("ask", "llm", RejectReason::QueueFull { max: 2, queue: 3 });
    /// assert_eq!(err.to_string(), "`ask` rejected by bulkhead `llm`: all 2 slots are taken and the queue of 3 is full");
    /// ```
    pub const fn new(
        operation: &'static str,
        bulkhead: &'static str,
        reason: RejectReason,
    ) -> Self {
        Self {
            operation,
            bulkhead,
            reason,
        }
    }

    /// The operation turned away.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{RejectReason, Rejected};
    ///
    /// assert_eq!(Rejected::new("ask", "llm", RejectReason::Full { max: 1 }).operation(), "ask");
    /// ```
    pub const fn operation(&self) -> &'static str {
        self.operation
    }

    /// The bulkhead's name.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{RejectReason, Rejected};
    ///
    /// assert_eq!(Rejected::new("ask", "llm", RejectReason::Full { max: 1 }).bulkhead(), "llm");
    /// ```
    pub const fn bulkhead(&self) -> &'static str {
        self.bulkhead
    }

    /// Why the call was turned away.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{RejectReason, Rejected};
    ///
    /// let err = Rejected::new("ask", "llm", RejectReason::Full { max: 1 });
    /// assert_eq!(err.reason(), RejectReason::Full { max: 1 });
    /// ```
    pub const fn reason(&self) -> RejectReason {
        self.reason
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` rejected by bulkhead `{}`: {}",
            self.operation, self.bulkhead, self.reason
        )
    }
}

impl std::error::Error for Rejected {}

/// A value `#[bulkhead(state = ..)]` can name: a [`Bulkhead`], or a
/// reference or an `Arc` to one.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use resilience_runtime::{Bulkhead, bulkhead::BulkheadState};
///
/// let shared = Arc::new(Bulkhead::new(2));
/// assert_eq!(shared.bulkhead_state().max(), 2);
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[bulkhead]` needs `state` to be a `resilience::Bulkhead`, found `{Self}`",
    label = "not a `resilience::Bulkhead`",
    note = "declare `static POOL: resilience::Bulkhead = resilience::Bulkhead::new(8);` and write `#[bulkhead(state = POOL)]`, or give the fn its own limit with `#[bulkhead(max = 8)]`"
)]
pub trait BulkheadState {
    /// The bulkhead.
    fn bulkhead_state(&self) -> &Bulkhead;
}

impl BulkheadState for Bulkhead {
    fn bulkhead_state(&self) -> &Bulkhead {
        self
    }
}

impl<T: BulkheadState + ?Sized> BulkheadState for &T {
    fn bulkhead_state(&self) -> &Bulkhead {
        (**self).bulkhead_state()
    }
}

impl<T: BulkheadState + ?Sized> BulkheadState for Arc<T> {
    fn bulkhead_state(&self) -> &Bulkhead {
        (**self).bulkhead_state()
    }
}

/// Error types that a `#[bulkhead]` fn can return: every `E: From<Rejected>`.
///
/// It exists to explain, when the conversion is missing, how to add it.
///
/// # Examples
///
/// ```
/// use resilience_runtime::{RejectReason, Rejected, bulkhead::FromRejected};
///
/// #[derive(Debug)]
/// struct MyError(Rejected);
/// impl From<Rejected> for MyError {
///     fn from(e: Rejected) -> Self { MyError(e) }
/// }
///
/// let err = MyError::from_rejected(Rejected::new("ask", "llm", RejectReason::Full { max: 1 }));
/// assert_eq!(err.0.operation(), "ask");
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[bulkhead]` needs `{Self}` to implement `From<resilience::Rejected>`",
    label = "the error type of this `#[bulkhead]` fn",
    note = "add a variant such as `#[error(transparent)] Rejected(#[from] resilience::Rejected)`"
)]
pub trait FromRejected {
    /// Converts the rejection.
    fn from_rejected(rejected: Rejected) -> Self;
}

impl<E: From<Rejected>> FromRejected for E {
    fn from_rejected(rejected: Rejected) -> Self {
        E::from(rejected)
    }
}

/// Converts `rejected` into the fn's error type; called by the generated
/// code.
///
/// # Examples
///
/// ```
/// use resilience_runtime::{RejectReason, Rejected, bulkhead::bulkhead_error};
///
/// let err: Box<dyn std::error::Error> = bulkhead_error(Rejected::new("ask", "llm", RejectReason::Full { max: 1 }));
/// assert!(err.to_string().starts_with("`ask` rejected"));
/// ```
pub fn bulkhead_error<E: FromRejected>(rejected: Rejected) -> E {
    E::from_rejected(rejected)
}

/// What `#[bulkhead]` calls: [`Bulkhead::try_acquire`] on the bulkhead
/// that `state` names (or the fn's own); it awaits the [`Contended`] only
/// when every slot was taken.
///
/// # Examples
///
/// ```
/// use resilience_runtime::{Bulkhead, bulkhead::enter};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// static POOL: Bulkhead = Bulkhead::new(1);
/// let slot = enter(&POOL, "ask").unwrap();
/// assert_eq!(POOL.running(), 1);
/// # drop(slot);
/// # }
/// ```
#[inline]
pub fn enter<'a, S: BulkheadState + ?Sized>(
    state: &'a S,
    operation: &'static str,
) -> Result<BulkheadPermit<'a>, Contended<'a>> {
    state.bulkhead_state().try_acquire(operation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{OwnedEventKind, scoped};

    fn assert_send_sync<T: Send + Sync>(_: &T) {}

    /// Polls once, with a waker that does nothing.
    fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
        Pin::new(future).poll(&mut Context::from_waker(std::task::Waker::noop()))
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_is_send_and_sync_and_small() {
        let pool = Bulkhead::new(1);
        let acquire = pool.acquire("ask");
        assert_send_sync(&acquire);
        assert!(
            size_of::<Acquire<'_>>() <= 80,
            "{}",
            size_of::<Acquire<'_>>()
        );
        drop(acquire.await);
    }

    #[tokio::test(start_paused = true)]
    async fn full_without_queue_is_rejected_at_once_with_an_event() {
        let (scope, mut events) = scoped();
        let pool = Bulkhead::new(2).with_name("pool");
        let a = pool.acquire("ask").await.unwrap();
        let b = pool.acquire("ask").await.unwrap();
        assert_eq!(pool.running(), 2);
        let err = scope
            .run(async { pool.acquire("ask").await })
            .await
            .unwrap_err();
        assert_eq!(
            err,
            Rejected::new("ask", "pool", RejectReason::Full { max: 2 })
        );
        let event = events.try_recv().unwrap();
        assert_eq!(event.operation, "ask");
        assert_eq!(
            event.kind,
            OwnedEventKind::BulkheadRejected {
                bulkhead: "pool".into(),
                reason: RejectReason::Full { max: 2 }
            }
        );
        assert_eq!(
            event.to_string(),
            "`ask` rejected by bulkhead `pool`: all 2 slots are taken and there is no queue"
        );
        drop((a, b));
        assert_eq!(pool.running(), 0);
        assert!(pool.acquire("ask").await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn queue_bound_and_fifo_hand_over() {
        let pool = Bulkhead::new(1).with_queue(2);
        let held = pool.acquire("ask").await.unwrap();
        let mut first = pool.acquire("ask");
        let mut second = pool.acquire("ask");
        assert_eq!(pool.waiting(), 2);
        let third = pool.acquire("ask").await.unwrap_err();
        assert_eq!(third.reason(), RejectReason::QueueFull { max: 1, queue: 2 });
        // Polled once each: both wait in order.
        assert!(poll_once(&mut first).is_pending());
        assert!(poll_once(&mut second).is_pending());
        drop(held);
        // The first in the queue gets the slot; the second still waits.
        let slot = match poll_once(&mut first) {
            Poll::Ready(Ok(slot)) => slot,
            other => panic!("first waiter not served: {other:?}"),
        };
        assert!(poll_once(&mut second).is_pending());
        assert_eq!(pool.waiting(), 1);
        drop(slot);
        assert!(second.await.is_ok());
        assert_eq!((pool.waiting(), pool.running()), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_wait_leaves_the_queue() {
        let pool = Bulkhead::new(1).with_queue(1);
        let held = pool.acquire("ask").await.unwrap();
        let mut waiter = pool.acquire("ask");
        assert!(poll_once(&mut waiter).is_pending());
        assert_eq!(pool.waiting(), 1);
        drop(waiter);
        assert_eq!(pool.waiting(), 0);
        // Its place is free again.
        let mut next = pool.acquire("ask");
        assert!(poll_once(&mut next).is_pending());
        drop(held);
        assert!(next.await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_is_bounded_exactly() {
        let (scope, mut events) = scoped();
        let pool = Bulkhead::new(1)
            .with_queue(1)
            .with_wait(Duration::from_millis(100));
        let held = pool.acquire("ask").await.unwrap();
        let start = tokio::time::Instant::now();
        let err = scope
            .run(async { pool.acquire("ask").await })
            .await
            .unwrap_err();
        assert_eq!(start.elapsed(), Duration::from_millis(100));
        assert_eq!(
            err.reason(),
            RejectReason::WaitedTooLong {
                wait: Duration::from_millis(100)
            }
        );
        assert_eq!(pool.waiting(), 0);
        assert_eq!(
            events.try_recv().unwrap().to_string(),
            "`ask` rejected by bulkhead `bulkhead`: no slot came free within 100ms"
        );
        // A slot freed within the wait is taken.
        let release = async {
            tokio::time::sleep(Duration::from_millis(99)).await;
            drop(held);
        };
        let start = tokio::time::Instant::now();
        let (slot, ()) = tokio::join!(pool.acquire("ask"), release);
        assert!(slot.is_ok());
        assert_eq!(start.elapsed(), Duration::from_millis(99));
    }

    #[tokio::test]
    async fn zero_admits_nothing() {
        let pool = Bulkhead::new(0).with_queue(0);
        assert_eq!(
            pool.acquire("ask").await.unwrap_err().reason(),
            RejectReason::Full { max: 0 }
        );
        assert_eq!(pool.running(), 0);
    }

    #[test]
    fn huge_max_is_capped() {
        let pool = Bulkhead::new(usize::MAX);
        assert_eq!(pool.max(), Semaphore::MAX_PERMITS);
        assert_eq!(pool.running(), 0);
    }

    #[test]
    fn reasons_read_well() {
        let cases = [
            (
                RejectReason::Full { max: 1 },
                "all 1 slot is taken and there is no queue",
            ),
            (
                RejectReason::QueueFull { max: 4, queue: 1 },
                "all 4 slots are taken and the queue of 1 is full",
            ),
            (
                RejectReason::WaitedTooLong {
                    wait: Duration::from_secs(2),
                },
                "no slot came free within 2s",
            ),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
        }
    }
}
