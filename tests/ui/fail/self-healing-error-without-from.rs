use resilience::{Health, self_healing};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("busy")]
    Busy,
}

static HEALTH: Health = Health::new();

#[self_healing(state = HEALTH)]
async fn ask() -> Result<u32, AgentError> {
    Err(AgentError::Busy)
}

fn main() {}
