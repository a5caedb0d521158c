//! [`ChaosConfig`] (the `const` builder) and [`Latency`].

use core::time::Duration;

use super::error::{ChaosConfigError, ChaosKind};

/// The latency that chaos adds before each call.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::chaos::Latency;
///
/// const SOME: Latency = Latency::between(Duration::from_millis(10), Duration::from_millis(50));
/// assert!(SOME.validate().is_ok());
/// assert!(Latency::between(Duration::from_millis(50), Duration::from_millis(10)).validate().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    min: Duration,
    /// Exclusive, except for a fixed latency (`min == max`, `fixed`).
    max: Duration,
    fixed: bool,
}

impl Latency {
    /// No added latency (the default).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::Latency;
    ///
    /// assert!(Latency::none().is_none());
    /// ```
    pub const fn none() -> Self {
        Self::fixed(Duration::ZERO)
    }

    /// The same latency before every call.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::chaos::Latency;
    ///
    /// assert_eq!(Latency::fixed(Duration::from_millis(5)).range(), (Duration::from_millis(5), Duration::from_millis(5)));
    /// ```
    pub const fn fixed(latency: Duration) -> Self {
        Self {
            min: latency,
            max: latency,
            fixed: true,
        }
    }

    /// A latency drawn uniformly from `min` (included) to `max` (excluded)
    /// before every call; `min` must be below `max` (see
    /// [`validate`](Self::validate)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::chaos::{ChaosConfigError, Latency};
    ///
    /// let empty = Latency::between(Duration::from_millis(5), Duration::from_millis(5));
    /// assert!(matches!(empty.validate(), Err(ChaosConfigError::EmptyLatency { .. })));
    /// ```
    pub const fn between(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            fixed: false,
        }
    }

    /// Whether no latency is added.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::chaos::Latency;
    ///
    /// assert!(!Latency::fixed(Duration::from_millis(1)).is_none());
    /// ```
    pub const fn is_none(&self) -> bool {
        self.fixed && self.min.is_zero()
    }

    /// The bounds, `(min, max)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::chaos::Latency;
    ///
    /// assert_eq!(Latency::none().range(), (Duration::ZERO, Duration::ZERO));
    /// ```
    pub const fn range(&self) -> (Duration, Duration) {
        (self.min, self.max)
    }

    /// Checks that a range is neither empty nor inverted.
    ///
    /// # Errors
    ///
    /// [`ChaosConfigError::EmptyLatency`] or
    /// [`ChaosConfigError::InvertedLatency`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::chaos::Latency;
    ///
    /// assert!(Latency::fixed(Duration::ZERO).validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<(), ChaosConfigError> {
        let (min, max) = (self.min, self.max);
        if self.fixed {
            Ok(())
        } else if min == max {
            Err(ChaosConfigError::EmptyLatency { min, max })
        } else if min > max {
            Err(ChaosConfigError::InvertedLatency { min, max })
        } else {
            Ok(())
        }
    }

    /// The latency for one call, from `rng`.
    pub(super) fn draw(&self, rng: &mut fastrand::Rng) -> Duration {
        if self.fixed {
            return self.min;
        }
        // Nanoseconds fit a u64 for 584 years.
        let min = self.min.as_nanos().min(u128::from(u64::MAX)) as u64;
        let max = self.max.as_nanos().min(u128::from(u64::MAX)) as u64;
        Duration::from_nanos(rng.u64(min..max))
    }
}

impl Default for Latency {
    fn default() -> Self {
        Self::none()
    }
}

/// What chaos injects: a failure rate, the weights of the error kinds, the
/// latency, the seed and the name that events give it. A `const` builder;
/// [`Chaos`](super::Chaos) holds one (see its docs for the defaults).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::chaos::{ChaosConfig, ChaosKind, Latency};
///
/// const CONFIG: ChaosConfig = ChaosConfig::new()
///     .with_name("chaos_agent")
///     .with_failure_rate(0.3)
///     .with_weight(ChaosKind::ResourceExhausted, 0)
///     .with_latency(Latency::between(Duration::from_millis(10), Duration::from_millis(50)))
///     .with_seed(42);
/// assert!(CONFIG.validate().is_ok());
/// assert_eq!(ChaosConfig::default(), ChaosConfig::new());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChaosConfig {
    pub(super) name: &'static str,
    pub(super) failure_rate: f64,
    pub(super) weights: [u32; 4],
    pub(super) latency: Latency,
    pub(super) seed: u64,
}

impl Default for ChaosConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl ChaosConfig {
    /// The defaults: name `"chaos"`, failure rate 0.1 (the guide's), every
    /// kind weight 1 (the guide's uniform choice), no latency, seed 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::ChaosConfig;
    ///
    /// assert_eq!(ChaosConfig::new().failure_rate(), 0.1);
    /// ```
    pub const fn new() -> Self {
        Self {
            name: "chaos",
            failure_rate: 0.1,
            weights: [1; 4],
            latency: Latency::none(),
            seed: 0,
        }
    }

    /// The name that events give this chaos (the attribute uses the fn's).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::ChaosConfig;
    ///
    /// assert_eq!(ChaosConfig::new().with_name("agent_3").name(), "agent_3");
    /// ```
    pub const fn with_name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// The share of calls (0 to 1) that fail with an injected fault.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::ChaosConfig;
    ///
    /// assert_eq!(ChaosConfig::new().with_failure_rate(0.3).failure_rate(), 0.3);
    /// assert!(ChaosConfig::new().with_failure_rate(-0.1).validate().is_err());
    /// ```
    pub const fn with_failure_rate(mut self, rate: f64) -> Self {
        self.failure_rate = rate;
        self
    }

    /// How often `kind` is picked among the injected faults, relative to the
    /// other kinds' weights (0 never picks it).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::{ChaosConfig, ChaosKind};
    ///
    /// let config = ChaosConfig::new().with_weight(ChaosKind::Timeout, 3);
    /// assert_eq!(config.weight(ChaosKind::Timeout), 3);
    /// assert_eq!(config.weight(ChaosKind::Connection), 1);
    /// ```
    pub const fn with_weight(mut self, kind: ChaosKind, weight: u32) -> Self {
        self.weights[kind.index()] = weight;
        self
    }

    /// The latency added before each call.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::chaos::{ChaosConfig, Latency};
    ///
    /// let config = ChaosConfig::new().with_latency(Latency::fixed(Duration::from_millis(20)));
    /// assert_eq!(config.latency(), Latency::fixed(Duration::from_millis(20)));
    /// ```
    pub const fn with_latency(mut self, latency: Latency) -> Self {
        self.latency = latency;
        self
    }

    /// The seed: the same seed gives the same faults and latencies, call by
    /// call, so a failing run can be replayed.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::ChaosConfig;
    ///
    /// assert_eq!(ChaosConfig::new().with_seed(7).seed(), 7);
    /// ```
    pub const fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// See [`with_name`](Self::with_name).
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// See [`with_failure_rate`](Self::with_failure_rate).
    pub const fn failure_rate(&self) -> f64 {
        self.failure_rate
    }

    /// See [`with_weight`](Self::with_weight).
    pub const fn weight(&self, kind: ChaosKind) -> u32 {
        self.weights[kind.index()]
    }

    /// See [`with_latency`](Self::with_latency).
    pub const fn latency(&self) -> Latency {
        self.latency
    }

    /// See [`with_seed`](Self::with_seed).
    pub const fn seed(&self) -> u64 {
        self.seed
    }

    /// Checks that this configuration can work.
    ///
    /// # Errors
    ///
    /// A failure rate outside 0 to 1 (or NaN), every weight 0, an empty or
    /// inverted latency range: a [`ChaosConfigError`] that says which.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::{ChaosConfig, ChaosConfigError, ChaosKind};
    ///
    /// let none = ChaosKind::ALL.iter().fold(ChaosConfig::new(), |c, &k| c.with_weight(k, 0));
    /// assert_eq!(none.validate(), Err(ChaosConfigError::NoWeights));
    /// ```
    pub fn validate(&self) -> Result<(), ChaosConfigError> {
        if !(0.0..=1.0).contains(&self.failure_rate) {
            return Err(ChaosConfigError::FailureRate {
                rate: self.failure_rate,
            });
        }
        if self.weights.iter().all(|&w| w == 0) {
            return Err(ChaosConfigError::NoWeights);
        }
        self.latency.validate()
    }

    /// The fault (if any) and the latency of call number `call`: a pure
    /// function of the seed and the call's number.
    pub(super) fn plan(&self, call: u64) -> (Option<ChaosKind>, Duration) {
        let mut rng = fastrand::Rng::with_seed(mix(self.seed, call));
        let latency = self.latency.draw(&mut rng);
        // `f64()` is in [0, 1): a rate of 0 never fails, a rate of 1 always.
        if rng.f64() >= self.failure_rate {
            return (None, latency);
        }
        let total: u64 = self.weights.iter().map(|&w| u64::from(w)).sum();
        let mut pick = rng.u64(0..total);
        for kind in ChaosKind::ALL {
            let weight = u64::from(self.weights[kind.index()]);
            if pick < weight {
                return (Some(kind), latency);
            }
            pick -= weight;
        }
        unreachable!("a draw below the total weight picks a kind")
    }
}

/// The seed of one call's generator: splitmix64 of the seed and the call's
/// number, so neighbouring calls (and seeds) get unrelated draws.
const fn mix(seed: u64, call: u64) -> u64 {
    let mut z = seed ^ call.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
