use std::time::Duration;

use resilience::{EscalationError, Tier, escalate};

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

struct Connection;

#[escalate(tiers = STRATEGIES)]
async fn solve(conn: Connection, #[tier] strategy: &Strategy) -> Result<u32, AgentError> {
    let _ = conn;
    let _ = strategy;
    Err(AgentError::Busy)
}

fn main() {}
