//! [`HedgePolicy`]: when the first attempt is slow, start another; the
//! first success wins. What `#[hedge]` runs.
//!
//! A hedged call starts one attempt. If no attempt has answered after
//! `after`, it starts the next one beside it, and so on up to `attempts` in
//! all; an attempt that fails while others are left starts the next at once
//! (as Polly does). The first `Ok` is returned and every other attempt is
//! dropped, which cancels it. If every attempt fails, the error of the last
//! one to fail is returned. With `after` zero, every attempt starts at once
//! (a race). Each hedge is an event ([`EventKind::Hedged`]).
//!
//! The attempts run inside the caller's task (no spawn): they are polled
//! together, so they may borrow what the caller borrows. Until the first
//! hedge starts, nothing is allocated and no timer is registered when the
//! first attempt answers at its first poll.
//!
//! # Defaults (Polly's)
//!
//! | setting | default | Polly |
//! |---|---|---|
//! | `after` (the delay before each hedge) | 2 s | `Delay` = 2 s |
//! | `attempts` (in all, the first included) | 2 | `MaxHedgedAttempts` = 1 (extra) |
//!
//! # Examples
//!
//! The code that `#[hedge(after = "50ms")]` writes, by hand:
//!
//! ```
//! use std::time::Duration;
//! use resilience_runtime::HedgePolicy;
//!
//! const POLICY: HedgePolicy = HedgePolicy::new("ask").with_after(Duration::from_millis(50));
//!
//! async fn ask(replica: u32) -> Result<String, String> {
//!     // Replica 1 hangs; replica 2 answers in 10ms.
//!     let delay = if replica == 1 { 10_000 } else { 10 };
//!     tokio::time::sleep(Duration::from_millis(delay)).await;
//!     Ok(format!("answer from replica {replica}"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let start = tokio::time::Instant::now();
//! let mut replica = 0;
//! let answer = POLICY.run(|| { replica += 1; ask(replica) }).await;
//! assert_eq!(answer.unwrap(), "answer from replica 2");
//! assert_eq!(start.elapsed(), Duration::from_millis(60));
//! # }
//! ```

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep, sleep_until};

use crate::events::{Event, EventKind, emit};

/// A hedged call's policy: the delay before each hedge and the attempts in
/// all; see the [module docs](self) for the rules and the defaults.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::HedgePolicy;
///
/// const ASK: HedgePolicy = HedgePolicy::new("ask").with_after(Duration::from_millis(300)).with_attempts(3);
/// assert_eq!((ASK.after(), ASK.attempts()), (Duration::from_millis(300), 3));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HedgePolicy {
    operation: &'static str,
    after: Duration,
    attempts: u32,
}

impl HedgePolicy {
    /// Polly's defaults: one hedge (2 attempts in all) after 2 s, for
    /// `operation`, the name in events.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::HedgePolicy;
    ///
    /// let policy = HedgePolicy::new("ask");
    /// assert_eq!((policy.operation(), policy.after(), policy.attempts()), ("ask", Duration::from_secs(2), 2));
    /// ```
    pub const fn new(operation: &'static str) -> Self {
        Self {
            operation,
            after: Duration::from_secs(2),
            attempts: 2,
        }
    }

    /// The delay before each hedge, counted from the last start. Zero
    /// starts every attempt at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::HedgePolicy;
    ///
    /// assert_eq!(HedgePolicy::new("ask").with_after(Duration::ZERO).after(), Duration::ZERO);
    /// ```
    #[must_use]
    pub const fn with_after(mut self, after: Duration) -> Self {
        self.after = after;
        self
    }

    /// The attempts in all, the first included. 1 (or 0) means no hedge:
    /// the one attempt runs alone.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::HedgePolicy;
    ///
    /// assert_eq!(HedgePolicy::new("ask").with_attempts(4).attempts(), 4);
    /// ```
    #[must_use]
    pub const fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// The operation's name.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::HedgePolicy;
    ///
    /// assert_eq!(HedgePolicy::new("ask").operation(), "ask");
    /// ```
    pub const fn operation(&self) -> &'static str {
        self.operation
    }

    /// The delay before each hedge.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::HedgePolicy;
    ///
    /// assert_eq!(HedgePolicy::new("ask").after(), Duration::from_secs(2));
    /// ```
    pub const fn after(&self) -> Duration {
        self.after
    }

    /// The attempts in all.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::HedgePolicy;
    ///
    /// assert_eq!(HedgePolicy::new("ask").attempts(), 2);
    /// ```
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Runs a hedged call: `attempt()` makes each attempt's future (called
    /// once per attempt, when it starts). See the [module docs](self).
    ///
    /// # Errors
    ///
    /// When every attempt fails: the error of the last one to fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::HedgePolicy;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// // Every attempt fails at once: the next starts at once, and the
    /// // last error is returned without waiting for any delay.
    /// let mut n = 0;
    /// let start = tokio::time::Instant::now();
    /// let result: Result<(), String> = HedgePolicy::new("ask")
    ///     .with_attempts(3)
    ///     .run(|| { n += 1; let n = n; async move { Err(format!("attempt {n} failed")) } })
    ///     .await;
    /// assert_eq!(result.unwrap_err(), "attempt 3 failed");
    /// assert_eq!(start.elapsed(), Duration::ZERO);
    /// # }
    /// ```
    pub fn run<T, E, F, Fut>(&self, attempt: F) -> Hedging<'_, F, Fut>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        Hedging {
            policy: self,
            attempt,
            first: None,
            hedges: None,
            timer: None,
            started: 0,
            running: 0,
            start_next: false,
        }
    }
}

pin_project! {
    /// The future of [`HedgePolicy::run`]: the attempts, polled together
    /// in the caller's task. Dropping it cancels every attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::HedgePolicy;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let policy = HedgePolicy::new("ask");
    /// let hedging = policy.run(|| async { Ok::<_, ()>(1) });
    /// assert_eq!(hedging.await, Ok(1));
    /// # }
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Hedging<'p, F, Fut> {
        policy: &'p HedgePolicy,
        attempt: F,
        // The first attempt, made at the first poll.
        #[pin]
        first: Option<Fut>,
        // Made when the first hedge starts: until then nothing is allocated.
        hedges: Option<FuturesUnordered<Fut>>,
        // Made when the first attempt is still pending: until then no timer.
        #[pin]
        timer: Option<Sleep>,
        started: u32,
        running: u32,
        start_next: bool,
    }
}

impl<F, Fut> fmt::Debug for Hedging<'_, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hedging")
            .field("policy", self.policy)
            .field("started", &self.started)
            .field("running", &self.running)
            .finish_non_exhaustive()
    }
}

impl<T, E, F, Fut> Future for Hedging<'_, F, Fut>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        let mut this = self.project();
        let policy = *this.policy;
        let attempts = policy.attempts.max(1);
        if *this.started == 0 {
            this.first.set(Some((this.attempt)()));
            *this.started = 1;
            *this.running = 1;
            *this.start_next = policy.after.is_zero();
        }
        loop {
            if *this.start_next && *this.started < attempts {
                *this.start_next = policy.after.is_zero();
                emit(&Event::new(
                    policy.operation,
                    EventKind::Hedged {
                        attempt: *this.started + 1,
                        running: *this.running,
                    },
                ));
                this.hedges
                    .get_or_insert_with(FuturesUnordered::new)
                    .push((this.attempt)());
                *this.started += 1;
                *this.running += 1;
                if !policy.after.is_zero() {
                    let deadline = Instant::now() + policy.after;
                    match this.timer.as_mut().as_pin_mut() {
                        Some(sleep) => sleep.reset(deadline),
                        None => this.timer.set(Some(sleep_until(deadline))),
                    }
                }
                continue;
            }
            if let Some(future) = this.first.as_mut().as_pin_mut()
                && let Poll::Ready(result) = future.poll(cx)
            {
                this.first.set(None);
                *this.running -= 1;
                match result {
                    Ok(value) => return Poll::Ready(Ok(value)),
                    // The last attempt to fail: its error is the call's.
                    Err(error) if *this.running == 0 && *this.started >= attempts => {
                        return Poll::Ready(Err(error));
                    }
                    Err(_) => *this.start_next = true,
                }
            }
            if let Some(hedges) = this.hedges.as_mut() {
                while let Poll::Ready(Some(result)) = hedges.poll_next_unpin(cx) {
                    *this.running -= 1;
                    match result {
                        Ok(value) => return Poll::Ready(Ok(value)),
                        Err(error) if *this.running == 0 && *this.started >= attempts => {
                            return Poll::Ready(Err(error));
                        }
                        Err(_) => *this.start_next = true,
                    }
                }
            }
            if *this.start_next && *this.started < attempts {
                continue;
            }
            if *this.started < attempts {
                if this.timer.is_none() {
                    this.timer.set(Some(sleep(policy.after)));
                }
                if let Some(sleep) = this.timer.as_mut().as_pin_mut()
                    && sleep.poll(cx).is_ready()
                {
                    *this.start_next = true;
                    continue;
                }
            }
            return Poll::Pending;
        }
    }
}

/// What `#[hedge]` calls: [`HedgePolicy::run`].
///
/// # Examples
///
/// ```
/// use resilience_runtime::{HedgePolicy, hedge::hedge};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// const POLICY: HedgePolicy = HedgePolicy::new("ask");
/// let answer: Result<u32, ()> = hedge(&POLICY, || async { Ok(42) }).await;
/// assert_eq!(answer, Ok(42));
/// # }
/// ```
#[inline]
pub fn hedge<T, E, F, Fut>(policy: &HedgePolicy, attempt: F) -> Hedging<'_, F, Fut>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    policy.run(attempt)
}

/// Arguments that a `#[hedge]` fn takes by value: each attempt gets its own
/// clone. It exists to explain, when `Clone` is missing, what to do.
///
/// # Examples
///
/// ```
/// use resilience_runtime::hedge::{HedgeArg, clone_hedge_arg};
///
/// let prompt = String::from("hi");
/// assert_eq!(clone_hedge_arg(&prompt), "hi");
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[hedge]` clones each owned argument for every attempt, but `{Self}` is not `Clone`",
    label = "this argument is moved into every attempt",
    note = "borrow it instead (`&{Self}`) or make it `Clone`"
)]
pub trait HedgeArg {
    /// The attempt's own copy.
    fn clone_for_attempt(&self) -> Self;
}

impl<T: Clone> HedgeArg for T {
    fn clone_for_attempt(&self) -> Self {
        self.clone()
    }
}

/// Clones an owned argument for one attempt of a `#[hedge]` fn; called by
/// the generated code.
///
/// # Examples
///
/// ```
/// use resilience_runtime::hedge::clone_hedge_arg;
///
/// assert_eq!(clone_hedge_arg(&vec![1, 2]), [1, 2]);
/// ```
pub fn clone_hedge_arg<T: HedgeArg>(value: &T) -> T {
    value.clone_for_attempt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{OwnedEventKind, scoped};
    use std::cell::{Cell, RefCell};

    /// Attempt `n` (from 1) answers `outcomes[n - 1]` after its delay; each
    /// start and each drop (finished or cancelled) is logged with the time.
    struct Script {
        outcomes: Vec<(u64, Result<u32, u32>)>,
        started: Cell<usize>,
        log: RefCell<Vec<String>>,
        t0: Instant,
    }

    impl Script {
        fn new(outcomes: &[(u64, Result<u32, u32>)]) -> Self {
            Self {
                outcomes: outcomes.to_vec(),
                started: Cell::new(0),
                log: RefCell::new(Vec::new()),
                t0: Instant::now(),
            }
        }

        fn ms(&self) -> u128 {
            self.t0.elapsed().as_millis()
        }

        fn attempt(&self) -> impl Future<Output = Result<u32, u32>> + '_ {
            let n = self.started.get() + 1;
            self.started.set(n);
            self.log
                .borrow_mut()
                .push(format!("{}ms start {n}", self.ms()));
            let (delay, outcome) = self.outcomes[n - 1];
            struct Drop_<'a>(&'a Script, usize);
            impl Drop for Drop_<'_> {
                fn drop(&mut self) {
                    let ms = self.0.ms();
                    self.0
                        .log
                        .borrow_mut()
                        .push(format!("{ms}ms drop {}", self.1));
                }
            }
            async move {
                let _guard = Drop_(self, n);
                sleep(Duration::from_millis(delay)).await;
                outcome
            }
        }

        fn log(&self) -> Vec<String> {
            self.log.borrow().clone()
        }
    }

    fn policy(after_ms: u64, attempts: u32) -> HedgePolicy {
        HedgePolicy::new("hedge::test")
            .with_after(Duration::from_millis(after_ms))
            .with_attempts(attempts)
    }

    #[tokio::test(start_paused = true)]
    async fn a_fast_first_attempt_starts_no_hedge() {
        let (scope, mut events) = scoped();
        let script = Script::new(&[(10, Ok(1)), (10, Ok(2))]);
        let result = scope.run(policy(100, 2).run(|| script.attempt())).await;
        assert_eq!(result, Ok(1));
        assert_eq!(script.log(), ["0ms start 1", "10ms drop 1"]);
        assert!(events.try_recv().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_first_attempt_is_hedged_after_the_delay_and_cancelled() {
        let (scope, mut events) = scoped();
        let script = Script::new(&[(1000, Ok(1)), (30, Ok(2))]);
        let result = scope.run(policy(100, 2).run(|| script.attempt())).await;
        assert_eq!(result, Ok(2));
        assert_eq!(
            script.log(),
            [
                "0ms start 1",
                "100ms start 2",
                "130ms drop 2",
                "130ms drop 1"
            ]
        );
        let event = events.try_recv().unwrap();
        assert_eq!(
            event.kind,
            OwnedEventKind::Hedged {
                attempt: 2,
                running: 1
            }
        );
        assert_eq!(
            event.to_string(),
            "`hedge::test` starts hedged attempt 2 (1 still running)"
        );
        assert!(events.try_recv().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_attempt_may_still_win() {
        let script = Script::new(&[(150, Ok(1)), (100, Ok(2))]);
        let result = policy(100, 2).run(|| script.attempt()).await;
        assert_eq!(result, Ok(1));
        assert_eq!(
            script.log(),
            [
                "0ms start 1",
                "100ms start 2",
                "150ms drop 1",
                "150ms drop 2"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn each_delay_counts_from_the_last_start() {
        let script = Script::new(&[(1000, Ok(1)), (1000, Ok(2)), (1000, Ok(3)), (5, Ok(4))]);
        let result = policy(100, 4).run(|| script.attempt()).await;
        assert_eq!(result, Ok(4));
        assert_eq!(
            script.log()[..4],
            [
                "0ms start 1",
                "100ms start 2",
                "200ms start 3",
                "300ms start 4"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_starts_the_next_attempt_at_once() {
        let script = Script::new(&[(20, Err(1)), (1000, Ok(2)), (30, Ok(3))]);
        let result = policy(100, 3).run(|| script.attempt()).await;
        assert_eq!(result, Ok(3));
        // Attempt 2 starts when 1 fails (20ms), attempt 3 after the delay
        // counted from that start (120ms).
        assert_eq!(
            script.log(),
            [
                "0ms start 1",
                "20ms drop 1",
                "20ms start 2",
                "120ms start 3",
                "150ms drop 3",
                "150ms drop 2"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn all_failing_returns_the_last_error_to_fail() {
        // Attempt 2 fails last in time, though it started before attempt 3.
        let script = Script::new(&[(1000, Err(1)), (1500, Err(2)), (10, Err(3))]);
        let start = Instant::now();
        let result = policy(100, 3).run(|| script.attempt()).await;
        assert_eq!(result, Err(2));
        assert_eq!(start.elapsed(), Duration::from_millis(1600));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_delay_races_every_attempt() {
        let (scope, mut events) = scoped();
        let script = Script::new(&[(50, Ok(1)), (20, Ok(2)), (40, Ok(3))]);
        let result = scope.run(policy(0, 3).run(|| script.attempt())).await;
        assert_eq!(result, Ok(2));
        assert_eq!(
            script.log()[..3],
            ["0ms start 1", "0ms start 2", "0ms start 3"]
        );
        let running: Vec<_> = core::iter::from_fn(|| events.try_recv())
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            running,
            [
                OwnedEventKind::Hedged {
                    attempt: 2,
                    running: 1
                },
                OwnedEventKind::Hedged {
                    attempt: 3,
                    running: 2
                }
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn one_attempt_is_no_hedge() {
        let script = Script::new(&[(500, Err(7))]);
        let result = policy(100, 1).run(|| script.attempt()).await;
        assert_eq!(result, Err(7));
        assert_eq!(script.log(), ["0ms start 1", "500ms drop 1"]);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_call_cancels_every_attempt() {
        let script = Script::new(&[(1000, Ok(1)), (1000, Ok(2))]);
        let policy = policy(100, 2);
        let call = policy.run(|| script.attempt());
        let _ = tokio::time::timeout(Duration::from_millis(150), call).await;
        assert_eq!(
            script.log(),
            [
                "0ms start 1",
                "100ms start 2",
                "150ms drop 1",
                "150ms drop 2"
            ]
        );
    }

    #[tokio::test]
    async fn the_future_is_send_when_attempts_are() {
        fn assert_send<T: Send>(t: T) -> T {
            t
        }
        let policy = HedgePolicy::new("ask");
        let result: Result<u32, ()> = assert_send(policy.run(|| async { Ok(1) })).await;
        assert_eq!(result, Ok(1));
    }
}
