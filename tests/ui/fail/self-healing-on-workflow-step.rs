use resilience::{Health, workflow};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("busy")]
    Busy,
}

static HEALTH: Health = Health::new();

async fn ask() -> Result<u32, AgentError> {
    Err(AgentError::Busy)
}

workflow! {
    workflow Plan() -> Result<u32, AgentError> {
        #[self_healing(state = HEALTH)]
        step first: u32 = ask().await;
        #[agent(name = "planner")]
        step second: u32 = ask().await;
        first + second
    }
}

fn main() {}
