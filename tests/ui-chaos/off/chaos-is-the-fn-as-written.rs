// Without the `chaos` feature, `#[chaos]` emits the fn as written: the
// `Chaos` it names need not exist (declare it under the same feature).
use resilience::chaos;

#[cfg(feature = "chaos")]
static CHAOS: resilience::Chaos = resilience::Chaos::new(resilience::ChaosConfig::new());

#[derive(Debug)]
struct AgentError;

#[chaos(state = CHAOS)]
async fn ask() -> Result<u8, AgentError> {
    Ok(1)
}

fn main() {
    let _ = ask();
}
