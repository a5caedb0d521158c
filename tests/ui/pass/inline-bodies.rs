// Bodies that cannot leave early (no `return`, `?` or macro) and bodies that
// are a single `.await`, under every layer, with types inferred from the
// return type.
use resilience::{fallback, retry, timeout};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
    #[error("refused")]
    Refused,
}

struct Model {
    calls: u32,
}

impl Model {
    async fn complete(&self, prompt: &str) -> Result<String, AgentError> {
        if prompt.is_empty() { Err(AgentError::Refused) } else { Ok(prompt.to_uppercase()) }
    }

    #[timeout("1s")]
    async fn timed(&self, prompt: String) -> Result<String, AgentError> {
        self.complete(&prompt).await
    }

    #[retry(attempts = 2, delay = "1ms")]
    #[timeout("1s")]
    async fn retried(&mut self, prompt: String) -> Result<String, AgentError> {
        self.calls += 1;
        self.complete(&prompt).await
    }

    #[fallback(default = String::from("-"))]
    async fn with_default(&self, prompt: &str) -> Result<String, AgentError> {
        self.complete(prompt).await
    }
}

#[timeout("1s")]
async fn parsed(text: &str) -> Result<u32, AgentError> {
    let n = text.parse().unwrap_or_default();
    Ok(n)
}

#[retry(attempts = 2, delay = "1ms")]
async fn inferred(text: String) -> Result<u64, AgentError> {
    let checks: Vec<_> = text.chars().map(|c| -> bool { return c.is_ascii_digit() }).collect();
    Ok(checks.len() as u64)
}

#[fallback(default = 0)]
#[timeout("1s")]
async fn plain(x: u32) -> Result<u32, AgentError> {
    Ok(x * 2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut model = Model { calls: 0 };
    assert_eq!(model.timed("a".into()).await.unwrap(), "A");
    assert!(model.retried(String::new()).await.is_err());
    assert_eq!(model.calls, 2);
    assert_eq!(model.with_default("").await.unwrap(), "-");
    assert_eq!(parsed("7").await.unwrap(), 7);
    assert_eq!(inferred("12".into()).await.unwrap(), 2);
    assert_eq!(plain(2).await.unwrap(), 4);
}
