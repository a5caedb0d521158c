//! [`RateLimit`] and [`RateLimiter`]: a client-side rate limit, what
//! `#[rate_limit]` runs.
//!
//! The limiter is GCRA (the generic cell rate algorithm, the one `governor`
//! uses): one atomic "theoretical arrival time", no lock, no task, no
//! allocation. A call *reserves* the next free slot with one
//! compare-and-swap and sleeps on tokio's clock until that slot comes, so
//! waiting callers are served in the order they arrived and each wakes
//! exactly once, at its own instant. A waiting call that is dropped
//! (cancelled, timed out) gives its slot back if no later call reserved
//! after it.
//!
//! Why not `governor` itself: its waiting (`until_ready`) sleeps on
//! `futures-timer`, a wall-clock timer thread, so it cannot follow tokio's
//! paused clock in tests, and its re-check loop wakes every waiter at the
//! same instant to race for one permit. Its direct (unkeyed) limiter is the
//! same algorithm as here, on the same single atomic, but comes with a
//! dozen crates (parking_lot, hashbrown, futures-timer, ...).
//!
//! # Semantics
//!
//! - [`RateLimit::per_second`]`(n)` allows `n` calls per second on average,
//!   one every `1s / n`; the burst (calls allowed at once after a quiet
//!   spell) is `n` unless [`RateLimit::with_burst`] says otherwise, as in
//!   `governor`'s `Quota`.
//! - [`RateLimiter::acquire`] waits as long as needed;
//!   [`RateLimiter::acquire_within`] waits at most `max_wait` and otherwise
//!   returns [`RateLimited`] at once, without waiting and without using a
//!   slot (`max_wait` zero: never waits).
//! - Each wait emits [`EventKind::RateLimitWait`], each refusal
//!   [`EventKind::RateLimitRejected`].
//!
//! # Examples
//!
//! What `#[rate_limit(per_second = 2, burst = 1)]` does, by hand:
//!
//! ```
//! use std::time::Duration;
//! use resilience_runtime::{RateLimit, RateLimiter};
//! use tokio::time::Instant;
//!
//! static LIMIT: RateLimiter = RateLimiter::new(RateLimit::per_second(2).with_burst(1));
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let start = Instant::now();
//! for expected_ms in [0, 500, 1000] {
//!     LIMIT.acquire("ask").await;
//!     assert_eq!(start.elapsed(), Duration::from_millis(expected_ms));
//! }
//! # }
//! ```

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::sync::OnceLock;

use tokio::time::Instant;

use crate::events::{Event, EventKind, emit};
use crate::support::duration::fmt_duration;

/// How many calls a [`RateLimiter`] allows: a number of calls per period,
/// evenly spaced, and a burst.
///
/// All builders are `const fn`. A count or a burst of 0 counts as 1 (the
/// attribute refuses 0 at compile time).
///
/// # Default
///
/// The burst is the count per period, as in `governor`: `per_second(10)`
/// allows 10 calls at once after a quiet second, then one every 100ms.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::RateLimit;
///
/// const OPENAI_TIER_1: RateLimit = RateLimit::per_minute(500).with_burst(20);
/// assert_eq!(OPENAI_TIER_1.interval(), Duration::from_millis(120));
/// assert_eq!(OPENAI_TIER_1.burst(), 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// The time between two permits, in nanoseconds (at least 1).
    interval_nanos: u64,
    burst: u32,
}

impl RateLimit {
    /// `count` calls per `period`, one every `period / count`; burst `count`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::RateLimit;
    ///
    /// let limit = RateLimit::per(Duration::from_secs(10), 4);
    /// assert_eq!((limit.interval(), limit.burst()), (Duration::from_millis(2500), 4));
    /// ```
    pub const fn per(period: Duration, count: u32) -> Self {
        let count = if count == 0 { 1 } else { count };
        let nanos = period.as_nanos() / count as u128;
        let interval_nanos = if nanos > u64::MAX as u128 {
            u64::MAX
        } else if nanos == 0 {
            1
        } else {
            nanos as u64
        };
        Self {
            interval_nanos,
            burst: count,
        }
    }

    /// `count` calls per second.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::RateLimit;
    ///
    /// assert_eq!(RateLimit::per_second(10).interval(), Duration::from_millis(100));
    /// ```
    pub const fn per_second(count: u32) -> Self {
        Self::per(Duration::from_secs(1), count)
    }

    /// `count` calls per minute (an LLM API's "RPM").
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::RateLimit;
    ///
    /// assert_eq!(RateLimit::per_minute(60).interval(), Duration::from_secs(1));
    /// ```
    pub const fn per_minute(count: u32) -> Self {
        Self::per(Duration::from_secs(60), count)
    }

    /// `count` calls per hour.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::RateLimit;
    ///
    /// assert_eq!(RateLimit::per_hour(3600).interval(), Duration::from_secs(1));
    /// ```
    pub const fn per_hour(count: u32) -> Self {
        Self::per(Duration::from_secs(3600), count)
    }

    /// Sets how many calls may run at once after a quiet spell (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::RateLimit;
    ///
    /// assert_eq!(RateLimit::per_second(10).with_burst(1).burst(), 1);
    /// ```
    pub const fn with_burst(mut self, burst: u32) -> Self {
        self.burst = if burst == 0 { 1 } else { burst };
        self
    }

    /// The time between two permits once the burst is spent.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::RateLimit;
    ///
    /// assert_eq!(RateLimit::per_second(4).interval(), Duration::from_millis(250));
    /// ```
    pub const fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_nanos)
    }

    /// How many calls may run at once after a quiet spell.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::RateLimit;
    ///
    /// assert_eq!(RateLimit::per_second(4).burst(), 4);
    /// ```
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// How far ahead of its slot a call may run: `interval × (burst − 1)`.
    const fn tolerance_nanos(&self) -> u64 {
        self.interval_nanos.saturating_mul(self.burst as u64 - 1)
    }
}

/// A client-side rate limit shared by every call that goes through it: a
/// `static` (`#[rate_limit(state = LIMITER)]`), a field of an agent, or an
/// `Arc`. `#[rate_limit(per_second = ..)]` without `state` keeps a hidden
/// one per fn.
///
/// Lock-free: one `AtomicU64` (see the [module docs](self)). Its clock is
/// tokio's, so `tokio::time::pause` and `#[tokio::test(start_paused = true)]`
/// make it deterministic.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{RateLimit, RateLimiter};
///
/// static OPENAI: RateLimiter = RateLimiter::new(RateLimit::per_second(1).with_burst(2));
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// assert!(OPENAI.try_acquire("ask").is_ok());
/// assert!(OPENAI.try_acquire("ask").is_ok()); // the burst of 2
/// let refused = OPENAI.try_acquire("ask").unwrap_err();
/// assert_eq!(refused.retry_in(), Duration::from_secs(1));
/// assert_eq!(refused.to_string(), "`ask` rate limited: the next permit is 1s away");
/// # }
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    /// The theoretical arrival time of the next call, in nanoseconds since
    /// `epoch`.
    tat: AtomicU64,
    /// The instant of the first call (a `const fn` cannot read a clock).
    epoch: OnceLock<Instant>,
}

/// A slot reserved by [`RateLimiter::reserve`].
struct Reservation {
    /// How long until the slot.
    wait: Duration,
    /// The arrival time this reservation set, to give it back.
    tat: u64,
}

impl RateLimiter {
    /// A limiter that allows `limit`, full (a whole burst available).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{RateLimit, RateLimiter};
    ///
    /// static LIMITER: RateLimiter = RateLimiter::new(RateLimit::per_minute(500));
    /// assert_eq!(LIMITER.limit(), RateLimit::per_minute(500));
    /// ```
    pub const fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            tat: AtomicU64::new(0),
            epoch: OnceLock::new(),
        }
    }

    /// The limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{RateLimit, RateLimiter};
    ///
    /// assert_eq!(RateLimiter::new(RateLimit::per_second(3)).limit().burst(), 3);
    /// ```
    pub const fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Waits for a permit, as long as it takes. `operation` names the caller
    /// in the [`EventKind::RateLimitWait`] event emitted when it waits.
    ///
    /// # Cancel safety
    ///
    /// Dropped while waiting, it gives its slot back unless a later call
    /// reserved one after it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::{RateLimit, RateLimiter};
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let limiter = RateLimiter::new(RateLimit::per_second(10).with_burst(1));
    /// let start = Instant::now();
    /// limiter.acquire("ask").await;
    /// limiter.acquire("ask").await;
    /// assert_eq!(start.elapsed(), Duration::from_millis(100));
    /// # }
    /// ```
    pub async fn acquire(&self, operation: &'static str) {
        // `None` cannot be refused.
        let _ = self.acquire_inner(operation, None).await;
    }

    /// Waits for a permit if it comes within `max_wait`; otherwise refuses
    /// at once, without waiting and without using a slot.
    ///
    /// # Errors
    ///
    /// [`RateLimited`] if the next permit is more than `max_wait` away.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::{RateLimit, RateLimiter};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let limiter = RateLimiter::new(RateLimit::per_second(1).with_burst(1));
    /// let max_wait = Duration::from_millis(500);
    /// assert!(limiter.acquire_within("ask", max_wait).await.is_ok());
    /// let refused = limiter.acquire_within("ask", max_wait).await.unwrap_err();
    /// assert_eq!((refused.retry_in(), refused.max_wait()), (Duration::from_secs(1), max_wait));
    /// # }
    /// ```
    pub async fn acquire_within(
        &self,
        operation: &'static str,
        max_wait: Duration,
    ) -> Result<(), RateLimited> {
        self.acquire_inner(operation, Some(max_wait)).await
    }

    /// A permit now, or [`RateLimited`] without waiting:
    /// [`acquire_within`](Self::acquire_within) with a zero `max_wait`.
    ///
    /// # Errors
    ///
    /// [`RateLimited`] if no permit is free now.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{RateLimit, RateLimiter};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let limiter = RateLimiter::new(RateLimit::per_minute(1));
    /// assert!(limiter.try_acquire("ask").is_ok());
    /// assert!(limiter.try_acquire("ask").is_err());
    /// # }
    /// ```
    pub fn try_acquire(&self, operation: &'static str) -> Result<(), RateLimited> {
        self.reserve(Instant::now(), operation, Some(Duration::ZERO))
            .map(|_| ())
    }

    async fn acquire_inner(
        &self,
        operation: &'static str,
        max_wait: Option<Duration>,
    ) -> Result<(), RateLimited> {
        let reservation = self.reserve(Instant::now(), operation, max_wait)?;
        if reservation.wait.is_zero() {
            return Ok(());
        }
        emit(&Event::new(
            operation,
            EventKind::RateLimitWait {
                wait: reservation.wait,
            },
        ));
        let mut slot = Slot {
            limiter: self,
            tat: reservation.tat,
            armed: true,
        };
        tokio::time::sleep(reservation.wait).await;
        slot.armed = false;
        Ok(())
    }

    /// Reserves the next slot at `now` if it is at most `max_wait` away.
    fn reserve(
        &self,
        now: Instant,
        operation: &'static str,
        max_wait: Option<Duration>,
    ) -> Result<Reservation, RateLimited> {
        let epoch = *self.epoch.get_or_init(|| now);
        // Instants before the epoch (another runtime's paused clock) count as
        // the epoch.
        let t = u64::try_from(now.saturating_duration_since(epoch).as_nanos()).unwrap_or(u64::MAX);
        let interval = self.limit.interval_nanos;
        let tolerance = self.limit.tolerance_nanos();
        let mut current = self.tat.load(Ordering::Acquire);
        loop {
            let tat = current.max(t);
            let wait_nanos = tat.saturating_sub(tolerance).saturating_sub(t);
            let wait = Duration::from_nanos(wait_nanos);
            if let Some(max_wait) = max_wait
                && wait > max_wait
            {
                emit(&Event::new(
                    operation,
                    EventKind::RateLimitRejected { retry_in: wait },
                ));
                return Err(RateLimited {
                    operation,
                    retry_in: wait,
                    max_wait,
                });
            }
            let next = tat.saturating_add(interval);
            match self
                .tat
                .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(Reservation { wait, tat: next }),
                Err(actual) => current = actual,
            }
        }
    }
}

/// A reserved slot that a waiting call holds: dropped before its instant,
/// it is given back if it is still the last one reserved.
struct Slot<'a> {
    limiter: &'a RateLimiter,
    tat: u64,
    armed: bool,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if self.armed {
            let back = self.tat.saturating_sub(self.limiter.limit.interval_nanos);
            // Fails (and keeps the slot used) if a later call reserved after this one.
            let _ = self.limiter.tat.compare_exchange(
                self.tat,
                back,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
    }
}

/// A call refused by its rate limit: the next permit was more than
/// `max_wait` away. The decorated fn's error type receives it through
/// `From` (`#[rate_limit(.., wait = false)]` or `max_wait = ..`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::RateLimited;
///
/// #[derive(Debug, thiserror::Error)]
/// enum AgentError {
///     #[error(transparent)]
///     RateLimited(#[from] RateLimited),
/// }
///
/// let err = AgentError::from(RateLimited::new("ask", Duration::from_millis(1500), Duration::ZERO));
/// assert_eq!(err.to_string(), "`ask` rate limited: the next permit is 1.5s away");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimited {
    operation: &'static str,
    retry_in: Duration,
    max_wait: Duration,
}

impl RateLimited {
    /// The error for `operation`, whose next permit was `retry_in` away
    /// while it could wait `max_wait`. It emits no event.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::RateLimited;
    ///
    /// let err = RateLimited::new("ask", Duration::from_secs(2), Duration::from_secs(1));
    /// assert_eq!(err.to_string(), "`ask` rate limited: the next permit is 2s away (waits at most 1s)");
    /// ```
    pub const fn new(operation: &'static str, retry_in: Duration, max_wait: Duration) -> Self {
        Self {
            operation,
            retry_in,
            max_wait,
        }
    }

    /// The operation refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::RateLimited;
    ///
    /// assert_eq!(RateLimited::new("ask", Duration::from_secs(2), Duration::ZERO).operation(), "ask");
    /// ```
    pub const fn operation(&self) -> &'static str {
        self.operation
    }

    /// How far away the next permit was: a delay to retry after (return it
    /// from a `retry_after` fn).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::RateLimited;
    ///
    /// let err = RateLimited::new("ask", Duration::from_secs(2), Duration::ZERO);
    /// assert_eq!(err.retry_in(), Duration::from_secs(2));
    /// ```
    pub const fn retry_in(&self) -> Duration {
        self.retry_in
    }

    /// How long the call could wait (zero for `wait = false`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::RateLimited;
    ///
    /// assert_eq!(RateLimited::new("ask", Duration::from_secs(2), Duration::ZERO).max_wait(), Duration::ZERO);
    /// ```
    pub const fn max_wait(&self) -> Duration {
        self.max_wait
    }
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` rate limited: the next permit is {} away",
            self.operation,
            fmt_duration(self.retry_in)
        )?;
        if !self.max_wait.is_zero() {
            write!(f, " (waits at most {})", fmt_duration(self.max_wait))?;
        }
        Ok(())
    }
}

impl std::error::Error for RateLimited {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{OwnedEventKind, scoped};
    use std::sync::Arc;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn limits_are_evenly_spaced() {
        assert_eq!(
            RateLimit::per_second(3).interval(),
            Duration::from_nanos(333_333_333)
        );
        assert_eq!(RateLimit::per_second(0), RateLimit::per_second(1));
        assert_eq!(RateLimit::per_second(2).with_burst(0).burst(), 1);
        // A period too short for the count still spaces calls by 1ns.
        assert_eq!(
            RateLimit::per(Duration::from_nanos(1), 10).interval(),
            Duration::from_nanos(1)
        );
        assert_eq!(
            RateLimit::per(Duration::MAX, 1).interval(),
            Duration::from_nanos(u64::MAX)
        );
    }

    /// Start instants of `n` calls made at once on the paused clock.
    async fn starts(limiter: Arc<RateLimiter>, n: usize) -> Vec<Duration> {
        let start = Instant::now();
        let calls = (0..n).map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                limiter.acquire("rate::starts").await;
                start.elapsed()
            })
        });
        let handles: Vec<_> = calls.collect();
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_one_per_interval_in_arrival_order() {
        let limiter = Arc::new(RateLimiter::new(RateLimit::per_second(10).with_burst(3)));
        let got = starts(limiter, 7).await;
        assert_eq!(got, [0, 0, 0, 100, 200, 300, 400].map(MS));
    }

    #[tokio::test(start_paused = true)]
    async fn the_burst_refills_after_a_quiet_spell() {
        let limiter = RateLimiter::new(RateLimit::per_second(10).with_burst(2));
        assert!(limiter.try_acquire("rate::refill").is_ok());
        assert!(limiter.try_acquire("rate::refill").is_ok());
        assert_eq!(
            limiter.try_acquire("rate::refill").unwrap_err().retry_in(),
            MS(100)
        );
        tokio::time::advance(MS(150)).await;
        // One slot back after 100ms, half of the next.
        assert!(limiter.try_acquire("rate::refill").is_ok());
        assert_eq!(
            limiter.try_acquire("rate::refill").unwrap_err().retry_in(),
            MS(50)
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        // A long quiet spell gives the burst back, never more.
        assert!(limiter.try_acquire("rate::refill").is_ok());
        assert!(limiter.try_acquire("rate::refill").is_ok());
        assert!(limiter.try_acquire("rate::refill").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn max_wait_refuses_without_using_a_slot_and_emits() {
        let limiter = RateLimiter::new(RateLimit::per_second(4).with_burst(1));
        let (scope, mut sub) = scoped();
        let start = Instant::now();
        scope
            .run(async {
                limiter.acquire_within("rate::max", MS(250)).await.unwrap();
                // The next slot is 250ms away: within the limit, waited for.
                limiter.acquire_within("rate::max", MS(250)).await.unwrap();
                assert_eq!(start.elapsed(), MS(250));
                // Refused twice at once: the refusals take no slot.
                let refused = limiter
                    .acquire_within("rate::max", MS(100))
                    .await
                    .unwrap_err();
                assert_eq!(refused.retry_in(), MS(250));
                assert_eq!(
                    refused.to_string(),
                    "`rate::max` rate limited: the next permit is 250ms away (waits at most 100ms)"
                );
                assert_eq!(
                    limiter
                        .acquire_within("rate::max", MS(100))
                        .await
                        .unwrap_err(),
                    refused
                );
                assert_eq!(start.elapsed(), MS(250));
            })
            .await;
        let kinds: Vec<_> = core::iter::from_fn(|| sub.try_recv())
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                OwnedEventKind::RateLimitWait { wait: MS(250) },
                OwnedEventKind::RateLimitRejected { retry_in: MS(250) },
                OwnedEventKind::RateLimitRejected { retry_in: MS(250) },
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_gives_its_slot_back() {
        let limiter = RateLimiter::new(RateLimit::per_second(10).with_burst(1));
        limiter.acquire("rate::cancel").await;
        // Waits for the slot at 100ms, cancelled at 50ms.
        let cancelled = tokio::time::timeout(MS(50), limiter.acquire("rate::cancel")).await;
        assert!(cancelled.is_err());
        // The slot at 100ms is free again: the next call takes it.
        let start = Instant::now();
        limiter.acquire("rate::cancel").await;
        assert_eq!(start.elapsed(), MS(50));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_behind_others_keeps_the_order() {
        let limiter = Arc::new(RateLimiter::new(RateLimit::per_second(10).with_burst(1)));
        limiter.acquire("rate::order").await;
        let first = tokio::spawn({
            let limiter = limiter.clone();
            async move { tokio::time::timeout(MS(50), limiter.acquire("rate::order")).await }
        });
        tokio::task::yield_now().await;
        let second = tokio::spawn({
            let limiter = limiter.clone();
            let start = Instant::now();
            async move {
                limiter.acquire("rate::order").await;
                start.elapsed()
            }
        });
        assert!(first.await.unwrap().is_err());
        // The first waiter's slot (100ms) cannot be given back: the second
        // reserved 200ms after it, and keeps it.
        assert_eq!(second.await.unwrap(), MS(200));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_never_exceed_the_rate() {
        let limiter = Arc::new(RateLimiter::new(RateLimit::per_second(20).with_burst(5)));
        let got = starts(limiter, 200).await;
        // In any window of length w, at most burst + w / interval calls start.
        for (i, a) in got.iter().enumerate() {
            for b in &got[i..] {
                let w = b.saturating_sub(*a);
                let within = got.iter().filter(|t| **t >= *a && **t <= *b).count() as u128;
                assert!(
                    within <= 5 + w.as_nanos() / MS(50).as_nanos(),
                    "{within} in {w:?}"
                );
            }
        }
        assert_eq!(*got.last().unwrap(), MS(50) * 195);
    }
}
