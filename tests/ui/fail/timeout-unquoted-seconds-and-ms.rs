// `seconds` and `ms` take bare numbers: the hint drops the unit, or moves a
// different unit to the positional string form.
use resilience::timeout;

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

#[timeout(seconds = 2s)]
async fn ask() -> Result<u32, AgentError> {
    Ok(1)
}

#[timeout(ms = 500ms)]
async fn think() -> Result<u32, AgentError> {
    Ok(1)
}

#[timeout(ms = 2s)]
async fn plan() -> Result<u32, AgentError> {
    Ok(1)
}

fn main() {}
