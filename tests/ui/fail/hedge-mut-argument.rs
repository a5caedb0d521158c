use resilience::hedge;

#[derive(Debug, thiserror::Error)]
#[error("model refused")]
struct AgentError;

#[hedge(after = "1s")]
async fn ask(log: &mut Vec<String>, prompt: &str) -> Result<String, AgentError> {
    log.push(prompt.to_owned());
    Ok(prompt.to_owned())
}

fn main() {}
