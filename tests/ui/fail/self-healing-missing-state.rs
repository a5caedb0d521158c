use resilience::{Abandoned, self_healing};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Abandoned(#[from] Abandoned),
}

#[self_healing(max_failures = 3)]
async fn ask() -> Result<u32, AgentError> {
    Ok(1)
}

#[self_healing(state = 3)]
async fn plan() -> Result<u32, AgentError> {
    Ok(1)
}

fn main() {}
