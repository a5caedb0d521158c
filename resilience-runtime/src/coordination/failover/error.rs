//! What a failover reports: why one coordinator could not serve a call,
//! and the error when none could.

use core::fmt;
use core::time::Duration;

use crate::support::duration::fmt_duration;

/// Why a health probe says a coordinator is unhealthy.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::Unhealthy;
///
/// assert_eq!(Unhealthy::ProbeFalse.to_string(), "probe returned false");
/// assert_eq!(Unhealthy::ProbeTimedOut(Duration::from_secs(5)).to_string(), "probe timed out after 5s");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Unhealthy {
    /// The probe answered `false` (the guide counts this as healthy).
    #[error("probe returned false")]
    ProbeFalse,
    /// The probe did not answer within its time limit.
    #[error("probe timed out after {}", fmt_duration(*.0))]
    ProbeTimedOut(Duration),
    /// The probe panicked; holds the panic's message.
    #[error("probe panicked: {0}")]
    ProbePanicked(String),
}

/// Why one coordinator did not serve a call.
///
/// # Examples
///
/// ```
/// use resilience_runtime::{FailoverReason, Unhealthy};
///
/// let unhealthy: FailoverReason<&str> = FailoverReason::Unhealthy(Unhealthy::ProbeFalse);
/// assert_eq!(unhealthy.to_string(), "unhealthy: probe returned false");
/// assert_eq!(FailoverReason::Failed("503").to_string(), "failed: 503");
/// assert_eq!(FailoverReason::<&str>::Panicked("oops".into()).to_string(), "panicked: oops");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailoverReason<E> {
    /// Its health probe said no: the call was not made.
    Unhealthy(Unhealthy),
    /// The call returned this error.
    Failed(E),
    /// The call panicked; holds the panic's message. The panic is this
    /// coordinator's failure, not the caller's crash.
    Panicked(String),
}

impl<E> FailoverReason<E> {
    /// The call's error, if the call was made and returned one.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{FailoverReason, Unhealthy};
    ///
    /// assert_eq!(FailoverReason::Failed(7).error(), Some(&7));
    /// assert_eq!(FailoverReason::<u8>::Unhealthy(Unhealthy::ProbeFalse).error(), None);
    /// ```
    pub const fn error(&self) -> Option<&E> {
        match self {
            Self::Failed(error) => Some(error),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for FailoverReason<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unhealthy(why) => write!(f, "unhealthy: {why}"),
            Self::Failed(error) => write!(f, "failed: {error}"),
            Self::Panicked(message) => write!(f, "panicked: {message}"),
        }
    }
}

/// One coordinator that did not serve a call, and why.
///
/// # Examples
///
/// ```
/// use resilience_runtime::{CoordinatorFailure, FailoverReason};
///
/// let failure = CoordinatorFailure::new("backup-1", FailoverReason::Failed("rate limited"));
/// assert_eq!(failure.to_string(), "backup-1 (failed: rate limited)");
/// assert_eq!(failure.coordinator(), "backup-1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoordinatorFailure<E> {
    coordinator: String,
    reason: FailoverReason<E>,
}

impl<E> CoordinatorFailure<E> {
    /// `coordinator` did not serve the call, for `reason`.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{CoordinatorFailure, FailoverReason};
    ///
    /// let failure = CoordinatorFailure::new("primary", FailoverReason::Failed(503));
    /// assert_eq!(failure.reason().error(), Some(&503));
    /// ```
    pub fn new(coordinator: impl Into<String>, reason: FailoverReason<E>) -> Self {
        Self {
            coordinator: coordinator.into(),
            reason,
        }
    }

    /// The coordinator's name.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{CoordinatorFailure, FailoverReason};
    ///
    /// assert_eq!(CoordinatorFailure::new("primary", FailoverReason::Failed(1)).coordinator(), "primary");
    /// ```
    pub fn coordinator(&self) -> &str {
        &self.coordinator
    }

    /// Why it did not serve the call.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{CoordinatorFailure, FailoverReason};
    ///
    /// let failure = CoordinatorFailure::new("primary", FailoverReason::Failed(1));
    /// assert!(matches!(failure.reason(), FailoverReason::Failed(1)));
    /// ```
    pub const fn reason(&self) -> &FailoverReason<E> {
        &self.reason
    }

    /// The reason, owned.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{CoordinatorFailure, FailoverReason};
    ///
    /// let reason = CoordinatorFailure::new("primary", FailoverReason::Failed(1)).into_reason();
    /// assert_eq!(reason, FailoverReason::Failed(1));
    /// ```
    pub fn into_reason(self) -> FailoverReason<E> {
        self.reason
    }
}

impl<E: fmt::Display> fmt::Display for CoordinatorFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.coordinator, self.reason)
    }
}

/// Writes `items` separated by `", "`.
pub(crate) fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// The error of [`Failover::run`](crate::Failover::run): no coordinator
/// served the call. It carries every coordinator's failure, in the order
/// they were tried.
///
/// # Examples
///
/// ```
/// use resilience_runtime::{CoordinatorFailure, FailoverError, FailoverReason, Unhealthy};
///
/// let err = FailoverError::AllFailed {
///     operation: "coordinate",
///     failures: vec![
///         CoordinatorFailure::new("primary", FailoverReason::Unhealthy(Unhealthy::ProbeFalse)),
///         CoordinatorFailure::new("backup-1", FailoverReason::Failed("overloaded")),
///     ],
/// };
/// assert_eq!(
///     err.to_string(),
///     "`coordinate`: all 2 coordinators failed: primary (unhealthy: probe returned false), backup-1 (failed: overloaded)"
/// );
/// assert_eq!(err.failures().len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailoverError<E> {
    /// Every coordinator was tried once and none served the call.
    AllFailed {
        /// The failover's name (see [`FailoverConfig::with_name`](crate::FailoverConfig::with_name)).
        operation: &'static str,
        /// Each coordinator's failure, in the order they were tried.
        failures: Vec<CoordinatorFailure<E>>,
    },
}

impl<E> FailoverError<E> {
    /// Each coordinator's failure, in the order they were tried.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{CoordinatorFailure, FailoverError, FailoverReason};
    ///
    /// let err = FailoverError::AllFailed {
    ///     operation: "coordinate",
    ///     failures: vec![CoordinatorFailure::new("primary", FailoverReason::Failed(503))],
    /// };
    /// assert_eq!(err.failures()[0].coordinator(), "primary");
    /// ```
    pub fn failures(&self) -> &[CoordinatorFailure<E>] {
        match self {
            Self::AllFailed { failures, .. } => failures,
        }
    }

    /// The failures, owned.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{CoordinatorFailure, FailoverError, FailoverReason};
    ///
    /// let err = FailoverError::AllFailed {
    ///     operation: "coordinate",
    ///     failures: vec![CoordinatorFailure::new("primary", FailoverReason::Failed(503))],
    /// };
    /// assert_eq!(err.into_failures().len(), 1);
    /// ```
    pub fn into_failures(self) -> Vec<CoordinatorFailure<E>> {
        match self {
            Self::AllFailed { failures, .. } => failures,
        }
    }
}

impl<E: fmt::Display> fmt::Display for FailoverError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AllFailed {
                operation,
                failures,
            } => {
                write!(
                    f,
                    "`{operation}`: all {} coordinator{} failed: ",
                    failures.len(),
                    if failures.len() == 1 { "" } else { "s" }
                )?;
                write_list(f, failures)
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for FailoverError<E> {}

/// A failover that cannot work as configured: what
/// [`Failover::new`](crate::Failover::new) and
/// [`FailoverConfig::validate`](crate::FailoverConfig::validate) report.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{FailoverConfig, FailoverConfigError};
///
/// let config = FailoverConfig::new().with_probe_timeout(Duration::ZERO);
/// assert_eq!(config.validate(), Err(FailoverConfigError::ZeroProbeTimeout));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum FailoverConfigError {
    /// The list of coordinators is empty.
    #[error("a failover needs at least one coordinator, got none")]
    NoCoordinators,
    /// The probe's time limit is zero: every probe would time out.
    #[error("`probe_timeout` must be above zero, got 0s")]
    ZeroProbeTimeout,
}
