//! One call: what `#[retry]`, `#[timeout]` and `#[fallback]` compile to.
//!
//! Level 1 of the runtime. It depends on [`events`](crate::events) and the
//! shared leaves in `support` only.

pub mod backoff;
pub mod error;
pub mod fallback;
pub mod retry;
#[cfg(feature = "http")]
pub mod server_delay;
pub mod timeout;
