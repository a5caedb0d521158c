use resilience::timeout;

#[derive(Debug)]
enum AgentError {
    Refused,
}

#[timeout("30s")]
async fn ask() -> Result<u32, AgentError> {
    Err(AgentError::Refused)
}

fn main() {}
