//! Panic capture: a future that turns a panic while it is polled into an
//! `Err` with the panic's message. Sagas, workflows and the event bus all
//! use this one.

use core::any::Any;
use core::future::Future;
use core::panic::AssertUnwindSafe;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

pin_project! {
    /// Catches a panic while polling `inner`, as its message: what sagas,
    /// compensations and a workflow's steps run in (one layer, no extra
    /// state machine).
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct CatchPanic<F> {
        #[pin]
        inner: F,
    }
}

impl<F> CatchPanic<F> {
    /// Catches a panic while polling `inner`.
    pub(crate) const fn new(inner: F) -> Self {
        Self { inner }
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        // A future that panicked is never polled again, so no broken
        // invariant can be observed.
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(panic_message(&*payload))),
        }
    }
}

/// Calls `f`, turning a panic into `Err` with its message.
pub(crate) fn catch_call<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_message(&*payload))
}

/// The message of a panic payload (`panic!` with a literal or a format).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic whose payload is not a string".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_its_message() {
        let caught = CatchPanic::new(async { panic!("index {} out of bounds", 3) }).await;
        assert_eq!(caught, Err::<(), _>("index 3 out of bounds".to_owned()));
        let caught = CatchPanic::new(async { std::panic::panic_any(7_u8) }).await;
        assert_eq!(
            caught,
            Err::<(), _>("a panic whose payload is not a string".to_owned())
        );
        assert_eq!(CatchPanic::new(async { 5 }).await, Ok(5));
        assert_eq!(catch_call(|| 1), Ok(1));
        assert_eq!(
            catch_call(|| -> u8 { panic!("plain") }),
            Err("plain".to_owned())
        );
    }
}
