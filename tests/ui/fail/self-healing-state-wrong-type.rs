use resilience::{Abandoned, self_healing};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Abandoned(#[from] Abandoned),
}

struct Agent {
    failures: u32,
}

impl Agent {
    #[self_healing(state = self.failures)]
    async fn ask(&self) -> Result<u32, AgentError> {
        Ok(1)
    }
}

fn main() {}
