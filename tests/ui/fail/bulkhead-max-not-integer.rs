use resilience::{Rejected, bulkhead};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Rejected(#[from] Rejected),
}

const N: usize = 8;

#[bulkhead(max = N)]
async fn ask(prompt: &str) -> Result<String, AgentError> {
    Ok(prompt.to_owned())
}

fn main() {}
