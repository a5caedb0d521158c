//! The counters of a [`Chaos`](super::Chaos), lock-free, and their snapshot
//! [`ChaosStats`].

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use core::time::Duration;

use super::error::ChaosKind;

/// What a [`Chaos`](super::Chaos) saw and did, since it was built or since
/// [`reset_stats`](super::Chaos::reset_stats).
///
/// Every call is counted once in exactly one of [`injected`](Self::injected),
/// [`succeeded`](Self::succeeded) and [`failed`](Self::failed) (a real
/// error of the wrapped call), once it has finished: a test can check
/// `calls == injected + succeeded + failed`.
///
/// # Examples
///
/// ```
/// use resilience_runtime::chaos::{Chaos, ChaosConfig};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// static CHAOS: Chaos = Chaos::new(ChaosConfig::new().with_failure_rate(1.0));
/// let result: Result<(), resilience_runtime::chaos::ChaosError> = CHAOS.call(|| async { Ok(()) }).await;
/// assert!(result.is_err());
/// let stats = CHAOS.stats();
/// assert_eq!((stats.calls, stats.injected(), stats.succeeded, stats.failed), (1, 1, 0, 0));
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChaosStats {
    /// Calls that finished (through chaos, on or off).
    pub calls: u64,
    /// Injected faults, by kind, in the order of [`ChaosKind::ALL`].
    pub injected_by_kind: [u64; 4],
    /// Calls passed through that returned `Ok`.
    pub succeeded: u64,
    /// Calls passed through that returned `Err` themselves: real failures.
    pub failed: u64,
    /// The latency added, in total.
    pub latency_added: Duration,
}

impl ChaosStats {
    /// All injected faults.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::ChaosStats;
    ///
    /// assert_eq!(ChaosStats::default().injected(), 0);
    /// ```
    pub fn injected(&self) -> u64 {
        self.injected_by_kind.iter().sum()
    }

    /// The faults of `kind` injected.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::{ChaosKind, ChaosStats};
    ///
    /// assert_eq!(ChaosStats::default().injected_of(ChaosKind::Timeout), 0);
    /// ```
    pub fn injected_of(&self, kind: ChaosKind) -> u64 {
        self.injected_by_kind[kind.index()]
    }

    /// Calls that reached the wrapped call (not injected).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::chaos::ChaosStats;
    ///
    /// assert_eq!(ChaosStats::default().passed_through(), 0);
    /// ```
    pub fn passed_through(&self) -> u64 {
        self.succeeded + self.failed
    }
}

/// The live counters behind [`ChaosStats`].
#[derive(Debug)]
pub(super) struct Counters {
    calls: AtomicU64,
    injected: [AtomicU64; 4],
    succeeded: AtomicU64,
    failed: AtomicU64,
    latency_nanos: AtomicU64,
}

/// How one call ended.
pub(super) enum Outcome {
    Injected(ChaosKind),
    Succeeded,
    Failed,
}

impl Counters {
    pub(super) const fn new() -> Self {
        Self {
            calls: AtomicU64::new(0),
            injected: [const { AtomicU64::new(0) }; 4],
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            latency_nanos: AtomicU64::new(0),
        }
    }

    pub(super) fn latency(&self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.latency_nanos.fetch_add(nanos, Relaxed);
    }

    /// Counts the outcome first, then the call: a snapshot never shows a
    /// call without its outcome.
    pub(super) fn finished(&self, outcome: Outcome) {
        match outcome {
            Outcome::Injected(kind) => &self.injected[kind.index()],
            Outcome::Succeeded => &self.succeeded,
            Outcome::Failed => &self.failed,
        }
        .fetch_add(1, Relaxed);
        self.calls.fetch_add(1, Relaxed);
    }

    pub(super) fn snapshot(&self) -> ChaosStats {
        ChaosStats {
            calls: self.calls.load(Relaxed),
            injected_by_kind: core::array::from_fn(|i| self.injected[i].load(Relaxed)),
            succeeded: self.succeeded.load(Relaxed),
            failed: self.failed.load(Relaxed),
            latency_added: Duration::from_nanos(self.latency_nanos.load(Relaxed)),
        }
    }

    pub(super) fn reset(&self) {
        self.calls.store(0, Relaxed);
        for counter in &self.injected {
            counter.store(0, Relaxed);
        }
        self.succeeded.store(0, Relaxed);
        self.failed.store(0, Relaxed);
        self.latency_nanos.store(0, Relaxed);
    }
}
