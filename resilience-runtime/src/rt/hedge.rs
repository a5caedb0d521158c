//! What `#[hedge(..)]` calls.

pub use crate::health::hedge::{HedgeArg, HedgePolicy, clone_hedge_arg, hedge};
