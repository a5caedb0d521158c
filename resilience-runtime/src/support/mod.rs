//! Shared leaves that every level uses and that use nothing of the crate
//! above them: how errors and durations are printed, panic capture, and the
//! one source of randomness.

pub mod duration;
pub mod error_ref;
pub(crate) mod panic;
pub mod random;
