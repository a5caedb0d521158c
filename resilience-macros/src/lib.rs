//! Procedural macros of [`resilience`](https://docs.rs/resilience).
//!
//! Depend on `resilience` and write `use resilience::{retry, timeout, fallback, escalate, chaos,
//! circuit_breaker, bulkhead, hedge, self_healing, agent};`.
//! The generated code calls only `::resilience::__private`, so this crate is an
//! implementation detail. Each entry point converts to `proc_macro2` and calls
//! into `expand` (or `workflow`), which runs the phases: parse (`args`, `item`)
//! → validate (inside the parsers, every error collected in `ctxt::Ctxt`) →
//! expand (`expand`, `body`, `workflow`).

/// `quote!` with `Span::mixed_site()`: generated locals (`__resilience_*`)
/// neither see nor shadow the user's. For every module of the crate.
macro_rules! q {
    ($($tt:tt)*) => {
        ::quote::quote_spanned!(::proc_macro2::Span::mixed_site()=> $($tt)*)
    };
}

mod args;
mod body;
mod ctxt;
mod duration;
mod expand;
mod item;
mod workflow;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

use crate::args::Kind;

/// Retries the decorated `async fn` when it returns `Err`.
///
/// See the `resilience` crate for the keys, the defaults and examples.
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Retry, args.into(), item.into()).into()
}

/// Bounds the decorated `async fn` (or, stacked, the layers below it) by a time limit.
///
/// See the `resilience` crate for the accepted forms and examples.
#[proc_macro_attribute]
pub fn timeout(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Timeout, args.into(), item.into()).into()
}

/// Registers, inside a saga, what undoes a successful call of the decorated `async fn`.
///
/// See the `resilience` crate's `saga` docs.
#[proc_macro_attribute]
pub fn compensate(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Compensate, args.into(), item.into()).into()
}

/// Declares a named workflow of ordered steps, compiled into a state machine.
///
/// See the `resilience` crate's `workflow` docs for the grammar.
#[proc_macro]
pub fn workflow(input: TokenStream) -> TokenStream {
    workflow::expand(input.into()).into()
}

/// Runs the decorated `async fn` once per tier of a list, each under the
/// tier's own time limit, until one succeeds (progressive retry); the tier
/// comes in through the parameter marked `#[tier]`, which callers do not pass.
///
/// See the `resilience` crate for the keys and examples.
#[proc_macro_attribute]
pub fn escalate(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Escalate, args.into(), item.into()).into()
}

/// Turns a final `Err` of the decorated `async fn` into a fallback value or a fallback call.
///
/// See the `resilience` crate for the keys and examples.
#[proc_macro_attribute]
pub fn fallback(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Fallback, args.into(), item.into()).into()
}

/// At most `max` calls of the decorated `async fn` at once (its own limit),
/// or through the shared `Bulkhead` that `state` names; a call turned away
/// returns `Rejected` through `From`.
///
/// See the `resilience` crate for the keys and examples.
#[proc_macro_attribute]
pub fn bulkhead(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Bulkhead, args.into(), item.into()).into()
}

/// Hedges the decorated `async fn`: when no attempt has answered after
/// `after`, another starts beside it, up to `attempts` in all; the first
/// success wins and the others are cancelled.
///
/// See the `resilience` crate for the keys and examples.
#[proc_macro_attribute]
pub fn hedge(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Hedge, args.into(), item.into()).into()
}

/// Limits how often the decorated `async fn` (or, stacked, the layers below
/// it) runs: `#[rate_limit(per_second = 10, burst = 20)]` keeps a limiter of
/// its own, `#[rate_limit(state = LIMITER)]` shares one. A call waits for a
/// permit, or with `wait = false` / `max_wait = ".."` is refused with
/// `RateLimited` through `From`.
///
/// See the `resilience` crate for the keys and examples.
#[proc_macro_attribute]
pub fn rate_limit(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::RateLimit, args.into(), item.into()).into()
}

/// Injects faults into the decorated `async fn` from the `Chaos` that
/// `state` names: `#[chaos(state = CHAOS)]`. Only with the `chaos` feature
/// of `resilience`; without it the fn is emitted exactly as written.
///
/// See the `resilience` crate for the details.
#[proc_macro_attribute]
pub fn chaos(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Chaos, args.into(), item.into()).into()
}

/// Calls the decorated `async fn` through the `CircuitBreaker` that `state`
/// names (`#[circuit_breaker(state = BREAKER)]`, or `state = self.breaker`
/// for one per agent): while it is open the body does not run and the fn
/// returns `Err(CircuitOpen.into())`; `when` picks the errors that count as
/// failures.
///
/// See the `resilience` crate for the details.
#[proc_macro_attribute]
pub fn circuit_breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::CircuitBreaker, args.into(), item.into()).into()
}

/// Counts the failed calls in a row of the decorated `async fn` in the
/// `resilience::Health` that `state` names, and asks for help (a "needs
/// help" event) when `max_failures` (default 3) calls in a row have failed:
/// `#[self_healing(state = self.health, max_failures = 3)]`. After the
/// supervisor gave up, calls return `resilience::Abandoned` without running.
///
/// See the `resilience` crate for the details.
#[proc_macro_attribute]
pub fn self_healing(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::SelfHealing, args.into(), item.into()).into()
}

/// Names the agent the decorated `async fn` runs for: every event its call
/// emits (retries, time-outs, self-healing, ...) carries the name.
/// `#[agent(name = self.name)]`.
///
/// See the `resilience` crate for the details.
#[proc_macro_attribute]
pub fn agent(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Agent, args.into(), item.into()).into()
}
