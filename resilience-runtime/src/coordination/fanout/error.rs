//! [`FanOutError`]: a fan-out below its minimum, or one that cannot run.

use crate::PolicyError;
use crate::coordination::failure::Percent;

use super::FanOutReport;

/// Why [`FanOut::run`](super::FanOut::run) returned no report of success.
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::{FanOut, FanOutError, Named};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let agents = [Named::new("down", ())];
/// let err = FanOut::new()
///     .run(&[1, 2, 3], &agents, &[], |_: &(), _: &i32| async { Err::<(), _>("unavailable") })
///     .await
///     .unwrap_err();
/// assert_eq!(err.to_string(), "0 of 3 tasks succeeded (0%), below the minimum 70%");
/// match err {
///     FanOutError::BelowMinimum { report, .. } => assert_eq!(report.failed(), 3),
///     other => panic!("{other}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FanOutError<O, E> {
    /// Fewer tasks succeeded than the minimum success rate asks. The report
    /// is whole: the outputs of the tasks that did succeed are in it.
    #[error(
        "{} of {} tasks succeeded ({}), below the minimum {}",
        report.succeeded(),
        report.tasks.len(),
        Percent(report.success_rate()),
        Percent(*min_success)
    )]
    BelowMinimum {
        /// Every task's report.
        report: FanOutReport<O, E>,
        /// The minimum success rate that was not reached.
        min_success: f64,
    },
    /// The configuration cannot work (a rate outside 0..=1, a concurrency of
    /// 0, no primary agents); no task was started.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

impl<O, E> FanOutError<O, E> {
    /// The report, if tasks ran.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::{FanOut, Named};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = FanOut::new()
    ///     .run(&[1], &[Named::new("down", ())], &[], |_: &(), _: &i32| async { Err::<(), _>("no") })
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.report().unwrap().tasks[0].errors[0].to_string(), "`down`: no");
    /// # }
    /// ```
    pub const fn report(&self) -> Option<&FanOutReport<O, E>> {
        match self {
            Self::BelowMinimum { report, .. } => Some(report),
            Self::Policy(_) => None,
        }
    }

    /// The report, owned, if tasks ran: partial success is often better
    /// than none.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::{FanOut, Named};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = FanOut::new()
    ///     .run(&[1, 2], &[Named::new("half", ())], &[], |_: &(), n: &i32| {
    ///         let n = *n;
    ///         async move { if n == 1 { Ok(n) } else { Err("no") } }
    ///     })
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.into_report().unwrap().into_outputs(), [Some(1), None]);
    /// # }
    /// ```
    pub fn into_report(self) -> Option<FanOutReport<O, E>> {
        match self {
            Self::BelowMinimum { report, .. } => Some(report),
            Self::Policy(_) => None,
        }
    }
}
