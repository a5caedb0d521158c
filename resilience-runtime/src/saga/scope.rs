//! The `saga()` scope and what `#[compensate]` calls inside it.

use core::future::Future;

use super::registry::{SAGA, SagaHandle};
use super::report::{CompensationReport, Failure, SagaError};
use super::runner::{Compensation, UndoFuture, Unwinder};
use crate::events::current_agent;
use crate::support::panic::CatchPanic;

/// Runs `body` as a saga: if it fails, what its completed steps did is
/// undone, in reverse order.
///
/// `body` runs on the current task with a saga log in a task-local. Each
/// `#[compensate]` step that succeeds in it (or a hand-written
/// [`register_compensation`]) adds its compensation to the log. See the
/// [module docs](mod@crate::saga) for the details: nesting, cancellation, spawned
/// tasks and events.
///
/// # Errors
///
/// A [`SagaError`] if `body` returns `Err` or panics, after every
/// compensation has run. It holds the [`Failure`], the failed step if one
/// was named with [`step_failed`], the completed steps and a
/// [`CompensationReport`] for each compensation.
///
/// # Panics
///
/// Never: a panic in `body` or in a compensation is caught and reported.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{register_compensation, saga};
/// use resilience_runtime::Failure;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let ok: Result<u32, _> = saga(async { Ok::<_, String>(7) }).await;
/// assert_eq!(ok.unwrap(), 7);
///
/// let failed = saga(async {
///     register_compensation("reserve", || async { Ok(()) });
///     register_compensation("charge", || async { Err("refund refused".to_owned()) });
///     Err::<(), _>("out of stock")
/// })
/// .await
/// .unwrap_err();
/// assert_eq!(failed.failure(), &Failure::Error("out of stock"));
/// assert_eq!(failed.completed(), ["reserve", "charge"]);
/// assert_eq!(
///     failed.to_string(),
///     "saga failed: out of stock; undone: `charge` (failed: refund refused), `reserve` (ok)"
/// );
/// # }
/// ```
pub async fn saga<T, E, F>(body: F) -> Result<T, SagaError<E>>
where
    F: Future<Output = Result<T, E>>,
{
    let handle = SagaHandle::new(current());
    let mut unwinder = Unwinder {
        handle: handle.clone(),
        in_flight: None,
    };
    let failure = match SAGA.scope(handle, CatchPanic::new(body)).await {
        Ok(Ok(value)) => {
            unwinder.handle.commit();
            return Ok(value);
        }
        Ok(Err(error)) => Failure::Error(error),
        Err(message) => Failure::Panic(message),
    };
    let (failed_step, completed) = unwinder.handle.abort(matches!(failure, Failure::Panic(_)));
    let mut compensations = Vec::with_capacity(completed.len());
    while let Some(compensation) = unwinder.handle.pop() {
        let (step, undo) = unwinder.in_flight.insert(compensation.start());
        let step = *step;
        let outcome = undo.await;
        unwinder.in_flight = None;
        compensations.push(CompensationReport { step, outcome });
    }
    Err(SagaError::new(
        failure,
        failed_step,
        completed,
        compensations,
    ))
}

/// The saga that the current task is in, to run a spawned future in it with
/// [`SagaHandle::scope`]; `None` outside a saga.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{self, saga};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert!(saga::current().is_none());
/// saga(async {
///     assert!(saga::current().is_some());
///     Ok::<_, ()>(())
/// })
/// .await
/// .unwrap();
/// # }
/// ```
pub fn current() -> Option<SagaHandle> {
    SAGA.try_with(SagaHandle::clone).ok()
}

/// Whether the current task is inside a saga: one task-local read.
///
/// The code that `#[compensate]` generates calls it after a success and
/// clones the output for the compensation only when it returns `true`, so
/// that a `#[compensate]` fn costs nothing outside a saga.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{in_saga, saga};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert!(!in_saga());
/// assert!(saga(async { Ok::<_, ()>(in_saga()) }).await.unwrap());
/// # }
/// ```
#[inline]
pub fn in_saga() -> bool {
    SAGA.try_with(|_| ()).is_ok()
}

/// Registers `undo` as the compensation of `step`, which just completed:
/// if the saga fails, `undo()` runs, after the compensations of the steps
/// that completed later. Outside a saga it does nothing, and
/// `#[compensate]` with it.
///
/// `undo` reports failure as a `String`, shown in the [`SagaError`] and the
/// events. It is `Send + 'static` because a cancelled saga runs it on a
/// task of its own.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{register_compensation, saga};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// register_compensation("ignored", || async { unreachable!("not in a saga") });
///
/// let error = saga(async {
///     let booking = 42;
///     register_compensation("book", move || async move {
///         println!("cancelling booking {booking}");
///         Ok(())
///     });
///     Err::<(), _>("payment declined")
/// })
/// .await
/// .unwrap_err();
/// assert!(error.is_fully_compensated());
/// # }
/// ```
pub fn register_compensation<F, Fut>(step: &'static str, undo: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let _outside = SAGA.try_with(|saga| {
        let undo = Box::new(move || -> UndoFuture { Box::pin(undo()) });
        saga.push(vec![Compensation {
            step,
            agent: current_agent(),
            undo,
        }]);
    });
}

/// Records that `step` failed, so that the [`SagaError`] names it; the last
/// call before the body returns wins. Outside a saga it does nothing.
///
/// A nested saga that fails passes its failed step on to the enclosing one.
/// A panic is not a reported failure: when the body panics,
/// [`SagaError::failed_step`] is `None`.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::{saga, step_failed};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let error = saga(async {
///     step_failed("configure");
///     Err::<(), _>("disk full")
/// })
/// .await
/// .unwrap_err();
/// assert_eq!(error.failed_step(), Some("configure"));
/// # }
/// ```
pub fn step_failed(step: &'static str) {
    let _outside = SAGA.try_with(|saga| saga.fail(step));
}

/// Clones a step's output for its compensation; see [`clone_output`].
///
/// Implemented for every [`Clone`] type. It exists to say, when an output
/// is not `Clone`, what to do about it.
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::CloneOutput;
///
/// let rid = String::from("rid-7");
/// assert_eq!(rid.clone_output(), "rid-7");
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[compensate]` hands a clone of the output to its compensation, but `{Self}` is not `Clone`",
    note = "make the output `Clone`, or return a handle (an id) that is"
)]
pub trait CloneOutput: Sized {
    /// A clone of `self` for the compensation.
    fn clone_output(&self) -> Self;
}

impl<T: Clone> CloneOutput for T {
    fn clone_output(&self) -> Self {
        self.clone()
    }
}

/// Clones the output of a successful `#[compensate]` step, to hand to its
/// compensation while the caller keeps the original. The generated code
/// calls it only inside a saga ([`in_saga`]).
///
/// # Examples
///
/// ```
/// use resilience_runtime::saga::clone_output;
///
/// let rid = vec![1, 2];
/// let for_the_compensation: Vec<i32> = clone_output(&rid);
/// assert_eq!(for_the_compensation, rid);
/// ```
pub fn clone_output<T: CloneOutput>(value: &T) -> T {
    value.clone_output()
}
