// A workflow takes lifetimes only: its state enum and run are concrete.
use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("agent failed")]
pub struct AgentError;

workflow! {
    pub workflow Essay<T>(agent: T) -> Result<u32, AgentError> {
        step one: u32 = async { Ok(1) }.await;
        one
    }
}

fn main() {}
