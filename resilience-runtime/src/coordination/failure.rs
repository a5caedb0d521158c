//! [`AgentFailure`] and [`AgentError`]: why an agent gave no answer, as the
//! fan-out and consensus reports say it.

use core::fmt;
use core::time::Duration;
use std::borrow::Cow;

use crate::support::duration::fmt_duration;

/// Why one call of an agent gave no answer: its own error, a panic, or the
/// pattern's time limit.
///
/// A panic inside an agent's call is that agent's failure, never the
/// caller's crash: it is caught and kept here as its message.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::coordination::AgentFailure;
///
/// let failures: [AgentFailure<&str>; 3] = [
///     AgentFailure::Error("rate limited"),
///     AgentFailure::Panicked("index out of bounds".into()),
///     AgentFailure::TimedOut(Duration::from_secs(30)),
/// ];
/// let texts: Vec<String> = failures.iter().map(ToString::to_string).collect();
/// assert_eq!(texts, ["rate limited", "panicked: index out of bounds", "timed out after 30s"]);
/// assert_eq!(failures[0].error(), Some(&"rate limited"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentFailure<E> {
    /// The call returned this error.
    Error(E),
    /// The call panicked with this message.
    Panicked(String),
    /// The call did not finish within the pattern's time limit (a
    /// consensus round's; a fan-out has none of its own: put
    /// `#[timeout]` on your call).
    TimedOut(Duration),
    /// The pattern no longer needed the answer and dropped the call (a
    /// consensus decided early, see
    /// [`Consensus::with_early_decision`](super::Consensus::with_early_decision)).
    Cancelled,
    /// A failure read back from a checkpoint, as its text: a durable
    /// workflow saves the failed branches of a parallel step by their
    /// `Display`, so that their error type need not be serde.
    Recorded(String),
}

impl<E> AgentFailure<E> {
    /// The call's own error, if it returned one.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::AgentFailure;
    ///
    /// assert_eq!(AgentFailure::Error(404).error(), Some(&404));
    /// assert_eq!(AgentFailure::<u16>::Panicked("boom".into()).error(), None);
    /// ```
    pub const fn error(&self) -> Option<&E> {
        match self {
            Self::Error(error) => Some(error),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for AgentFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(error) => error.fmt(f),
            Self::Panicked(message) => write!(f, "panicked: {message}"),
            Self::TimedOut(limit) => write!(f, "timed out after {}", fmt_duration(*limit)),
            Self::Cancelled => f.write_str("cancelled: no longer needed"),
            Self::Recorded(text) => f.write_str(text),
        }
    }
}

/// An agent's failure, with the agent's name: one of the errors a fan-out
/// task met.
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::{AgentError, AgentFailure};
///
/// let error = AgentError::new("gpt-small", AgentFailure::Error("rate limited"));
/// assert_eq!(error.to_string(), "`gpt-small`: rate limited");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgentError<E> {
    /// The agent's name.
    pub agent: Cow<'static, str>,
    /// What went wrong.
    pub failure: AgentFailure<E>,
}

impl<E> AgentError<E> {
    /// `failure` of the agent called `agent`.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::{AgentError, AgentFailure};
    ///
    /// let error = AgentError::new("planner", AgentFailure::Error(3));
    /// assert_eq!((&*error.agent, error.failure.error()), ("planner", Some(&3)));
    /// ```
    pub fn new(agent: impl Into<Cow<'static, str>>, failure: AgentFailure<E>) -> Self {
        Self {
            agent: agent.into(),
            failure,
        }
    }
}

impl<E: fmt::Display> fmt::Display for AgentError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.agent, self.failure)
    }
}

/// `rate` as a percentage: `"70%"`, `"66.7%"`.
pub(crate) struct Percent(pub(crate) f64);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let percent = self.0 * 100.0;
        let mut rounded = (percent * 10.0).round() / 10.0;
        // 9,999 of 10,000 is not "100%": that would read as meeting a
        // minimum of 100% while failing it.
        if rounded >= 100.0 && self.0 < 1.0 {
            rounded = 99.9;
        }
        if rounded.fract() == 0.0 {
            write!(f, "{rounded:.0}%")
        } else {
            write!(f, "{rounded:.1}%")
        }
    }
}

/// `part / whole`, as a rate; 1 when `whole` is 0 (nothing was asked, so
/// nothing failed).
pub(crate) fn rate(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// Checks that `value` (the setting `name`) is a rate: a number from 0 to 1.
pub(crate) fn check_rate(name: &'static str, value: f64) -> Result<(), crate::PolicyError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(crate::PolicyError::Rate { name, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_read_well() {
        let shown: Vec<String> = [0.7, 2.0 / 3.0, 0.0, 1.0, 0.055]
            .into_iter()
            .map(|r| Percent(r).to_string())
            .collect();
        assert_eq!(shown, ["70%", "66.7%", "0%", "100%", "5.5%"]);
        assert_eq!(rate(0, 0), 1.0);
        assert_eq!(rate(7, 10), 0.7);
        assert!(check_rate("x", f64::NAN).is_err());
        assert!(check_rate("x", 1.5).is_err());
        assert!(check_rate("x", 1.0).is_ok());
    }
}
