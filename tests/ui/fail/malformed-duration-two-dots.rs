use resilience::timeout;

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

#[timeout("1.2.3s")]
async fn ask() -> Result<u32, AgentError> {
    Ok(1)
}

fn main() {}
