// A resilience attribute under an alias is not recognised as a sibling: it
// would expand on its own, after the others, reversing the written order.
use resilience::retry;
use resilience::timeout as deadline;

#[derive(Debug)]
struct AgentError;

impl From<resilience::Elapsed> for AgentError {
    fn from(_: resilience::Elapsed) -> Self {
        AgentError
    }
}

#[retry(attempts = 3)]
#[deadline(ms = 50)]
async fn ask() -> Result<u32, AgentError> {
    Ok(1)
}

fn main() {}
