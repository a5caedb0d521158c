//! What `#[hedge(..)]` calls.

pub use crate::health::hedge::{HedgePolicy, hedge};
