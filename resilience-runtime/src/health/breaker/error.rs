//! [`CircuitOpen`], what a call that was not made returns, and
//! [`BreakerPolicyError`], a policy that cannot work.

use core::fmt;
use core::time::Duration;

use super::CircuitState;
use crate::support::duration::fmt_duration;

/// A call that a circuit breaker did not make: it was open (or half-open
/// with its trial calls under way, or isolated by hand). It names the
/// operation and the breaker, and says how long the break still lasts.
///
/// Error types of `#[circuit_breaker]` fns convert from it, usually with
/// `#[error(transparent)] CircuitOpen(#[from] CircuitOpen)`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::breaker::{CircuitOpen, CircuitState};
///
/// let open = CircuitOpen::new("ask", "search", CircuitState::Open, Some(Duration::from_millis(1500)));
/// assert_eq!(open.to_string(), "`ask` not called: circuit `search` is open for another 1.5s");
/// assert_eq!(open.remaining(), Some(Duration::from_millis(1500)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CircuitOpen {
    operation: &'static str,
    breaker: &'static str,
    state: CircuitState,
    remaining: Option<Duration>,
}

impl CircuitOpen {
    /// The error for `operation`, refused by the breaker named `breaker`
    /// (empty if it has none) in `state`, with `remaining` of its break
    /// (`None` when isolated).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{CircuitOpen, CircuitState};
    ///
    /// let open = CircuitOpen::new("ask", "", CircuitState::Isolated, None);
    /// assert_eq!(open.to_string(), "`ask` not called: circuit is isolated until it is reset");
    /// ```
    pub const fn new(
        operation: &'static str,
        breaker: &'static str,
        state: CircuitState,
        remaining: Option<Duration>,
    ) -> Self {
        Self {
            operation,
            breaker,
            state,
            remaining,
        }
    }

    /// The operation that was not called.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{CircuitOpen, CircuitState};
    ///
    /// assert_eq!(CircuitOpen::new("ask", "", CircuitState::Isolated, None).operation(), "ask");
    /// ```
    pub const fn operation(&self) -> &'static str {
        self.operation
    }

    /// The breaker's name (empty if it has none).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{CircuitOpen, CircuitState};
    ///
    /// assert_eq!(CircuitOpen::new("ask", "search", CircuitState::Isolated, None).breaker(), "search");
    /// ```
    pub const fn breaker(&self) -> &'static str {
        self.breaker
    }

    /// The breaker's state when it refused the call: [`Open`](CircuitState::Open),
    /// [`HalfOpen`](CircuitState::HalfOpen) (its trial calls were under way)
    /// or [`Isolated`](CircuitState::Isolated).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::breaker::{CircuitOpen, CircuitState};
    ///
    /// let open = CircuitOpen::new("ask", "", CircuitState::HalfOpen, Some(Duration::ZERO));
    /// assert_eq!(open.state(), CircuitState::HalfOpen);
    /// ```
    pub const fn state(&self) -> CircuitState {
        self.state
    }

    /// How long the break still lasted when the call was refused: a hint
    /// for when to call again (a `#[retry(retry_after = ..)]` can use it).
    /// Zero when half-open, `None` when isolated (only a reset ends it).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::breaker::{CircuitOpen, CircuitState};
    ///
    /// let open = CircuitOpen::new("ask", "", CircuitState::Open, Some(Duration::from_secs(2)));
    /// assert_eq!(open.remaining(), Some(Duration::from_secs(2)));
    /// ```
    pub const fn remaining(&self) -> Option<Duration> {
        self.remaining
    }
}

impl fmt::Display for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` not called: circuit ", self.operation)?;
        if !self.breaker.is_empty() {
            write!(f, "`{}` ", self.breaker)?;
        }
        match (self.state, self.remaining) {
            (CircuitState::Isolated, _) => f.write_str("is isolated until it is reset"),
            (CircuitState::HalfOpen, _) => {
                f.write_str("is half-open and its trial calls are under way")
            }
            (_, Some(remaining)) => write!(f, "is open for another {}", fmt_duration(remaining)),
            (_, None) => f.write_str("is open"),
        }
    }
}

impl std::error::Error for CircuitOpen {}

/// A [`BreakerPolicy`](super::BreakerPolicy) that cannot work, from
/// [`validate`](super::BreakerPolicy::validate) or
/// [`CircuitBreaker::try_new`](super::CircuitBreaker::try_new).
///
/// # Examples
///
/// ```
/// use resilience_runtime::breaker::{BreakerPolicy, BreakerPolicyError};
///
/// let error = BreakerPolicy::failure_ratio(1.5).validate().unwrap_err();
/// assert_eq!(error, BreakerPolicyError::Ratio { ratio: 1.5 });
/// assert_eq!(error.to_string(), "circuit breaker: the failure ratio 1.5 is outside (0, 1]; Polly's default is 0.1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BreakerPolicyError {
    /// `consecutive(0)`: it would open before any call.
    #[error("circuit breaker: `consecutive` needs at least 1 failure")]
    NoFailures,
    /// A failure ratio outside (0, 1], or NaN.
    #[error("circuit breaker: the failure ratio {ratio} is outside (0, 1]; Polly's default is 0.1")]
    Ratio {
        /// The ratio given.
        ratio: f64,
    },
    /// A minimum throughput of 0.
    #[error(
        "circuit breaker: the minimum throughput must be at least 1 call (Polly's default is 100)"
    )]
    NoThroughput,
    /// A zero sampling window.
    #[error("circuit breaker: the sampling window must be above zero (Polly's default is 30s)")]
    NoSampling,
    /// A zero break.
    #[error("circuit breaker: the break must be above zero (Polly's default is 5s)")]
    NoBreak,
    /// More failures in a row than a breaker can count.
    #[error(
        "circuit breaker: {failures} failures in a row is more than the 536870911 a breaker counts"
    )]
    TooManyFailures {
        /// The number given.
        failures: u32,
    },
    /// No trial calls: a half-open breaker could never close.
    #[error("circuit breaker: `with_trials` needs at least 1 trial call")]
    NoTrials,
    /// More trial calls than a breaker can count.
    #[error("circuit breaker: {trials} trial calls is more than the 32767 a breaker counts")]
    TooManyTrials {
        /// The number given.
        trials: u32,
    },
    /// A failure-ratio setting on a consecutive-failure policy.
    #[error(
        "circuit breaker: `{setting}` applies to `BreakerPolicy::failure_ratio`, not to `consecutive`"
    )]
    NotRatioMode {
        /// The builder method called.
        setting: &'static str,
    },
}

impl BreakerPolicyError {
    /// Panics with the error's text without its numbers (a `const` panic
    /// cannot format them): what [`CircuitBreaker::new`](super::CircuitBreaker::new)
    /// reports at compile time. One literal per error, so that the compile
    /// error points at this crate's line rather than into `core`.
    pub(super) const fn fail(&self) -> ! {
        match self {
            Self::NoFailures => {
                panic!("circuit breaker: `BreakerPolicy::consecutive` needs at least 1 failure")
            }
            Self::Ratio { .. } => panic!(
                "circuit breaker: the failure ratio must be above 0 and at most 1 (Polly's default is 0.1)"
            ),
            Self::TooManyFailures { .. } => panic!(
                "circuit breaker: `BreakerPolicy::consecutive` takes at most 536870911 failures"
            ),
            Self::NoThroughput => panic!(
                "circuit breaker: `with_min_throughput` needs at least 1 call (Polly's default is 100)"
            ),
            Self::NoSampling => panic!(
                "circuit breaker: `with_sampling` needs a window above zero (Polly's default is 30s)"
            ),
            Self::NoBreak => panic!(
                "circuit breaker: `with_break` needs a duration above zero (Polly's default is 5s)"
            ),
            Self::NoTrials => panic!("circuit breaker: `with_trials` needs at least 1 trial call"),
            Self::TooManyTrials { .. } => {
                panic!("circuit breaker: `with_trials` takes at most 32767 trial calls")
            }
            Self::NotRatioMode { .. } => panic!(
                "circuit breaker: `with_min_throughput` and `with_sampling` apply to `BreakerPolicy::failure_ratio`, not to `consecutive`"
            ),
        }
    }
}
