use resilience::{Rejected, workflow};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Rejected(#[from] Rejected),
}

async fn fetch() -> Result<u32, AgentError> {
    Ok(1)
}

workflow! {
    workflow Fetch() -> Result<u32, AgentError> {
        #[bulkhead(max = 2)]
        step fetched: u32 = fetch().await;
        fetched
    }
}

fn main() {}
