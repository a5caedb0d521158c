//! Kill instants for the crash tests (`tests/crash.rs`,
//! `tests/parallel_crash.rs`): drawn below the time a whole run takes on
//! this machine (measured, not guessed: a faster store or a quieter machine
//! must not turn most rounds into runs that finish before any kill), from a
//! seed (`RESILIENCE_CRASH_SEED`, default `0x5eed`) so that the offsets of a
//! failing run can be drawn again.
#![allow(dead_code)]

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

pub(crate) struct KillClock {
    /// The shortest whole run measured, in microseconds.
    pub(crate) whole_run: u64,
    pub(crate) seed: u64,
    rng: fastrand::Rng,
}

impl KillClock {
    /// Times three whole runs (`run(n)` returns how long run `n` took) and
    /// keeps the shortest: the first, cold, takes longer.
    pub(crate) fn calibrate(run: impl FnMut(usize) -> Duration) -> Self {
        let whole_run = (0..3)
            .map(run)
            .map(|took| u64::try_from(took.as_micros()).unwrap_or(u64::MAX))
            .min()
            .unwrap_or(40_000);
        let seed = std::env::var("RESILIENCE_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x5eed);
        Self {
            whole_run,
            seed,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// When to kill the `spawns`-th process of a round (counting from 1):
    /// somewhere in a whole run's time, before, during or after any step.
    /// The window widens with each try, so that every round finishes (a
    /// resumed run is shorter than a whole one).
    pub(crate) fn deadline(&mut self, spawns: u64) -> Instant {
        let window = self.whole_run + self.whole_run / 10 + 10_000 * (spawns - 1);
        Instant::now() + Duration::from_micros(self.rng.u64(0..window))
    }
}

/// Waits for `child` until `deadline`: its exit status, or `None` if it was
/// still running then.
pub(crate) fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}
