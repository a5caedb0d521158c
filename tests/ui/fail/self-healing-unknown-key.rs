use resilience::{Abandoned, Health, self_healing};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Abandoned(#[from] Abandoned),
}

static HEALTH: Health = Health::new();

#[self_healing(state = HEALTH, max_failure = 3)]
async fn ask() -> Result<u32, AgentError> {
    Ok(1)
}

#[self_healing(state = HEALTH, threshold = 3)]
async fn plan() -> Result<u32, AgentError> {
    Ok(1)
}

fn main() {}
