use resilience::bulkhead;

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("model refused")]
    Refused,
}

#[bulkhead(max = 8)]
async fn ask(prompt: &str) -> Result<String, AgentError> {
    if prompt.is_empty() {
        return Err(AgentError::Refused);
    }
    Ok(prompt.to_owned())
}

fn main() {}
