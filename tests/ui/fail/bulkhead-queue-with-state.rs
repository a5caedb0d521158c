use resilience::{Bulkhead, Rejected, bulkhead};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Rejected(#[from] Rejected),
}

static POOL: Bulkhead = Bulkhead::new(8);

#[bulkhead(state = POOL, queue = 16)]
async fn ask(prompt: &str) -> Result<String, AgentError> {
    Ok(prompt.to_owned())
}

fn main() {}
