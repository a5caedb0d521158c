// `#[bulkhead]` and `#[hedge]` on the shapes the other attributes take:
// `#[async_trait]` methods, a native trait's default method, generics,
// `self: Arc<Self>`, qualified paths, `&mut self` under `#[bulkhead]`, and a
// spawned (so `Send`) future.
use std::sync::Arc;

use async_trait::async_trait;
use resilience::{Bulkhead, Rejected, bulkhead, hedge};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error("busy")]
    Busy,
}

static POOL: Bulkhead = Bulkhead::new(4).with_name("pool");

#[async_trait]
trait Agent {
    async fn ask(&self, prompt: String) -> Result<String, AgentError>;
}

struct Echo {
    slots: Arc<Bulkhead>,
}

#[async_trait]
impl Agent for Echo {
    #[hedge(after = "100ms", attempts = 3)]
    #[bulkhead(state = self.slots)]
    async fn ask(&self, prompt: String) -> Result<String, AgentError> {
        Ok(prompt)
    }
}

trait Native {
    #[resilience::bulkhead(max = 2)]
    async fn ping(&self) -> Result<u32, AgentError> {
        Ok(1)
    }
}

impl Native for Echo {}

#[hedge(after = 0, attempts = 2)]
async fn generic<T: Clone + Send + Sync>(value: T, label: &str) -> Result<(T, usize), AgentError>
where
    T: std::fmt::Debug,
{
    Ok((value, label.len()))
}

struct Counter {
    calls: u32,
}

impl Counter {
    // A bulkhead of its own (a static) does not borrow `self`.
    #[bulkhead(max = 1, queue = 2, wait = "1s")]
    async fn bump(&mut self) -> Result<u32, AgentError> {
        self.calls += 1;
        Ok(self.calls)
    }

    #[::resilience::hedge]
    async fn shared(self: Arc<Self>) -> Result<u32, AgentError> {
        Ok(self.calls)
    }
}

#[bulkhead(state = POOL)]
#[hedge(after = "1s")]
async fn spawned(prompt: String) -> Result<String, AgentError> {
    if prompt.is_empty() {
        return Err(AgentError::Busy);
    }
    Ok(prompt)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let echo = Echo { slots: Arc::new(Bulkhead::new(2)) };
    assert_eq!(echo.ask("hi".into()).await.unwrap(), "hi");
    assert_eq!(echo.ping().await.unwrap(), 1);
    assert_eq!(generic(7u8, "abc").await.unwrap(), (7, 3));
    let mut counter = Counter { calls: 0 };
    assert_eq!(counter.bump().await.unwrap(), 1);
    assert_eq!(Arc::new(counter).shared().await.unwrap(), 1);
    let handle = tokio::spawn(spawned("go".into()));
    assert_eq!(handle.await.unwrap().unwrap(), "go");
}
