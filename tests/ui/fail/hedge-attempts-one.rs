use resilience::hedge;

#[derive(Debug, thiserror::Error)]
#[error("model refused")]
struct AgentError;

#[hedge(after = "2s", attempts = 1)]
async fn ask(prompt: &str) -> Result<String, AgentError> {
    Ok(prompt.to_owned())
}

fn main() {}
