use std::time::Duration;

use resilience::{BreakerPolicy, CircuitBreaker};

// A ratio of 0 would open it with no failure at all.
static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::failure_ratio(0.0));

fn main() {
    let _ = (&BREAKER, Duration::ZERO);
}
