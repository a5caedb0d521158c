use std::time::Duration;

use resilience::{BreakerPolicy, CircuitBreaker};

// The sampling window belongs to the failure-ratio mode.
static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(3).with_sampling(Duration::from_secs(10)));

fn main() {
    let _ = (&BREAKER, Duration::ZERO);
}
