//! Consensus: ask every agent at once, require enough answers, take the
//! majority, or let an arbiter decide (the guide's "Consensus Mechanisms",
//! `execute_with_consensus`).
//!
//! # The guide's code, translated
//!
//! The guide (Python, abridged):
//!
//! ```python
//! async def execute_with_consensus(self, task, agents, consensus_threshold=0.6):
//!     opinions = await asyncio.gather(*[self.get_agent_opinion(a, task) for a in agents],
//!                                     return_exceptions=True)
//!     valid_opinions = [(a, o) for a, o in zip(agents, opinions) if not isinstance(o, Exception)]
//!     response_rate = len(valid_opinions) / len(agents)
//!     if response_rate < consensus_threshold: raise WorkflowError(...)
//!     consensus = self.find_consensus(valid_opinions)    # Counter(str(o)).most_common(1), >= 0.5
//!     if not consensus:                                  # "" or 0 go to the arbiter too
//!         consensus = await self.resolve_conflict(valid_opinions, task)
//!     return {"consensus": consensus, "opinions": valid_opinions, "response_rate": response_rate}
//!
//! @timeout(seconds=30)
//! @fallback(default={"opinion": "no_response"})          # a failure becomes a vote
//! async def get_agent_opinion(self, agent, task):
//!     return await agent.analyze(task)
//! ```
//!
//! In Rust:
//!
//! ```
//! use resilience_runtime::coordination::{Consensus, ConsensusError, Named, Opinion};
//!
//! struct Agent { view: &'static str }
//!
//! impl Agent {
//!     async fn analyze(&self, _task: &str) -> Result<String, std::io::Error> {
//!         Ok(self.view.to_owned())
//!     }
//! }
//!
//! async fn arbitrate(task: &&str, opinions: &[Opinion<String, std::io::Error>]) -> Result<String, std::io::Error> {
//!     Ok(format!("{task}: arbiter's call over {} opinions", opinions.len()))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ConsensusError<String, std::io::Error>> {
//! let agents = [
//!     Named::new("optimist", Agent { view: "ship it" }),
//!     Named::new("pessimist", Agent { view: "wait" }),
//!     Named::new("realist", Agent { view: "ship it" }),
//! ];
//!
//! let decision = Consensus::new() // 30s each, response rate 0.6, majority 0.5, as the guide
//!     .ask(&"release?", &agents, |agent, task| agent.analyze(task))
//!     .with_arbiter(arbitrate)
//!     .decide()
//!     .await?;
//!
//! assert_eq!(decision.answer(), "ship it");
//! assert_eq!(decision.to_string(), "\"ship it\" by majority, 2 of 3 answers (100% of the agents answered)");
//! # Ok(())
//! # }
//! ```
//!
//! # What differs from the guide
//!
//! - An agent that fails, panics or runs out of time has no vote. (In the
//!   guide, `@fallback` turns failures into `"no_response"` opinions that
//!   count as answers and can even win.) Response rate = answers / agents.
//! - Answers are grouped by the answer itself (`Eq + Hash`) or by a key
//!   fn ([`Ballot::by_key`]), not by their `str()`.
//! - The winner is the single largest group, if its share of the answers
//!   reaches the majority. A tie between the largest groups is no
//!   consensus (the guide picks one by insertion order).
//! - Any agreed answer is an answer: `""` or `0` win like any other (the
//!   guide sends a falsy consensus to the arbiter as if there were none).
//! - Without consensus the arbiter decides; without an arbiter it is
//!   [`ConsensusError::NoConsensus`], with every opinion.
//! - Opt-in: [`with_early_decision`](Consensus::with_early_decision)
//!   decides as soon as the winner cannot change and cancels the agents
//!   still running.
//!
//! # Defaults
//!
//! | setting | default | the guide |
//! |---|---|---|
//! | [`with_operation`](Consensus::with_operation) (events' name) | `"consensus"` | — |
//! | [`with_time_limit`](Consensus::with_time_limit) (each agent) | 30 s | 30 s |
//! | [`with_response_rate`](Consensus::with_response_rate) | 0.6 | 0.6 |
//! | [`with_majority`](Consensus::with_majority) (share of the answers) | 0.5 | 0.5 |
//! | [`with_early_decision`](Consensus::with_early_decision) | off | off |
//! | key ([`Ballot::by_key`]) | the answer | `str(answer)` |
//! | arbiter ([`Ballot::with_arbiter`]) | none | `resolve_conflict` |
//!
//! # Events
//!
//! Each answer is an [`EventKind::Voted`](crate::EventKind::Voted), each
//! failure an [`EventKind::NoVote`](crate::EventKind::NoVote); then
//! [`TooFewResponses`](crate::EventKind::TooFewResponses),
//! [`Agreed`](crate::EventKind::Agreed), or
//! [`NoConsensus`](crate::EventKind::NoConsensus) followed by
//! [`Arbitrated`](crate::EventKind::Arbitrated) when the arbiter answered.
//! The event's operation is the consensus's name.

use core::future::Future;
use core::time::Duration;

use super::Named;
use super::failure::check_rate;
use crate::PolicyError;

mod ballot;
mod decision;
mod error;
mod round;

pub use ballot::{Arbiter, Ballot, ByAnswer, NoArbiter, VoteKey};
pub use decision::{Decided, Decision, Opinion};
pub use error::ConsensusError;

/// A consensus round's settings, and [`ask`](Consensus::ask), which sets
/// one up.
///
/// A `Consensus` is `Copy` and can be a `const`. See the [module
/// docs](self) for the guide's code translated, the defaults and the events.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::coordination::{Consensus, Named};
///
/// const REVIEW: Consensus = Consensus::new()
///     .with_operation("review")
///     .with_time_limit(Duration::from_secs(10))
///     .with_response_rate(0.5)
///     .with_majority(0.6)
///     .with_early_decision();
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let agents = [Named::new("a", 1), Named::new("b", 1), Named::new("c", 2)];
/// let decision = REVIEW
///     .ask(&(), &agents, |n, _| { let n = *n; async move { Ok::<_, String>(n) } })
///     .decide()
///     .await
///     .unwrap();
/// assert_eq!(*decision.answer(), 1);
/// assert!(!decision.by_arbiter());
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Consensus {
    operation: &'static str,
    time_limit: Duration,
    response_rate: f64,
    majority: f64,
    early_decision: bool,
}

impl Default for Consensus {
    fn default() -> Self {
        Self::new()
    }
}

impl Consensus {
    /// The defaults, the guide's: 30 s per agent, response rate 0.6,
    /// majority 0.5.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::coordination::Consensus;
    ///
    /// assert_eq!(Consensus::new().time_limit(), Duration::from_secs(30));
    /// assert_eq!(Consensus::default(), Consensus::new());
    /// ```
    pub const fn new() -> Self {
        Self {
            operation: "consensus",
            time_limit: Duration::from_secs(30),
            response_rate: 0.6,
            majority: 0.5,
            early_decision: false,
        }
    }

    /// The name that the events give this consensus.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Consensus;
    ///
    /// assert_eq!(Consensus::new().with_operation("vote").operation(), "vote");
    /// ```
    pub const fn with_operation(mut self, operation: &'static str) -> Self {
        self.operation = operation;
        self
    }

    /// How long each agent has to answer; past it, the agent has no vote.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::coordination::Consensus;
    ///
    /// let c = Consensus::new().with_time_limit(Duration::from_secs(5));
    /// assert_eq!(c.time_limit(), Duration::from_secs(5));
    /// ```
    pub const fn with_time_limit(mut self, time_limit: Duration) -> Self {
        self.time_limit = time_limit;
        self
    }

    /// The share of agents (0 to 1) that must answer.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Consensus;
    ///
    /// assert_eq!(Consensus::new().with_response_rate(1.0).response_rate(), 1.0);
    /// assert!(Consensus::new().with_response_rate(-0.1).validate().is_err());
    /// ```
    pub const fn with_response_rate(mut self, response_rate: f64) -> Self {
        self.response_rate = response_rate;
        self
    }

    /// The share of the answers (0 to 1) that the largest group must hold
    /// to win. A tie is never a majority.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Consensus;
    ///
    /// assert_eq!(Consensus::new().with_majority(2.0 / 3.0).majority(), 2.0 / 3.0);
    /// ```
    pub const fn with_majority(mut self, majority: f64) -> Self {
        self.majority = majority;
        self
    }

    /// Decide as soon as the winner cannot change (it leads by more than
    /// the agents still running, and holds the majority share even if they
    /// all answer otherwise), and cancel the agents still running: their
    /// opinions are [`AgentFailure::Cancelled`](super::AgentFailure::Cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Consensus;
    ///
    /// assert!(Consensus::new().with_early_decision().decides_early());
    /// ```
    pub const fn with_early_decision(mut self) -> Self {
        self.early_decision = true;
        self
    }

    /// The events' name for this consensus.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Consensus;
    ///
    /// assert_eq!(Consensus::new().operation(), "consensus");
    /// ```
    pub const fn operation(&self) -> &'static str {
        self.operation
    }

    /// Each agent's time limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::coordination::Consensus;
    ///
    /// assert_eq!(Consensus::new().time_limit(), Duration::from_secs(30));
    /// ```
    pub const fn time_limit(&self) -> Duration {
        self.time_limit
    }

    /// The response rate required.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Consensus;
    ///
    /// assert_eq!(Consensus::new().response_rate(), 0.6);
    /// ```
    pub const fn response_rate(&self) -> f64 {
        self.response_rate
    }

    /// The majority share required.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Consensus;
    ///
    /// assert_eq!(Consensus::new().majority(), 0.5);
    /// ```
    pub const fn majority(&self) -> f64 {
        self.majority
    }

    /// Whether it decides early.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Consensus;
    ///
    /// assert!(!Consensus::new().decides_early());
    /// ```
    pub const fn decides_early(&self) -> bool {
        self.early_decision
    }

    /// Checks the settings: the response rate and the majority from 0 to 1.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Rate`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Consensus;
    ///
    /// assert_eq!(
    ///     Consensus::new().with_majority(1.2).validate().unwrap_err().to_string(),
    ///     "`majority` must be a number from 0 to 1, got 1.2"
    /// );
    /// ```
    pub fn validate(&self) -> Result<(), PolicyError> {
        check_rate("response_rate", self.response_rate)?;
        check_rate("majority", self.majority)
    }

    /// Sets up a round: `call(agent, task)` for each of `agents` (your
    /// call, which may carry `#[retry]` and `#[fallback]` itself). Then
    /// [`by_key`](Ballot::by_key) and [`with_arbiter`](Ballot::with_arbiter)
    /// if you want them, and [`decide`](Ballot::decide).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::{Consensus, Named};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let agents = [Named::new("a", 0), Named::new("b", 0), Named::new("c", 7)];
    /// // 0 is an answer like any other (the guide's falsy-answer bug).
    /// let decision = Consensus::new()
    ///     .ask(&"count the bugs", &agents, |n, _| { let n = *n; async move { Ok::<i32, String>(n) } })
    ///     .decide()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(*decision.answer(), 0);
    /// # }
    /// ```
    pub const fn ask<'a, T, A, F, Fut, O, E>(
        self,
        task: &'a T,
        agents: &'a [Named<A>],
        call: F,
    ) -> Ballot<'a, T, A, F>
    where
        F: Fn(&'a A, &'a T) -> Fut,
        Fut: Future<Output = Result<O, E>>,
    {
        Ballot {
            consensus: self,
            task,
            agents,
            call,
            key: ByAnswer,
            arbiter: NoArbiter,
        }
    }
}
