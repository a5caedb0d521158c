use resilience::hedge;

#[derive(Debug, thiserror::Error)]
#[error("model refused")]
struct AgentError;

struct Prompt(String);

#[hedge(after = "1s")]
async fn ask(prompt: Prompt) -> Result<String, AgentError> {
    Ok(prompt.0)
}

fn main() {}
