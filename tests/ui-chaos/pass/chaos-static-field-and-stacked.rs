use std::sync::Arc;

use resilience::{Chaos, ChaosConfig, ChaosError, chaos, fallback, retry, timeout};

static CHAOS: Chaos = Chaos::new(ChaosConfig::new().with_failure_rate(0.3).with_seed(1));

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Chaos(#[from] ChaosError),
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

#[chaos(state = CHAOS)]
async fn alone(x: u32) -> Result<u32, AgentError> {
    Ok(x)
}

#[fallback(default = 0)]
#[retry(attempts = 3)]
#[timeout(seconds = 1)]
#[resilience::chaos(state = CHAOS)]
async fn stacked(prompt: String) -> Result<usize, AgentError> {
    Ok(prompt.len())
}

struct Agent {
    chaos: Chaos,
    shared: Arc<Chaos>,
}

impl Agent {
    #[chaos(state = self.chaos)]
    async fn own(&self) -> Result<u8, AgentError> {
        Ok(1)
    }

    #[chaos(state = self.shared)]
    async fn shared(&self) -> Result<u8, AgentError> {
        Ok(2)
    }
}

fn main() {
    let _ = (alone(1), stacked(String::new()));
    let agent = Agent { chaos: Chaos::default(), shared: Arc::new(Chaos::default()) };
    let _ = (agent.own(), agent.shared());
}
