//! [`FallbackPolicy`]: what `#[fallback]` runs.
//!
//! The generated code matches the fn's result; when a final error is
//! replaced, by a default value or by a fallback fn, it calls
//! [`FallbackPolicy::fired`], which emits
//! [`EventKind::Fallback`].
//!
//! # Examples
//!
//! The code that `#[fallback(default = 0)]` writes, by hand:
//!
//! ```
//! use resilience_runtime::{ErrorRef, FallbackPolicy};
//!
//! const POLICY: FallbackPolicy = FallbackPolicy::new("score");
//! let result: Result<u32, String> = Err("model offline".into());
//! let score = match result {
//!     Ok(v) => v,
//!     Err(e) => {
//!         POLICY.fired(ErrorRef::Display(&e));
//!         0
//!     }
//! };
//! assert_eq!(score, 0);
//! ```

use crate::events::{Event, EventKind, emit};
use crate::support::error_ref::ErrorRef;

/// The fallback of one operation.
///
/// # Examples
///
/// ```
/// use resilience_runtime::FallbackPolicy;
///
/// const ASK: FallbackPolicy = FallbackPolicy::new("ask");
/// assert_eq!(ASK.operation(), "ask");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FallbackPolicy {
    operation: &'static str,
}

impl FallbackPolicy {
    /// The fallback of `operation`, the name shown in events.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::FallbackPolicy;
    ///
    /// let policy = FallbackPolicy::new("ask");
    /// assert_eq!(policy.operation(), "ask");
    /// ```
    pub const fn new(operation: &'static str) -> Self {
        Self { operation }
    }

    /// The operation's name.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::FallbackPolicy;
    ///
    /// assert_eq!(FallbackPolicy::new("ask").operation(), "ask");
    /// ```
    pub const fn operation(&self) -> &'static str {
        self.operation
    }

    /// Reports that `error` was replaced by the fallback.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::{ErrorRef, FallbackPolicy};
    ///
    /// FallbackPolicy::new("ask").fired(ErrorRef::Display(&"refused"));
    /// ```
    pub fn fired(&self, error: ErrorRef<'_>) {
        emit(&Event::new(self.operation, EventKind::Fallback { error }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{OwnedEventKind, scoped};

    #[test]
    fn fired_emits_a_fallback_event() {
        let (scope, mut sub) = scoped();
        scope.run_sync(|| FallbackPolicy::new("fallback::fired").fired(ErrorRef::Debug(&Some(7))));
        let kinds: Vec<_> = core::iter::from_fn(|| sub.try_recv())
            .filter(|e| e.operation == "fallback::fired")
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [OwnedEventKind::Fallback {
                error: "Some(7)".into()
            }]
        );
    }
}
