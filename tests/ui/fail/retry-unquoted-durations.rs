// `delay`, `max_delay` and `max_elapsed` written without quotes: each hint
// is the key with the duration as a string.
use resilience::retry;

#[derive(Debug, thiserror::Error)]
#[error("busy")]
struct Busy;

#[retry(backoff = "exponential", delay = 250ms, max_delay = 2s, max_elapsed = 1m)]
async fn ask() -> Result<u32, Busy> {
    Ok(1)
}

fn main() {}
