//! The one source of randomness: every random draw of the runtime (backoff
//! jitter today; chaos, hedging and load tests next) goes through here, so a
//! run can be replayed from a seed.
//!
//! By default draws come from a fast thread-local generator seeded by the
//! OS. Inside [`with_seed`] (a future) or [`with_seed_sync`] (a closure),
//! they come from a generator of that seed instead, for that task alone:
//! the same seed gives the same jitter in the same order, and no other test
//! or task is affected.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use resilience_runtime::{Backoff, Jitter, random};
//!
//! let delays = || -> Vec<Duration> {
//!     Backoff::exponential(Duration::from_millis(100)).with_jitter(Jitter::Full).iter().take(5).collect()
//! };
//! let first = random::with_seed_sync(42, delays);
//! let again = random::with_seed_sync(42, delays);
//! assert_eq!(first, again);
//! ```

use core::cell::RefCell;
use core::future::Future;
use core::ops::RangeInclusive;

tokio::task_local! {
    static SEEDED: RefCell<fastrand::Rng>;
}

/// Runs `future` with every random draw made while it is polled (on its
/// task) taken from a generator seeded with `seed`.
///
/// Task-locals do not cross `tokio::spawn`: a spawned task draws from the
/// default generator unless it is wrapped in `with_seed` too.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{Backoff, Jitter, random};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let backoff = Backoff::constant(Duration::from_secs(1)).with_jitter(Jitter::Full);
/// let a: Vec<Duration> = random::with_seed(7, async { backoff.iter().take(3).collect() }).await;
/// let b: Vec<Duration> = random::with_seed(7, async { backoff.iter().take(3).collect() }).await;
/// assert_eq!(a, b);
/// # }
/// ```
pub async fn with_seed<F: Future>(seed: u64, future: F) -> F::Output {
    SEEDED
        .scope(RefCell::new(fastrand::Rng::with_seed(seed)), future)
        .await
}

/// Calls `f` with every random draw made on this thread while it runs taken
/// from a generator seeded with `seed`.
///
/// # Examples
///
/// ```
/// use resilience_runtime::random;
///
/// let a = random::with_seed_sync(1, || random::u64_in(0..=1_000_000));
/// let b = random::with_seed_sync(1, || random::u64_in(0..=1_000_000));
/// assert_eq!(a, b);
/// ```
pub fn with_seed_sync<R>(seed: u64, f: impl FnOnce() -> R) -> R {
    SEEDED.sync_scope(RefCell::new(fastrand::Rng::with_seed(seed)), f)
}

/// A uniformly random number in `range`, from the seeded generator of
/// [`with_seed`] if one is in scope, else from the default one.
///
/// # Examples
///
/// ```
/// use resilience_runtime::random;
///
/// let n = random::u64_in(10..=20);
/// assert!((10..=20).contains(&n));
/// ```
pub fn u64_in(range: RangeInclusive<u64>) -> u64 {
    draw(
        |rng| rng.u64(range.clone()),
        || fastrand::u64(range.clone()),
    )
}

/// A uniformly random number in `range`; see [`u64_in`].
///
/// # Examples
///
/// ```
/// use resilience_runtime::random;
///
/// assert_eq!(random::u128_in(5..=5), 5);
/// ```
pub fn u128_in(range: RangeInclusive<u128>) -> u128 {
    draw(
        |rng| rng.u128(range.clone()),
        || fastrand::u128(range.clone()),
    )
}

/// A uniformly random number in `[0, 1)`; see [`u64_in`].
///
/// # Examples
///
/// ```
/// use resilience_runtime::random;
///
/// let x = random::f64();
/// assert!((0.0..1.0).contains(&x));
/// ```
pub fn f64() -> f64 {
    draw(fastrand::Rng::f64, fastrand::f64)
}

fn draw<R>(seeded: impl FnOnce(&mut fastrand::Rng) -> R, default: impl FnOnce() -> R) -> R {
    // No user code runs while the generator is borrowed.
    SEEDED
        .try_with(|rng| seeded(&mut rng.borrow_mut()))
        .unwrap_or_else(|_| default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_draws_and_others_differ() {
        let draws = || (0..32).map(|_| u64_in(0..=u64::MAX)).collect::<Vec<_>>();
        assert_eq!(with_seed_sync(3, draws), with_seed_sync(3, draws));
        assert_ne!(with_seed_sync(3, draws), with_seed_sync(4, draws));
    }

    #[tokio::test]
    async fn a_seed_is_scoped_to_its_future() {
        let inside = with_seed(9, async { u128_in(0..=u128::MAX) }).await;
        let again = with_seed(9, async { u128_in(0..=u128::MAX) }).await;
        assert_eq!(inside, again);
        // Outside, the default generator: not the seeded sequence (the
        // chance of a 128-bit collision is nil).
        assert_ne!(u128_in(0..=u128::MAX), inside);
    }
}
