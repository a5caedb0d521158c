use resilience::{retry, timeout};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

#[retry(attempts = 2)]
#[timeout = "1s"]
async fn ask() -> Result<u32, AgentError> {
    Ok(1)
}

fn main() {}
