// `?` and `return` leave the attempt, with the fn's own error type.
use resilience::{fallback, retry, timeout};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
    #[error(transparent)]
    Parse(#[from] std::num::ParseIntError),
    #[error("empty input")]
    Empty,
}

#[fallback(default = -1)]
#[retry(attempts = 2, delay = "1ms")]
#[timeout("1s")]
async fn parse(input: &str) -> Result<i64, AgentError> {
    if input.is_empty() {
        return Err(AgentError::Empty);
    }
    if input == "zero" {
        return Ok(0);
    }
    let n: i64 = input.trim().parse()?;
    Ok(n * 2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(parse("21").await.unwrap(), 42);
    assert_eq!(parse("zero").await.unwrap(), 0);
    assert_eq!(parse("x").await.unwrap(), -1);
    assert_eq!(parse("").await.unwrap(), -1);
}
