//! [`ConsensusError`]: too few answers, no consensus and no arbiter, a
//! failed arbiter, or a round that cannot run.

use crate::PolicyError;
use crate::coordination::failure::{AgentFailure, Percent};

use super::Opinion;

/// Why a consensus round reached no decision. Each variant but `Policy`
/// carries every opinion that came back.
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::{Consensus, ConsensusError, Named};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let agents = [Named::new("a", "yes"), Named::new("b", "no")];
/// let err = Consensus::new()
///     .ask(&(), &agents, |answer, _| { let answer = *answer; async move { Ok::<_, String>(answer) } })
///     .decide()
///     .await
///     .unwrap_err();
/// assert_eq!(err.to_string(), "no consensus and no arbiter: the largest group has 1 of 2 answers, tied");
/// assert!(matches!(err, ConsensusError::NoConsensus { largest: 1, answers: 2, tied: true, .. }));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsensusError<O, E> {
    /// Fewer agents answered than the response rate asks: failures and
    /// timeouts are not answers.
    #[error(
        "{answers} of {} agents answered ({}), below the required {}",
        opinions.len(),
        Percent(*response_rate),
        Percent(*required)
    )]
    TooFewResponses {
        /// Every agent's opinion or failure.
        opinions: Vec<Opinion<O, E>>,
        /// The agents that answered.
        answers: usize,
        /// `answers` over all the agents.
        response_rate: f64,
        /// The response rate required.
        required: f64,
    },
    /// No single largest group reached the majority share, and there is no
    /// arbiter.
    #[error(
        "no consensus and no arbiter: the largest group has {largest} of {answers} answers{}",
        if *tied { ", tied" } else { "" }
    )]
    NoConsensus {
        /// Every agent's opinion or failure.
        opinions: Vec<Opinion<O, E>>,
        /// The answers in the largest group.
        largest: usize,
        /// All the answers.
        answers: usize,
        /// Whether another group was as large.
        tied: bool,
    },
    /// There was no majority and the arbiter failed (or panicked).
    #[error("no consensus, and the arbiter failed: {failure}")]
    ArbiterFailed {
        /// Every agent's opinion or failure.
        opinions: Vec<Opinion<O, E>>,
        /// What the arbiter failed with.
        failure: AgentFailure<E>,
    },
    /// The configuration cannot work (a rate outside 0..=1, no agents); no
    /// agent was asked.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

impl<O, E> ConsensusError<O, E> {
    /// Every agent's opinion or failure, if agents were asked.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::{Consensus, Named};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let agents = [Named::new("mute", ())];
    /// let err = Consensus::new()
    ///     .ask(&(), &agents, |_, _| async { Err::<u8, _>("offline") })
    ///     .decide()
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "0 of 1 agents answered (0%), below the required 60%");
    /// assert_eq!(err.opinions().unwrap()[0].to_string(), "`mute`: no vote (offline)");
    /// # }
    /// ```
    pub fn opinions(&self) -> Option<&[Opinion<O, E>]> {
        match self {
            Self::TooFewResponses { opinions, .. }
            | Self::NoConsensus { opinions, .. }
            | Self::ArbiterFailed { opinions, .. } => Some(opinions),
            Self::Policy(_) => None,
        }
    }
}
