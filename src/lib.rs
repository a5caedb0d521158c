//! Declarative, compile-time checked fault tolerance for async Rust, above all
//! for multi-agent (LLM agent) systems.
//!
//! Annotate an `async fn` that returns `Result<T, E>`:
//!
//! ```
//! use resilience::{fallback, retry, timeout};
//!
//! #[derive(Debug, thiserror::Error)]
//! enum AgentError {
//!     #[error(transparent)]
//!     Timeout(#[from] resilience::Elapsed),
//!     #[error("model refused: {0}")]
//!     Refused(String),
//! }
//!
//! #[fallback(default = String::from("I don't know"))]
//! #[retry(attempts = 3, backoff = exponential, delay = "100ms", max_delay = "10s", jitter)]
//! #[timeout(seconds = 30)]
//! async fn ask(prompt: &str) -> Result<String, AgentError> {
//!     if prompt.is_empty() {
//!         return Err(AgentError::Refused("empty prompt".into()));
//!     }
//!     Ok(format!("answer to {prompt}"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! assert_eq!(ask("2 + 2").await.unwrap(), "answer to 2 + 2");
//! assert_eq!(ask("").await.unwrap(), "I don't know");
//! # }
//! ```
//!
//! At compile time the attributes expand into plain Rust: a loop for
//! `#[retry]`, a `tokio::time::timeout` for `#[timeout]`, a `match` for
//! `#[fallback]`. Nothing is interpreted at run time, and misuse (an unknown
//! key, `attempts = 0`, a malformed duration, a fn that is not `async` or
//! does not return `Result`) is a compile error at your own token.
//!
//! # The attributes
//!
//! ## `#[retry(...)]`
//!
//! All keys are optional:
//!
//! | key | value | default |
//! |---|---|---|
//! | `attempts` | integer ≥ 1: total calls, the first included | 3 |
//! | `backoff` | `constant`, `linear`, `exponential` (an ident or a string) | `exponential` |
//! | `delay` | the first delay (a duration) | `"100ms"` |
//! | `factor` | exponential growth factor (a number > 1) | 2.0 |
//! | `max_delay` | cap on any single delay | none |
//! | `jitter` | bare `jitter` (= full), or `full`, `equal`, `decorrelated`, `none` | none |
//! | `max_elapsed` | give up once this long has passed since the first call | none |
//! | `when` | path to `fn(&E) -> bool`: only errors it accepts are retried | all errors |
//! | `retry_after` | path to `fn(&E) -> Option<Duration>`: a delay the error asks for overrides the backoff | none |
//!
//! The delay before retry n (n = 1, 2, …) without jitter is `delay` (constant),
//! `delay × n` (linear) or `delay × factor^(n-1)` (exponential), capped by
//! `max_delay`. When every attempt fails the fn returns the last error
//! unchanged. `max_elapsed` is checked after each failed attempt (it costs
//! one clock read per call); a `retry_after` delay is used as given.
//!
//! Each attempt gets its own clone of every argument taken by value
//! (`self: Arc<Self>` included); references are reused, so `&self` and
//! `&mut self` methods work: the attempts run in a loop inside the fn, not in
//! a closure. An argument that is not `Clone` is a compile error: borrow it.
//!
//! ## `#[timeout(...)]`
//!
//! `#[timeout("30s")]`, `#[timeout(30)]`, `#[timeout(seconds = 30)]` or
//! `#[timeout(ms = 500)]`. When time runs out the fn returns
//! `Err(Elapsed.into())`, so its error type implements `From<Elapsed>`.
//!
//! ## `#[fallback(...)]`
//!
//! `default = EXPR` turns a final `Err` into `Ok(EXPR)`, evaluating `EXPR` only
//! then. `with = PATH` calls `PATH(err).await`, an async fn with the decorated
//! fn's own return type (a fallback agent). `when = PATH` limits either form to
//! the errors it accepts; others are returned unchanged.
//!
//! ## Durations
//!
//! A string with units (`"250ms"`, `"1.5s"`, `"30s"`, `"2m"`, `"1h"`, `"1h30m"`,
//! also `ns` and `us`) or a bare number of seconds (`30`, `1.5`). A malformed
//! or zero duration is a compile error at the literal.
//!
//! ## Stacking
//!
//! The topmost attribute is the outermost layer. `#[retry] #[timeout]` gives
//! each attempt its own time limit; `#[timeout] #[retry]` bounds all attempts
//! together; `#[fallback]` above both catches what is left.
//!
//! # Observing
//!
//! Every retry, give-up, timeout and fallback emits a `tracing` event (target
//! `resilience`) and reaches the callbacks of [`events::observe`] and the
//! channels of [`events::subscribe`], so a supervisor can react when an agent
//! needs help.
#![deny(missing_docs)]

pub use resilience_macros::{compensate, fallback, retry, timeout, workflow};

pub use resilience_runtime::{
    Backoff, Delays, ErrorRef, Event, EventKind, GiveUpReason, Jitter, OwnedEvent, OwnedEventKind,
    PolicyError, RetryPolicy, TimeoutPolicy,
};
pub use resilience_runtime::{CompensationReport, Failure, SagaError, SagaHandle, saga};
pub use resilience_runtime::{Elapsed, fmt_duration};
pub use resilience_runtime::{FallbackPolicy, backoff, duration, events};

#[doc(hidden)]
pub mod __private {
    pub use resilience_runtime::__private::*;
}
