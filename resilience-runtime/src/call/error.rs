//! [`PolicyError`]: a policy that cannot work as configured.

use core::time::Duration;

use crate::support::duration::fmt_duration;

/// A policy whose configuration cannot work, as reported by
/// [`Backoff::validate`](crate::Backoff::validate) and
/// [`RetryPolicy::validate`](crate::RetryPolicy::validate).
///
/// The attributes reject these cases at compile time; this type is for
/// policies built by hand, for example from a configuration file. Each variant
/// names the attribute key and the value it got.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{Backoff, PolicyError};
///
/// let backoff = Backoff::exponential(Duration::from_millis(100)).with_factor(0.5);
/// let err = backoff.validate().unwrap_err();
/// assert_eq!(err, PolicyError::Factor { factor: 0.5 });
/// assert_eq!(err.to_string(), "`factor` must be a finite number greater than 1, got 0.5");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// `attempts` is 0: a retried call must run at least once.
    #[error("`attempts` must be at least 1, got 0")]
    ZeroAttempts,
    /// The exponential growth `factor` is not a finite number above 1.
    #[error("`factor` must be a finite number greater than 1, got {factor}")]
    Factor {
        /// The factor that was set.
        factor: f64,
    },
    /// `max_delay` is below the first `delay`, so no delay could ever be the
    /// configured one.
    #[error(
        "`max_delay` ({}) must not be below `delay` ({})",
        fmt_duration(*max_delay),
        fmt_duration(*delay)
    )]
    MaxDelayBelowDelay {
        /// The first delay.
        delay: Duration,
        /// The cap that was set.
        max_delay: Duration,
    },
    /// A rate (`min_success`, `response_rate`, `majority`) is not a number
    /// from 0 to 1.
    #[error("`{name}` must be a number from 0 to 1, got {value}")]
    Rate {
        /// The setting.
        name: &'static str,
        /// The value it got.
        value: f64,
    },
    /// `concurrency` is 0: no task could ever start.
    #[error("`concurrency` must be at least 1, got 0")]
    ZeroConcurrency,
    /// A pattern got no agents where it needs at least one.
    #[error("no {role} agents: at least one is needed")]
    NoAgents {
        /// Which agents: `"primary"`, `"voting"`.
        role: &'static str,
    },
}
