// `#[escalate]` on the shapes users write: `&self`, `&mut self` and
// `self: Arc<Self>` methods, a native async trait impl, tiers from an
// associated const, a static slice or another argument, a destructuring
// tier pattern, `?` and `return` in the body, a qualified path, and the
// future spawned on a multi-thread runtime (it is `Send`).
use std::sync::Arc;
use std::time::Duration;

use resilience::{EscalationError, Tier, escalate, fallback, retry, timeout};

#[derive(Debug)]
struct Strategy {
    agents: usize,
    limit: Duration,
}

impl Tier for Strategy {
    fn time_limit(&self) -> Duration {
        self.limit
    }
}

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("busy")]
    Busy,
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
    #[error(transparent)]
    Escalation(#[from] EscalationError<AgentError>),
}

static LIMITS: &[Duration] = &[Duration::from_secs(1), Duration::from_secs(2)];

struct Agent {
    calls: u32,
}

impl Agent {
    const TIERS: [Strategy; 2] = [
        Strategy { agents: 1, limit: Duration::from_secs(1) },
        Strategy { agents: 3, limit: Duration::from_secs(2) },
    ];

    #[escalate(tiers = Self::TIERS)]
    async fn shared(&self, task: String, #[tier] strategy: &Strategy) -> Result<String, AgentError> {
        if strategy.agents < 3 {
            return Err(AgentError::Busy);
        }
        Ok(format!("{task} by {}", strategy.agents))
    }

    #[fallback(default = 0)]
    #[escalate(tiers = LIMITS, when = |e: &AgentError| !matches!(e, AgentError::Timeout(_)))]
    #[retry(attempts = 2, delay = "1ms")]
    #[timeout("500ms")]
    async fn exclusive(&mut self, #[tier] limit: &Duration) -> Result<u32, AgentError> {
        self.calls += 1;
        let _ = limit;
        check(self.calls)?;
        Ok(self.calls)
    }

    #[resilience::escalate(tiers = Self::TIERS)]
    async fn owned(self: Arc<Self>, #[tier] &Strategy { agents, .. }: &Strategy) -> Result<usize, AgentError> {
        Ok(agents + self.calls as usize)
    }
}

fn check(calls: u32) -> Result<(), AgentError> {
    if calls < 3 { Err(AgentError::Busy) } else { Ok(()) }
}

#[escalate(tiers = tiers)]
async fn from_argument(tiers: &[Duration], #[tier] limit: &Duration) -> Result<Duration, AgentError> {
    Ok(*limit)
}

trait Solver {
    async fn solve(&self, task: &str) -> Result<usize, AgentError>;
}

impl Solver for Agent {
    #[escalate(tiers = Self::TIERS)]
    async fn solve(&self, task: &str, #[tier] strategy: &Strategy) -> Result<usize, AgentError> {
        Ok(task.len() * strategy.agents)
    }
}

#[tokio::main]
async fn main() {
    let agent = Arc::new(Agent { calls: 0 });
    let spawned = tokio::spawn({
        let agent = Arc::clone(&agent);
        async move { agent.shared("task".to_owned()).await.unwrap() }
    });
    assert_eq!(spawned.await.unwrap(), "task by 3");
    assert_eq!(agent.solve("ab").await.unwrap(), 2);
    assert_eq!(Arc::clone(&agent).owned().await.unwrap(), 1);
    let mut agent = Agent { calls: 0 };
    assert_eq!(agent.exclusive().await.unwrap(), 3);
    assert_eq!(from_argument(LIMITS).await.unwrap(), Duration::from_secs(1));
}
