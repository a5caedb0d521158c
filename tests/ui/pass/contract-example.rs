// The example of the attribute contract in DESIGN.md, every accepted form.
use resilience::{fallback, retry, timeout};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
    #[error("model refused: {0}")]
    Refused(String),
}

struct Model;
struct Answer(String);

#[retry(attempts = 3, backoff = exponential, delay = "100ms", max_delay = "10s", jitter)]
#[timeout(seconds = 30)]
async fn ask(_model: &Model, prompt: String) -> Result<Answer, AgentError> {
    Ok(Answer(prompt))
}

#[retry(backoff = "linear", delay = 1.5, jitter = decorrelated)]
async fn linear_with_string_word() -> Result<(), AgentError> {
    Ok(())
}

#[retry(backoff = constant, jitter = "equal", max_elapsed = "1h30m")]
#[timeout("30s")]
async fn constant_with_string_jitter() -> Result<(), AgentError> {
    Ok(())
}

#[retry(factor = 1.5, jitter = none, delay = "250ms", max_delay = "2m")]
#[timeout(30)]
async fn default_backoff_with_factor() -> Result<(), AgentError> {
    Ok(())
}

#[timeout(ms = 500)]
#[retry(backoff = exponential, factor = 3, jitter = full, attempts = 1)]
async fn timeout_around_retry() -> Result<(), AgentError> {
    Err(AgentError::Refused("no".into()))
}

#[fallback(default = 0)]
#[timeout(1.5)]
async fn fallback_only() -> Result<u32, AgentError> {
    Ok(1)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(ask(&Model, "hi".into()).await.unwrap().0, "hi");
    let _ = linear_with_string_word;
    let _ = constant_with_string_jitter;
    let _ = default_backoff_with_factor;
    let _ = timeout_around_retry;
    assert_eq!(fallback_only().await.unwrap(), 1);
}
