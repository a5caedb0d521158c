use resilience::agent;

#[derive(Debug, thiserror::Error)]
#[error("busy")]
struct AgentError;

struct Agent {
    id: u64,
}

impl Agent {
    #[agent(name = self.id)]
    async fn ask(&self) -> Result<u32, AgentError> {
        Ok(1)
    }
}

fn main() {}
