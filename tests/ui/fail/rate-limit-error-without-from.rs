use resilience::rate_limit;

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("busy")]
    Busy,
}

#[rate_limit(per_second = 10, wait = false)]
async fn ask() -> Result<u32, AgentError> {
    Err(AgentError::Busy)
}

fn main() {}
