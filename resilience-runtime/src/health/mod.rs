//! One agent over many calls: state shared by the calls of an agent,
//! lock-free on the call path.
//!
//! - healing: [`Health`], the consecutive-failure count of
//!   `#[self_healing]`, which asks a supervisor for help and takes its answer
//!   (a cure, or giving up).

mod healing;

pub use healing::{Abandoned, HealingPolicy, Health};
