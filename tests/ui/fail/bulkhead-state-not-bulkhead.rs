use resilience::{Rejected, bulkhead};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Rejected(#[from] Rejected),
}

static POOL: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(8);

#[bulkhead(state = POOL)]
async fn ask(prompt: &str) -> Result<String, AgentError> {
    Ok(prompt.to_owned())
}

fn main() {}
