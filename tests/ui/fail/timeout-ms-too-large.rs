use resilience::timeout;

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

#[timeout(ms = 99999999999999999999)]
async fn ask() -> Result<u32, AgentError> {
    Ok(1)
}

fn main() {}
