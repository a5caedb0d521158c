//! What a fan-out reports: per task, who served it, its output or every
//! error it met, and its duration.

use core::fmt;
use core::time::Duration;
use std::borrow::Cow;

use crate::coordination::failure::{AgentError, Percent, rate};

/// How one task ended.
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::TaskOutcome;
///
/// let outcome = TaskOutcome::Served { agent: "backup".into(), fallback: true, output: 42 };
/// assert!(matches!(outcome, TaskOutcome::Served { fallback: true, output: 42, .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskOutcome<O> {
    /// An agent returned `output`.
    Served {
        /// The agent that served the task.
        agent: Cow<'static, str>,
        /// Whether it is a fallback agent (the primary had failed).
        fallback: bool,
        /// What it returned.
        output: O,
    },
    /// The primary and every fallback tried failed; the errors are in
    /// [`TaskReport::errors`].
    Failed,
    /// Never started: the fan-out had stopped starting tasks once its
    /// minimum success rate was out of reach
    /// ([`FanOut::with_stop_when_hopeless`](super::FanOut::with_stop_when_hopeless)).
    NotStarted,
}

/// What happened to one task.
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::{FanOut, Named};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let agents = [Named::new("flaky", false), Named::new("steady", true)];
/// let report = FanOut::new()
///     .with_min_success(0.0)
///     .run(&["a", "b"], &agents[..1], &agents[1..], |ok: &bool, task: &&str| {
///         let (ok, task) = (*ok, *task);
///         async move { if ok { Ok(task.len()) } else { Err("down") } }
///     })
///     .await
///     .unwrap();
/// let first = &report.tasks[0];
/// assert_eq!((first.served_by(), first.fell_back(), first.output()), (Some("steady"), true, Some(&1)));
/// assert_eq!(first.errors[0].to_string(), "`flaky`: down");
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskReport<O, E> {
    /// The task's index in the task list.
    pub index: usize,
    /// How it ended.
    pub outcome: TaskOutcome<O>,
    /// Every failure it met, in order: its primary's, then each fallback's.
    pub errors: Vec<AgentError<E>>,
    /// From its start to its end, fallbacks included.
    pub duration: Duration,
}

impl<O, E> TaskReport<O, E> {
    pub(super) const fn not_started(index: usize) -> Self {
        Self {
            index,
            outcome: TaskOutcome::NotStarted,
            errors: Vec::new(),
            duration: Duration::ZERO,
        }
    }

    /// Whether an agent served the task.
    ///
    /// # Examples
    ///
    /// See [`TaskReport`].
    pub const fn succeeded(&self) -> bool {
        matches!(self.outcome, TaskOutcome::Served { .. })
    }

    /// Whether a fallback agent served the task.
    ///
    /// # Examples
    ///
    /// See [`TaskReport`].
    pub const fn fell_back(&self) -> bool {
        matches!(self.outcome, TaskOutcome::Served { fallback: true, .. })
    }

    /// The name of the agent that served the task.
    ///
    /// # Examples
    ///
    /// See [`TaskReport`].
    pub fn served_by(&self) -> Option<&str> {
        match &self.outcome {
            TaskOutcome::Served { agent, .. } => Some(agent),
            _ => None,
        }
    }

    /// The task's output, if an agent served it.
    ///
    /// # Examples
    ///
    /// See [`TaskReport`].
    pub const fn output(&self) -> Option<&O> {
        match &self.outcome {
            TaskOutcome::Served { output, .. } => Some(output),
            _ => None,
        }
    }
}

/// The whole fan-out, in task order: [`FanOut::run`](super::FanOut::run)
/// returns it, and a [`FanOutError::BelowMinimum`](super::FanOutError) carries it.
///
/// Its `Display` sums it up: `"8 of 10 tasks succeeded (80%): 2 by
/// fallbacks, 2 failed"`.
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::{FanOut, Named};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let agents = [Named::new("a", ()), Named::new("b", ())];
/// let tasks = [1, 2, 3, 4];
/// let report = FanOut::new()
///     .with_min_success(0.5)
///     .run(&tasks, &agents, &[], |_: &(), n: &i32| {
///         let n = *n;
///         async move { if n % 2 == 0 { Ok(n * 10) } else { Err("odd") } }
///     })
///     .await
///     .unwrap();
/// assert_eq!(report.success_rate(), 0.5);
/// assert_eq!(report.outputs().collect::<Vec<_>>(), [None, Some(&20), None, Some(&40)]);
/// assert_eq!(report.to_string(), "2 of 4 tasks succeeded (50%): 2 failed");
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FanOutReport<O, E> {
    /// One report per task, in task order.
    pub tasks: Vec<TaskReport<O, E>>,
    /// From the start of the fan-out to its end.
    pub elapsed: Duration,
}

impl<O, E> FanOutReport<O, E> {
    /// The number of tasks that an agent served.
    ///
    /// # Examples
    ///
    /// See [`FanOutReport`].
    pub fn succeeded(&self) -> usize {
        self.tasks.iter().filter(|t| t.succeeded()).count()
    }

    /// The number of tasks that every agent tried failed.
    ///
    /// # Examples
    ///
    /// See [`FanOutReport`].
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, TaskOutcome::Failed))
    }

    /// The number of tasks never started (see
    /// [`FanOut::with_stop_when_hopeless`](super::FanOut::with_stop_when_hopeless)).
    ///
    /// # Examples
    ///
    /// See [`FanOutReport`].
    pub fn not_started(&self) -> usize {
        self.count(|o| matches!(o, TaskOutcome::NotStarted))
    }

    /// The tasks that a fallback agent served.
    ///
    /// # Examples
    ///
    /// See [`TaskReport`].
    pub fn fell_back(&self) -> impl Iterator<Item = &TaskReport<O, E>> {
        self.tasks.iter().filter(|t| t.fell_back())
    }

    /// Succeeded tasks / all tasks; 1 for an empty task list (nothing was
    /// asked, so nothing failed).
    ///
    /// # Examples
    ///
    /// See [`FanOutReport`].
    pub fn success_rate(&self) -> f64 {
        rate(self.succeeded(), self.tasks.len())
    }

    /// Each task's output, in task order (`None` for a task that failed or
    /// never started).
    ///
    /// # Examples
    ///
    /// See [`FanOutReport`].
    pub fn outputs(&self) -> impl Iterator<Item = Option<&O>> {
        self.tasks.iter().map(TaskReport::output)
    }

    /// The outputs, owned, in task order.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::{FanOut, Named};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let report = FanOut::new()
    ///     .run(&[2, 3], &[Named::new("doubler", 2)], &[], |k: &i32, n: &i32| {
    ///         let out = k * n;
    ///         async move { Ok::<_, String>(out) }
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(report.into_outputs(), [Some(4), Some(6)]);
    /// # }
    /// ```
    pub fn into_outputs(self) -> Vec<Option<O>> {
        self.tasks
            .into_iter()
            .map(|t| match t.outcome {
                TaskOutcome::Served { output, .. } => Some(output),
                _ => None,
            })
            .collect()
    }

    fn count(&self, f: impl Fn(&TaskOutcome<O>) -> bool) -> usize {
        self.tasks.iter().filter(|t| f(&t.outcome)).count()
    }
}

impl<O, E> fmt::Display for FanOutReport<O, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} tasks succeeded ({})",
            self.succeeded(),
            self.tasks.len(),
            Percent(self.success_rate())
        )?;
        let parts = [
            (self.fell_back().count(), "by fallbacks"),
            (self.failed(), "failed"),
            (self.not_started(), "not started"),
        ];
        let mut sep = ": ";
        for (n, what) in parts {
            if n > 0 {
                write!(f, "{sep}{n} {what}")?;
                sep = ", ";
            }
        }
        Ok(())
    }
}
