//! What `#[rate_limit(..)]` calls.

use core::time::Duration;
use std::sync::Arc;

use crate::health::rate::{RateLimited, RateLimiter};

/// A value `#[rate_limit(state = ..)]` can name: a [`RateLimiter`], or a
/// reference or an `Arc` to one.
#[diagnostic::on_unimplemented(
    message = "`#[rate_limit]` needs `state` to be a `resilience::RateLimiter`, found `{Self}`",
    label = "not a `resilience::RateLimiter`",
    note = "declare `static LIMITER: resilience::RateLimiter = resilience::RateLimiter::new(resilience::RateLimit::per_second(10));` and write `#[rate_limit(state = LIMITER)]`"
)]
pub trait RateLimiterState {
    /// The limiter.
    fn rate_limiter(&self) -> &RateLimiter;
}

impl RateLimiterState for RateLimiter {
    fn rate_limiter(&self) -> &RateLimiter {
        self
    }
}

impl<T: RateLimiterState + ?Sized> RateLimiterState for &T {
    fn rate_limiter(&self) -> &RateLimiter {
        (**self).rate_limiter()
    }
}

impl<T: RateLimiterState + ?Sized> RateLimiterState for Arc<T> {
    fn rate_limiter(&self) -> &RateLimiter {
        (**self).rate_limiter()
    }
}

/// The error type of a `#[rate_limit]` fn that may refuse a call (`wait =
/// false` or `max_wait`): it receives [`RateLimited`] through `From`.
#[diagnostic::on_unimplemented(
    message = "`#[rate_limit]` with `wait = false` or `max_wait` needs `{Self}` to implement `From<resilience::RateLimited>`",
    label = "the error type of this `#[rate_limit]` fn",
    note = "add a variant such as `#[error(transparent)] RateLimited(#[from] resilience::RateLimited)`, or let calls wait (remove `wait = false` / `max_wait`)"
)]
pub trait FromRateLimited {
    /// Converts the refusal.
    fn from_rate_limited(error: RateLimited) -> Self;
}

impl<E: From<RateLimited>> FromRateLimited for E {
    fn from_rate_limited(error: RateLimited) -> Self {
        E::from(error)
    }
}

/// Converts `error` into the fn's error type.
pub fn rate_limited_error<E: FromRateLimited>(error: RateLimited) -> E {
    E::from_rate_limited(error)
}

/// Waits for a permit of `state`, as long as it takes.
pub async fn rate_limit_wait<S: RateLimiterState + ?Sized>(state: &S, operation: &'static str) {
    state.rate_limiter().acquire(operation).await;
}

/// Waits for a permit of `state` if it comes within `max_wait`.
pub async fn rate_limit_within<S: RateLimiterState + ?Sized>(
    state: &S,
    operation: &'static str,
    max_wait: Duration,
) -> Result<(), RateLimited> {
    state
        .rate_limiter()
        .acquire_within(operation, max_wait)
        .await
}
