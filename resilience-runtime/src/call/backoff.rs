//! [`Backoff`]: how long to wait before each retry.
//!
//! The delay before retry `n` (`n` = 1, 2, …), before jitter, is
//!
//! | growth | delay |
//! |---|---|
//! | [`constant`](Backoff::constant) | `delay` |
//! | [`linear`](Backoff::linear) | `delay × n` |
//! | [`exponential`](Backoff::exponential) | `delay × factor^(n-1)` |
//!
//! and never more than [`max_delay`](Backoff::with_max_delay). [`Jitter`]
//! then spreads the delays so that many clients failing together do not
//! retry together.
//!
//! The arithmetic saturates: no retry number and no factor makes it panic.
//! A delay that would overflow becomes the cap, or [`Duration::MAX`] without
//! one.
//!
//! A `Backoff` is also an endless iterator of delays; bound it with
//! [`take`](Iterator::take):
//!
//! ```
//! use std::time::Duration;
//! use resilience_runtime::Backoff;
//!
//! let delays: Vec<_> = Backoff::default().into_iter().take(4).collect();
//! assert_eq!(delays, [100, 200, 400, 800].map(Duration::from_millis));
//! ```

use core::iter::FusedIterator;
use core::time::Duration;

use crate::call::error::PolicyError;

/// How the delay grows from one retry to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Growth {
    Constant,
    Linear,
    Exponential,
}

/// Random spread applied to each delay `d` computed by a [`Backoff`].
///
/// # Default
///
/// [`Jitter::None`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{Backoff, Jitter};
///
/// let backoff = Backoff::constant(Duration::from_secs(1)).with_jitter(Jitter::Equal);
/// let d = backoff.delay(1, Duration::ZERO);
/// assert!(d >= Duration::from_millis(500) && d <= Duration::from_secs(1));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Jitter {
    /// Exactly `d`.
    #[default]
    None,
    /// Uniform in `[0, d]`: the widest spread (AWS's "full jitter").
    Full,
    /// `d/2` plus uniform in `[0, d/2]`: never less than half the delay.
    Equal,
    /// Uniform in `[delay, max(delay, previous × 3)]`, capped by `max_delay`,
    /// where `delay` is the first delay and `previous` the previous retry's
    /// delay (`delay` before the first retry). It ignores the growth:
    /// each delay grows from the last one (AWS's "decorrelated jitter").
    Decorrelated,
}

/// How long to wait before each retry: a growth, a first delay, an optional
/// cap and a [`Jitter`]. See the [module docs](self) for the formulas.
///
/// All builders are `const fn`, so a policy can live in a `const`. Builders
/// do not check their input; call [`validate`](Backoff::validate) on a
/// backoff built at run time.
///
/// # Default
///
/// Exponential from 100ms with factor 2, no cap, no jitter: 100ms, 200ms,
/// 400ms, …
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{Backoff, Jitter};
///
/// const BACKOFF: Backoff = Backoff::exponential(Duration::from_millis(100))
///     .with_factor(3.0)
///     .with_max_delay(Duration::from_secs(1))
///     .with_jitter(Jitter::None);
///
/// let delays: Vec<_> = BACKOFF.iter().take(4).collect();
/// assert_eq!(delays, [100, 300, 900, 1000].map(Duration::from_millis));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    growth: Growth,
    delay: Duration,
    factor: f64,
    max_delay: Option<Duration>,
    jitter: Jitter,
}

impl Backoff {
    const fn with_growth(growth: Growth, delay: Duration) -> Self {
        Self {
            growth,
            delay,
            factor: 2.0,
            max_delay: None,
            jitter: Jitter::None,
        }
    }

    /// The same `delay` before every retry.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Backoff;
    ///
    /// let b = Backoff::constant(Duration::from_millis(50));
    /// assert_eq!(b.delay(7, Duration::ZERO), Duration::from_millis(50));
    /// ```
    pub const fn constant(delay: Duration) -> Self {
        Self::with_growth(Growth::Constant, delay)
    }

    /// `delay × n` before retry `n`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Backoff;
    ///
    /// let b = Backoff::linear(Duration::from_millis(50));
    /// assert_eq!(b.delay(3, Duration::ZERO), Duration::from_millis(150));
    /// ```
    pub const fn linear(delay: Duration) -> Self {
        Self::with_growth(Growth::Linear, delay)
    }

    /// `delay × factor^(n-1)` before retry `n`, with factor 2 unless
    /// [`with_factor`](Backoff::with_factor) says otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Backoff;
    ///
    /// let b = Backoff::exponential(Duration::from_millis(50));
    /// assert_eq!(b.delay(3, Duration::ZERO), Duration::from_millis(200));
    /// ```
    pub const fn exponential(delay: Duration) -> Self {
        Self::with_growth(Growth::Exponential, delay)
    }

    /// Sets the growth factor of an exponential backoff; constant and linear
    /// backoffs ignore it. It should be a finite number above 1
    /// ([`validate`](Backoff::validate) says so); at run time a factor below
    /// 1 or NaN is taken as 1, and an infinite one sends every delay after
    /// the first to the cap.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Backoff;
    ///
    /// let b = Backoff::exponential(Duration::from_millis(100)).with_factor(1.5);
    /// assert_eq!(b.delay(2, Duration::ZERO), Duration::from_millis(150));
    /// ```
    pub const fn with_factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// Caps every delay at `max_delay`, jitter included.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Backoff;
    ///
    /// let b = Backoff::exponential(Duration::from_secs(1)).with_max_delay(Duration::from_secs(5));
    /// assert_eq!(b.delay(10, Duration::ZERO), Duration::from_secs(5));
    /// ```
    pub const fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = Some(max_delay);
        self
    }

    /// Sets the [`Jitter`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::{Backoff, Jitter};
    ///
    /// let b = Backoff::constant(Duration::from_secs(1)).with_jitter(Jitter::Full);
    /// assert!(b.delay(1, Duration::ZERO) <= Duration::from_secs(1));
    /// ```
    pub const fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The first delay.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Backoff;
    ///
    /// assert_eq!(Backoff::default().base_delay(), Duration::from_millis(100));
    /// ```
    pub const fn base_delay(&self) -> Duration {
        self.delay
    }

    /// The exponential growth factor (2 unless set).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Backoff;
    ///
    /// assert_eq!(Backoff::default().factor(), 2.0);
    /// ```
    pub const fn factor(&self) -> f64 {
        self.factor
    }

    /// The cap on any delay, if there is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Backoff;
    ///
    /// assert_eq!(Backoff::default().max_delay(), None);
    /// ```
    pub const fn max_delay(&self) -> Option<Duration> {
        self.max_delay
    }

    /// The [`Jitter`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{Backoff, Jitter};
    ///
    /// assert_eq!(Backoff::default().jitter(), Jitter::None);
    /// ```
    pub const fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// Checks that the configuration can work. A zero delay is allowed.
    ///
    /// # Errors
    ///
    /// - [`PolicyError::Factor`] if the factor is not finite or not above 1.
    /// - [`PolicyError::MaxDelayBelowDelay`] if the cap is below the first delay.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::{Backoff, PolicyError};
    ///
    /// assert_eq!(Backoff::default().validate(), Ok(()));
    ///
    /// let capped = Backoff::constant(Duration::from_secs(2)).with_max_delay(Duration::from_secs(1));
    /// assert!(matches!(capped.validate(), Err(PolicyError::MaxDelayBelowDelay { .. })));
    /// ```
    pub fn validate(&self) -> Result<(), PolicyError> {
        if !(self.factor.is_finite() && self.factor > 1.0) {
            return Err(PolicyError::Factor {
                factor: self.factor,
            });
        }
        match self.max_delay {
            Some(max_delay) if max_delay < self.delay => Err(PolicyError::MaxDelayBelowDelay {
                delay: self.delay,
                max_delay,
            }),
            _ => Ok(()),
        }
    }

    /// The delay before retry `retry` (1 for the first retry; 0 counts as 1),
    /// jitter included. `prev` is the delay used before the previous retry;
    /// only [`Jitter::Decorrelated`] reads it.
    ///
    /// Never panics: a delay that overflows becomes the cap, or
    /// [`Duration::MAX`] without one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Backoff;
    ///
    /// let b = Backoff::default();
    /// assert_eq!(b.delay(1, Duration::ZERO), Duration::from_millis(100));
    /// assert_eq!(b.delay(4, Duration::ZERO), Duration::from_millis(800));
    /// assert_eq!(b.delay(u32::MAX, Duration::ZERO), Duration::MAX);
    /// ```
    pub fn delay(&self, retry: u32, prev: Duration) -> Duration {
        let cap = self.max_delay.unwrap_or(Duration::MAX);
        let d = self.raw_delay(retry.max(1)).min(cap);
        match self.jitter {
            Jitter::None => d,
            Jitter::Full => uniform(Duration::ZERO, d),
            Jitter::Equal => {
                let half = d / 2;
                half.saturating_add(uniform(Duration::ZERO, d - half))
            }
            Jitter::Decorrelated => {
                let base = self.delay;
                let prev = if retry <= 1 { base } else { prev };
                uniform(base, base.max(prev.saturating_mul(3))).min(cap)
            }
        }
    }

    /// The delay before retry `n >= 1`, without cap or jitter.
    fn raw_delay(&self, n: u32) -> Duration {
        match self.growth {
            Growth::Constant => self.delay,
            Growth::Linear => self.delay.saturating_mul(n),
            Growth::Exponential => {
                if self.delay.is_zero() || n == 1 {
                    return self.delay;
                }
                // NaN and factors below 1 mean "no growth"; `max` maps NaN to 1.
                let factor = self.factor.max(1.0);
                let exponent = i32::try_from(n - 1).unwrap_or(i32::MAX);
                from_nanos_f64(self.delay.as_nanos() as f64 * factor.powi(exponent))
            }
        }
    }

    /// The delays before retries 1, 2, 3, … as an endless iterator.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Backoff;
    ///
    /// let delays: Vec<_> = Backoff::linear(Duration::from_secs(1)).iter().take(3).collect();
    /// assert_eq!(delays, [1, 2, 3].map(Duration::from_secs));
    /// ```
    pub const fn iter(self) -> Delays {
        Delays {
            backoff: self,
            retry: 0,
            prev: Duration::ZERO,
        }
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::exponential(Duration::from_millis(100))
    }
}

impl IntoIterator for Backoff {
    type Item = Duration;
    type IntoIter = Delays;

    fn into_iter(self) -> Delays {
        self.iter()
    }
}

/// The endless iterator of delays of a [`Backoff`], made by
/// [`Backoff::iter`]. Bound it with [`take`](Iterator::take).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{Backoff, backoff::Delays};
///
/// let mut delays: Delays = Backoff::constant(Duration::from_secs(1)).iter();
/// assert_eq!(delays.next(), Some(Duration::from_secs(1)));
/// assert_eq!(delays.next(), Some(Duration::from_secs(1)));
/// ```
#[derive(Clone, Debug)]
pub struct Delays {
    backoff: Backoff,
    retry: u32,
    prev: Duration,
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.retry = self.retry.saturating_add(1);
        self.prev = self.backoff.delay(self.retry, self.prev);
        Some(self.prev)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl FusedIterator for Delays {}

/// A uniformly random duration in `[low, high]` (`low` if `high < low`).
fn uniform(low: Duration, high: Duration) -> Duration {
    if high <= low {
        return low;
    }
    from_nanos(crate::support::random::u128_in(
        low.as_nanos()..=high.as_nanos(),
    ))
}

/// A number of nanoseconds as a duration, rounded, saturating at
/// [`Duration::MAX`]. NaN saturates too, so that an undefined delay never
/// means "retry at once".
fn from_nanos_f64(nanos: f64) -> Duration {
    if nanos.is_nan() {
        return Duration::MAX;
    }
    // `as` saturates: negatives become 0, huge values `u128::MAX`.
    from_nanos(nanos.round() as u128)
}

/// A number of nanoseconds as a duration, saturating at [`Duration::MAX`].
fn from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(nanos / NANOS_PER_SEC) {
        // The remainder is below 10^9, so it fits and `new` cannot overflow.
        Ok(secs) => Duration::new(secs, (nanos % NANOS_PER_SEC) as u32),
        Err(_) => Duration::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn first(backoff: Backoff, n: usize) -> Vec<Duration> {
        backoff.iter().take(n).collect()
    }

    #[test]
    fn constant_sequence() {
        assert_eq!(
            first(Backoff::constant(MS(250)), 4),
            [250, 250, 250, 250].map(MS)
        );
    }

    #[test]
    fn linear_sequence() {
        assert_eq!(
            first(Backoff::linear(MS(100)), 4),
            [100, 200, 300, 400].map(MS)
        );
    }

    #[test]
    fn default_is_exponential_100ms_factor_2() {
        assert_eq!(
            first(Backoff::default(), 6),
            [100, 200, 400, 800, 1600, 3200].map(MS)
        );
    }

    #[test]
    fn exponential_with_factor() {
        let b = Backoff::exponential(MS(100)).with_factor(1.5);
        let want = [100_000, 150_000, 225_000, 337_500].map(Duration::from_micros);
        assert_eq!(first(b, 4), want);
        let b = Backoff::exponential(MS(10)).with_factor(10.0);
        assert_eq!(first(b, 4), [10, 100, 1_000, 10_000].map(MS));
    }

    #[test]
    fn cap_applies_to_every_growth() {
        let cap = MS(250);
        assert_eq!(
            first(Backoff::exponential(MS(100)).with_max_delay(cap), 4),
            [100, 200, 250, 250].map(MS)
        );
        assert_eq!(
            first(Backoff::linear(MS(100)).with_max_delay(cap), 4),
            [100, 200, 250, 250].map(MS)
        );
        assert_eq!(
            first(Backoff::constant(MS(300)).with_max_delay(cap), 2),
            [250, 250].map(MS)
        );
    }

    #[test]
    fn saturates_at_huge_retry_numbers() {
        let exp = Backoff::exponential(MS(100));
        assert_eq!(
            exp.delay(64, Duration::ZERO),
            Duration::new(922_337_203_685_477_580, 800_000_000)
        );
        for n in [1_000, u32::MAX - 1, u32::MAX] {
            assert_eq!(exp.delay(n, Duration::ZERO), Duration::MAX);
            assert_eq!(exp.with_max_delay(MS(5)).delay(n, Duration::ZERO), MS(5));
            assert_eq!(
                Backoff::linear(MS(1)).delay(n, Duration::ZERO),
                MS(u64::from(n))
            );
            assert_eq!(
                Backoff::linear(Duration::MAX).delay(n, Duration::ZERO),
                Duration::MAX
            );
            let max = Backoff::exponential(Duration::MAX).with_factor(f64::MAX);
            assert_eq!(max.delay(n, Duration::MAX), Duration::MAX);
        }
        assert_eq!(
            Backoff::linear(Duration::from_secs(u64::MAX / 2)).delay(3, Duration::ZERO),
            Duration::MAX
        );
        // The iterator keeps going past u32::MAX retries without overflow.
        let mut it = Backoff::default().iter();
        it.retry = u32::MAX;
        assert_eq!(it.next(), Some(Duration::MAX));
        assert_eq!(it.next(), Some(Duration::MAX));
    }

    #[test]
    fn odd_factors_never_panic() {
        for factor in [f64::NAN, f64::NEG_INFINITY, -3.0, 0.0, 0.5, 1.0] {
            let b = Backoff::exponential(MS(100)).with_factor(factor);
            assert_eq!(first(b, 3), [100, 100, 100].map(MS), "{factor}");
        }
        let inf = Backoff::exponential(MS(100)).with_factor(f64::INFINITY);
        assert_eq!(first(inf, 3), [MS(100), Duration::MAX, Duration::MAX]);
        assert_eq!(first(inf.with_max_delay(MS(300)), 2), [100, 300].map(MS));
        let zero = Backoff::exponential(Duration::ZERO).with_factor(f64::INFINITY);
        assert_eq!(first(zero, 3), [Duration::ZERO; 3]);
    }

    #[test]
    fn zero_retry_counts_as_first() {
        assert_eq!(Backoff::linear(MS(100)).delay(0, Duration::ZERO), MS(100));
        assert_eq!(Backoff::default().delay(0, Duration::ZERO), MS(100));
    }

    #[test]
    fn validate_reports_the_field_and_value() {
        assert_eq!(Backoff::constant(Duration::ZERO).validate(), Ok(()));
        for factor in [1.0, 0.5, f64::INFINITY] {
            assert_eq!(
                Backoff::exponential(MS(1)).with_factor(factor).validate(),
                Err(PolicyError::Factor { factor })
            );
        }
        let nan = Backoff::exponential(MS(1)).with_factor(f64::NAN).validate();
        assert!(matches!(nan, Err(PolicyError::Factor { factor }) if factor.is_nan()));
        let err = Backoff::linear(Duration::from_secs(2))
            .with_max_delay(MS(1500))
            .validate();
        assert_eq!(
            err,
            Err(PolicyError::MaxDelayBelowDelay {
                delay: Duration::from_secs(2),
                max_delay: MS(1500)
            })
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            "`max_delay` (1.5s) must not be below `delay` (2s)"
        );
        assert_eq!(
            Backoff::constant(MS(5)).with_max_delay(MS(5)).validate(),
            Ok(())
        );
    }

    const SAMPLES: usize = 5_000;

    #[test]
    fn full_jitter_spreads_over_zero_to_delay() {
        let b = Backoff::constant(MS(1000)).with_jitter(Jitter::Full);
        let samples: Vec<_> = (0..SAMPLES).map(|_| b.delay(1, Duration::ZERO)).collect();
        assert!(samples.iter().all(|d| *d <= MS(1000)));
        assert!(samples.iter().any(|d| *d < MS(100)));
        assert!(samples.iter().any(|d| *d > MS(900)));
    }

    #[test]
    fn equal_jitter_keeps_half() {
        let b = Backoff::exponential(MS(1000)).with_jitter(Jitter::Equal);
        let samples: Vec<_> = (0..SAMPLES).map(|_| b.delay(2, Duration::ZERO)).collect();
        assert!(samples.iter().all(|d| (MS(1000)..=MS(2000)).contains(d)));
        assert!(samples.iter().any(|d| *d < MS(1100)));
        assert!(samples.iter().any(|d| *d > MS(1900)));
    }

    #[test]
    fn jitter_respects_the_cap() {
        for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
            let b = Backoff::exponential(MS(100))
                .with_max_delay(MS(300))
                .with_jitter(jitter);
            for d in b.iter().take(SAMPLES) {
                assert!(d <= MS(300), "{jitter:?}: {d:?}");
            }
        }
    }

    #[test]
    fn decorrelated_jitter_grows_from_the_previous_delay() {
        let b = Backoff::exponential(MS(100)).with_jitter(Jitter::Decorrelated);
        // First retry: prev = base, so uniform in [100ms, 300ms] whatever `prev` says.
        let firsts: Vec<_> = (0..SAMPLES).map(|_| b.delay(1, MS(10_000))).collect();
        assert!(firsts.iter().all(|d| (MS(100)..=MS(300)).contains(d)));
        assert!(firsts.iter().any(|d| *d < MS(120)));
        assert!(firsts.iter().any(|d| *d > MS(280)));
        // Later retries: uniform in [base, prev * 3].
        let later: Vec<_> = (0..SAMPLES).map(|_| b.delay(5, MS(1000))).collect();
        assert!(later.iter().all(|d| (MS(100)..=MS(3000)).contains(d)));
        assert!(later.iter().any(|d| *d > MS(2500)));
        // A previous delay below the base never goes under the base.
        assert!((0..100).all(|_| b.delay(3, MS(1)) == MS(100)));
        // With a cap, and with huge previous delays, nothing overflows.
        let capped = b.with_max_delay(MS(500));
        assert!((0..SAMPLES).all(|_| capped.delay(9, Duration::MAX) <= MS(500)));
        assert!(b.delay(9, Duration::MAX) >= MS(100));
    }
}
