//! [`ChaosError`] (what an injected fault looks like to the caller) and
//! [`ChaosConfigError`] (a configuration that cannot work).

use core::fmt;
use core::time::Duration;

use crate::support::duration::fmt_duration;

/// The kinds of fault that chaos injects: the guide's four simulated errors.
///
/// # Examples
///
/// ```
/// use resilience_runtime::chaos::ChaosKind;
///
/// assert_eq!(ChaosKind::ResourceExhausted.to_string(), "resource exhaustion");
/// assert_eq!(ChaosKind::ALL.len(), 4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChaosKind {
    /// A simulated timeout (the guide's `TimeoutError`).
    Timeout,
    /// A simulated connection error (the guide's `ConnectionError`).
    Connection,
    /// A simulated processing error (the guide's `ValueError`).
    Processing,
    /// A simulated resource exhaustion (the guide's `MemoryError`).
    ResourceExhausted,
}

impl ChaosKind {
    /// Every kind, in the order of [`ChaosConfig::with_weight`](super::ChaosConfig::with_weight)'s table.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::ChaosKind;
    ///
    /// assert_eq!(ChaosKind::ALL[0], ChaosKind::Timeout);
    /// ```
    pub const ALL: [ChaosKind; 4] = [
        ChaosKind::Timeout,
        ChaosKind::Connection,
        ChaosKind::Processing,
        ChaosKind::ResourceExhausted,
    ];

    /// The kind's position in [`ALL`](Self::ALL).
    pub(super) const fn index(self) -> usize {
        match self {
            ChaosKind::Timeout => 0,
            ChaosKind::Connection => 1,
            ChaosKind::Processing => 2,
            ChaosKind::ResourceExhausted => 3,
        }
    }

    /// The kind's name in words, as events and errors show it.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::ChaosKind;
    ///
    /// assert_eq!(ChaosKind::Connection.name(), "connection error");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            ChaosKind::Timeout => "timeout",
            ChaosKind::Connection => "connection error",
            ChaosKind::Processing => "processing error",
            ChaosKind::ResourceExhausted => "resource exhaustion",
        }
    }
}

impl fmt::Display for ChaosKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a call through [`Chaos`](super::Chaos) fails with: an injected
/// fault, or a configuration that cannot work. The user's error type
/// receives it through `From<ChaosError>`.
///
/// # Examples
///
/// ```
/// use resilience_runtime::chaos::{ChaosError, ChaosKind};
///
/// let error = ChaosError::Injected { kind: ChaosKind::Timeout, call: 17 };
/// assert_eq!(error.to_string(), "chaos injected a timeout at call 17");
/// assert_eq!(error.kind(), Some(ChaosKind::Timeout));
/// ```
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ChaosError {
    /// A fault injected on purpose.
    #[error("chaos injected a {kind} at call {call}")]
    Injected {
        /// Which fault.
        kind: ChaosKind,
        /// The call's number since the last (re)seed, from 0: with the
        /// same seed, the same call gets the same fault.
        call: u64,
    },
    /// The [`Chaos`](super::Chaos) was built with a configuration that
    /// cannot work (with the `const` [`Chaos::new`](super::Chaos::new),
    /// which cannot return an error): every call fails with this until
    /// [`Chaos::set_config`](super::Chaos::set_config) fixes it.
    #[error("chaos is misconfigured: {0}")]
    Config(#[from] ChaosConfigError),
}

impl ChaosError {
    /// The injected fault's kind; `None` for a configuration error.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::{ChaosConfigError, ChaosError};
    ///
    /// assert_eq!(ChaosError::Config(ChaosConfigError::NoWeights).kind(), None);
    /// ```
    pub const fn kind(&self) -> Option<ChaosKind> {
        match self {
            ChaosError::Injected { kind, .. } => Some(*kind),
            ChaosError::Config(_) => None,
        }
    }
}

/// A chaos configuration that cannot work, from
/// [`ChaosConfig::validate`](super::ChaosConfig::validate).
///
/// # Examples
///
/// ```
/// use resilience_runtime::chaos::{ChaosConfig, ChaosConfigError};
///
/// let error = ChaosConfig::new().with_failure_rate(1.5).validate().unwrap_err();
/// assert_eq!(error, ChaosConfigError::FailureRate { rate: 1.5 });
/// assert_eq!(error.to_string(), "the failure rate 1.5 is not between 0 and 1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ChaosConfigError {
    /// The failure rate is not a number from 0 to 1 (NaN included).
    #[error("the failure rate {rate} is not between 0 and 1")]
    FailureRate {
        /// The rate given.
        rate: f64,
    },
    /// Every error kind has weight 0, so no fault could be picked.
    #[error("every error kind has weight 0; give at least one a weight above 0")]
    NoWeights,
    /// A latency range `min..max` with `min == max`: nothing in it.
    #[error("the latency range {} to {} is empty; use `Latency::fixed` for one duration", fmt_duration(*.min), fmt_duration(*.max))]
    EmptyLatency {
        /// Its start.
        min: Duration,
        /// Its end.
        max: Duration,
    },
    /// A latency range whose start is after its end.
    #[error("the latency range {} to {} is inverted; its start must come before its end", fmt_duration(*.min), fmt_duration(*.max))]
    InvertedLatency {
        /// Its start.
        min: Duration,
        /// Its end.
        max: Duration,
    },
}
