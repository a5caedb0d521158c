// `self: Arc<Self>` is cloned for each attempt and can be moved into a task.
use std::sync::Arc;

use resilience::{retry, timeout};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
    #[error("the task panicked")]
    Panicked,
}

struct Service {
    base: u32,
}

impl Service {
    #[retry(attempts = 2, delay = "1ms")]
    #[timeout("1s")]
    async fn run(self: Arc<Self>, job: u32) -> Result<u32, AgentError> {
        let handle = tokio::spawn(async move { self.base + job });
        handle.await.map_err(|_| AgentError::Panicked)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let service = Arc::new(Service { base: 40 });
    assert_eq!(service.run(2).await.unwrap(), 42);
}
