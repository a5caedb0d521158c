//! One agent over many calls: shared, lock-free state that decides whether
//! a call runs at all (the guide's agent-health and resource-contention
//! patterns).
//!
//! Level 2 of the runtime: it may use `call/`, `events/` and `support/`,
//! never `coordination/`.

pub mod breaker;
