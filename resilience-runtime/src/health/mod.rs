//! One agent over many calls: shared, lock-free state that decides whether
//! a call runs at all (the guide's agent-health and resource-contention
//! patterns).
//!
//! - breaker: [`CircuitBreaker`](breaker::CircuitBreaker), closed, open and half-open.
//! - bulkhead: [`Bulkhead`](bulkhead::Bulkhead), at most N calls at once and a bounded queue.
//! - hedge: [`HedgePolicy`](hedge::HedgePolicy), another attempt when the first is slow.
//! - rate: [`RateLimiter`](rate::RateLimiter), a client-side rate limit (GCRA on tokio's clock).
//! - healing: [`Health`], the consecutive-failure count of
//!   `#[self_healing]`, which asks a supervisor for help and takes its answer
//!   (a cure, or giving up).
//!
//! Level 2 of the runtime: it may use `call/`, `events/` and `support/`,
//! never `coordination/`.

pub mod breaker;
pub mod bulkhead;
mod healing;
pub mod hedge;
pub mod rate;

pub use healing::{Abandoned, HealingPolicy, Health};
