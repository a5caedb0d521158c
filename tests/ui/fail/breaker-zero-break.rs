use std::time::Duration;

use resilience::{BreakerPolicy, CircuitBreaker};

// No break: it would never fail fast.
static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(3).with_break(Duration::ZERO));

fn main() {
    let _ = (&BREAKER, Duration::ZERO);
}
