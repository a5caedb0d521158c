use resilience::timeout;

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

#[timeout(ms = 31536000000)]
async fn ask() -> Result<u32, AgentError> {
    Ok(1)
}

fn main() {}
