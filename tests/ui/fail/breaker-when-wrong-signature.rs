use resilience::{BreakerPolicy, CircuitBreaker, CircuitOpen, circuit_breaker};

static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(5));

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Open(#[from] CircuitOpen),
}

// Takes the error by value: `when` is given `&AgentError`.
fn is_transient(error: AgentError) -> bool {
    let _ = error;
    true
}

#[circuit_breaker(state = BREAKER, when = is_transient)]
async fn ask() -> Result<u8, AgentError> {
    Ok(1)
}

fn main() {}
