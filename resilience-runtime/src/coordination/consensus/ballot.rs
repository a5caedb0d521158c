//! [`Ballot`]: one consensus round being set up, and how it is decided.

use core::fmt;
use core::future::Future;
use core::hash::Hash;
use std::collections::HashMap;

use super::round::Round;
use super::{Consensus, ConsensusError, Decided, Decision, Opinion};
use crate::coordination::Named;
use crate::coordination::failure::{AgentFailure, rate};
use crate::events::{Event, EventKind, emit};
use crate::support::panic::CatchPanic;

/// What answers are grouped by: the answer itself ([`ByAnswer`]) or a key
/// fn `Fn(&O) -> K` (see [`Ballot::by_key`]).
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::{ByAnswer, VoteKey};
///
/// assert_eq!(ByAnswer.key(&"yes"), &"yes");
/// let verdict = |answer: &(bool, &str)| answer.0;
/// assert!(verdict.key(&(true, "because")));
/// ```
pub trait VoteKey<O> {
    /// The key: answers with equal keys are one group.
    type Key<'o>: Eq + Hash
    where
        O: 'o;

    /// The key of `answer`.
    fn key<'o>(&self, answer: &'o O) -> Self::Key<'o>;
}

/// Groups answers by the answer itself (`Eq + Hash`): the default.
///
/// # Examples
///
/// See [`VoteKey`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ByAnswer;

impl<O: Eq + Hash> VoteKey<O> for ByAnswer {
    type Key<'o>
        = &'o O
    where
        O: 'o;

    fn key<'o>(&self, answer: &'o O) -> &'o O {
        answer
    }
}

impl<O, K: Eq + Hash, G: Fn(&O) -> K> VoteKey<O> for G {
    type Key<'o>
        = K
    where
        O: 'o;

    fn key(&self, answer: &O) -> K {
        self(answer)
    }
}

/// Who decides when there is no majority: an async fn given the task and
/// every opinion (see [`Ballot::with_arbiter`]), or [`NoArbiter`].
///
/// Implemented for every `AsyncFnOnce(&T, &[Opinion<O, E>]) -> Result<O, E>`
/// (an `async` closure or an `async fn`).
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::{Arbiter, NoArbiter, Opinion};
///
/// async fn first_answer(_task: &&str, opinions: &[Opinion<u8, String>]) -> Result<u8, String> {
///     opinions.iter().find_map(|o| o.answer().copied()).ok_or_else(|| "no answers".to_owned())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let opinions = [Opinion::new("a", Ok(4)), Opinion::new("b", Ok(5))];
/// assert_eq!(first_answer.arbitrate(&"task", &opinions).await, Some(Ok(4)));
/// assert_eq!(Arbiter::<&str, u8, String>::arbitrate(NoArbiter, &"task", &opinions).await, None);
/// # }
/// ```
pub trait Arbiter<T, O, E> {
    /// The arbiter's answer, or `None` if there is no arbiter.
    fn arbitrate(
        self,
        task: &T,
        opinions: &[Opinion<O, E>],
    ) -> impl Future<Output = Option<Result<O, E>>>;
}

/// No arbiter: a round without a majority is
/// [`ConsensusError::NoConsensus`]. The default.
///
/// # Examples
///
/// See [`Arbiter`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoArbiter;

impl<T, O, E> Arbiter<T, O, E> for NoArbiter {
    async fn arbitrate(self, _: &T, _: &[Opinion<O, E>]) -> Option<Result<O, E>> {
        None
    }
}

impl<T, O, E, F> Arbiter<T, O, E> for F
where
    F: AsyncFnOnce(&T, &[Opinion<O, E>]) -> Result<O, E>,
{
    async fn arbitrate(self, task: &T, opinions: &[Opinion<O, E>]) -> Option<Result<O, E>> {
        Some(self(task, opinions).await)
    }
}

/// One consensus round, set up by [`Consensus::ask`]: choose a key and an
/// arbiter, then [`decide`](Ballot::decide).
///
/// # Examples
///
/// See [`Consensus`].
#[must_use = "a ballot does nothing until `.decide().await`"]
pub struct Ballot<'a, T, A, F, K = ByAnswer, R = NoArbiter> {
    pub(super) consensus: Consensus,
    pub(super) task: &'a T,
    pub(super) agents: &'a [Named<A>],
    pub(super) call: F,
    pub(super) key: K,
    pub(super) arbiter: R,
}

impl<T, A, F, K, R> fmt::Debug for Ballot<'_, T, A, F, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ballot")
            .field("consensus", &self.consensus)
            .field("agents", &self.agents)
            .finish_non_exhaustive()
    }
}

/// Where the answers stand: the largest group and the runner-up.
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Tally {
    /// The largest group's size and its first agent.
    largest: usize,
    first: usize,
    /// The second largest group's size (equal to `largest` on a tie).
    second: usize,
}

impl<'a, T, A, F, K, R, O, E, Fut> Ballot<'a, T, A, F, K, R>
where
    F: Fn(&'a A, &'a T) -> Fut,
    Fut: Future<Output = Result<O, E>>,
{
    /// Groups the answers by `key(answer)` instead of the answer itself:
    /// for answers that are not `Eq + Hash`, or that agree on what matters
    /// (a verdict) while differing in the rest (the wording).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::{Consensus, Named};
    ///
    /// #[derive(Debug)]
    /// struct Review { approve: bool, comment: String }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let agents = [Named::new("a", (true, "fine")), Named::new("b", (true, "ok")), Named::new("c", (false, "no"))];
    /// let decision = Consensus::new()
    ///     .ask(&"PR #7", &agents, |&(approve, comment), _| async move {
    ///         Ok::<_, String>(Review { approve, comment: comment.to_owned() })
    ///     })
    ///     .by_key(|review| review.approve)
    ///     .decide()
    ///     .await
    ///     .unwrap();
    /// assert!(decision.answer().approve);
    /// assert_eq!(decision.answer().comment, "fine"); // the first agent of the winning group
    /// # }
    /// ```
    pub fn by_key<G, Key>(self, key: G) -> Ballot<'a, T, A, F, G, R>
    where
        G: Fn(&O) -> Key,
        Key: Eq + Hash,
    {
        Ballot {
            consensus: self.consensus,
            task: self.task,
            agents: self.agents,
            call: self.call,
            key,
            arbiter: self.arbiter,
        }
    }

    /// Groups the answers by any [`VoteKey`]: [`ByAnswer`] or a key fn (what
    /// a workflow's consensus step calls, with or without `key = ..`).
    pub(crate) fn by_key_of<K2: VoteKey<O>>(self, key: K2) -> Ballot<'a, T, A, F, K2, R> {
        Ballot {
            consensus: self.consensus,
            task: self.task,
            agents: self.agents,
            call: self.call,
            key,
            arbiter: self.arbiter,
        }
    }

    /// Without a majority, `arbiter(task, opinions)` decides: an async fn
    /// (or `async` closure) given the task and every opinion, answers and
    /// failures alike. The guide's `resolve_conflict`.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::{Consensus, Named, Opinion};
    ///
    /// async fn ask_the_judge(task: &&str, opinions: &[Opinion<String, String>]) -> Result<String, String> {
    ///     Ok(format!("{task}: judge read {} opinions", opinions.len()))
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let agents = [Named::new("a", "yes"), Named::new("b", "no")];
    /// let decision = Consensus::new()
    ///     .ask(&"deploy?", &agents, |a, _| { let a = a.to_string(); async move { Ok(a) } })
    ///     .with_arbiter(ask_the_judge)
    ///     .decide()
    ///     .await
    ///     .unwrap();
    /// assert!(decision.by_arbiter());
    /// assert_eq!(decision.answer(), "deploy?: judge read 2 opinions");
    /// # }
    /// ```
    pub fn with_arbiter<R2>(self, arbiter: R2) -> Ballot<'a, T, A, F, K, R2>
    where
        R2: AsyncFnOnce(&T, &[Opinion<O, E>]) -> Result<O, E>,
    {
        Ballot {
            consensus: self.consensus,
            task: self.task,
            agents: self.agents,
            call: self.call,
            key: self.key,
            arbiter,
        }
    }

    /// Asks every agent at once, each under the time limit, and decides:
    /// by majority over the answers, or else by the arbiter. With
    /// [early decision](Consensus::with_early_decision), it decides as soon
    /// as the winner cannot change and drops the calls still running.
    ///
    /// Everything runs inside the caller's task: dropping the returned
    /// future cancels every call in flight.
    ///
    /// # Errors
    ///
    /// [`ConsensusError::TooFewResponses`] below the response rate;
    /// [`ConsensusError::NoConsensus`] without a majority or an arbiter;
    /// [`ConsensusError::ArbiterFailed`]; [`ConsensusError::Policy`] for a
    /// configuration that cannot work or no agents.
    ///
    /// # Examples
    ///
    /// See [`Consensus`].
    pub async fn decide(self) -> Result<Decision<O, E>, ConsensusError<O, E>>
    where
        K: VoteKey<O>,
        R: Arbiter<T, O, E>,
        E: fmt::Display,
    {
        let Self {
            consensus,
            task,
            agents,
            call,
            key,
            arbiter,
        } = self;
        consensus.validate()?;
        if agents.is_empty() {
            return Err(crate::PolicyError::NoAgents { role: "voting" }.into());
        }
        let op = consensus.operation();
        let total = agents.len();
        let round = Round::start(task, call, op, consensus.time_limit());
        let (opinions, answers, early) = if consensus.decides_early() {
            let (mut answers, mut pending, mut early) = (0, total, None);
            let opinions = round
                .ask_until(agents, |slots, i| {
                    pending -= 1;
                    answers += usize::from(slots[i].as_ref().is_some_and(|o| o.response.is_ok()));
                    if pending == 0 || !response_ok(answers, total, &consensus) {
                        return false;
                    }
                    let tally = tally(slots, &key);
                    let decided = tally.largest > tally.second + pending
                        && rate(tally.largest, answers + pending) >= consensus.majority();
                    if decided {
                        early = Some(tally);
                    }
                    decided
                })
                .await;
            (opinions, answers, early)
        } else {
            let opinions = round.ask_all(agents).await;
            let answers = opinions.iter().filter(|o| o.response.is_ok()).count();
            (opinions, answers, None)
        };
        let response_rate = rate(answers, total);
        if !response_ok(answers, total, &consensus) {
            emit(&Event::new(
                op,
                EventKind::TooFewResponses {
                    answers,
                    agents: total,
                },
            ));
            return Err(ConsensusError::TooFewResponses {
                opinions,
                answers,
                response_rate,
                required: consensus.response_rate(),
            });
        }
        let tally = match early {
            Some(tally) => tally,
            None => tally_opinions(&opinions, &key),
        };
        if tally.largest > tally.second && rate(tally.largest, answers) >= consensus.majority() {
            emit(&Event::new(
                op,
                EventKind::Agreed {
                    votes: tally.largest,
                    answers,
                },
            ));
            return Ok(Decision {
                decided: Decided::Majority {
                    first: tally.first,
                    votes: tally.largest,
                    answers,
                },
                opinions,
                response_rate,
            });
        }
        emit(&Event::new(
            op,
            EventKind::NoConsensus {
                largest: tally.largest,
                answers,
            },
        ));
        match CatchPanic::new(arbiter.arbitrate(task, &opinions)).await {
            Ok(Some(Ok(answer))) => {
                emit(&Event::new(op, EventKind::Arbitrated { answers }));
                Ok(Decision {
                    decided: Decided::Arbiter { answer },
                    opinions,
                    response_rate,
                })
            }
            Ok(None) => Err(ConsensusError::NoConsensus {
                opinions,
                largest: tally.largest,
                answers,
                tied: tally.largest == tally.second && tally.largest > 0,
            }),
            Ok(Some(Err(error))) => Err(ConsensusError::ArbiterFailed {
                opinions,
                failure: AgentFailure::Error(error),
            }),
            Err(panic) => Err(ConsensusError::ArbiterFailed {
                opinions,
                failure: AgentFailure::Panicked(panic),
            }),
        }
    }
}

/// Whether `answers` of `total` agents reach the response rate.
fn response_ok(answers: usize, total: usize, consensus: &Consensus) -> bool {
    rate(answers, total) >= consensus.response_rate()
}

/// The groups of the answers so far, while the round runs.
fn tally<O, E, K: VoteKey<O>>(slots: &[Option<Opinion<O, E>>], key: &K) -> Tally {
    count(slots.iter().map(|slot| slot.as_ref()?.answer()), key)
}

/// The groups of the answers, once the round is over.
fn tally_opinions<O, E, K: VoteKey<O>>(opinions: &[Opinion<O, E>], key: &K) -> Tally {
    count(opinions.iter().map(Opinion::answer), key)
}

/// Up to this many agents, answers are grouped by a linear search among
/// the groups found so far: for a handful of agents, comparing keys costs
/// less than hashing them (and allocating a table). Above it, a `HashMap`.
const LINEAR_GROUPING: usize = 16;

/// Groups `answers` (in the agents' order, `None` for no answer) by key.
fn count<'o, O: 'o, K: VoteKey<O>>(
    answers: impl ExactSizeIterator<Item = Option<&'o O>>,
    key: &K,
) -> Tally {
    let agents = answers.len();
    let keys = answers
        .enumerate()
        .filter_map(|(i, answer)| Some((i, key.key(answer?))));
    if agents <= LINEAR_GROUPING {
        group_linear(keys, agents)
    } else {
        group_hashed(keys)
    }
}

/// Groups `(agent, key)`s by a linear search among the groups so far.
fn group_linear<K: Eq>(keys: impl Iterator<Item = (usize, K)>, agents: usize) -> Tally {
    let mut groups: Vec<(K, usize, usize)> = Vec::with_capacity(agents);
    for (i, key) in keys {
        match groups.iter_mut().find(|group| group.0 == key) {
            Some(group) => group.1 += 1,
            None => groups.push((key, 1, i)),
        }
    }
    largest_groups(groups.into_iter().map(|(_, size, first)| (size, first)))
}

/// Groups `(agent, key)`s in a `HashMap`.
fn group_hashed<K: Eq + Hash>(keys: impl Iterator<Item = (usize, K)>) -> Tally {
    let mut groups: HashMap<K, (usize, usize)> = HashMap::new();
    for (i, key) in keys {
        groups.entry(key).or_insert((0, i)).0 += 1;
    }
    largest_groups(groups.into_values())
}

/// The largest and second largest of `groups` (size, first agent).
fn largest_groups(groups: impl Iterator<Item = (usize, usize)>) -> Tally {
    let mut tally = Tally {
        largest: 0,
        first: 0,
        second: 0,
    };
    for (size, first) in groups {
        if size > tally.largest {
            tally.second = tally.largest;
            tally.largest = size;
            tally.first = first;
        } else if size == tally.largest {
            tally.second = size;
            tally.first = tally.first.min(first);
        } else if size > tally.second {
            tally.second = size;
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_and_hashed_grouping_agree() {
        let mut rng = fastrand::Rng::with_seed(9);
        for agents in 0..=3 * LINEAR_GROUPING {
            for _ in 0..50 {
                // Few distinct answers, so that groups, ties and runners-up occur.
                let answers: Vec<Option<u8>> = (0..agents)
                    .map(|_| rng.bool().then(|| rng.u8(0..4)))
                    .collect();
                let keys = || {
                    answers
                        .iter()
                        .enumerate()
                        .filter_map(|(i, answer)| Some((i, (*answer)?)))
                };
                let linear = group_linear(keys(), agents);
                assert_eq!(linear, group_hashed(keys()), "{answers:?}");
                assert_eq!(
                    linear,
                    count(answers.iter().map(Option::as_ref), &ByAnswer),
                    "{answers:?}"
                );
            }
        }
    }
}
