use resilience::{Abandoned, Health, self_healing};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Abandoned(#[from] Abandoned),
}

static HEALTH: Health = Health::new();

#[self_healing(state = HEALTH, max_failures = 0)]
async fn ask() -> Result<u32, AgentError> {
    Ok(1)
}

fn main() {}
