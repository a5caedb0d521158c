//! What a consensus round returns: the decision, how it was reached, and
//! every agent's opinion or failure.

use core::fmt;
use core::time::Duration;
use std::borrow::Cow;

use crate::coordination::failure::{AgentFailure, Percent};

/// One agent's part in a consensus round: its answer, or why it has none.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::coordination::{AgentFailure, Opinion};
///
/// let opinion: Opinion<&str, &str> = Opinion::new("critic", Err(AgentFailure::TimedOut(Duration::from_secs(30))));
/// assert_eq!(opinion.answer(), None);
/// assert_eq!(opinion.to_string(), "`critic`: no vote (timed out after 30s)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Opinion<O, E> {
    /// The agent's name.
    pub agent: Cow<'static, str>,
    /// Its answer, or why it has none (not a vote).
    pub response: Result<O, AgentFailure<E>>,
    /// How long it took to answer or fail (zero if it was cancelled): from
    /// the start of the round to the poll of the round that saw it finish.
    /// The agents that finish in the same poll share one clock reading.
    pub duration: Duration,
}

impl<O, E> Opinion<O, E> {
    /// `response` of the agent called `agent`, after no time.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Opinion;
    ///
    /// let opinion = Opinion::<_, ()>::new("judge", Ok("guilty"));
    /// assert_eq!(opinion.answer(), Some(&"guilty"));
    /// ```
    pub fn new(agent: impl Into<Cow<'static, str>>, response: Result<O, AgentFailure<E>>) -> Self {
        Self {
            agent: agent.into(),
            response,
            duration: Duration::ZERO,
        }
    }

    /// The answer, if the agent gave one.
    ///
    /// # Examples
    ///
    /// See [`Opinion`].
    pub const fn answer(&self) -> Option<&O> {
        match &self.response {
            Ok(answer) => Some(answer),
            Err(_) => None,
        }
    }
}

impl<O: fmt::Debug, E: fmt::Display> fmt::Display for Opinion<O, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.response {
            Ok(answer) => write!(f, "`{}`: {answer:?}", self.agent),
            Err(failure) => write!(f, "`{}`: no vote ({failure})", self.agent),
        }
    }
}

/// How a consensus round was decided.
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::Decided;
///
/// let decided: Decided<&str> = Decided::Majority { first: 0, votes: 3, answers: 4 };
/// assert_eq!(decided.to_string(), "by majority, 3 of 4 answers");
/// assert_eq!(Decided::Arbiter { answer: "yes" }.to_string(), "by the arbiter");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decided<O> {
    /// The largest group of equal answers (by key) was alone in being the
    /// largest and held at least the majority share of the answers.
    Majority {
        /// The index, in [`Decision::opinions`], of the first agent that
        /// gave the winning answer: the decision is its answer.
        first: usize,
        /// The answers in the winning group.
        votes: usize,
        /// All the answers (failures are not answers).
        answers: usize,
    },
    /// There was no majority, and the arbiter gave this answer.
    Arbiter {
        /// The arbiter's answer.
        answer: O,
    },
}

impl<O> fmt::Display for Decided<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Majority { votes, answers, .. } => {
                write!(f, "by majority, {votes} of {answers} answers")
            }
            Self::Arbiter { .. } => f.write_str("by the arbiter"),
        }
    }
}

/// The outcome of a consensus round: the answer, how it was decided, every
/// agent's opinion or failure (in the agents' order) and the response rate.
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::{Consensus, Named};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let agents = [Named::new("a", "yes"), Named::new("b", "yes"), Named::new("c", "no")];
/// let decision = Consensus::new()
///     .ask(&(), &agents, |answer, _| { let answer = *answer; async move { Ok::<_, String>(answer) } })
///     .decide()
///     .await
///     .unwrap();
/// assert_eq!(*decision.answer(), "yes");
/// assert_eq!(decision.to_string(), "\"yes\" by majority, 2 of 3 answers (100% of the agents answered)");
/// assert_eq!(decision.opinions[2].answer(), Some(&"no"));
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Decision<O, E> {
    /// How it was decided.
    pub decided: Decided<O>,
    /// Every agent's opinion or failure, in the agents' order.
    pub opinions: Vec<Opinion<O, E>>,
    /// The agents that answered, over all the agents.
    pub response_rate: f64,
}

impl<O, E> Decision<O, E> {
    /// The agreed answer (the majority's, or the arbiter's).
    ///
    /// # Examples
    ///
    /// See [`Decision`].
    pub fn answer(&self) -> &O {
        match &self.decided {
            Decided::Majority { first, .. } => match &self.opinions[*first].response {
                Ok(answer) => answer,
                Err(_) => unreachable!("the winning opinion is an answer"),
            },
            Decided::Arbiter { answer } => answer,
        }
    }

    /// The agreed answer, owned.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::{Consensus, Named};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let agents = [Named::new("a", 1), Named::new("b", 1)];
    /// let decision = Consensus::new()
    ///     .ask(&(), &agents, |n, _| { let n = *n; async move { Ok::<_, String>(n.to_string()) } })
    ///     .decide()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(decision.into_answer(), "1");
    /// # }
    /// ```
    pub fn into_answer(mut self) -> O {
        match self.decided {
            Decided::Majority { first, .. } => match self.opinions.swap_remove(first).response {
                Ok(answer) => answer,
                Err(_) => unreachable!("the winning opinion is an answer"),
            },
            Decided::Arbiter { answer } => answer,
        }
    }

    /// Whether the arbiter decided.
    ///
    /// # Examples
    ///
    /// See [`Consensus`](super::Consensus).
    pub const fn by_arbiter(&self) -> bool {
        matches!(self.decided, Decided::Arbiter { .. })
    }
}

impl<O: fmt::Debug, E> fmt::Display for Decision<O, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} {} ({} of the agents answered)",
            self.answer(),
            self.decided,
            Percent(self.response_rate)
        )
    }
}
