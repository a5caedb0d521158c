use std::time::Duration;

use resilience::{BreakerPolicy, CircuitBreaker};

// The ratio of no calls means nothing.
static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::new().with_min_throughput(0));

fn main() {
    let _ = (&BREAKER, Duration::ZERO);
}
