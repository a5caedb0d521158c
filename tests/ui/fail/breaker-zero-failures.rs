use std::time::Duration;

use resilience::{BreakerPolicy, CircuitBreaker};

// Zero failures in a row would open it before any call.
static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(0));

fn main() {
    let _ = (&BREAKER, Duration::ZERO);
}
