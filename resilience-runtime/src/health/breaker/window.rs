//! The clock a breaker reads and the sliding window of the failure-ratio
//! mode: lock-free buckets of atomics.

use core::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use core::time::Duration;
use std::sync::OnceLock;

/// Nanoseconds since the first reading in this process, on tokio's clock
/// (so a paused test clock drives the breaker). Signed: a runtime whose
/// paused clock stands before the first reading gives a negative value.
pub(super) fn now() -> i64 {
    static BASE: OnceLock<std::time::Instant> = OnceLock::new();
    let now = tokio::time::Instant::now().into_std();
    let base = *BASE.get_or_init(|| now);
    match now.checked_duration_since(base) {
        Some(after) => nanos(after),
        None => -nanos(base.duration_since(now)),
    }
}

/// A duration in nanoseconds, saturating at `i64::MAX` (292 years).
pub(super) fn nanos(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

/// The buckets of a window.
pub(super) const BUCKETS: usize = 10;

/// The failure-ratio mode's sliding window: `BUCKETS` buckets of a tenth
/// of the sampling window each (Polly's rolling health metrics), so the
/// window covers between 90 % and 100 % of it.
///
/// The buckets start at the first outcome the window counts (its origin),
/// so their bounds depend on the breaker's own calls only.
///
/// Each bucket is two words, one for successes and one for failures, each
/// the bucket's number (32 bits, wrapping) above its count (32 bits). A
/// word whose number is not recent counts as empty; the first outcome of a
/// new bucket replaces it with one compare-and-swap. The two counts are
/// independent, so no lock and no pair of words needs to change together.
#[derive(Debug)]
#[repr(align(64))]
pub(super) struct Window {
    successes: [AtomicU64; BUCKETS],
    failures: [AtomicU64; BUCKETS],
    /// The time of the first outcome counted, or [`UNSET`].
    origin: AtomicI64,
}

const UNSET: i64 = i64::MIN;

const COUNT: u64 = 0xffff_ffff;

impl Window {
    pub(super) const fn new() -> Self {
        Self {
            successes: [const { AtomicU64::new(0) }; BUCKETS],
            failures: [const { AtomicU64::new(0) }; BUCKETS],
            origin: AtomicI64::new(UNSET),
        }
    }

    /// `now` from the origin, which the first caller sets.
    fn since_origin(&self, now: i64) -> i64 {
        let origin = match self.origin.load(Ordering::Relaxed) {
            UNSET => {
                match self
                    .origin
                    .compare_exchange(UNSET, now, Ordering::Relaxed, Ordering::Relaxed)
                {
                    Ok(_) => now,
                    Err(origin) => origin,
                }
            }
            origin => origin,
        };
        now.saturating_sub(origin)
    }

    /// The bucket of time `now` for buckets `width` nanoseconds wide: its
    /// number (wrapping) and its slot.
    fn bucket(now: i64, width: i64) -> (u32, usize) {
        let number = now.div_euclid(width);
        // Truncation to 32 bits is the wrapping the tags use.
        (number as u32, number.rem_euclid(BUCKETS as i64) as usize)
    }

    /// Counts one outcome at time `now`.
    pub(super) fn record(&self, failed: bool, now: i64, width: i64) {
        let (number, slot) = Self::bucket(self.since_origin(now), width);
        let word = if failed {
            &self.failures[slot]
        } else {
            &self.successes[slot]
        };
        let mut current = word.load(Ordering::Relaxed);
        loop {
            let tag = (current >> 32) as u32;
            // A bucket of this number, or of a later one (another thread
            // read the clock a little later): count it there. A count
            // does not reach 2^32 in one bucket: at a billion calls a
            // second that would take over 4 s in a bucket of a tenth of
            // the sampling window.
            if current != 0 && (number.wrapping_sub(tag) as i32) <= 0 {
                word.fetch_add(1, Ordering::Relaxed);
                return;
            }
            // An empty word (0: never written, or cleared), or an older
            // bucket: this one replaces it.
            match word.compare_exchange_weak(
                current,
                (u64::from(number) << 32) | 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// `(calls, failures)` over the window that ends at `now`.
    pub(super) fn totals(&self, now: i64, width: i64) -> (u32, u32) {
        let origin = self.origin.load(Ordering::Relaxed);
        if origin == UNSET {
            return (0, 0);
        }
        let (number, _) = Self::bucket(now.saturating_sub(origin), width);
        let recent = |word: &AtomicU64| {
            let word = word.load(Ordering::Relaxed);
            let age = number.wrapping_sub((word >> 32) as u32) as i32;
            if age > -(BUCKETS as i32) && age < BUCKETS as i32 {
                word & COUNT
            } else {
                0
            }
        };
        let sum = |words: &[AtomicU64; BUCKETS]| words.iter().map(recent).sum::<u64>();
        let (successes, failures) = (sum(&self.successes), sum(&self.failures));
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        (clamp(successes + failures), clamp(failures))
    }

    /// Empties every bucket.
    pub(super) fn clear(&self) {
        for word in self.successes.iter().chain(&self.failures) {
            word.store(0, Ordering::Relaxed);
        }
    }
}

/// A bucket's width for a sampling window: a tenth of it, at least 1 ns.
pub(super) fn bucket_width(sampling: Duration) -> i64 {
    (nanos(sampling) / BUCKETS as i64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: i64 = 1_000; // a bucket of 1µs: a window of 10µs

    #[test]
    fn a_window_sums_its_last_ten_buckets() {
        let window = Window::new();
        for t in 0..10 {
            window.record(false, t * W, W);
            window.record(t % 2 == 0, t * W + 1, W);
        }
        assert_eq!(window.totals(9 * W, W), (20, 5));
        // One bucket later the first bucket (t = 0: a success and a
        // failure) has left the window.
        assert_eq!(window.totals(10 * W, W), (18, 4));
        // A new outcome in slot 0 replaces bucket 0's count.
        window.record(true, 10 * W, W);
        assert_eq!(window.totals(10 * W, W), (19, 5));
        // Long after, nothing is recent.
        assert_eq!(window.totals(100 * W, W), (0, 0));
        window.record(false, 100 * W, W);
        assert_eq!(window.totals(100 * W, W), (1, 0));
        window.clear();
        assert_eq!(window.totals(100 * W, W), (0, 0));
    }

    #[test]
    fn buckets_start_at_the_first_outcome() {
        let window = Window::new();
        assert_eq!(window.totals(5 * W, W), (0, 0));
        // The first outcome at 0.5 of a bucket: buckets are [0.5, 1.5), ...
        window.record(true, W / 2, W);
        assert_eq!(window.totals(10 * W + W / 2 - 1, W), (1, 1));
        assert_eq!(window.totals(10 * W + W / 2, W), (0, 0));
    }

    #[test]
    fn negative_times_and_wrapped_numbers_work() {
        let window = Window::new();
        window.record(true, 0, W);
        // A clock before the origin (another runtime's paused clock).
        window.record(true, -5 * W, W);
        window.record(false, -1, W);
        assert_eq!(window.totals(0, W), (3, 2));
        // Bucket numbers past 2^32 wrap, and compare as recent still.
        let window = Window::new();
        window.record(true, 0, W);
        let far = (1i64 << 32) * W + 3 * W;
        window.record(true, far, W);
        window.record(true, far + W, W);
        assert_eq!(window.totals(far + W, W), (2, 2));
        window.clear();
        assert_eq!(window.totals(far + W, W), (0, 0));
    }

    #[test]
    fn a_straggler_from_an_older_bucket_counts_in_the_newer_one() {
        let window = Window::new();
        window.record(false, 12 * W, W);
        // A thread that read the clock at bucket 2 records after bucket 12
        // took the slot: it is counted, not lost, and does not reset it.
        window.record(false, 2 * W, W);
        assert_eq!(window.totals(12 * W, W), (2, 0));
    }
}
