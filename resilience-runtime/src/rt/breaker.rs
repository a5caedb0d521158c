//! What `#[circuit_breaker(state = PATH)]` calls.

use std::sync::Arc;

use crate::breaker::{BreakerGuard, CircuitOpen};
pub use crate::breaker::{BreakerOperation, CircuitBreaker, Static, StaticBreaker};

/// A value `#[circuit_breaker(state = ..)]` can name: a [`CircuitBreaker`],
/// or a reference or an `Arc` to one.
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` needs `state` to be a `resilience::CircuitBreaker`, found `{Self}`",
    label = "not a `resilience::CircuitBreaker`",
    note = "declare `static BREAKER: resilience::CircuitBreaker = resilience::CircuitBreaker::new(resilience::BreakerPolicy::consecutive(5));` \
            (or a field of that type) and write `#[circuit_breaker(state = BREAKER)]`"
)]
pub trait BreakerState {
    /// The breaker.
    fn breaker_state(&self) -> &CircuitBreaker;
}

impl BreakerState for CircuitBreaker {
    fn breaker_state(&self) -> &CircuitBreaker {
        self
    }
}

impl<T: BreakerState + ?Sized> BreakerState for &T {
    fn breaker_state(&self) -> &CircuitBreaker {
        (**self).breaker_state()
    }
}

impl<T: BreakerState + ?Sized> BreakerState for Arc<T> {
    fn breaker_state(&self) -> &CircuitBreaker {
        (**self).breaker_state()
    }
}

/// Asks `state` to let one call of `O::NAME` through
/// ([`CircuitBreaker::admit`]); the guard is held across the call and
/// given its outcome (`succeeded` or `failed`), or dropped if the call is
/// cancelled or panics.
#[inline]
pub fn breaker_admit<'a, O: BreakerOperation, S: BreakerState + ?Sized>(
    state: &'a S,
) -> Result<BreakerGuard<'a, O>, CircuitOpen> {
    BreakerGuard::admit(state.breaker_state())
}

/// [`breaker_admit`] for a `static` breaker, which `O` names
/// ([`StaticBreaker`]): the guard holds only the ticket.
#[inline]
pub fn breaker_admit_static<O: BreakerOperation + StaticBreaker>()
-> Result<BreakerGuard<'static, O, Static<O>>, CircuitOpen> {
    BreakerGuard::admit(Static::new())
}

/// `state`'s breaker, for a `static` `state` (what
/// [`StaticBreaker::breaker`] returns).
#[inline]
pub fn static_breaker<S: BreakerState + ?Sized>(state: &'static S) -> &'static CircuitBreaker {
    state.breaker_state()
}

/// The error type of a `#[circuit_breaker]` fn: it receives
/// [`CircuitOpen`] through `From`.
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` needs `{Self}` to implement `From<resilience::CircuitOpen>`",
    label = "the error type of this `#[circuit_breaker]` fn",
    note = "add a variant such as `#[error(transparent)] CircuitOpen(#[from] resilience::CircuitOpen)`"
)]
pub trait FromCircuitOpen {
    /// Converts the refusal.
    fn from_circuit_open(open: CircuitOpen) -> Self;
}

impl<E: From<CircuitOpen>> FromCircuitOpen for E {
    fn from_circuit_open(open: CircuitOpen) -> Self {
        E::from(open)
    }
}

/// Converts `open` into the fn's error type.
pub fn circuit_open_error<E: FromCircuitOpen>(open: CircuitOpen) -> E {
    E::from_circuit_open(open)
}
