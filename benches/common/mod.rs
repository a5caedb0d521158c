//! What the benches that compare ours with a hand-written version share:
//! alternate runs, so both sides see the same machine, and the median.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// The median of `values` (the upper one of an even count).
fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Times `ours` and `hand` alternately, `rounds` times each, switching
/// which goes first every round; returns the two medians.
pub(crate) fn interleaved<R>(
    rounds: usize,
    ours: impl Fn() -> R,
    hand: impl Fn() -> R,
) -> (Duration, Duration) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let time = |f: &dyn Fn() -> R, into: &mut Vec<Duration>| {
            let start = Instant::now();
            black_box(f());
            into.push(start.elapsed());
        };
        if round % 2 == 0 {
            time(&ours, &mut a);
            time(&hand, &mut b);
        } else {
            time(&hand, &mut b);
            time(&ours, &mut a);
        }
    }
    (median(a), median(b))
}
