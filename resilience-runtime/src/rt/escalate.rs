//! What `#[escalate]` calls: a progressive retry driven step by step from a
//! loop in the decorated fn, so that each tier's body runs in the fn itself
//! (`&mut self` works, as for `#[retry]`) rather than in a closure.
//!
//! The rules are those of [`Escalation::run`](crate::Escalation::run): the
//! tiers are checked first; each tier runs under its own time limit, a
//! panic is that tier's failure; a time-out or a panic always escalates, an
//! error escalates when `when` says so; every escalation and the give-up
//! emit the same events. The expansion, by hand:
//!
//! ```text
//! const __RESILIENCE_ESCALATE: EscalatePolicy = EscalatePolicy::new("solve");
//! match __RESILIENCE_ESCALATE.start(&TIERS) {
//!     Ok(mut escalation) => loop {
//!         let strategy: &Strategy = escalation.tier();
//!         let error = match run_tier(escalation.limit(), async { body }).await {
//!             Ok(value) => break Ok(value),
//!             Err(error) => error,
//!         };
//!         let escalates = error.error().is_none_or(|e| when(e));
//!         if let Some(error) = escalation.failed(FailedTier { error, escalates }) {
//!             break Err(escalation_error(error));
//!         }
//!     },
//!     Err(error) => Err(escalation_error(error)),
//! }
//! ```

use core::fmt;
use core::future::Future;
use core::time::Duration;

use crate::coordination::escalate::{
    EscalationConfigError, EscalationError, Tier, TierError, TierFailure, after_failure,
};
use crate::support::panic::CatchPanic;

/// The list that `#[escalate(tiers = ..)]` names: an array, a slice or a
/// `Vec` of tiers (or a reference to one).
#[diagnostic::on_unimplemented(
    message = "`#[escalate(tiers = ..)]` needs a list of tiers, not `{Self}`",
    label = "not an array, a slice or a `Vec` of tiers",
    note = "name a `const` or `static` array of your tier type, e.g. `tiers = STRATEGIES` with `const STRATEGIES: [Strategy; 3] = [..];`"
)]
pub trait TierList {
    /// The type of one tier.
    type Tier;
    /// The tiers, in order.
    fn tier_slice(&self) -> &[Self::Tier];
}

impl<T, const N: usize> TierList for [T; N] {
    type Tier = T;
    fn tier_slice(&self) -> &[T] {
        self
    }
}

impl<T> TierList for [T] {
    type Tier = T;
    fn tier_slice(&self) -> &[T] {
        self
    }
}

impl<T> TierList for Vec<T> {
    type Tier = T;
    fn tier_slice(&self) -> &[T] {
        self
    }
}

impl<L: TierList + ?Sized> TierList for &L {
    type Tier = L::Tier;
    fn tier_slice(&self) -> &[L::Tier] {
        (**self).tier_slice()
    }
}

/// What `#[escalate]` needs of each tier: its time limit, through
/// [`Tier`]. A separate trait so that a tier type without `Tier` gets an
/// error that says what to write, at the `tiers` key.
#[diagnostic::on_unimplemented(
    message = "`#[escalate]` runs each tier under its own time limit, but `{Self}` does not implement `resilience::Tier`",
    label = "the tiers of this `#[escalate]`",
    note = "implement it: `impl resilience::Tier for {Self} {{ fn time_limit(&self) -> Duration {{ .. }} }}`"
)]
pub trait EscalateTier {
    /// The tier's time limit ([`Tier::time_limit`]).
    fn tier_limit(&self) -> Duration;
}

impl<T: Tier + ?Sized> EscalateTier for T {
    #[inline]
    fn tier_limit(&self) -> Duration {
        self.time_limit()
    }
}

/// The fn's error type, converted from the [`EscalationError`] of its
/// own errors: `From<EscalationError<E>>`, with a hint when it is missing.
#[diagnostic::on_unimplemented(
    message = "`#[escalate]` needs `{Self}` to implement `From<resilience::EscalationError<{E}>>`",
    label = "the error type of this `#[escalate]` fn",
    note = "add a variant such as `#[error(transparent)] Escalation(#[from] resilience::EscalationError<{E}>)`: it carries every tier's failure"
)]
pub trait FromEscalation<E> {
    /// Converts the progressive retry's error.
    fn from_escalation(error: EscalationError<E>) -> Self;
}

impl<E, U: From<EscalationError<E>>> FromEscalation<E> for U {
    fn from_escalation(error: EscalationError<E>) -> Self {
        U::from(error)
    }
}

/// Converts a progressive retry's error into the fn's error type; called by
/// the generated code at the user's error type.
pub fn escalation_error<U: FromEscalation<E>, E>(error: EscalationError<E>) -> U {
    U::from_escalation(error)
}

/// Arguments that an `#[escalate]` fn takes by value: each tier gets its
/// own clone. It exists to explain, when `Clone` is missing, what to do
/// (the same rule as `#[retry]`'s, in `#[escalate]`'s words).
#[diagnostic::on_unimplemented(
    message = "`#[escalate]` clones each owned argument for every tier, but `{Self}` is not `Clone`",
    label = "this argument is moved into every tier",
    note = "borrow it instead (`&{Self}`) or make it `Clone`"
)]
pub trait TierArg: Sized {
    /// A clone of `self` for the next tier.
    fn clone_for_tier(&self) -> Self;
}

impl<T: Clone> TierArg for T {
    fn clone_for_tier(&self) -> Self {
        self.clone()
    }
}

/// Clones `value` for one tier of an `#[escalate]` fn; the generated code
/// calls it for every argument taken by value.
pub fn clone_tier_arg<T: TierArg>(value: &T) -> T {
    value.clone_for_tier()
}

/// The name of an `#[escalate]` fn, built in a `const` item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EscalatePolicy {
    operation: &'static str,
}

impl EscalatePolicy {
    /// The progressive retry of `operation`, the name of its events and
    /// errors.
    pub const fn new(operation: &'static str) -> Self {
        Self { operation }
    }

    /// The name of events and errors.
    pub const fn operation(&self) -> &'static str {
        self.operation
    }

    /// Starts over `tiers`, after checking that they can work (as
    /// [`Escalation::validate`](crate::Escalation::validate)).
    ///
    /// # Errors
    ///
    /// [`EscalationError::Config`] for an empty list or a tier whose time
    /// limit is zero; no tier runs.
    pub fn start<'t, L, E>(
        &self,
        tiers: &'t L,
    ) -> Result<Escalating<'t, L::Tier, E>, EscalationError<E>>
    where
        L: TierList + ?Sized,
        L::Tier: EscalateTier,
    {
        let tiers = tiers.tier_slice();
        let config = if tiers.is_empty() {
            Some(EscalationConfigError::NoTiers)
        } else {
            tiers
                .iter()
                .position(|t| t.tier_limit().is_zero())
                .map(|i| EscalationConfigError::ZeroTimeLimit { tier: number(i) })
        };
        match config {
            Some(error) => Err(EscalationError::Config {
                operation: self.operation,
                error,
            }),
            None => Ok(Escalating {
                operation: self.operation,
                tiers,
                next: 0,
                failures: Vec::new(),
                // The bound holds here: a tier type without `Tier` is
                // reported once, at `start`.
                limit: <L::Tier as EscalateTier>::tier_limit,
            }),
        }
    }
}

/// A progressive retry under way: the tier to run, and the failures so far
/// (no allocation until a tier fails).
pub struct Escalating<'t, T, E> {
    operation: &'static str,
    tiers: &'t [T],
    /// The index of the tier to run; always in bounds.
    next: usize,
    failures: Vec<TierFailure<E>>,
    limit: fn(&T) -> Duration,
}

impl<'t, T, E> Escalating<'t, T, E> {
    /// The tier to run now.
    #[inline]
    pub fn tier(&self) -> &'t T {
        &self.tiers[self.next]
    }

    /// The current tier's time limit.
    #[inline]
    pub fn limit(&self) -> Duration {
        (self.limit)(self.tier())
    }

    /// After the current tier failed: `None` to run the next tier (an
    /// [`EventKind::Escalated`] event is emitted), or the error to return
    /// (after an [`EventKind::GaveUp`] event).
    pub fn failed(&mut self, failed: FailedTier<E>) -> Option<EscalationError<E>>
    where
        E: fmt::Display,
    {
        let FailedTier { error, escalates } = failed;
        let i = self.next;
        self.next += 1;
        after_failure(
            self.operation,
            i,
            self.tiers.len(),
            error,
            escalates,
            &mut self.failures,
        )
    }
}

impl<T, E> fmt::Debug for Escalating<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Escalating")
            .field("operation", &self.operation)
            .field("tier", &number(self.next))
            .field("tiers", &self.tiers.len())
            .finish_non_exhaustive()
    }
}

/// A failed tier, as [`Escalating::failed`] takes it.
#[derive(Debug)]
pub struct FailedTier<E> {
    /// Why it failed.
    pub error: TierError<E>,
    /// Whether the failure escalates: always for a time-out or a panic,
    /// else what `when` says of the error (`true` without `when`).
    pub escalates: bool,
}

/// Runs one tier's `attempt` under the tier's time `limit`
/// ([`Escalating::limit`]), a panic caught as the tier's failure.
///
/// # Errors
///
/// [`TierError::Failed`] with the attempt's error, [`TierError::TimedOut`]
/// or [`TierError::Panicked`].
pub async fn run_tier<O, E, F>(limit: Duration, attempt: F) -> Result<O, TierError<E>>
where
    F: Future<Output = Result<O, E>>,
{
    match tokio::time::timeout(limit, CatchPanic::new(attempt)).await {
        Ok(Ok(Ok(value))) => Ok(value),
        Ok(Ok(Err(error))) => Err(TierError::Failed(error)),
        Ok(Err(panic)) => Err(TierError::Panicked(panic)),
        Err(_) => Err(TierError::TimedOut(limit)),
    }
}

/// Tier `i` (from 0) as the number people read (from 1).
fn number(i: usize) -> u32 {
    u32::try_from(i + 1).unwrap_or(u32::MAX)
}
