//! What a `#[retry]` loop calls after a failed attempt, with named
//! arguments.

use core::time::Duration;
use tokio::time::Instant;

use crate::ErrorRef;
use crate::retry::{RetryPolicy, RetryState};

/// A failed attempt of a `#[retry]` loop, as [`retry_delay`] takes it:
/// the arguments of [`RetryState::next_delay`] by name, so that the
/// generated code reads `retryable: true, requested: None, ..` rather
/// than `true, None, None`.
#[derive(Debug)]
pub struct FailedAttempt<'a> {
    /// Whether `when` accepts the error (`true` without `when`).
    pub retryable: bool,
    /// The delay `retry_after` asked for, if any.
    pub requested: Option<Duration>,
    /// When the first attempt started (with `max_elapsed` only).
    pub started: Option<Instant>,
    /// The error, for the events.
    pub error: ErrorRef<'a>,
}

/// After a failed attempt: the delay before the next one, or `None` to
/// give up; [`RetryState::next_delay`] with named arguments.
#[inline]
pub fn retry_delay<M: crate::retry::DelayMemory>(
    state: &mut RetryState<M>,
    policy: &RetryPolicy,
    failed: FailedAttempt<'_>,
) -> Option<Duration> {
    let FailedAttempt {
        retryable,
        requested,
        started,
        error,
    } = failed;
    state.next_delay(policy, retryable, requested, started, error)
}
