//! [`ParallelError`]: why a parallel step of a `workflow!` failed (too few
//! branches succeeded, or its agents reached no decision), and what it
//! undid of its own branches.

use core::fmt;

use super::CompensationReport;
use crate::coordination::Percent;

/// Why a parallel step of a `workflow!` failed. The workflow's error type
/// takes it through `From<ParallelError>`, as it takes
/// [`Elapsed`](crate::Elapsed) from a `#[timeout]`:
///
/// ```
/// #[derive(Debug, thiserror::Error)]
/// enum AppError {
///     #[error(transparent)]
///     Parallel(#[from] resilience_runtime::ParallelError),
///     // ...
/// }
/// ```
///
/// A fan-out step (`for item in items => ..`) that ends below its
/// `min_success` undoes the branches that did succeed before it fails
/// (with its `#[compensate]`, latest completed first): those compensations
/// are in the error, the steps before it are in the workflow's
/// [`SagaError`](super::SagaError).
///
/// # Examples
///
/// ```
/// use resilience_runtime::ParallelError;
///
/// fn explain(error: &ParallelError) -> String {
///     match error {
///         ParallelError::BelowMinimum { succeeded, items, failures, .. } => {
///             format!("{succeeded}/{items}, first failure: {}", failures[0])
///         }
///         ParallelError::NoDecision { reason, .. } => format!("no decision: {reason}"),
///         _ => error.to_string(),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ParallelError {
    /// Fewer branches succeeded than the step's `min_success` asks.
    BelowMinimum {
        /// The workflow.
        workflow: &'static str,
        /// The step.
        step: &'static str,
        /// The branches that succeeded.
        succeeded: usize,
        /// All the items.
        items: usize,
        /// The minimum success rate that was not reached.
        min_success: f64,
        /// Each failed item, in item order: `"item 3: quota exceeded"`
        /// (an item never started reads `"item 7: cancelled: no longer
        /// needed"`).
        failures: Vec<String>,
        /// The compensation of each branch that had succeeded, latest
        /// completed first (empty without `#[compensate]`).
        compensations: Vec<CompensationReport>,
    },
    /// A consensus step reached no decision: too few agents answered, no
    /// answer held the majority, or the arbiter failed.
    NoDecision {
        /// The workflow.
        workflow: &'static str,
        /// The step.
        step: &'static str,
        /// Why, as the consensus round says it
        /// ([`ConsensusError`](crate::ConsensusError)).
        reason: String,
        /// Each agent that gave no answer: `` "`critic`: timed out after 30s" ``.
        failures: Vec<String>,
    },
}

impl ParallelError {
    /// The step that failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::ParallelError;
    ///
    /// # fn f(error: ParallelError) {
    /// println!("{} failed", error.step());
    /// # }
    /// ```
    pub const fn step(&self) -> &'static str {
        match self {
            Self::BelowMinimum { step, .. } | Self::NoDecision { step, .. } => step,
        }
    }
}

impl fmt::Display for ParallelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BelowMinimum {
                succeeded,
                items,
                min_success,
                failures,
                compensations,
                ..
            } => {
                write!(
                    f,
                    "{succeeded} of {items} branches succeeded ({}), below the minimum {}",
                    Percent(crate::coordination::rate(*succeeded, *items)),
                    Percent(*min_success)
                )?;
                if let Some(first) = failures.first() {
                    write!(f, "; {first}")?;
                    if failures.len() > 1 {
                        write!(f, " and {} more", failures.len() - 1)?;
                    }
                }
                if !compensations.is_empty() {
                    let failed = compensations.iter().filter(|c| c.outcome.is_err()).count();
                    let n = compensations.len();
                    write!(f, "; undid {n} branch{}", if n == 1 { "" } else { "es" })?;
                    if failed > 0 {
                        write!(f, " ({failed} of them failed)")?;
                    }
                }
                Ok(())
            }
            Self::NoDecision { reason, .. } => f.write_str(reason),
        }
    }
}

impl std::error::Error for ParallelError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_says_how_many_failed_and_what_was_undone() {
        let error = ParallelError::BelowMinimum {
            workflow: "W",
            step: "s",
            succeeded: 2,
            items: 4,
            min_success: 0.8,
            failures: vec!["item 1: quota".into(), "item 3: quota".into()],
            compensations: vec![
                CompensationReport {
                    step: "s",
                    outcome: Ok(()),
                },
                CompensationReport {
                    step: "s",
                    outcome: Err("503".into()),
                },
            ],
        };
        assert_eq!(
            error.to_string(),
            "2 of 4 branches succeeded (50%), below the minimum 80%; item 1: quota and 1 more; \
             undid 2 branches (1 of them failed)"
        );
        assert_eq!(error.step(), "s");
    }
}
