//! [`FailoverConfig`]: the name, the probe's time limit and interval, and
//! whether to fail back.

use core::time::Duration;

use super::error::FailoverConfigError;

/// How a [`Failover`](crate::Failover) probes and switches coordinators.
/// A `const` builder; see the [module docs](crate::coordination::failover)
/// for the table of defaults.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::FailoverConfig;
///
/// const CONFIG: FailoverConfig = FailoverConfig::new()
///     .with_name("plan")
///     .with_probe_timeout(Duration::from_secs(2))
///     .with_fail_back(true);
/// assert_eq!(CONFIG.probe_interval(), Duration::from_secs(30));
/// assert!(CONFIG.validate().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FailoverConfig {
    name: &'static str,
    probe_timeout: Duration,
    probe_interval: Duration,
    fail_back: bool,
}

impl FailoverConfig {
    /// The guide's values: named `"coordinate"`, probes limited to 5 s, a
    /// probe result reused for 30 s, no fail-back.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::FailoverConfig;
    ///
    /// let config = FailoverConfig::new();
    /// assert_eq!(config.name(), "coordinate");
    /// assert_eq!(config.probe_timeout(), Duration::from_secs(5));
    /// assert!(!config.fail_back());
    /// assert_eq!(config, FailoverConfig::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            name: "coordinate",
            probe_timeout: Duration::from_secs(5),
            probe_interval: Duration::from_secs(30),
            fail_back: false,
        }
    }

    /// The name of events and errors (the events' `operation`).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::FailoverConfig;
    ///
    /// assert_eq!(FailoverConfig::new().with_name("plan").name(), "plan");
    /// ```
    #[must_use]
    pub const fn with_name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// The time limit of one health probe; a probe that takes longer says
    /// "unhealthy". Must be above zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::FailoverConfig;
    ///
    /// let config = FailoverConfig::new().with_probe_timeout(Duration::from_millis(500));
    /// assert_eq!(config.probe_timeout(), Duration::from_millis(500));
    /// ```
    #[must_use]
    pub const fn with_probe_timeout(mut self, limit: Duration) -> Self {
        self.probe_timeout = limit;
        self
    }

    /// How long a probe's result is reused before the coordinator is probed
    /// again. Zero probes before every call.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::FailoverConfig;
    ///
    /// // `Duration::MAX` means "never again": a result is kept for good, and
    /// // with fail-back on, the primary is never tried again once failed.
    /// let config = FailoverConfig::new().with_probe_interval(Duration::ZERO);
    /// assert_eq!(config.probe_interval(), Duration::ZERO);
    /// ```
    #[must_use]
    pub const fn with_probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval;
        self
    }

    /// Whether to go back to the primary once it is healthy again. When on,
    /// a call made while a backup is current probes the primary (at most
    /// once per probe interval) and, if it is healthy, makes it current
    /// again before the call.
    ///
    /// That probe runs in the caller's call: once per interval, one call
    /// waits up to the probe time limit if the primary still hangs. A
    /// primary that passes its probes but fails its calls comes back once
    /// per interval, and fails over again.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::FailoverConfig;
    ///
    /// assert!(FailoverConfig::new().with_fail_back(true).fail_back());
    /// ```
    #[must_use]
    pub const fn with_fail_back(mut self, fail_back: bool) -> Self {
        self.fail_back = fail_back;
        self
    }

    /// The name of events and errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::FailoverConfig;
    ///
    /// assert_eq!(FailoverConfig::new().name(), "coordinate");
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The time limit of one health probe.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::FailoverConfig;
    ///
    /// assert_eq!(FailoverConfig::new().probe_timeout(), Duration::from_secs(5));
    /// ```
    pub const fn probe_timeout(&self) -> Duration {
        self.probe_timeout
    }

    /// How long a probe's result is reused.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::FailoverConfig;
    ///
    /// assert_eq!(FailoverConfig::new().probe_interval(), Duration::from_secs(30));
    /// ```
    pub const fn probe_interval(&self) -> Duration {
        self.probe_interval
    }

    /// Whether the primary becomes current again once healthy.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::FailoverConfig;
    ///
    /// assert!(!FailoverConfig::new().fail_back());
    /// ```
    pub const fn fail_back(&self) -> bool {
        self.fail_back
    }

    /// Checks that this configuration can work.
    ///
    /// # Errors
    ///
    /// [`FailoverConfigError::ZeroProbeTimeout`] if the probe's time limit
    /// is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::{FailoverConfig, FailoverConfigError};
    ///
    /// assert!(FailoverConfig::new().validate().is_ok());
    /// let zero = FailoverConfig::new().with_probe_timeout(Duration::ZERO);
    /// assert_eq!(zero.validate(), Err(FailoverConfigError::ZeroProbeTimeout));
    /// ```
    pub const fn validate(&self) -> Result<(), FailoverConfigError> {
        if self.probe_timeout.is_zero() {
            return Err(FailoverConfigError::ZeroProbeTimeout);
        }
        Ok(())
    }
}

impl Default for FailoverConfig {
    fn default() -> Self {
        Self::new()
    }
}
