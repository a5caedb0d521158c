use std::time::Duration;

use resilience::{EscalationError, Tier, retry};

struct Strategy {
    limit: Duration,
}

impl Tier for Strategy {
    fn time_limit(&self) -> Duration {
        self.limit
    }
}

const STRATEGIES: [Strategy; 1] = [Strategy { limit: Duration::from_secs(30) }];

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("busy")]
    Busy,
    #[error(transparent)]
    Escalation(#[from] EscalationError<AgentError>),
}

#[retry(attempts = 2)]
async fn solve(task: &str, #[tier] strategy: &Strategy) -> Result<u32, AgentError> {
    let _ = task;
    let _ = strategy;
    Err(AgentError::Busy)
}

fn main() {}
