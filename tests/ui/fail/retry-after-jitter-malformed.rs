use std::time::Duration;

use resilience::retry;

fn after(_: &String) -> Option<Duration> {
    None
}

#[retry(retry_after = after, retry_after_jitter = "150%")]
async fn over() -> Result<u32, String> {
    Ok(1)
}

#[retry(retry_after = after, retry_after_jitter = "0%")]
async fn zero() -> Result<u32, String> {
    Ok(1)
}

#[retry(retry_after = after, retry_after_jitter = 10)]
async fn bare() -> Result<u32, String> {
    Ok(1)
}

#[retry(retry_after = after, retry_after_jitter = "ten")]
async fn word() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
