//! The event kinds, each defined once.
//!
//! The table at the bottom of this file (`kinds!`) is the one place that
//! says what an event kind carries, how it is logged and how it reads. From
//! it come the borrowed [`EventKind`] (what [`emit`](super::emit) takes: no
//! allocation on the hot path), the owned [`OwnedEventKind`] (what a
//! [`Subscription`](super::Subscription) receives), the conversions between
//! them, the `Display` text and the structured `tracing` event. Adding a
//! kind is one entry in the table.

use core::fmt;
use core::time::Duration;

use crate::support::duration::fmt_duration;
use crate::support::error_ref::ErrorRef;

/// Why a retried operation stopped and returned its error.
///
/// # Examples
///
/// ```
/// use resilience_runtime::GiveUpReason;
///
/// assert_eq!(GiveUpReason::Exhausted.to_string(), "attempts exhausted");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GiveUpReason {
    /// The last allowed attempt failed.
    Exhausted,
    /// The `when` predicate rejected the error.
    NotRetryable,
    /// `max_elapsed` had passed when the attempt failed.
    MaxElapsed,
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Exhausted => "attempts exhausted",
            Self::NotRetryable => "error is not retryable",
            Self::MaxElapsed => "max elapsed time reached",
        })
    }
}

/// Why a circuit breaker opened (see
/// [`CircuitBreaker`](crate::breaker::CircuitBreaker)).
///
/// # Examples
///
/// ```
/// use resilience_runtime::TripReason;
///
/// assert_eq!(TripReason::ConsecutiveFailures { failures: 5 }.to_string(), "5 consecutive failures");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TripReason {
    /// So many calls in a row failed (the consecutive-failure mode).
    ConsecutiveFailures {
        /// The failures in a row.
        failures: u32,
    },
    /// The failure ratio over the sampling window reached the policy's,
    /// with at least its minimum throughput (the failure-ratio mode).
    FailureRatio {
        /// The failed calls in the window.
        failures: u32,
        /// All the calls in the window.
        calls: u32,
        /// The window's length.
        sampling: Duration,
    },
    /// A trial call of the half-open circuit failed.
    TrialFailed,
}

impl fmt::Display for TripReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ConsecutiveFailures { failures } => {
                write!(f, "{failures} consecutive failure{}", plural(failures))
            }
            Self::FailureRatio {
                failures,
                calls,
                sampling,
            } => write!(
                f,
                "{failures} of {calls} calls failed in the last {}",
                fmt_duration(sampling)
            ),
            Self::TrialFailed => f.write_str("the trial call failed"),
        }
    }
}

/// `circuit` or ``circuit `name` ``: a breaker as event texts name it.
struct Circuit<'a>(&'a str);

impl fmt::Display for Circuit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("circuit")
        } else {
            write!(f, "circuit `{}`", self.0)
        }
    }
}

/// Why a bulkhead turned a call away (see [`Bulkhead`](crate::Bulkhead)).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::RejectReason;
///
/// assert_eq!(RejectReason::Full { max: 8 }.to_string(), "all 8 slots are taken and there is no queue");
/// assert_eq!(
///     RejectReason::WaitedTooLong { wait: Duration::from_millis(100) }.to_string(),
///     "no slot came free within 100ms"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// Every slot was taken and the bulkhead has no queue.
    Full {
        /// The bulkhead's limit: calls at once.
        max: usize,
    },
    /// Every slot was taken and the queue was full too.
    QueueFull {
        /// The bulkhead's limit: calls at once.
        max: usize,
        /// The most calls that may wait.
        queue: usize,
    },
    /// The call waited in the queue for the longest wait allowed.
    WaitedTooLong {
        /// The longest wait allowed.
        wait: Duration,
    },
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Full { max } => write!(
                f,
                "all {max} slot{} {} taken and there is no queue",
                plural_of(max),
                if max == 1 { "is" } else { "are" }
            ),
            Self::QueueFull { max, queue } => write!(
                f,
                "all {max} slot{} {} taken and the queue of {queue} is full",
                plural_of(max),
                if max == 1 { "is" } else { "are" }
            ),
            Self::WaitedTooLong { wait } => {
                write!(f, "no slot came free within {}", fmt_duration(wait))
            }
        }
    }
}

/// A field of an event kind, in its borrowed form: how it becomes owned,
/// how it is borrowed back, how it reads and how `tracing` records it.
trait Field<'a>: Copy {
    /// The owned form, in an [`OwnedEventKind`].
    type Owned: Clone + fmt::Debug + PartialEq + Eq;
    fn to_owned_field(self) -> Self::Owned;
    fn borrow_field(owned: &'a Self::Owned) -> Self;
    /// Writes the field as the `Display` text shows it.
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    /// The field as `tracing` records it: numbers and names as themselves,
    /// the rest as their text.
    fn traced(&self) -> impl tracing::Value + '_;
}

/// Shows a field in a format string.
struct Show<'f, T>(&'f T);

impl<'a, T: Field<'a>> fmt::Display for Show<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.show(f)
    }
}

macro_rules! copy_field {
    ($($ty:ty => $traced:expr),*) => {$(
        impl Field<'_> for $ty {
            type Owned = $ty;
            fn to_owned_field(self) -> $ty {
                self
            }
            fn borrow_field(owned: &$ty) -> $ty {
                *owned
            }
            fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
            fn traced(&self) -> impl tracing::Value + '_ {
                $traced(self)
            }
        }
    )*};
}
copy_field!(u32 => |n: &u32| *n, u64 => |n: &u64| *n, usize => |n: &usize| *n, GiveUpReason => tracing::field::display);
copy_field!(TripReason => tracing::field::display);
copy_field!(RejectReason => tracing::field::display);

impl Field<'_> for Duration {
    type Owned = Duration;
    fn to_owned_field(self) -> Duration {
        self
    }
    fn borrow_field(owned: &Duration) -> Duration {
        *owned
    }
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&fmt_duration(*self), f)
    }
    fn traced(&self) -> impl tracing::Value + '_ {
        tracing::field::display(fmt_duration(*self))
    }
}

impl<'a> Field<'a> for &'a str {
    type Owned = String;
    fn to_owned_field(self) -> String {
        self.to_owned()
    }
    fn borrow_field(owned: &'a String) -> &'a str {
        owned
    }
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
    fn traced(&self) -> impl tracing::Value + '_ {
        *self
    }
}

impl<'a> Field<'a> for ErrorRef<'a> {
    type Owned = String;
    fn to_owned_field(self) -> String {
        self.to_string()
    }
    fn borrow_field(owned: &'a String) -> ErrorRef<'a> {
        ErrorRef::Display(owned)
    }
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
    fn traced(&self) -> impl tracing::Value + '_ {
        tracing::field::display(self)
    }
}

/// `"s"` unless `n` is 1.
const fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `"s"` unless `n` is 1, for counts of tasks and agents.
const fn plural_of(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Defines [`EventKind`] and [`OwnedEventKind`] from one table.
///
/// Each entry: docs, `Name [LEVEL] { field: BorrowedType => OwnedType, .. }`
/// then `=> expression` that writes the text to `f` for the operation `op`
/// (the fields are bound by name, as values that `Display` the way the text
/// wants them).
macro_rules! kinds {
    (write($f:ident, $op:ident); $(
        $(#[doc = $doc:literal])*
        $name:ident [$level:ident] {
            $( $(#[doc = $fdoc:literal])* $field:ident : $bty:ty => $oty:ty ),* $(,)?
        } => $text:expr;
    )*) => {
        /// What happened, in an [`Event`](super::Event). More kinds will
        /// come (failover and others), hence `#[non_exhaustive]`.
        ///
        /// # Examples
        ///
        /// ```
        /// use std::time::Duration;
        /// use resilience_runtime::{ErrorRef, Event, EventKind};
        ///
        /// let kind = EventKind::Retry { attempt: 1, delay: Duration::from_millis(100), error: ErrorRef::Display(&"busy") };
        /// assert_eq!(Event::new("ask", kind).to_string(), "`ask` attempt 1 failed (busy); retrying in 100ms");
        /// ```
        #[derive(Clone, Copy, Debug)]
        #[non_exhaustive]
        pub enum EventKind<'a> {
            $(
                $(#[doc = $doc])*
                $name { $( $(#[doc = $fdoc])* $field: $bty, )* },
            )*
        }

        /// An [`EventKind`] that owns its data (errors rendered to a
        /// `String`), as a [`Subscription`](super::Subscription) receives it.
        /// Each variant is documented at [`EventKind`].
        ///
        /// # Examples
        ///
        /// ```
        /// use resilience_runtime::{ErrorRef, Event, EventKind, OwnedEventKind};
        ///
        /// let event = Event::new("ask", EventKind::Fallback { error: ErrorRef::Debug(&404) });
        /// assert!(matches!(event.into_owned().kind, OwnedEventKind::Fallback { error } if error == "404"));
        /// ```
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum OwnedEventKind {
            $(
                $(#[doc = $doc])*
                $name { $( $(#[doc = $fdoc])* $field: $oty, )* },
            )*
        }

        impl<'a> EventKind<'a> {
            /// This kind with its data owned.
            pub(super) fn to_owned_kind(self) -> OwnedEventKind {
                match self {
                    $( Self::$name { $($field),* } => OwnedEventKind::$name {
                        $( $field: Field::to_owned_field($field), )*
                    }, )*
                }
            }

            /// Writes the event's text for `operation`.
            pub(super) fn write(&self, $op: &str, $f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match *self {
                    $( Self::$name { $($field),* } => {
                        $( let $field = Show(&$field); )*
                        $text
                    } )*
                }
            }

            /// Records the `tracing` event: target `resilience`, the
            /// operation, the agent if any, and every field, the text as the message.
            pub(super) fn record(&self, operation: &str, event: &super::Event<'_>) {
                match *self {
                    $( Self::$name { $($field),* } => {
                        tracing::event!(
                            target: "resilience",
                            tracing::Level::$level,
                            operation,
                            agent = event.agent,
                            $( $field = Field::traced(&$field), )*
                            "{event}"
                        );
                    } )*
                }
            }
        }

        impl OwnedEventKind {
            /// This kind, borrowed.
            pub(super) fn as_kind(&self) -> EventKind<'_> {
                match self {
                    $( Self::$name { $($field),* } => EventKind::$name {
                        $( $field: Field::borrow_field($field), )*
                    }, )*
                }
            }
        }
    };
}

kinds! {
    write(f, op);

    /// An attempt failed and another one follows after `delay`.
    Retry [WARN] {
        /// The attempt that failed, from 1.
        attempt: u32 => u32,
        /// The wait before the next attempt.
        delay: Duration => Duration,
        /// The error of the failed attempt.
        error: ErrorRef<'a> => String,
    } => write!(f, "`{op}` attempt {attempt} failed ({error}); retrying in {delay}");

    /// The last attempt failed and no other follows: the error is returned.
    GaveUp [ERROR] {
        /// The number of attempts made.
        attempts: u32 => u32,
        /// Why there is no further attempt.
        reason: GiveUpReason => GiveUpReason,
        /// The error returned.
        error: ErrorRef<'a> => String,
    } => write!(
        f,
        "`{op}` gave up after {attempts} attempt{} ({reason}): {error}",
        plural(*attempts.0)
    );

    /// The operation ran out of time.
    Timeout [WARN] {
        /// The time limit.
        limit: Duration => Duration,
    } => write!(f, "`{op}` timed out after {limit}");

    /// The operation failed and a fallback value or fn replaces its error.
    Fallback [WARN] {
        /// The error replaced.
        error: ErrorRef<'a> => String,
    } => write!(f, "`{op}` failed ({error}); using the fallback");

    /// Chaos (the `chaos` feature) made a call fail on purpose, before the
    /// call ran. The event's operation is the decorated fn's name (or the
    /// chaos's name for `Chaos::call`).
    ChaosInjected [WARN] {
        /// The call's number since the last (re)seed, from 0.
        call: u64 => u64,
        /// The fault injected, in words (`"timeout"`, `"connection error"`,
        /// `"processing error"`, `"resource exhaustion"`).
        fault: &'a str => String,
    } => write!(f, "`{op}` chaos injected a {fault} at call {call}");

    /// Chaos (the `chaos` feature) delayed a call before it ran.
    ChaosDelayed [DEBUG] {
        /// The call's number since the last (re)seed, from 0.
        call: u64 => u64,
        /// The latency added.
        delay: Duration => Duration,
    } => write!(f, "`{op}` chaos delayed call {call} by {delay}");

    /// A call waits for a permit of its rate limit (`#[rate_limit]`, see
    /// [`RateLimiter`](crate::RateLimiter)) before it runs.
    RateLimitWait [DEBUG] {
        /// How long it waits.
        wait: Duration => Duration,
    } => write!(f, "`{op}` waits {wait} for a rate-limit permit");

    /// A call was refused by its rate limit: the next permit was further
    /// away than it may wait. The call did not run.
    RateLimitRejected [WARN] {
        /// How long it would have had to wait.
        retry_in: Duration => Duration,
    } => write!(f, "`{op}` rejected by its rate limit; the next permit is {retry_in} away");

    /// A workflow step failed (or panicked): the completed steps are undone
    /// next. The event's operation is the workflow's name.
    StepFailed [ERROR] {
        /// The step that failed.
        step: &'a str => String,
        /// What it failed with.
        error: ErrorRef<'a> => String,
    } => write!(f, "`{op}` step `{step}` failed ({error}); undoing the completed steps");

    /// A saga failed and the compensation of a step that had completed
    /// undid it (see [`saga`](mod@crate::saga)).
    Compensated [WARN] {
        /// The step undone. In a `saga()` it is also the event's operation;
        /// in a workflow the operation is `Workflow::step`.
        step: &'a str => String,
    } => write!(f, "`{step}` undone by its compensation");

    /// A saga failed and the compensation of a step that had completed
    /// failed too, or could not run: the step is still done.
    CompensationFailed [ERROR] {
        /// The step that could not be undone (see
        /// [`Compensated`](EventKind::Compensated) for the operation).
        step: &'a str => String,
        /// Why the compensation failed.
        error: ErrorRef<'a> => String,
    } => write!(f, "`{step}` could not be undone: {error}");

    /// A durable workflow's checkpoint was saved and flushed to disk (see
    /// [`checkpoint`](crate::checkpoint)); the event's operation is the
    /// workflow's name.
    Checkpointed [DEBUG] {
        /// The id of the workflow run.
        id: &'a str => String,
        /// The number of steps completed.
        position: u32 => u32,
    } => write!(
        f,
        "`{op}` id `{id}` checkpointed after {position} step{}",
        plural(*position.0)
    );

    /// A worker finished a durable run that it took from the store (see
    /// [`durable::Worker`](crate::durable::Worker)); the event's operation
    /// is the workflow's name.
    RunFinished [INFO] {
        /// The id of the workflow run.
        id: &'a str => String,
        /// The worker's name.
        worker: &'a str => String,
    } => write!(f, "`{op}` id `{id}` finished by worker `{worker}`");

    /// A worker's durable run stopped on a checkpoint error: its lease was
    /// lost (another worker took the run over), or its store failed. What
    /// was saved stays; the run continues wherever it is claimed next.
    RunStopped [WARN] {
        /// The id of the workflow run.
        id: &'a str => String,
        /// The worker's name.
        worker: &'a str => String,
        /// Why it stopped.
        error: ErrorRef<'a> => String,
    } => write!(f, "`{op}` id `{id}` stopped on worker `{worker}`: {error}");

    /// A durable run was claimed more often than a worker allows (it keeps
    /// crashing its workers): it is set aside, not run again.
    SetAside [ERROR] {
        /// The id of the workflow run.
        id: &'a str => String,
        /// How many times it had been claimed.
        attempts: u32 => u32,
    } => write!(
        f,
        "`{op}` id `{id}` set aside after {attempts} attempt{}: it keeps crashing its workers",
        plural(*attempts.0)
    );

    /// A fan-out task failed on an agent (an error or a panic); a fallback
    /// may follow (see [`coordination::FanOut`](crate::coordination::FanOut)).
    /// The event's operation is the fan-out's name.
    TaskFailed [WARN] {
        /// The task's index in the task list, from 0.
        task: usize => usize,
        /// The agent it failed on.
        agent: &'a str => String,
        /// What it failed with.
        error: ErrorRef<'a> => String,
    } => write!(f, "`{op}` task {task} failed on `{agent}` ({error})");

    /// A failed fan-out task goes to a fallback agent.
    FellBack [WARN] {
        /// The task's index in the task list, from 0.
        task: usize => usize,
        /// The fallback agent that gets it.
        agent: &'a str => String,
    } => write!(f, "`{op}` task {task} goes to fallback `{agent}`");

    /// A fan-out stops starting tasks: so many failed that its minimum
    /// success rate is out of reach (opt-in).
    FanOutAbandoned [WARN] {
        /// The tasks that had failed.
        failed: usize => usize,
        /// The tasks never started.
        skipped: usize => usize,
    } => write!(
        f,
        "`{op}` cannot reach its minimum success rate after {failed} failed task{}; {skipped} task{} not started",
        plural_of(*failed.0),
        plural_of(*skipped.0)
    );

    /// A fan-out ended below its minimum success rate: it returns an error
    /// that carries the report.
    BelowMinimum [ERROR] {
        /// The tasks that succeeded.
        succeeded: usize => usize,
        /// All the tasks.
        tasks: usize => usize,
    } => write!(
        f,
        "`{op}` only {succeeded} of {tasks} tasks succeeded, below the minimum success rate"
    );

    /// An agent answered a consensus round: one vote (see
    /// [`coordination::Consensus`](crate::coordination::Consensus)). The
    /// event's operation is the consensus's name.
    Voted [DEBUG] {
        /// The agent.
        agent: &'a str => String,
    } => write!(f, "`{op}` `{agent}` voted");

    /// An agent of a consensus round failed, panicked or ran out of time:
    /// it has no vote.
    NoVote [WARN] {
        /// The agent.
        agent: &'a str => String,
        /// Why it has no vote.
        error: ErrorRef<'a> => String,
    } => write!(f, "`{op}` `{agent}` has no vote ({error})");

    /// Too few agents of a consensus round answered: it returns an error.
    TooFewResponses [ERROR] {
        /// The agents that answered.
        answers: usize => usize,
        /// All the agents.
        agents: usize => usize,
    } => write!(f, "`{op}` only {answers} of {agents} agents answered");

    /// A consensus round reached a majority.
    Agreed [INFO] {
        /// The answers in the winning group.
        votes: usize => usize,
        /// All the answers.
        answers: usize => usize,
    } => write!(f, "`{op}` agreed: {votes} of {answers} answers");

    /// A consensus round found no majority (a tie, or a largest group below
    /// the majority share): the arbiter decides, if there is one.
    NoConsensus [WARN] {
        /// The answers in the largest group.
        largest: usize => usize,
        /// All the answers.
        answers: usize => usize,
    } => write!(
        f,
        "`{op}` has no consensus: the largest group has {largest} of {answers} answers"
    );

    /// The arbiter decided a consensus round that had no majority.
    Arbitrated [INFO] {
        /// All the answers the arbiter was given.
        answers: usize => usize,
    } => write!(f, "`{op}` decided by the arbiter over {answers} answers");
    /// A coordinator was unhealthy or failed, and the current coordinator
    /// is now the next one (see [`Failover`](crate::Failover)); the failed
    /// one went to the back of the order. The event's operation is the
    /// failover's name.
    FailedOver [WARN] {
        /// The coordinator that was unhealthy or failed.
        from: &'a str => String,
        /// The coordinator that is current now.
        to: &'a str => String,
        /// Why: the probe's verdict, the call's error or its panic.
        reason: ErrorRef<'a> => String,
    } => write!(f, "`{op}` failed over from `{from}` to `{to}` ({reason})");

    /// The primary coordinator is healthy again and current once more
    /// (opt-in, see [`FailoverConfig::with_fail_back`](crate::FailoverConfig::with_fail_back)).
    FailedBack [INFO] {
        /// The coordinator that was current.
        from: &'a str => String,
        /// The primary, current again.
        to: &'a str => String,
    } => write!(f, "`{op}` failed back from `{from}` to `{to}`, which is healthy again");

    /// A tier of a progressive retry failed and the next, bigger one runs
    /// (see [`Escalation`](crate::Escalation)). Tiers count from 1.
    Escalated [WARN] {
        /// The tier that failed.
        from: u32 => u32,
        /// The tier that runs next.
        to: u32 => u32,
        /// Why the tier failed: its error, its time limit or its panic.
        reason: ErrorRef<'a> => String,
    } => write!(f, "`{op}` tier {from} failed ({reason}); escalating to tier {to}");

    /// A circuit breaker opened: calls through it fail fast with
    /// [`CircuitOpen`](crate::breaker::CircuitOpen) until the break is
    /// over (see [`CircuitBreaker`](crate::breaker::CircuitBreaker)). The
    /// event's operation is the call that tripped it.
    CircuitOpened [ERROR] {
        /// The breaker's name (empty if it has none).
        breaker: &'a str => String,
        /// Why it opened.
        reason: TripReason => TripReason,
        /// How long calls fail fast before a trial call.
        break_for: Duration => Duration,
        /// The error of the call that tripped it.
        error: ErrorRef<'a> => String,
    } => write!(
        f,
        "`{op}` {} opened after {reason} (last error: {error}); calls fail fast for {break_for}",
        Circuit(breaker.0)
    );

    /// A circuit breaker's break is over: it is half-open and lets trial
    /// calls through. The event's operation is the first trial call.
    CircuitHalfOpen [WARN] {
        /// The breaker's name (empty if it has none).
        breaker: &'a str => String,
        /// The trial calls it lets through.
        trials: u32 => u32,
    } => write!(
        f,
        "`{op}` {} half-open: the break is over, {trials} trial call{} may go through",
        Circuit(breaker.0),
        plural(*trials.0)
    );

    /// A circuit breaker's trial calls succeeded: it is closed again. The
    /// event's operation is the last trial call.
    CircuitClosed [INFO] {
        /// The breaker's name (empty if it has none).
        breaker: &'a str => String,
        /// The trial calls that succeeded.
        trials: u32 => u32,
    } => write!(
        f,
        "`{op}` {} closed: {trials} trial call{} succeeded",
        Circuit(breaker.0),
        plural(*trials.0)
    );

    /// A circuit breaker was isolated by hand
    /// ([`CircuitBreaker::isolate`](crate::breaker::CircuitBreaker::isolate)):
    /// every call fails fast until it is reset. The event's operation is
    /// the breaker's name (`circuit_breaker` if it has none).
    CircuitIsolated [WARN] {
        /// The breaker's name (empty if it has none).
        breaker: &'a str => String,
    } => write!(
        f,
        "`{op}` {} isolated by hand: every call fails fast until it is reset",
        Circuit(breaker.0)
    );

    /// A circuit breaker was reset by hand
    /// ([`CircuitBreaker::reset`](crate::breaker::CircuitBreaker::reset)):
    /// closed, its counts cleared. The event's operation is as for
    /// [`CircuitIsolated`](EventKind::CircuitIsolated).
    CircuitReset [INFO] {
        /// The breaker's name (empty if it has none).
        breaker: &'a str => String,
    } => write!(f, "`{op}` {} reset by hand: closed", Circuit(breaker.0));

    /// A bulkhead turned a call away: the call did not run, and its error
    /// type received [`Rejected`](crate::Rejected) (see
    /// [`Bulkhead`](crate::Bulkhead)). The event's operation is the call's.
    BulkheadRejected [WARN] {
        /// The bulkhead's name.
        bulkhead: &'a str => String,
        /// Why: full, queue full, or waited too long.
        reason: RejectReason => RejectReason,
    } => write!(f, "`{op}` rejected by bulkhead `{bulkhead}`: {reason}");

    /// A hedged call started another attempt, since no attempt had
    /// answered within the delay or one had failed (see
    /// [`HedgePolicy`](crate::HedgePolicy)). Attempts count from 1.
    Hedged [INFO] {
        /// The attempt that starts (2 for the first hedge).
        attempt: u32 => u32,
        /// The attempts still running beside it.
        running: u32 => u32,
    } => write!(f, "`{op}` starts hedged attempt {attempt} ({running} still running)");

    /// A self-healing agent's calls failed `failures` times in a row (each
    /// after its retries, if `#[retry]` is below `#[self_healing]`): it needs
    /// help, which its supervisor can give through its
    /// [`Health`](crate::Health). Asked once per streak of failures; the
    /// event's agent says which agent (see [`Event::agent`](super::Event::agent)).
    NeedsHelp [ERROR] {
        /// The failed calls in a row.
        failures: u32 => u32,
        /// The last call's error.
        error: ErrorRef<'a> => String,
    } => write!(
        f,
        "`{op}` needs help: {failures} call{} in a row failed, the last with: {error}",
        plural(*failures.0)
    );

    /// A self-healing call was not made: its supervisor gave up on the agent
    /// ([`Health::give_up`](crate::Health::give_up)); the caller gets
    /// [`Abandoned`](crate::Abandoned).
    Abandoned [WARN] {} => write!(f, "`{op}` not run: the supervisor gave up on this agent");
}
