//! What a failed saga reports: the failure, the completed steps, and what
//! each compensation did.

use core::fmt;

/// What made a saga fail: the body's error, or a panic.
///
/// # Examples
///
/// ```
/// use resilience_runtime::Failure;
///
/// let failure: Failure<&str> = Failure::Panic("index out of bounds".to_owned());
/// assert_eq!(failure.to_string(), "panicked: index out of bounds");
/// assert_eq!(Failure::Error("disk full").to_string(), "disk full");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure<E> {
    /// The body returned this error.
    Error(E),
    /// The body panicked; holds the panic message.
    Panic(String),
    /// A durable workflow failed in an earlier run, which died while
    /// compensating; this run finished the compensation. Holds the failure
    /// as the checkpoint recorded it (its `Display` text).
    Recorded(String),
}

impl<E> Failure<E> {
    /// The error, unless the body panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Failure;
    ///
    /// assert_eq!(Failure::Error(503).error(), Some(&503));
    /// assert_eq!(Failure::<u16>::Panic("boom".into()).error(), None);
    /// ```
    pub const fn error(&self) -> Option<&E> {
        match self {
            Self::Error(error) => Some(error),
            Self::Panic(_) | Self::Recorded(_) => None,
        }
    }

    /// The panic message, if the body panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::Failure;
    ///
    /// assert_eq!(Failure::<u16>::Panic("boom".into()).panic_message(), Some("boom"));
    /// assert_eq!(Failure::Error(503).panic_message(), None);
    /// ```
    pub const fn panic_message(&self) -> Option<&str> {
        match self {
            Self::Error(_) | Self::Recorded(_) => None,
            Self::Panic(message) => Some(message.as_str()),
        }
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(error) => error.fmt(f),
            Self::Panic(message) => write!(f, "panicked: {message}"),
            Self::Recorded(message) => f.write_str(message),
        }
    }
}

/// What one compensation did, in a [`SagaError`].
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{register_compensation, saga};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let error = saga(async {
///     register_compensation("reserve", || async { Err("503".to_owned()) });
///     Err::<(), _>("payment declined")
/// })
/// .await
/// .unwrap_err();
/// let report = &error.compensations()[0];
/// assert_eq!((report.step, report.outcome.clone()), ("reserve", Err("503".to_owned())));
/// assert_eq!(report.to_string(), "`reserve` (failed: 503)");
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompensationReport {
    /// The step whose compensation ran.
    pub step: &'static str,
    /// `Ok` if the step was undone, else why not.
    pub outcome: Result<(), String>,
}

impl CompensationReport {
    /// Whether the step was undone.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::saga::{register_compensation, saga};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async {
    ///     register_compensation("reserve", || async { Ok(()) });
    ///     Err::<(), _>("payment declined")
    /// })
    /// .await
    /// .unwrap_err();
    /// assert!(error.compensations()[0].is_undone());
    /// # }
    /// ```
    pub const fn is_undone(&self) -> bool {
        self.outcome.is_ok()
    }
}

impl fmt::Display for CompensationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Ok(()) => write!(f, "`{}` (ok)", self.step),
            Err(error) => write!(f, "`{}` (failed: {error})", self.step),
        }
    }
}

/// A saga that failed: what failed, and what was undone.
///
/// Its `Display` reads like
/// ``step `configure` failed: disk full; undone: `create` (ok), `reserve` (failed: 503)``.
/// Its [`source`](std::error::Error::source) is the body's error.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{register_compensation, saga, step_failed};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let error = saga(async {
///     register_compensation("reserve", || async { Err("503".to_owned()) });
///     register_compensation("create", || async { Ok(()) });
///     step_failed("configure");
///     Err::<(), _>(std::io::Error::other("disk full"))
/// })
/// .await
/// .unwrap_err();
///
/// assert_eq!(
///     error.to_string(),
///     "step `configure` failed: disk full; undone: `create` (ok), `reserve` (failed: 503)"
/// );
/// assert_eq!(error.failed_step(), Some("configure"));
/// assert_eq!(error.completed(), ["reserve", "create"]);
/// assert!(!error.is_fully_compensated());
/// assert_eq!(std::error::Error::source(&error).unwrap().to_string(), "disk full");
/// # }
/// ```
///
/// The report is boxed: a `Result<T, SagaError<E>>` is no larger than a
/// `Result<T, Box<_>>`, so the success path of a saga or a workflow moves
/// no more than `T` and a word.
#[derive(Clone)]
pub struct SagaError<E>(Box<Report<E>>);

#[derive(Clone)]
struct Report<E> {
    failure: Failure<E>,
    failed_step: Option<&'static str>,
    completed: Vec<&'static str>,
    compensations: Vec<CompensationReport>,
}

impl<E: fmt::Debug> fmt::Debug for SagaError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SagaError")
            .field("failure", &self.0.failure)
            .field("failed_step", &self.0.failed_step)
            .field("completed", &self.0.completed)
            .field("compensations", &self.0.compensations)
            .finish()
    }
}

impl<E> SagaError<E> {
    pub(crate) fn new(
        failure: Failure<E>,
        failed_step: Option<&'static str>,
        completed: Vec<&'static str>,
        compensations: Vec<CompensationReport>,
    ) -> Self {
        Self(Box::new(Report {
            failure,
            failed_step,
            completed,
            compensations,
        }))
    }

    /// What made the saga fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{saga, Failure};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async { Err::<(), _>("timeout") }).await.unwrap_err();
    /// assert_eq!(error.failure(), &Failure::Error("timeout"));
    /// # }
    /// ```
    pub fn failure(&self) -> &Failure<E> {
        &self.0.failure
    }

    /// The body's error, unless it panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::saga;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async { Err::<(), _>(404) }).await.unwrap_err();
    /// assert_eq!(error.error(), Some(&404));
    /// # }
    /// ```
    pub fn error(&self) -> Option<&E> {
        self.0.failure.error()
    }

    /// The step that failed, if the body named it with [`step_failed`](super::step_failed) (the
    /// `#[compensate]` code does); `None` after a panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::saga::{saga, step_failed};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async { step_failed("pay"); Err::<(), _>(()) }).await.unwrap_err();
    /// assert_eq!(error.failed_step(), Some("pay"));
    /// # }
    /// ```
    pub fn failed_step(&self) -> Option<&'static str> {
        self.0.failed_step
    }

    /// The steps that had completed and registered a compensation, in the
    /// order they completed (steps handed over by nested sagas included).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::saga::{register_compensation, saga};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async {
    ///     register_compensation("a", || async { Ok(()) });
    ///     register_compensation("b", || async { Ok(()) });
    ///     Err::<(), _>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert_eq!(error.completed(), ["a", "b"]);
    /// # }
    /// ```
    pub fn completed(&self) -> &[&'static str] {
        self.0.completed.as_slice()
    }

    /// One report per compensation, in the order they ran (the reverse of
    /// [`completed`](Self::completed)).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::saga::{register_compensation, saga};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async {
    ///     register_compensation("a", || async { Ok(()) });
    ///     register_compensation("b", || async { Ok(()) });
    ///     Err::<(), _>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// let order: Vec<_> = error.compensations().iter().map(|r| r.step).collect();
    /// assert_eq!(order, ["b", "a"]);
    /// # }
    /// ```
    pub fn compensations(&self) -> &[CompensationReport] {
        self.0.compensations.as_slice()
    }

    /// Whether every compensation succeeded (also when there was none).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::saga;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async { Err::<(), _>(()) }).await.unwrap_err();
    /// assert!(error.is_fully_compensated());
    /// # }
    /// ```
    pub fn is_fully_compensated(&self) -> bool {
        self.0
            .compensations
            .iter()
            .all(CompensationReport::is_undone)
    }

    /// The [`Failure`], dropping the rest.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{saga, Failure};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let error = saga(async { Err::<(), _>("quota exceeded") }).await.unwrap_err();
    /// assert_eq!(error.into_failure(), Failure::Error("quota exceeded"));
    /// # }
    /// ```
    pub fn into_failure(self) -> Failure<E> {
        self.0.failure
    }
}

impl<E: fmt::Display> fmt::Display for SagaError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.failed_step, &self.0.failure) {
            (Some(step), Failure::Error(error)) => write!(f, "step `{step}` failed: {error}"),
            (Some(step), Failure::Panic(message)) => write!(f, "step `{step}` panicked: {message}"),
            (None, Failure::Error(error)) => write!(f, "saga failed: {error}"),
            (None, Failure::Panic(message)) => write!(f, "saga panicked: {message}"),
            (Some(step), Failure::Recorded(message)) => {
                write!(f, "step `{step}` failed in an earlier run: {message}")
            }
            (None, Failure::Recorded(message)) => {
                write!(f, "saga failed in an earlier run: {message}")
            }
        }?;
        if self.0.compensations.is_empty() {
            return f.write_str("; nothing to undo");
        }
        f.write_str("; undone: ")?;
        for (i, report) in self.0.compensations.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            report.fmt(f)?;
        }
        Ok(())
    }
}

impl<E: std::error::Error + 'static> std::error::Error for SagaError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.failure {
            Failure::Error(error) => Some(error),
            Failure::Panic(_) | Failure::Recorded(_) => None,
        }
    }
}
