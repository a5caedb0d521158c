use std::time::Duration;

use resilience::{BreakerPolicy, CircuitBreaker};

// A share of failed calls above 1 can never be reached.
static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::failure_ratio(1.5));

fn main() {
    let _ = (&BREAKER, Duration::ZERO);
}
