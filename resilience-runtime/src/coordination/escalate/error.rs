//! What a progressive retry reports: each tier's failure, and the error
//! when no tier succeeded.

use core::fmt;
use core::time::Duration;

use crate::coordination::failover::write_list;
use crate::support::duration::fmt_duration;

/// Why one tier failed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::TierError;
///
/// assert_eq!(TierError::Failed("rate limited").to_string(), "rate limited");
/// assert_eq!(TierError::<&str>::TimedOut(Duration::from_secs(30)).to_string(), "timed out after 30s");
/// assert_eq!(TierError::<&str>::Panicked("oops".into()).to_string(), "panicked: oops");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TierError<E> {
    /// Creating the tier's agents, or the call, returned this error.
    Failed(E),
    /// The tier ran out of its time limit (the guide reports an empty
    /// message here).
    TimedOut(Duration),
    /// Creating the tier's agents, or the call, panicked; holds the panic's
    /// message. The panic is this tier's failure, not the caller's crash.
    Panicked(String),
}

impl<E> TierError<E> {
    /// The error returned, if the tier failed with one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::TierError;
    ///
    /// assert_eq!(TierError::Failed(7).error(), Some(&7));
    /// assert_eq!(TierError::<u8>::TimedOut(Duration::from_secs(1)).error(), None);
    /// ```
    pub const fn error(&self) -> Option<&E> {
        match self {
            Self::Failed(error) => Some(error),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for TierError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(error) => write!(f, "{error}"),
            Self::TimedOut(limit) => write!(f, "timed out after {}", fmt_duration(*limit)),
            Self::Panicked(message) => write!(f, "panicked: {message}"),
        }
    }
}

/// One tier that failed: its number (from 1) and why.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{TierError, TierFailure};
///
/// let failure = TierFailure::<&str>::new(2, TierError::TimedOut(Duration::from_secs(45)));
/// assert_eq!(failure.to_string(), "tier 2 (timed out after 45s)");
/// assert_eq!(failure.tier(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierFailure<E> {
    tier: u32,
    error: TierError<E>,
}

impl<E> TierFailure<E> {
    /// Tier `tier` (from 1) failed with `error`.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{TierError, TierFailure};
    ///
    /// assert_eq!(TierFailure::new(1, TierError::Failed("busy")).error().error(), Some(&"busy"));
    /// ```
    pub const fn new(tier: u32, error: TierError<E>) -> Self {
        Self { tier, error }
    }

    /// The tier's number, from 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{TierError, TierFailure};
    ///
    /// assert_eq!(TierFailure::new(3, TierError::Failed(())).tier(), 3);
    /// ```
    pub const fn tier(&self) -> u32 {
        self.tier
    }

    /// Why it failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{TierError, TierFailure};
    ///
    /// assert!(matches!(TierFailure::new(1, TierError::Failed(5)).error(), TierError::Failed(5)));
    /// ```
    pub const fn error(&self) -> &TierError<E> {
        &self.error
    }

    /// Why it failed, owned.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{TierError, TierFailure};
    ///
    /// assert_eq!(TierFailure::new(1, TierError::Failed(5)).into_error(), TierError::Failed(5));
    /// ```
    pub fn into_error(self) -> TierError<E> {
        self.error
    }
}

impl<E: fmt::Display> fmt::Display for TierFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tier {} ({})", self.tier, self.error)
    }
}

/// A progressive retry that cannot work as configured.
///
/// # Examples
///
/// ```
/// use resilience_runtime::EscalationConfigError;
///
/// assert_eq!(EscalationConfigError::NoTiers.to_string(), "a progressive retry needs at least one tier, got none");
/// assert_eq!(EscalationConfigError::ZeroTimeLimit { tier: 2 }.to_string(), "tier 2 has a time limit of 0s: it could never succeed");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum EscalationConfigError {
    /// The list of tiers is empty.
    #[error("a progressive retry needs at least one tier, got none")]
    NoTiers,
    /// A tier's time limit is zero.
    #[error("tier {tier} has a time limit of 0s: it could never succeed")]
    ZeroTimeLimit {
        /// The tier, from 1.
        tier: u32,
    },
}

/// The error of a progressive retry ([`Escalation::run`](crate::Escalation::run)):
/// every tier tried failed, or one failed with an error that does not
/// escalate, or the tiers cannot work. It carries each tier's failure.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{EscalationError, TierError, TierFailure};
///
/// let err = EscalationError::Exhausted {
///     operation: "solve",
///     failures: vec![
///         TierFailure::new(1, TierError::Failed("wrong answer")),
///         TierFailure::new(2, TierError::TimedOut(Duration::from_secs(60))),
///     ],
/// };
/// assert_eq!(
///     err.to_string(),
///     "`solve`: all 2 tiers failed: tier 1 (wrong answer), tier 2 (timed out after 1m)"
/// );
/// assert_eq!(err.failures().len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EscalationError<E> {
    /// Every tier ran and failed.
    Exhausted {
        /// The progressive retry's name.
        operation: &'static str,
        /// Each tier's failure, in order.
        failures: Vec<TierFailure<E>>,
    },
    /// The last tier tried failed with an error that the `when` predicate
    /// says does not escalate; the bigger tiers did not run.
    NotEscalated {
        /// The progressive retry's name.
        operation: &'static str,
        /// Each tier's failure, in order; the last one stopped it.
        failures: Vec<TierFailure<E>>,
    },
    /// The tiers cannot work; none ran.
    Config {
        /// The progressive retry's name.
        operation: &'static str,
        /// What is wrong.
        error: EscalationConfigError,
    },
}

impl<E> EscalationError<E> {
    /// Each tier's failure, in order (none for a configuration error).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{EscalationConfigError, EscalationError};
    ///
    /// let err = EscalationError::<()>::Config { operation: "solve", error: EscalationConfigError::NoTiers };
    /// assert!(err.failures().is_empty());
    /// ```
    pub fn failures(&self) -> &[TierFailure<E>] {
        match self {
            Self::Exhausted { failures, .. } | Self::NotEscalated { failures, .. } => failures,
            Self::Config { .. } => &[],
        }
    }

    /// The failure of the last tier tried, if any ran.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{EscalationError, TierError, TierFailure};
    ///
    /// let err = EscalationError::NotEscalated {
    ///     operation: "solve",
    ///     failures: vec![TierFailure::new(1, TierError::Failed("content policy"))],
    /// };
    /// assert_eq!(err.last().unwrap().error().error(), Some(&"content policy"));
    /// ```
    pub fn last(&self) -> Option<&TierFailure<E>> {
        self.failures().last()
    }

    /// The failures, owned.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{EscalationError, TierError, TierFailure};
    ///
    /// let err = EscalationError::Exhausted { operation: "solve", failures: vec![TierFailure::new(1, TierError::Failed(1))] };
    /// assert_eq!(err.into_failures().len(), 1);
    /// ```
    pub fn into_failures(self) -> Vec<TierFailure<E>> {
        match self {
            Self::Exhausted { failures, .. } | Self::NotEscalated { failures, .. } => failures,
            Self::Config { .. } => Vec::new(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for EscalationError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exhausted {
                operation,
                failures,
            } => {
                let s = if failures.len() == 1 { "" } else { "s" };
                write!(f, "`{operation}`: all {} tier{s} failed: ", failures.len())?;
                write_list(f, failures)
            }
            Self::NotEscalated {
                operation,
                failures,
            } => {
                if let Some(last) = failures.last() {
                    write!(
                        f,
                        "`{operation}`: tier {} failed with an error that does not escalate ({}); tried: ",
                        last.tier, last.error
                    )?;
                }
                write_list(f, failures)
            }
            Self::Config { operation, error } => write!(f, "`{operation}`: {error}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for EscalationError<E> {}
