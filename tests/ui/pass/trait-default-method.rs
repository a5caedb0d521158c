// A trait's default method body.
use resilience::{retry, timeout};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

trait Agent {
    fn name(&self) -> &str;

    #[retry(attempts = 2, delay = "1ms")]
    #[timeout("1s")]
    async fn greet(&self, who: String) -> Result<String, AgentError> {
        Ok(format!("{} greets {who}", self.name()))
    }
}

struct Bot;

impl Agent for Bot {
    fn name(&self) -> &str {
        "bot"
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(Bot.greet("you".into()).await.unwrap(), "bot greets you");
}
