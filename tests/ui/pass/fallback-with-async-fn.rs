// `#[fallback(with = PATH)]` calls an async fn that returns the same type.
use resilience::{fallback, retry};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("refused: {0}")]
    Refused(String),
}

mod backup {
    use super::AgentError;

    pub async fn small_model(err: AgentError) -> Result<String, AgentError> {
        Ok(format!("small model after: {err}"))
    }
}

#[fallback(with = backup::small_model)]
#[retry(attempts = 2, delay = "1ms")]
async fn ask(prompt: String) -> Result<String, AgentError> {
    Err(AgentError::Refused(prompt))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(ask("hi".into()).await.unwrap(), "small model after: refused: hi");
}
