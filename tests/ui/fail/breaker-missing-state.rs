use resilience::{BreakerPolicy, CircuitBreaker, CircuitOpen, circuit_breaker};

static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(5));

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Open(#[from] CircuitOpen),
}

#[circuit_breaker]
async fn ask() -> Result<u8, AgentError> {
    Ok(1)
}

fn main() {}
