//! [`BreakerPolicy`], the `const` builder of a breaker's thresholds, and its
//! [`BreakerMode`].

use core::time::Duration;

use super::error::BreakerPolicyError;

/// The most trial calls a half-open breaker can let through (its state
/// word counts them in 15 bits).
pub(super) const MAX_TRIALS: u32 = 0x7fff;

/// The most failures in a row a consecutive-mode breaker can count (its
/// state word counts them in 29 bits).
pub(super) const MAX_FAILURES: u32 = 0x1fff_ffff;

/// When a closed breaker opens.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::breaker::{BreakerMode, BreakerPolicy};
///
/// assert_eq!(BreakerPolicy::consecutive(5).mode(), BreakerMode::Consecutive { failures: 5 });
/// assert!(matches!(BreakerPolicy::new().mode(), BreakerMode::FailureRatio { min_throughput: 100, .. }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum BreakerMode {
    /// After `failures` failed calls in a row (a success starts the count
    /// again).
    Consecutive {
        /// The failures in a row that open the breaker.
        failures: u32,
    },
    /// When, over the last `sampling`, at least `min_throughput` calls were
    /// made and the share of them that failed is at least `ratio` (Polly's
    /// advanced circuit breaker).
    FailureRatio {
        /// The share of failed calls that opens the breaker, in (0, 1].
        ratio: f64,
        /// The fewest calls in the window for the ratio to count.
        min_throughput: u32,
        /// The sliding window's length.
        sampling: Duration,
    },
}

/// A breaker's thresholds: when it opens ([`BreakerMode`]), how long it
/// stays open, and how many trial calls it lets through when half-open.
/// A `const` builder; a [`CircuitBreaker`](super::CircuitBreaker) holds one.
///
/// # Defaults
///
/// Taken from Polly v8's `CircuitBreakerStrategyOptions`; resilience4j's
/// for comparison.
///
/// | setting | default | Polly v8 | resilience4j |
/// |---|---|---|---|
/// | mode | failure ratio ([`new`](Self::new)) | failure ratio | failure rate |
/// | failure ratio | 0.1 | `FailureRatio` 0.1 | `failureRateThreshold` 50 % |
/// | [minimum throughput](Self::with_min_throughput) | 100 calls | `MinimumThroughput` 100 | `minimumNumberOfCalls` 100 |
/// | [sampling window](Self::with_sampling) | 30 s, in 10 buckets | `SamplingDuration` 30 s | `slidingWindowSize` 100 calls |
/// | [break](Self::with_break) | 5 s | `BreakDuration` 5 s | `waitDurationInOpenState` 60 s |
/// | [trial calls](Self::with_trials) when half-open | 1 | 1 | `permittedNumberOfCallsInHalfOpenState` 10 |
/// | [consecutive](Self::consecutive) failures | yours to choose | (Polly v7's basic breaker: `exceptionsAllowedBeforeBreaking`, required) | — |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::breaker::BreakerPolicy;
///
/// const FLAKY_MODEL: BreakerPolicy = BreakerPolicy::consecutive(5)
///     .with_break(Duration::from_secs(30))
///     .with_trials(2);
/// assert!(FLAKY_MODEL.validate().is_ok());
///
/// const BUSY_API: BreakerPolicy = BreakerPolicy::failure_ratio(0.5)
///     .with_min_throughput(20)
///     .with_sampling(Duration::from_secs(10));
/// assert!(BUSY_API.validate().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerPolicy {
    mode: BreakerMode,
    break_duration: Duration,
    trials: u32,
    /// A ratio-mode setting applied to a consecutive-mode policy.
    misapplied: Option<&'static str>,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl BreakerPolicy {
    /// Polly v8's defaults: open when at least 10 % of at least 100 calls
    /// over the last 30 s failed, for 5 s, then one trial call (see the
    /// table above).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::breaker::{BreakerMode, BreakerPolicy};
    ///
    /// let policy = BreakerPolicy::new();
    /// assert_eq!(policy.mode(), BreakerMode::FailureRatio {
    ///     ratio: 0.1,
    ///     min_throughput: 100,
    ///     sampling: Duration::from_secs(30),
    /// });
    /// assert_eq!((policy.break_duration(), policy.trials()), (Duration::from_secs(5), 1));
    /// ```
    pub const fn new() -> Self {
        Self::failure_ratio(0.1)
    }

    /// Opens after `failures` failed calls in a row (1 to 536,870,911); a
    /// success starts the count again. Break 5 s, one trial call.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerMode, BreakerPolicy};
    ///
    /// assert_eq!(BreakerPolicy::consecutive(3).mode(), BreakerMode::Consecutive { failures: 3 });
    /// assert!(BreakerPolicy::consecutive(0).validate().is_err());
    /// ```
    pub const fn consecutive(failures: u32) -> Self {
        Self {
            mode: BreakerMode::Consecutive { failures },
            break_duration: Duration::from_secs(5),
            trials: 1,
            misapplied: None,
        }
    }

    /// Opens when at least `ratio` (in (0, 1]) of the calls over the
    /// sampling window failed, once the window holds the minimum
    /// throughput. Minimum throughput 100, sampling 30 s, break 5 s, one
    /// trial call.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::BreakerPolicy;
    ///
    /// assert!(BreakerPolicy::failure_ratio(0.5).validate().is_ok());
    /// assert!(BreakerPolicy::failure_ratio(1.5).validate().is_err());
    /// ```
    pub const fn failure_ratio(ratio: f64) -> Self {
        Self {
            mode: BreakerMode::FailureRatio {
                ratio,
                min_throughput: 100,
                sampling: Duration::from_secs(30),
            },
            break_duration: Duration::from_secs(5),
            trials: 1,
            misapplied: None,
        }
    }

    /// Sets the fewest calls the window must hold before its ratio can
    /// open the breaker (failure-ratio mode only; at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, BreakerPolicyError};
    ///
    /// assert!(BreakerPolicy::failure_ratio(0.5).with_min_throughput(10).validate().is_ok());
    /// assert!(matches!(
    ///     BreakerPolicy::consecutive(3).with_min_throughput(10).validate(),
    ///     Err(BreakerPolicyError::NotRatioMode { .. })
    /// ));
    /// ```
    pub const fn with_min_throughput(mut self, calls: u32) -> Self {
        match &mut self.mode {
            BreakerMode::FailureRatio { min_throughput, .. } => *min_throughput = calls,
            BreakerMode::Consecutive { .. } => self.misapplied = Some("with_min_throughput"),
        }
        self
    }

    /// Sets the sliding window's length (failure-ratio mode only; above
    /// zero). The window is 10 buckets of a tenth of it each, so it covers
    /// between 90 % and 100 % of `sampling`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::breaker::BreakerPolicy;
    ///
    /// let policy = BreakerPolicy::new().with_sampling(Duration::from_secs(10));
    /// assert!(policy.validate().is_ok());
    /// assert!(BreakerPolicy::new().with_sampling(Duration::ZERO).validate().is_err());
    /// ```
    pub const fn with_sampling(mut self, window: Duration) -> Self {
        match &mut self.mode {
            BreakerMode::FailureRatio { sampling, .. } => *sampling = window,
            BreakerMode::Consecutive { .. } => self.misapplied = Some("with_sampling"),
        }
        self
    }

    /// Sets how long the breaker stays open before it lets a trial call
    /// through (above zero).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::breaker::BreakerPolicy;
    ///
    /// let policy = BreakerPolicy::consecutive(3).with_break(Duration::from_secs(30));
    /// assert_eq!(policy.break_duration(), Duration::from_secs(30));
    /// ```
    pub const fn with_break(mut self, duration: Duration) -> Self {
        self.break_duration = duration;
        self
    }

    /// Sets how many trial calls the half-open breaker lets through (1 to
    /// 32767): all of them must succeed to close it, and the first that
    /// fails opens it again.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::BreakerPolicy;
    ///
    /// assert_eq!(BreakerPolicy::consecutive(3).with_trials(3).trials(), 3);
    /// assert!(BreakerPolicy::consecutive(3).with_trials(0).validate().is_err());
    /// ```
    pub const fn with_trials(mut self, trials: u32) -> Self {
        self.trials = trials;
        self
    }

    /// When it opens.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerMode, BreakerPolicy};
    ///
    /// assert!(matches!(BreakerPolicy::failure_ratio(0.2).mode(), BreakerMode::FailureRatio { ratio, .. } if ratio == 0.2));
    /// ```
    pub const fn mode(&self) -> BreakerMode {
        self.mode
    }

    /// How long it stays open.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::breaker::BreakerPolicy;
    ///
    /// assert_eq!(BreakerPolicy::new().break_duration(), Duration::from_secs(5));
    /// ```
    pub const fn break_duration(&self) -> Duration {
        self.break_duration
    }

    /// How many trial calls it lets through when half-open.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::BreakerPolicy;
    ///
    /// assert_eq!(BreakerPolicy::new().trials(), 1);
    /// ```
    pub const fn trials(&self) -> u32 {
        self.trials
    }

    /// Checks that the policy can work. `const`, so a policy can be checked
    /// at compile time; [`CircuitBreaker::new`](super::CircuitBreaker::new)
    /// does.
    ///
    /// # Errors
    ///
    /// The first [`BreakerPolicyError`] found: a zero count or duration, a
    /// ratio outside (0, 1], too many failures or trial calls, or a ratio-mode setting
    /// on a consecutive-mode policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, BreakerPolicyError};
    ///
    /// const CHECKED: () = assert!(BreakerPolicy::consecutive(5).validate().is_ok());
    /// assert_eq!(BreakerPolicy::consecutive(0).validate(), Err(BreakerPolicyError::NoFailures));
    /// ```
    pub const fn validate(&self) -> Result<(), BreakerPolicyError> {
        if let Some(setting) = self.misapplied {
            return Err(BreakerPolicyError::NotRatioMode { setting });
        }
        match self.mode {
            BreakerMode::Consecutive { failures } => {
                if failures == 0 {
                    return Err(BreakerPolicyError::NoFailures);
                }
                if failures > MAX_FAILURES {
                    return Err(BreakerPolicyError::TooManyFailures { failures });
                }
            }
            BreakerMode::FailureRatio {
                ratio,
                min_throughput,
                sampling,
            } => {
                // `!(..)` so that NaN is refused too.
                if !(ratio > 0.0 && ratio <= 1.0) {
                    return Err(BreakerPolicyError::Ratio { ratio });
                }
                if min_throughput == 0 {
                    return Err(BreakerPolicyError::NoThroughput);
                }
                if sampling.is_zero() {
                    return Err(BreakerPolicyError::NoSampling);
                }
            }
        }
        if self.break_duration.is_zero() {
            return Err(BreakerPolicyError::NoBreak);
        }
        if self.trials == 0 {
            return Err(BreakerPolicyError::NoTrials);
        }
        if self.trials > MAX_TRIALS {
            return Err(BreakerPolicyError::TooManyTrials {
                trials: self.trials,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_setting_is_its_own_error() {
        let ms = Duration::from_millis;
        let cases = [
            (
                BreakerPolicy::consecutive(0),
                BreakerPolicyError::NoFailures,
            ),
            (
                BreakerPolicy::consecutive(MAX_FAILURES + 1),
                BreakerPolicyError::TooManyFailures {
                    failures: MAX_FAILURES + 1,
                },
            ),
            (
                BreakerPolicy::failure_ratio(0.0),
                BreakerPolicyError::Ratio { ratio: 0.0 },
            ),
            (
                BreakerPolicy::failure_ratio(1.01),
                BreakerPolicyError::Ratio { ratio: 1.01 },
            ),
            (
                BreakerPolicy::failure_ratio(-0.5),
                BreakerPolicyError::Ratio { ratio: -0.5 },
            ),
            (
                BreakerPolicy::new().with_min_throughput(0),
                BreakerPolicyError::NoThroughput,
            ),
            (
                BreakerPolicy::new().with_sampling(Duration::ZERO),
                BreakerPolicyError::NoSampling,
            ),
            (
                BreakerPolicy::new().with_break(Duration::ZERO),
                BreakerPolicyError::NoBreak,
            ),
            (
                BreakerPolicy::consecutive(1).with_trials(0),
                BreakerPolicyError::NoTrials,
            ),
            (
                BreakerPolicy::consecutive(1).with_trials(MAX_TRIALS + 1),
                BreakerPolicyError::TooManyTrials {
                    trials: MAX_TRIALS + 1,
                },
            ),
            (
                BreakerPolicy::consecutive(2).with_sampling(ms(10)),
                BreakerPolicyError::NotRatioMode {
                    setting: "with_sampling",
                },
            ),
        ];
        for (policy, error) in cases {
            assert_eq!(policy.validate(), Err(error), "{policy:?}");
        }
        assert!(matches!(
            BreakerPolicy::failure_ratio(f64::NAN).validate(),
            Err(BreakerPolicyError::Ratio { ratio }) if ratio.is_nan()
        ));
        assert_eq!(BreakerPolicy::failure_ratio(1.0).validate(), Ok(()));
        assert_eq!(BreakerPolicy::consecutive(MAX_FAILURES).validate(), Ok(()));
        assert_eq!(
            BreakerPolicy::consecutive(1)
                .with_trials(MAX_TRIALS)
                .validate(),
            Ok(())
        );
    }
}
