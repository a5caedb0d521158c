use resilience::{BreakerPolicy, CircuitBreaker};

// More failures in a row than the breaker's state word counts.
static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(u32::MAX));

fn main() {
    let _ = &BREAKER;
}
