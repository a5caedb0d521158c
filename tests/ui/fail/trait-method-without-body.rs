use resilience::retry;

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

trait Agent {
    #[retry(attempts = 3)]
    async fn ask(&self, prompt: String) -> Result<String, AgentError>;
}

fn main() {}
