// `&mut self` works because the attempts run in a loop inside the fn.
use resilience::{retry, timeout};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
    #[error("not yet")]
    NotYet,
}

struct Counter {
    calls: u32,
}

impl Counter {
    #[retry(attempts = 3, backoff = constant, delay = "1ms")]
    #[timeout("1s")]
    async fn bump(&mut self) -> Result<u32, AgentError> {
        self.calls += 1;
        if self.calls < 2 {
            return Err(AgentError::NotYet);
        }
        Ok(self.calls)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut counter = Counter { calls: 0 };
    assert_eq!(counter.bump().await.unwrap(), 2);
    assert_eq!(counter.calls, 2);
}
