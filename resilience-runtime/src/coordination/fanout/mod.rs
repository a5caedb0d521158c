//! Fault-tolerant fan-out: many tasks over primary agents, fallback agents
//! for the tasks that failed, and a minimum success rate (the guide's
//! "Fault-Tolerant Workflows", `execute_with_fallbacks`).
//!
//! # The guide's code, translated
//!
//! The guide (Python, abridged):
//!
//! ```python
//! class FaultTolerantWorkflow(Workflow):
//!     def __init__(self, *args, min_success_rate: float = 0.7, **kwargs): ...
//!
//!     async def execute_with_fallbacks(self, tasks, primary_agents, fallback_agents=None):
//!         for task, agent in zip(tasks, primary_agents):        # drops tasks!
//!             try: results.append((task, await self.execute_task_with_agent(task, agent), agent.name))
//!             except Exception as e: failed_tasks.append((task, agent, e))
//!         for (task, _, _), fallback in zip(failed_tasks, fallback_agents * len(failed_tasks)):
//!             try: results.append((task, await self.execute_task_with_agent(task, fallback), ...))
//!             except Exception as e: results.append((task, {"error": str(e)}, "failed"))
//!         success_count = sum(1 for _, r, _ in results if "error" not in r)
//!         success_rate = success_count / len(tasks)              # 0 tasks: ZeroDivisionError
//!         if success_rate < self.min_success_rate: raise WorkflowError(...)
//!         return results
//!
//!     @retry(attempts=2, delay=1.0)
//!     @timeout(seconds=60)
//!     async def execute_task_with_agent(self, task, agent):
//!         return await agent.process(task)
//! ```
//!
//! In Rust, `process` carries its own `#[retry]` and `#[timeout]` (with the
//! `resilience` macros), and the fan-out is one expression:
//!
//! ```
//! use resilience_runtime::coordination::{FanOut, FanOutError, Named};
//!
//! struct Agent { model: &'static str }
//!
//! impl Agent {
//!     // #[retry(attempts = 2, delay = "1s")]
//!     // #[timeout(seconds = 60)]
//!     async fn process(&self, task: &str) -> Result<String, std::io::Error> {
//!         Ok(format!("{task} done by {}", self.model))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), FanOutError<String, std::io::Error>> {
//! let tasks: Vec<String> = (0..10).map(|i| format!("task_{i}")).collect();
//! let primaries = [Named::new("writer", Agent { model: "small" })];
//! let fallbacks = [Named::new("backup", Agent { model: "large" })];
//!
//! let report = FanOut::new() // min_success 0.7, as the guide
//!     .run(&tasks, &primaries, &fallbacks, |agent: &Agent, task: &String| agent.process(task))
//!     .await?;
//!
//! assert_eq!(report.success_rate(), 1.0);
//! assert_eq!(report.tasks[9].output().unwrap(), "task_9 done by small");
//! # Ok(())
//! # }
//! ```
//!
//! # What differs from the guide
//!
//! - Task `i` goes to primary `i mod n`: every task runs, however many
//!   primaries there are (the guide's `zip` drops the tasks beyond the
//!   number of agents, so its own chaos test, 10 tasks on 5 agents with a
//!   minimum of 0.7, can never pass).
//! - Success is the call's `Ok`, not the absence of the word "error" in a
//!   result's text; a panic in a call is that agent's failure.
//! - A failed task goes to the fallback agents in turn, starting with
//!   fallback `i mod m` so that the failures spread over them, until one
//!   serves it (at most [`with_max_fallbacks`](FanOut::with_max_fallbacks)
//!   of them; the guide tries one).
//! - Tasks run concurrently, up to [`with_concurrency`](FanOut::with_concurrency)
//!   at a time (the guide runs them one by one), inside the caller's task:
//!   agents may be borrowed, and dropping the future cancels every call in
//!   flight.
//! - An empty task list succeeds with an empty report and a success rate of
//!   1 (nothing was asked, so nothing failed), where the guide divides by
//!   zero.
//! - Below the minimum, the error carries the whole report
//!   ([`FanOutError::BelowMinimum`]): partial success is often better than
//!   complete failure.
//! - Opt-in: [`with_stop_when_hopeless`](FanOut::with_stop_when_hopeless)
//!   stops starting tasks once the minimum can no longer be reached (LLM
//!   calls cost money).
//!
//! # Defaults
//!
//! | setting | default | the guide |
//! |---|---|---|
//! | [`with_operation`](FanOut::with_operation) (events' name) | `"fan_out"` | — |
//! | [`with_min_success`](FanOut::with_min_success) | 0.7 | 0.7 |
//! | [`with_concurrency`](FanOut::with_concurrency) | 10 | 1 (sequential) |
//! | [`with_max_fallbacks`](FanOut::with_max_fallbacks) | all of them | 1 |
//! | [`with_stop_when_hopeless`](FanOut::with_stop_when_hopeless) | off | off |
//!
//! # Events
//!
//! Each failed call is an [`EventKind::TaskFailed`], each hand-over to a
//! fallback an [`EventKind::FellBack`], giving up on the remaining tasks an
//! [`EventKind::FanOutAbandoned`] and ending below the minimum an
//! [`EventKind::BelowMinimum`]; the event's operation is the fan-out's name.

use core::fmt;
use core::future::Future;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use super::Named;
use super::failure::{AgentError, AgentFailure, check_rate, rate};
use crate::PolicyError;
use crate::error_ref::ErrorRef;
use crate::events::{Event, EventKind, emit};
use crate::support::panic::CatchPanic;

mod error;
mod report;

pub use error::FanOutError;
pub use report::{FanOutReport, TaskOutcome, TaskReport};

/// A fault-tolerant fan-out: its settings, and [`run`](FanOut::run).
///
/// A `FanOut` is `Copy` and can be a `const`. See the [module docs](self)
/// for the guide's code translated, the defaults and the events.
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::FanOut;
///
/// const SUMMARISE: FanOut = FanOut::new()
///     .with_operation("summarise")
///     .with_min_success(0.9)
///     .with_concurrency(4)
///     .with_stop_when_hopeless();
/// assert!(SUMMARISE.validate().is_ok());
/// assert_eq!(FanOut::default(), FanOut::new());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FanOut {
    operation: &'static str,
    min_success: f64,
    concurrency: usize,
    max_fallbacks: usize,
    stop_when_hopeless: bool,
}

impl Default for FanOut {
    fn default() -> Self {
        Self::new()
    }
}

impl FanOut {
    /// The defaults (see the [module docs](self)): minimum success rate 0.7,
    /// 10 tasks at a time, every fallback in turn.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::FanOut;
    ///
    /// assert_eq!(FanOut::new().min_success(), 0.7);
    /// assert_eq!(FanOut::new().concurrency(), 10);
    /// ```
    pub const fn new() -> Self {
        Self {
            operation: "fan_out",
            min_success: 0.7,
            concurrency: 10,
            max_fallbacks: usize::MAX,
            stop_when_hopeless: false,
        }
    }

    /// The name that the events give this fan-out.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::FanOut;
    ///
    /// assert_eq!(FanOut::new().with_operation("research").operation(), "research");
    /// ```
    pub const fn with_operation(mut self, operation: &'static str) -> Self {
        self.operation = operation;
        self
    }

    /// The share of tasks (0 to 1) that must succeed, or
    /// [`run`](FanOut::run) returns [`FanOutError::BelowMinimum`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::FanOut;
    ///
    /// assert_eq!(FanOut::new().with_min_success(0.5).min_success(), 0.5);
    /// assert!(FanOut::new().with_min_success(1.5).validate().is_err());
    /// ```
    pub const fn with_min_success(mut self, min_success: f64) -> Self {
        self.min_success = min_success;
        self
    }

    /// How many tasks run at a time, at least 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::FanOut;
    ///
    /// assert_eq!(FanOut::new().with_concurrency(50).concurrency(), 50);
    /// assert!(FanOut::new().with_concurrency(0).validate().is_err());
    /// ```
    pub const fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// How many fallback agents a failed task may try, in turn; 0 means
    /// none, 1 is the guide's behaviour.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::FanOut;
    ///
    /// assert_eq!(FanOut::new().with_max_fallbacks(1).max_fallbacks(), 1);
    /// ```
    pub const fn with_max_fallbacks(mut self, max_fallbacks: usize) -> Self {
        self.max_fallbacks = max_fallbacks;
        self
    }

    /// Stop starting tasks once so many have failed that the minimum
    /// success rate can no longer be reached; the tasks in flight finish,
    /// the others are reported as [`TaskOutcome::NotStarted`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::FanOut;
    ///
    /// assert!(FanOut::new().with_stop_when_hopeless().stops_when_hopeless());
    /// ```
    pub const fn with_stop_when_hopeless(mut self) -> Self {
        self.stop_when_hopeless = true;
        self
    }

    /// The events' name for this fan-out.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::FanOut;
    ///
    /// assert_eq!(FanOut::new().operation(), "fan_out");
    /// ```
    pub const fn operation(&self) -> &'static str {
        self.operation
    }

    /// The minimum success rate.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::FanOut;
    ///
    /// assert_eq!(FanOut::new().min_success(), 0.7);
    /// ```
    pub const fn min_success(&self) -> f64 {
        self.min_success
    }

    /// How many tasks run at a time.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::FanOut;
    ///
    /// assert_eq!(FanOut::new().concurrency(), 10);
    /// ```
    pub const fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// How many fallbacks a failed task may try.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::FanOut;
    ///
    /// assert_eq!(FanOut::new().max_fallbacks(), usize::MAX);
    /// ```
    pub const fn max_fallbacks(&self) -> usize {
        self.max_fallbacks
    }

    /// Whether it stops starting tasks once the minimum is out of reach.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::FanOut;
    ///
    /// assert!(!FanOut::new().stops_when_hopeless());
    /// ```
    pub const fn stops_when_hopeless(&self) -> bool {
        self.stop_when_hopeless
    }

    /// Checks the settings: the minimum success rate from 0 to 1 and a
    /// concurrency of at least 1.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Rate`] or [`PolicyError::ZeroConcurrency`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{PolicyError, coordination::FanOut};
    ///
    /// assert_eq!(
    ///     FanOut::new().with_min_success(f64::NAN).validate().unwrap_err().to_string(),
    ///     "`min_success` must be a number from 0 to 1, got NaN"
    /// );
    /// assert_eq!(FanOut::new().with_concurrency(0).validate(), Err(PolicyError::ZeroConcurrency));
    /// ```
    pub fn validate(&self) -> Result<(), PolicyError> {
        check_rate("min_success", self.min_success)?;
        if self.concurrency == 0 {
            return Err(PolicyError::ZeroConcurrency);
        }
        Ok(())
    }

    /// Runs every task: task `i` on primary `i mod n`, and a failed task on
    /// the fallbacks in turn, up to [`concurrency`](FanOut::concurrency)
    /// tasks at a time. `call(agent, task)` is your call, which may carry
    /// `#[retry]`, `#[timeout]` and `#[fallback]` itself.
    ///
    /// Everything runs inside the caller's task: agents and tasks may be
    /// borrowed, and dropping the returned future cancels every call in
    /// flight.
    ///
    /// # Errors
    ///
    /// [`FanOutError::BelowMinimum`], with the whole report, when the
    /// success rate is below the minimum; [`FanOutError::Policy`] when
    /// [`validate`](FanOut::validate) fails or `primaries` is empty.
    ///
    /// # Examples
    ///
    /// Three tasks, one primary that fails on task 1, and a fallback:
    ///
    /// ```
    /// use resilience_runtime::coordination::{FanOut, Named};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let primaries = [Named::new("fast", "fast")];
    /// let fallbacks = [Named::new("slow", "slow")];
    /// let report = FanOut::new()
    ///     .run(&[0, 1, 2], &primaries, &fallbacks, |agent: &&str, task: &i32| {
    ///         let (agent, task) = (*agent, *task);
    ///         async move {
    ///             if agent == "fast" && task == 1 { Err("overloaded") } else { Ok(format!("{task} by {agent}")) }
    ///         }
    ///     })
    ///     .await
    ///     .unwrap();
    /// let served: Vec<_> = report.tasks.iter().map(|t| t.served_by().unwrap()).collect();
    /// assert_eq!(served, ["fast", "slow", "fast"]);
    /// assert_eq!(report.to_string(), "3 of 3 tasks succeeded (100%): 1 by fallbacks");
    /// # }
    /// ```
    pub async fn run<'a, T, A, O, E, F, Fut>(
        self,
        tasks: &'a [T],
        primaries: &'a [Named<A>],
        fallbacks: &'a [Named<A>],
        call: F,
    ) -> Result<FanOutReport<O, E>, FanOutError<O, E>>
    where
        F: Fn(&'a A, &'a T) -> Fut,
        Fut: Future<Output = Result<O, E>>,
        E: fmt::Display,
    {
        self.validate()?;
        if primaries.is_empty() {
            return Err(PolicyError::NoAgents { role: "primary" }.into());
        }
        let started = Instant::now();
        let total = tasks.len();
        let mut slots: Vec<Option<TaskReport<O, E>>> = Vec::with_capacity(total);
        slots.resize_with(total, || None);
        let runner = Runner {
            operation: self.operation,
            primaries,
            fallbacks,
            max_fallbacks: self.max_fallbacks.min(fallbacks.len()),
            call: &call,
        };
        let mut running = FuturesUnordered::new();
        let (mut next, mut failed, mut hopeless) = (0, 0, false);
        loop {
            while running.len() < self.concurrency && next < total && !hopeless {
                running.push(runner.serve(next, &tasks[next]));
                next += 1;
            }
            let Some(first) = running.next().await else {
                break;
            };
            // Take every task that has finished by now, not only the first,
            // before starting more: two failures at the same instant may
            // make the minimum unreachable, and then no call should start.
            let mut finished = Some(first);
            while let Some(report) = finished.take() {
                let report: TaskReport<O, E> = report;
                finished = running.next().now_or_never().flatten();
                if !report.succeeded() {
                    failed += 1;
                    if self.stop_when_hopeless
                        && !hopeless
                        && rate(total - failed, total) < self.min_success
                    {
                        hopeless = true;
                        if next < total {
                            emit(&Event::new(
                                self.operation,
                                EventKind::FanOutAbandoned {
                                    failed,
                                    skipped: total - next,
                                },
                            ));
                        }
                    }
                }
                let index = report.index;
                slots[index] = Some(report);
            }
        }
        let tasks = slots
            .into_iter()
            .enumerate()
            .map(|(i, slot)| slot.unwrap_or_else(|| TaskReport::not_started(i)))
            .collect();
        let report = FanOutReport {
            tasks,
            elapsed: started.elapsed(),
        };
        let succeeded = total - failed - (total - next);
        if rate(succeeded, total) < self.min_success {
            emit(&Event::new(
                self.operation,
                EventKind::BelowMinimum {
                    succeeded,
                    tasks: total,
                },
            ));
            return Err(FanOutError::BelowMinimum {
                report,
                min_success: self.min_success,
            });
        }
        Ok(report)
    }
}

/// What each task's future borrows from [`FanOut::run`].
struct Runner<'a, 'c, A, F> {
    operation: &'static str,
    primaries: &'a [Named<A>],
    fallbacks: &'a [Named<A>],
    max_fallbacks: usize,
    call: &'c F,
}

impl<A, F> Clone for Runner<'_, '_, A, F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A, F> Copy for Runner<'_, '_, A, F> {}

impl<'a, A, F> Runner<'a, '_, A, F> {
    /// Task `index` on its primary, then on the fallbacks in turn.
    async fn serve<T, O, E, Fut>(self, index: usize, task: &'a T) -> TaskReport<O, E>
    where
        F: Fn(&'a A, &'a T) -> Fut,
        Fut: Future<Output = Result<O, E>>,
        E: fmt::Display,
    {
        let started = Instant::now();
        let mut errors = Vec::new();
        let mut agent = &self.primaries[index % self.primaries.len()];
        let mut fallback = false;
        let mut tried = 0;
        let outcome = loop {
            match CatchPanic::new(async { (self.call)(&agent.agent, task).await }).await {
                Ok(Ok(output)) => {
                    break TaskOutcome::Served {
                        agent: agent.name.clone(),
                        fallback,
                        output,
                    };
                }
                Ok(Err(error)) => {
                    self.failed(index, agent, AgentFailure::Error(error), &mut errors)
                }
                Err(panic) => self.failed(index, agent, AgentFailure::Panicked(panic), &mut errors),
            }
            if tried == self.max_fallbacks {
                break TaskOutcome::Failed;
            }
            agent = &self.fallbacks[(index + tried) % self.fallbacks.len()];
            tried += 1;
            fallback = true;
            emit(&Event::new(
                self.operation,
                EventKind::FellBack {
                    task: index,
                    agent: agent.name(),
                },
            ));
        };
        TaskReport {
            index,
            outcome,
            errors,
            duration: started.elapsed(),
        }
    }

    /// Reports that `agent` failed task `index`.
    fn failed<E: fmt::Display>(
        self,
        index: usize,
        agent: &Named<A>,
        failure: AgentFailure<E>,
        errors: &mut Vec<AgentError<E>>,
    ) {
        emit(&Event::new(
            self.operation,
            EventKind::TaskFailed {
                task: index,
                agent: agent.name(),
                error: ErrorRef::Display(&failure),
            },
        ));
        errors.push(AgentError {
            agent: agent.name.clone(),
            failure,
        });
    }
}
