use std::time::Duration;

use resilience::{BreakerPolicy, CircuitBreaker};

// No trial call: a half-open breaker could never close.
static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(3).with_trials(0));

fn main() {
    let _ = (&BREAKER, Duration::ZERO);
}
