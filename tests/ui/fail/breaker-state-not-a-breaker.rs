use resilience::{CircuitOpen, circuit_breaker};

static BREAKER: u32 = 5;

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Open(#[from] CircuitOpen),
}

#[circuit_breaker(state = BREAKER)]
async fn ask() -> Result<u8, AgentError> {
    Ok(1)
}

fn main() {}
