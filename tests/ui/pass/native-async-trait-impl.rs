// A native `async fn` in a trait impl.
use resilience::{retry, timeout};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

trait Agent {
    async fn ask(&self, prompt: String) -> Result<String, AgentError>;
}

struct Echo;

impl Agent for Echo {
    #[retry(attempts = 2, delay = "1ms")]
    #[timeout("1s")]
    async fn ask(&self, prompt: String) -> Result<String, AgentError> {
        Ok(prompt)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(Echo.ask("hi".into()).await.unwrap(), "hi");
}
