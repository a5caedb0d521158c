//! What `#[bulkhead(..)]` calls.

pub use crate::health::bulkhead::{
    Bulkhead, BulkheadState, FromRejected, bulkhead_error, enter as bulkhead,
};
