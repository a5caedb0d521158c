use std::time::Duration;

use resilience::{EscalationError, Tier, workflow};

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

async fn solve(strategy: &Strategy) -> Result<u32, AgentError> {
    let _ = strategy;
    Err(AgentError::Busy)
}

workflow! {
    workflow Solve(strategy: Strategy) -> Result<u32, AgentError> {
        #[escalate(tiers = STRATEGIES)]
        step answer: u32 = solve(strategy).await;
        answer
    }
}

fn main() {}
