//! What `#[chaos(state = PATH)]` calls (the `chaos` feature).

use core::future::Future;
use std::sync::Arc;

use crate::chaos::{Chaos, ChaosError};

/// A value `#[chaos(state = ..)]` can name: a [`Chaos`], or a reference or
/// an `Arc` to one.
#[diagnostic::on_unimplemented(
    message = "`#[chaos]` needs `state` to be a `resilience::Chaos`, found `{Self}`",
    label = "not a `resilience::Chaos`",
    note = "declare `static CHAOS: resilience::Chaos = resilience::Chaos::new(resilience::ChaosConfig::new());` and write `#[chaos(state = CHAOS)]`"
)]
pub trait ChaosState {
    /// The chaos.
    fn chaos_state(&self) -> &Chaos;
}

impl ChaosState for Chaos {
    fn chaos_state(&self) -> &Chaos {
        self
    }
}

impl<T: ChaosState + ?Sized> ChaosState for &T {
    fn chaos_state(&self) -> &Chaos {
        (**self).chaos_state()
    }
}

impl<T: ChaosState + ?Sized> ChaosState for Arc<T> {
    fn chaos_state(&self) -> &Chaos {
        (**self).chaos_state()
    }
}

/// The error type of a `#[chaos]` fn: it receives [`ChaosError`] through
/// `From`.
#[diagnostic::on_unimplemented(
    message = "`#[chaos]` needs `{Self}` to implement `From<resilience::ChaosError>`",
    label = "the error type of this `#[chaos]` fn",
    note = "add a variant such as `#[error(transparent)] Chaos(#[from] resilience::ChaosError)`"
)]
pub trait FromChaos {
    /// Converts the chaos error.
    fn from_chaos(error: ChaosError) -> Self;
}

impl<E: From<ChaosError>> FromChaos for E {
    fn from_chaos(error: ChaosError) -> Self {
        E::from(error)
    }
}

/// Converts `error` into the fn's error type.
pub fn chaos_error<E: FromChaos>(error: ChaosError) -> E {
    E::from_chaos(error)
}

/// Runs `future` through `state`: `Err` for an injected fault (the future
/// is dropped unpolled), else `Ok` with the future's own result.
pub async fn chaos<S, T, E, Fut>(
    state: &S,
    operation: &str,
    future: Fut,
) -> Result<Result<T, E>, ChaosError>
where
    S: ChaosState + ?Sized,
    Fut: Future<Output = Result<T, E>>,
{
    state.chaos_state().run(operation, move || future).await
}
