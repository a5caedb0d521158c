//! One agent over many calls: state shared by the calls of an agent (or of
//! a whole program), between `call/` and `coordination/`.
//!
//! Level 2 of the runtime. It depends on `call/`, [`events`](crate::events)
//! and the shared leaves in `support` only.

pub mod bulkhead;
pub mod hedge;
