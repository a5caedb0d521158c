//! Declarative, compile-time checked fault tolerance for async Rust.
#![deny(missing_docs)]

pub use resilience_macros::{fallback, retry, timeout};

#[doc(hidden)]
pub mod __private {
    pub use resilience_runtime::__private::*;
}
