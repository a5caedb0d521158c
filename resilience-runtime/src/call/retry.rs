//! [`RetryPolicy`] and [`RetryState`]: what `#[retry]` runs.
//!
//! The generated code calls the fn in a loop. After each failed attempt it
//! asks [`RetryState::next_delay`] whether to go on, and sleeps for the
//! returned delay. The success path never touches the state.
//!
//! # Semantics
//!
//! - `attempts` counts every call, the first included: `attempts = 3` means
//!   at most two retries. After the last one the fn returns its last error
//!   unchanged.
//! - An error that the `when` predicate rejects is returned at once
//!   ([`GiveUpReason::NotRetryable`]).
//! - `max_elapsed` is checked after each failed attempt, against the time
//!   since the first call started, like tenacity's `stop_after_delay`. It
//!   does not cut an attempt short (stack a `#[timeout]` for that), and the
//!   check does not look ahead: the last sleep may end past the limit, and
//!   the attempt after it still runs.
//! - A delay that the error asks for (`retry_after`, e.g. an HTTP 429's
//!   Retry-After) replaces the backoff's delay and is *not* capped by
//!   `max_delay`: the server knows best. If waiting for it would end past
//!   `max_elapsed`, the call gives up at once instead (reason `MaxElapsed`).
//!   [`RetryAfterJitter`] (`retry_after_jitter = "10%"`) adds a random
//!   extra to that delay, never takes from it, so that many clients told
//!   the same delay do not come back at the same instant.
//! - Each retry emits [`EventKind::Retry`] and the
//!   final failure [`EventKind::GaveUp`]; see
//!   [`events`](crate::events).
//!
//! # Examples
//!
//! The loop that `#[retry(attempts = 3)]` writes, by hand:
//!
//! ```
//! use resilience_runtime::{ErrorRef, RetryPolicy, RetryState};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! const POLICY: RetryPolicy = RetryPolicy::new("flaky").with_attempts(3);
//! let mut calls = 0;
//! let mut state = RetryState::new();
//! let result: Result<u32, String> = loop {
//!     calls += 1;
//!     let attempt = if calls < 3 { Err(format!("failure {calls}")) } else { Ok(calls) };
//!     match attempt {
//!         Ok(v) => break Ok(v),
//!         Err(e) => match state.next_delay(&POLICY, true, None, None, ErrorRef::Display(&e)) {
//!             Some(delay) => tokio::time::sleep(delay).await,
//!             None => break Err(e),
//!         },
//!     }
//! };
//! assert_eq!(result, Ok(3));
//! # }
//! ```

use core::time::Duration;

use tokio::time::Instant;

use crate::call::backoff::Backoff;
use crate::call::error::PolicyError;
use crate::events::{Event, EventKind, emit};
use crate::support::error_ref::ErrorRef;

/// How `#[retry]` retries one operation: the number of attempts, the
/// [`Backoff`] between them and an optional limit on the total time.
///
/// All builders are `const fn`; they do not check their input, call
/// [`validate`](RetryPolicy::validate) on a policy built at run time.
///
/// # Default
///
/// [`new`](RetryPolicy::new) gives 3 attempts, [`Backoff::default`]
/// (exponential from 100ms, factor 2) and no `max_elapsed`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{Backoff, Jitter, RetryPolicy};
///
/// const ASK: RetryPolicy = RetryPolicy::new("ask")
///     .with_attempts(5)
///     .with_backoff(Backoff::exponential(Duration::from_millis(200)).with_jitter(Jitter::Full))
///     .with_max_elapsed(Duration::from_secs(30));
///
/// assert_eq!(ASK.attempts(), 5);
/// assert_eq!(ASK.validate(), Ok(()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    operation: &'static str,
    attempts: u32,
    backoff: Backoff,
    max_elapsed: Option<Duration>,
    retry_after_jitter: RetryAfterJitter,
}

/// A random extra added to a delay that the error asked for (`retry_after`),
/// never taken from it: the server said "not before", so clients told the
/// same delay spread out after it rather than around it.
///
/// # Default
///
/// [`RetryAfterJitter::None`]: the delay as asked.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{random, retry::RetryAfterJitter};
///
/// let jitter = RetryAfterJitter::Percent(10.0);
/// let delay = random::with_seed_sync(7, || jitter.apply(Duration::from_secs(1)));
/// assert!(delay >= Duration::from_secs(1) && delay <= Duration::from_millis(1100));
/// assert_eq!(RetryAfterJitter::None.apply(Duration::from_secs(1)), Duration::from_secs(1));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum RetryAfterJitter {
    /// The delay as asked.
    #[default]
    None,
    /// Up to this percentage of the delay more (`10.0`: 1s becomes 1s to
    /// 1.1s), uniformly.
    Percent(f64),
    /// Up to this much more, uniformly, whatever the delay.
    UpTo(Duration),
}

impl RetryAfterJitter {
    /// `delay` plus a random extra in `[0, max]`, drawn from
    /// [`random`](crate::random) (seedable). A percentage that is not a
    /// positive number adds nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::retry::RetryAfterJitter;
    ///
    /// let d = RetryAfterJitter::UpTo(Duration::from_millis(250)).apply(Duration::from_secs(2));
    /// assert!(d >= Duration::from_secs(2) && d <= Duration::from_millis(2250));
    /// ```
    pub fn apply(self, delay: Duration) -> Duration {
        let max_extra: u128 = match self {
            Self::None => return delay,
            // `as` saturates: a huge product is u128::MAX, NaN is 0.
            Self::Percent(percent) if percent > 0.0 => {
                (delay.as_nanos() as f64 * percent / 100.0) as u128
            }
            Self::Percent(_) => 0,
            Self::UpTo(up_to) => up_to.as_nanos(),
        };
        if max_extra == 0 {
            return delay;
        }
        let extra = crate::random::u128_in(0..=max_extra);
        let extra = Duration::from_nanos(u64::try_from(extra).unwrap_or(u64::MAX));
        delay.saturating_add(extra)
    }
}

impl RetryPolicy {
    /// The default policy for `operation`, the name shown in events.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Backoff, RetryPolicy};
    ///
    /// let policy = RetryPolicy::new("ask");
    /// assert_eq!((policy.operation(), policy.attempts()), ("ask", 3));
    /// assert_eq!(policy.backoff(), Backoff::default());
    /// ```
    pub const fn new(operation: &'static str) -> Self {
        Self {
            operation,
            attempts: 3,
            backoff: Backoff::exponential(Duration::from_millis(100)),
            max_elapsed: None,
            retry_after_jitter: RetryAfterJitter::None,
        }
    }

    /// Adds a random extra to every delay the error asks for
    /// (`retry_after`); the backoff's own delays keep their [`Jitter`](crate::Jitter).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{RetryPolicy, retry::RetryAfterJitter};
    ///
    /// const ASK: RetryPolicy = RetryPolicy::new("ask").with_retry_after_jitter(RetryAfterJitter::Percent(10.0));
    /// assert_eq!(ASK.retry_after_jitter(), RetryAfterJitter::Percent(10.0));
    /// ```
    pub const fn with_retry_after_jitter(mut self, jitter: RetryAfterJitter) -> Self {
        self.retry_after_jitter = jitter;
        self
    }

    /// The jitter added to delays the error asks for.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{RetryPolicy, retry::RetryAfterJitter};
    ///
    /// assert_eq!(RetryPolicy::new("ask").retry_after_jitter(), RetryAfterJitter::None);
    /// ```
    pub const fn retry_after_jitter(&self) -> RetryAfterJitter {
        self.retry_after_jitter
    }

    /// Sets the total number of calls, the first included (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::new("ask").with_attempts(1).attempts(), 1);
    /// ```
    pub const fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// Sets the [`Backoff`] between attempts.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::{Backoff, RetryPolicy};
    ///
    /// let policy = RetryPolicy::new("ask").with_backoff(Backoff::constant(Duration::from_secs(1)));
    /// assert_eq!(policy.backoff().base_delay(), Duration::from_secs(1));
    /// ```
    pub const fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Gives up once `max_elapsed` has passed since the first call started,
    /// checked after each failed attempt (see the [module docs](self)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::RetryPolicy;
    ///
    /// let policy = RetryPolicy::new("ask").with_max_elapsed(Duration::from_secs(10));
    /// assert_eq!(policy.max_elapsed(), Some(Duration::from_secs(10)));
    /// ```
    pub const fn with_max_elapsed(mut self, max_elapsed: Duration) -> Self {
        self.max_elapsed = Some(max_elapsed);
        self
    }

    /// The operation's name, as shown in events.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::new("ask").operation(), "ask");
    /// ```
    pub const fn operation(&self) -> &'static str {
        self.operation
    }

    /// The total number of calls allowed, the first included.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::new("ask").attempts(), 3);
    /// ```
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The [`Backoff`] between attempts.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Backoff, RetryPolicy};
    ///
    /// assert_eq!(RetryPolicy::new("ask").backoff(), Backoff::default());
    /// ```
    pub const fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The limit on the total time, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::new("ask").max_elapsed(), None);
    /// ```
    pub const fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// Checks that the configuration can work.
    ///
    /// # Errors
    ///
    /// [`PolicyError::ZeroAttempts`] if `attempts` is 0, and the errors of
    /// [`Backoff::validate`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{PolicyError, RetryPolicy};
    ///
    /// assert_eq!(RetryPolicy::new("ask").validate(), Ok(()));
    /// assert_eq!(RetryPolicy::new("ask").with_attempts(0).validate(), Err(PolicyError::ZeroAttempts));
    /// ```
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.attempts == 0 {
            return Err(PolicyError::ZeroAttempts);
        }
        self.backoff.validate()
    }
}

pub use crate::events::GiveUpReason;

/// The progress of one retried call, kept on the stack of the generated
/// loop: 4 bytes, or 8 with [`RetryState::remembering`].
///
/// Only decorrelated jitter needs the previous delay; the `#[retry]` macro
/// asks for [`Remember`] exactly when it is configured, so that other
/// policies cost no more than a hand-written attempt counter. Given a
/// [`RetryState`] that forgets, decorrelated jitter draws every delay from
/// `[delay, 3 × delay]`.
///
/// # Examples
///
/// ```
/// use resilience_runtime::RetryState;
///
/// let state = RetryState::new();
/// assert_eq!(state.attempt(), 1);
/// assert_eq!(std::mem::size_of_val(&state), 4);
/// assert_eq!(std::mem::size_of_val(&RetryState::remembering()), 8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryState<M = Forget> {
    /// The attempt running now, from 1.
    attempt: u32,
    /// The previous delay, for decorrelated jitter.
    memory: M,
}

/// What a [`RetryState`] keeps of the previous delay. Implemented by
/// [`Forget`] and [`Remember`].
pub trait DelayMemory: Copy {
    /// The previous delay, or zero if none is kept.
    fn previous(&self) -> Duration;
    /// Records the delay just chosen.
    fn record(&mut self, delay: Duration);
}

/// Keeps nothing: for every policy without decorrelated jitter.
///
/// # Examples
///
/// ```
/// use resilience_runtime::retry::Forget;
///
/// assert_eq!(std::mem::size_of::<Forget>(), 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Forget;

impl DelayMemory for Forget {
    fn previous(&self) -> Duration {
        Duration::ZERO
    }

    fn record(&mut self, _: Duration) {}
}

/// Keeps the previous delay in whole milliseconds (saturating at about 49
/// days), for decorrelated jitter.
///
/// # Examples
///
/// ```
/// use resilience_runtime::retry::Remember;
///
/// assert_eq!(std::mem::size_of::<Remember>(), 4);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Remember {
    prev_ms: u32,
}

impl DelayMemory for Remember {
    fn previous(&self) -> Duration {
        Duration::from_millis(u64::from(self.prev_ms))
    }

    fn record(&mut self, delay: Duration) {
        self.prev_ms = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
    }
}

impl RetryState {
    /// The state before the first attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::RetryState;
    ///
    /// const START: RetryState = RetryState::new();
    /// assert_eq!(START.attempt(), 1);
    /// ```
    pub const fn new() -> Self {
        Self {
            attempt: 1,
            memory: Forget,
        }
    }
}

impl RetryState<Remember> {
    /// The state before the first attempt, remembering each delay for
    /// decorrelated jitter.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::RetryState;
    ///
    /// assert_eq!(RetryState::remembering().attempt(), 1);
    /// ```
    pub const fn remembering() -> Self {
        Self {
            attempt: 1,
            memory: Remember { prev_ms: 0 },
        }
    }
}

impl<M: DelayMemory> RetryState<M> {
    /// The number of the attempt that is running, from 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::{ErrorRef, RetryPolicy, RetryState};
    ///
    /// let mut state = RetryState::new();
    /// state.next_delay(&RetryPolicy::new("ask"), true, None, None, ErrorRef::Display(&"busy"));
    /// assert_eq!(state.attempt(), 2);
    /// ```
    pub const fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Called after an attempt failed: the delay before the next attempt,
    /// or `None` to give up and return the error.
    ///
    /// In this order:
    /// 1. `retryable == false` gives up with [`GiveUpReason::NotRetryable`];
    /// 2. the last allowed attempt gives up with [`GiveUpReason::Exhausted`];
    /// 3. `started.elapsed() >= max_elapsed` (when both are set) gives up with
    ///    [`GiveUpReason::MaxElapsed`];
    /// 4. otherwise the delay is `requested` if the error asked for one (not
    ///    capped by `max_delay`, plus the policy's [`RetryAfterJitter`]),
    ///    else the backoff's delay for this retry.
    ///
    /// Emits [`EventKind::GaveUp`] or [`EventKind::Retry`] with `error`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::{ErrorRef, RetryPolicy, RetryState};
    ///
    /// let policy = RetryPolicy::new("ask").with_attempts(3);
    /// let error = ErrorRef::Display(&"busy");
    /// let mut state = RetryState::new();
    /// assert_eq!(state.next_delay(&policy, true, None, None, error), Some(Duration::from_millis(100)));
    /// assert_eq!(state.next_delay(&policy, true, Some(Duration::from_secs(60)), None, error), Some(Duration::from_secs(60)));
    /// assert_eq!(state.next_delay(&policy, true, None, None, error), None); // 3 attempts made
    /// ```
    pub fn next_delay(
        &mut self,
        policy: &RetryPolicy,
        retryable: bool,
        requested: Option<Duration>,
        started: Option<Instant>,
        error: ErrorRef<'_>,
    ) -> Option<Duration> {
        let give_up = if !retryable {
            Some(GiveUpReason::NotRetryable)
        } else if self.attempt >= policy.attempts {
            Some(GiveUpReason::Exhausted)
        } else if let (Some(limit), Some(started)) = (policy.max_elapsed, started)
            && started.elapsed() >= limit
        {
            Some(GiveUpReason::MaxElapsed)
        } else {
            None
        };
        if let Some(reason) = give_up {
            let kind = EventKind::GaveUp {
                attempts: self.attempt,
                reason,
                error,
            };
            emit(&Event::new(policy.operation, kind));
            return None;
        }
        let prev = self.memory.previous();
        let delay = match requested {
            Some(asked) => policy.retry_after_jitter.apply(asked),
            None => policy.backoff.delay(self.attempt, prev),
        };
        // A delay the error asks for (a Retry-After of a day) that would end
        // past `max_elapsed` is not waited for: give up now.
        if requested.is_some()
            && let (Some(limit), Some(started)) = (policy.max_elapsed, started)
            && started.elapsed().saturating_add(delay) > limit
        {
            let kind = EventKind::GaveUp {
                attempts: self.attempt,
                reason: GiveUpReason::MaxElapsed,
                error,
            };
            emit(&Event::new(policy.operation, kind));
            return None;
        }
        let kind = EventKind::Retry {
            attempt: self.attempt,
            delay,
            error,
        };
        emit(&Event::new(policy.operation, kind));
        self.attempt = self.attempt.saturating_add(1);
        self.memory.record(delay);
        Some(delay)
    }
}

impl Default for RetryState {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for RetryState<Remember> {
    fn default() -> Self {
        Self::remembering()
    }
}

/// What a `retry_after` fn returns: the delay the error asks for, or `None`
/// for the backoff's own; see [`retry_after`].
///
/// Implemented for `Option<Duration>` only. It exists to say, when a
/// `retry_after` fn returns something else (a `Duration`, an `Option<u64>`),
/// what it must return, at the user's fn rather than inside
/// [`RetryState::next_delay`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::retry::RetryAfter;
///
/// assert_eq!(Some(Duration::from_secs(2)).into_delay(), Some(Duration::from_secs(2)));
/// ```
#[diagnostic::on_unimplemented(
    message = "`retry_after` takes `fn(&E) -> Option<Duration>`, but this one returns `{Self}`",
    label = "returns `{Self}`, not `Option<Duration>`",
    note = "return `Some(delay)` for the delay the error asks for and `None` for the backoff's own, e.g. `retry_after = |e: &ApiError| e.retry_after_ms().map(Duration::from_millis)`"
)]
pub trait RetryAfter {
    /// The requested delay.
    fn into_delay(self) -> Option<Duration>;
}

impl RetryAfter for Option<Duration> {
    fn into_delay(self) -> Option<Duration> {
        self
    }
}

/// The delay a `retry_after` fn asked for; the generated code calls it with
/// the fn's result, so that a wrong return type is reported at the fn.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::retry::retry_after;
///
/// assert_eq!(retry_after(None), None);
/// assert_eq!(retry_after(Some(Duration::from_secs(2))), Some(Duration::from_secs(2)));
/// ```
pub fn retry_after<R: RetryAfter>(requested: R) -> Option<Duration> {
    requested.into_delay()
}

/// Clones an argument for one attempt of a `#[retry]` fn; see [`clone_arg`].
///
/// Implemented for every [`Clone`] type. It exists to say, when an argument
/// is not `Clone`, what to do about it.
///
/// # Examples
///
/// ```
/// use resilience_runtime::retry::CloneArg;
///
/// let prompt = String::from("hi");
/// assert_eq!(prompt.clone_arg(), "hi");
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[retry]` clones each owned argument for every attempt, but `{Self}` is not `Clone`",
    label = "this argument is moved into every attempt",
    note = "borrow it instead (`&{Self}`) or make it `Clone`"
)]
pub trait CloneArg: Sized {
    /// A clone of `self` for the next attempt.
    fn clone_arg(&self) -> Self;
}

impl<T: Clone> CloneArg for T {
    fn clone_arg(&self) -> Self {
        self.clone()
    }
}

/// Clones `value` for one attempt of a `#[retry]` fn; the generated code
/// calls it for every argument taken by value.
///
/// # Examples
///
/// ```
/// use resilience_runtime::retry::clone_arg;
///
/// let prompt = String::from("summarise this");
/// let for_this_attempt: String = clone_arg(&prompt);
/// assert_eq!(for_this_attempt, prompt);
/// ```
pub fn clone_arg<T: CloneArg>(value: &T) -> T {
    value.clone_arg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{OwnedEvent, OwnedEventKind, Subscription, scoped};

    const MS: fn(u64) -> Duration = Duration::from_millis;
    const ERR: ErrorRef<'static> = ErrorRef::Display(&"boom");

    fn events_of(sub: &mut Subscription, operation: &str) -> Vec<OwnedEventKind> {
        core::iter::from_fn(|| sub.try_recv())
            .filter(|e: &OwnedEvent| e.operation == operation)
            .map(|e| e.kind)
            .collect()
    }

    #[test]
    fn state_is_as_small_as_an_attempt_counter() {
        assert_eq!(size_of::<RetryState>(), size_of::<u32>());
        assert_eq!(size_of::<RetryState<Remember>>(), 8);
    }

    #[test]
    fn delays_follow_the_backoff_then_exhaust() {
        let policy = RetryPolicy::new("retry::exhaust").with_attempts(4);
        let (scope, mut sub) = scoped();
        let mut state = RetryState::new();
        let delays: Vec<_> = scope.run_sync(|| {
            core::iter::from_fn(|| state.next_delay(&policy, true, None, None, ERR)).collect()
        });
        assert_eq!(delays, [100, 200, 400].map(MS));
        assert_eq!(state.attempt(), 4);
        assert_eq!(
            events_of(&mut sub, "retry::exhaust"),
            [
                OwnedEventKind::Retry {
                    attempt: 1,
                    delay: MS(100),
                    error: "boom".into()
                },
                OwnedEventKind::Retry {
                    attempt: 2,
                    delay: MS(200),
                    error: "boom".into()
                },
                OwnedEventKind::Retry {
                    attempt: 3,
                    delay: MS(400),
                    error: "boom".into()
                },
                OwnedEventKind::GaveUp {
                    attempts: 4,
                    reason: GiveUpReason::Exhausted,
                    error: "boom".into()
                },
            ]
        );
    }

    #[test]
    fn one_attempt_never_retries() {
        let policy = RetryPolicy::new("retry::once").with_attempts(1);
        assert_eq!(
            RetryState::new().next_delay(&policy, true, None, None, ERR),
            None
        );
        // attempts = 0 is rejected by `validate`, and behaves like 1.
        let zero = policy.with_attempts(0);
        assert_eq!(
            RetryState::new().next_delay(&zero, true, None, None, ERR),
            None
        );
    }

    #[test]
    fn not_retryable_gives_up_at_once() {
        let policy = RetryPolicy::new("retry::not_retryable");
        let (scope, mut sub) = scoped();
        let mut state = RetryState::new();
        assert_eq!(
            scope.run_sync(|| state.next_delay(&policy, false, Some(MS(1)), None, ERR)),
            None
        );
        assert_eq!(
            events_of(&mut sub, "retry::not_retryable"),
            [OwnedEventKind::GaveUp {
                attempts: 1,
                reason: GiveUpReason::NotRetryable,
                error: "boom".into()
            }]
        );
    }

    #[test]
    fn retry_after_overrides_the_backoff_and_the_cap() {
        let policy = RetryPolicy::new("retry::after")
            .with_backoff(Backoff::constant(MS(100)).with_max_delay(MS(500)));
        let mut state = RetryState::new();
        let asked = Duration::from_secs(60);
        assert_eq!(
            state.next_delay(&policy, true, Some(asked), None, ERR),
            Some(asked)
        );
        assert_eq!(
            state.next_delay(&policy, true, None, None, ERR),
            Some(MS(100))
        );
    }

    #[test]
    fn retry_after_jitter_spreads_a_shared_delay_after_it() {
        // 200 clients told "1s" (the trial in issue 10): without jitter they
        // all come back at 1s; with 10% they spread over [1s, 1.1s].
        let policy = RetryPolicy::new("retry::spread")
            .with_retry_after_jitter(RetryAfterJitter::Percent(10.0));
        let asked = Duration::from_secs(1);
        let delays: Vec<Duration> = crate::random::with_seed_sync(11, || {
            (0..200)
                .map(|_| {
                    RetryState::new()
                        .next_delay(&policy, true, Some(asked), None, ERR)
                        .unwrap()
                })
                .collect()
        });
        let again: Vec<Duration> = crate::random::with_seed_sync(11, || {
            (0..200)
                .map(|_| {
                    RetryState::new()
                        .next_delay(&policy, true, Some(asked), None, ERR)
                        .unwrap()
                })
                .collect()
        });
        assert_eq!(delays, again, "seeded: the same spread again");
        assert!(delays.iter().all(|d| (asked..=MS(1100)).contains(d)));
        let (min, max) = (delays.iter().min().unwrap(), delays.iter().max().unwrap());
        assert!(*max - *min >= MS(90), "spread over {:?}", *max - *min);
        // No 5ms window holds more than a tenth of the clients.
        for start in (1000..1100).step_by(5) {
            let window = MS(start)..MS(start + 5);
            let n = delays.iter().filter(|d| window.contains(d)).count();
            assert!(n <= 20, "{n} clients return in {window:?}");
        }
        // The backoff's own delays are untouched.
        assert_eq!(
            RetryState::new().next_delay(&policy, true, None, None, ERR),
            Some(MS(100))
        );
        // `UpTo` adds at most its bound, whatever the delay.
        let up_to = policy.with_retry_after_jitter(RetryAfterJitter::UpTo(MS(50)));
        for _ in 0..50 {
            let d = RetryState::new()
                .next_delay(&up_to, true, Some(Duration::from_secs(30)), None, ERR)
                .unwrap();
            assert!(d >= Duration::from_secs(30) && d <= Duration::from_millis(30_050));
        }
    }

    #[test]
    fn retry_after_jitter_of_junk_adds_nothing() {
        let d = Duration::from_secs(1);
        assert_eq!(RetryAfterJitter::Percent(f64::NAN).apply(d), d);
        assert_eq!(RetryAfterJitter::Percent(-5.0).apply(d), d);
        assert_eq!(RetryAfterJitter::UpTo(Duration::ZERO).apply(d), d);
        // Huge values saturate instead of overflowing.
        assert!(RetryAfterJitter::Percent(f64::INFINITY).apply(Duration::MAX) == Duration::MAX);
    }

    #[tokio::test(start_paused = true)]
    async fn jittered_retry_after_past_max_elapsed_gives_up() {
        let policy = RetryPolicy::new("retry::jitter_elapsed")
            .with_max_elapsed(MS(1050))
            .with_retry_after_jitter(RetryAfterJitter::UpTo(Duration::from_secs(10)));
        let started = Instant::now();
        // Seed 3's extra is above 50ms (checked): 1s + extra ends past 1050ms.
        let delay = crate::random::with_seed_sync(3, || {
            RetryState::new().next_delay(
                &policy,
                true,
                Some(Duration::from_secs(1)),
                Some(started),
                ERR,
            )
        });
        assert_eq!(delay, None);
    }

    #[tokio::test(start_paused = true)]
    async fn max_elapsed_is_checked_after_each_failure() {
        let policy = RetryPolicy::new("retry::elapsed")
            .with_attempts(10)
            .with_backoff(Backoff::constant(MS(300)))
            .with_max_elapsed(Duration::from_secs(1));
        let (scope, mut sub) = scoped();
        let started = Instant::now();
        let mut state = RetryState::new();
        let mut delays = Vec::new();
        // Each attempt takes 100ms, then the retry sleeps 300ms.
        scope
            .run(async {
                loop {
                    tokio::time::sleep(MS(100)).await;
                    match state.next_delay(&policy, true, None, Some(started), ERR) {
                        Some(d) => {
                            delays.push(d);
                            tokio::time::sleep(d).await;
                        }
                        None => break,
                    }
                }
            })
            .await;
        // Failures at 100, 500, 900ms retry; the one at 1300ms gives up.
        assert_eq!(delays, [MS(300); 3]);
        assert_eq!(started.elapsed(), MS(1300));
        assert_eq!(
            events_of(&mut sub, "retry::elapsed").last(),
            Some(&OwnedEventKind::GaveUp {
                attempts: 4,
                reason: GiveUpReason::MaxElapsed,
                error: "boom".into()
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn max_elapsed_boundary_and_missing_start() {
        let policy = RetryPolicy::new("retry::boundary").with_max_elapsed(Duration::from_secs(1));
        let started = Instant::now();
        tokio::time::advance(MS(999)).await;
        let mut state = RetryState::new();
        assert!(
            state
                .next_delay(&policy, true, None, Some(started), ERR)
                .is_some()
        );
        tokio::time::advance(MS(1)).await;
        assert!(
            state
                .next_delay(&policy, true, None, Some(started), ERR)
                .is_none()
        );
        // Without a start instant the limit cannot apply.
        assert!(
            RetryState::new()
                .next_delay(&policy, true, None, None, ERR)
                .is_some()
        );
    }

    #[test]
    fn decorrelated_jitter_reads_the_previous_delay() {
        let policy = RetryPolicy::new("retry::decorrelated")
            .with_attempts(50)
            .with_backoff(
                Backoff::constant(MS(100))
                    .with_max_delay(MS(10_000))
                    .with_jitter(crate::Jitter::Decorrelated),
            );
        let mut state = RetryState::remembering();
        let mut prev = MS(100);
        while let Some(d) = state.next_delay(&policy, true, None, None, ERR) {
            assert!(
                d >= MS(100) && d <= MS(10_000).min(prev * 3 + MS(3)),
                "{d:?} after {prev:?}"
            );
            prev = d;
        }
    }

    #[test]
    fn validate() {
        assert_eq!(RetryPolicy::new("v").validate(), Ok(()));
        assert_eq!(
            RetryPolicy::new("v").with_attempts(0).validate(),
            Err(PolicyError::ZeroAttempts)
        );
        assert_eq!(
            RetryPolicy::new("v")
                .with_backoff(Backoff::exponential(MS(1)).with_factor(1.0))
                .validate(),
            Err(PolicyError::Factor { factor: 1.0 })
        );
    }

    #[test]
    fn attempt_counter_saturates() {
        let policy = RetryPolicy::new("retry::saturate").with_attempts(u32::MAX);
        let mut state = RetryState {
            attempt: u32::MAX - 1,
            memory: Remember { prev_ms: u32::MAX },
        };
        assert!(state.next_delay(&policy, true, None, None, ERR).is_some());
        assert_eq!(state.attempt(), u32::MAX);
        assert!(state.next_delay(&policy, true, None, None, ERR).is_none());
    }

    #[test]
    fn clone_arg_clones() {
        let v = vec![1, 2];
        assert_eq!(clone_arg(&v), v);
    }
}
