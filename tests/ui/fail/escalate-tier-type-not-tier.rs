use std::time::Duration;

use resilience::{EscalationError, escalate};

struct Strategy {
    agents: usize,
}

const STRATEGIES: [Strategy; 2] = [Strategy { agents: 1 }, Strategy { agents: 3 }];

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("busy")]
    Busy,
    #[error(transparent)]
    Escalation(#[from] EscalationError<AgentError>),
}

#[escalate(tiers = STRATEGIES)]
async fn solve(task: &str, #[tier] strategy: &Strategy) -> Result<u32, AgentError> {
    let _ = task;
    let _ = (strategy.agents, Duration::ZERO);
    Err(AgentError::Busy)
}

fn main() {}
