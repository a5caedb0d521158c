use resilience::{Chaos, ChaosConfig, ChaosError, chaos};

static CHAOS: Chaos = Chaos::new(ChaosConfig::new().with_failure_rate(0.3));

#[derive(Debug)]
struct AgentError;

impl From<ChaosError> for AgentError {
    fn from(_: ChaosError) -> Self {
        AgentError
    }
}

#[derive(Debug)]
struct OtherError;

#[chaos(state = CHAOS)]
async fn ask() -> Result<u8, OtherError> {
    Ok(1)
}

fn main() {}
