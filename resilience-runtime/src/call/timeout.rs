//! [`TimeoutPolicy`] and [`Elapsed`]: what `#[timeout]` runs.
//!
//! The generated code wraps the fn body in [`tokio::time::timeout`], so the
//! decorated future is tokio's own, and on expiry returns
//! `Err(timeout_error(policy.expire()))`: the fn's error type converts from
//! [`Elapsed`] (see [`FromElapsed`]).
//!
//! # Examples
//!
//! The code that `#[timeout(ms = 50)]` writes, by hand:
//!
//! ```
//! use std::time::Duration;
//! use resilience_runtime::{Elapsed, TimeoutPolicy, timeout::timeout_error};
//!
//! #[derive(Debug, thiserror::Error)]
//! enum AgentError {
//!     #[error(transparent)]
//!     Timeout(#[from] Elapsed),
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! const POLICY: TimeoutPolicy = TimeoutPolicy::new("think", Duration::from_millis(50));
//! let slow = async {
//!     tokio::time::sleep(Duration::from_secs(1)).await;
//!     Ok::<_, AgentError>(42)
//! };
//! let result = match tokio::time::timeout(POLICY.limit(), slow).await {
//!     Ok(r) => r,
//!     Err(_) => Err(timeout_error(POLICY.expire())),
//! };
//! assert_eq!(result.unwrap_err().to_string(), "`think` timed out after 50ms");
//! # }
//! ```

use core::fmt;
use core::time::Duration;

use crate::events::{Event, EventKind, emit};
use crate::support::duration::fmt_duration;

/// A time limit on one operation.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::TimeoutPolicy;
///
/// const ASK: TimeoutPolicy = TimeoutPolicy::new("ask", Duration::from_secs(30));
/// assert_eq!(ASK.limit(), Duration::from_secs(30));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeoutPolicy {
    operation: &'static str,
    limit: Duration,
}

impl TimeoutPolicy {
    /// A limit of `limit` on `operation`, the name shown in events and errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::TimeoutPolicy;
    ///
    /// let policy = TimeoutPolicy::new("ask", Duration::from_millis(500));
    /// assert_eq!(policy.operation(), "ask");
    /// ```
    pub const fn new(operation: &'static str, limit: Duration) -> Self {
        Self { operation, limit }
    }

    /// The operation's name.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::TimeoutPolicy;
    ///
    /// assert_eq!(TimeoutPolicy::new("ask", Duration::from_secs(1)).operation(), "ask");
    /// ```
    pub const fn operation(&self) -> &'static str {
        self.operation
    }

    /// The time limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::TimeoutPolicy;
    ///
    /// assert_eq!(TimeoutPolicy::new("ask", Duration::from_secs(1)).limit(), Duration::from_secs(1));
    /// ```
    pub const fn limit(&self) -> Duration {
        self.limit
    }

    /// Reports that the limit was reached: emits [`EventKind::Timeout`] and
    /// returns the error. (A verb, since it does something: it was called
    /// `elapsed`, which read like a getter.)
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::TimeoutPolicy;
    ///
    /// let elapsed = TimeoutPolicy::new("ask", Duration::from_secs(30)).expire();
    /// assert_eq!(elapsed.to_string(), "`ask` timed out after 30s");
    /// ```
    pub fn expire(&self) -> Elapsed {
        emit(&Event::new(
            self.operation,
            EventKind::Timeout { limit: self.limit },
        ));
        Elapsed::new(self.operation, self.limit)
    }
}

/// The error of an operation that ran out of time: it names the operation
/// and the limit.
///
/// Error types of `#[timeout]` fns convert from it, usually with
/// `#[error(transparent)] Timeout(#[from] Elapsed)`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::Elapsed;
///
/// let err = Elapsed::new("ask", Duration::from_millis(1500));
/// assert_eq!(err.to_string(), "`ask` timed out after 1.5s");
/// assert_eq!((err.operation(), err.limit()), ("ask", Duration::from_millis(1500)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Elapsed {
    operation: &'static str,
    limit: Duration,
}

impl Elapsed {
    /// The error for `operation` after `limit`. It emits no event; see
    /// [`TimeoutPolicy::expire`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Elapsed;
    ///
    /// let err = Elapsed::new("ask", Duration::from_secs(2));
    /// assert_eq!(err.limit(), Duration::from_secs(2));
    /// ```
    pub const fn new(operation: &'static str, limit: Duration) -> Self {
        Self { operation, limit }
    }

    /// The operation that ran out of time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Elapsed;
    ///
    /// assert_eq!(Elapsed::new("ask", Duration::from_secs(2)).operation(), "ask");
    /// ```
    pub const fn operation(&self) -> &'static str {
        self.operation
    }

    /// The limit that was reached.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::Elapsed;
    ///
    /// assert_eq!(Elapsed::new("ask", Duration::from_secs(2)).limit(), Duration::from_secs(2));
    /// ```
    pub const fn limit(&self) -> Duration {
        self.limit
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` timed out after {}",
            self.operation,
            fmt_duration(self.limit)
        )
    }
}

impl std::error::Error for Elapsed {}

/// Error types that a `#[timeout]` fn can return: every `E: From<Elapsed>`.
///
/// It exists to explain, when the conversion is missing, how to add it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{Elapsed, timeout::FromElapsed};
///
/// #[derive(Debug)]
/// struct MyError(Elapsed);
/// impl From<Elapsed> for MyError {
///     fn from(e: Elapsed) -> Self { MyError(e) }
/// }
///
/// let err = MyError::from_elapsed(Elapsed::new("ask", Duration::from_secs(1)));
/// assert_eq!(err.0.operation(), "ask");
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[timeout]` needs `{Self}` to implement `From<resilience::Elapsed>`",
    label = "the error type of this `#[timeout]` fn",
    note = "add a variant such as `#[error(transparent)] Timeout(#[from] resilience::Elapsed)`"
)]
pub trait FromElapsed {
    /// Converts the timeout error.
    fn from_elapsed(elapsed: Elapsed) -> Self;
}

impl<E: From<Elapsed>> FromElapsed for E {
    fn from_elapsed(elapsed: Elapsed) -> Self {
        E::from(elapsed)
    }
}

/// Converts `elapsed` into the fn's error type; called by the generated code.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::{Elapsed, timeout::timeout_error};
///
/// let err: Box<dyn std::error::Error> = timeout_error(Elapsed::new("ask", Duration::from_secs(1)));
/// assert_eq!(err.to_string(), "`ask` timed out after 1s");
/// ```
pub fn timeout_error<E: FromElapsed>(elapsed: Elapsed) -> E {
    E::from_elapsed(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{OwnedEventKind, scoped};

    #[test]
    fn elapsed_display() {
        let cases = [
            (Duration::from_secs(30), "`ask` timed out after 30s"),
            (Duration::from_millis(250), "`ask` timed out after 250ms"),
            (Duration::from_secs(120), "`ask` timed out after 2m"),
        ];
        for (limit, want) in cases {
            assert_eq!(Elapsed::new("ask", limit).to_string(), want);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn expiry_emits_an_event_and_converts() {
        #[derive(Debug, PartialEq)]
        enum AgentError {
            Timeout(Elapsed),
        }
        impl From<Elapsed> for AgentError {
            fn from(e: Elapsed) -> Self {
                Self::Timeout(e)
            }
        }

        const POLICY: TimeoutPolicy =
            TimeoutPolicy::new("timeout::expiry", Duration::from_millis(500));
        let (scope, mut sub) = scoped();
        let start = tokio::time::Instant::now();
        let result: Result<(), AgentError> = scope
            .run(async {
                match tokio::time::timeout(POLICY.limit(), core::future::pending()).await {
                    Ok(r) => r,
                    Err(_) => Err(timeout_error(POLICY.expire())),
                }
            })
            .await;
        assert_eq!(start.elapsed(), Duration::from_millis(500));
        assert_eq!(
            result,
            Err(AgentError::Timeout(Elapsed::new(
                "timeout::expiry",
                Duration::from_millis(500)
            )))
        );
        let events: Vec<_> = core::iter::from_fn(|| sub.try_recv())
            .filter(|e| e.operation == "timeout::expiry")
            .collect();
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].kind,
            OwnedEventKind::Timeout {
                limit: Duration::from_millis(500)
            }
        );
    }
}
