//! [`Round`]: asking every agent, each under its time limit, and gathering
//! their opinions, all at once or (with early decision) as they come.
//!
//! What a round costs, per agent, is what the same job costs by hand
//! (`join_all` of `tokio::time::timeout`s): the agents' futures are polled
//! in place in one allocation and their outputs are the opinions (no
//! `FuturesUnordered` node per agent, no slots to copy from); the deadline
//! is computed once; the clock is read once per poll of the round that sees
//! an agent finish, not once per agent.

use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use futures_util::future::join_all;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use super::Opinion;
use crate::coordination::Named;
use crate::coordination::failure::AgentFailure;
use crate::error_ref::ErrorRef;
use crate::events::{Event, EventKind, emit};
use crate::support::panic::CatchPanic;

/// What every agent's call in one round shares: the task, the call, the
/// events' name, the time limit and the round's clock.
pub(super) struct Round<'a, T, F> {
    pub(super) task: &'a T,
    pub(super) call: F,
    pub(super) operation: &'static str,
    pub(super) limit: Duration,
    /// When every agent's time limit ends: they are all asked at once.
    deadline: Instant,
    clock: Clock,
}

impl<'a, T, F> Round<'a, T, F> {
    /// A round that starts now.
    pub(super) fn start(task: &'a T, call: F, operation: &'static str, limit: Duration) -> Self {
        let clock = Clock::start();
        Self {
            task,
            call,
            operation,
            limit,
            deadline: deadline(clock.started, limit),
            clock,
        }
    }

    /// Asks `agent`: its call under the time limit, a panic as its own
    /// failure; emits its event and returns its opinion.
    async fn ask<A, O, E, Fut>(&self, agent: &'a Named<A>) -> Opinion<O, E>
    where
        F: Fn(&'a A, &'a T) -> Fut,
        Fut: Future<Output = Result<O, E>>,
        E: fmt::Display,
    {
        // The call itself (not only its future) runs inside the catch.
        let asked = CatchPanic::new(async { (self.call)(&agent.agent, self.task).await });
        let response = match tokio::time::timeout_at(self.deadline, asked).await {
            Ok(Ok(Ok(answer))) => Ok(answer),
            Ok(Ok(Err(error))) => Err(AgentFailure::Error(error)),
            Ok(Err(panic)) => Err(AgentFailure::Panicked(panic)),
            Err(_) => Err(AgentFailure::TimedOut(self.limit)),
        };
        let duration = self.clock.elapsed();
        let name = agent.name();
        match &response {
            Ok(_) => emit(&Event::new(
                self.operation,
                EventKind::Voted { agent: name },
            )),
            Err(failure) => emit(&Event::new(
                self.operation,
                EventKind::NoVote {
                    agent: name,
                    error: ErrorRef::Display(failure),
                },
            )),
        }
        Opinion {
            agent: agent.name.clone(),
            response,
            duration,
        }
    }

    /// Asks every agent and waits for them all: their futures are polled
    /// in place (`join_all`), and their outputs are the opinions, in the
    /// agents' order.
    pub(super) async fn ask_all<A, O, E, Fut>(&self, agents: &'a [Named<A>]) -> Vec<Opinion<O, E>>
    where
        F: Fn(&'a A, &'a T) -> Fut,
        Fut: Future<Output = Result<O, E>>,
        E: fmt::Display,
    {
        let mut all = pin!(join_all(agents.iter().map(|agent| self.ask(agent))));
        poll_fn(|cx| {
            self.clock.next_poll();
            all.as_mut().poll(cx)
        })
        .await
    }

    /// Asks every agent and hands each opinion, with the agent's index, to
    /// `seen` as it comes, until `seen` says stop (`true`) or every agent
    /// is done. Returns the opinions, in the agents' order; the calls still
    /// running when `seen` stops are dropped, and their opinions are
    /// [`AgentFailure::Cancelled`].
    pub(super) async fn ask_until<A, O, E, Fut>(
        &self,
        agents: &'a [Named<A>],
        mut seen: impl FnMut(&[Option<Opinion<O, E>>], usize) -> bool,
    ) -> Vec<Opinion<O, E>>
    where
        F: Fn(&'a A, &'a T) -> Fut,
        Fut: Future<Output = Result<O, E>>,
        E: fmt::Display,
    {
        let mut slots: Vec<Option<Opinion<O, E>>> = Vec::with_capacity(agents.len());
        slots.resize_with(agents.len(), || None);
        let mut running: FuturesUnordered<_> = agents
            .iter()
            .enumerate()
            .map(|(i, agent)| async move { (i, self.ask(agent).await) })
            .collect();
        loop {
            // Each `next` returns the first agent that finishes: one clock
            // read per opinion.
            self.clock.next_poll();
            let Some((i, opinion)) = running.next().await else {
                break;
            };
            slots[i] = Some(opinion);
            if seen(&slots, i) {
                break;
            }
        }
        drop(running);
        slots
            .into_iter()
            .zip(agents)
            .map(|(opinion, agent)| {
                opinion.unwrap_or_else(|| {
                    Opinion::new(agent.name.clone(), Err(AgentFailure::Cancelled))
                })
            })
            .collect()
    }
}

/// The instant `limit` after `started`, or a far future (30 years, as
/// tokio's `timeout` does) for a limit past what an `Instant` can hold.
fn deadline(started: Instant, limit: Duration) -> Instant {
    started
        .checked_add(limit)
        .unwrap_or_else(|| started + FAR_FUTURE)
}

/// What an unreachable deadline becomes.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// A round's clock: read once when it starts, then at most once per poll
/// of the round, by the first agent that finishes in that poll; the others
/// that finish in the same poll share the reading.
///
/// An atomic (relaxed, one thread at a time) rather than a `Cell`, so that
/// the round's future stays `Send`.
struct Clock {
    started: Instant,
    /// The reading of this poll, as nanoseconds since `started` plus one;
    /// zero when there is none yet.
    now: AtomicU64,
}

impl Clock {
    fn start() -> Self {
        Self {
            started: Instant::now(),
            now: AtomicU64::new(0),
        }
    }

    /// A new poll of the round begins: the next `elapsed` reads the clock.
    fn next_poll(&self) {
        self.now.store(0, Ordering::Relaxed);
    }

    /// The time since the round started, as of this poll.
    fn elapsed(&self) -> Duration {
        match self.now.load(Ordering::Relaxed) {
            0 => {
                let elapsed = self.started.elapsed();
                let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
                self.now.store(nanos.saturating_add(1), Ordering::Relaxed);
                elapsed
            }
            reading => Duration::from_nanos(reading - 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_clock_is_read_once_per_poll() {
        let clock = Clock::start();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(clock.elapsed(), Duration::from_secs(1));
        tokio::time::sleep(Duration::from_secs(1)).await;
        // Same poll: the first reading holds.
        assert_eq!(clock.elapsed(), Duration::from_secs(1));
        clock.next_poll();
        assert_eq!(clock.elapsed(), Duration::from_secs(2));
    }

    #[test]
    fn a_limit_past_any_instant_is_a_far_deadline() {
        let now = Instant::now();
        assert_eq!(deadline(now, Duration::MAX), now + FAR_FUTURE);
        assert_eq!(
            deadline(now, Duration::from_secs(3)),
            now + Duration::from_secs(3)
        );
    }
}
