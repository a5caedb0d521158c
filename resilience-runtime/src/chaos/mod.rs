//! Chaos: calls that fail on purpose, at a set rate, with the guide's error
//! kinds, after an added latency, all from a seed (the guide's
//! `ChaosAgent`). Only with the `chaos` cargo feature, so a production
//! build carries none of it.
//!
//! A [`Chaos`] lives where you put it (a `static`, a field of an agent) and
//! is shared by every call through it: [`Chaos::call`] wraps any call, and
//! `#[chaos(state = PATH)]` (in `resilience`) wraps the body of an `async
//! fn`. Call `n` since the last (re)seed gets a fault and a latency that
//! depend only on the seed and `n`: the same seed gives the same faults in
//! the same order, so a failing run can be replayed. It counts what it did
//! ([`ChaosStats`]), it can be switched on and off, reconfigured and
//! reseeded while it is in use, and every injected fault and added latency
//! is an event ([`EventKind::ChaosInjected`],
//! [`EventKind::ChaosDelayed`]).
//!
//! # The guide's code, translated
//!
//! ```python
//! class ChaosAgent(Agent):
//!     async def process(self, task, context=None):
//!         if random.random() < self.failure_rate:
//!             raise random.choice([TimeoutError(..), ConnectionError(..), ValueError(..), MemoryError(..)])
//!         return await super().process(task, context)
//! ```
//!
//! ```
//! use resilience_runtime::chaos::{Chaos, ChaosConfig, ChaosError};
//!
//! #[derive(Debug)]
//! enum AgentError { Chaos(ChaosError) }
//! impl From<ChaosError> for AgentError {
//!     fn from(e: ChaosError) -> Self { AgentError::Chaos(e) }
//! }
//!
//! struct ChaosAgent { chaos: Chaos }
//!
//! impl ChaosAgent {
//!     async fn process(&self, task: &str) -> Result<String, AgentError> {
//!         self.chaos.call(|| async { Ok(format!("{task} done")) }).await
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let agent = ChaosAgent { chaos: Chaos::new(ChaosConfig::new().with_failure_rate(0.3).with_seed(1)) };
//! for i in 0..100 {
//!     let _ = agent.process(&format!("task_{i}")).await;
//! }
//! let stats = agent.chaos.stats();
//! assert_eq!(stats.calls, 100);
//! assert_eq!(stats.injected() + stats.succeeded, 100);
//! # }
//! ```
//!
//! # Defaults
//!
//! | setting | default | the guide |
//! |---|---|---|
//! | [`with_name`](ChaosConfig::with_name) (events' name for [`Chaos::call`]) | `"chaos"` | the agent's name |
//! | [`with_failure_rate`](ChaosConfig::with_failure_rate) | 0.1 | 0.1 |
//! | [`with_weight`](ChaosConfig::with_weight) | 1 for each of the 4 kinds | a uniform choice of 4 |
//! | [`with_latency`](ChaosConfig::with_latency) | none | none |
//! | [`with_seed`](ChaosConfig::with_seed) | 0 | the process's random state |
//! | on or off | on | on |
//!
//! # What differs from the guide
//!
//! - A fault is decided by the seed and the call's number, not by a shared
//!   global generator: concurrent calls, other tests and other chaos
//!   values do not shift the sequence.
//! - The faults are one typed error, [`ChaosError`], that names the kind
//!   and the call; the user's error type receives it through `From`.

use core::future::Future;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::events::{Event, EventKind, emit};

mod config;
mod error;
mod state;

pub use config::{ChaosConfig, Latency};
pub use error::{ChaosConfigError, ChaosError, ChaosKind};
pub use state::ChaosStats;

use state::{Counters, Outcome};

/// Fault injection shared by every call through it: its configuration, its
/// on/off switch, its position in the seeded sequence and its counters.
///
/// `Chaos::new` is `const`, so a `Chaos` can be a `static`; it is `Sync`.
/// See the [module docs](self) for the defaults.
///
/// # Examples
///
/// ```
/// use resilience_runtime::chaos::{Chaos, ChaosConfig};
///
/// static CHAOS: Chaos = Chaos::new(ChaosConfig::new().with_failure_rate(0.3).with_seed(42));
/// assert!(CHAOS.is_enabled());
/// CHAOS.disable();
/// assert!(!CHAOS.is_enabled());
/// ```
#[derive(Debug)]
pub struct Chaos {
    /// Read once per call; no user code runs while it is locked.
    config: Mutex<ChaosConfig>,
    enabled: AtomicBool,
    /// The number of the next call in the seeded sequence.
    next_call: AtomicU64,
    counters: Counters,
}

impl Default for Chaos {
    fn default() -> Self {
        Self::new(ChaosConfig::new())
    }
}

impl Chaos {
    /// A chaos with `config`, switched on. An invalid configuration is not
    /// a panic: every call fails with [`ChaosError::Config`] until it is
    /// fixed; [`try_new`](Self::try_new) reports it at once instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::{Chaos, ChaosConfig};
    ///
    /// static CHAOS: Chaos = Chaos::new(ChaosConfig::new());
    /// assert_eq!(CHAOS.config(), ChaosConfig::new());
    /// ```
    pub const fn new(config: ChaosConfig) -> Self {
        Self {
            config: Mutex::new(config),
            enabled: AtomicBool::new(true),
            next_call: AtomicU64::new(0),
            counters: Counters::new(),
        }
    }

    /// A chaos with `config`, checked first.
    ///
    /// # Errors
    ///
    /// The [`ChaosConfigError`] of [`ChaosConfig::validate`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::{Chaos, ChaosConfig};
    ///
    /// assert!(Chaos::try_new(ChaosConfig::new().with_failure_rate(2.0)).is_err());
    /// ```
    pub fn try_new(config: ChaosConfig) -> Result<Self, ChaosConfigError> {
        config.validate()?;
        Ok(Self::new(config))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ChaosConfig> {
        self.config.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::{Chaos, ChaosConfig};
    ///
    /// assert_eq!(Chaos::default().config().failure_rate(), 0.1);
    /// ```
    pub fn config(&self) -> ChaosConfig {
        *self.lock()
    }

    /// Replaces the configuration, if it is valid, for the calls that start
    /// from now on. The position in the seeded sequence is kept (unless the
    /// seed changes: see [`reseed`](Self::reseed)).
    ///
    /// # Errors
    ///
    /// The [`ChaosConfigError`] of [`ChaosConfig::validate`]; the
    /// configuration in use is then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::{Chaos, ChaosConfig, ChaosConfigError};
    ///
    /// let chaos = Chaos::default();
    /// let bad = ChaosConfig::new().with_failure_rate(f64::NAN);
    /// assert!(matches!(chaos.set_config(bad), Err(ChaosConfigError::FailureRate { .. })));
    /// assert!(chaos.set_config(ChaosConfig::new().with_failure_rate(0.5)).is_ok());
    /// assert_eq!(chaos.config().failure_rate(), 0.5);
    /// ```
    pub fn set_config(&self, config: ChaosConfig) -> Result<(), ChaosConfigError> {
        config.validate()?;
        let seed_changed = {
            let mut current = self.lock();
            let changed = current.seed != config.seed;
            *current = config;
            changed
        };
        if seed_changed {
            self.next_call.store(0, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Switches injection on (the default).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::Chaos;
    ///
    /// let chaos = Chaos::default();
    /// chaos.disable();
    /// chaos.enable();
    /// assert!(chaos.is_enabled());
    /// ```
    pub fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
    }

    /// Switches injection off: calls pass straight through (and are still
    /// counted), and do not advance the seeded sequence.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::{Chaos, ChaosConfig, ChaosError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let chaos = Chaos::new(ChaosConfig::new().with_failure_rate(1.0));
    /// chaos.disable();
    /// let result: Result<u8, ChaosError> = chaos.call(|| async { Ok(1) }).await;
    /// assert_eq!(result, Ok(1));
    /// # }
    /// ```
    pub fn disable(&self) {
        self.enabled.store(false, Ordering::Relaxed);
    }

    /// Whether injection is on.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::Chaos;
    ///
    /// assert!(Chaos::default().is_enabled());
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Sets the seed and starts its sequence again from call 0: the calls
    /// that follow get the same faults as the first calls after any other
    /// (re)seed with `seed`.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::Chaos;
    ///
    /// let chaos = Chaos::default();
    /// chaos.reseed(99);
    /// assert_eq!(chaos.seed(), 99);
    /// ```
    pub fn reseed(&self, seed: u64) {
        self.lock().seed = seed;
        self.next_call.store(0, Ordering::Relaxed);
    }

    /// Reseeds with a seed drawn from [`random`](crate::random) (so
    /// [`random::with_seed`](crate::random::with_seed) decides it) and
    /// returns it: print it, and [`reseed`](Self::reseed) with it to replay
    /// the run.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{chaos::Chaos, random};
    ///
    /// let chaos = Chaos::default();
    /// let seed = random::with_seed_sync(5, || chaos.reseed_random());
    /// assert_eq!(seed, random::with_seed_sync(5, || chaos.reseed_random()));
    /// assert_eq!(chaos.seed(), seed);
    /// ```
    pub fn reseed_random(&self) -> u64 {
        let seed = crate::random::u64_in(0..=u64::MAX);
        self.reseed(seed);
        seed
    }

    /// The seed in use.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::{Chaos, ChaosConfig};
    ///
    /// assert_eq!(Chaos::new(ChaosConfig::new().with_seed(3)).seed(), 3);
    /// ```
    pub fn seed(&self) -> u64 {
        self.lock().seed
    }

    /// What it has done so far (see [`ChaosStats`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::Chaos;
    ///
    /// assert_eq!(Chaos::default().stats().calls, 0);
    /// ```
    pub fn stats(&self) -> ChaosStats {
        self.counters.snapshot()
    }

    /// Sets every counter back to 0 (the seeded sequence goes on).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::Chaos;
    ///
    /// let chaos = Chaos::default();
    /// chaos.reset_stats();
    /// assert_eq!(chaos.stats(), Default::default());
    /// ```
    pub fn reset_stats(&self) {
        self.counters.reset();
    }

    /// Runs `call()` through chaos: after the call's latency, either an
    /// injected fault (the call is not made) or the call's own result.
    /// Events carry the configuration's [name](ChaosConfig::with_name).
    ///
    /// # Errors
    ///
    /// An injected [`ChaosError::Injected`], a [`ChaosError::Config`] if
    /// the configuration cannot work (both converted with `From`), or the
    /// call's own error.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::{Chaos, ChaosConfig, ChaosError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let chaos = Chaos::new(ChaosConfig::new().with_failure_rate(0.0));
    /// let ok: Result<&str, ChaosError> = chaos.call(|| async { Ok("fine") }).await;
    /// assert_eq!(ok, Ok("fine"));
    /// # }
    /// ```
    pub async fn call<T, E, F, Fut>(&self, call: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<ChaosError>,
    {
        let name = self.lock().name;
        match self.run(name, call).await {
            Ok(result) => result,
            Err(error) => Err(E::from(error)),
        }
    }

    /// [`call`](Self::call) for a given operation name, the error left
    /// unconverted (what `#[chaos]` runs).
    pub(crate) async fn run<T, E, F, Fut>(
        &self,
        operation: &str,
        call: F,
    ) -> Result<Result<T, E>, ChaosError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if self.is_enabled() {
            let config = self.config();
            config.validate()?;
            let number = self.next_call.fetch_add(1, Ordering::Relaxed);
            let (fault, latency) = config.plan(number);
            if !latency.is_zero() {
                emit(&Event::new(
                    operation,
                    EventKind::ChaosDelayed {
                        call: number,
                        delay: latency,
                    },
                ));
                tokio::time::sleep(latency).await;
                self.counters.latency(latency);
            }
            if let Some(kind) = fault {
                emit(&Event::new(
                    operation,
                    EventKind::ChaosInjected {
                        call: number,
                        fault: kind.name(),
                    },
                ));
                self.counters.finished(Outcome::Injected(kind));
                return Err(ChaosError::Injected { kind, call: number });
            }
        }
        let result = call().await;
        self.counters.finished(if result.is_ok() {
            Outcome::Succeeded
        } else {
            Outcome::Failed
        });
        Ok(result)
    }
}
