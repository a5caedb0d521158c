// What the hints for unquoted durations say to write compiles:
// `#[timeout("2s")]`, `seconds = 2`, `ms = 500`, `delay = "250ms"`, ...
use resilience::{retry, timeout};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

#[timeout("2s")]
async fn a() -> Result<u32, AgentError> {
    Ok(1)
}

#[timeout("1h30m")]
async fn b() -> Result<u32, AgentError> {
    Ok(1)
}

#[timeout(seconds = 2)]
async fn c() -> Result<u32, AgentError> {
    Ok(1)
}

#[timeout(ms = 500)]
async fn d() -> Result<u32, AgentError> {
    Ok(1)
}

#[retry(backoff = "exponential", delay = "250ms", max_delay = "2s", max_elapsed = "1m")]
async fn e() -> Result<u32, AgentError> {
    Ok(1)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(a().await.unwrap() + b().await.unwrap() + c().await.unwrap(), 3);
    assert_eq!(d().await.unwrap() + e().await.unwrap(), 2);
}
