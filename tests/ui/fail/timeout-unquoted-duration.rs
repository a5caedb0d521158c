// `2s` is a number with a suffix, not a duration: the hint is the
// positional string form, which `#[timeout]` accepts.
use resilience::timeout;

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

#[timeout(2s)]
async fn ask() -> Result<u32, AgentError> {
    Ok(1)
}

#[timeout(1h30m)]
async fn think() -> Result<u32, AgentError> {
    Ok(1)
}

fn main() {}
