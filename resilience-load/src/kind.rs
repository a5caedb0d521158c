//! How a task's error is counted in the report.

/// The kind under which an injected failure is counted.
pub const INJECTED: &str = "injected";

/// Names the group a task's error is counted under in
/// [`LoadReport::failures_by_kind`](crate::LoadReport::failures_by_kind).
///
/// Implement it for your error type (a `match` that returns a literal per
/// variant); `&'static str` and `Infallible` have it already.
///
/// # Examples
///
/// ```
/// use resilience_load::FailureKind;
///
/// enum AgentError { Timeout, Refused(String) }
///
/// impl FailureKind for AgentError {
///     fn kind(&self) -> &'static str {
///         match self {
///             AgentError::Timeout => "timeout",
///             AgentError::Refused(_) => "refused",
///         }
///     }
/// }
///
/// assert_eq!(AgentError::Refused("no".into()).kind(), "refused");
/// assert_eq!(AgentError::Timeout.kind(), "timeout");
/// ```
#[diagnostic::on_unimplemented(
    message = "the load test cannot count `{Self}` by kind",
    label = "the task's error type",
    note = "implement `resilience_load::FailureKind` for `{Self}`: `fn kind(&self) -> &'static str` names the group, or return `Err(\"kind\")` (a `&'static str`)"
)]
pub trait FailureKind {
    /// The group this error is counted under, for example `"timeout"`.
    fn kind(&self) -> &'static str;
}

impl FailureKind for &'static str {
    fn kind(&self) -> &'static str {
        self
    }
}

impl FailureKind for core::convert::Infallible {
    fn kind(&self) -> &'static str {
        match *self {}
    }
}

/// Failures by kind: a handful of kinds, so a short list searched by
/// pointer first beats a map.
#[derive(Debug, Default)]
pub(crate) struct Kinds(Vec<(&'static str, u64)>);

impl Kinds {
    #[inline]
    pub(crate) fn add(&mut self, kind: &'static str) {
        for (k, n) in &mut self.0 {
            if core::ptr::eq(*k, kind) || *k == kind {
                *n += 1;
                return;
            }
        }
        self.0.push((kind, 1));
    }

    pub(crate) fn into_map(self) -> std::collections::BTreeMap<String, u64> {
        let mut map = std::collections::BTreeMap::new();
        for (k, n) in self.0 {
            *map.entry(k.to_owned()).or_insert(0) += n;
        }
        map
    }
}
