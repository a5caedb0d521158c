use resilience::agent;

#[derive(Debug, thiserror::Error)]
#[error("busy")]
struct AgentError;

#[agent(id = "planner")]
async fn unknown_key() -> Result<u32, AgentError> {
    Ok(1)
}

#[agent]
async fn missing_name() -> Result<u32, AgentError> {
    Ok(1)
}

#[agent("planner")]
async fn bare_value() -> Result<u32, AgentError> {
    Ok(1)
}

#[agent(name = "planner")]
#[agent(name = "critic")]
async fn duplicate() -> Result<u32, AgentError> {
    Ok(1)
}

fn main() {}
