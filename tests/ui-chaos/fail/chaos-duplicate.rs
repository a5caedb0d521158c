use resilience::{Chaos, ChaosConfig, ChaosError, chaos};

static CHAOS: Chaos = Chaos::new(ChaosConfig::new().with_failure_rate(0.3));

#[derive(Debug)]
struct AgentError;

impl From<ChaosError> for AgentError {
    fn from(_: ChaosError) -> Self {
        AgentError
    }
}

#[chaos(state = CHAOS)]
#[chaos(state = CHAOS)]
async fn ask() -> Result<u8, AgentError> {
    Ok(1)
}

fn main() {}
