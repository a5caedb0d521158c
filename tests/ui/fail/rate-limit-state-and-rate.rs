use resilience::{RateLimit, RateLimiter, rate_limit};

static LIMITER: RateLimiter = RateLimiter::new(RateLimit::per_second(10));

#[rate_limit(state = LIMITER, per_second = 5, burst = 2)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
