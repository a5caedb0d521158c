use resilience::timeout;

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

#[timeout("30s", ms = 500)]
async fn ask() -> Result<u32, AgentError> {
    Ok(1)
}

fn main() {}
