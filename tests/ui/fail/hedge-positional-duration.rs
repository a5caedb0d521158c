use resilience::hedge;

#[derive(Debug, thiserror::Error)]
#[error("model refused")]
struct AgentError;

#[hedge("2s")]
async fn ask(prompt: &str) -> Result<String, AgentError> {
    Ok(prompt.to_owned())
}

fn main() {}
