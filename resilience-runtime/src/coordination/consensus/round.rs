//! [`Round`]: asking every agent, each under its time limit, and gathering
//! their opinions, all at once or (with early decision) as they come.
//!
//! A round of trivial agents costs what the same job costs by hand
//! (`join_all` of `tokio::time::timeout`s, then a count); `benches/
//! coordination.rs` shows both. What makes it so:
//!
//! - the agents' futures ([`Ask`], a plain future around tokio's `Timeout`)
//!   are polled in place by `join_all`, in one allocation, and their
//!   outputs are the opinions: no node per agent, no slots to copy from;
//! - every agent is asked at the same instant, so one deadline serves them
//!   all (`timeout_at`), computed once;
//! - the clock is read once per poll of the round that sees an agent
//!   finish, not once per agent ([`Clock`]).

use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::{Context, Poll, ready};
use core::time::Duration;

use futures_util::future::join_all;
use futures_util::stream::{FuturesUnordered, StreamExt};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Timeout};

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
    /// failure. The call is made when the future is first polled.
    fn ask<A, O, E, Fut>(
        &self,
        agent: &'a Named<A>,
    ) -> Ask<'_, 'a, T, F, A, impl Future<Output = Result<O, E>>>
    where
        F: Fn(&'a A, &'a T) -> Fut,
        Fut: Future<Output = Result<O, E>>,
    {
        // The call itself (not only its future) runs inside the catch.
        let call = CatchPanic::new(async move { (self.call)(&agent.agent, self.task).await });
        Ask {
            round: self,
            agent,
            call: tokio::time::timeout_at(self.deadline, call),
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

pin_project! {
    /// One agent's call in a round: under the round's deadline, a panic
    /// caught; when done, it emits the agent's event and is its opinion.
    /// A plain future rather than an `async fn`, so that `join_all` holds
    /// it as built, with no state machine around the `Timeout`.
    struct Ask<'r, 'a, T, F, A, C> {
        round: &'r Round<'a, T, F>,
        agent: &'a Named<A>,
        #[pin]
        call: Timeout<CatchPanic<C>>,
    }
}

impl<T, F, A, C, O, E> Future for Ask<'_, '_, T, F, A, C>
where
    C: Future<Output = Result<O, E>>,
    E: fmt::Display,
{
    type Output = Opinion<O, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Opinion<O, E>> {
        let this = self.project();
        let round = *this.round;
        let response = match ready!(this.call.poll(cx)) {
            Ok(Ok(Ok(answer))) => Ok(answer),
            Ok(Ok(Err(error))) => Err(AgentFailure::Error(error)),
            Ok(Err(panic)) => Err(AgentFailure::Panicked(panic)),
            Err(_) => Err(AgentFailure::TimedOut(round.limit)),
        };
        let duration = round.clock.elapsed();
        let agent = *this.agent;
        match &response {
            Ok(_) => emit(&Event::new(
                round.operation,
                EventKind::Voted {
                    agent: agent.name(),
                },
            )),
            Err(failure) => emit(&Event::new(
                round.operation,
                EventKind::NoVote {
                    agent: agent.name(),
                    error: ErrorRef::Display(failure),
                },
            )),
        }
        Poll::Ready(Opinion {
            agent: agent.name.clone(),
            response,
            duration,
        })
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
