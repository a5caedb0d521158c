use resilience::{BreakerPolicy, CircuitBreaker, circuit_breaker};

static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(5));

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("the model is overloaded")]
    Overloaded,
}

#[circuit_breaker(state = BREAKER)]
async fn ask() -> Result<u8, AgentError> {
    Err(AgentError::Overloaded)
}

fn main() {}
