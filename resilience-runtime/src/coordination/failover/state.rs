//! The state that every task calling one [`Failover`](crate::Failover)
//! shares: the order of the coordinators, how many times it changed, and
//! what is known of each one's health.
//!
//! One std `Mutex`, never held across an `.await` and never while user code
//! runs; plus one async gate per coordinator, so that at most one probe of
//! a coordinator runs at a time and the tasks that wait for it reuse its
//! result.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::time::{Duration, Instant};

use super::error::Unhealthy;

/// What a probe found: healthy, or why not.
pub(super) type Health = Result<(), Unhealthy>;

/// Where a call stands: the coordinator it uses and the generation of the
/// order it saw, so that a failure seen by many tasks rotates once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Ticket {
    pub(super) index: usize,
    pub(super) generation: u64,
}

#[derive(Debug)]
pub(super) struct State {
    shared: Mutex<Shared>,
    /// One probe at a time per coordinator.
    gates: Box<[tokio::sync::Mutex<()>]>,
}

#[derive(Debug)]
struct Shared {
    /// Coordinator indices; the first is current, the primary is 0.
    order: VecDeque<usize>,
    /// How many times the order changed (failovers and fail-backs).
    generation: u64,
    /// Each coordinator's last probe: when it ended and what it found.
    health: Box<[Option<(Instant, Health)>]>,
    /// Per coordinator, how many times a failed call cleared its health: a
    /// probe that started before a clear must not record over it.
    cleared: Box<[u64]>,
    /// When a fail-back may next be tried.
    fail_back_due: Option<Instant>,
}

impl State {
    pub(super) fn new(coordinators: usize) -> Self {
        Self {
            shared: Mutex::new(Shared {
                order: (0..coordinators).collect(),
                generation: 0,
                health: (0..coordinators).map(|_| None).collect(),
                cleared: (0..coordinators).map(|_| 0).collect(),
                fail_back_due: None,
            }),
            gates: (0..coordinators)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // No user code runs under the lock, so poison means nothing broke.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn gate(&self, index: usize) -> &tokio::sync::Mutex<()> {
        &self.gates[index]
    }

    /// The current coordinator.
    pub(super) fn current(&self) -> usize {
        self.lock().order[0]
    }

    /// The coordinators in their current order.
    pub(super) fn order(&self) -> Vec<usize> {
        self.lock().order.iter().copied().collect()
    }

    /// How many times the order changed.
    pub(super) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// The first coordinator in the order that this call has not tried.
    pub(super) fn pick(&self, tried: &super::Tried) -> Option<Ticket> {
        let shared = self.lock();
        let index = shared.order.iter().copied().find(|&i| !tried.contains(i))?;
        Some(Ticket {
            index,
            generation: shared.generation,
        })
    }

    /// The health found by a probe that ended less than `interval` ago.
    pub(super) fn known_health(&self, index: usize, interval: Duration) -> Option<Health> {
        let shared = self.lock();
        match &shared.health[index] {
            Some((at, health)) if at.elapsed() < interval => Some(health.clone()),
            _ => None,
        }
    }

    /// The mark to pass to [`record`](Self::record) for a probe that starts
    /// now.
    pub(super) fn probe_mark(&self, index: usize) -> u64 {
        self.lock().cleared[index]
    }

    /// Records a probe's result, unless a failed call cleared the
    /// coordinator's health since the probe started (`mark`): that failure
    /// is newer news than the probe.
    pub(super) fn record(&self, index: usize, health: Health, mark: u64) {
        let mut shared = self.lock();
        if shared.cleared[index] == mark {
            shared.health[index] = Some((Instant::now(), health));
        }
    }

    /// Forgets what the last probe found: the coordinator's call failed, so
    /// it is probed again before its next call.
    pub(super) fn forget(&self, index: usize) {
        let mut shared = self.lock();
        shared.health[index] = None;
        shared.cleared[index] += 1;
    }

    /// Sends `ticket`'s coordinator to the back of the order, if it is
    /// still current in the generation the call saw: of many tasks that saw
    /// it fail, one rotates. Returns the new current coordinator.
    pub(super) fn rotate(&self, ticket: Ticket, interval: Duration) -> Option<usize> {
        let mut shared = self.lock();
        if shared.generation != ticket.generation
            || shared.order.front() != Some(&ticket.index)
            || shared.order.len() < 2
        {
            return None;
        }
        shared.order.rotate_left(1);
        shared.generation += 1;
        if ticket.index == 0 {
            shared.fail_back_due = Some(later(Instant::now(), interval));
        }
        Some(shared.order[0])
    }

    /// If a backup is current and a fail-back is due, claims it (no other
    /// task tries until `interval` has passed) and returns the generation
    /// to fail back from.
    pub(super) fn claim_fail_back(&self, interval: Duration) -> Option<u64> {
        let mut shared = self.lock();
        let now = Instant::now();
        if shared.order[0] == 0 || shared.fail_back_due.is_some_and(|due| now < due) {
            return None;
        }
        shared.fail_back_due = Some(later(now, interval));
        Some(shared.generation)
    }

    /// Makes the primary current again if the order did not change since
    /// `generation`; the others keep their order. Returns the coordinator
    /// that was current.
    pub(super) fn fail_back(&self, generation: u64) -> Option<usize> {
        let mut shared = self.lock();
        if shared.generation != generation || shared.order[0] == 0 {
            return None;
        }
        let from = shared.order[0];
        let primary = shared.order.iter().position(|&i| i == 0)?;
        shared.order.remove(primary);
        shared.order.push_front(0);
        shared.generation += 1;
        Some(from)
    }
}

/// `now + interval`, or as late as the clock can say for an interval too
/// long to add (`Duration::MAX` means "never"): never a panic.
fn later(now: Instant, interval: Duration) -> Instant {
    now.checked_add(interval)
        .or_else(|| now.checked_add(Duration::from_secs(u64::from(u32::MAX))))
        .unwrap_or(now)
}
