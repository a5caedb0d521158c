use std::time::Duration;

use resilience::{BreakerPolicy, CircuitBreaker};

// An empty window holds no calls.
static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::new().with_sampling(Duration::ZERO));

fn main() {
    let _ = (&BREAKER, Duration::ZERO);
}
