use resilience::{BreakerPolicy, CircuitBreaker, CircuitOpen, circuit_breaker};

// A `const` is a new breaker wherever it is named: it would never open.
#[allow(clippy::declare_interior_mutable_const)]
const BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(3));

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
