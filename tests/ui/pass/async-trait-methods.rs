// `#[async_trait]` impl methods, with `&self` and with owned arguments.
use async_trait::async_trait;
use resilience::{retry, timeout};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
    #[error("busy")]
    Busy,
}

#[async_trait]
trait Agent {
    async fn name(&self) -> Result<String, AgentError>;
    async fn ask(&self, prompt: String, tags: Vec<String>) -> Result<String, AgentError>;
}

struct Echo {
    id: u32,
}

#[async_trait]
impl Agent for Echo {
    #[retry(attempts = 2, delay = "1ms")]
    async fn name(&self) -> Result<String, AgentError> {
        Ok(format!("echo-{}", self.id))
    }

    #[retry(attempts = 3, backoff = constant, delay = "1ms")]
    #[timeout("1s")]
    async fn ask(&self, prompt: String, mut tags: Vec<String>) -> Result<String, AgentError> {
        tags.push(prompt.clone());
        if tags.len() > 1 {
            return Err(AgentError::Busy);
        }
        Ok(tags.join(","))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let echo = Echo { id: 1 };
    assert_eq!(echo.name().await.unwrap(), "echo-1");
    assert_eq!(echo.ask("hi".into(), Vec::new()).await.unwrap(), "hi");
    assert!(echo.ask("hi".into(), vec!["x".into()]).await.is_err());
    let dynamic: &dyn Agent = &echo;
    assert_eq!(dynamic.name().await.unwrap(), "echo-1");
}
