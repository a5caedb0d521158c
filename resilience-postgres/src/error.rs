//! Backend errors whose text says what the server said.

use std::error::Error;
use std::fmt;

use resilience_runtime::checkpoint::CheckpointError;

/// A [`CheckpointError::Backend`] for a driver or pool error.
pub(crate) fn backend(
    location: &str,
    operation: &'static str,
    error: impl Into<Box<dyn Error + Send + Sync + 'static>>,
) -> CheckpointError {
    CheckpointError::backend(location, operation, Detailed(error.into()))
}

/// A driver or pool error shown with its causes: tokio-postgres says only
/// "db error" at the top, the server's message is in its source. The
/// original error stays reachable as the source, to downcast.
#[derive(Debug)]
struct Detailed(Box<dyn Error + Send + Sync + 'static>);

impl fmt::Display for Detailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(error) = cause {
            let more = error.to_string();
            if !text.contains(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            cause = error.source();
        }
        f.write_str(&text)
    }
}

impl Error for Detailed {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.0)
    }
}
